#!/usr/bin/env python3
"""Reference splits and PRNG streams for Tests/IQADataTests (run from the repository root):

    python3 Scripts/fixtures_splits.py [--datasets ../shared/datasets]

Writes Tests/IQADataTests/Fixtures/official_splits.json and prng_streams.json.

The split procedures are transcriptions of the official IP-IQA code (github.com/Coobiw/IP-IQA,
train_agiqa1k.py `agiqa1k_split_fn`, train_agiqa3k.py `agiqa3k_split_fn`), run `count` times in a row
after one seeding, as `--num_cv 10` does. pandas is not needed: the 1k rows are read with openpyxl in
sheet order (what `pd.read_excel` yields), the 3k rows with the csv module (membership depends only on
the file names, so row order does not matter there).
"""
import argparse
import csv
import json
import os
import random

import numpy as np
import openpyxl

COUNT = 10
SEED = 42


def agiqa1k_rows(path):
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return [r[0] for r in rows[1:]]


def agiqa1k_split(names):
    """One call of the official agiqa1k_split_fn: returns (train names, test names) in row order."""
    train_rec, val_rec = set(), set()
    train, val = [], []
    for full in names:
        name = full[:-4]
        parts = name.split("_")
        code1, code2 = int(parts[1]), int(parts[2])
        if name.startswith("dream"):
            code1 = code1 + 1 if code1 > 5 else code1
            code2 += 5
        code = str(code1) + "_" + str(code2)
        if code not in train_rec and code not in val_rec:
            if random.random() < 0.8:
                train_rec.add(code)
                train.append(full)
            else:
                val_rec.add(code)
                val.append(full)
        elif code in train_rec:
            train.append(full)
        else:
            val.append(full)
    return train, val


def agiqa3k_split(names):
    """One call of the official agiqa3k_split_fn: returns (train names, test names, test prompt ids)."""
    count = int(0.8 * 300)
    indices = np.random.permutation(300)
    train, val = [], []
    for full in names:
        idx = int(full[:-4].split("_")[-1])
        (train if idx in indices[:count] else val).append(full)
    return train, val, sorted(int(i) for i in indices[count:])


def dedup(names):
    seen, out = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default=os.path.join("..", "shared", "datasets"))
    ap.add_argument("--out", default=os.path.join("Tests", "IQADataTests", "Fixtures"))
    args = ap.parse_args()

    names1k = agiqa1k_rows(os.path.join(args.datasets, "AGIQA-1k", "AIGC_MOS_Zscore.xlsx"))
    with open(os.path.join(args.datasets, "AGIQA-3k", "data.csv"), newline="") as f:
        names3k = [r[0] for r in list(csv.reader(f))[1:]]

    random.seed(SEED)
    splits1k = []
    for _ in range(COUNT):
        train, test = agiqa1k_split(names1k)
        splits1k.append({"trainCount": len(dedup(train)), "test": dedup(test)})

    np.random.seed(SEED)
    splits3k = []
    for _ in range(COUNT):
        train, test, test_ids = agiqa3k_split(names3k)
        splits3k.append({"trainCount": len(train), "testCount": len(test), "testPromptIDs": test_ids})

    official = {"seed": SEED, "agiqa1k": splits1k, "agiqa3k": splits3k}

    # PRNG streams: numpy legacy MT19937 (RandomState(seed) = init_genrand), its bounded draws and
    # permutations; CPython random.seed(n) (init_by_array over 32-bit chunks of |n|) and random().
    streams = {"numpy": [], "python": []}
    for seed in [0, 1, 42, 12345, 4294967295]:
        rs = np.random.RandomState(seed)
        raw = [int(v) for v in rs._bit_generator.random_raw(8)]
        perm = [int(v) for v in np.random.RandomState(seed).permutation(20)]
        streams["numpy"].append({"seed": seed, "raw32": raw, "permutation20": perm})
    for seed in [0, 1, 42, 12345, 2**32 + 7, -42, 2**70 + 3]:
        random.seed(seed)
        raw = [random.getrandbits(32) for _ in range(4)]
        random.seed(seed)
        doubles = [random.random().hex() for _ in range(6)]
        streams["python"].append({"seed": str(seed), "raw32": raw, "randomHex": doubles})

    os.makedirs(args.out, exist_ok=True)
    for fname, obj in [("official_splits.json", official), ("prng_streams.json", streams)]:
        path = os.path.join(args.out, fname)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(obj, f, separators=(",", ":"))
            f.write("\n")
        os.replace(tmp, path)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
