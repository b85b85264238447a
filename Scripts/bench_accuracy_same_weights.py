#!/usr/bin/env python3
"""16-bit accuracy of the CLIP RN50 image encoder, ipiqa against PyTorch autocast, on the SAME weights and images.

For each resolution: the RN50 CLIP of Scripts/bench_pytorch.py (`calibrated_clip`: random weights, every block's bn3
gain 0.5, batch-norm statistics of two random images at that resolution) is saved as a PyTorch state dict, test images
(smooth colour gradients, oriented waves and pixel noise, exactly R×R so `--preprocess none` applies no resizing)
are written as PNGs, and their embeddings are computed

- by PyTorch: fp32, and torch.autocast("cpu") with bfloat16 and float16 (the pool's positional embedding interpolated
  to the grid as `ipiqa embed --resolution` does; pixels normalised with CLIP's mean/std in float32 like ipiqa).
  fp16 runs on the first --fp16-images only: CPUs without AVX-512 FP16 emulate it, slowly (4 images at 512 px:
  about 6 minutes on a 2-core AMD EPYC);
- by ipiqa: `ipiqa embed --clip FILE --image … --preprocess none --resolution R --precision P` for each P.

It prints, per resolution and mode, the smallest cosine over the images to the SAME engine's fp32 embedding, the mean
of 1 − cosine, the median, the images below 0.99, on how many images ipiqa's bf16 is closer to fp32 than PyTorch's
bf16 autocast, and the cross-engine fp32 cosine (ipiqa fp32 vs PyTorch fp32: a sanity check that both ran the
same model, ≈ 1). With random weights a single image's cosine varies a lot with where the rounding falls (the
attention pool's softmax is nearly one-hot, so a head's choice can flip), so compare over many images: the smallest
cosine of a few images is a noisy statistic.

Usage:  python3 Scripts/bench_accuracy_same_weights.py [--ipiqa .build/release/ipiqa] [--resolutions 224,512]
            [--images 16] [--fp16-images 4] [--threads 2] [--ours fp32,bf16,bf16x3] [--torch-modes bf16,fp16] [--json]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pytorch import calibrated_clip  # noqa: E402
from bench_compare import cpu_model  # noqa: E402
from clip_reference import encode_image_at, load_openai_module  # noqa: E402

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def test_image(index, size, seed=7):
    """A natural-ish uint8 RGB image: colour gradients, an oriented wave of its own frequency, and pixel noise."""
    rng = np.random.default_rng(seed + 101 * index)
    v, u = np.meshgrid(np.arange(size) / size, np.arange(size) / size, indexing="ij")
    k = 1.0 + 1.7 * index
    wave = np.sin(2 * np.pi * (k * u + 0.6 * k * v) + index) * np.cos(2 * np.pi * 1.3 * u * v)
    out = np.empty((size, size, 3))
    for c in range(3):
        out[..., c] = 128 + 60 * wave + 70 * (u - 0.5) * (c - 1) + 50 * (v - 0.5) + rng.normal(0, 12, (size, size))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def normalised(pixels):
    """[N, H, W, 3] uint8 → [N, 3, H, W] float32, (v / 255 − mean) / std in float32 as ipiqa computes it."""
    x = (pixels.astype(np.float32) / np.float32(255) - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def torch_embeddings(clip, images, mode):
    with torch.no_grad(), torch.autocast("cpu", dtype=DTYPES.get(mode, torch.bfloat16), enabled=mode in DTYPES):
        return encode_image_at(clip, images).float()


def ipiqa_embeddings(binary, checkpoint, paths, size, precision):
    cmd = [binary, "embed", "--clip", checkpoint, "--preprocess", "none", "--resolution", str(size),
           "--precision", precision] + [a for p in paths for a in ("--image", p)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr}")
    return torch.tensor(json.loads(run.stdout)["image_embeddings"], dtype=torch.float32)


def cosines(a, b):
    """Per-image cosine similarity of two [N, D] embedding batches (float64)."""
    return F.cosine_similarity(a.double(), b.double(), dim=1)


def summary(a, b):
    """Smallest cosine, mean of 1 − cosine, and the cosine of each image."""
    c = cosines(a, b)
    return {"min": float(c.min()), "mean_loss": float((1 - c).mean()), "median": float(c.median()),
            "below_0_99": int((c < 0.99).sum()), "per_image": [float(v) for v in c]}



def measure(size, args, model_mod, work):
    clip = calibrated_clip(model_mod, size)
    checkpoint = os.path.join(work, f"rn50_calibrated_{size}.pt")
    torch.save(clip.state_dict(), checkpoint)
    pixels = np.stack([test_image(i, size) for i in range(args.images)])
    paths = []
    for i, p in enumerate(pixels):
        paths.append(os.path.join(work, f"test_{size}_{i}.png"))
        Image.fromarray(p).save(paths[-1])
    images = normalised(pixels)
    result = {"torch": {}, "ipiqa": {}, "seconds": {}}
    t0 = time.perf_counter()
    reference = torch_embeddings(clip, images, "fp32")
    result["seconds"]["torch_fp32"] = time.perf_counter() - t0
    for mode in args.torch_modes:
        t1 = time.perf_counter()
        n = min(args.images, args.fp16_images) if mode == "fp16" else args.images
        result["torch"][mode] = summary(torch_embeddings(clip, images[:n], mode), reference[:n])
        result["seconds"]["torch_" + mode] = time.perf_counter() - t1
    ours = {}
    for precision in ["fp32"] + [p for p in args.ours if p != "fp32"]:
        t1 = time.perf_counter()
        ours[precision] = ipiqa_embeddings(args.ipiqa, checkpoint, paths, size, precision)
        result["seconds"]["ipiqa_" + precision] = time.perf_counter() - t1
    for precision, e in ours.items():
        if precision != "fp32":
            result["ipiqa"][precision] = summary(e, ours["fp32"])
    if "bf16" in result["ipiqa"] and "bf16" in result["torch"]:
        pairs = zip(result["ipiqa"]["bf16"]["per_image"], result["torch"]["bf16"]["per_image"])
        result["ipiqa_bf16_closer_on"] = sum(a > b for a, b in pairs)
    result["cross_engine_fp32"] = float(cosines(ours["fp32"], reference).min())
    result["relative_norm_difference_fp32"] = float(((ours["fp32"] - reference).norm(dim=1) / reference.norm(dim=1)).max())
    os.remove(checkpoint)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ipiqa", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "ipiqa"))
    ap.add_argument("--resolutions", default="224,512")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--fp16-images", type=int, default=4,
                    help="images for PyTorch's fp16 autocast (slow on CPUs without AVX-512 FP16): the first N")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ours", default="fp32,bf16,bf16x3", help="ipiqa --precision values to compare to its fp32")
    ap.add_argument("--torch-modes", default="bf16,fp16", help="autocast dtypes to compare to PyTorch fp32")
    ap.add_argument("--work", help="folder for the checkpoints and PNGs (default: a temporary one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    args.ours = [p.strip() for p in args.ours.split(",") if p.strip()]
    args.torch_modes = [m.strip() for m in args.torch_modes.split(",") if m.strip()]
    for m in args.torch_modes:
        if m not in DTYPES:
            sys.exit(f"unknown --torch-modes entry {m!r}; known: {', '.join(DTYPES)}")
    if not os.path.exists(args.ipiqa):
        sys.exit(f"{args.ipiqa} not found: swift build -c release first, or pass --ipiqa")
    torch.set_num_threads(args.threads)
    model_mod = load_openai_module("model")
    out = {"meta": {"cpu": cpu_model(), "torch": torch.__version__, "threads": args.threads, "images": args.images}}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        for size in [int(s) for s in args.resolutions.split(",") if s.strip()]:
            out[str(size)] = r = measure(size, args, model_mod, work)
            if not args.json:
                print(f"{size} px — cosine to the same engine's fp32 (smallest; mean of 1 − cosine; median; "
                      "images below 0.99 / images):")
                rows = [("PyTorch autocast " + m, c) for m, c in r["torch"].items()]
                rows += [("ipiqa --precision " + m, c) for m, c in r["ipiqa"].items()]
                for name, c in rows:
                    print(f"  {name:26s} {c['min']:.6f}  {c['mean_loss']:.3e}  {c['median']:.6f}  "
                          f"{c['below_0_99']}/{len(c['per_image'])}")
                if "ipiqa_bf16_closer_on" in r:
                    print(f"  ipiqa bf16 closer to fp32 than PyTorch bf16 on {r['ipiqa_bf16_closer_on']} of "
                          f"{args.images} images")
                print(f"  cross-engine fp32 cosine {r['cross_engine_fp32']:.7f} "
                      f"(max relative difference {r['relative_norm_difference_fp32']:.2e})", flush=True)
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"CPU: {out['meta']['cpu']}; torch {torch.__version__}; {args.threads} threads")


if __name__ == "__main__":
    main()
