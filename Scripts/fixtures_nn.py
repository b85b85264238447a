#!/usr/bin/env python3
"""PyTorch reference fixtures for the transformer kernels, losses, MultiheadAttention and optimizers.

Writes Tests/TensorTests/Fixtures/nn_*.json. Each file is {"key": {"shape": [...], "data": [...]}}, float32
values written exactly (shortest decimal of the float32). Deterministic (torch.manual_seed), CPU, float32.

    python3 Scripts/fixtures_nn.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TensorTests", "Fixtures")


def enc(t):
    t = torch.as_tensor(t).detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def write(name, tensors):
    path = os.path.join(OUT, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({k: enc(v) for k, v in tensors.items()}, f, separators=(",", ":"))
    os.replace(tmp, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_(True)


def layer_norm():
    torch.manual_seed(1)
    x, g, b = leaf(2, 3, 8), leaf(8), leaf(8)
    y = F.layer_norm(x, (8,), g, b, eps=1e-5)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("nn_layernorm.json", {"x": x, "gamma": g, "beta": b, "dy": dy, "y": y, "dx": x.grad, "dgamma": g.grad, "dbeta": b.grad})


def softmax():
    torch.manual_seed(2)
    x = leaf(3, 7, scale=3.0)
    y = torch.softmax(x, dim=-1)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("nn_softmax.json", {"x": x, "dy": dy, "y": y, "dx": x.grad})


def attention():
    """F.scaled_dot_product_attention on heads split from D; cases: causal self, Lq < Lk, one query."""
    torch.manual_seed(3)
    out = {}
    for name, (b, lq, lk, d, h, causal) in {
        "causal": (2, 5, 5, 8, 2, True),
        "cross": (2, 3, 6, 12, 3, False),
        "pool": (2, 1, 7, 8, 4, False),
    }.items():
        q, k, v = leaf(b, lq, d), leaf(b, lk, d), leaf(b, lk, d)
        dh = d // h

        def heads(t, length):
            return t.view(b, length, h, dh).transpose(1, 2)

        o = F.scaled_dot_product_attention(heads(q, lq), heads(k, lk), heads(v, lk), is_causal=causal)
        y = o.transpose(1, 2).reshape(b, lq, d)
        scores = heads(q, lq) @ heads(k, lk).transpose(-1, -2) / math.sqrt(dh)
        if causal:
            scores = scores.masked_fill(torch.ones(lq, lk, dtype=torch.bool).triu(1), float("-inf"))
        probs = scores.softmax(-1)
        dy = torch.randn_like(y)
        y.backward(dy)
        for key, t in {"q": q, "k": k, "v": v, "dy": dy, "y": y, "probs": probs,
                       "dq": q.grad, "dk": k.grad, "dv": v.grad}.items():
            out[f"{name}.{key}"] = t
    write("nn_attention.json", out)


def multihead_attention():
    """nn.MultiheadAttention(8, 2, batch_first=True): causal self-attention and cross-attention."""
    torch.manual_seed(4)
    d, h = 8, 2
    mha = torch.nn.MultiheadAttention(d, h, batch_first=True)
    with torch.no_grad():
        mha.in_proj_bias.copy_(torch.randn(3 * d) * 0.1)
        mha.out_proj.bias.copy_(torch.randn(d) * 0.1)
    out = {k: v for k, v in mha.state_dict().items()}
    x = leaf(2, 4, d)
    mask = torch.full((4, 4), float("-inf")).triu(1)
    y, w = mha(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    dy = torch.randn_like(y)
    y.backward(dy)
    out.update({"self.x": x, "self.y": y, "self.weights": w, "self.dy": dy, "self.dx": x.grad,
                "self.d_in_proj_weight": mha.in_proj_weight.grad, "self.d_out_proj_weight": mha.out_proj.weight.grad})
    q, kv = torch.randn(2, 1, d), torch.randn(2, 5, d)
    k = kv + 0.5 * torch.randn(2, 5, d)
    y2, _ = mha(q, k, kv, need_weights=False)
    out.update({"cross.q": q, "cross.k": k, "cross.v": kv, "cross.y": y2})
    write("nn_mha.json", out)


def losses():
    torch.manual_seed(5)
    p, t = leaf(4, 3), leaf(4, 3)
    mse = F.mse_loss(p, t)
    mse.backward()
    a, b = leaf(4, 6), leaf(4, 6)
    cos = (1 - F.cosine_similarity(a, b, dim=-1)).mean()
    cos.backward()
    img, txt = leaf(5, 6), leaf(5, 6)
    scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    inorm = img / img.norm(dim=-1, keepdim=True)
    tnorm = txt / txt.norm(dim=-1, keepdim=True)
    logits = scale.exp() * inorm @ tnorm.t()
    labels = torch.arange(5)
    clip = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
    clip.backward()
    write("nn_losses.json", {
        "mse.pred": p, "mse.target": t, "mse.loss": mse, "mse.dpred": p.grad, "mse.dtarget": t.grad,
        "cos.a": a, "cos.b": b, "cos.loss": cos, "cos.da": a.grad, "cos.db": b.grad,
        "clip.image": img, "clip.text": txt, "clip.logit_scale": scale, "clip.loss": clip,
        "clip.dimage": img.grad, "clip.dtext": txt.grad, "clip.dlogit_scale": scale.grad,
    })


def optimizers():
    """AdamW (two groups: lr 1e-2 / wd 0.01 and lr 3e-3 / wd 0) and Adam (L2 wd 0.1), 5 steps with stored
    gradients; clip_grad_norm_ on two gradients."""
    torch.manual_seed(6)
    out = {}
    shapes = {"p0": (3, 4), "p1": (5,), "p2": (2, 2)}
    init = {k: torch.randn(*s) for k, s in shapes.items()}
    grads = [{k: torch.randn(*s) for k, s in shapes.items()} for _ in range(5)]
    for k, v in init.items():
        out[f"init.{k}"] = v
    for i, g in enumerate(grads):
        for k, v in g.items():
            out[f"grad{i}.{k}"] = v

    def run(make):
        ps = {k: torch.nn.Parameter(v.clone()) for k, v in init.items()}
        opt = make(ps)
        for g in grads:
            for k, p in ps.items():
                p.grad = g[k].clone()
            opt.step()
        return ps, opt

    ps, opt = run(lambda ps: torch.optim.AdamW([
        {"params": [ps["p0"], ps["p1"]], "lr": 1e-2, "weight_decay": 0.01},
        {"params": [ps["p2"]], "lr": 3e-3, "weight_decay": 0.0}]))
    for k, p in ps.items():
        out[f"adamw.{k}"] = p
        out[f"adamw.{k}.exp_avg"] = opt.state[p]["exp_avg"]
        out[f"adamw.{k}.exp_avg_sq"] = opt.state[p]["exp_avg_sq"]
    ps, _ = run(lambda ps: torch.optim.Adam(list(ps.values()), lr=1e-2, weight_decay=0.1))
    for k, p in ps.items():
        out[f"adam.{k}"] = p
    g0, g1 = torch.randn(3, 4) * 2, torch.randn(5) * 2
    a, b = torch.nn.Parameter(torch.zeros(3, 4)), torch.nn.Parameter(torch.zeros(5))
    a.grad, b.grad = g0.clone(), g1.clone()
    norm = torch.nn.utils.clip_grad_norm_([a, b], max_norm=1.5)
    out.update({"clip.g0": g0, "clip.g1": g1, "clip.norm": norm, "clip.c0": a.grad, "clip.c1": b.grad})
    write("nn_optim.json", out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    layer_norm()
    softmax()
    attention()
    multihead_attention()
    losses()
    optimizers()
