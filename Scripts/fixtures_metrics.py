#!/usr/bin/env python3
"""Reference fixtures for the IQAMetrics target (SRCC / PLCC / KRCC / RMSE, ranks, logistic mapping).

Writes Tests/IQAMetricsTests/Fixtures/correlations.json and logistic.json with scipy's
pearsonr, spearmanr, kendalltau (tau-b), rankdata('average') and optimize.curve_fit.
Values are rounded to a few decimals before the references are computed, so the JSON numbers
parse to exactly the doubles scipy saw.

Usage: python3 Scripts/fixtures_metrics.py   (from the repository root; deterministic, seed 20240607)
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import optimize, stats

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "IQAMetricsTests", "Fixtures")
rng = np.random.default_rng(20240607)


def nan_to_none(v):
    v = float(v)
    return None if math.isnan(v) else v


def case(name, a, b):
    a = [float(v) for v in a]
    b = [float(v) for v in b]
    A, B = np.array(a), np.array(b)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plcc = stats.pearsonr(A, B).statistic if len(a) >= 2 else float("nan")
            srcc = stats.spearmanr(A, B).statistic
            krcc = stats.kendalltau(A, B).statistic
    out = {
        "name": name,
        "a": a,
        "b": b,
        "plcc": nan_to_none(plcc),
        "srcc": nan_to_none(srcc),
        "krcc": nan_to_none(krcc),
        "rmse": float(np.sqrt(np.mean((A - B) ** 2))),
    }
    if len(a) <= 500:  # keep the fixture small: ranks of the long vectors are covered through srcc
        out["ranksA"] = [float(r) for r in stats.rankdata(A, method="average")]
        out["ranksB"] = [float(r) for r in stats.rankdata(B, method="average")]
    return out


def rounded(x, d):
    return np.round(np.asarray(x, dtype=np.float64), d)


cases = []
# n = 2 and 3: the smallest inputs, both signs.
cases.append(case("n2_positive", [0.1, 0.7], [1.0, 3.5]))
cases.append(case("n2_negative", [0.1, 0.7], [3.5, 1.0]))
cases.append(case("n3_tie_in_a", [1.0, 1.0, 2.0], [0.5, 0.2, 0.9]))
# Small random, continuous.
x = rounded(rng.normal(size=10), 4)
cases.append(case("n10_continuous", x, rounded(x + rng.normal(scale=0.8, size=10), 4)))
# Heavy ties: integer scores in 1..5 on both sides.
a = rng.integers(1, 6, size=50)
b = np.clip(a + rng.integers(-1, 2, size=50), 1, 5)
cases.append(case("n50_heavy_ties_both", a, b))
a = rng.integers(1, 6, size=200)
b = np.clip(a + rng.integers(-2, 3, size=200), 1, 5)
cases.append(case("n200_heavy_ties_both", a, b))
# Ties on one side only (MOS continuous, predictions integer).
m = rounded(rng.uniform(1, 5, size=120), 3)
cases.append(case("n120_ties_one_side", np.round(m), m))
# Negative correlation.
x = rounded(rng.uniform(0, 1, size=500), 5)
cases.append(case("n500_negative", x, rounded(-2.0 * x + rng.normal(scale=0.5, size=500), 5)))
# Weak correlation, mixed ties (values on a coarse grid).
x = rounded(rng.normal(size=2000), 1)
cases.append(case("n2000_coarse_grid", x, rounded(0.3 * x + rng.normal(size=2000), 1)))
# Long: n = 5000, MOS-like target on a 0.01 grid, continuous predictions.
mos = rounded(rng.uniform(1, 5, size=5000), 2)
pred = rounded(1.0 / (1.0 + np.exp(-(mos - 3.0))) + rng.normal(scale=0.1, size=5000), 4)
cases.append(case("n5000_long", pred, mos))
# Constant input: scipy returns nan (our API throws).
cases.append(case("constant_a", [2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0]))

with open(os.path.join(OUT, "correlations.json"), "w") as f:
    json.dump({"scipy": scipy.__version__, "cases": cases}, f, separators=(",", ":"))

# Logistic mapping: 4-parameter logistic fitted with curve_fit (Levenberg–Marquardt, MINPACK).


def logistic(x, b1, b2, b3, b4):
    return (b1 - b2) / (1.0 + np.exp(-(x - b3) / np.abs(b4))) + b2


n = 300
mos = rounded(rng.uniform(1, 5, size=n), 3)
pred = rounded(0.2 + 0.6 / (1.0 + np.exp(-(mos - 3.2) * 1.5)) + rng.normal(scale=0.05, size=n), 5)
x, y = pred, mos
p0 = [float(np.max(y)), float(np.min(y)), float(np.mean(x)), float(np.std(x) / 4.0)]
params, _ = optimize.curve_fit(logistic, x, y, p0=p0, maxfev=100000, xtol=1e-14, ftol=1e-14)
mapped = logistic(x, *params)
logi = {
    "x": [float(v) for v in x],
    "y": [float(v) for v in y],
    "p0": p0,
    "params": [float(v) for v in params],
    "mapped": [float(v) for v in mapped],
    "plccMapped": float(stats.pearsonr(mapped, y).statistic),
    "rmseMapped": float(np.sqrt(np.mean((mapped - y) ** 2))),
    "sse": float(np.sum((mapped - y) ** 2)),
}
with open(os.path.join(OUT, "logistic.json"), "w") as f:
    json.dump(logi, f, separators=(",", ":"))

# Summary over repeated splits: numpy mean and std (ddof = 0).
vals = rounded(rng.uniform(0.6, 0.9, size=(10, 4)), 6)
summ = {
    "values": vals.tolist(),
    "mean": vals.mean(axis=0).tolist(),
    "std": vals.std(axis=0).tolist(),
}
with open(os.path.join(OUT, "summary.json"), "w") as f:
    json.dump(summ, f, separators=(",", ":"))
print("wrote fixtures with scipy", scipy.__version__)
