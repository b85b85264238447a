import CLIP
import Foundation
import Imaging
import NN
import Tensor
import IQATestSupport
import Testing
@testable import IQAModel
@testable import IQATraining

/// Two identically built models, a step on each, and the comparison of everything that trains.
struct StepComparison {
    /// Loss, then per trainable parameter: gradient (before the update) and value after one AdamW step.
    struct Outcome {
        var loss = 0.0
        var grads: [String: [Float]] = [:]
        var after: [String: [Float]] = [:]
    }

    static func outcome(_ model: IPIQAModel, config: TrainingConfiguration, batch: StepBatch, text: TextFeatureSource?) throws -> Outcome {
        TrainingModes.setMode(model, training: true, config: config)
        let trainable = model.namedParameters().filter { $0.1.requiresGrad }
        // Gradients alone (the step below recomputes them identically).
        var out = Outcome()
        let features = try TrainingStep.textFeatures(model, batch.tokens, source: text)
        mseLoss(try model.scores(batch.input, text: features).scores, Var(batch.targets)).backward()
        for (name, v) in trainable { out.grads[name] = v.grad?.array ?? [] }
        model.zeroGrad()
        let optimizer = TrainingStep.makeOptimizer(model, config: config)
        out.loss = try TrainingStep.run(model: model, optimizer: optimizer, batch: batch, microBatch: batch.count, maxGradNorm: nil, text: text)
        for (name, v) in trainable { out.after[name] = v.value.array }
        return out
    }

    /// Loss, gradients and updated parameters agree to `tolerance`:
    ///
    ///     loss            |a − b| ≤ tol · |b|
    ///     gradients       max over all parameters |a − b| ≤ tol · G        (G = the largest gradient entry)
    ///     text-facing     per tensor max|a − b| ≤ tol · max|b|             (`checked` names, e.g. qa_token)
    ///     after the step  per tensor, the same, for every parameter whose gradient reaches 1e-3 · G
    ///
    /// Parameters with a gradient below 1e-3 · G are analytically gradient-free up to rounding — `k_proj` biases
    /// (softmax is shift-invariant), BatchNorm gains whose scale the next BatchNorm removes — and AdamW's first step
    /// turns their rounding noise into updates of up to ±lr, so they are excluded from the last check only.
    static func expectEqual(_ a: Outcome, _ b: Outcome, tolerance: Double, checked: [String] = [],
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(abs(a.loss - b.loss) <= tolerance * abs(b.loss), "loss \(a.loss) vs \(b.loss)", sourceLocation: sourceLocation)
        #expect(Set(a.grads.keys) == Set(b.grads.keys), sourceLocation: sourceLocation)
        let scale = b.grads.values.reduce(0.0) { max($0, $1.reduce(0.0) { max($0, Double(abs($1))) }) }
        #expect(scale > 0, "no gradient at all", sourceLocation: sourceLocation)
        var worst = 0.0
        for (name, g) in b.grads {
            let other = a.grads[name] ?? []
            #expect(other.count == g.count, "\(name) gradient size", sourceLocation: sourceLocation)
            worst = max(worst, zip(other, g).reduce(0.0) { max($0, Double(abs($1.0 - $1.1))) })
            let largest = g.reduce(0.0) { max($0, Double(abs($1))) }
            if checked.contains(name) {
                let e = maxRelativeError(other, g)
                #expect(e <= tolerance, "\(name) gradient rel. error \(e)", sourceLocation: sourceLocation)
            }
            if largest >= 1e-3 * scale {
                let p = maxRelativeError(a.after[name] ?? [], b.after[name] ?? [])
                #expect(p <= tolerance, "\(name) after the step: rel. error \(p)", sourceLocation: sourceLocation)
            }
        }
        #expect(worst <= tolerance * scale, "gradients: max abs. difference \(worst) vs largest entry \(scale)", sourceLocation: sourceLocation)
    }
}

/// Three (or `count`) small pattern PNGs in a scratch folder, for the feature store.
struct ImageFolder {
    let scratch: ScratchFolder
    let urls: [URL]
    var directory: URL { scratch.url }

    init(count: Int) throws {
        scratch = try ScratchFolder("modes")
        urls = try PatternImages.writePNGs(count: count, to: scratch.url)
    }

    func remove() { scratch.remove() }
}

@Suite("Training modes: exact text shortcuts and the official text quirk")
struct TextModesTests {
    static func config(_ configure: (inout TrainingConfiguration) -> Void = { _ in }) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.resolution = 64
        c.crossHeads = 4
        c.dropout = 0
        c.learningRate = 1e-3
        configure(&c)
        return c
    }

    /// The tiny model of ``TrainerFixtures`` under `config`'s modes.
    static func model(_ config: TrainingConfiguration) throws -> IPIQAModel {
        let model = try IPIQAModel(clip: CLIPModel(config: TrainerFixtures.tinyCLIP, seed: 3),
                                   config: config.modelConfiguration(outputNames: ["quality", "alignment"]))
        TrainingModes.apply(config, to: model)
        return model
    }

    @Test("[QA] prefix cache in a training step: same loss, gradients and updated parameters as the full text pass (rel. ≤ 1e-5)")
    func qaPrefixStep() throws {
        let config = Self.config()
        let batch = StepBatch(TrainerFixtures.batch())
        let fast = try Self.model(config), full = try Self.model(config)
        let source = TextFeatureSource(model: fast)
        #expect(source.path == .qaPrefix)
        #expect(TextFeatureSource(model: full, enabled: false).path == .full)
        let a = try StepComparison.outcome(fast, config: config, batch: batch, text: source)
        let b = try StepComparison.outcome(full, config: config, batch: batch, text: nil)
        StepComparison.expectEqual(a, b, tolerance: 1e-5, checked: ["qa_token", "txt_attnpool.cross_attn.q_proj.weight", "head.out_proj.weight"])
        #expect(a.grads["qa_token"]?.contains { $0 != 0 } == true && source.cachedPrompts == 3)
    }

    @Test("prompt without [QA]: the constant per-prompt text feature gives the full pass's step (rel. ≤ 1e-5) and is computed once")
    func constantTextStep() throws {
        let config = Self.config { $0.qaToken = .none }
        let batch = StepBatch(TrainerFixtures.batch())
        let fast = try Self.model(config), full = try Self.model(config)
        let source = TextFeatureSource(model: fast)
        #expect(source.path == .constant)
        let a = try StepComparison.outcome(fast, config: config, batch: batch, text: source)
        let b = try StepComparison.outcome(full, config: config, batch: batch, text: nil)
        StepComparison.expectEqual(a, b, tolerance: 1e-5, checked: ["txt_attnpool.cross_attn.q_proj.weight", "head.out_proj.weight"])
        let before = fast.textEncodings
        _ = try source.features(batch.tokens.reversed())
        #expect(fast.textEncodings == before && source.cachedPrompts == 3)
    }

    @Test("--text-extras official trains the text positional embedding and text_projection at the base rate; the shortcut is off")
    func officialTextExtras() throws {
        let config = Self.config { $0.textExtras = .official }
        let model = try Self.model(config)
        let source = TextFeatureSource(model: model)
        #expect(source.path == .full)
        let (base, head) = model.parameterGroups()
        #expect(base.contains { $0.0 == "clip.positional_embedding" } && base.contains { $0.0 == "clip.text_projection" })
        #expect(!head.contains { $0.0.hasPrefix("clip.") })
        #expect(!base.contains { $0.0.hasPrefix("clip.transformer") || $0.0.hasPrefix("clip.ln_final") || $0.0.hasPrefix("clip.token_embedding") })
        let frozenBefore = TrainerFixtures.snapshot(model, under: "clip.transformer")
        let posBefore = model.clip.positionalEmbedding.value.array, projBefore = model.clip.textProjection.value.array
        let optimizer = TrainingStep.makeOptimizer(model, config: config)
        TrainingModes.setMode(model, training: true, config: config)
        _ = try TrainingStep.run(model: model, optimizer: optimizer, batch: TrainerFixtures.batch(), microBatch: 3, maxGradNorm: nil, text: source)
        #expect(model.clip.positionalEmbedding.value.array != posBefore && model.clip.textProjection.value.array != projBefore)
        #expect(TrainerFixtures.snapshot(model, under: "clip.transformer") == frozenBefore)
        // The default (paper) keeps them frozen.
        let paper = try Self.model(Self.config())
        #expect(!paper.clip.positionalEmbedding.requiresGrad && !paper.clip.textProjection.requiresGrad)
    }
}
