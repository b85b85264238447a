#!/usr/bin/env python3
"""Step time and efficiency of data-parallel IP-IQA training versus node count (docs/scaling.md).

    T(N) = ceil(B/N) * c  +  t_opt  +  max(0, A(N) - overlap * backward(N))
    A(N) = 2 (N-1)/N * S / (eta * W)  +  2 (N-1) * alpha          (ring allreduce of S bytes)
    E(N) = T(1) / (N * T(N))

c: seconds of forward+backward per image on one node; backward = 2/3 of it; B: global batch; S: gradient bytes;
W: link bandwidth, eta its usable fraction; alpha: per-message latency; overlap: the fraction of the backward pass
that the allreduce can hide behind (0: reduced after the backward pass; 1: DDP-style buckets
started during the backward pass, as ipiqa does). hidden = (T_off - T_on) / A: the share of the allreduce that
full overlap hides (what Scripts/emulated_link.sh measures). Usage: python3 Scripts/scaling_model.py --c 2.4 --batch 32
Two ranks on a shaped loopback (docs/scaling.md): --nodes 2 --gbit 0.5 5 --batch 8 --c 0.45 --floats 38.3e6
"""
import argparse
import math


def step(n, c, batch, s_bytes, gbit, eta, alpha, t_opt, overlap):
    per_node = math.ceil(batch / n)
    compute = per_node * c
    allreduce = 0.0 if n == 1 else 2 * (n - 1) / n * s_bytes / (eta * gbit * 1e9 / 8) + 2 * (n - 1) * alpha
    hidden = overlap * compute * 2 / 3
    return compute + t_opt + max(0.0, allreduce - hidden), allreduce


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--c", type=float, required=True, help="seconds of forward+backward per image on one node")
    p.add_argument("--batch", type=int, default=32, help="global batch (the recipe: 32)")
    p.add_argument("--per-node-batch", type=int, default=None, help="weak scaling: global batch = this x N")
    p.add_argument("--floats", type=float, default=51e6, help="gradient floats (RN50 IP-IQA: about 51 M)")
    p.add_argument("--bytes-per-float", type=int, default=4)
    p.add_argument("--eta", type=float, default=0.9, help="usable fraction of the link bandwidth")
    p.add_argument("--alpha", type=float, default=50e-6, help="seconds of latency per allreduce message")
    p.add_argument("--t-opt", type=float, default=0.15, help="seconds of the AdamW step (every node, not divided)")
    p.add_argument("--nodes", type=int, nargs="+", default=[8, 32, 128], help="node counts of the table")
    p.add_argument("--gbit", type=float, nargs="+", default=[10, 100], help="link bandwidths (Gbit/s) of the table")
    args = p.parse_args()
    s = args.floats * args.bytes_per_float
    print(f"c = {args.c} s/image, S = {s / 1e6:.0f} MB, eta = {args.eta}, alpha = {args.alpha * 1e6:.0f} us, t_opt = {args.t_opt} s")
    print("| nodes | link | global batch | step, no overlap (s) | step, full overlap (s) | allreduce (s) | hidden | "
          "efficiency, no overlap | efficiency, full overlap |")
    print("|---|---|---|---|---|---|---|---|---|")
    for gbit in args.gbit:
        for n in args.nodes:
            batch = args.per_node_batch * n if args.per_node_batch else args.batch
            t1, _ = step(1, args.c, batch, s, gbit, args.eta, args.alpha, args.t_opt, 0)
            tn, ar = step(n, args.c, batch, s, gbit, args.eta, args.alpha, args.t_opt, 0)
            to, _ = step(n, args.c, batch, s, gbit, args.eta, args.alpha, args.t_opt, 1)
            hidden = (tn - to) / ar if ar > 0 else 0.0
            print(f"| {n} | {gbit:g} Gbit/s | {batch} | {tn:.3f} | {to:.3f} | {ar:.3f} | {hidden:.0%} | {t1 / (n * tn):.0%} | {t1 / (n * to):.0%} |")


if __name__ == "__main__":
    main()
