"""Full-size (RN50) CLIP parity of `ipiqa embed` against OpenAI's clip/model.py. Not part of the test suite.

Run from the repository root after `swift build -c release --product ipiqa`:

    python3 Scripts/parity_clip_full.py [--out /tmp/ipiqa_parity] [--ipiqa .build/release/ipiqa]

What it does:
  1. builds an RN50-size CLIP with OpenAI's model.py (random weights; BatchNorm running statistics calibrated on
     pattern images so activations keep a realistic scale; every tensor rounded to fp16 as OpenAI distributes them);
  2. writes it in three formats: an OpenAI-style TorchScript archive (convert_weights to fp16, jit.trace, jit.save;
     ~244 MB like RN50.pt), a torch.save fp32 state dict, and an fp16 safetensors file;
  3. writes PNGs whose pixels it controls (224×224 and 512×512 for `--preprocess none`, and a 320×256 one for the
     `clip` and `squash` preprocessing paths, whose reference uses PIL bicubic resizing like torchvision);
  4. computes reference embeddings with the float32 model (512 px: positional embedding interpolated as IP-IQA does,
     Scripts/clip_reference.py `encode_image_at`) and text embeddings (tokens from OpenAI's simple_tokenizer);
  5. runs `ipiqa embed` on the same inputs per format and prints the relative L2 error ‖a − r‖ / ‖r‖ per embedding row
     against the float32 reference and against a float64 run of the same model (with torch float32's own error vs
     float64 beside it: the float32 noise floor of that input), plus wall times, and the load time of the TorchScript
     archive (`--timings`).
"""
import argparse
import copy
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import encode_image_at, load_openai_module  # noqa: E402

MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
PROMPTS = ["a photo of a red bicycle leaning on a brick wall",
           "An astronaut riding a horse on the moon, highly detailed, 4k, trending on artstation",
           "café 🎨 watercolor!!"]
RN50 = dict(embed_dim=1024, image_resolution=224, vision_layers=(3, 4, 6, 3), vision_width=64, vision_patch_size=None,
            context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8, transformer_layers=12)


def build_model(model_py):
    torch.manual_seed(0)
    model = model_py.CLIP(**RN50)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bn3.weight"):
                p.copy_(0.5 + 0.1 * torch.randn_like(p))  # OpenAI initialises these to 0: make every block matter
            elif ".bn" in name or "downsample.1" in name:
                p.add_(0.1 * torch.randn_like(p))
        for m in model.modules():  # cumulative running statistics of a few calibration batches
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        model.visual.train()
        gen = torch.Generator().manual_seed(1)
        for _ in range(2):
            model.visual(torch.randn(4, 3, 224, 224, generator=gen))
        model.eval()
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())
    return model


def tokenize(tokenizer_py, texts):
    bpe = tokenizer_py.SimpleTokenizer(bpe_path=os.path.join(os.path.dirname(tokenizer_py.__file__), "bpe_simple_vocab_16e6.txt.gz"))
    sot, eot = bpe.encoder["<|startoftext|>"], bpe.encoder["<|endoftext|>"]
    out = torch.zeros(len(texts), 77, dtype=torch.long)
    for i, t in enumerate(texts):
        ids = [sot] + bpe.encode(t) + [eot]
        out[i, :len(ids)] = torch.tensor(ids)
    return out


def pattern_png(path, width, height, seed):
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    rgb = np.stack([127.5 + 127.5 * np.sin(0.05 * x + 0.031 * y + seed + 1.1 * c) * np.cos(0.013 * (x - y) * (c + 1))
                    for c in range(3)], axis=-1)
    img = Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")
    img.save(path)
    return img


def to_input(img):
    """ToTensor + Normalize (float32), NCHW."""
    x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    return (x - MEAN) / STD


def clip_transform(img, size):
    """torchvision Resize(size, BICUBIC) + CenterCrop(size) on a PIL image."""
    w, h = img.size
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    r = img.resize((nw, nh), Image.BICUBIC)
    left, top = int(round((nw - size) / 2.0)), int(round((nh - size) / 2.0))
    return r.crop((left, top, left + size, top + size))


def relative_l2(a, r):
    a, r = np.asarray(a, dtype=np.float64), np.asarray(r, dtype=np.float64)
    return float(np.linalg.norm(a - r) / np.linalg.norm(r))


def run_embed(ipiqa, ckpt, images, prompts, extra):
    cmd = [ipiqa, "embed", "--clip", ckpt, "--timings"] + extra
    for i in images:
        cmd += ["--image", i]
    for p in prompts:
        cmd += ["--prompt", p]
    t0 = time.time()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if res.returncode != 0:
        raise SystemExit(f"ipiqa embed failed ({' '.join(cmd)}):\n{res.stderr}")
    return json.loads(res.stdout), wall, res.stderr.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/ipiqa_parity")
    ap.add_argument("--ipiqa", default=".build/release/ipiqa")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    model_py, tok_py = load_openai_module("model"), load_openai_module("simple_tokenizer")
    model = build_model(model_py)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    files = {"safetensors_f16": os.path.join(args.out, "rn50.safetensors"),
             "torch_save_f32": os.path.join(args.out, "rn50_state_dict.bin"),
             "torchscript_f16": os.path.join(args.out, "rn50_openai.pt")}
    save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, files["safetensors_f16"])
    torch.save(state, files["torch_save_f32"])
    half = model_py.CLIP(**RN50)
    half.load_state_dict(state)
    model_py.convert_weights(half)
    half.eval()
    traced = torch.jit.trace_module(half, {"encode_text": torch.zeros(1, 77, dtype=torch.long)}, check_trace=False)
    torch.jit.save(traced, files["torchscript_f16"])
    for k, f in files.items():
        print(f"{k}: {f} ({os.path.getsize(f) / 1e6:.1f} MB)")

    imgs = {224: [pattern_png(os.path.join(args.out, f"p224_{i}.png"), 224, 224, i) for i in range(2)],
            512: [pattern_png(os.path.join(args.out, f"p512_{i}.png"), 512, 512, i) for i in range(2)]}
    odd = pattern_png(os.path.join(args.out, "odd_320x256.png"), 320, 256, 7)
    tokens = tokenize(tok_py, PROMPTS)
    inputs = {224: torch.cat([to_input(i) for i in imgs[224]]), 512: torch.cat([to_input(i) for i in imgs[512]]),
              "clip224": to_input(clip_transform(odd, 224)), "squash512": to_input(odd.resize((512, 512), Image.BICUBIC))}
    refs = {}
    # OpenAI's LayerNorm subclass computes in float32; for float32 inputs plain nn.LayerNorm is the same computation,
    # and for the float64 reference it must stay float64.
    model_py.LayerNorm.forward = torch.nn.LayerNorm.forward
    # float32 (what OpenAI's code computes) and float64 (the same weights and inputs: the exact answer to ~1e-12).
    for dtype, m in [(torch.float32, model), (torch.float64, copy.deepcopy(model).double())]:
        with torch.no_grad():
            r = {"text": m.encode_text(tokens).double().numpy()}
            for key, x in inputs.items():
                r[key] = encode_image_at(m, x.to(dtype)).double().numpy()
        refs[dtype] = r
    ref, ref64 = refs[torch.float32], refs[torch.float64]

    rows = []

    def add(fmt, case, key, got, wall):
        """Per row (image / prompt): error vs torch float32, vs float64, and torch float32's own error vs float64."""
        for i, g in enumerate(got):
            rows.append((fmt, f"{case} #{i}", relative_l2(g, ref[key][i]), relative_l2(g, ref64[key][i]),
                         relative_l2(ref[key][i], ref64[key][i]), wall))

    for fmt, ckpt in files.items():
        out, wall, _ = run_embed(args.ipiqa, ckpt, [os.path.join(args.out, f"p224_{i}.png") for i in range(2)], PROMPTS,
                                 ["--preprocess", "none"])
        add(fmt, "image 224 (none)", 224, out["image_embeddings"], wall)
        add(fmt, "text", "text", out["text_embeddings"], wall)
        out, wall, _ = run_embed(args.ipiqa, ckpt, [os.path.join(args.out, f"p512_{i}.png") for i in range(2)], [],
                                 ["--preprocess", "none", "--resolution", "512"])
        add(fmt, "image 512 (none, pos. interp.)", 512, out["image_embeddings"], wall)
    ckpt = files["safetensors_f16"]
    odd_path = os.path.join(args.out, "odd_320x256.png")
    out, wall, _ = run_embed(args.ipiqa, ckpt, [odd_path], [], ["--preprocess", "clip"])
    add("safetensors_f16", "320x256 clip→224", "clip224", out["image_embeddings"], wall)
    out, wall, _ = run_embed(args.ipiqa, ckpt, [odd_path], [], ["--preprocess", "squash", "--resolution", "512"])
    add("safetensors_f16", "320x256 squash→512", "squash512", out["image_embeddings"], wall)
    load_only = run_embed(args.ipiqa, files["torchscript_f16"], [], ["a"], [])
    print(f"\n{'format':16} {'case':36} {'vs torch f32':>12} {'vs f64':>9} {'torch f32 vs f64':>17} {'wall s':>7}")
    for fmt, case, err, err64, noise, wall in rows:
        print(f"{fmt:16} {case:36} {err:12.2e} {err64:9.2e} {noise:17.2e} {wall:7.2f}")
    print(f"\nload-only run (TorchScript fp16, one short prompt): {load_only[1]:.2f} s wall; {load_only[2]}")
    worst = max(r[2] for r in rows)
    print(f"worst relative L2 vs torch float32: {worst:.2e} ({'PASS' if worst <= 1e-4 else 'FAIL'} at 1e-4); "
          f"vs float64: {max(r[3] for r in rows):.2e} (torch float32 itself: {max(r[4] for r in rows):.2e})")


if __name__ == "__main__":
    main()
