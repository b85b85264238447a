import TensorTestSupport
import Testing
@testable import NN
@testable import Tensor

@Suite("Single-query attention (projections folded into the query)")
struct SingleQueryAttentionTests {
    /// Tokens `[b, t, c]`, a projected query `[b, 1, d]` and the two projections, all trainable.
    static func problem(b: Int, t: Int, c: Int, d: Int, seed: UInt64) -> (x: Var, q: Var, k: Linear, v: Linear) {
        var rng = SeededGenerator(seed: seed)
        let x = Var(Tensor.randn([b, t, c], using: &rng), requiresGrad: true)
        let q = Var(Tensor.randn([b, 1, d], using: &rng), requiresGrad: true)
        let k = Linear(c, d, rng: &rng), v = Linear(c, d, rng: &rng)
        // Non-zero biases, so that both bias paths are exercised.
        for layer in [k, v] { if let bias = layer.bias { bias.value = Tensor.randn(bias.shape, using: &rng) } }
        return (x, q, k, v)
    }

    @Test("output, probabilities and every gradient equal attention over the projected tokens (rel L2 ≤ 1e-5)",
          arguments: [(1, 9, 16, 16, 4), (3, 17, 24, 32, 8), (2, 257, 64, 64, 32)])
    func matchesFullProjection(b: Int, t: Int, c: Int, d: Int, heads: Int) throws {
        let s = Self.problem(b: b, t: t, c: c, d: d, seed: UInt64(t * 7 + heads))
        var rng = SeededGenerator(seed: 77)
        let seed = Tensor.randn([b, 1, d], using: &rng)
        let (y, probs) = singleQueryAttention(tokens: s.x, query: s.q, keys: s.k, values: s.v, heads: heads)
        y.backward(seed: seed)
        let folded = [s.x, s.q, s.k.weight, s.k.bias!, s.v.weight, s.v.bias!].map { $0.grad }
        for p in [s.x, s.q, s.k.weight, s.k.bias!, s.v.weight, s.v.bias!] { p.grad = nil }

        let (reference, referenceProbs) = attentionWithWeights(q: s.q, k: s.k(s.x), v: s.v(s.x), heads: heads)
        reference.backward(seed: seed)
        #expect(relativeL2(y.value, reference.value) <= kernelTolerance)
        #expect(probs.shape == [b, heads, 1, t])
        #expect(relativeL2(probs, referenceProbs) <= kernelTolerance)
        for (name, (mine, p)) in zip(["x", "q", "k.weight", "v.weight", "v.bias"],
                                     [(folded[0], s.x), (folded[1], s.q), (folded[2], s.k.weight), (folded[4], s.v.weight),
                                      (folded[5], s.v.bias!)]) {
            let a = try #require(mine, "\(name) has no gradient"), r = try #require(p.grad)
            #expect(relativeL2(a, r) <= kernelTolerance, "\(name)")
        }
        // b_k cannot change the softmax: its gradient is zero in exact arithmetic, and rounding noise in both forms.
        let kb = try #require(folded[3], "k.bias must receive a gradient (weight decay applies to it)")
        let kw = try #require(s.k.weight.grad)
        #expect(maxAbsDiff(kb, Tensor(zeros: kb.shape)) <= 1e-4 * max(1, maxAbsDiff(kw, Tensor(zeros: kw.shape))))
    }

    @Test("gradients match finite differences (tokens, query, both projections)")
    func gradCheck() {
        let s = Self.problem(b: 2, t: 5, c: 6, d: 8, seed: 5)
        let report = gradientCheck(inputs: [s.x, s.q, s.k.weight, s.v.weight, s.v.bias!]) {
            singleQueryAttention(tokens: s.x, query: s.q, keys: s.k, values: s.v, heads: 2).output
        }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
    }

    @Test("without gradients: same output, no graph, probabilities shared")
    func inference() {
        let s = Self.problem(b: 2, t: 50, c: 32, d: 32, seed: 9)
        let withGrad = singleQueryAttention(tokens: s.x, query: s.q, keys: s.k, values: s.v, heads: 4).output.value
        let plain = withoutGradients { singleQueryAttention(tokens: s.x, query: s.q, keys: s.k, values: s.v, heads: 4) }
        #expect(plain.output.backwardFn == nil)
        #expect(relativeL2(plain.output.value, withGrad) <= kernelTolerance)
    }
}
