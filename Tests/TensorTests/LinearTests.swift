import TensorTestSupport
import Testing
@testable import Tensor

@Suite("Linear and matmul")
struct LinearTests {
    @Test("linear gradients match central finite differences")
    func linearGradCheck() {
        var rng = SeededGenerator(seed: 1)
        let x = Var(Tensor.randn([3, 4], using: &rng), requiresGrad: true)
        let w = Var(Tensor.randn([5, 4], using: &rng), requiresGrad: true)
        let b = Var(Tensor.randn([5], using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [x, w, b]) { linear(x, w, bias: b) }
        #expect(report.maxRelativeError < 1e-2, "\(report)")
    }

    @Test("matmul with transposes: gradients match finite differences")
    func matmulGradCheck() {
        var rng = SeededGenerator(seed: 2)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = Var(Tensor.randn(ta ? [2, 4, 3] : [2, 3, 4], using: &rng), requiresGrad: true)
            let b = Var(Tensor.randn(tb ? [2, 5, 4] : [2, 4, 5], using: &rng), requiresGrad: true)
            let report = gradientCheck(inputs: [a, b]) { matmul(a, b, transposeA: ta, transposeB: tb) }
            #expect(report.maxRelativeError < 1e-2, "ta=\(ta) tb=\(tb): \(report)")
        }
    }
}
