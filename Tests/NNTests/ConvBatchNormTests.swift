import Foundation
import TensorTestSupport
import Testing
@testable import NN
@testable import Tensor

/// Reference for the fused kernels: `relu?(batchNorm2d_eval(conv2d(x, w)) + residual)` through the recorded ops.
private func unfusedConvBN(_ x: Tensor, _ w: Tensor, stride: Int, padding: Int, bn: BatchNorm2d, residual: Tensor?,
                           relu withReLU: Bool) -> Tensor {
    withoutGradients {
        var y = batchNorm2d(conv2d(Var(x), Var(w), stride: stride, padding: padding), gamma: bn.weight, beta: bn.bias,
                            runningMean: bn.runningMean, runningVar: bn.runningVar, training: false, eps: bn.eps)
        if let residual { y = add(y, Var(residual)) }
        return withReLU ? relu(y).value : y.value
    }
}

@Suite("Conv2d + BatchNorm2d: folded and fused inference paths")
struct ConvBatchNormTests {
    /// (n, size, cin, cout, kernel, stride, padding, residual, relu): 3×3 and 1×1, strided, and few pixels with many
    /// output channels (column blocks).
    static let convCases: [(Int, Int, Int, Int, Int, Int, Int, Bool, Bool)] = [
        (2, 9, 5, 7, 3, 1, 1, false, true), (1, 8, 6, 9, 3, 2, 1, true, true), (2, 6, 16, 33, 1, 1, 0, true, false),
        (1, 3, 8, 300, 1, 1, 0, false, true), (1, 4, 4, 160, 3, 1, 1, true, true), (3, 7, 3, 20, 3, 2, 1, false, false),
    ]

    @Test("conv2dFused with the folded eval batch norm (+ residual, ReLU) equals conv2d → batchNorm2d → add → relu (rel. L2 ≤ 1e-5)",
          arguments: convCases)
    func fusedConvEqualsUnfused(c: (Int, Int, Int, Int, Int, Int, Int, Bool, Bool)) {
        let (n, size, cin, cout, k, stride, padding, useResidual, relu) = c
        var rng = SeededGenerator(seed: UInt64(cout * 31 + cin))
        let x = Tensor.randn([n, size, size, cin], using: &rng)
        let conv = Conv2d(cin, cout, kernel: k, stride: stride, padding: padding, bias: false, rng: &rng)
        let bn = randomEvalBatchNorm(cout, using: &rng)
        let outSize = (size + 2 * padding - k) / stride + 1
        let residual = useResidual ? Tensor.randn([n, outSize, outSize, cout], using: &rng) : nil
        let reference = unfusedConvBN(x, conv.weight.value, stride: stride, padding: padding, bn: bn, residual: residual, relu: relu)
        let fused = conv2dFused(x, weight: conv.weight.value, stride: stride, padding: padding,
                                epilogue: foldedEpilogue(conv: conv, bn: bn, residual: residual, relu: relu))
        #expect(relativeL2(fused, reference) <= 1e-5)
        // The packed fp32 kernel (where the CPU has AVX-512) gives the same result.
        if let packed = PackedWeights(weight: conv.weight.value, precision: .fp32) {
            let viaPacked = conv2dFused(x, weight: conv.weight.value, packed: packed, stride: stride, padding: padding,
                                        epilogue: foldedEpilogue(conv: conv, bn: bn, residual: residual, relu: relu))
            #expect(relativeL2(viaPacked, reference) <= 1e-5)
        }
    }

    @Test("convBatchNorm: fused eval path without gradients equals the recorded path (1e-5), and training mode records gradients")
    func convBatchNormPaths() {
        var rng = SeededGenerator(seed: 3)
        let conv = Conv2d(6, 10, kernel: 3, padding: 1, bias: true, rng: &rng)
        let bn = randomEvalBatchNorm(10, using: &rng)
        let x = Tensor.randn([2, 5, 5, 6], using: &rng)
        let res = Tensor.randn([2, 5, 5, 10], using: &rng)
        let fused = withoutGradients { convBatchNorm(Var(x), conv: conv, bn: bn, residual: Var(res), relu: true) }.value
        let recorded = convBatchNorm(Var(x, requiresGrad: true), conv: conv, bn: bn, residual: Var(res), relu: true)
        #expect(relativeL2(fused, recorded.value) <= 1e-5)
        conv.inferencePrecision = .fp32
        let packed = withoutGradients { convBatchNorm(Var(x), conv: conv, bn: bn, residual: Var(res), relu: true) }.value
        #expect(relativeL2(packed, recorded.value) <= 1e-5)
        recorded.backward(seed: Tensor(shape: recorded.shape, repeating: 1))
        #expect(conv.weight.grad != nil)
    }

    @Test("packed-weight cache is rebuilt after a parameter write (assign bumps ParameterGeneration)")
    func packedCacheInvalidation() {
        var rng = SeededGenerator(seed: 9)
        let conv = Conv2d(4, 40, kernel: 1, bias: false, rng: &rng)
        let bn = randomEvalBatchNorm(40, using: &rng)
        guard conv.prepareInference(precision: .fp32) else { return }  // no AVX-512 here: nothing cached
        let x = Tensor.randn([1, 3, 3, 4], using: &rng)
        let before = withoutGradients { convBatchNorm(Var(x), conv: conv, bn: bn, relu: false) }.value
        conv.weight.value.assign(Tensor.randn(conv.weight.shape, using: &rng))
        let after = withoutGradients { convBatchNorm(Var(x), conv: conv, bn: bn, relu: false) }.value
        let reference = unfusedConvBN(x, conv.weight.value, stride: 1, padding: 0, bn: bn, residual: nil, relu: false)
        #expect(relativeL2(after, reference) <= 1e-5)
        #expect(relativeL2(before, reference) > 1e-2)
    }
}
