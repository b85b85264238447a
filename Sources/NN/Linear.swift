import Tensor

/// Fully connected layer `y = x Wᵀ + b` over the last dimension (PyTorch `nn.Linear`): `weight` `[out, in]`,
/// `bias` `[out]`. Initialisation as PyTorch: weight kaiming-uniform with a = √5 (U(±1/√in)), bias U(±1/√in),
/// drawn from `rng` (weight first).
///
/// ```swift
/// var rng = SeededGenerator(seed: 0)
/// let fc = Linear(1024, 1, rng: &rng)
/// let y = fc(x)          // x [B, 1024] → [B, 1]
/// ```
public final class Linear: Module {
    public var isTraining = true
    public let weight: Var
    public let bias: Var?
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout SeededGenerator) {
        weight = Var(Tensor.kaimingUniform([outFeatures, inFeatures], fanIn: inFeatures, using: &rng), requiresGrad: true)
        if bias {
            let bound = 1 / Float(max(inFeatures, 1)).squareRoot()
            self.bias = Var(Tensor.uniform([outFeatures], low: -bound, high: bound, using: &rng), requiresGrad: true)
        } else {
            self.bias = nil
        }
    }

    public var localParameters: [(String, Var)] {
        if let bias { return [("weight", weight), ("bias", bias)] }
        return [("weight", weight)]
    }

    /// Whether passes with nothing to differentiate (``withoutGradients(_:)``, or no input or parameter requiring a
    /// gradient) run on the engine's packed-weight fp32 kernel (weight packed once and cached, see
    /// ``PackedWeightCache``) instead of OpenBLAS, which re-packs the weight on every call. Default: where the CPU has
    /// AVX-512F. Measured: the CLIP attention pool's projections at 224 px, batch 1 (50 × 2048 · 2048ᵀ).
    public var packedInference = PackedWeights.isSupported(.fp32) {
        didSet { if !packedInference { packedCache.clear() } }
    }
    private let packedCache = PackedWeightCache()

    public func callAsFunction(_ x: Var) -> Var {
        let recording = GradMode.isEnabled && (x.requiresGrad || weight.requiresGrad || bias?.requiresGrad == true)
        if packedInference, !recording, x.shape.last == inFeatures,
           let packed = packedCache.packed(weight.value, precision: .fp32) {
            return Var(packed.matmul(x.value, bias: bias?.value))
        }
        return linear(x, weight, bias: bias)
    }
}
