import Tensor

/// Layer normalisation over the last dimension (PyTorch `nn.LayerNorm(dim)`):
/// `y = (x − μ)/√(σ² + eps) ⊙ weight + bias`, with `weight` = 1 and `bias` = 0 initially.
///
/// ```swift
/// let ln = LayerNorm(512)
/// let y = ln(x)          // x [B, L, 512]
/// ```
public final class LayerNorm: Module {
    public var isTraining = true
    public let weight: Var
    public let bias: Var
    public let eps: Float

    public init(_ dim: Int, eps: Float = NNDefaults.layerNormEps) {
        weight = Var(Tensor(shape: [dim], repeating: 1), requiresGrad: true)
        bias = Var(Tensor(zeros: [dim]), requiresGrad: true)
        self.eps = eps
    }

    public var localParameters: [(String, Var)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Var) -> Var { layerNorm(x, gamma: weight, beta: bias, eps: eps) }
}
