#!/usr/bin/env python3
"""Reference benchmark: the cases of `ipiqa bench` in PyTorch (CPU), same JSON keys and FLOP counts.

Model: OpenAI's clip/model.py loaded by path (Scripts/clip_reference.py), built with RN50's shapes and random
weights. Forward cases run in eval() under no_grad, each with the best of NCHW and channels_last memory formats
(both are timed; the faster is reported and named in "memory_format"). The IP-IQA training step is a compact
PyTorch model with the official IP-IQA structure (visual trunk → CLIP attention pool + cross-modal attention pool
queried by the text feature → MLP head; frozen text encoder in eval mode with a trainable [QA] vector at the
end-of-text position, BN in train mode, AdamW). Text is cut at the last end-of-text token in the cut case and in
the training step, exactly as the Swift engine does (a causal mask makes the later positions irrelevant).

FLOPs (identical to Sources/IQA/Benchmarks/ModelFLOPs.swift): conv 2·N·Ho·Wo·Cout·kh·kw·Cin, linear
2·rows·in·out, attention 2·2·B·Lq·Lk·D; training step = 3 × trained forward + 2 × frozen text forward.

Image cases take --mode: fp32 (default), bf16 or fp16 (torch.autocast on the CPU with that dtype). Their weights
are random with batch-norm statistics calibrated on two images (one train-mode pass with cumulative averaging) and
every block's last BN gain 0.5, as `ipiqa bench` builds its model, so that rounding shows as in a trained model; a
16-bit mode also reports "cosine_vs_fp32", the smallest cosine of an image's embedding to the fp32 one.

Usage:  python3 Scripts/bench_pytorch.py [--json] [--repeats 5] [--cases a,b] [--threads 2] [--mode fp32|bf16|fp16]
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_reference import interpolate_positional_embedding, load_openai_module  # noqa: E402

CASES = {
    "rn50_forward_224_b1": ("image", 224, 1),
    "rn50_forward_224_b8": ("image", 224, 8),
    "rn50_forward_512_b1": ("image", 512, 1),
    "rn50_forward_512_b8": ("image", 512, 8),
    "text_forward_b32_l77": ("text", 77, 32),
    "text_forward_b32_cut": ("text", None, 32),
    "ipiqa_train_224_b8": ("train", 224, 8),
    "ipiqa_train_512_b4": ("train", 512, 4),
}

RN50 = dict(embed_dim=1024, image_resolution=224, vision_layers=(3, 4, 6, 3), vision_width=64, vision_patch_size=None,
            context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8, transformer_layers=12)


# ----- FLOP counts (same formulas as ModelFLOPs.swift) -----
def flops_trunk(res, n, width=64, layers=(3, 4, 6, 3)):
    def conv(s, cin, cout, k):
        return 2.0 * n * s * s * cout * k * k * cin
    s = res // 2
    total = conv(s, 3, width // 2, 3) + conv(s, width // 2, width // 2, 3) + conv(s, width // 2, width, 3)
    s //= 2
    inplanes = width
    for i, blocks in enumerate(layers):
        planes = width << i
        for b in range(max(blocks, 1)):
            stride = 2 if (b == 0 and i > 0) else 1
            out = s // stride
            total += conv(s, inplanes, planes, 1) + conv(s, planes, planes, 3) + conv(out, planes, planes * 4, 1)
            if b == 0 and (stride > 1 or inplanes != planes * 4):
                total += conv(out, inplanes, planes * 4, 1)
            inplanes = planes * 4
            s = out
    return total


def flops_pool(grid, channels, query_dim, output_dim, n):
    l, c = grid * grid + 1, channels
    return 2.0 * n * query_dim * c + 2 * 2.0 * n * l * c * c + 2 * 2.0 * n * l * c + 2.0 * n * c * output_dim


def flops_visual(res, n):
    return flops_trunk(res, n) + flops_pool(res // 32, 2048, 2048, 1024, n)


def flops_text(n, length, d=512, layers=12, embed=1024):
    rows = n * length
    per = 2.0 * rows * d * 3 * d + 2 * 2.0 * n * length * length * d + 2.0 * rows * d * d + 2 * 2.0 * rows * d * 4 * d
    return layers * per + 2.0 * n * d * embed


def flops_train(res, n, length, outputs=2):
    e = 1024
    cross = flops_pool(res // 32, 2048, e, e, n)
    head = 2.0 * n * (2 * e) * (2 * e) + 2.0 * n * (2 * e) * outputs
    return 3 * (flops_visual(res, n) + cross + head) + 2 * flops_text(n, length)


# ----- models -----
def build_clip(model_mod, seed):
    torch.manual_seed(seed)
    return model_mod.CLIP(**RN50).float()


def calibrated_clip(model_mod, size):
    """RN50 CLIP (eval) with every block's bn3 gain 0.5 and batch-norm statistics of two random images at `size`."""
    clip = build_clip(model_mod, 1)
    for m in clip.visual.modules():
        if hasattr(m, "bn3") and hasattr(m, "conv3") and hasattr(m, "downsample"):
            torch.nn.init.constant_(m.bn3.weight, 0.5)
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: one pass gives that batch's statistics
    clip.visual.train()
    pool = clip.visual.attnpool
    original = pool.positional_embedding.data.clone()
    with torch.no_grad():
        # Any resolution: the pool's positional embedding is interpolated for the calibration pass, as in run_case.
        pool.positional_embedding.data = interpolate_positional_embedding(original, size // 32)
        clip.encode_image(torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(500)))
        pool.positional_embedding.data = original
    return clip.eval()


def prompts(n, length, gen):
    tok = torch.zeros(n, 77, dtype=torch.long)
    tok[:, 0] = 49406
    tok[:, 1:length - 1] = torch.randint(256, 40256, (n, length - 2), generator=gen)
    tok[:, length - 1] = 49407
    return tok


def encode_text(clip, tokens, qa=None, cut=False):
    """CLIP encode_text (optionally cut at the last EOT and with a [QA] vector at each EOT position)."""
    eot = tokens.argmax(dim=-1)
    if cut:
        tokens = tokens[:, : int(eot.max()) + 1]
    x = clip.token_embedding(tokens)
    if qa is not None:
        x = x.clone()
        x[torch.arange(x.shape[0]), eot] = qa
    x = x + clip.positional_embedding[: x.shape[1]]
    x = x.permute(1, 0, 2)
    mask = torch.full((x.shape[0], x.shape[0]), float("-inf")).triu_(1)
    for block in clip.transformer.resblocks:
        block.attn_mask = mask
        x = block(x)
    x = x.permute(1, 0, 2)
    x = clip.ln_final(x)
    return x[torch.arange(x.shape[0]), eot] @ clip.text_projection


class CrossPool(nn.Module):
    """IP-IQA's text-queried attention pool (official TextAttentionPool2d + MultiHeadCrossAttention)."""

    def __init__(self, grid, channels=2048, text_dim=1024, heads=32, out=1024):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, channels) / channels ** 0.5)
        self.q_proj, self.k_proj = nn.Linear(text_dim, channels), nn.Linear(channels, channels)
        self.v_proj, self.out_proj = nn.Linear(channels, channels), nn.Linear(channels, out)
        self.heads = heads

    def forward(self, feat, txt):
        n, c = feat.shape[0], feat.shape[1]
        x = feat.flatten(2).permute(0, 2, 1)
        x = torch.cat([x.mean(dim=1, keepdim=True), x], dim=1) + self.positional_embedding
        dh = c // self.heads
        q = self.q_proj(txt).reshape(n, 1, self.heads, dh).transpose(1, 2)
        k = self.k_proj(x).reshape(n, -1, self.heads, dh).transpose(1, 2)
        v = self.v_proj(x).reshape(n, -1, self.heads, dh).transpose(1, 2)
        p = torch.softmax(q @ k.transpose(-1, -2) / dh ** 0.5, dim=-1)
        return self.out_proj((p @ v).transpose(1, 2).reshape(n, c))


class IPIQA(nn.Module):
    def __init__(self, clip, res, outputs=2):
        super().__init__()
        self.clip = clip
        grid = res // 32
        pool = clip.visual.attnpool
        pool.positional_embedding = nn.Parameter(interpolate_positional_embedding(pool.positional_embedding.data, grid))
        self.cross = CrossPool(grid)
        self.dense, self.out = nn.Linear(2048, 2048), nn.Linear(2048, outputs)
        self.drop = nn.Dropout(0.5)
        self.qa = nn.Parameter(clip.token_embedding.weight.data[49407].clone())
        for name, p in clip.named_parameters():
            p.requires_grad = name.startswith("visual.")

    def forward(self, images, tokens):
        v = self.clip.visual
        x = v.stem(images) if hasattr(v, "stem") else stem(v, images)
        x = v.layer4(v.layer3(v.layer2(v.layer1(x))))
        txt = encode_text(self.clip, tokens, qa=self.qa, cut=True)
        fused = torch.cat([v.attnpool(x), self.cross(x, txt)], dim=1)
        return self.out(self.drop(torch.tanh(self.dense(self.drop(fused)))))


def stem(v, x):
    x = v.relu1(v.bn1(v.conv1(x))) if hasattr(v, "relu1") else v.relu(v.bn1(v.conv1(x)))
    x = v.relu2(v.bn2(v.conv2(x))) if hasattr(v, "relu2") else v.relu(v.bn2(v.conv2(x)))
    x = v.relu3(v.bn3(v.conv3(x))) if hasattr(v, "relu3") else v.relu(v.bn3(v.conv3(x)))
    return v.avgpool(x)


# ----- timing -----
def timed(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def run_case(name, model_mod, args):
    kind, size, n = CASES[name]
    gen = torch.Generator().manual_seed(1)
    reset_peak()
    formats = ["nchw", "channels_last"]
    best = None
    cosine = None
    if kind == "image":
        clip = calibrated_clip(model_mod, size)
        pool = clip.visual.attnpool
        original = pool.positional_embedding.data.clone()
        images = torch.randn(n, 3, size, size, generator=gen)
        flops = flops_visual(size, n)
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.mode)

        def embed(x, low):
            with torch.no_grad(), torch.autocast("cpu", dtype=dtype, enabled=low):
                # The positional embedding is interpolated per call, as the Swift engine does.
                pool.positional_embedding.data = interpolate_positional_embedding(original, size // 32)
                e = clip.encode_image(x)
                pool.positional_embedding.data = original
                return e.float()
        if dtype is not None:
            cosine = float(F.cosine_similarity(embed(images, True), embed(images, False), dim=1).min())
        for fmt in formats:
            mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
            clip.visual.to(memory_format=mf)
            x = images.contiguous(memory_format=mf)

            def fwd():
                embed(x, dtype is not None)
            ms, runs = timed(fwd, args.repeats, args.warmup)
            if best is None or ms < best[0]:
                best = (ms, runs, fmt)
    elif kind == "text":
        clip = build_clip(model_mod, 1).eval()
        length = size or args.prompt_length
        tokens = prompts(n, length, gen)
        flops = flops_text(n, length)

        def fwd():
            with torch.no_grad():
                encode_text(clip, tokens, cut=size is None)
        ms, runs = timed(fwd, args.repeats, args.warmup)
        best = (ms, runs, "n/a")
    else:
        flops = flops_train(size, n, args.prompt_length)
        images = torch.randn(n, 3, size, size, generator=gen)
        tokens = prompts(n, args.prompt_length, gen)
        target = torch.randn(n, 2, generator=gen)
        for fmt in formats:
            torch.manual_seed(1)
            model = IPIQA(build_clip(model_mod, 1), size)
            mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
            model.clip.visual.to(memory_format=mf)
            x = images.contiguous(memory_format=mf)
            model.train()
            model.clip.transformer.eval()
            head = [p for nme, p in model.named_parameters() if p.requires_grad and nme.startswith(("dense", "out"))]
            base = [p for nme, p in model.named_parameters() if p.requires_grad and not nme.startswith(("dense", "out"))]
            opt = torch.optim.AdamW([{"params": base, "lr": 1e-5}, {"params": head, "lr": 1e-4}], weight_decay=0)

            def step():
                loss = F.mse_loss(model(x, tokens), target)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
            ms, runs = timed(step, args.repeats, args.warmup)
            if best is None or ms < best[0]:
                best = (ms, runs, fmt)
            del model, opt
    ms, runs, fmt = best
    out = {"ms": ms, "images_per_s": n / (ms / 1000), "gflops": flops / 1e9 / (ms / 1000), "peak_rss_mb": peak_rss_mb(),
           "gflop": flops / 1e9, "runs_ms": runs, "memory_format": fmt, "mode": args.mode if kind == "image" else "fp32"}
    if cosine is not None:
        out["cosine_vs_fp32"] = cosine
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--prompt-length", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--mode", default="fp32", choices=["fp32", "bf16", "fp16"],
                    help="image cases: fp32, or torch.autocast with bfloat16 / float16")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model_mod = load_openai_module("model")
    out = {}
    for name in [c.strip() for c in args.cases.split(",") if c.strip()]:
        if name not in CASES:
            sys.exit(f"unknown case {name!r}; known: {', '.join(CASES)}")
        out[name] = run_case(name, model_mod, args)
        if not args.json:
            r = out[name]
            print(f"{name:24s} {r['ms']:10.1f} ms {r['images_per_s']:9.2f}/s {r['gflops']:8.1f} GFLOP/s "
                  f"{r['peak_rss_mb']:8.0f} MB ({r['memory_format']})", flush=True)
    out["meta"] = {"torch": torch.__version__, "mode": args.mode, "threads": torch.get_num_threads(), "repeats": args.repeats,
                   "prompt_length": args.prompt_length}
    if args.json:
        print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
