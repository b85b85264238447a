import TensorTestSupport
import Testing
@testable import Tensor

@Suite("Embedding")
struct EmbeddingTests {
    @Test("embedding copies table rows in id order into [shape..., D]")
    func lookup() {
        let table = Var(Tensor(shape: [3, 2], values: [0, 1, 10, 11, 20, 21]))
        let y = embedding([2, 0, 1, 2], shape: [2, 2], table: table)
        #expect(y.shape == [2, 2, 2])
        #expect(y.value.array == [20, 21, 0, 1, 10, 11, 20, 21])
    }

    @Test("embedding backward scatter-adds repeated ids (exact) and matches finite differences")
    func backward() {
        var rng = SeededGenerator(seed: 41)
        let table = Var(Tensor.randn([5, 3], using: &rng), requiresGrad: true)
        let ids: [Int32] = [4, 1, 4, 0, 4, 2]
        sum(embedding(ids, shape: [2, 3], table: table)).backward()
        let g = table.grad!.array
        #expect(Array(g[12..<15]) == [3, 3, 3])   // id 4 used three times
        #expect(Array(g[9..<12]) == [0, 0, 0])     // id 3 unused
        let report = gradientCheck(inputs: [table]) { embedding(ids, shape: [2, 3], table: table) }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
    }
}
