import TensorTestSupport
import Testing
@testable import Tensor

@Suite("Multi-head attention")
struct AttentionTests {
    static let cases: [(name: String, heads: Int, causal: Bool)] = [("causal", 2, true), ("cross", 3, false), ("pool", 4, false)]

    @Test("attention output, probabilities and q/k/v gradients match F.scaled_dot_product_attention (rel L2 ≤ 1e-5; causal, Lq ≠ Lk, Lq = 1)",
          arguments: AttentionTests.cases.map(\.name))
    func matchesPyTorch(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let f = try NNFixture("nn_attention.json")
        let q = try f.leaf("\(name).q"), k = try f.leaf("\(name).k"), v = try f.leaf("\(name).v")
        let (y, probs) = attentionWithWeights(q: q, k: k, v: v, heads: c.heads, causal: c.causal)
        y.backward(seed: try f.tensor("\(name).dy"))
        #expect(relativeL2(y.value, try f.tensor("\(name).y")) <= kernelTolerance)
        #expect(probs.shape == [q.shape[0], c.heads, q.shape[1], k.shape[1]])
        #expect(relativeL2(probs, try f.tensor("\(name).probs")) <= kernelTolerance)
        #expect(relativeL2(try #require(q.grad), try f.tensor("\(name).dq")) <= kernelTolerance)
        #expect(relativeL2(try #require(k.grad), try f.tensor("\(name).dk")) <= kernelTolerance)
        #expect(relativeL2(try #require(v.grad), try f.tensor("\(name).dv")) <= kernelTolerance)
    }

    @Test("attention gradients match finite differences (causal and not, Lq ≠ Lk, 1–4 heads)",
          arguments: [(1, 4, 4, 1, true), (2, 5, 5, 2, true), (2, 3, 6, 4, false), (1, 1, 7, 2, false), (2, 4, 4, 1, false)])
    func gradCheck(b: Int, lq: Int, lk: Int, heads: Int, causal: Bool) {
        var rng = SeededGenerator(seed: UInt64(100 + lq * 10 + lk))
        let d = 8
        let q = Var(Tensor.randn([b, lq, d], using: &rng), requiresGrad: true)
        let k = Var(Tensor.randn([b, lk, d], using: &rng), requiresGrad: true)
        let v = Var(Tensor.randn([b, lk, d], using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [q, k, v]) { attention(q: q, k: k, v: v, heads: heads, causal: causal) }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
    }

    @Test("self-attention with q = k = v as one variable accumulates all three gradients")
    func sharedInput() {
        var rng = SeededGenerator(seed: 31)
        let x = Var(Tensor.randn([2, 4, 6], using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [x]) { attention(q: x, k: x, v: x, heads: 3, causal: true) }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
    }

    @Test("only inputs that require gradients receive them")
    func frozenInputs() {
        var rng = SeededGenerator(seed: 32)
        let q = Var(Tensor.randn([1, 3, 4], using: &rng), requiresGrad: true)
        let k = Var(Tensor.randn([1, 3, 4], using: &rng))
        let v = Var(Tensor.randn([1, 3, 4], using: &rng))
        sum(attention(q: q, k: k, v: v, heads: 2)).backward()
        #expect(q.grad != nil && k.grad == nil && v.grad == nil)
    }
}
