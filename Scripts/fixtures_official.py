"""Writes the interop fixtures of Tests/IQAModelTests/Fixtures/official (run:
python3 Scripts/fixtures_official.py --official-repo PATH/TO/IP-IQA-checkout).

The official IP-IQA model code itself (Scripts/official_ipiqa.py: its files run from the checkout; only RN50's
hard-coded widths 2048/1024 become parameters, here 64/16) on a tiny CLIP ModifiedResNet (vision width 2, layers
1-1-1-1, native 224 px = 7x7 grid, embed 16; text width 64, 1 layer, vocabulary 64: SOT 62, EOT 63 — prompts are
given as prepared token rows). Per variant: the model is built by `IPIQA.from_config`, its trainable parameters and
BatchNorm statistics perturbed, one AdamW step taken on two images (so the optimizer state is real), the checkpoint
saved by trainer.py's `_save_checkpoint` logic, and the official `forward` run in eval mode on three
`pattern_images` (Scripts/clip_reference.py; regenerated in Swift) with three prompts. Files:
  clip_tiny.pt            the CLIP state dict (torch.save, fp16 like OpenAI's RN50.pt), the `base_ckpt`
  <variant>.pth           official checkpoints ({"model", "optimizer", "config", "scaler", "epoch"})
  official.json           per variant: settings, prompts, token rows, the official scores, the checkpoint's keys
Variants cover 1 and 2 outputs, MLP and linear heads, qa_token on and off, 224 (no interpolation) and
256-px inputs (512-style: the attention pool's positional embedding interpolated 7x7 -> 8x8); `d_linear_qa_off_256`
carries DDP's `module.` prefix on its state-dict keys."""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import pattern_images
from official_ipiqa import load_official, make_optimizer, model_config, randomize, repo_path, save_checkpoint

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "IQAModelTests", "Fixtures", "official")
TINY = dict(vision_dim=64, text_dim=16)     # trunk channels (2 * 32), CLIP embedding width
PROMPTS = {"a red bicycle": [62, 5, 17, 30, 63],
           "two cats on a sofa": [62, 8, 41, 9, 5, 22, 63],
           "a castle at dusk, oil painting": [62, 5, 12, 3, 19, 2, 33, 50, 63]}
VARIANTS = [
    dict(name="a_mlp_qa_224_1", resolution=224, outputs=1, mlp=True, qa_token=True, prefix=""),
    dict(name="b_mlp_qa_256_2", resolution=256, outputs=2, mlp=True, qa_token=True, prefix=""),
    dict(name="c_linear_qa_off_224_2", resolution=224, outputs=2, mlp=False, qa_token=False, prefix=""),
    dict(name="d_linear_qa_off_256_1", resolution=256, outputs=1, mlp=False, qa_token=False, prefix="module."),
]


def tiny_clip(clip_model, path, generator):
    model = clip_model.CLIP(embed_dim=TINY["text_dim"], image_resolution=224, vision_layers=(1, 1, 1, 1), vision_width=2, vision_patch_size=None,
                            context_length=77, vocab_size=64, transformer_width=64, transformer_heads=1,
                            transformer_layers=1)
    sd = {}
    for k, v in model.state_dict().items():
        if v.is_floating_point():
            v = v + torch.randn(v.shape, generator=generator) * 0.05
            if k.endswith("running_var"):
                v = 1 + torch.rand(v.shape, generator=generator)
            v = v.half()
        sd[k] = v
    torch.save(sd, path)


def check_exports(repo, folder):
    """Loads `ipiqa export --format official` files of the imported fixtures (folder/<variant>.pth) into the official
    model as its `_reload_best_model` does (strict=False) and compares its scores with the fixture's."""
    fixture = json.load(open(os.path.join(OUT, "official.json")))
    ipiqa, _ = load_official(repo, tiny=TINY, token_table=PROMPTS)
    for v in fixture["variants"]:
        ckpt = torch.load(os.path.join(folder, v["file"]), map_location="cpu", weights_only=True)
        model = ipiqa.IPIQA.from_config(dict(ckpt["config"]["model"], base_ckpt=os.path.join(OUT, fixture["clip"])))
        msg = model.load_state_dict(ckpt["model"], strict=False)
        model.eval()
        with torch.no_grad():
            scores = model(pattern_images(3, v["resolution"]), fixture["prompts"])
        ref = torch.tensor(v["scores"])
        print("%s: %d unexpected key(s), missing only %s; max relative difference to the official scores %.3g"
              % (v["name"], len(msg.unexpected_keys), sorted({k.split(".")[0] for k in msg.missing_keys}),
                 ((scores - ref).abs().max() / ref.abs().max()).item()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official-repo")
    ap.add_argument("--check-exports", metavar="DIR", help="check ipiqa exports of the fixtures instead of writing them")
    args = ap.parse_args()
    repo = repo_path(args.official_repo)
    if args.check_exports:
        return check_exports(repo, args.check_exports)
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)                     # the CLIP class draws its initial weights from the global generator
    g = torch.Generator().manual_seed(0)
    ipiqa, clip = load_official(repo, tiny=TINY, token_table=PROMPTS)
    clip_path = os.path.join(OUT, "clip_tiny.pt")
    tiny_clip(clip.model, clip_path, g)
    prompts = list(PROMPTS)
    out = {"clip": "clip_tiny.pt", "vision_dim": TINY["vision_dim"], "text_dim": TINY["text_dim"], "prompts": prompts,
           "tokens": [PROMPTS[p] for p in prompts], "images": 3, "variants": []}
    for v in VARIANTS:
        torch.manual_seed(1)
        cfg = model_config(v["resolution"], v["outputs"], v["mlp"], v["qa_token"], base_ckpt=clip_path)
        model = ipiqa.IPIQA.from_config(cfg["model"])
        randomize(model, g)
        optimizer = make_optimizer(model)
        model.train()
        x = pattern_images(2, v["resolution"])
        loss = F.mse_loss(model(x, prompts[:2]), torch.randn(2, v["outputs"], generator=g))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            scores = model(pattern_images(3, v["resolution"]), prompts)
        path = os.path.join(OUT, v["name"] + ".pth")
        cfg["model"]["base_ckpt"] = "cache/ckpt/clip/openai/resnet/RN50.pt"
        if v["prefix"]:
            class Wrapped(torch.nn.Module):      # what a DDP-wrapped model's state_dict() looks like
                def __init__(self, m):
                    super().__init__()
                    self.module = m
            target = Wrapped(model)
        else:
            target = model
        save_checkpoint(target, optimizer, cfg, None, 7, path)
        keys = sorted(k[len(v["prefix"]):] for k in torch.load(path, weights_only=True)["model"])
        out["variants"].append(dict(v, file=v["name"] + ".pth", scores=scores.tolist(), model_keys=keys))
        print(v["name"], "scores", scores.tolist(), os.path.getsize(path), "bytes")
    with open(os.path.join(OUT, "official.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
