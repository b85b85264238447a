"""Fixture of NativeGridPooling: torch.nn.functional.adaptive_avg_pool2d on channels-last maps.

Writes Tests/IQAModelTests/Fixtures/adaptive_avg_pool.json: for each (n, m) case, input x [2, n, n, 3] (NHWC) and the
output y [2, m, m, 3]. Run: python3 Scripts/fixtures_pooling.py
"""
import json
import pathlib
import torch

torch.manual_seed(0)
out = {}
for n, m in [(16, 7), (4, 2), (3, 7), (5, 5), (9, 4)]:
    x = torch.randn(2, n, n, 3, dtype=torch.float32)
    y = torch.nn.functional.adaptive_avg_pool2d(x.permute(0, 3, 1, 2), m).permute(0, 2, 3, 1).contiguous()
    out[f"x_{n}_{m}"] = {"shape": list(x.shape), "data": x.flatten().tolist()}
    out[f"y_{n}_{m}"] = {"shape": list(y.shape), "data": y.flatten().tolist()}
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/IQAModelTests/Fixtures/adaptive_avg_pool.json"
path.write_text(json.dumps(out))
print("wrote", path)
