import Foundation

/// Inverted dropout (PyTorch `F.dropout` semantics, not its random stream):
///
///     y = m ⊙ x / (1 − p),   m_i ~ Bernoulli(1 − p) drawn from `rng` in element order
///
/// Identity (the same node, no copy) when `!training` or `p ≤ 0`; all zeros when `p ≥ 1`. Backward:
/// `dx = m ⊙ dy / (1 − p)`. The mask depends only on `rng`'s state and the element count, so a fixed seed
/// gives a fixed mask.
///
/// ```swift
/// var rng = SeededGenerator(seed: 7)
/// let h = dropout(features, p: 0.1, training: true, rng: &rng)
/// ```
public func dropout(_ x: Var, p: Float, training: Bool, rng: inout SeededGenerator) -> Var {
    if !training || !(p > 0) { return x }
    let count = x.value.count
    let mask = Tensor(uninitialized: x.shape)
    let mp = mask.pointer
    if p >= 1 {
        mp.update(repeating: 0, count: count)
    } else {
        let keep = 1 / (1 - p)
        for i in 0..<count { mp[i] = rng.nextFloat() < p ? 0 : keep }
    }
    let y = Tensor(uninitialized: x.shape)
    let xp = x.value.pointer, yp = y.pointer
    parallelChunks(count) { r in for i in r { yp[i] = xp[i] * mp[i] } }
    return makeResult(y, [x]) { dy in
        let dx = Tensor(uninitialized: x.shape)
        let gp = dy.pointer, dp = dx.pointer, mp = mask.pointer
        parallelChunks(count) { r in for i in r { dp[i] = gp[i] * mp[i] } }
        x.accumulate(dx)
    }
}
