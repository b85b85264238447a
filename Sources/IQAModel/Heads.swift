import NN
import Tensor

/// The official IP-IQA `MLPHead`: `out_proj(dropout(tanh(dense(dropout(x)))))`, `dense` `D → D`, `out_proj` `D → k`.
///
/// ```swift
/// let head = MLPHead(inputs: 2048, outputs: 2, dropout: 0.5, rng: &rng)
/// let scores = head(features)      // [N, 2048] → [N, 2]
/// ```
public final class MLPHead: Module {
    public var isTraining = true
    public let dense: Linear, outProj: Linear
    public let dropout: Dropout

    public init(inputs: Int, outputs: Int, dropout p: Float, rng: inout SeededGenerator) {
        dense = Linear(inputs, inputs, rng: &rng)
        outProj = Linear(inputs, outputs, rng: &rng)
        dropout = Dropout(p, seed: rng.next())
    }

    public var children: [(String, any Module)] { [("dense", dense), ("out_proj", outProj), ("dropout", dropout)] }

    public func callAsFunction(_ x: Var) -> Var { outProj(dropout(tanh(dense(dropout(x))))) }
}

/// A single linear layer `D → k` (the paper's linear-head ablation).
public final class LinearHead: Module {
    public var isTraining = true
    public let linear: Linear

    public init(inputs: Int, outputs: Int, rng: inout SeededGenerator) { linear = Linear(inputs, outputs, rng: &rng) }

    public var children: [(String, any Module)] { [("linear", linear)] }

    public func callAsFunction(_ x: Var) -> Var { linear(x) }
}
