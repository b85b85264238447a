#!/bin/sh
# Builds the release CLI and compares `ipiqa bench` with PyTorch on this machine (see Scripts/bench_compare.py).
# Usage: Scripts/bench_compare.sh [--rounds 2] [--repeats 5] [--cases a,b] [--precision auto[,bf16,...]] [--torch-modes fp32,bf16,fp16] [--out docs/bench]
set -e
cd "$(dirname "$0")/.."
swift build -c release --product ipiqa >&2
exec python3 Scripts/bench_compare.py --ipiqa .build/release/ipiqa "$@"
