#!/usr/bin/env python3
"""PyTorch reference for `ipiqa bench-train --compare-precision bf16`: one full fine-tuning pass (forward + backward)
of the IP-IQA model of Scripts/bench_pytorch.py (CLIP RN50 trunk with random weights, CLIP attention pool, text-queried
cross pool, MLP head; BN in train mode; frozen text encoder cut at the end-of-text token) timed in fp32 and under
torch.autocast('cpu', dtype=torch.bfloat16), alternately in one run (medians), at the same resolution and number of
images as the Swift command (defaults: 512 px, 2 images). The AdamW step (fp32 master weights in both) is timed apart.

Usage:  python3 Scripts/bench_train_precision.py [--resolution 512] [--images 2] [--repeats 3] [--threads 2]
                                                  [--memory-format channels_last|nchw] [--json]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pytorch import IPIQA, build_clip, prompts  # noqa: E402
from clip_reference import load_openai_module  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolution", type=int, default=512)
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--prompt-length", type=int, default=20)
    ap.add_argument("--memory-format", choices=["channels_last", "nchw"], default="channels_last")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    n, size = args.images, args.resolution
    images = torch.randn(n, 3, size, size, generator=gen)
    tokens = prompts(n, args.prompt_length, gen)
    target = torch.randn(n, 2, generator=gen)
    torch.manual_seed(1)
    model = IPIQA(build_clip(load_openai_module("model"), 1), size)
    mf = torch.channels_last if args.memory_format == "channels_last" else torch.contiguous_format
    model.clip.visual.to(memory_format=mf)
    x = images.contiguous(memory_format=mf)
    model.train()
    model.clip.transformer.eval()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5, weight_decay=0)

    def run(bf16):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x, tokens)
        F.mse_loss(out.float(), target).backward()
        t = time.perf_counter() - start
        opt.zero_grad(set_to_none=False)
        return t

    run(False)
    run(True)
    fp32, bf16 = [], []
    for r in range(args.repeats):
        fp32.append(run(False))
        bf16.append(run(True))
        if not args.json:
            print(f"repeat {r + 1}: fp32 {fp32[-1]:.3f} s, bf16 autocast {bf16[-1]:.3f} s", flush=True)
    run(False)
    steps = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        opt.step()
        steps.append(time.perf_counter() - start)
    out = {"resolution": size, "images": n, "threads": torch.get_num_threads(), "torch": torch.__version__,
           "memory_format": args.memory_format, "fp32_s": statistics.median(fp32), "bf16_autocast_s": statistics.median(bf16),
           "adamw_step_s": statistics.median(steps), "fp32_runs": fp32, "bf16_runs": bf16}
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"full fine-tuning pass, {n} images at {size} px ({args.memory_format}, {out['threads']} threads): "
              f"fp32 {out['fp32_s']:.3f} s, bf16 autocast {out['bf16_autocast_s']:.3f} s "
              f"({out['fp32_s'] / out['bf16_autocast_s']:.2f}x); AdamW step {out['adamw_step_s']:.3f} s")


if __name__ == "__main__":
    main()
