import TensorTestSupport
import Testing
@testable import NN
@testable import Tensor

@Suite("MultiheadAttention module")
struct MultiheadAttentionTests {
    @Test("MultiheadAttention with loaded nn.MultiheadAttention weights: causal self-attention output, per-head weights, dx and weight grads; cross-attention output (rel L2 ≤ 1e-5)")
    func moduleMatchesPyTorch() throws {
        let f = try NNFixture("nn_mha.json")
        var rng = SeededGenerator(seed: 0)
        let mha = MultiheadAttention(8, heads: 2, rng: &rng)
        #expect(Set(mha.namedParameters().map(\.0)) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
        let keys = ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
        try mha.loadStateDict(Dictionary(uniqueKeysWithValues: try keys.map { ($0, try f.tensor($0)) }))
        let x = try f.leaf("self.x")
        let (y, w) = mha.forwardWithWeights(x, x, x, causal: true)
        y.backward(seed: try f.tensor("self.dy"))
        #expect(relativeL2(y.value, try f.tensor("self.y")) <= kernelTolerance)
        #expect(relativeL2(w, try f.tensor("self.weights")) <= kernelTolerance)
        #expect(relativeL2(try #require(x.grad), try f.tensor("self.dx")) <= kernelTolerance)
        #expect(relativeL2(try #require(mha.inProjWeight.grad), try f.tensor("self.d_in_proj_weight")) <= kernelTolerance)
        #expect(relativeL2(try #require(mha.outProj.weight.grad), try f.tensor("self.d_out_proj_weight")) <= kernelTolerance)
        let cq = Var(try f.tensor("cross.q")), ck = Var(try f.tensor("cross.k")), cv = Var(try f.tensor("cross.v"))
        let y2 = withoutGradients { mha(cq, ck, cv) }
        #expect(relativeL2(y2.value, try f.tensor("cross.y")) <= kernelTolerance)
    }
}
