#!/usr/bin/env python3
"""Reference fixture of the ridge probe (IQAExperiments RidgeProbe): scikit-learn's Ridge(alpha, fit_intercept=True)
for every candidate λ over the same grouped folds (group g, numbered by first appearance, → fold g mod k), the λ of the
smallest mean held-out squared error, and the final fit's weights, intercept and test predictions.

Writes Tests/IQAExperimentsTests/Fixtures/ridge.json. Inputs are rounded to 6 decimals so the JSON doubles are exactly
what scikit-learn saw. Usage: python3 Scripts/fixtures_ridge.py   (from the repository root; seed 20240917)
"""
import json
import os

import numpy as np
import sklearn
from sklearn.linear_model import Ridge

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "IQAExperimentsTests", "Fixtures")
rng = np.random.default_rng(20240917)
lambdas = [10 ** (-3 + i / 2) for i in range(13)]


def case(name, n, d, n_test, k, group_of):
    X = np.round(rng.normal(size=(n, d)) + 0.3, 6)
    true_w = rng.normal(size=d)
    y = np.round(X @ true_w + 0.8 * rng.normal(size=n) + 2.5, 6)
    groups = [group_of(i) for i in range(n)]
    X_test = np.round(rng.normal(size=(n_test, d)), 6)
    order = {}
    for g in groups:
        order.setdefault(g, len(order))
    kk = min(k, len(order))
    fold = np.array([order[g] % kk for g in groups])
    mse = []
    for lam in lambdas:
        sq = 0.0
        for f in range(kk):
            tr, te = fold != f, fold == f
            m = Ridge(alpha=lam, fit_intercept=True, solver="cholesky").fit(X[tr], y[tr])
            sq += float(((m.predict(X[te]) - y[te]) ** 2).sum())
        mse.append(sq / n)
    best = int(np.argmin(mse))
    final = Ridge(alpha=lambdas[best], fit_intercept=True, solver="cholesky").fit(X, y)
    print(name, "lambda", lambdas[best], "mse", mse[best])
    return {"name": name, "x": X.tolist(), "y": y.tolist(), "groups": groups, "folds": k, "lambdas": lambdas,
            "mse": mse, "lambda": lambdas[best], "weights": final.coef_.tolist(), "intercept": float(final.intercept_),
            "xTest": X_test.tolist(), "predictions": final.predict(X_test).tolist()}


# Tall (n > d: the primal d × d Gram) and wide (d > n: the n × n kernel, as CLIP features on small splits).
cases = [case("tall", 46, 9, 7, 5, lambda i: f"prompt {i // 3 if i < 30 else i // 2}"),
         case("wide", 14, 23, 4, 3, lambda i: f"p{i // 2}")]
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "ridge.json"), "w") as f:
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)
