#!/usr/bin/env python3
"""Runs `ipiqa bench` and Scripts/bench_pytorch.py side by side on this machine and prints the README table.

Each case is measured in alternating rounds (ours, PyTorch fp32, PyTorch bf16 autocast, PyTorch fp16 autocast, ours,
...) so that changes in machine load hit every engine alike; per engine and mode the best round's median is kept (the
least disturbed one). Image cases report each 16-bit mode's smallest embedding cosine to fp32 (ours: the bench's own
check on the same timed model; both engines use random RN50 weights with batch-norm statistics calibrated on images),
PyTorch's fastest mode, and the speed-up of ours over it. fp16 autocast is skipped for 512 px batch 8 on CPUs without
AVX-512 FP16 (PyTorch falls back to slow kernels there: > 2 s per image). Writes the raw JSON and the Markdown table.

`--precision` may list several of our precisions (e.g. `auto,bf16`); each is timed in every round. Two speed-ups are
reported per image case: our fastest precision against PyTorch's fastest mode, and each of our precisions against the
fastest PyTorch mode that is at least as accurate (cosine to fp32 at least as high; fp32 counts as cosine 1).

Usage: python3 Scripts/bench_compare.py [--ipiqa .build/release/ipiqa] [--rounds 2] [--repeats 5] [--cases a,b]
                                        [--precision auto[,bf16,...]] [--torch-modes fp32,bf16,fp16] [--out docs/bench]
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ["rn50_forward_224_b1", "rn50_forward_224_b8", "rn50_forward_512_b1", "rn50_forward_512_b8",
         "text_forward_b32_l77", "text_forward_b32_cut", "ipiqa_train_224_b8", "ipiqa_train_512_b4"]


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def feature_line():
    flags = cpu_flags()
    names = [("avx512f", "AVX-512F"), ("avx512_bf16", "AVX-512 BF16"), ("avx512_fp16", "AVX-512 FP16"),
             ("amx_bf16", "AMX-BF16")]
    return ", ".join(f"{label} {'yes' if flag in flags else 'no'}" for flag, label in names)


def cosine(result):
    """Smallest embedding cosine to fp32 of a timed mode; fp32 itself (no check reported) counts as 1."""
    c = result.get("cosine_vs_fp32")
    return 1.0 if c is None else c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ipiqa", default=os.path.join(HERE, "..", ".build", "release", "ipiqa"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--precision", default="auto",
                    help="our precisions of the image cases, comma-separated: auto, fp32, bf16, bf16x3")
    ap.add_argument("--torch-modes", default="fp32,bf16,fp16", help="PyTorch modes of the image cases")
    ap.add_argument("--out", default=None, help="folder for compare.json and compare.md (default: print only)")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    modes = [m for m in args.torch_modes.split(",") if m]
    precisions = [p for p in args.precision.split(",") if p]
    bad = [p for p in precisions if p not in ("auto", "fp32", "bf16", "bf16x3")]
    if not precisions or bad:
        ap.error(f"--precision: unknown precision {bad[0] if bad else '(none)'}; use auto, fp32, bf16 or bf16x3")
    has_fp16 = "avx512_fp16" in cpu_flags()
    ours, torch = {}, {}
    for case in cases:
        image = case.startswith("rn50_forward")
        case_modes = modes if image else ["fp32"]
        case_precisions = precisions if image else precisions[:1]
        if case == "rn50_forward_512_b8" and not has_fp16:
            case_modes = [m for m in case_modes if m != "fp16"]
        ours.setdefault(case, {})
        torch.setdefault(case, {})
        for r in range(args.rounds):
            line = f"{case} round {r + 1}:"
            for p in case_precisions:
                o = run_json([args.ipiqa, "bench", "--json", "--cases", case, "--repeats", str(args.repeats),
                              "--threads", str(args.threads), "--precision", p])[case]
                if p not in ours[case] or o["ms"] < ours[case][p]["ms"]:
                    ours[case][p] = o
                line += f" ours {p} {o['ms']:.1f} ms,"
            for mode in case_modes:
                t = run_json([sys.executable, os.path.join(HERE, "bench_pytorch.py"), "--json", "--cases", case,
                              "--repeats", str(args.repeats), "--threads", str(args.threads), "--mode", mode])[case]
                if mode not in torch[case] or t["ms"] < torch[case][mode]["ms"]:
                    torch[case][mode] = t
                line += f" PyTorch {mode} {t['ms']:.1f} ms,"
            print(line.rstrip(","), file=sys.stderr, flush=True)
    date = datetime.date.today().isoformat()
    lines = [f"Measured {date} on {cpu_model()} ({feature_line()}; {args.threads} threads); PyTorch 2.13 fp32 and "
             f"autocast modes (each the best of NCHW / channels_last); median of {args.repeats} runs, best of "
             f"{args.rounds} alternating rounds. cos = smallest embedding cosine to fp32 (random RN50 weights, batch "
             "norm calibrated on images). \"≥ as accurate\": against the fastest PyTorch mode whose cosine is at least "
             "ours.",
             "",
             "| case | " + " | ".join(f"ours {p} ms (plan, cos)" for p in precisions) + " | "
             + " | ".join(f"PyTorch {m} ms (cos)" for m in modes)
             + " | ours fastest vs PyTorch fastest | " + " | ".join(f"ours {p} vs PyTorch ≥ as accurate" for p in precisions)
             + " | ours GFLOP/s |",
             "|---|" + "---:|" * len(precisions) + "---:|" * len(modes) + "---:|" + "---:|" * len(precisions) + "---:|"]
    for case in cases:
        o, t = ours[case], torch[case]
        cells = []
        for p in precisions:
            if p in o:
                plan = (o[p].get("precision_decision") or {}).get("chosen", p)
                c = o[p].get("cosine_vs_fp32")
                cells.append(f"{o[p]['ms']:.1f} ({plan}" + (f", {c:.6f})" if c is not None else ")"))
            else:
                cells.append("—")
        for m in modes:
            if m in t:
                c = t[m].get("cosine_vs_fp32")
                cells.append(f"{t[m]['ms']:.1f}" + (f" ({c:.6f})" if c is not None else ""))
            else:
                cells.append("—")
        ours_fastest = min(o, key=lambda p: o[p]["ms"])
        fastest = min(t, key=lambda m: t[m]["ms"])
        cells.append(f"{t[fastest]['ms'] / o[ours_fastest]['ms']:.2f}× ({ours_fastest} vs {fastest})")
        for p in precisions:
            fair = [m for m in t if cosine(t[m]) >= cosine(o[p])] if p in o else []
            if fair:
                m = min(fair, key=lambda m: t[m]["ms"])
                cells.append(f"{t[m]['ms'] / o[p]['ms']:.2f}× (vs {m})")
            else:
                cells.append("—")
        cells.append(f"{o[ours_fastest]['gflops']:.0f}")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for name, content in [("compare.json", json.dumps({"ours": ours, "pytorch": torch, "date": date, "cpu": cpu_model(),
                                                   "features": feature_line()}, indent=1)),
                              ("compare.md", table + "\n")]:
            tmp = os.path.join(args.out, "." + name + ".tmp")
            with open(tmp, "w") as f:
                f.write(content)
            os.replace(tmp, os.path.join(args.out, name))


if __name__ == "__main__":
    main()
