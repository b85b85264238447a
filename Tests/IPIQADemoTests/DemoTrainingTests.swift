import Foundation
@testable import IPIQADemo
import IQAModel
import IQATraining
import Testing

extension DemoSuites {
    @Suite("ipiqa demo trains every variant as a Trainer run with --freeze-trunk")
    struct DemoTrainingTests {
        /// A configuration away from the presets, so that every value below is seen to come from it.
        static var custom: DemoConfiguration {
            var c = DemoConfiguration.quick
            c.splits = 4
            c.seed = 7
            c.iqaResolution = 96
            c.crossHeads = 2
            c.training.epochs = 3
            c.training.batchSize = 16
            c.training.learningRate = 5e-4
            c.evaluationThreads = 2
            return c
        }

        @Test("each trained variant's TrainingConfiguration: --freeze-trunk on cached f16 maps, the demo's splits, seed, size, epochs and rates; valid",
              arguments: DemoVariant.allCases.filter(\.isTrained))
        func trainingConfiguration(variant: DemoVariant) throws {
            let demo = Self.custom
            let c = demo.trainingConfiguration(for: variant)
            #expect(c.freezeTrunk && !c.freezeKV && c.featurePrecision == .f16)
            #expect(c.splits == demo.splits && c.seed == demo.seed && c.epochs == demo.training.epochs)
            #expect(c.resolution == demo.iqaResolution && c.crossHeads == demo.crossHeads && c.dropout == demo.dropout)
            #expect(c.batchSize == demo.training.batchSize && c.learningRate == demo.training.learningRate
                    && c.headLearningRateScale == demo.training.headScale && c.threads == demo.evaluationThreads)
            // The demo feeds every training image each epoch, unflipped (the cached maps are of unflipped images).
            #expect(!c.dropLast && c.flipProbability == 0 && !c.plots)
            try c.validate()
        }

        @Test("each variant's model is the one its table row names: prompt use, fusion, [QA] token, head",
              arguments: DemoVariant.allCases.filter(\.isTrained))
        func variantModel(variant: DemoVariant) throws {
            let m = Self.custom.trainingConfiguration(for: variant).modelConfiguration(outputNames: ["quality", "alignment"])
            #expect(m.useText == (variant != .imageOnly))
            let fusion: IPIQAConfiguration.Fusion? = variant == .imageOnly ? nil : (variant == .paper ? .paper : .paperSimilarity)
            #expect(m.effectiveFusion == fusion && variant.fusion == fusion)
            #expect((fusion == .paperSimilarity) == variant.rawValue.hasPrefix("ip-iqa-similarity"))
            #expect(m.qaToken == (variant == .similarityNoQA ? .none : .token))
            #expect(m.head == (variant == .similarityLinear ? .linear : .mlp))
            #expect(variant.usesImage2Prompt == (variant != .similarityNoI2P))
            try m.validate(featureChannels: Self.custom.architecture.configuration.featureChannels)
        }

        @Test("a setting the training runs cannot use is refused before anything runs, by name")
        func refusedSettings() throws {
            var bad = DemoConfiguration.quick
            bad.crossHeads = 7
            #expect(throws: DemoError.self) { try bad.validate() }
            bad = .quick
            bad.training.batchSize = 0
            #expect { try bad.validate() } throws: { $0.localizedDescription.contains("training") }
        }
    }
}
