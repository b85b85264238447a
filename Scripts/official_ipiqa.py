"""Runs the official IP-IQA code (github Coobiw/IP-IQA) on a CPU, from a checkout of its repository, for the
interop fixtures and checks (Scripts/fixtures_official.py, check_official_rn50.py, check_official_export.py).

Nothing of the official code is copied here: its files are read from the checkout (--official-repo or
$IPIQA_OFFICIAL_REPO) and executed as they are, with only these environment shims:
  * `clip`: the official `clip/model.py` (the repository's own modified copy) and `clip/simple_tokenizer.py`, loaded
    by path; `load` is `clip.load`'s non-JIT branch (torch.load of a state dict, build_model, .float() on CPU);
    `tokenize` is `clip.tokenize` (or, for tiny-vocabulary fixtures, a table of prepared token rows).
    `clip/clip.py` itself is not imported because it imports torchvision.
  * `ipiqa.common.registry`: a no-op `register_model` decorator; `omegaconf` (used only by
    `BaseModel.from_pretrained`): an empty stand-in.
  * `Tensor.cuda()` (called by `IPIQA.encode_text`) returns the tensor itself: everything runs on the CPU.
With `tiny=True` the official model hard-codes RN50's widths (2048 trunk channels in `TextAttentionPool2d` and
`interpolate_pos_embed`, 1024 text-feature width); those literals, and only those, are replaced by parameters
(`TINY_VISION_DIM`, `TINY_TEXT_DIM`) — each replacement is asserted to match exactly once.
`save_checkpoint` is trainer.py `_save_checkpoint` verbatim (with `self.` state passed in).

The official repository carries no licence file; its `base_model.py` is BSD-3-Clause (salesforce LAVIS) and its
`clip/` is OpenAI CLIP (MIT). We run those files from the user's checkout and redistribute none of them."""
import importlib.util
import os
import sys
import types

import torch

RN50_LITERALS = [
    ("ipiqa/models/ipiqa.py",
     "TextAttentionPool2d(input_resolution//32,embed_dim=2048,txt_dim=1024,num_heads=32,output_dim=1024)",
     "TextAttentionPool2d(input_resolution//32,embed_dim=TINY_VISION_DIM,txt_dim=TINY_TEXT_DIM,num_heads=32,output_dim=TINY_TEXT_DIM)"),
    ("ipiqa/models/utils.py", "embedding_size = 2048", "embedding_size = TINY_VISION_DIM"),
]


def repo_path(args_path=None):
    path = args_path or os.environ.get("IPIQA_OFFICIAL_REPO")
    if not path or not os.path.exists(os.path.join(path, "ipiqa", "models", "ipiqa.py")):
        raise SystemExit("give --official-repo DIR (a checkout of github.com/Coobiw/IP-IQA) or set IPIQA_OFFICIAL_REPO")
    return path


def _load(name, path, source=None, globals_=None):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    for k, v in (globals_ or {}).items():
        setattr(mod, k, v)
    sys.modules[name] = mod
    if source is None:
        spec.loader.exec_module(mod)
    else:
        exec(compile(source, path, "exec"), mod.__dict__)
    return mod


def load_official(repo, tiny=None, token_table=None):
    """Returns (ipiqa_module, clip_shim). `tiny`: dict(vision_dim=…, text_dim=…) or None for the real code.
    `token_table`: {prompt: [ids]} used by the tokenize shim instead of the BPE tokenizer (tiny vocabularies)."""
    for name in [n for n in sys.modules if n == "clip" or n.startswith("ipiqa")]:
        del sys.modules[name]
    torch.Tensor.cuda = lambda self, *a, **k: self

    clip_model = _load("clip.model", os.path.join(repo, "clip", "model.py"))
    clip = types.ModuleType("clip")
    clip.model = clip_model

    def load(name, device="cpu", jit=False, download_root=None):
        state_dict = torch.load(name, map_location="cpu")
        model = clip_model.build_model(state_dict).to(device)
        if str(device) == "cpu":
            model.float()
        return model, None

    if token_table is None:
        tok = _load("clip.simple_tokenizer", os.path.join(repo, "clip", "simple_tokenizer.py"))
        bpe = tok.SimpleTokenizer(os.path.join(repo, "clip", "bpe_simple_vocab_16e6.txt.gz"))

        def tokenize(texts, context_length=77, truncate=False):   # clip.tokenize, torch >= 1.8 branch
            if isinstance(texts, str):
                texts = [texts]
            sot, eot = bpe.encoder["<|startoftext|>"], bpe.encoder["<|endoftext|>"]
            all_tokens = [[sot] + bpe.encode(t) + [eot] for t in texts]
            result = torch.zeros(len(all_tokens), context_length, dtype=torch.int)
            for i, tokens in enumerate(all_tokens):
                if len(tokens) > context_length:
                    if truncate:
                        tokens = tokens[:context_length]
                        tokens[-1] = eot
                    else:
                        raise RuntimeError(f"Input {texts[i]} is too long for context length {context_length}")
                result[i, :len(tokens)] = torch.tensor(tokens)
            return result
    else:
        def tokenize(texts, context_length=77, truncate=False):
            if isinstance(texts, str):
                texts = [texts]
            result = torch.zeros(len(texts), context_length, dtype=torch.int)
            for i, t in enumerate(texts):
                ids = token_table[t]
                result[i, :len(ids)] = torch.tensor(ids)
            return result
    clip.load, clip.tokenize = load, tokenize
    sys.modules["clip"] = clip

    omegaconf = types.ModuleType("omegaconf")
    omegaconf.OmegaConf = None
    sys.modules["omegaconf"] = omegaconf
    for pkg in ["ipiqa", "ipiqa.common", "ipiqa.models"]:
        m = types.ModuleType(pkg)
        m.__path__ = []
        sys.modules[pkg] = m
    registry_mod = types.ModuleType("ipiqa.common.registry")

    class _Registry:
        @staticmethod
        def register_model(name):
            return lambda cls: cls
    registry_mod.registry = _Registry()
    sys.modules["ipiqa.common.registry"] = registry_mod

    extra = {"TINY_VISION_DIM": tiny["vision_dim"], "TINY_TEXT_DIM": tiny["text_dim"]} if tiny else {}
    sources = {}
    for rel in ["ipiqa/models/base_model.py", "ipiqa/models/utils.py", "ipiqa/models/ipiqa.py"]:
        with open(os.path.join(repo, rel)) as f:
            sources[rel] = f.read()
    if tiny:
        for rel, old, new in RN50_LITERALS:
            assert sources[rel].count(old) == 1, f"{rel}: expected exactly one '{old}'"
            sources[rel] = sources[rel].replace(old, new)
    _load("ipiqa.models.base_model", os.path.join(repo, "ipiqa/models/base_model.py"), sources["ipiqa/models/base_model.py"])
    _load("ipiqa.models.utils", os.path.join(repo, "ipiqa/models/utils.py"), sources["ipiqa/models/utils.py"], extra)
    ipiqa = _load("ipiqa.models.ipiqa", os.path.join(repo, "ipiqa/models/ipiqa.py"), sources["ipiqa/models/ipiqa.py"], extra)
    return ipiqa, clip


def save_checkpoint(model_no_ddp, optimizer, config, scaler, cur_epoch, save_to):
    """trainer.py `_save_checkpoint`, verbatim but for `self.` (OmegaConf.to_container(self.config) is `config`,
    already a plain dict)."""
    param_grad_dic = {
        k: v.requires_grad for (k, v) in model_no_ddp.named_parameters()
    }
    state_dict = model_no_ddp.state_dict()
    for k in list(state_dict.keys()):
        if k in param_grad_dic.keys() and not param_grad_dic[k]:
            # delete parameters that do not require gradient
            del state_dict[k]

    save_obj = {
        "model": state_dict,
        "optimizer": optimizer.state_dict(),
        "config": config,
        "scaler": scaler.state_dict() if scaler else None,
        "epoch": cur_epoch,
    }
    torch.save(save_obj, save_to)


def make_optimizer(model, init_lr=1e-5, weight_decay=0.0, beta2=0.999):
    """base_task / trainer optimizer: AdamW over `get_optimizer_params` (groups carry `lr_scale`)."""
    return torch.optim.AdamW(model.get_optimizer_params(weight_decay, 1), lr=init_lr, weight_decay=weight_decay,
                             betas=(0.9, beta2))


def model_config(resolution, outputs, mlp, qa_token, base_ckpt, dropout=0.5):
    """A project config as `OmegaConf.to_container` returns it (plain containers), like ipiqa/projects/*.yaml."""
    return {
        "model": {"arch": "ipiqa", "base_ckpt": base_ckpt, "input_resolution": resolution, "output_dim": outputs,
                  "load_finetuned": False, "head_scale": 10.0, "use_mlp_head": mlp, "dropout_rate": dropout,
                  "freeze_text": True, "qa_token": qa_token},
        "dataset": {"data_path": "cache/data/aigc_qa_3k/mos_joint.xlsx", "vis_root": "cache/data/aigc_qa_3k/AGIQA-3K/",
                    "transform_val": {"name": "image_eval_processor", "cfg": {"image_size": resolution}}},
        "run": {"task": "agiqa_doublescore" if outputs == 2 else "agiqa", "lr_sched": "constant_lr", "init_lr": 1e-5,
                "min_lr": "1e-5", "weight_decay": 0, "beta2": 0.999, "batch_size": 32, "max_epoch": 100,
                "grad_norm_clip": None, "amp": False, "distributed": True},
    }


def randomize(model, generator, scale=0.05):
    """Perturbs every trainable parameter and the trunk's BatchNorm statistics (so fixtures test real values)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=generator) * scale)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=generator) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(1 + torch.rand(b.shape, generator=generator))
