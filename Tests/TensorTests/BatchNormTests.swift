import Foundation
import TensorTestSupport
import Testing
@testable import Tensor

struct BatchNormFixtureCase: Decodable {
    let name: String
    let training, relu: Bool
    let momentum, eps: Double
    let xShape: [Int]
    let x, gamma, beta, runningMean, runningVar, g: [Double]
    let y, dx, dgamma, dbeta, newRunningMean, newRunningVar: [Double]
}

@Suite("batch norm")
struct BatchNormTests {
    @Test("batchNorm2d / batchNorm2dReLU train + eval: y, dx, dγ, dβ, updated running stats match PyTorch float64 (rel. L2 ≤ 1e-5)")
    func matchesPyTorch() throws {
        for c in try cnnFixtureCases("cnn_batchnorm.json", as: BatchNormFixtureCase.self) {
            let ch = c.xShape[3]
            let x = Var(cnnTensor(c.xShape, c.x), requiresGrad: true)
            let gamma = Var(cnnTensor([ch], c.gamma), requiresGrad: true)
            let beta = Var(cnnTensor([ch], c.beta), requiresGrad: true)
            let rm = cnnTensor([ch], c.runningMean), rv = cnnTensor([ch], c.runningVar)
            let op = c.relu ? batchNorm2dReLU : batchNorm2d
            let y = op(x, gamma, beta, rm, rv, c.training, Float(c.momentum), Float(c.eps))
            y.backward(seed: cnnTensor(c.xShape, c.g))
            #expect(cnnRelativeL2(y.value, c.y) <= 1e-5, "\(c.name) y")
            #expect(cnnRelativeL2(x.grad, c.dx) <= 1e-5, "\(c.name) dx")
            #expect(cnnRelativeL2(gamma.grad, c.dgamma) <= 1e-5, "\(c.name) dgamma")
            #expect(cnnRelativeL2(beta.grad, c.dbeta) <= 1e-5, "\(c.name) dbeta")
            #expect(cnnRelativeL2(rm, c.newRunningMean) <= 1e-6, "\(c.name) running mean")
            #expect(cnnRelativeL2(rv, c.newRunningVar) <= 1e-6, "\(c.name) running var")
        }
    }

    @Test("batch norm gradients (train through batch stats, eval affine; plain and fused ReLU) match finite differences, tol 1e-2",
          arguments: [(true, false), (false, false), (true, true), (false, true)])
    func gradientCheckModes(training: Bool, fused: Bool) {
        var rng = SeededGenerator(seed: 21)
        let x = Var(Tensor.randn([2, 3, 4, 5], std: 1.5, using: &rng), requiresGrad: true)
        let gamma = Var(Tensor.randn([5], mean: 1, std: 0.3, using: &rng), requiresGrad: true)
        let beta = Var(Tensor.randn([5], std: 0.3, using: &rng), requiresGrad: true)
        let rm = Tensor.randn([5], std: 0.2, using: &rng)
        let rv = Tensor.uniform([5], low: 0.5, high: 2, using: &rng)
        let report = gradientCheck(inputs: [x, gamma, beta], step: 1e-3) {
            fused
                ? batchNorm2dReLU(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, training: training)
                : batchNorm2d(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, training: training)
        }
        #expect(report.maxRelativeError < 1e-2, "training \(training) fused \(fused): \(report)")
    }

    @Test("fused batchNorm2dReLU equals relu(batchNorm2d) in value and gradients (to 1e-6)")
    func fusedEqualsComposition() {
        var rng = SeededGenerator(seed: 5)
        let xt = Tensor.randn([3, 5, 5, 7], using: &rng)
        let gt = Tensor.randn([3, 5, 5, 7], using: &rng)
        var results: [[Float]] = []
        for fused in [false, true] {
            let x = Var(xt.copy(), requiresGrad: true)
            let gamma = Var(Tensor(shape: [7], repeating: 1.3), requiresGrad: true)
            let beta = Var(Tensor(shape: [7], repeating: 0.2), requiresGrad: true)
            let rm = Tensor(zeros: [7]), rv = Tensor(shape: [7], repeating: 1)
            let y = fused
                ? batchNorm2dReLU(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, training: true)
                : relu(batchNorm2d(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, training: true))
            y.backward(seed: gt)
            results.append(y.value.array + x.grad!.array + gamma.grad!.array + beta.grad!.array + rm.array + rv.array)
        }
        let maxDiff = zip(results[0], results[1]).map { abs($0 - $1) }.max() ?? 0
        #expect(maxDiff < 1e-6)
    }

    @Test("training statistics stay accurate when |mean| ≫ std (mean 1000, std 0.5): normalised output has std 1 to 1e-3")
    func largeMeanStability() {
        var rng = SeededGenerator(seed: 8)
        let x = Var(Tensor.randn([4, 8, 8, 3], mean: 1000, std: 0.5, using: &rng))
        let y = batchNorm2d(x, gamma: Var(Tensor(shape: [3], repeating: 1)), beta: Var(Tensor(zeros: [3])),
                            runningMean: Tensor(zeros: [3]), runningVar: Tensor(shape: [3], repeating: 1), training: true)
        for ch in 0..<3 {
            var s = 0.0, q = 0.0
            let rows = 4 * 8 * 8
            for r in 0..<rows { let v = Double(y.value.pointer[r * 3 + ch]); s += v; q += v * v }
            let mean = s / Double(rows), std = (q / Double(rows) - mean * mean).squareRoot()
            #expect(abs(mean) < 1e-3 && abs(std - 1) < 1e-3, "channel \(ch): mean \(mean) std \(std)")
        }
    }

    @Test("eval mode leaves the running statistics untouched")
    func evalDoesNotUpdate() {
        var rng = SeededGenerator(seed: 9)
        let rm = Tensor(shape: [2], values: [0.5, -1]), rv = Tensor(shape: [2], values: [2, 0.25])
        _ = batchNorm2d(Var(Tensor.randn([1, 2, 2, 2], using: &rng)), gamma: Var(Tensor(shape: [2], repeating: 1)),
                        beta: Var(Tensor(zeros: [2])), runningMean: rm, runningVar: rv, training: false)
        #expect(rm.array == [0.5, -1] && rv.array == [2, 0.25])
    }
}
