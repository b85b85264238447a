import Foundation

/// Multi-head scaled-dot-product attention on already-projected inputs (the core of PyTorch's
/// `F.multi_head_attention_forward` / `F.scaled_dot_product_attention` after the head split):
///
///     for each batch b and head h (columns h·dh ..< (h+1)·dh of D, dh = D / heads):
///     P = softmax(Q_bh K_bhᵀ / √dh [+ causal mask]),   O_bh = P V_bh
///
/// `q` `[B, Lq, D]`, `k` and `v` `[B, Lk, D]` → `[B, Lq, D]`. `Lq ≠ Lk` is allowed (attention pooling uses
/// one query over `HW + 1` keys); `causal` (key j > query i excluded, as `attn_mask = triu(-inf, 1)`)
/// requires `Lq == Lk`. Heads are addressed through GEMM leading dimensions, so no permuted copies are made.
/// The probabilities are kept for backward:
///
///     dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)) / √dh,  dQ = dS K,  dK = dSᵀ Q
///
/// ```swift
/// let o = attention(q: q, k: k, v: v, heads: 8, causal: true)   // q, k, v [B, 77, 512]
/// ```
public func attention(q: Var, k: Var, v: Var, heads: Int, causal: Bool = false) -> Var {
    attentionCore(q: q, k: k, v: v, heads: heads, causal: causal).output
}

/// ``attention(q:k:v:heads:causal:)`` that also returns the attention probabilities `[B, heads, Lq, Lk]`
/// (a constant: no gradient flows through it), e.g. for attention maps.
///
/// ```swift
/// let (o, maps) = attentionWithWeights(q: q, k: k, v: v, heads: 32)   // maps [B, 32, 1, HW+1]
/// ```
public func attentionWithWeights(q: Var, k: Var, v: Var, heads: Int, causal: Bool = false) -> (Var, Tensor) {
    let (out, probs) = attentionCore(q: q, k: k, v: v, heads: heads, causal: causal)
    // The backward pass reads `probs`; hand out a private copy whenever it is still needed there.
    return (out, out.backwardFn == nil ? probs : probs.copy())
}

/// Shared forward + backward of the two public entry points.
private func attentionCore(q: Var, k: Var, v: Var, heads: Int, causal: Bool) -> (output: Var, probs: Tensor) {
    checkShape(q.value.rank == 3 && k.value.rank == 3 && v.value.rank == 3, "attention (rank 3 q/k)", q.shape, k.shape)
    checkShape(k.shape == v.shape, "attention (k vs v)", k.shape, v.shape)
    let b = q.shape[0], lq = q.shape[1], d = q.shape[2], lk = k.shape[1]
    checkShape(k.shape[0] == b && k.shape[2] == d, "attention (q vs k)", q.shape, k.shape)
    checkShape(heads > 0 && d % heads == 0, "attention (D not divisible by heads=\(heads))", q.shape, [heads])
    checkShape(!causal || lq == lk, "attention (causal needs Lq == Lk)", q.shape, k.shape)
    let dh = d / heads, units = b * heads
    let scale = 1 / Float(dh).squareRoot()
    let probs = Tensor(uninitialized: [b, heads, lq, lk])
    let out = Tensor(uninitialized: q.shape)
    let qp = q.value.pointer, kp = k.value.pointer, vp = v.value.pointer, pp = probs.pointer, op = out.pointer

    // Element offsets of unit (batch, head) into q/out ([B, Lq, D]), k/v ([B, Lk, D]) and probs.
    @inline(__always) func qOff(_ u: Int) -> Int { (u / heads) * lq * d + (u % heads) * dh }
    @inline(__always) func kOff(_ u: Int) -> Int { (u / heads) * lk * d + (u % heads) * dh }

    // One (batch, head) unit per task: scores GEMM, mask + softmax, weighted sum — GEMMs single-threaded inside.
    parallelChunks(units, costPerItem: 4 * lq * lk * dh) { ur in
        for u in ur {
            let pu = pp + u * lq * lk
            sgemm(transB: true, m: lq, n: lk, k: dh, alpha: scale, a: qp + qOff(u), lda: d, b: kp + kOff(u), ldb: d, c: pu)
            for i in 0..<lq {
                let row = pu + i * lk
                if causal && i + 1 < lk { (row + i + 1).update(repeating: -.infinity, count: lk - i - 1) }
                softmaxRow(row, count: lk)
            }
            sgemm(m: lq, n: dh, k: lk, a: pu, b: vp + kOff(u), ldb: d, c: op + qOff(u), ldc: d)
        }
    }

    let result = makeResult(out, [q, k, v]) { dy in
        // Pointers re-derived from captured tensors, which keeps `probs` alive for as long as the closure.
        let gp = dy.pointer, pp = probs.pointer
        let qp = q.value.pointer, kp = k.value.pointer, vp = v.value.pointer
        let needScores = q.requiresGrad || k.requiresGrad
        let dq = q.requiresGrad ? Tensor(uninitialized: q.shape) : nil
        let dk = k.requiresGrad ? Tensor(uninitialized: k.shape) : nil
        let dv = v.requiresGrad ? Tensor(uninitialized: v.shape) : nil
        let scratch = needScores ? Tensor(uninitialized: [units, lq, lk]) : nil
        let dqp = dq?.pointer, dkp = dk?.pointer, dvp = dv?.pointer, scr = scratch?.pointer
        parallelChunks(units, costPerItem: 8 * lq * lk * dh) { ur in
            for u in ur {
                let pu = pp + u * lq * lk
                if let dvp {
                    sgemm(transA: true, m: lk, n: dh, k: lq, a: pu, lda: lk, b: gp + qOff(u), ldb: d, c: dvp + kOff(u), ldc: d)
                }
                if let scr {
                    let ds = scr + u * lq * lk
                    sgemm(transB: true, m: lq, n: lk, k: dh, a: gp + qOff(u), lda: d, b: vp + kOff(u), ldb: d, c: ds)
                    for i in 0..<lq { softmaxBackwardRow(y: pu + i * lk, dy: ds + i * lk, out: ds + i * lk, count: lk, scale: scale) }
                    if let dqp { sgemm(m: lq, n: dh, k: lk, a: ds, b: kp + kOff(u), ldb: d, c: dqp + qOff(u), ldc: d) }
                    if let dkp {
                        sgemm(transA: true, m: lk, n: dh, k: lq, a: ds, lda: lk, b: qp + qOff(u), ldb: d, c: dkp + kOff(u), ldc: d)
                    }
                }
            }
        }
        withExtendedLifetime(scratch) {}
        if let dq { q.accumulate(dq) }
        if let dk { k.accumulate(dk) }
        if let dv { v.accumulate(dv) }
    }
    return (result, probs)
}
