import Foundation

/// Layer normalisation over the last dimension (PyTorch `F.layer_norm(x, (D,), gamma, beta, eps)`):
///
///     μ = mean(x), σ² = mean((x − μ)²)  (biased),  x̂ = (x − μ)/√(σ² + eps),  y = γ ⊙ x̂ + β
///
/// `x` `[..., D]`, `gamma` and `beta` `[D]`. Backward (rows independent, r = 1/√(σ² + eps)):
///
///     dx̂ = dy ⊙ γ,  dx = r · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)),  dγ = Σ_rows dy ⊙ x̂,  dβ = Σ_rows dy
///
/// ```swift
/// let y = layerNorm(x, gamma: ln.weight, beta: ln.bias)   // x [B, L, 512]
/// ```
public func layerNorm(_ x: Var, gamma: Var, beta: Var, eps: Float = 1e-5) -> Var {
    let d = x.shape.last ?? 0
    checkShape(d > 0 && gamma.value.count == d, "layerNorm gamma", x.shape, gamma.shape)
    checkShape(beta.value.count == d, "layerNorm beta", x.shape, beta.shape)
    let rows = x.value.count / d
    let y = Tensor(uninitialized: x.shape)
    let xhat = Tensor(uninitialized: x.shape)
    let rstd = Tensor(uninitialized: [rows])
    let xp = x.value.pointer, yp = y.pointer, hp = xhat.pointer, rp = rstd.pointer
    let gp = gamma.value.pointer, bp = beta.value.pointer
    let invD = 1 / Float(d)
    parallelChunks(rows, costPerItem: 4 * d) { range in
        for r in range {
            let row = xp + r * d, out = yp + r * d, hat = hp + r * d
            var s: Float = 0
            for j in 0..<d { s += row[j] }
            let mu = s * invD
            var v: Float = 0
            for j in 0..<d { let c = row[j] - mu; v += c * c }
            let inv = 1 / (v * invD + eps).squareRoot()
            rp[r] = inv
            for j in 0..<d {
                let h = (row[j] - mu) * inv
                hat[j] = h
                out[j] = h * gp[j] + bp[j]
            }
        }
    }
    return makeResult(y, [x, gamma, beta]) { dy in
        // Re-derive pointers from captured tensors so that the closure keeps their storage alive.
        let dyp = dy.pointer, hp = xhat.pointer, rp = rstd.pointer, gp = gamma.value.pointer
        if x.requiresGrad {
            let dx = Tensor(uninitialized: x.shape)
            let dxp = dx.pointer
            parallelChunks(rows, costPerItem: 4 * d) { range in
                for r in range {
                    let g = dyp + r * d, hat = hp + r * d, out = dxp + r * d
                    var s1: Float = 0, s2: Float = 0
                    for j in 0..<d {
                        let dh = g[j] * gp[j]
                        s1 += dh
                        s2 += dh * hat[j]
                    }
                    let m1 = s1 * invD, m2 = s2 * invD, inv = rp[r]
                    for j in 0..<d { out[j] = inv * (g[j] * gp[j] - m1 - hat[j] * m2) }
                }
            }
            x.accumulate(dx)
        }
        if gamma.requiresGrad {
            let dg = Tensor(zeros: [d])
            let o = dg.pointer
            parallelChunks(d, costPerItem: rows) { cr in
                for r in 0..<rows {
                    let g = dyp + r * d, hat = hp + r * d
                    for j in cr { o[j] += g[j] * hat[j] }
                }
            }
            gamma.accumulate(dg.reshaped(gamma.shape))
        }
        if beta.requiresGrad {
            beta.accumulate(sumRows(dy, rows: rows, cols: d).reshaped(beta.shape))
        }
    }
}
