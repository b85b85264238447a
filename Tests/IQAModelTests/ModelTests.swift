import CLIP
import Foundation
import NN
import Tensor
import Testing
@testable import IQAModel
import IQATestSupport

@Suite("IP-IQA model: what the prompt path touches and what it freezes")
struct ModelTests {
    @Test("the image-only model has no cross pool or [QA], trains only the visual tower and head, and never runs the text encoder")
    func imageOnlySkipsText() throws {
        let model = try TrainerFixtures.model { $0.useText = false }
        #expect(model.crossPool == nil && model.qaToken == nil && model.similarityNorm == nil)
        #expect(model.namedParameters().filter { $0.1.requiresGrad && !$0.0.hasPrefix("clip.visual") && !$0.0.hasPrefix("head.") }.isEmpty)
        let batch = TrainerFixtures.batch(2)
        mseLoss(try model.forward(Var(batch.images), tokens: []).scores, Var(batch.targets)).backward()
        model.setMode(training: false)
        _ = try withoutGradients { try model.forward(Var(batch.images), tokens: []) }
        #expect(model.textEncodings == 0)

        let withText = try TrainerFixtures.model()
        _ = try withText.forward(Var(batch.images), tokens: batch.tokens)
        #expect(withText.textEncodings == 1)
    }

    @Test("qa-token table unfreezes only token_embedding in the text path, token mode only the [QA] vector, none nothing")
    func qaTokenModesFreezeTheRightThings() throws {
        func trainableOutsideVision(_ model: IPIQAModel) -> [String] {
            model.namedParameters().filter { $0.1.requiresGrad }.map(\.0)
                .filter { !$0.hasPrefix("clip.visual.") && !$0.hasPrefix("head.") && !$0.hasPrefix("txt_attnpool.") }
        }
        #expect(trainableOutsideVision(try TrainerFixtures.model { $0.qaToken = .table }) == ["clip.token_embedding.weight"])
        #expect(trainableOutsideVision(try TrainerFixtures.model { $0.qaToken = .token }) == ["qa_token"])
        #expect(trainableOutsideVision(try TrainerFixtures.model { $0.qaToken = .none }) == [])
    }

    @Test("the [QA] vector gets a non-zero gradient; the text encoder stays in eval mode while the visual tower trains")
    func qaTokenGradient() throws {
        let model = try TrainerFixtures.model()
        let batch = TrainerFixtures.batch()
        mseLoss(try model.forward(Var(batch.images), tokens: batch.tokens).scores, Var(batch.targets)).backward()
        #expect(try #require(model.qaToken?.grad).array.contains { $0 != 0 })
        #expect(model.clip.transformer.isTraining == false && model.clip.visual.isTraining == true)
    }
}
