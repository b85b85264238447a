import Foundation
import Tensor

/// 2-D convolution layer (groups = 1) over channels-last input: `y = conv2d(x, W) + b`.
///
/// `weight` is stored `[Cout, kh, kw, Cin]` (the engine's layout); PyTorch checkpoints hold `[Cout, Cin, kh, kw]`
/// and are permuted on load by the checkpoint key rules (see `CLIP/CheckpointMapping.swift`).
///
/// ```swift
/// let conv = Conv2d(64, 64, kernel: 3, padding: 1, bias: false, rng: &rng)
/// let y = conv(x)            // x [N, H, W, 64] → [N, H, W, 64]
/// ```
public final class Conv2d: Module {
    public var isTraining = true
    public let weight: Var
    public let bias: Var?
    public let stride: Int
    public let padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
                rng: inout SeededGenerator) {
        let fanIn = inChannels * kernel * kernel
        weight = Var(Tensor.kaimingUniform([outChannels, kernel, kernel, inChannels], fanIn: fanIn, using: &rng), requiresGrad: true)
        self.bias = bias ? Var(Tensor.kaimingUniform([outChannels], fanIn: fanIn, using: &rng), requiresGrad: true) : nil
        self.stride = stride
        self.padding = padding
    }

    /// Precision of the packed-weight inference kernels used by ``convBatchNorm(_:conv:bn:residual:relu:)`` in eval mode
    /// without gradients (nil: OpenBLAS sgemm). Default: `.fp32` where the CPU has AVX-512F (measured faster than
    /// OpenBLAS there: no per-block weight packing), else nil. Set for a whole model with ``Module/prepareInference(precision:)``.
    public var inferencePrecision: Precision? = PackedWeights.isSupported(.fp32) ? .fp32 : nil {
        didSet { packedCache.clear() }
    }
    private let packedCache = PackedWeightCache()

    /// The weight packed for ``inferencePrecision`` (nil when that is nil or the CPU lacks the kernels). Cached; rebuilt
    /// after any parameter write that bumps ``ParameterGeneration`` or when `weight.value` is replaced.
    public func packedWeights() -> PackedWeights? {
        guard let precision = inferencePrecision else { return nil }
        return packedCache.packed(weight.value, precision: precision)
    }

    public var inChannels: Int { weight.shape[3] }
    public var outChannels: Int { weight.shape[0] }
    public var kernel: Int { weight.shape[1] }

    public var localParameters: [(String, Var)] {
        var p: [(String, Var)] = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }

    public func callAsFunction(_ x: Var) -> Var { conv2d(x, weight, bias: bias, stride: stride, padding: padding) }
}

/// Batch normalisation over the channel (last) dimension, as `nn.BatchNorm2d`: training mode normalises with
/// the batch statistics and updates the running statistics (momentum 0.1, unbiased variance); eval mode uses
/// the running statistics. `y = γ (x − μ) / √(σ² + ε) + β`.
///
/// ```swift
/// let bn = BatchNorm2d(64)
/// let y = bn(x, relu: true)   // fused BN + ReLU
/// ```
public final class BatchNorm2d: Module {
    public var isTraining = true
    public let weight: Var
    public let bias: Var
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let momentum: Float
    public let eps: Float

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        weight = Var(Tensor(shape: [channels], repeating: 1), requiresGrad: true)
        bias = Var(Tensor(zeros: [channels]), requiresGrad: true)
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(shape: [channels], repeating: 1)
        self.momentum = momentum
        self.eps = eps
    }

    public var localParameters: [(String, Var)] { [("weight", weight), ("bias", bias)] }
    public var localBuffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    public func callAsFunction(_ x: Var, relu: Bool = false) -> Var {
        if relu {
            return batchNorm2dReLU(x, gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
                                   training: isTraining, momentum: momentum, eps: eps)
        }
        return batchNorm2d(x, gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
                           training: isTraining, momentum: momentum, eps: eps)
    }
}
