import CLIP
import Foundation
import NN
import Tensor
import Testing
@testable import IQAModel
@testable import IQATraining
import IQATestSupport

@Suite("Training steps on the IP-IQA model: what trains, what stays frozen, micro-batches")
struct TrainingStepTests {
    @Test("a step moves the [QA] vector and leaves every frozen text weight exactly as it was")
    func qaTokenTrainsTextFrozen() throws {
        let model = try TrainerFixtures.model()
        let qa = try #require(model.qaToken)
        let textParts = ["clip.transformer", "clip.token_embedding", "clip.ln_final", "clip.positional_embedding", "clip.text_projection"]
        let textBefore = textParts.map { TrainerFixtures.snapshot(model, under: $0) }
        let qaBefore = qa.value.array
        let optimizer = TrainingStep.makeOptimizer(model, config: TrainingConfiguration())
        _ = try TrainingStep.run(model: model, optimizer: optimizer, batch: TrainerFixtures.batch(), microBatch: 3, maxGradNorm: nil)
        #expect(!textBefore[0].isEmpty)
        #expect(textParts.map { TrainerFixtures.snapshot(model, under: $0) } == textBefore)
        #expect(qa.value.array != qaBefore)
    }

    @Test("qa-token table: a step moves the token-table rows the prompts use and leaves the others")
    func qaTokenTableTrains() throws {
        let model = try TrainerFixtures.model { $0.qaToken = .table }
        let table = model.clip.tokenEmbedding.weight
        let before = table.value.array
        let optimizer = TrainingStep.makeOptimizer(model, config: TrainingConfiguration())
        _ = try TrainingStep.run(model: model, optimizer: optimizer, batch: TrainerFixtures.batch(), microBatch: 3, maxGradNorm: nil)
        let after = table.value.array, width = 32
        #expect(before[99 * width..<100 * width] != after[99 * width..<100 * width])   // end-of-text row
        #expect(before[50 * width..<51 * width] == after[50 * width..<51 * width])     // unused row
    }

    @Test("a training step of the image-only model never runs the text encoder")
    func imageOnlyStepSkipsText() throws {
        let model = try TrainerFixtures.model { $0.useText = false }
        let optimizer = TrainingStep.makeOptimizer(model, config: TrainingConfiguration())
        _ = try TrainingStep.run(model: model, optimizer: optimizer, batch: TrainerFixtures.batch(), microBatch: 2, maxGradNorm: 1)
        #expect(model.textEncodings == 0)
    }

    @Test("micro-batches accumulate to the same gradient as the full batch when BatchNorm uses running statistics")
    func microBatchAccumulation() throws {
        func headAfterStep(micro: Int) throws -> [Float] {
            let model = try TrainerFixtures.model()
            model.setMode(training: false)   // BN on running statistics: micro-batching is then exact
            let optimizer = TrainingStep.makeOptimizer(model, config: TrainingConfiguration())
            _ = try TrainingStep.run(model: model, optimizer: optimizer, batch: TrainerFixtures.batch(), microBatch: micro, maxGradNorm: nil)
            return optimizer.stateDict()["head.out_proj.weight.exp_avg"]?.array ?? []
        }
        let full = try headAfterStep(micro: 3), parts = try headAfterStep(micro: 1)
        #expect(!full.isEmpty && full.count == parts.count)
        let scale = full.map { abs($0) }.max() ?? 1
        #expect(zip(full, parts).allSatisfy { abs($0 - $1) <= 1e-5 * scale })
    }
}
