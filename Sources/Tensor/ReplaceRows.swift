import Foundation

/// `x` `[B, L, D]` with row `positions[b]` of each batch item replaced by `row` `[D]` (the same row for every
/// item): how IP-IQA puts its trainable [QA] embedding at the end-of-text position.
///
/// Backward: the replaced rows' gradients are summed into `row`; `x` receives the gradient with those rows zeroed.
public func replaceRows(_ x: Var, positions: [Int], with row: Var) -> Var {
    let b = x.shape[0], l = x.shape[1], d = x.shape[2]
    checkShape(x.value.rank == 3 && row.value.count == d && positions.count == b, "replaceRows", x.shape, row.shape)
    enginePrecondition(positions.allSatisfy { $0 >= 0 && $0 < l }, "replaceRows: position out of range 0..<\(l): \(positions)")
    let y = x.value.copy()
    for (i, p) in positions.enumerated() { (y.pointer + (i * l + p) * d).update(from: row.value.pointer, count: d) }
    return makeResult(y, [x, row]) { dy in
        if x.requiresGrad {
            let dx = dy.copy()
            for (i, p) in positions.enumerated() { (dx.pointer + (i * l + p) * d).update(repeating: 0, count: d) }
            x.accumulate(dx)
        }
        if row.requiresGrad {
            let dr = Tensor(zeros: row.shape)
            for (i, p) in positions.enumerated() {
                let src = dy.pointer + (i * l + p) * d
                for j in 0..<d { dr.pointer[j] += src[j] }
            }
            row.accumulate(dr)
        }
    }
}
