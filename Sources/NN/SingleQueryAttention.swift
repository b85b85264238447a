import Tensor

/// Multi-head attention of one query per item over `T` tokens, with the key and value projections folded into the
/// query and the pooled tokens instead of being applied to every token.
///
/// The attention pools of CLIP's ResNet (query: the mean token) and of IP-IQA's fusion pool (query: the [QA] text
/// feature) ask one question per image. The usual evaluation projects all `T` tokens to keys and values
/// (`2·T·C·D` multiply-adds) and then attends. With `Q_h` the query of head `h` (already projected, `dh = D / H`
/// values) and `W_k,h`, `W_v,h` the head's rows of the projection weights, the same result follows from
///
///     u_h  = W_k,hᵀ Q_h                                  (C values per head: the query seen in token space)
///     s_ht = (x_t · u_h + Q_h · b_k,h) / √dh,   p_h = softmax_t(s_h)
///     z_h  = Σ_t p_ht x_t                                (the head's attention-weighted token)
///     o_h  = W_v,h z_h + b_v,h                           (Σ_t p_ht = 1 carries the value bias through)
///
/// at `2·H·T·C + 2·C·D` multiply-adds: at 512 px (`T = 257`, `C = D = 2048`, `H = 32`) 42 M instead of 2.2 G per
/// image. The products run in fp32 whatever the trunk's precision plan. `Q_h · b_k,h` is the same for every token,
/// so softmax ignores it; it is added only where gradients are recorded, so that `b_k` receives its (numerically
/// zero) gradient as it does in PyTorch, where weight decay then still applies to it.
///
/// `tokens` `[B, T, C]`, `query` `[B, 1, D]` → output `[B, 1, D]` and the attention probabilities `[B, H, 1, T]`
/// (a constant), exactly like `attentionWithWeights(q: query, k: keys(tokens), v: values(tokens), heads: H)`.
///
/// ```swift
/// let q = pool.qProj(meanToken)                                        // [B, 1, 2048]
/// let (o, maps) = singleQueryAttention(tokens: x, query: q, keys: pool.kProj, values: pool.vProj, heads: 32)
/// ```
public func singleQueryAttention(tokens x: Var, query q: Var, keys kProj: Linear, values vProj: Linear,
                                 heads: Int) -> (output: Var, weights: Tensor) {
    let b = x.shape[0], t = x.shape[1], c = x.shape[2], d = kProj.outFeatures
    checkShape(x.value.rank == 3 && kProj.inFeatures == c && vProj.inFeatures == c && vProj.outFeatures == d,
               "singleQueryAttention (tokens vs projections)", x.shape, [d, c])
    checkShape(q.shape == [b, 1, d], "singleQueryAttention (query)", q.shape, [b, 1, d])
    checkShape(heads > 0 && d % heads == 0, "singleQueryAttention (D not divisible by heads=\(heads))", q.shape, [heads])
    let dh = d / heads
    let qh = permute(reshape(q, [b, heads, dh]), [1, 0, 2])                                    // [H, B, dh]
    let u = permute(matmul(qh, reshape(kProj.weight, [heads, dh, c])), [1, 0, 2])             // [B, H, C]
    let logits: Var
    if let bias = kProj.bias, GradMode.isEnabled, bias.requiresGrad {
        // [u | Q·b_k] · [x | 1]ᵀ: the per-head constant enters the graph so that b_k gets its gradient.
        let qb = permute(matmul(qh, reshape(bias, [heads, dh, 1])), [1, 0, 2])                 // [B, H, 1]
        let ones = Var(Tensor(shape: [b, t, 1], repeating: 1))
        logits = matmul(concat([u, qb], axis: 2), concat([x, ones], axis: 2), transposeB: true)
    } else {
        logits = matmul(u, x, transposeB: true)                                                // [B, H, T]
    }
    let p = softmax(scale(logits, 1 / Float(dh).squareRoot()))
    let z = permute(matmul(p, x), [1, 0, 2])                                                   // [H, B, C]
    let o = permute(matmul(z, reshape(vProj.weight, [heads, dh, c]), transposeB: true), [1, 0, 2])  // [B, H, dh]
    var out = reshape(o, [b, 1, d])
    if let bias = vProj.bias { out = addBroadcast(out, bias) }
    // The backward pass of `matmul(p, x)` reads the probabilities; hand out a private copy while it may run.
    let weights = p.value.reshaped([b, heads, 1, t])
    return (out, GradMode.isEnabled && p.requiresGrad ? weights.copy() : weights)
}
