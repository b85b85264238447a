#!/bin/sh
# Interop check at RN50 size (not part of `make test`): the real official class vs ipiqa, both directions.
# Usage: Scripts/check_official_rn50.sh /path/to/IP-IQA-checkout [work-dir]   (needs torch, numpy, pillow, ftfy, regex)
set -eu
REPO=$1; WORK=${2:-/tmp/ipiqa-rn50-check}; BIN=${IPIQA:-.build/release/ipiqa}
PY="python3 $(dirname "$0")/check_official_rn50.py --official-repo $REPO --work $WORK"
mkdir -p "$WORK"
[ -f "$WORK/official_scores.json" ] || $PY prepare
# 1. official checkpoint -> ipiqa: import, score, compare.
$BIN import --official "$WORK/checkpoint_best.pth" --clip "$WORK/RN50-random.pt" --out "$WORK/imported.safetensors"
$BIN score --model "$WORK/imported.safetensors" --csv "$WORK/images.csv" --format jsonl --output "$WORK/ours_imported.jsonl"
$PY compare --scores "$WORK/ours_imported.jsonl"
# 2. a model trained here -> official: train briefly (64 px, one epoch), export, load into the official class, compare.
rm -rf "$WORK/run"
$BIN train --clip "$WORK/RN50-random.pt" --dataset csv --labels "$WORK/images.csv" --root "$WORK" --resolution 64 \
    --epochs 1 --splits 1 --batch-size 2 --qa-token table --validation-fraction 0.34 --test-fraction 0.33 --out "$WORK/run" --no-plots
MODEL=$(ls "$WORK"/run/*model_final*.safetensors "$WORK"/run/*/*model_final*.safetensors 2>/dev/null | head -1)
$BIN export --model "$MODEL" --format official --out "$WORK/exported.pth"
$BIN score --model "$MODEL" --csv "$WORK/images.csv" --format jsonl --output "$WORK/ours_own.jsonl"
$PY check-export --exported "$WORK/exported.pth" --scores "$WORK/ours_own.jsonl"
