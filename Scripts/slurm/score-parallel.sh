#!/bin/bash
# Score a CSV with a trained IP-IQA model as N GNU parallel jobs on one machine (or over ssh with --sshlogin),
# then merge the parts into exactly the output of one unsharded run.
#
#   Scripts/slurm/score-parallel.sh model_best.safetensors images.csv scores.csv 4
set -euo pipefail
MODEL=$1 CSV=$2 OUT=$3 N=${4:-4}
IPIQA=${IPIQA:-ipiqa}
PARTS=$(mktemp -d "${TMPDIR:-/tmp}/ipiqa-parts.XXXXXX")
# Each job gets a 1/N share of the cores.
THREADS=$(( ($(nproc) + N - 1) / N ))
seq 0 $((N - 1)) | parallel --halt now,fail=1 \
    "$IPIQA" score --model "$MODEL" --csv "$CSV" --threads "$THREADS" --shard {}/"$N" --output "$PARTS/part-{}.jsonl"
"$IPIQA" score --merge "$PARTS"/part-*.jsonl --output "$OUT"
rm -r "$PARTS"
