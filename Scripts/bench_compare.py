#!/usr/bin/env python3
"""Runs `ipiqa bench` and Scripts/bench_pytorch.py side by side on this machine and prints the README table.

Each case is measured in alternating rounds (ours, PyTorch, ours, PyTorch, ...) so that changes in machine load hit
both engines alike; per engine the best round's median is kept (the least disturbed one). Writes the raw JSON and the
Markdown table next to each other.

Usage: python3 Scripts/bench_compare.py [--ipiqa .build/release/ipiqa] [--rounds 2] [--repeats 5] [--cases a,b]
                                        [--precision fp32|bf16] [--out docs/bench]
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ipiqa", default=os.path.join(HERE, "..", ".build", "release", "ipiqa"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--out", default=None, help="folder for compare.json and compare.md (default: print only)")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    ours, torch = {}, {}
    for case in cases:
        for r in range(args.rounds):
            o = run_json([args.ipiqa, "bench", "--json", "--cases", case, "--repeats", str(args.repeats),
                          "--threads", str(args.threads), "--precision", args.precision])[case]
            t = run_json([sys.executable, os.path.join(HERE, "bench_pytorch.py"), "--json", "--cases", case,
                          "--repeats", str(args.repeats), "--threads", str(args.threads)])[case]
            if case not in ours or o["ms"] < ours[case]["ms"]:
                ours[case] = o
            if case not in torch or t["ms"] < torch[case]["ms"]:
                torch[case] = t
            print(f"{case} round {r + 1}: ours {o['ms']:.1f} ms, PyTorch {t['ms']:.1f} ms", file=sys.stderr, flush=True)
    date = datetime.date.today().isoformat()
    lines = [f"Measured {date} on {cpu_model()} ({args.threads} threads), ours precision {args.precision}, PyTorch fp32 "
             f"(best of NCHW / channels_last); median of {args.repeats} runs, best of {args.rounds} alternating rounds.",
             "",
             "| case | ours ms | PyTorch ms | speed-up | ours images/s | ours GFLOP/s | PyTorch GFLOP/s | ours peak MB | PyTorch peak MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for case in cases:
        o, t = ours[case], torch[case]
        lines.append(f"| {case} | {o['ms']:.1f} | {t['ms']:.1f} | {t['ms'] / o['ms']:.2f}× | {o['images_per_s']:.2f} | "
                     f"{o['gflops']:.0f} | {t['gflops']:.0f} | {o['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for name, content in [("compare.json", json.dumps({"ours": ours, "pytorch": torch, "date": date}, indent=1)),
                              ("compare.md", table + "\n")]:
            tmp = os.path.join(args.out, "." + name + ".tmp")
            with open(tmp, "w") as f:
                f.write(content)
            os.replace(tmp, os.path.join(args.out, name))


if __name__ == "__main__":
    main()
