import TensorTestSupport
import Testing
@testable import Tensor

@Suite("Layer normalisation")
struct LayerNormTests {
    @Test("layerNorm output and x/gamma/beta gradients match F.layer_norm (rel L2 ≤ 1e-5)")
    func matchesPyTorch() throws {
        let f = try NNFixture("nn_layernorm.json")
        let x = try f.leaf("x"), g = try f.leaf("gamma"), b = try f.leaf("beta")
        let y = layerNorm(x, gamma: g, beta: b)
        y.backward(seed: try f.tensor("dy"))
        #expect(y.shape == [2, 3, 8])
        #expect(relativeL2(y.value, try f.tensor("y")) <= kernelTolerance)
        #expect(relativeL2(try #require(x.grad), try f.tensor("dx")) <= kernelTolerance)
        #expect(relativeL2(try #require(g.grad), try f.tensor("dgamma")) <= kernelTolerance)
        #expect(relativeL2(try #require(b.grad), try f.tensor("dbeta")) <= kernelTolerance)
    }

    @Test("layerNorm gradients match central finite differences")
    func gradCheck() {
        var rng = SeededGenerator(seed: 11)
        let x = Var(Tensor.randn([3, 2, 6], using: &rng), requiresGrad: true)
        let g = Var(Tensor.randn([6], using: &rng), requiresGrad: true)
        let b = Var(Tensor.randn([6], using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [x, g, b]) { layerNorm(x, gamma: g, beta: b) }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
    }

    @Test("frozen gamma/beta receive no gradient while x still does")
    func frozenAffine() {
        var rng = SeededGenerator(seed: 12)
        let x = Var(Tensor.randn([2, 5], using: &rng), requiresGrad: true)
        let g = Var(Tensor(shape: [5], repeating: 1)), b = Var(Tensor(zeros: [5]))
        sum(layerNorm(x, gamma: g, beta: b)).backward()
        #expect(g.grad == nil && b.grad == nil)
        #expect(x.grad != nil)
    }
}
