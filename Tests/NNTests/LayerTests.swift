import Foundation
import TensorTestSupport
import Testing
@testable import NN
@testable import Tensor

@Suite("Layers: PyTorch names, initialisation, train/eval behaviour")
struct LayerTests {
    @Test("Conv2d: weight [Cout, kh, kw, Cin] and bias within PyTorch's ±1/√(Cin·k²), output ⌊(H + 2p − k)/s⌋ + 1, gradients to x, W, b match finite differences")
    func conv2dModule() {
        var rng = SeededGenerator(seed: 61)
        let conv = Conv2d(3, 5, kernel: 3, stride: 2, padding: 1, rng: &rng)
        #expect(conv.namedParameters().map(\.0) == ["weight", "bias"])
        #expect(conv.weight.shape == [5, 3, 3, 3] && conv.inChannels == 3 && conv.outChannels == 5 && conv.kernel == 3)
        let bound = 1 / Float(27).squareRoot()
        #expect(conv.weight.value.array.allSatisfy { abs($0) <= bound } && conv.bias!.value.array.allSatisfy { abs($0) <= bound })
        let x = Var(Tensor.randn([2, 7, 6, 3], using: &rng), requiresGrad: true)
        #expect(conv(x).shape == [2, 4, 3, 5])
        let report = gradientCheck(inputs: [x, conv.weight, conv.bias!]) { conv(x) }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
        let plain = Conv2d(3, 5, kernel: 1, bias: false, rng: &rng)
        #expect(plain.namedParameters().map(\.0) == ["weight"])
    }

    @Test("BatchNorm2d (also on [N, C] rows): training normalises by batch statistics and moves the running ones by momentum 0.1 (unbiased variance); eval uses the running ones (double reference, 1e-5)")
    func batchNormModule() {
        var rng = SeededGenerator(seed: 62)
        let bn = BatchNorm2d(3)
        #expect(bn.namedParameters().map(\.0) == ["weight", "bias"] && bn.namedBuffers().map(\.0) == ["running_mean", "running_var"])
        bn.weight.value.assign(Tensor(shape: [3], values: [1.5, 0.5, -1]))
        bn.bias.value.assign(Tensor(shape: [3], values: [0.1, -0.2, 0.3]))
        let n = 6
        let x = Tensor.randn([n, 3], mean: 2, std: 3, using: &rng)
        let y = bn(Var(x)).value
        for c in 0..<3 {
            let column = (0..<n).map { Double(x.pointer[$0 * 3 + c]) }
            let mean = column.reduce(0, +) / Double(n)
            let ss = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            let gamma = Double(bn.weight.value.pointer[c]), beta = Double(bn.bias.value.pointer[c])
            for i in 0..<n {
                let expected = gamma * (column[i] - mean) / (ss / Double(n) + 1e-5).squareRoot() + beta
                #expect(abs(Double(y.pointer[i * 3 + c]) - expected) <= 1e-5 * max(1, abs(expected)))
            }
            #expect(abs(Double(bn.runningMean.pointer[c]) - 0.1 * mean) <= 1e-5 * max(1, abs(mean)))
            #expect(abs(Double(bn.runningVar.pointer[c]) - (0.9 + 0.1 * ss / Double(n - 1))) <= 1e-5 * max(1, ss))
        }
        bn.eval()
        let stats = (bn.runningMean.array, bn.runningVar.array)
        let e = bn(Var(x)).value
        for i in 0..<(n * 3) {
            let c = i % 3
            let expected = Double(bn.weight.value.pointer[c]) * (Double(x.pointer[i]) - Double(stats.0[c]))
                / (Double(stats.1[c]) + 1e-5).squareRoot() + Double(bn.bias.value.pointer[c])
            #expect(abs(Double(e.pointer[i]) - expected) <= 1e-5 * max(1, abs(expected)))
        }
        #expect(bn.runningMean.array == stats.0 && bn.runningVar.array == stats.1, "eval leaves the running statistics alone")
    }

    @Test("LayerNorm: names weight/bias; with the initial γ = 1, β = 0 every row has mean 0 and variance 1 (1e-4)")
    func layerNormModule() {
        var rng = SeededGenerator(seed: 63)
        let ln = LayerNorm(8)
        #expect(ln.namedParameters().map(\.0) == ["weight", "bias"])
        let y = ln(Var(Tensor.randn([4, 8], mean: 3, std: 2, using: &rng))).value.array
        for r in 0..<4 {
            let row = y[(r * 8)..<(r * 8 + 8)].map(Double.init)
            let mean = row.reduce(0, +) / 8
            #expect(abs(mean) < 1e-4 && abs(row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 8 - 1) < 1e-3)
        }
    }

    @Test("Dropout module: identity in eval mode and at p = 0, zeros at p = 1, seeded masks repeat")
    func dropoutModule() {
        let x = Var(Tensor(shape: [4, 50], repeating: 1))
        let a = Dropout(0.5, seed: 7), b = Dropout(0.5, seed: 7)
        #expect(a(x).value.array == b(x).value.array)
        #expect(Set(a(x).value.array) == [0, 2])
        a.eval()
        #expect(a(x) === x)
        #expect(Dropout(0)(x) === x)
        #expect(Dropout(1)(x).value.array.allSatisfy { $0 == 0 })
    }

    @Test("Embedding layer throws (does not crash) on an id outside the table, naming id and position")
    func badID() {
        var rng = SeededGenerator(seed: 42)
        let emb = Embedding(4, 2, rng: &rng)
        #expect(emb.namedParameters().map(\.0) == ["weight"])
        #expect(throws: EmbeddingError(id: 7, position: 1, tableRows: 4)) { try emb([1, 7, 0], shape: [3]) }
        #expect(throws: (any Error).self) { try emb([1, 2, 0], shape: [2]) }
        #expect((try? emb([3, 0], shape: [1, 2]))?.shape == [1, 2, 2])
    }
}
