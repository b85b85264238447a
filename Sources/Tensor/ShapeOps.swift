import Foundation

/// Splits `shape` around `axis`: (product of dims before, dim, product of dims after).
@inline(__always)
private func around(_ shape: [Int], _ axis: Int) -> (outer: Int, dim: Int, inner: Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}

/// Resolves a possibly negative axis (−1 = last) against `rank`.
@inline(__always)
private func resolveAxis(_ axis: Int, rank: Int, _ op: String, _ shape: [Int]) -> Int {
    let a = axis < 0 ? axis + rank : axis
    checkShape(a >= 0 && a < rank, "\(op) (axis \(axis))", shape, [axis])
    return a
}

/// Concatenation along `axis` (negative counts from the end), like `torch.cat`. All inputs have the same
/// rank and agree on every other dimension. Backward hands each input its slice of the gradient.
///
/// ```swift
/// let tokens = concat([cls, patches], axis: 1)   // [B, 1, D] ++ [B, HW, D] → [B, HW+1, D]
/// ```
public func concat(_ xs: [Var], axis: Int) -> Var {
    enginePrecondition(!xs.isEmpty, "concat: no inputs")
    let first = xs[0].shape
    let a = resolveAxis(axis, rank: first.count, "concat", first)
    var total = 0
    for x in xs {
        var s = x.shape; s[a] = first[a]
        checkShape(s == first, "concat (axis \(a))", first, x.shape)
        total += x.shape[a]
    }
    var outShape = first; outShape[a] = total
    let (outer, _, inner) = around(outShape, a)
    let y = Tensor(uninitialized: outShape)
    let rowLen = total * inner
    var start = 0
    var starts: [Int] = []
    for x in xs {
        starts.append(start)
        let piece = x.shape[a] * inner, xp = x.value.pointer, yp = y.pointer, s0 = start
        parallelChunks(outer, costPerItem: piece) { r in
            for o in r { (yp + o * rowLen + s0).update(from: xp + o * piece, count: piece) }
        }
        start += piece
    }
    return makeResult(y, xs) { dy in
        for (x, s0) in zip(xs, starts) where x.requiresGrad {
            let piece = x.shape[a] * inner
            let g = Tensor(uninitialized: x.shape)
            let gp = g.pointer, dp = dy.pointer
            parallelChunks(outer, costPerItem: piece) { r in
                for o in r { (gp + o * piece).update(from: dp + o * rowLen + s0, count: piece) }
            }
            x.accumulate(g)
        }
    }
}

/// Elements `range` of dimension `axis` (a copy, like `x.narrow(axis, start, length)`). Backward places the
/// gradient in a zero tensor of `x`'s shape.
///
/// ```swift
/// let q = sliceAxis(qkv, axis: 2, range: 0..<512)   // [B, L, 1536] → [B, L, 512]
/// ```
public func sliceAxis(_ x: Var, axis: Int, range: Range<Int>) -> Var {
    let a = resolveAxis(axis, rank: x.value.rank, "sliceAxis", x.shape)
    checkShape(range.lowerBound >= 0 && range.upperBound <= x.shape[a], "sliceAxis (range \(range))", x.shape, [range.lowerBound, range.upperBound])
    let (outer, dim, inner) = around(x.shape, a)
    var outShape = x.shape; outShape[a] = range.count
    let piece = range.count * inner, rowLen = dim * inner, s0 = range.lowerBound * inner
    let y = Tensor(uninitialized: outShape)
    let xp = x.value.pointer, yp = y.pointer
    parallelChunks(outer, costPerItem: piece) { r in
        for o in r { (yp + o * piece).update(from: xp + o * rowLen + s0, count: piece) }
    }
    return makeResult(y, [x]) { dy in
        let g = Tensor(zeros: x.shape)
        let gp = g.pointer, dp = dy.pointer
        parallelChunks(outer, costPerItem: piece) { r in
            for o in r { (gp + o * rowLen + s0).update(from: dp + o * piece, count: piece) }
        }
        x.accumulate(g)
    }
}

/// Picks one row per batch element: `x` `[B, L, D]`, `y[b, :] = x[b, indices[b], :]` → `[B, D]` (CLIP's
/// text features at the end-of-text position). Backward scatters into a zero `[B, L, D]` gradient.
///
/// ```swift
/// let eot = gatherRows(hidden, indices: tokens.eotPositions)   // [B, 77, 512] → [B, 512]
/// ```
public func gatherRows(_ x: Var, indices: [Int]) -> Var {
    checkShape(x.value.rank == 3 && indices.count == x.shape[0], "gatherRows (\(indices.count) indices)", x.shape, [indices.count])
    let b = x.shape[0], l = x.shape[1], d = x.shape[2]
    for i in indices where i < 0 || i >= l { fatalError("gatherRows: index \(i) outside 0..<\(l)") }
    let y = Tensor(uninitialized: [b, d])
    let xp = x.value.pointer, yp = y.pointer
    for r in 0..<b { (yp + r * d).update(from: xp + (r * l + indices[r]) * d, count: d) }
    return makeResult(y, [x]) { dy in
        let g = Tensor(zeros: x.shape)
        for r in 0..<b { (g.pointer + (r * l + indices[r]) * d).update(from: dy.pointer + r * d, count: d) }
        x.accumulate(g)
    }
}

/// Axis permutation like `x.permute(dims)`: `y.shape[i] = x.shape[dims[i]]` (a contiguous copy). Backward
/// permutes the gradient by the inverse permutation.
///
/// ```swift
/// let nchw = permute(nhwc, [0, 3, 1, 2])
/// ```
public func permute(_ x: Var, _ dims: [Int]) -> Var {
    let y = x.value.permuted(dims)
    var inverse = [Int](repeating: 0, count: dims.count)
    for (i, d) in dims.enumerated() { inverse[d] = i }
    return makeResult(y, [x]) { dy in x.accumulate(dy.reshaped(y.shape).permuted(inverse)) }
}

/// The same elements with a new shape (one dimension may be −1). The output shares `x`'s storage.
///
/// ```swift
/// let flat = reshape(features, [batch, -1])
/// ```
public func reshape(_ x: Var, _ shape: [Int]) -> Var {
    let y = x.value.reshaped(shape)
    return makeResult(y, [x]) { dy in x.accumulate(dy.reshaped(x.shape)) }
}

extension Tensor {
    /// A contiguous copy with axes permuted like `torch.permute`: `result.shape[i] = shape[dims[i]]`.
    ///
    /// ```swift
    /// let w = torchWeight.permuted([0, 2, 3, 1])   // [Cout, Cin, kh, kw] → [Cout, kh, kw, Cin]
    /// ```
    public func permuted(_ dims: [Int]) -> Tensor {
        let r = rank
        checkShape(dims.count == r && Set(dims) == Set(0..<r), "permute (dims \(dims))", shape, dims)
        if r <= 1 || dims == Array(0..<r) { return copy() }
        var inStrides = [Int](repeating: 1, count: r)
        for i in stride(from: r - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let outShape = dims.map { shape[$0] }
        let src = dims.map { inStrides[$0] }
        let y = Tensor(uninitialized: outShape)
        let n = count
        if n == 0 { return y }
        let inner = outShape[r - 1], innerStride = src[r - 1], outer = n / inner
        let ip = pointer, op = y.pointer
        parallelChunks(outer, costPerItem: inner) { range in
            // Odometer over the outer output dimensions, tracking the matching input offset.
            var idx = [Int](repeating: 0, count: r - 1)
            var rem = range.lowerBound, base = 0
            for a in stride(from: r - 2, through: 0, by: -1) {
                idx[a] = rem % outShape[a]; rem /= outShape[a]
                base += idx[a] * src[a]
            }
            for o in range {
                let dst = op + o * inner
                for j in 0..<inner { dst[j] = ip[base + j * innerStride] }
                var a = r - 2
                while a >= 0 {
                    idx[a] += 1; base += src[a]
                    if idx[a] < outShape[a] { break }
                    base -= src[a] * outShape[a]; idx[a] = 0
                    a -= 1
                }
            }
        }
        return y
    }
}
