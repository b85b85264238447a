import NN
import Tensor

/// Gives `bn` random affine parameters and running statistics (γ ≈ 1 ± 0.3, β, μ ≈ 0 ± 0.3 / 0.2, σ² in [0.5, 2]) and
/// switches it to eval mode: a batch norm whose folded scale and shift are not trivial.
public func randomizeEvalBatchNorm(_ bn: BatchNorm2d, using rng: inout SeededGenerator) {
    let c = bn.weight.shape[0]
    bn.weight.value.assign(Tensor.randn([c], mean: 1, std: 0.3, using: &rng))
    bn.bias.value.assign(Tensor.randn([c], std: 0.3, using: &rng))
    bn.runningMean.assign(Tensor.randn([c], std: 0.2, using: &rng))
    bn.runningVar.assign(Tensor.uniform([c], low: 0.5, high: 2, using: &rng))
    bn.eval()
}

/// A fresh `BatchNorm2d(c)` randomised by ``randomizeEvalBatchNorm(_:using:)``.
public func randomEvalBatchNorm(_ c: Int, using rng: inout SeededGenerator) -> BatchNorm2d {
    let bn = BatchNorm2d(c)
    randomizeEvalBatchNorm(bn, using: &rng)
    return bn
}
