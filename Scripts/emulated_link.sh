#!/usr/bin/env bash
# Measures how much of the gradient allreduce the backward pass hides (`ipiqa bench mpi --overlap on|off`) over Open
# MPI's TCP transport on loopback, with a bandwidth-limited link emulated by a token-bucket filter on `lo`
# (docs/scaling.md, "Overlap measured on an emulated link").
#
#   sudo Scripts/emulated_link.sh                       # rates 500mbit 1gbit, 2 rounds, 224 px, global batch 8
#   RATES="1gbit 10gbit none" ROUNDS=3 Scripts/emulated_link.sh      # an idle machine with spare cores
#
# Environment: RATES (tc rates, "none" = unshaped loopback TCP), ROUNDS, IPIQA (the binary), BENCH_ARGS (passed to
# `ipiqa bench mpi`), OUT (folder for the per-run JSON; default a fresh temporary one).
#
# Every run: `mpirun -np 2 --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo ipiqa bench mpi --threads 1`,
# overlap on and off alternated (their order swapped every round). Per rate it prints the medians of the step with
# and without overlap, of the gradient allreduce alone, and hidden = (t_off − t_on) / t_allreduce.
# The qdisc is removed on every exit (also on failure and Ctrl-C). Needs root (tc) and a lo without a root qdisc.
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"500mbit 1gbit"}
ROUNDS=${ROUNDS:-2}
IPIQA=${IPIQA:-.build/release/ipiqa}
BENCH_ARGS=${BENCH_ARGS:-"--resolution 224 --batch-size 8 --micro-batch 4 --steps 2 --repeats 1 --floats 1000000"}
OUT=${OUT:-$(mktemp -d /tmp/emulated_link.XXXXXX)}
mkdir -p "$OUT"

[ -x "$IPIQA" ] || { echo "error: $IPIQA not found (swift build -c release -Xswiftc -enable-testing)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "error: mpirun not found (apt-get install openmpi-bin)" >&2; exit 1; }
command -v tc >/dev/null || { echo "error: tc not found (apt-get install iproute2)" >&2; exit 1; }
if ! tc qdisc show dev lo | head -1 | grep -q '^qdisc noqueue'; then
    echo "error: lo already has a root qdisc ($(tc qdisc show dev lo | head -1)); not touching it" >&2
    exit 1
fi

shaped=0
cleanup() {
    if [ "$shaped" = 1 ]; then
        tc qdisc del dev lo root 2>/dev/null || true
        shaped=0
        echo "removed the qdisc on lo: $(tc qdisc show dev lo | head -1)" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

shape() {   # $1: rate, or "none"
    cleanup
    [ "$1" = none ] && return 0
    shaped=1
    tc qdisc add dev lo root tbf rate "$1" burst 256kb latency 20ms
}

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "mpirun: $(mpirun --version | head -1); ipiqa bench mpi $BENCH_ARGS; results in $OUT"
for rate in $RATES; do
    shape "$rate"
    echo "== rate $rate: $(tc qdisc show dev lo | head -1)"
    for round in $(seq 1 "$ROUNDS"); do
        if [ $((round % 2)) = 1 ]; then modes="on off"; else modes="off on"; fi
        for mode in $modes; do
            # shellcheck disable=SC2086
            mpirun --allow-run-as-root --oversubscribe --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo -np 2 \
                "$IPIQA" bench mpi --threads 1 --overlap "$mode" --json $BENCH_ARGS \
                >"$OUT/$rate-$mode-$round.json" 2>"$OUT/$rate-$mode-$round.log" \
                || { echo "error: the run failed; its output:" >&2; tail -5 "$OUT/$rate-$mode-$round.log" >&2; exit 1; }
            python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  round %s overlap %-3s step %.3f s, gradient allreduce %.3f s, allreduce %d floats %.3f s" % (sys.argv[2], sys.argv[3], r["stepSeconds"], r["gradientReduceSeconds"], r["floats"], r["allreduceSeconds"]))' \
                "$OUT/$rate-$mode-$round.json" "$round" "$mode"
        done
    done
done
cleanup
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$OUT" $RATES <<'EOF'
import glob, json, statistics, sys
out, rates = sys.argv[1], sys.argv[2:]
print("\n| link (tbf on lo) | step, overlap off (s) | step, overlap on (s) | off / on | gradient allreduce alone (s) | hidden = (off − on) / allreduce | link throughput (Gbit/s) |")
print("|---|---|---|---|---|---|---|")
reduce = {}
for rate in rates:
    runs = {m: [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{rate}-{m}-*.json"))] for m in ("on", "off")}
    on = statistics.median(r["stepSeconds"] for r in runs["on"])
    off = statistics.median(r["stepSeconds"] for r in runs["off"])
    g = statistics.median(r["gradientReduceSeconds"] for r in runs["on"] + runs["off"])
    floats = runs["on"][0]["trainableParameters"]
    # 2 ranks: each sends its 4·floats bytes once; both directions share lo's one queue.
    gbit = 2 * 4 * floats * 8 / g / 1e9
    reduce[rate] = g
    print(f"| {rate} | {off:.3f} | {on:.3f} | {off / on:.3f} | {g:.3f} | {(off - on) / g:.0%} | {gbit:.2f} |")
shaped = [r for r in rates if r != "none"]
if len(shaped) >= 2:
    a, b = shaped[0], shaped[-1]
    print(f"\ngradient allreduce {a} / {b}: {reduce[a] / reduce[b]:.2f}x (the TCP transport follows the shaped rate if this is near their ratio)")
EOF
