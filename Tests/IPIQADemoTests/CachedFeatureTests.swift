import CLIP
import CLIPTokenizer
import Foundation
@testable import IQAModel
@testable import SynthAGI
@testable import IPIQADemo
import Imaging
import Tensor
import Testing

/// One tokenizer for all tests (loading it takes ~0.1 s).
enum CLIPTokenizerBox {
    static let shared = try! CLIPTokenizer()
}

/// A tiny IQA fixture on disk: `n` world images written as PNG, their prompts and MOS.
func tinyIQAFixture(_ n: Int, folder: URL) throws -> (urls: [URL], prompts: [String], targets: [[Double]]) {
    let set = try SynthWorld(seed: 11).makeIQASet(prompts: max(1, n / 2), generators: 2)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var urls: [URL] = []
    for s in set.samples.prefix(n) {
        let url = folder.appendingPathComponent(s.name)
        try ImageCodec.writePNG(PixelTensor.rgbImage(s.image), to: url)
        urls.append(url)
    }
    let samples = Array(set.samples.prefix(n))
    return (urls, samples.map(\.prompt), samples.map { [$0.mos.quality, $0.mos.alignment] })
}

extension DemoSuites {
    @Suite("FeatureCache and CachedFeatureTrainer (frozen-trunk IP-IQA)")
    struct CachedFeatureTests {
        @Test("feature cache: equals the trunk (F16-rounded, rel. tolerance 1e-3); memory hit; a new cache reads the disk file")
        func cache() throws {
            Threading.setThreads(2)
            let folder = temporaryFolder("features")
            defer { try? FileManager.default.removeItem(at: folder) }
            let (urls, _, _) = try tinyIQAFixture(4, folder: folder.appendingPathComponent("images"))
            let clip = CLIPModel(config: TinyCLIPArchitecture().configuration, seed: 2)
            clip.eval()
            let cache = FeatureCache(directory: folder.appendingPathComponent("cache"))
            let maps = try cache.features(model: clip, images: urls, resolution: 128)
            #expect(maps.shape == [4, 4, 4, 256] && cache.computedImages == 4)
            let direct = withoutGradients { clip.visual.trunk(Var(try! ImageBatch.load(urls, size: 128, mode: .squash))) }.value
            let scale = direct.array.map(abs).max()!
            #expect(zip(maps.array, direct.array).map { abs($0 - $1) }.max()! <= 1e-3 * scale)
            _ = try cache.features(model: clip, images: urls, resolution: 128)
            #expect(cache.computedImages == 4)
            let fresh = FeatureCache(directory: folder.appendingPathComponent("cache"))
            let again = try fresh.features(model: clip, images: urls, resolution: 128)
            #expect(fresh.computedImages == 0 && fresh.diskHits == 1 && again.array == maps.array)
            // Another model (different fingerprint) or resolution is a different entry.
            let other = CLIPModel(config: TinyCLIPArchitecture().configuration, seed: 3)
            #expect(FeatureCache.fingerprint(other) != FeatureCache.fingerprint(clip))
            _ = try fresh.features(model: clip, images: urls, resolution: 64)
            #expect(fresh.computedImages == 4)
            #expect(throws: FeatureCacheError.self) { try fresh.features(model: clip, images: [folder.appendingPathComponent("none.png")], resolution: 64) }
            #expect(throws: FeatureCacheError.self) { try fresh.features(model: clip, images: urls, resolution: 100) }
        }

        @Test("cached training: the [QA] fast path predicts what the full model does (tolerance 1e-4); the loss falls; only post-trunk weights change")
        func training() throws {
            Threading.setThreads(2)
            let folder = temporaryFolder("cached")
            defer { try? FileManager.default.removeItem(at: folder) }
            let (urls, prompts, targets) = try tinyIQAFixture(8, folder: folder)
            let clip = CLIPModel(config: TinyCLIPArchitecture().configuration, seed: 4)
            let maps = try FeatureCache(directory: nil, halfPrecision: false).features(model: clip, images: urls, resolution: 128)
            let tokens = try CLIPTokenizerBox.shared.tokenize(prompts, contextLength: 77, truncate: true)
            let set = try CachedFeatureSet(features: maps, tokens: tokens, targets: targets)
            var mc = IPIQAConfiguration(outputs: 2)
            mc.resolution = 128
            mc.crossHeads = 4
            mc.dropout = 0
            let model = try IPIQAModel(clip: clip, config: mc)
            var tc = CachedTrainingConfig()
            tc.epochs = 30
            tc.batchSize = 4
            let trainer = try CachedFeatureTrainer(model: model, config: tc)
            let conv1 = clip.visual.conv1.weight.value.array, qa0 = model.qaToken!.value.array
            let report = try trainer.fit(set, rows: Array(0..<8))
            #expect(report.epochLosses.last! < report.epochLosses.first! * 0.5)
            #expect(clip.visual.conv1.weight.value.array == conv1 && model.qaToken!.value.array != qa0)
            let (fast, attention) = try trainer.predict(set, rows: Array(0..<8))
            model.setMode(training: false)
            let full = try withoutGradients { try model.scores(features: Var(maps), text: model.textFeature(tokens)) }.scores.value.array
            #expect(zip(fast.flatMap { $0 }, full).map { abs($0 - Double($1)) }.max()! < 1e-4)
            let maps0 = try #require(attention)
            #expect(maps0.count == 8 && maps0.allSatisfy { $0.count == 17 && abs($0.reduce(0, +) - 1) < 1e-4 })
            #expect(throws: CachedTrainingError.self) { try trainer.fit(set, rows: []) }
        }

        @Test("cached training: image-only and no-[QA] variants train; bad settings throw")
        func variants() throws {
            Threading.setThreads(2)
            let folder = temporaryFolder("variants")
            defer { try? FileManager.default.removeItem(at: folder) }
            let (urls, prompts, targets) = try tinyIQAFixture(4, folder: folder)
            let clip = CLIPModel(config: TinyCLIPArchitecture().configuration, seed: 5)
            let maps = try FeatureCache(directory: nil).features(model: clip, images: urls, resolution: 64)
            let set = try CachedFeatureSet(features: maps, tokens: CLIPTokenizerBox.shared.tokenize(prompts, contextLength: 77, truncate: true), targets: targets)
            for variant in [DemoVariant.imageOnly, .ipiqaNoQA, .ipiqaLinear] {
                let model = try IPIQAModel(clip: CLIPModel(config: TinyCLIPArchitecture().configuration, seed: 5),
                                           config: variant.modelConfig(resolution: 64, crossHeads: 4, dropout: 0.1, seed: 1))
                var tc = CachedTrainingConfig()
                tc.epochs = 2
                let trainer = try CachedFeatureTrainer(model: model, config: tc)
                try trainer.fit(set, rows: [0, 1, 2])
                let (scores, attention) = try trainer.predict(set, rows: [3])
                #expect(scores.count == 1 && scores[0].count == 2 && scores[0].allSatisfy(\.isFinite))
                #expect((attention == nil) == (variant == .imageOnly))
            }
            var bad = CachedTrainingConfig()
            bad.batchSize = 0
            #expect(throws: CachedTrainingError.self) { try bad.validate() }
            #expect(throws: CachedTrainingError.self) { try CachedFeatureSet(features: maps, tokens: [], targets: targets) }
        }
    }
}
