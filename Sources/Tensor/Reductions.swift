import Foundation

/// Sum of all elements of `t` in double precision, over fixed-size blocks (deterministic for any thread count).
func sumAll(_ p: UnsafePointer<Float>, count n: Int) -> Double {
    let block = 16_384
    let blocks = (n + block - 1) / block
    if blocks <= 1 {
        var s = 0.0
        for i in 0..<n { s += Double(p[i]) }
        return s
    }
    var partial = [Double](repeating: 0, count: blocks)
    partial.withUnsafeMutableBufferPointer { part in
        let pp = part.baseAddress!
        parallelFor(blocks, costPerItem: block) { c in
            var s = 0.0
            for i in (c * block)..<min(n, (c + 1) * block) { s += Double(p[i]) }
            pp[c] = s
        }
    }
    return partial.reduce(0, +)
}

/// Sum of every element → a scalar (shape `[]`). Backward broadcasts `dy` to every element.
///
/// ```swift
/// let total = sum(x)
/// ```
public func sum(_ x: Var) -> Var {
    let y = Tensor(scalar: Float(sumAll(x.value.pointer, count: x.value.count)))
    return makeResult(y, [x]) { dy in x.accumulate(Tensor(shape: x.shape, repeating: dy.pointer[0])) }
}

/// Mean of every element → a scalar (shape `[]`). Backward: `dy / n` everywhere.
///
/// ```swift
/// let loss = mean(mul(err, err))
/// ```
public func mean(_ x: Var) -> Var {
    let n = x.value.count
    let y = Tensor(scalar: Float(sumAll(x.value.pointer, count: n) / Double(max(n, 1))))
    return makeResult(y, [x]) { dy in x.accumulate(Tensor(shape: x.shape, repeating: dy.pointer[0] / Float(max(n, 1)))) }
}

/// Mean over one axis (removed from the shape, like `x.mean(dim: axis)`); negative axes count from the end.
/// Backward spreads `dy / n` along the reduced axis.
///
/// ```swift
/// let pooled = meanAxis(tokens, axis: 1)   // [B, L, D] → [B, D]
/// ```
public func meanAxis(_ x: Var, axis: Int) -> Var {
    let a = axis < 0 ? axis + x.value.rank : axis
    checkShape(a >= 0 && a < x.value.rank, "meanAxis (axis \(axis))", x.shape, [axis])
    let outer = x.shape[..<a].reduce(1, *), n = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
    var outShape = x.shape; outShape.remove(at: a)
    let y = Tensor(zeros: outShape)
    let xp = x.value.pointer, yp = y.pointer
    let invN = 1 / Float(max(n, 1))
    parallelChunks(outer, costPerItem: n * inner) { r in
        for o in r {
            let dst = yp + o * inner
            for j in 0..<n {
                let src = xp + (o * n + j) * inner
                for i in 0..<inner { dst[i] += src[i] }
            }
            for i in 0..<inner { dst[i] *= invN }
        }
    }
    return makeResult(y, [x]) { dy in
        let g = Tensor(uninitialized: x.shape)
        let gp = g.pointer, dp = dy.pointer
        parallelChunks(outer, costPerItem: n * inner) { r in
            for o in r {
                for j in 0..<n {
                    let dst = gp + (o * n + j) * inner, src = dp + o * inner
                    for i in 0..<inner { dst[i] = src[i] * invN }
                }
            }
        }
        x.accumulate(g)
    }
}

/// Element-wise `a − b` (same element count).
///
/// ```swift
/// let err = sub(pred, target)
/// ```
public func sub(_ a: Var, _ b: Var) -> Var {
    checkShape(a.value.count == b.value.count, "sub", a.shape, b.shape)
    let y = Tensor(uninitialized: a.shape)
    let ap = a.value.pointer, bp = b.value.pointer, yp = y.pointer
    parallelChunks(y.count) { r in for i in r { yp[i] = ap[i] - bp[i] } }
    return makeResult(y, [a, b]) { dy in
        if a.requiresGrad { a.accumulate(dy) }
        if b.requiresGrad {
            let g = Tensor(uninitialized: b.shape)
            let gp = g.pointer, dp = dy.pointer
            parallelChunks(g.count) { r in for i in r { gp[i] = -dp[i] } }
            b.accumulate(g)
        }
    }
}

/// Rows of the last dimension scaled to unit L2 norm, like `F.normalize(x, dim: -1, eps)`:
///
///     y = x / max(‖x‖₂, eps)
///
/// Backward with n = max(‖x‖, eps): `dx = (dy − y (y·dy)) / n` when ‖x‖ > eps, else `dy / eps`.
///
/// ```swift
/// let unit = l2Normalize(imageFeatures)   // CLIP: x / x.norm(dim=-1, keepdim=True)
/// ```
public func l2Normalize(_ x: Var, eps: Float = 1e-12) -> Var {
    let d = x.shape.last ?? 1
    let rows = d == 0 ? 0 : x.value.count / d
    let y = Tensor(uninitialized: x.shape)
    let norms = Tensor(uninitialized: [rows])
    let xp = x.value.pointer, yp = y.pointer, np = norms.pointer
    parallelChunks(rows, costPerItem: 3 * d) { r in
        for row in r {
            let src = xp + row * d, dst = yp + row * d
            var s: Float = 0
            for j in 0..<d { s += src[j] * src[j] }
            let norm = s.squareRoot()
            np[row] = norm
            let inv = 1 / max(norm, eps)
            for j in 0..<d { dst[j] = src[j] * inv }
        }
    }
    return makeResult(y, [x]) { dy in
        let g = Tensor(uninitialized: x.shape)
        let gp = g.pointer, dp = dy.pointer, yp = y.pointer, np = norms.pointer
        parallelChunks(rows, costPerItem: 4 * d) { r in
            for row in r {
                let yr = yp + row * d, dyr = dp + row * d, out = gp + row * d
                let norm = np[row]
                if norm > eps {
                    var dot: Float = 0
                    for j in 0..<d { dot += yr[j] * dyr[j] }
                    let inv = 1 / norm
                    for j in 0..<d { out[j] = (dyr[j] - yr[j] * dot) * inv }
                } else {
                    let inv = 1 / eps
                    for j in 0..<d { out[j] = dyr[j] * inv }
                }
            }
        }
        x.accumulate(g)
    }
}
