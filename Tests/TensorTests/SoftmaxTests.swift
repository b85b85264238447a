import TensorTestSupport
import Testing
@testable import Tensor

@Suite("Softmax")
struct SoftmaxTests {
    @Test("softmax output and gradient match torch.softmax (rel L2 ≤ 1e-5)")
    func matchesPyTorch() throws {
        let f = try NNFixture("nn_softmax.json")
        let x = try f.leaf("x")
        let y = softmax(x)
        y.backward(seed: try f.tensor("dy"))
        #expect(relativeL2(y.value, try f.tensor("y")) <= kernelTolerance)
        #expect(relativeL2(try #require(x.grad), try f.tensor("dx")) <= kernelTolerance)
    }

    @Test("softmax gradient matches central finite differences")
    func gradCheck() {
        var rng = SeededGenerator(seed: 21)
        let x = Var(Tensor.randn([2, 3, 5], using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [x]) { softmax(x) }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
    }

    @Test("large logits do not overflow and rows sum to one")
    func stability() {
        let x = Var(Tensor(shape: [2, 3], values: [1000, 1001, 1002, -1000, 0, -.infinity]))
        let y = softmax(x).value.array
        #expect(y.allSatisfy { $0.isFinite })
        #expect(abs(y[0] + y[1] + y[2] - 1) < 1e-6 && abs(y[3] + y[4] + y[5] - 1) < 1e-6)
        #expect(y[5] == 0)
    }
}
