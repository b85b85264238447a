import CLIP
import Foundation
import Imaging
import NN
import Tensor
import Testing
@testable import IQAModel
import IQAScoring
import IQATestSupport
import IQATraining

/// The `paper+similarity` fusion (beyond the paper): `[v; c; BN(s)]`, `s = [v̂ ⊙ t̂; v̂ · t̂]`.
@Suite("Fusion paper+similarity: features, gradients, file format, input paths, training and scoring", .serialized)
struct FusionTests {
    static func similarityModel() throws -> IPIQAModel { try TrainerFixtures.model { $0.fusion = .paperSimilarity } }

    @Test("similarityFeatures equals x̂ ⊙ ŷ with the cosine last, computed in double (x̂ = x/‖x‖; abs. 1e-6)")
    func similarityFeaturesMatchDouble() {
        var rng = SeededGenerator(seed: 71)
        let n = 4, e = 16
        let image = Tensor.randn([n, e], std: 3, using: &rng), text = Tensor.randn([n, e], std: 0.2, using: &rng)
        let s = IPIQAModel.similarityFeatures(image: Var(image), text: Var(text)).value
        #expect(s.shape == [n, e + 1])
        for i in 0..<n {
            let x = (0..<e).map { Double(image.pointer[i * e + $0]) }, y = (0..<e).map { Double(text.pointer[i * e + $0]) }
            let nx = x.reduce(0) { $0 + $1 * $1 }.squareRoot(), ny = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let product = (0..<e).map { x[$0] / nx * y[$0] / ny }
            for j in 0..<e { #expect(abs(Double(s.pointer[i * (e + 1) + j]) - product[j]) <= 1e-6, "row \(i) column \(j)") }
            #expect(abs(Double(s.pointer[i * (e + 1) + e]) - product.reduce(0, +)) <= 1e-6, "row \(i) cosine")
        }
    }

    @Test("gradient check of the paper+similarity scores in training mode (BN on batch statistics): similarity BN weight, a head weight, the [QA] token (central differences, rel. ≤ 1e-2)")
    func gradients() throws {
        let model = try Self.similarityModel()
        let batch = TrainerFixtures.batch()
        let features = withoutGradients { model.clip.visual.trunk(Var(batch.images)) }.value
        let u = try #require(model.similarityEmbedding(images: batch.images))
        let norm = try #require(model.similarityNorm)
        var rng = SeededGenerator(seed: 72)
        norm.weight.value.assign(Tensor.randn(norm.weight.shape, mean: 1, std: 0.3, using: &rng))
        let headWeight = try #require(model.namedParameters().first { $0.0 == "head.out_proj.weight" }?.1)
        // The [QA] vector starts as the end-of-text embedding row (entries ~0.02); at that scale a 1e-2 probe is a large
        // step through the text encoder's first LayerNorm, so the check runs at a unit-scale [QA] vector instead.
        let qa = try #require(model.qaToken)
        qa.value.assign(Tensor.randn(qa.shape, using: &rng))
        let report = gradientCheck(inputs: [norm.weight, headWeight, qa]) {
            model.scores(features: Var(features), text: try! model.textFeature(batch.tokens), similarity: u).scores
        }
        #expect(report.maxRelativeError <= 1e-2, "\(report)")
        #expect(norm.weight.grad?.array.contains { $0 != 0 } == true && qa.grad?.array.contains { $0 != 0 } == true)
    }

    @Test("u is CLIP's own image embedding at its native resolution: a 128-px model's u equals CLIP (64 px, eval mode) on the images average-pooled to 64 px (rel. L2 ≤ 1e-5), without gradient and without touching BatchNorm statistics")
    func similarityEmbeddingIsCLIPs() throws {
        let model = try TrainerFixtures.model { $0.fusion = .paperSimilarity; $0.resolution = 128 }     // training mode
        let images = TrainerFixtures.batch(3, size: 128).images
        let before = model.clip.visual.stateDict()
        let u = try #require(model.similarityEmbedding(images: images))
        let reference = CLIPModel(config: TrainerFixtures.tinyCLIP, seed: 3)
        reference.eval()
        let expected = withoutGradients { reference.encodeImage(NativeGridPooling(from: 128, to: 64)(Var(images))) }.value
        #expect(u.shape == [3, 16])
        #expect(relativeL2(u, expected) <= 1e-5)
        let after = model.clip.visual.stateDict()
        #expect(before.keys.allSatisfy { before[$0]?.array == after[$0]?.array })
        #expect(model.clip.visual.isTraining)
    }

    @Test("a paper+similarity model saved with IPIQACheckpoint and loaded back keeps its fusion, its similarity_norm state and its exact scores")
    func checkpointRoundTrip() throws {
        let scratch = try ScratchFolder("fusion-save")
        defer { scratch.remove() }
        let model = try Self.similarityModel()
        let batch = TrainerFixtures.batch()
        // Two training-mode passes move the running statistics away from their initial values.
        for _ in 0..<2 { _ = try withoutGradients { try model.forward(Var(batch.images), tokens: batch.tokens) } }
        let keys = ["similarity_norm.weight", "similarity_norm.bias", "similarity_norm.running_mean", "similarity_norm.running_var"]
        let state = model.stateDict()
        #expect(keys.allSatisfy { state[$0]?.shape == [17] })
        #expect(state["similarity_norm.running_mean"]?.array.contains { $0 != 0 } == true)
        model.setMode(training: false)
        let url = scratch.file("similarity.safetensors")
        try IPIQACheckpoint.save(model, to: url)
        let loaded = try IPIQACheckpoint.load(url).model
        #expect(loaded.config.fusion == .paperSimilarity && loaded.config == model.config && loaded.similarityNorm != nil)
        let reloaded = loaded.stateDict()
        for key in keys { #expect(reloaded[key]?.array == state[key]?.array, "\(key)") }
        func scores(_ m: IPIQAModel) throws -> [Float] {
            try withoutGradients { try m.forward(Var(batch.images), tokens: batch.tokens) }.scores.value.array
        }
        #expect(try scores(loaded) == scores(model))
    }

    @Test("a stored configuration without the fusion key (files written before it existed) decodes as the paper's fusion")
    func configurationWithoutFusion() throws {
        var config = IPIQAConfiguration(outputs: 2)
        config.fusion = .paperSimilarity
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any])
        #expect(object["fusion"] as? String == "paper+similarity")
        object["fusion"] = nil
        let decoded = try JSONDecoder().decode(IPIQAConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded.fusion == .paper)
        config.fusion = .paper
        #expect(decoded == config)
    }

    @Test("images and cached layer4 maps give the same scores for both fusions, cached projections for the paper's (rel. ≤ 1e-5); projections refuse paper+similarity",
          arguments: IPIQAConfiguration.Fusion.allCases)
    func inputPathsAgree(fusion: IPIQAConfiguration.Fusion) throws {
        let model = try TrainerFixtures.model { $0.fusion = fusion }
        let batch = TrainerFixtures.batch()
        _ = try withoutGradients { try model.forward(Var(batch.images), tokens: batch.tokens) }   // non-trivial BN statistics
        model.setMode(training: false)
        let text = try withoutGradients { try model.textFeature(batch.tokens) }
        let maps = withoutGradients { model.clip.visual.trunk(Var(batch.images)).value }
        let u = model.similarityEmbedding(images: batch.images)
        #expect((u == nil) == (fusion == .paper))
        let (viaImages, viaMaps) = try withoutGradients {
            (try model.scores(.images(batch.images), text: text).scores.value.array,
             try model.scores(.features(maps, similarity: u), text: text).scores.value.array)
        }
        if fusion == .paperSimilarity {
            // Cached maps without u (or with u of other images) cannot give paper+similarity scores.
            #expect(throws: IPIQAError.self) { _ = try withoutGradients { try model.scores(.features(maps, similarity: nil), text: text) } }
        }
        #expect(viaImages.count == 6)
        #expect(maxRelativeError(viaMaps, viaImages) <= 1e-5)
        let projected = ModelInput.projected(FrozenProjections.project(model, features: maps))
        if fusion == .paper {
            let viaProjections = try withoutGradients { try model.scores(projected, text: text).scores.value.array }
            #expect(maxRelativeError(viaProjections, viaImages) <= 1e-5)
        } else {
            // The similarity features need u, which projections do not hold.
            #expect(throws: IPIQAError.self) { _ = try withoutGradients { try model.scores(projected, text: text) } }
        }
    }

    @Test("Trainer with fusion paper+similarity trains, saves model_final, and Scorer on that file reports the fusion and the model's scores")
    func trainAndScore() throws {
        let data = try MiniAGIQA3k(trainPrompts: 2, testPrompts: 1)
        defer { data.remove() }
        var config = MiniAGIQA3k.config(epochs: 1)
        config.fusion = .paperSimilarity
        config.plots = false
        let out = data.file("run")
        let report = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                 output: out, progress: ProgressReporter(style: .silent)).run()
        #expect(report.complete && report.splits.first?.history.first?.trainLoss.isFinite == true)
        let file = RunLayout(out).finalModel(0)
        let scorer = try Scorer(checkpoint: file)
        #expect(scorer.model.config.fusion == .paperSimilarity && scorer.model.similarityNorm != nil)

        let model = try IPIQACheckpoint.load(file).model
        let images = Array(data.names.prefix(3)).map { data.images.appendingPathComponent($0) }
        let prompts = ["a red apple on a table", "a castle in the clouds", "two cats"]
        let pixels = try ImageBatch.load(images, size: model.config.resolution, mode: .squash)
        let tokens = try scorer.tokenizer.tokenize(prompts, contextLength: 77, truncate: true)
        let direct = try withoutGradients { try model.forward(Var(pixels), tokens: tokens) }.scores.value.array
        let scored = try scorer.score(files: images, prompts: prompts).flatMap(\.values)
        #expect(scored == direct)
        #expect(scored.allSatisfy { $0.isFinite })
    }

    @Test("validate rejects crossHeads 0, heads that do not divide the feature channels, duplicate output names and resolution 33")
    func validation() throws {
        func rejected(_ change: (inout IPIQAConfiguration) -> Void, channels: Int? = 64) -> Bool {
            var c = IPIQAConfiguration(outputs: 2)
            c.resolution = 64
            c.crossHeads = 4
            change(&c)
            do {
                try c.validate(featureChannels: channels)
                return false
            } catch IPIQAError.badConfiguration(_, let reason) {
                return !reason.isEmpty
            } catch {
                return false
            }
        }
        #expect(!rejected { _ in })
        #expect(rejected { $0.crossHeads = 0 })
        #expect(rejected { $0.crossHeads = 3 })
        #expect(rejected { $0.outputNames = ["quality", "quality"] })
        #expect(rejected { $0.resolution = 33 })
        #expect(throws: IPIQAError.self) { try TrainerFixtures.model { $0.crossHeads = 3 } }
    }
}
