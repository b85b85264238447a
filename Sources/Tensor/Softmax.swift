import CKernels
import Foundation

/// Softmax over the last dimension, max-subtracted for stability:
///
///     yᵢ = exp(xᵢ − max x) / Σⱼ exp(xⱼ − max x)
///
/// Backward: `dx = y ⊙ (dy − Σ dy ⊙ y)` per row. Entries equal to `-.infinity` get probability 0 (a row that is
/// entirely `-.infinity` yields zeros rather than NaNs).
///
/// ```swift
/// let p = softmax(logits)      // logits [N, C] → rows sum to 1
/// ```
public func softmax(_ x: Var) -> Var {
    let d = x.shape.last ?? 1
    let rows = d == 0 ? 0 : x.value.count / d
    let y = Tensor(uninitialized: x.shape)
    y.pointer.update(from: x.value.pointer, count: x.value.count)
    softmaxRowsInPlace(y.pointer, rows: rows, cols: d)
    return makeResult(y, [x]) { dy in
        x.accumulate(softmaxBackward(y: y.pointer, dy: dy.pointer, rows: rows, cols: d, scale: 1).reshaped(x.shape))
    }
}

/// Row-wise, max-subtracted softmax of a `rows × cols` matrix, in place.
@inline(__always)
func softmaxRowsInPlace(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    parallelChunks(rows, costPerItem: 8 * cols) { range in
        for r in range { softmaxRow(p + r * cols, count: cols) }
    }
}

/// Softmax of one contiguous row in place.
@inline(__always)
func softmaxRow(_ row: UnsafeMutablePointer<Float>, count n: Int) {
    var m = -Float.infinity
    for j in 0..<n { m = max(m, row[j]) }
    if m == -.infinity {
        row.update(repeating: 0, count: n)
        return
    }
    for j in 0..<n { row[j] -= m }
    ipiqa_exp(row, n, row)   // vectorised, within 1 ulp of expf
    var s: Float = 0
    for j in 0..<n { s += row[j] }
    let inv = 1 / s
    for j in 0..<n { row[j] *= inv }
}

/// `scale · y ⊙ (dy − Σ dy ⊙ y)` for row-wise softmax outputs `y` (`rows × cols`, contiguous).
func softmaxBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int, cols: Int, scale: Float) -> Tensor {
    let dx = Tensor(uninitialized: [rows * cols])
    let o = dx.pointer
    parallelChunks(rows, costPerItem: 4 * cols) { range in
        for r in range { softmaxBackwardRow(y: y + r * cols, dy: dy + r * cols, out: o + r * cols, count: cols, scale: scale) }
    }
    return dx
}

/// One row of ``softmaxBackward(y:dy:rows:cols:scale:)``; `out` may alias `dy`.
@inline(__always)
func softmaxBackwardRow(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                        count n: Int, scale: Float) {
    var dot: Float = 0
    for j in 0..<n { dot += dy[j] * y[j] }
    for j in 0..<n { out[j] = scale * y[j] * (dy[j] - dot) }
}
