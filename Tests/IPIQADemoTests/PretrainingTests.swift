import CLIP
import Foundation
import Imaging
import Tensor
import IQATestSupport
import Testing
@testable import SynthAGI
@testable import IPIQADemo

extension DemoSuites {
    @Suite("Tiny CLIP pre-training: schedule, pixels, contrastive steps")
    struct PretrainingTests {
        @Test("cosine schedule: linear warm-up to the base rate, half-cosine to 0 (formula, tolerance 1e-12)")
        func schedule() {
            let s = CosineSchedule(base: 1e-3, warmup: 10, total: 110)
            #expect(abs(s(0) - 1e-4) < 1e-12 && abs(s(9) - 1e-3) < 1e-12)
            #expect(abs(s(10) - 1e-3) < 1e-12)
            #expect(abs(s(60) - 0.5e-3) < 1e-12)
            #expect(abs(s(110)) < 1e-12 && abs(s(500)) < 1e-12)
            #expect(abs(s(35) - 1e-3 * 0.5 * (1 + cos(Double.pi * 0.25))) < 1e-12)
        }

        @Test("PixelTensor equals Imaging.preprocess of a same-size image (CLIP normalisation; tolerance 1e-5)")
        func pixels() throws {
            let world = try SynthWorld(seed: 3)
            let pairs = try world.corpusPairs(CorpusSpec(count: 2, style: .natural), range: 0..<2)
            let x = try PixelTensor.make(pairs.map(\.image))
            #expect(x.shape == [2, 64, 64, 3])
            for (i, p) in pairs.enumerated() {
                let reference = try preprocess(PixelTensor.rgbImage(p.image), size: 64, mode: .squash)
                let got = Array(x.array[(i * reference.count)..<((i + 1) * reference.count)])
                #expect(zip(got, reference).map { abs($0 - $1) }.max()! < 1e-5)
            }
            let odd = SynthImage(width: 2, height: 1, pixels: [0, 0, 0, 1, 1, 1])
            #expect(throws: DemoError.self) { try PixelTensor.make([pairs[0].image, odd]) }
            #expect(throws: DemoError.self) { try PixelTensor.make([]) }
        }

        @Test("contrastive steps lower the loss on a fixed batch and keep the logit scale within [0, ln 100]; seeded → repeatable")
        func contrastive() throws { try ThreadCountLock.exclusive { try contrastiveLocked() } }
        func contrastiveLocked() throws {
            Threading.setThreads(2)
            func run() throws -> [Float] {
                let world = try SynthWorld(seed: 5)
                let pairs = try world.corpusPairs(CorpusSpec(count: 16, style: .natural), range: 0..<16)
                let tokens = try CLIPTokenizerBox.shared.tokenize(pairs.map(\.prompt), contextLength: 77, truncate: true)
                let images = try PixelTensor.make(pairs.map(\.image))
                var config = ContrastiveConfiguration()
                config.batchSize = 16
                config.steps = 12
                config.warmupSteps = 2
                config.learningRate = 3e-3
                let clip = CLIPModel(config: TinyCLIPArchitecture().configuration, seed: 9)
                let trainer = try ContrastivePretrainer(clip: clip, config: config)
                var losses: [Float] = []
                try trainer.train(count: 16, batch: { _ in (images, tokens) }, progress: { losses.append($0.loss) })
                let s = clip.logitScale.value.item
                #expect(s >= 0 && s <= Float(log(100.0)) + 1e-6)
                return losses
            }
            let a = try run()
            #expect(a.count == 12 && a.last! < a.first! - 0.3)
            #expect(try run() == a)
        }

        @Test("retrieval check: identical embeddings retrieve themselves (top-1 = 1 when images equal their texts' order)")
        func retrieval() throws { try ThreadCountLock.exclusive { try retrievalLocked() } }
        func retrievalLocked() throws {
            Threading.setThreads(2)
            let world = try SynthWorld(seed: 5)
            let pairs = try world.corpusPairs(CorpusSpec(count: 8, style: .natural), range: 0..<8)
            let tokens = try CLIPTokenizerBox.shared.tokenize(pairs.map(\.prompt), contextLength: 77, truncate: true)
            let clip = CLIPModel(config: TinyCLIPArchitecture().configuration, seed: 1)
            let r = try RetrievalCheck.topOne(clip: clip, images: PixelTensor.make(pairs.map(\.image)), tokens: tokens)
            #expect((0...1).contains(r.imageToText) && (0...1).contains(r.textToImage))
        }
    }
}
