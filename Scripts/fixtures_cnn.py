#!/usr/bin/env python3
"""Reference fixtures for the CNN kernels of the Tensor target (conv2d, batch norm, pooling, bicubic interpolation).

Run from the repository root:  python3 Scripts/fixtures_cnn.py
Writes Tests/TensorTests/Fixtures/cnn_{conv2d,batchnorm,interpolate,pool}.json.

Inputs are drawn in float32 (stored exactly), the reference is computed by PyTorch (CPU) in float64, and every
tensor is stored channels-last as a flat row-major list: activations [N, H, W, C], conv weights [Cout, kh, kw, Cin]
(PyTorch's [Cout, Cin, kh, kw] permuted). Gradients are those of L = sum(g * y) for the stored upstream gradient g.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TensorTests", "Fixtures")
gen = torch.Generator().manual_seed(20240611)


def randn(*shape, scale=1.0, shift=0.0):
    """float32 draw, returned as float64 (exactly representable in float32; stored with 9 significant digits,
    which round-trip float32 exactly)."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale + shift).double()


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


def nchw(t):
    return t.permute(0, 3, 1, 2)


def flat_in(t):
    return [float("%.9g" % v) for v in t.detach().float().reshape(-1).tolist()]


def flat_out(t):
    return [float("%.10g" % v) for v in t.detach().double().reshape(-1).tolist()]


def conv_cases():
    configs = [
        # name, x shape NHWC, cout, k (or (kh, kw)), stride, padding, bias
        ("3x3_s1_p1_bias", (2, 6, 5, 3), 4, 3, 1, 1, True),
        ("3x3_s2_p1", (1, 7, 6, 4), 5, 3, 2, 1, False),
        ("1x1_s1_p0_bias", (2, 4, 3, 6), 5, 1, 1, 0, True),
        ("7x7_s2_p3", (1, 9, 8, 3), 4, 7, 2, 3, False),
        ("1x1_s2_p0", (1, 6, 5, 4), 3, 1, 2, 0, False),
        ("3x3_s1_p0_bias", (1, 5, 7, 2), 3, 3, 1, 0, True),
        ("3x3_s3_p2", (2, 5, 4, 2), 3, 3, 3, 2, False),
        ("3x2_s1_p1_bias", (1, 4, 5, 3), 2, (3, 2), 1, 1, True),
    ]
    cases = []
    for name, xs, cout, k, s, p, has_bias in configs:
        x = randn(*xs).requires_grad_(True)
        kh, kw = k if isinstance(k, tuple) else (k, k)
        w = randn(cout, kh, kw, xs[3], scale=0.5).requires_grad_(True)
        b = randn(cout).requires_grad_(True) if has_bias else None
        y = F.conv2d(nchw(x), nchw(w), b, stride=s, padding=p)
        y = nhwc(y)
        g = randn(*y.shape)
        (y * g).sum().backward()
        case = {
            "name": name, "stride": s, "padding": p,
            "xShape": list(xs), "x": flat_in(x), "wShape": list(w.shape), "w": flat_in(w),
            "yShape": list(y.shape), "y": flat_out(y), "g": flat_in(g),
            "dx": flat_out(x.grad), "dw": flat_out(w.grad),
        }
        if has_bias:
            case["b"] = flat_in(b)
            case["db"] = flat_out(b.grad)
        cases.append(case)
    return cases


def batchnorm_cases():
    cases = []
    for name, training, relu in [("train", True, False), ("eval", False, False),
                                 ("train_relu", True, True), ("eval_relu", False, True)]:
        xs = (2, 4, 3, 5)
        x = randn(*xs, scale=2.0, shift=3.0).requires_grad_(True)
        gamma = randn(xs[3], scale=0.5, shift=1.0).requires_grad_(True)
        beta = randn(xs[3], scale=0.5).requires_grad_(True)
        rm = randn(xs[3], scale=0.5, shift=2.5)
        rv = (randn(xs[3], scale=0.3, shift=1.0).abs() + 0.5).float().double()
        rm1, rv1 = rm.clone(), rv.clone()
        y = F.batch_norm(nchw(x), rm1, rv1, gamma, beta, training=training, momentum=0.1, eps=1e-5)
        if relu:
            y = F.relu(y)
        y = nhwc(y)
        g = randn(*y.shape)
        (y * g).sum().backward()
        cases.append({
            "name": name, "training": training, "relu": relu, "momentum": 0.1, "eps": 1e-5,
            "xShape": list(xs), "x": flat_in(x), "gamma": flat_in(gamma), "beta": flat_in(beta),
            "runningMean": flat_in(rm), "runningVar": flat_in(rv), "g": flat_in(g),
            "y": flat_out(y), "dx": flat_out(x.grad), "dgamma": flat_out(gamma.grad), "dbeta": flat_out(beta.grad),
            "newRunningMean": flat_out(rm1), "newRunningVar": flat_out(rv1),
        })
    return cases


def interpolate_cases():
    cases = []
    for name, xs, size in [("7x7_to_16x16", (1, 7, 7, 3), (16, 16)), ("7x7_to_9x9", (2, 7, 7, 2), (9, 9)),
                           ("5x5_to_3x3", (2, 5, 5, 3), (3, 3)), ("6x4_to_3x10", (1, 6, 4, 2), (3, 10))]:
        x = randn(*xs).requires_grad_(True)
        y = nhwc(F.interpolate(nchw(x), size=size, mode="bicubic", align_corners=False))
        g = randn(*y.shape)
        (y * g).sum().backward()
        cases.append({"name": name, "xShape": list(xs), "x": flat_in(x), "height": size[0], "width": size[1],
                      "yShape": list(y.shape), "y": flat_out(y), "g": flat_in(g), "dx": flat_out(x.grad)})
    return cases


def pool_cases():
    cases = []
    for name, xs, k in [("avg2_odd", (2, 7, 9, 3), 2), ("avg3", (1, 6, 7, 4), 3), ("global", (2, 3, 5, 4), 0)]:
        x = randn(*xs).requires_grad_(True)
        if k > 0:
            y = nhwc(F.avg_pool2d(nchw(x), k))
        else:
            y = x.mean(dim=(1, 2))
        g = randn(*y.shape)
        (y * g).sum().backward()
        cases.append({"name": name, "kernel": k, "xShape": list(xs), "x": flat_in(x),
                      "yShape": list(y.shape), "y": flat_out(y), "g": flat_in(g), "dx": flat_out(x.grad)})
    return cases


def write(name, cases):
    path = os.path.join(OUT, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"generator": "Scripts/fixtures_cnn.py", "torch": torch.__version__, "cases": cases}, f,
                  separators=(",", ":"))
    os.replace(tmp, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    write("cnn_conv2d.json", conv_cases())
    write("cnn_batchnorm.json", batchnorm_cases())
    write("cnn_interpolate.json", interpolate_cases())
    write("cnn_pool.json", pool_cases())
