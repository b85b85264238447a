#!/usr/bin/env python3
"""Writes the checkpoint-reader fixtures into Tests/CheckpointsTests/Fixtures (run from the repo root).

Deterministic (seeded). Needs torch (CPU), numpy, safetensors, and OpenAI CLIP's model.py loaded by file path
(`import clip` fails without torchvision).

Files written:
  tiny_clip_jit.pt        TorchScript archive of a tiny random CLIP RN (fp16 weights via clip's convert_weights,
                          torch.jit.trace + torch.jit.save), like OpenAI's RN50.pt; top folder name 'tiny_clip_jit'.
  tiny_text_sd.pt         torch.save(state_dict) zip of the tiny CLIP's text tower + extra dtypes (f32/f16/bf16/f64/i64),
                          a non-contiguous (transposed) tensor, a storage shared by two views, an nn.Parameter.
  tiny_text_wrapped.pt    {'epoch': 3, 'state_dict': {'module.'+k: v}} of the same tensors (training-checkpoint style).
  tiny_text_f32.safetensors / _f16 / _bf16   the float tensors of tiny_text_sd.pt in F32 / F16 / BF16.
  evil_global.pt          a torch.save-shaped zip whose data.pkl calls os.system (must be refused, not executed).
  bad_opcode.pt           a torch.save-shaped zip whose data.pkl holds an unknown opcode 0xff at offset 2.
  cut_pickle.pt           a torch.save-shaped zip whose data.pkl is tiny_text_sd.pt's, cut in half.
  expected.json           per file: ordered keys, shape, dtype, float64 sum, first/last values (as float32 -> double);
                          tiny_text_wrapped.pt must give exactly tiny_text_sd.pt's entry.
"""
import importlib.util
import io
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch
from safetensors.torch import save_file

OUT = os.path.join("Tests", "CheckpointsTests", "Fixtures")


def load_clip_model_module():
    import site
    for d in site.getsitepackages():
        path = os.path.join(d, "clip", "model.py")
        if os.path.exists(path):
            spec = importlib.util.spec_from_file_location("clip_model_by_path", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return mod
    sys.exit("clip/model.py not found in site-packages (pip install clip-anytorch)")


def tiny_clip(m):
    torch.manual_seed(0)
    model = m.CLIP(embed_dim=8, image_resolution=32, vision_layers=(1, 1, 1, 1), vision_width=2, vision_patch_size=None,
                   context_length=4, vocab_size=12, transformer_width=8, transformer_heads=2, transformer_layers=1)
    # Random BatchNorm statistics so that they are not all 0/1.
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 1.5)
            mod.num_batches_tracked.fill_(7)
    # OpenAI's archives hold these three as top-level 0-dim tensors.
    for name, value in [("input_resolution", 32), ("context_length", 4), ("vocab_size", 12)]:
        if name in model.__dict__:
            del model.__dict__[name]
        model.register_buffer(name, torch.tensor(value, dtype=torch.int64))
    model.eval()
    return model


def describe(t):
    f = t.detach().to(torch.float64).reshape(-1)
    n = f.numel()
    return {
        "shape": list(t.shape),
        "dtype": str(t.dtype).replace("torch.", ""),
        "sum": float(f.sum()) if n else 0.0,
        "abssum": float(f.abs().sum()) if n else 0.0,
        "first": [float(v) for v in f[:3]],
        "last": [float(v) for v in f[-3:]] if n else [],
    }


def describe_all(sd):
    return {"keys": list(sd.keys()), "tensors": {k: describe(v) for k, v in sd.items()}}


def torch_like_zip(path, pickle_bytes):
    """A zip with torch.save's layout around arbitrary pickle bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in [("archive/data.pkl", pickle_bytes), ("archive/byteorder", b"little"), ("archive/version", b"3\n")]:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)


def strip_debug_info(path):
    """Drops the optional code/*.debug_pkl source-range records (most of a tiny archive's bytes); torch.jit.load
    still loads the result. Entries keep their order, names and compression."""
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist() if not i.filename.endswith(".debug_pkl")]
    with zipfile.ZipFile(path + ".tmp", "w") as z:
        for info, data in items:
            z.writestr(info, data, compress_type=info.compress_type)
    os.replace(path + ".tmp", path)


def main():
    os.makedirs(OUT, exist_ok=True)
    m = load_clip_model_module()
    model = tiny_clip(m)
    m.convert_weights(model)

    # (a) TorchScript archive made like OpenAI's: trace with fp16 weights, save.
    image = torch.randn(1, 3, 32, 32)
    text = torch.tensor([[1, 5, 3, 11]])
    with torch.no_grad():
        traced = torch.jit.trace(model, (image.half(), text), check_trace=False)
    jit_path = os.path.join(OUT, "tiny_clip_jit.pt")
    torch.jit.save(traced, jit_path)
    strip_debug_info(jit_path)
    jit_sd = torch.jit.load(jit_path).state_dict()
    expected = {"tiny_clip_jit.pt": describe_all(jit_sd)}

    # (b) torch.save(state_dict) of the text tower plus dtype / layout oddities.
    full = model.state_dict()
    sd = {k: v.clone() for k, v in full.items()
          if k.startswith("transformer.") or k in ("token_embedding.weight", "positional_embedding",
                                                   "ln_final.weight", "text_projection", "logit_scale")}
    g = torch.Generator().manual_seed(1)
    sd["extra.f32_transposed"] = torch.randn(3, 5, generator=g).t()          # non-contiguous, stride (1, 5)
    base = torch.randn(10, generator=g)
    sd["extra.view_a"] = base[2:6].view(2, 2)                                  # storage offset 2
    sd["extra.view_b"] = base[::3]                                             # shared storage, stride 3
    sd["extra.bf16"] = torch.randn(2, 3, generator=g).to(torch.bfloat16)
    sd["extra.f64"] = torch.randn(4, generator=g, dtype=torch.float64)
    sd["extra.f16_subnormal"] = torch.tensor([6e-8, -6e-8, 1e-5, 65504.0, -0.0, 0.333], dtype=torch.float16)
    sd["extra.i64"] = torch.tensor([3, -4, 5], dtype=torch.int64)
    sd["extra.param"] = torch.nn.Parameter(torch.randn(2, generator=g))
    sd["extra.scalar"] = torch.tensor(2.5)
    torch.save(sd, os.path.join(OUT, "tiny_text_sd.pt"))
    expected["tiny_text_sd.pt"] = describe_all(sd)

    wrapped = {"epoch": 3, "best": 0.5, "state_dict": {"module." + k: v for k, v in sd.items()}}
    torch.save(wrapped, os.path.join(OUT, "tiny_text_wrapped.pt"))

    # (c) safetensors of the float tensors in three dtypes.
    floats = {k: v.detach().float().contiguous() for k, v in sd.items() if v.is_floating_point()}
    for tag, dt in [("f32", torch.float32), ("f16", torch.float16), ("bf16", torch.bfloat16)]:
        conv = {k: v.to(dt).contiguous() for k, v in floats.items()}
        name = f"tiny_text_{tag}.safetensors"
        save_file(conv, os.path.join(OUT, name), metadata={"format": "pt", "source": "fixtures_checkpoints.py"})
        d = describe_all(conv)
        d["keys"] = sorted(conv.keys())  # safetensors has no meaningful order; the reader orders by offset
        expected[name] = d

    # Hostile pickles, hand-crafted: os.system('echo pwned') and an unknown opcode.
    evil = b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."
    torch_like_zip(os.path.join(OUT, "evil_global.pt"), evil)
    torch_like_zip(os.path.join(OUT, "bad_opcode.pt"), b"\x80\x02\xff.")
    # A real state-dict pickle cut in the middle (its storages are absent too: the pickle error must come first).
    with zipfile.ZipFile(os.path.join(OUT, "tiny_text_sd.pt")) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        pkl = z.read(name)
    torch_like_zip(os.path.join(OUT, "cut_pickle.pt"), pkl[: len(pkl) // 2])

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes")


if __name__ == "__main__":
    main()
