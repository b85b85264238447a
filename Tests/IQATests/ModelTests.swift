import CLIP
import Foundation
import NN
import Tensor
import Testing
@testable import IQA

/// Small models and inputs shared by the IQA trainer tests.
enum TrainerFixtures {
    /// A tiny CLIP (ModifiedResNet width 2 → 64 feature channels, text width 32, vocabulary 100).
    static let tinyCLIP = CLIPConfiguration(embedDim: 16, imageResolution: 64, visionLayers: [1, 1, 1, 1], visionWidth: 2,
                                            vocabSize: 100, transformerWidth: 32, transformerLayers: 1)

    static func model(_ configure: (inout IPIQAConfiguration) -> Void = { _ in }) throws -> IPIQAModel {
        var config = IPIQAConfiguration(outputs: 2)
        config.resolution = 64
        config.crossHeads = 4
        config.dropout = 0
        configure(&config)
        let model = try IPIQAModel(clip: CLIPModel(config: tinyCLIP, seed: 3), config: config)
        model.setMode(training: true)
        return model
    }

    /// Scripts/clip_reference.py `pattern_images`, channels-last.
    static func patternImages(_ n: Int, _ size: Int) -> Tensor {
        let t = Tensor(uninitialized: [n, size, size, 3])
        for b in 0..<n { for y in 0..<size { for x in 0..<size { for c in 0..<3 {
            let idx = Double(y * size + x)
            let v = 1.5 * sin(0.1 * idx + 1.3 * Double(c) + 0.7 * Double(b)) + 0.25 * cos(0.037 * idx * Double(c + 1))
            t.pointer[((b * size + y) * size + x) * 3 + c] = Float(v)
        } } } }
        return t
    }

    static let tokens: [[Int32]] = [[98, 17, 56, 3, 99], [98, 5, 60, 61, 62, 99], [98, 11, 99]].map { $0 + Array(repeating: 0, count: 77 - $0.count) }

    static func batch(_ n: Int = 3, size: Int = 64) -> TrainingBatch {
        TrainingBatch(images: patternImages(n, size), tokens: Array(tokens.prefix(n)),
                      targets: Tensor(shape: [n, 2], values: (0..<(2 * n)).map { Float($0 % 5) + 0.5 }),
                      names: (0..<n).map { "img\($0).png" })
    }

    static func snapshot(_ model: IPIQAModel, under prefix: String) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.namedParameters().filter { keyIsUnder($0.0, prefix: prefix) }.map { ($0.0, $0.1.value.array) })
    }
}

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
