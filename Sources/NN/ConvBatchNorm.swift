import Foundation
import Tensor

/// `conv → batch norm (→ + residual) (→ ReLU)`, the unit of a ResNet:
///
///     y = max?( BN(conv(x)) + residual, 0 )
///
/// In eval mode with nothing to differentiate (``withoutGradients(_:)``, or no input/parameter requiring a gradient)
/// the batch norm is folded into the convolution's epilogue — `scale = γ/√(σ²+ε)`, `shift = β − μ·scale (+ scale·bias)`,
/// recomputed per call from the current parameters (so no cache can go stale) — and the whole unit is one pass
/// (``conv2dFused(_:weight:stride:padding:epilogue:)``). Otherwise it is `conv2d` then `batchNorm2d[ReLU]` or
/// `batchNorm2dAdd` (BN + residual (+ ReLU) in one op), recording the backward pass as usual.
///
/// ```swift
/// let out = convBatchNorm(h, conv: block.conv3, bn: block.bn3, residual: identity, relu: true)
/// ```
public func convBatchNorm(_ x: Var, conv: Conv2d, bn: BatchNorm2d, residual: Var? = nil, relu: Bool) -> Var {
    if foldsIntoInference(x, conv: conv, bn: bn, residual: residual) {
        return Var(conv2dFused(x.value, weight: conv.weight.value, packed: conv.packedWeights(), stride: conv.stride,
                               padding: conv.padding,
                               epilogue: foldedEpilogue(conv: conv, bn: bn, residual: residual?.value, relu: relu)))
    }
    guard let residual else { return bn(conv(x), relu: relu) }
    return batchNorm2dAdd(conv(x), residual: residual, gamma: bn.weight, beta: bn.bias, runningMean: bn.runningMean,
                          runningVar: bn.runningVar, training: bn.isTraining, relu: relu, momentum: bn.momentum, eps: bn.eps)
}

/// `conv` + `bn` as one unit of a fused inference block (``bottleneckFused(_:conv1:conv2:conv3:downsample:stride:bandBytes:minimumBandPixels:)``), or nil
/// where ``convBatchNorm(_:conv:bn:residual:relu:)`` would not fuse them either: batch norm in training mode, gradients
/// being recorded for `x` or a parameter, or no packed kernel for this CPU.
public func fusedInferenceUnit(_ x: Var, conv: Conv2d, bn: BatchNorm2d, relu: Bool) -> FusedConvUnit? {
    guard foldsIntoInference(x, conv: conv, bn: bn, residual: nil), let packed = conv.packedWeights() else { return nil }
    return FusedConvUnit(packed: packed, weightShape: conv.weight.shape, stride: conv.stride, padding: conv.padding,
                         epilogue: foldedEpilogue(conv: conv, bn: bn, residual: nil, relu: relu))
}

/// Whether `conv` + `bn` (+ `residual`) run as one folded inference pass: batch norm in eval mode and no gradient
/// recorded for the input, a parameter or the residual.
private func foldsIntoInference(_ x: Var, conv: Conv2d, bn: BatchNorm2d, residual: Var?) -> Bool {
    if bn.isTraining { return false }
    var inputs = [x, conv.weight, bn.weight, bn.bias]
    if let b = conv.bias { inputs.append(b) }
    if let residual { inputs.append(residual) }
    return !(GradMode.isEnabled && inputs.contains { $0.requiresGrad })
}

/// The eval-mode batch norm (and convolution bias) as a ``ConvEpilogue``.
public func foldedEpilogue(conv: Conv2d, bn: BatchNorm2d, residual: Tensor?, relu: Bool) -> ConvEpilogue {
    let c = bn.weight.value.count
    let scale = Tensor(uninitialized: [c]), shift = Tensor(uninitialized: [c])
    let g = bn.weight.value.pointer, b = bn.bias.value.pointer
    let mu = bn.runningMean.pointer, v = bn.runningVar.pointer
    let cb = conv.bias?.value.pointer
    for i in 0..<c {
        let a = g[i] / (v[i] + bn.eps).squareRoot()
        scale.pointer[i] = a
        shift.pointer[i] = b[i] - mu[i] * a + (cb.map { $0[i] * a } ?? 0)
    }
    return ConvEpilogue(scale: scale, shift: shift, residual: residual, relu: relu)
}

extension Module {
    /// Switches every ``Conv2d`` of the tree to the engine's packed-weight inference kernels in `precision` (weights
    /// packed once, on first use, and re-packed after parameter writes), or back to OpenBLAS with `nil` (caches freed).
    /// Affects only eval-mode passes without gradient recording through ``convBatchNorm(_:conv:bn:residual:relu:)``.
    /// Returns false (and changes nothing) where the CPU lacks the kernels (AVX-512F; bf16: AVX-512 BF16).
    @discardableResult
    public func prepareInference(precision: Precision?) -> Bool {
        if let precision, !PackedWeights.isSupported(precision) { return false }
        for (_, m) in namedModules() { (m as? Conv2d)?.inferencePrecision = precision }
        return true
    }
}
