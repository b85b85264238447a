import Foundation
import NN
import TensorTestSupport
import Testing
@testable import CLIP
@testable import Tensor

/// The band-by-band ResNet bottleneck (`bottleneckFused`) against the same block run one fused convolution at a time.
/// Both call the same kernels on the same operands in the same order, so the outputs must be bit-identical.
@Suite("banded bottleneck inference")
struct BandedBottleneckTests {
    /// A bottleneck with random batch-norm statistics, eval mode, packed for `precision`.
    static func block(inplanes: Int, planes: Int, stride: Int = 1, precision: Precision, seed: UInt64) -> Bottleneck {
        var rng = SeededGenerator(seed: seed)
        let b = Bottleneck(inplanes: inplanes, planes: planes, stride: stride, rng: &rng)
        var bns = [b.bn1, b.bn2, b.bn3]
        if let d = b.downsample { bns.append(d.bn) }
        for bn in bns { randomizeEvalBatchNorm(bn, using: &rng) }
        b.eval()
        b.prepareInference(precision: precision)
        return b
    }

    /// The unfused block: each convolution + batch norm (+ residual) + ReLU as one fused convolution over the batch.
    static func unbanded(_ b: Bottleneck, _ x: Tensor) -> Tensor {
        withoutGradients {
            let v = Var(x)
            var out = convBatchNorm(v, conv: b.conv1, bn: b.bn1, relu: true)
            out = convBatchNorm(out, conv: b.conv2, bn: b.bn2, relu: true)
            if b.stride > 1 { out = avgPool2d(out, kernel: b.stride) }
            let identity = b.downsample.map { convBatchNorm(b.stride > 1 ? avgPool2d(v, kernel: b.stride) : v, conv: $0.conv,
                                                            bn: $0.bn, relu: false) } ?? v
            return convBatchNorm(out, conv: b.conv3, bn: b.bn3, residual: identity, relu: true).value
        }
    }

    /// (batch, height, width, inplanes, planes, stride): one image cut into ranges, several images, odd sizes, a
    /// downsample, anti-aliased stride 2 (pool after the k×k convolution and before the downsample), inner dimensions
    /// over one bf16 k-block (720: bf16 maps stored from two k-blocks).
    static let shapes: [(Int, Int, Int, Int, Int, Int)] = [
        (1, 20, 9, 32, 8, 1), (4, 7, 5, 32, 8, 1), (2, 13, 11, 16, 8, 1), (1, 33, 6, 24, 16, 1), (6, 6, 6, 64, 16, 1),
        (2, 12, 10, 16, 8, 2), (1, 24, 8, 32, 16, 2), (2, 6, 14, 64, 32, 2), (2, 9, 7, 720, 80, 1),
    ]

    @Test("band by band equals one convolution at a time, bit for bit (fp32, bf16, bf16x3; stride 1 and 2; tiny and default bands)",
          arguments: shapes)
    func bitIdentical(shape: (Int, Int, Int, Int, Int, Int)) throws {
        let (n, h, w, inplanes, planes, stride) = shape
        for precision in [Precision.fp32, .bf16, .bf16x3] {
            guard PackedWeights.isSupported(precision) else {
                print("skipped (\(precision)): this CPU lacks the packed \(precision) kernels (AVX-512F / AVX-512 BF16)")
                continue
            }
            let b = Self.block(inplanes: inplanes, planes: planes, stride: stride, precision: precision,
                               seed: UInt64(h * 100 + inplanes))
            var rng = SeededGenerator(seed: UInt64(n * 7 + w))
            let x = relu(Var(Tensor.randn([n, h, w, inplanes], using: &rng))).value
            let reference = Self.unbanded(b, x)
            for bandBytes in [1, 4096, FusedBottleneckTuning.bandBytes] {
                let got = try #require(withoutGradients { () -> Tensor? in
                    let v = Var(x)
                    guard let u1 = fusedInferenceUnit(v, conv: b.conv1, bn: b.bn1, relu: true),
                          let u2 = fusedInferenceUnit(v, conv: b.conv2, bn: b.bn2, relu: true),
                          let u3 = fusedInferenceUnit(v, conv: b.conv3, bn: b.bn3, relu: true) else { return nil }
                    let ds = b.downsample.flatMap { fusedInferenceUnit(v, conv: $0.conv, bn: $0.bn, relu: false) }
                    return bottleneckFused(x, conv1: u1, conv2: u2, conv3: u3, downsample: ds, stride: stride,
                                           bandBytes: bandBytes, minimumBandPixels: bandBytes == 1 ? 1 : 96)
                }, "banding declined \(shape) \(precision)")
                #expect(got.shape == reference.shape)
                #expect(got.array == reference.array, "\(shape) \(precision) band bytes \(bandBytes)")
            }
            // The block itself takes the banded path and gives the same result.
            let viaBlock = withoutGradients { b(Var(x)) }.value
            #expect(viaBlock.array == reference.array)
        }
    }

    @Test("banding declines a batch of one small map (the halo would dominate), uneven work or an empty batch, and the block still computes it")
    func declinesSmallMaps() throws {
        guard PackedWeights.isSupported(.fp32) else { print("skipped: the packed kernels need AVX-512F"); return }
        guard Threading.workers > 1 else { print("skipped: one worker takes every map whole"); return }
        let b = Self.block(inplanes: 32, planes: 8, precision: .fp32, seed: 5)
        var rng = SeededGenerator(seed: 1)
        let x = Tensor.randn([1, 7, 7, 32], using: &rng)
        let units = withoutGradients { () -> (FusedConvUnit, FusedConvUnit, FusedConvUnit)? in
            let v = Var(x)
            guard let u1 = fusedInferenceUnit(v, conv: b.conv1, bn: b.bn1, relu: true),
                  let u2 = fusedInferenceUnit(v, conv: b.conv2, bn: b.bn2, relu: true),
                  let u3 = fusedInferenceUnit(v, conv: b.conv3, bn: b.bn3, relu: true) else { return nil }
            return (u1, u2, u3)
        }
        let (u1, u2, u3) = try #require(units)
        #expect(bottleneckFused(x, conv1: u1, conv2: u2, conv3: u3, downsample: nil) == nil)
        // An empty batch is declined too (no ranges to cut).
        #expect(bottleneckFused(Tensor(zeros: [0, 7, 7, 32]), conv1: u1, conv2: u2, conv3: u3, downsample: nil) == nil)
        // Three small maps on two workers: one worker would take two of them while the other idles.
        if Threading.workers == 2 {
            let three = Tensor.randn([3, 7, 7, 32], using: &rng)
            #expect(bottleneckFused(three, conv1: u1, conv2: u2, conv3: u3, downsample: nil) == nil)
        }
        #expect(withoutGradients { b(Var(x)) }.value.array == Self.unbanded(b, x).array)
    }

    @Test("no banding while gradients are recorded or batch norm trains")
    func onlyInInference() {
        let b = Self.block(inplanes: 32, planes: 8, precision: .fp32, seed: 6)
        var rng = SeededGenerator(seed: 2)
        let x = Var(Tensor.randn([2, 6, 6, 32], using: &rng))
        #expect(fusedInferenceUnit(x, conv: b.conv1, bn: b.bn1, relu: true) == nil)  // parameters require gradients
        b.train()
        #expect(withoutGradients { fusedInferenceUnit(x, conv: b.conv1, bn: b.bn1, relu: true) } == nil)
    }

    /// (batch, size, stem width, pool, precision): CLIP's stem (3×3 stride 2 → 3×3 → 3×3, then the pool) on one image cut
    /// into ranges, several images, odd sizes (a floor in the stride and the pool), no pool.
    static let stems: [(Int, Int, Int, Int)] = [(1, 64, 16, 2), (2, 33, 8, 2), (4, 21, 16, 2), (2, 30, 8, 1), (1, 96, 8, 2)]

    @Test("the stem band by band equals its convolutions and pool one at a time, bit for bit (fp32, bf16, bf16x3)",
          arguments: stems)
    func stemBitIdentical(c: (Int, Int, Int, Int)) throws {
        let (n, size, width, pool) = c
        for precision in [Precision.fp32, .bf16, .bf16x3] {
            guard PackedWeights.isSupported(precision) else {
                print("skipped (\(precision)): this CPU lacks the packed \(precision) kernels (AVX-512F / AVX-512 BF16)")
                continue
            }
            var rng = SeededGenerator(seed: UInt64(size * 10 + width))
            let convs = [Conv2d(3, width / 2, kernel: 3, stride: 2, padding: 1, bias: false, rng: &rng),
                         Conv2d(width / 2, width / 2, kernel: 3, padding: 1, bias: false, rng: &rng),
                         Conv2d(width / 2, width, kernel: 3, padding: 1, bias: false, rng: &rng)]
            let bns = convs.map { randomEvalBatchNorm($0.outChannels, using: &rng) }
            for conv in convs { conv.inferencePrecision = precision }
            let x = Tensor.randn([n, size, size, 3], using: &rng)
            let reference = withoutGradients { () -> Tensor in
                var h = Var(x)
                for (conv, bn) in zip(convs, bns) { h = convBatchNorm(h, conv: conv, bn: bn, relu: true) }
                return (pool > 1 ? avgPool2d(h, kernel: pool) : h).value
            }
            let units = try #require(withoutGradients {
                zip(convs, bns).map { fusedInferenceUnit(Var(x), conv: $0, bn: $1, relu: true) } as [FusedConvUnit?]
            }.compactMap { $0 } as [FusedConvUnit]?)
            #expect(units.count == 3)
            for bandBytes in [1, 20_000, FusedBottleneckTuning.bandBytes] {
                let got = try #require(convChainFused(x, units: units, pool: pool, bandBytes: bandBytes,
                                                      minimumBandPixels: bandBytes == 1 ? 1 : 96),
                                       "banding declined \(c) \(precision)")
                #expect(got.shape == reference.shape)
                #expect(got.array == reference.array, "\(c) \(precision) band bytes \(bandBytes)")
            }
        }
    }
}
