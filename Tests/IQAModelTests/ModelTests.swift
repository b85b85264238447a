import CLIP
import Foundation
import NN
import Tensor
import Testing
@testable import IQAModel
@testable import IQATraining
import IQATestSupport

@Suite("IP-IQA model in training")
struct ModelTests {
    @Test("the [QA] vector gets a non-zero gradient and the frozen text weights do not change after a step")
    func qaTokenTrainsTextFrozen() throws {
        let model = try TrainerFixtures.model()
        let qa = try #require(model.qaToken)
        let batch = TrainerFixtures.batch()
        let scores = try model.forward(Var(batch.images), tokens: batch.tokens).scores
        mseLoss(scores, Var(batch.targets)).backward()
        let grad = try #require(qa.grad)
        #expect(grad.array.contains { $0 != 0 })
        model.zeroGrad()

        let textBefore = ["clip.transformer", "clip.token_embedding", "clip.ln_final", "clip.positional_embedding", "clip.text_projection"]
            .map { TrainerFixtures.snapshot(model, under: $0) }
        let qaBefore = qa.value.array
        let optimizer = TrainingStep.makeOptimizer(model, config: TrainingConfiguration())
        _ = try TrainingStep.run(model: model, optimizer: optimizer, batch: batch, microBatch: 3, maxGradNorm: nil)
        let textAfter = ["clip.transformer", "clip.token_embedding", "clip.ln_final", "clip.positional_embedding", "clip.text_projection"]
            .map { TrainerFixtures.snapshot(model, under: $0) }
        #expect(textBefore == textAfter)
        #expect(!textBefore[0].isEmpty)
        #expect(qa.value.array != qaBefore)
        #expect(model.clip.transformer.isTraining == false)
        #expect(model.clip.visual.isTraining == true)
    }

    @Test("the image-only model never runs the text encoder, in training or evaluation")
    func imageOnlySkipsText() throws {
        let model = try TrainerFixtures.model { $0.useText = false }
        #expect(model.crossPool == nil && model.qaToken == nil)
        let optimizer = TrainingStep.makeOptimizer(model, config: TrainingConfiguration())
        _ = try TrainingStep.run(model: model, optimizer: optimizer, batch: TrainerFixtures.batch(), microBatch: 2, maxGradNorm: 1)
        model.setMode(training: false)
        _ = try withoutGradients { try model.forward(Var(TrainerFixtures.patternImages(2, 64)), tokens: []) }
        #expect(model.textEncodings == 0)
        #expect(model.namedParameters().filter { $0.1.requiresGrad && !$0.0.hasPrefix("clip.visual") && !$0.0.hasPrefix("head.") }.isEmpty)

        let withText = try TrainerFixtures.model()
        _ = try withText.forward(Var(TrainerFixtures.patternImages(2, 64)), tokens: Array(TrainerFixtures.tokens.prefix(2)))
        #expect(withText.textEncodings == 1)
    }

    @Test("qa-token table unfreezes only token_embedding in the text path; token mode only the [QA] vector")
    func qaTokenModesFreezeTheRightThings() throws {
        func trainableOutsideVision(_ model: IPIQAModel) -> [String] {
            model.namedParameters().filter { $0.1.requiresGrad }.map(\.0)
                .filter { !$0.hasPrefix("clip.visual.") && !$0.hasPrefix("head.") && !$0.hasPrefix("txt_attnpool.") }
        }
        #expect(trainableOutsideVision(try TrainerFixtures.model { $0.qaToken = .table }) == ["clip.token_embedding.weight"])
        #expect(trainableOutsideVision(try TrainerFixtures.model { $0.qaToken = .token }) == ["qa_token"])
        #expect(trainableOutsideVision(try TrainerFixtures.model { $0.qaToken = .none }) == [])

        // In table mode the token table really trains: rows used by the prompts move, the others stay.
        let model = try TrainerFixtures.model { $0.qaToken = .table }
        let table = model.clip.tokenEmbedding.weight
        let before = table.value.array
        let optimizer = TrainingStep.makeOptimizer(model, config: TrainingConfiguration())
        _ = try TrainingStep.run(model: model, optimizer: optimizer, batch: TrainerFixtures.batch(), microBatch: 3, maxGradNorm: nil)
        let after = table.value.array, width = 32
        #expect(before[99 * width..<100 * width] != after[99 * width..<100 * width])   // end-of-text row
        #expect(before[50 * width..<51 * width] == after[50 * width..<51 * width])     // unused row
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
