import CLIP
import Foundation
import NN
import Tensor
import Testing
@testable import IQAModel
import IQATestSupport

@Suite("FrozenProjections: the attention pools on cached key/value projections")
struct FrozenProjectionsTests {
    @Test("gradient check of the cached-projection pools: positional embeddings, query projections, text feature (float32 central differences, rel. ≤ 1e-2)",
          arguments: IPIQAConfiguration.Fusion.allCases)
    func projectionGradients(fusion: IPIQAConfiguration.Fusion) throws {
        let model = try TrainerFixtures.model { $0.crossHeads = 2; $0.fusion = fusion }
        var rng = SeededGenerator(seed: 9)
        let maps = Tensor.randn([3, 2, 2, 64], using: &rng)
        let projected = FrozenProjections.project(model, features: maps)
        let text = Var(Tensor.randn([3, 16], using: &rng), requiresGrad: true)
        let cross = try #require(model.crossPool)
        let inputs = [model.clip.visual.attnpool.positionalEmbedding, cross.positionalEmbedding,
                      model.clip.visual.attnpool.qProj.weight, cross.qProj.weight, text]
        let report = gradientCheck(inputs: inputs) {
            (try? FrozenProjections.scores(model, projected: projected, text: text).scores) ?? Var(Tensor(zeros: [3, 2]))
        }
        #expect(report.maxRelativeError <= 1e-2, "\(report)")
    }
}
