import CLIP
import Checkpoints
import Foundation
import Imaging
import NN
import Tensor
import IQATestSupport
import Testing
@testable import IQAModel
@testable import IQATraining

@Suite("Training modes: frozen trunk on cached maps, frozen k/v on cached projections", .serialized)
struct FrozenTrunkTests {
    static let flips = [false, true, false]

    static func batch(_ input: ModelInput) -> StepBatch {
        let b = TrainerFixtures.batch()
        return StepBatch(input: input, tokens: b.tokens, targets: b.targets, names: b.names)
    }

    @Test("cached-feature step (F32 store, one entry flipped) equals the full step with a frozen trunk: loss, gradients, parameters (rel. ≤ 1e-5)")
    func cachedFeaturesEqualFrozenTrunk() throws {
        let folder = try ImageFolder(count: 3)
        defer { folder.remove() }
        let config = TextModesTests.config { $0.freezeTrunk = true }
        let full = try TextModesTests.model(config), cached = try TextModesTests.model(config)
        #expect(!full.namedParameters().contains { $0.0.hasPrefix("clip.visual.layer") && $0.1.requiresGrad })
        #expect(full.clip.visual.attnpool.positionalEmbedding.requiresGrad)

        let images = try ImageBatch.load(folder.urls, size: 64, mode: .squash, flips: Self.flips)
        let store = try FeatureStore(root: folder.directory.appendingPathComponent("cache"), model: cached, content: .features, precision: .f32)
        let files = try store.prepare(zip(folder.urls, Self.flips).map { StoreItem(image: $0, flipped: $1) })
        let a = try StepComparison.outcome(cached, config: config, batch: Self.batch(try store.reader.input(files)), text: nil)
        let b = try StepComparison.outcome(full, config: config, batch: Self.batch(.images(images)), text: nil)
        StepComparison.expectEqual(a, b, tolerance: 1e-5, checked: ["clip.visual.attnpool.positional_embedding", "txt_attnpool.positional_embedding",
                                                                 "txt_attnpool.cross_attn.k_proj.weight", "qa_token"])
        // Frozen trunk: its BatchNorm statistics did not move in the full step.
        #expect(full.namedBuffers().map(\.1.array) == cached.namedBuffers().map(\.1.array))
    }

    @Test("freeze-kv step on cached projections equals the frozen-trunk step with frozen k/v (rel. ≤ 1e-5); P still trains")
    func projectionsEqualFrozenKV() throws {
        let folder = try ImageFolder(count: 3)
        defer { folder.remove() }
        for useText in [true, false] {
            let config = TextModesTests.config { $0.freezeKV = true; $0.useText = useText }
            let a = try TextModesTests.model(config), b = try TextModesTests.model(config)
            for prefix in TrainingModes.frozenKVPrefixes where useText || prefix.hasPrefix("clip") {
                #expect(!a.namedParameters().contains { keyIsUnder($0.0, prefix: prefix) && $0.1.requiresGrad })
            }
            let root = folder.directory.appendingPathComponent("cache")
            let items = zip(folder.urls, Self.flips).map { StoreItem(image: $0, flipped: $1) }
            let kv = try FeatureStore(root: root, model: a, content: .projections, precision: .f32)
            let maps = try FeatureStore(root: root, model: b, content: .features, precision: .f32)
            let tokens = useText ? TrainerFixtures.batch().tokens : []
            func batch(_ input: ModelInput) -> StepBatch {
                let s = Self.batch(input)
                return StepBatch(input: input, tokens: tokens, targets: s.targets, names: s.names)
            }
            let fast = try StepComparison.outcome(a, config: config, batch: batch(try kv.reader.input(kv.prepare(items))), text: nil)
            let slow = try StepComparison.outcome(b, config: config, batch: batch(try maps.reader.input(maps.prepare(items))), text: nil)
            StepComparison.expectEqual(fast, slow, tolerance: 1e-5, checked: ["clip.visual.attnpool.positional_embedding",
                                                                              "txt_attnpool.positional_embedding", "clip.visual.attnpool.q_proj.weight"])
            #expect(fast.grads["clip.visual.attnpool.positional_embedding"]?.contains { $0 != 0 } == true)
            #expect(!useText || fast.grads["txt_attnpool.positional_embedding"]?.contains { $0 != 0 } == true)
        }
    }

    @Test("feature store: F16 entries round-trip (fresh = hit), are keyed by image bytes and trunk weights, written atomically, bad entries named")
    func storeKeysAndPrecision() throws {
        let folder = try ImageFolder(count: 2)
        defer { folder.remove() }
        let root = folder.directory.appendingPathComponent("cache")
        let model = try TextModesTests.model(TextModesTests.config { $0.freezeTrunk = true })
        let items = folder.urls.map { StoreItem(image: $0, flipped: false) }

        let first = try FeatureStore(root: root, model: model, content: .features)
        guard case let .features(fresh, _) = try first.reader.input(first.prepare(items)) else { Issue.record("not features"); return }
        #expect(first.computed == 2)
        let second = try FeatureStore(root: root, model: model, content: .features)
        guard case let .features(hit, _) = try second.reader.input(second.prepare(items)) else { Issue.record("not features"); return }
        #expect(second.computed == 0 && hit.array == fresh.array)

        let exact = try FeatureStore(root: root, model: model, content: .features, precision: .f32)
        guard case let .features(f32, _) = try exact.reader.input(exact.prepare(items)) else { Issue.record("not features"); return }
        for (h, f) in zip(hit.array, f32.array) { #expect(abs(h - f) <= abs(f) * 0x1p-11 + 1e-7) }
        #expect(exact.directory != first.directory)

        // A changed image gets a new entry; a changed trunk weight a new folder.
        let fileBefore = try first.file(for: items[0])
        try Data(try Data(contentsOf: folder.urls[1])).write(to: folder.urls[0])
        #expect(try FeatureStore(root: root, model: model, content: .features).file(for: items[0]) != fileBefore)
        model.clip.visual.layers[0].items[0].conv1.weight.value.pointer[0] += 1
        #expect(try FeatureStore(root: root, model: model, content: .features).directory != first.directory)
        // Only whole entries in the folder (atomic writes leave no temp files).
        let names = try FileManager.default.contentsOfDirectory(atPath: first.directory.path)
        #expect(names.count == 2 && names.allSatisfy { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") })

        // A truncated entry is reported with its path.
        let victim = first.directory.appendingPathComponent(names[0])
        try Data(try Data(contentsOf: victim).prefix(40)).write(to: victim)
        do {
            _ = try first.reader.input([victim])
            Issue.record("a truncated entry must not load")
        } catch let e as FeatureStoreError {
            #expect(e.localizedDescription.contains(victim.path))
        }
    }

    @Test("feature store, paper+similarity: u is stored beside the trunk maps, which a paper-fusion store shares (no recomputation); a hit equals the model's u of the same images (F16 rounding) and a missing u is named")
    func storeSimilarityEntries() throws {
        let folder = try ImageFolder(count: 2)
        defer { folder.remove() }
        let root = folder.directory.appendingPathComponent("cache")
        let paper = try TextModesTests.model(TextModesTests.config { $0.freezeTrunk = true })
        let similarity = try TextModesTests.model(TextModesTests.config { $0.freezeTrunk = true; $0.fusion = .paperSimilarity })
        let items = folder.urls.map { StoreItem(image: $0, flipped: false) } + [StoreItem(image: folder.urls[0], flipped: true)]

        let maps = try FeatureStore(root: root, model: paper, content: .features)
        guard case let .features(plain, nil) = try maps.reader.input(maps.prepare(items)) else { Issue.record("paper entries hold no u"); return }
        #expect(maps.computed == 3)
        let store = try FeatureStore(root: root, model: similarity, content: .features)
        #expect(store.directory.path == maps.directory.path)
        guard case let .features(shared, u?) = try store.reader.input(store.prepare(items)) else { Issue.record("no u"); return }
        #expect(store.computed == 3 && shared.array == plain.array)     // three u entries, no trunk map again
        let pixels = try ImageBatch.load(items.map(\.image), size: similarity.config.resolution, mode: .squash, flips: items.map(\.flipped))
        let direct = try #require(similarity.similarityEmbedding(images: pixels))
        #expect(u.shape == direct.shape && maxRelativeError(u.array, direct.array) <= 2e-3)
        let again = try FeatureStore(root: root, model: similarity, content: .features)
        _ = try again.prepare(items)
        #expect(again.computed == 0)

        let simFolder = try #require(store.reader.similarity?.directory)
        let file = try store.file(for: items[1])
        try FileManager.default.removeItem(at: simFolder.appendingPathComponent(file.lastPathComponent))
        do {
            _ = try store.reader.input([file])
            Issue.record("a missing u entry must not load")
        } catch let e as FeatureStoreError {
            #expect(e.localizedDescription.contains(simFolder.path))
        }
    }

    /// Entry files of a cache folder with their modification dates.
    static func listing(_ root: URL) throws -> [String: Date] {
        try ScratchFolder.listing(root) { $0.hasSuffix(".safetensors") }
    }

    @Test("trainer with --freeze-trunk / --freeze-kv: trunk unchanged, a killed run resumes to the same numbers and weights, the cache is reused")
    func trainerEndToEnd() throws {
        let data = try MiniAGIQA3k()
        defer { data.remove() }
        let reference = try CLIPModel.load(data.clip)
        for kv in [false, true] {
            var config = MiniAGIQA3k.config(epochs: 2)
            config.freezeTrunk = !kv
            config.freezeKV = kv
            config.plots = false
            config.featureCache = data.directory.appendingPathComponent("cache").path
            let first = data.directory.appendingPathComponent("run-\(kv)-a"), second = data.directory.appendingPathComponent("run-\(kv)-b")
            let full = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                   output: first, progress: ProgressReporter(style: .silent)).run()
            let history = try #require(full.splits.first?.history)
            #expect(history.count == 2 && history.allSatisfy { $0.trainLoss.isFinite })
            let (model, _) = try IPIQACheckpoint.load(RunLayout(first).finalModel(0))
            let trained = Dictionary(uniqueKeysWithValues: model.clip.visual.namedParameters().map { ($0.0, $0.1.value.array) })
            for (name, v) in reference.visual.namedParameters() where !keyIsUnder(name, prefix: "attnpool") {
                #expect(trained[name] == v.value.array, "\(name) changed")
            }
            let cache = try Self.listing(URL(fileURLWithPath: try #require(config.featureCache)))
            #expect(!cache.isEmpty)

            let killed = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                     output: second, progress: ProgressReporter(style: .silent))
            killed.afterStep = { event in if event.epoch == 2 && event.step == 1 { throw TrainingError.interrupted(split: 0, epoch: 2, step: 1) } }
            #expect(throws: TrainingError.self) { try killed.run() }
            let done = try Trainer.resume(directory: second, progress: ProgressReporter(style: .silent)).run()
            #expect(done.splits.map { $0.history.map(\.numbers) } == full.splits.map { $0.history.map(\.numbers) })
            #expect(try ResumeTests.tensors(RunLayout(second).finalModel(0)) == ResumeTests.tensors(RunLayout(first).finalModel(0)))
            #expect(try Self.listing(URL(fileURLWithPath: try #require(config.featureCache))) == cache)
        }
    }
}
