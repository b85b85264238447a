import Foundation

/// Table lookup (PyTorch `F.embedding`): `y[i..., :] = table[ids[i...], :]`.
///
/// `ids` holds `shape.reduce(1, *)` row indices into `table` `[V, D]` (row-major over `shape`); the result is
/// `[shape..., D]`. Backward scatter-adds the output gradient into the rows of a dense `[V, D]` gradient
/// (rows used twice get both contributions). Ids must lie in `0..<V`: callers that take ids from users check
/// them first (the `Embedding` layer throws).
///
/// ```swift
/// let x = embedding(tokens, shape: [batch, 77], table: tokenEmbedding)   // → [batch, 77, 512]
/// ```
public func embedding(_ ids: [Int32], shape: [Int], table: Var) -> Var {
    checkShape(table.value.rank == 2, "embedding (table must be [V, D])", shape, table.shape)
    checkShape(ids.count == shape.reduce(1, *), "embedding (\(ids.count) ids)", shape, table.shape)
    let vocab = table.shape[0], d = table.shape[1]
    for id in ids where id < 0 || Int(id) >= vocab {
        fatalError("embedding: id \(id) outside the table's \(vocab) rows")
    }
    let n = ids.count
    let y = Tensor(uninitialized: shape + [d])
    let tp = table.value.pointer, yp = y.pointer
    ids.withUnsafeBufferPointer { idp in
        parallelChunks(n, costPerItem: d) { range in
            for i in range { (yp + i * d).update(from: tp + Int(idp[i]) * d, count: d) }
        }
    }
    return makeResult(y, [table]) { dy in
        let g = Tensor(zeros: table.shape)
        let gp = g.pointer, dyp = dy.pointer
        ids.withUnsafeBufferPointer { idp in
            // Parallel over column blocks so that repeated ids never race.
            parallelChunks(d, costPerItem: n) { cols in
                for i in 0..<n {
                    let dst = gp + Int(idp[i]) * d, src = dyp + i * d
                    for c in cols { dst[c] += src[c] }
                }
            }
        }
        table.accumulate(g)
    }
}
