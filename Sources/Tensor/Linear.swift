import Foundation

/// `y = x · wᵀ + b` over the last dimension: `x` `[..., in]`, `w` `[out, in]` (PyTorch's layout), `b` `[out]`.
///
/// Backward: `dx = dy · w`, `dw = dyᵀ · x`, `db = Σ dy` — each computed only if that input requires a gradient. The
/// three products run in the ``TrainingPrecision`` active at the forward pass (bf16: bf16 inputs, fp32 accumulation).
public func linear(_ x: Var, _ w: Var, bias: Var? = nil) -> Var {
    let inF = w.shape[1], outF = w.shape[0]
    checkShape(w.value.rank == 2 && x.shape.last == inF, "linear", x.shape, w.shape)
    if let bias { checkShape(bias.value.count == outF, "linear bias", bias.shape, w.shape) }
    let rows = x.value.count / inF
    let outShape = Array(x.shape.dropLast()) + [outF]
    let y = Tensor(uninitialized: outShape)
    let precision = TrainingPrecision.active
    if let bias {
        let bp = bias.value.pointer, yp = y.pointer
        for r in 0..<rows { (yp + r * outF).update(from: bp, count: outF) }
    }
    trainingGEMM(precision, transB: true, m: rows, n: outF, k: inF, a: x.value.pointer, b: w.value.pointer,
                 accumulate: bias != nil, c: y.pointer)
    let parents = bias.map { [x, w, $0] } ?? [x, w]
    return makeResult(y, parents) { dy in
        if x.requiresGrad {
            let dx = Tensor(uninitialized: x.shape)
            trainingGEMM(precision, m: rows, n: inF, k: outF, a: dy.pointer, b: w.value.pointer, c: dx.pointer)
            x.accumulate(dx)
        }
        if w.requiresGrad {
            let dw = Tensor(uninitialized: w.shape)
            trainingGEMM(precision, transA: true, m: outF, n: inF, k: rows, a: dy.pointer, b: x.value.pointer, c: dw.pointer)
            w.accumulate(dw)
        }
        if let bias, bias.requiresGrad {
            bias.accumulate(sumRows(dy, rows: rows, cols: outF))
        }
    }
}

/// Column sums of a `rows × cols` matrix (float accumulation per column, in parallel over columns).
public func sumRows(_ t: Tensor, rows: Int, cols: Int) -> Tensor {
    let out = Tensor(zeros: [cols])
    let p = t.pointer, o = out.pointer
    parallelChunks(cols, costPerItem: rows) { cr in
        for r in 0..<rows {
            let row = p + r * cols
            for c in cr { o[c] += row[c] }
        }
    }
    return out
}

/// Matrix product of the last two dimensions, batched over leading dimensions (which must agree):
/// `a` `[..., m, k]`, `b` `[..., k, n]` → `[..., m, n]`. Optional transposes of either operand.
public func matmul(_ a: Var, _ b: Var, transposeA: Bool = false, transposeB: Bool = false) -> Var {
    let ra = a.value.rank, rb = b.value.rank
    checkShape(ra >= 2 && rb >= 2 && Array(a.shape.dropLast(2)) == Array(b.shape.dropLast(2)), "matmul", a.shape, b.shape)
    let m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2]
    let k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1]
    let kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2]
    let n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1]
    checkShape(k == kb, "matmul", a.shape, b.shape)
    let batch = a.shape.dropLast(2).reduce(1, *)
    let y = Tensor(uninitialized: Array(a.shape.dropLast(2)) + [m, n])
    let sa = m * k, sb = k * n, sc = m * n
    for i in 0..<batch {
        sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
              a: a.value.pointer + i * sa, b: b.value.pointer + i * sb, c: y.pointer + i * sc)
    }
    return makeResult(y, [a, b]) { dy in
        if a.requiresGrad {
            let da = Tensor(uninitialized: a.shape)
            for i in 0..<batch {
                // d(op(A)) = dY · op(B)ᵀ; if A was transposed, dA = (dY · op(B)ᵀ)ᵀ = op(B) · dYᵀ.
                if transposeA {
                    sgemm(transA: transposeB, transB: true, m: k, n: m, k: n,
                          a: b.value.pointer + i * sb, b: dy.pointer + i * sc, c: da.pointer + i * sa)
                } else {
                    sgemm(transA: false, transB: !transposeB, m: m, n: k, k: n,
                          a: dy.pointer + i * sc, b: b.value.pointer + i * sb, c: da.pointer + i * sa)
                }
            }
            a.accumulate(da)
        }
        if b.requiresGrad {
            let db = Tensor(uninitialized: b.shape)
            for i in 0..<batch {
                // d(op(B)) = op(A)ᵀ · dY; if B was transposed, dB = dYᵀ · op(A).
                if transposeB {
                    sgemm(transA: true, transB: transposeA, m: n, n: k, k: m,
                          a: dy.pointer + i * sc, b: a.value.pointer + i * sa, c: db.pointer + i * sb)
                } else {
                    sgemm(transA: !transposeA, transB: false, m: k, n: n, k: m,
                          a: a.value.pointer + i * sa, b: dy.pointer + i * sc, c: db.pointer + i * sb)
                }
            }
            b.accumulate(db)
        }
    }
}
