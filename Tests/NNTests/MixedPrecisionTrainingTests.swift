import Foundation
import NN
import Testing
@testable import Tensor

/// A small conv + batch-norm + linear regressor trained on a synthetic task in fp32 and in bf16
/// (``TrainingPrecision/bf16``: 16-bit products, fp32 master weights, Adam state and BN statistics).
@Suite("Mixed-precision training run")
struct MixedPrecisionTrainingTests {
    /// conv3×3 → BN → ReLU → conv3×3/2 → BN → ReLU → global mean → linear → ReLU → linear.
    final class TinyNet: Module {
        let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d, fc1: Linear, fc2: Linear
        init(seed: UInt64) {
            var rng = SeededGenerator(seed: seed)
            conv1 = Conv2d(3, 16, kernel: 3, padding: 1, bias: false, rng: &rng)
            bn1 = BatchNorm2d(16)
            conv2 = Conv2d(16, 32, kernel: 3, stride: 2, padding: 1, bias: false, rng: &rng)
            bn2 = BatchNorm2d(32)
            fc1 = Linear(32, 32, rng: &rng)
            fc2 = Linear(32, 1, rng: &rng)
        }
        var isTraining = true
        var children: [(String, any Module)] {
            [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("fc1", fc1), ("fc2", fc2)]
        }
        func callAsFunction(_ x: Var) -> Var {
            var h = bn1(conv1(x), relu: true)
            h = bn2(conv2(h), relu: true)
            let n = h.shape[0], c = h.shape[3]
            h = meanAxis(reshape(h, [n, h.shape[1] * h.shape[2], c]), axis: 1)
            return fc2(relu(fc1(h)))
        }
    }

    /// Images whose score is a smooth nonlinear function of their colour statistics.
    static func data(count: Int, seed: UInt64) -> (Tensor, Tensor) {
        var rng = SeededGenerator(seed: seed)
        let x = Tensor.randn([count, 12, 12, 3], using: &rng)
        let y = Tensor(uninitialized: [count, 1])
        for i in 0..<count {
            var m0 = 0.0, s1 = 0.0, m2 = 0.0
            for p in 0..<144 {
                let v = x.pointer + (i * 144 + p) * 3
                m0 += Double(v[0]); s1 += Double(v[1] * v[1]); m2 += Double(max(v[2], 0))
            }
            y.pointer[i] = Float(2 * m0 / 144 + s1 / 144 - 1.5 * m2 / 144)
        }
        return (x, y)
    }

    static func spearman(_ a: [Float], _ b: [Float]) -> Double {
        func ranks(_ v: [Float]) -> [Double] {
            var r = [Double](repeating: 0, count: v.count)
            for (rank, i) in v.indices.sorted(by: { v[$0] < v[$1] }).enumerated() { r[i] = Double(rank) }
            return r
        }
        let ra = ranks(a), rb = ranks(b), n = Double(a.count)
        let ma = ra.reduce(0, +) / n, mb = rb.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in a.indices { sab += (ra[i] - ma) * (rb[i] - mb); saa += (ra[i] - ma) * (ra[i] - ma); sbb += (rb[i] - mb) * (rb[i] - mb) }
        return sab / (saa * sbb).squareRoot()
    }

    /// Trains 120 Adam steps of 64 images and returns the test SRCC (eval mode, no gradients, fp32).
    static func trainedSRCC(_ precision: TrainingPrecision) -> Double {
        let (xTrain, yTrain) = data(count: 512, seed: 1), (xTest, yTest) = data(count: 256, seed: 2)
        let net = TinyNet(seed: 3)
        let optimizer = Adam([ParamGroup(net.namedParameters(), learningRate: 3e-3)])
        for step in 0..<120 {
            let rows = (step % 8) * 64..<((step % 8) * 64 + 64)
            let x = Var(xTrain.slice(rows: rows).copy()), y = Var(yTrain.slice(rows: rows).copy())
            withTrainingPrecision(precision) { mseLoss(net(x), y) }.backward()
            optimizer.step()
            optimizer.zeroGrad()
        }
        net.eval()
        let predicted = withoutGradients { net(Var(xTest)) }.value.array
        return spearman(predicted, yTest.array)
    }

    @Test("bf16 training reaches the fp32 test SRCC within 0.01 (both ≥ 0.8)")
    func bf16MatchesFP32() {
        guard TrainingPrecision.hasBF16Kernels else {
            print("skipped bf16MatchesFP32: this CPU lacks AVX-512 BF16 (vdpbf16ps)")
            return
        }
        let fp32 = Self.trainedSRCC(.fp32), bf16 = Self.trainedSRCC(.bf16)
        print("tiny net test SRCC: fp32 \(fp32), bf16 \(bf16)")
        #expect(fp32 >= 0.8 && bf16 >= 0.8, "fp32 \(fp32), bf16 \(bf16)")
        #expect(abs(fp32 - bf16) <= 0.01, "fp32 \(fp32), bf16 \(bf16)")
    }
}
