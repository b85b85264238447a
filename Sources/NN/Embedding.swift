import Foundation
import Tensor

/// An id outside an embedding table.
public struct EmbeddingError: LocalizedError, Equatable, Sendable {
    public var id: Int32
    public var position: Int
    public var tableRows: Int
    public var errorDescription: String? {
        "embedding: id \(id) at position \(position) is outside the table's \(tableRows) rows"
    }
}

/// Lookup table (PyTorch `nn.Embedding(count, dim)`): `weight` `[count, dim]`, initialised N(0, 1) from `rng`.
///
/// ```swift
/// let tok = Embedding(49408, 512, rng: &rng)
/// let x = try tok(ids, shape: [batch, 77])     // → [batch, 77, 512]
/// ```
public final class Embedding: Module {
    public var isTraining = true
    public let weight: Var

    public init(_ count: Int, _ dim: Int, rng: inout SeededGenerator) {
        weight = Var(Tensor.randn([count, dim], using: &rng), requiresGrad: true)
    }

    public var localParameters: [(String, Var)] { [("weight", weight)] }

    /// Rows for `ids` laid out as `shape` (`ids.count` must equal the product of `shape`).
    public func callAsFunction(_ ids: [Int32], shape: [Int]) throws -> Var {
        let rows = weight.shape[0]
        if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= rows }) {
            throw EmbeddingError(id: ids[bad], position: bad, tableRows: rows)
        }
        guard ids.count == shape.reduce(1, *) else {
            throw TensorError.shapeMismatch(operation: "Embedding (\(ids.count) ids)", lhs: shape, rhs: weight.shape)
        }
        return embedding(ids, shape: shape, table: weight)
    }
}
