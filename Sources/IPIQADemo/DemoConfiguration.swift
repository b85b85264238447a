import Archive
import CLIP
import Foundation
import Image2Prompt
import Imaging
import IQAModel
import IQATraining
import SynthAGI
import Tensor

/// One row of the demo's tables: a baseline or an IP-IQA variant. Every trained key names its fusion: `paper` is the
/// paper's `[v; c]`, `similarity` the paper's fusion plus CLIPScore-style similarity features (beyond the paper,
/// ``IPIQAConfiguration/Fusion/paperSimilarity``); the ablations remove one part of the `similarity` model.
///
/// ```swift
/// DemoVariant.similarityNoQA.rawValue      // "ip-iqa-similarity-no-qa" (its key in `--json`)
/// ```
public enum DemoVariant: String, Codable, Sendable, CaseIterable {
    /// Zero-shot CLIPScore of the pre-trained tiny CLIP (cosine of image and prompt embeddings), no training.
    case clipscore
    /// The image-only model: visual attention pool → head (the paper's "w/o prompt" row).
    case imageOnly = "image-only"
    /// IP-IQA exactly as the paper fuses: Image2Prompt backbone, [QA] token, `[attnpool(F); crossPool(F, t)]` → MLP.
    case paper = "ip-iqa-paper"
    /// IP-IQA with the paper's fusion plus similarity features at the head's input (beyond the paper).
    case similarity = "ip-iqa-similarity"
    /// The similarity model on the backbone before Image2Prompt.
    case similarityNoI2P = "ip-iqa-similarity-no-i2p"
    /// The similarity model with the plain end-of-text text feature (no [QA]).
    case similarityNoQA = "ip-iqa-similarity-no-qa"
    /// The similarity model with a linear head instead of the MLP.
    case similarityLinear = "ip-iqa-similarity-linear-head"

    /// Table label.
    public var label: String {
        switch self {
        case .clipscore: return "CLIPScore (zero-shot)"
        case .imageOnly: return "Image-only"
        case .paper: return "IP-IQA, paper's fusion"
        case .similarity: return "IP-IQA + similarity (beyond paper)"
        case .similarityNoI2P: return "IP-IQA + sim., w/o Image2Prompt"
        case .similarityNoQA: return "IP-IQA + sim., w/o [QA]"
        case .similarityLinear: return "IP-IQA + sim., linear head"
        }
    }

    /// Whether the variant is trained (all but CLIPScore).
    public var isTrained: Bool { self != .clipscore }
    /// Whether it uses the Image2Prompt backbone.
    public var usesImage2Prompt: Bool { self != .similarityNoI2P && self != .clipscore }
    /// The fusion of a prompt-using trained variant (nil: CLIPScore, image-only).
    public var fusion: IPIQAConfiguration.Fusion? {
        switch self {
        case .clipscore, .imageOnly: return nil
        case .paper: return .paper
        default: return .paperSimilarity
        }
    }

    /// The variant's model settings in a training configuration.
    func apply(to c: inout TrainingConfiguration) {
        c.useText = self != .imageOnly
        c.qaToken = self == .similarityNoQA ? .none : .token
        c.head = self == .similarityLinear ? .linear : .mlp
        c.fusion = fusion ?? .paper
    }
}

/// The demo's IP-IQA training settings (everything else is ``TrainingConfiguration``'s `--freeze-trunk` run:
/// trunk maps cached once, no flips, every training image used each epoch, final epoch reported).
///
/// ```swift
/// var t = DemoTraining()
/// t.epochs = 10
/// ```
public struct DemoTraining: Codable, Sendable, Equatable {
    public var epochs = 15
    public var batchSize = 32
    /// AdamW learning rate of the pools, fusion and [QA]; the head gets `headScale ×` it (official: 10). The layers
    /// start from scratch on a frozen tiny trunk, hence far above the official 1e-5 of a pre-trained RN50.
    public var learningRate = 3e-4
    public var headScale = 10.0
    public var weightDecay = 0.0
    /// Arithmetic of the IQA training's products (``TrainingPrecision``; the CLIP pre-training stays fp32).
    public var precision: TrainingPrecision = .fp32

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DemoTraining()
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        headScale = try c.decodeIfPresent(Double.self, forKey: .headScale) ?? d.headScale
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        precision = try c.decodeIfPresent(TrainingPrecision.self, forKey: .precision) ?? d.precision
    }
}

/// Everything `ipiqa demo` does, with the default (≈ 10 min on 2 cores) and quick (≈ 1 min) settings. Each cached
/// artefact is keyed by a hash of the settings it depends on (``DemoKeys``), so changing a setting recomputes
/// exactly what it affects.
///
/// ```swift
/// var config = DemoConfiguration.quick
/// config.seed = 7
/// let result = try DemoRunner.run(config: config, directory: URL(fileURLWithPath: "ipiqa-demo"))
/// ```
public struct DemoConfiguration: Codable, Sendable, Equatable {
    /// Seed of the world (prompts, images, scores) and of every training run.
    public var seed: UInt64 = 42
    /// Worker threads (OpenBLAS and the engine): fixed, so that runs repeat exactly.
    public var threads = 2
    /// Threads while training the IP-IQA variants (small matrices: one thread wastes less time synchronising).
    public var evaluationThreads = 1
    public var world = WorldConfiguration()
    /// The AGIQA-3k-like set: prompts × generators images.
    public var prompts = 300
    public var generators = 8
    /// "Natural" pairs for contrastive pre-training (rendered in memory).
    public var naturalPairs = 16_000
    /// "AGI-style" pairs for Image2Prompt (written in the DiffusionDB layout and read back), and their mismatch rate.
    public var agiPairs = 4_000
    public var agiMismatch = 0.1
    public var architecture = TinyCLIPArchitecture()
    public var contrastive = ContrastiveConfiguration()
    public var image2prompt = DemoConfiguration.defaultImage2Prompt
    /// Fraction of Image2Prompt pairs kept by the similarity filter (threshold = that quantile of similarities).
    public var image2promptKeepFraction = 0.9
    /// IP-IQA input side (the 64-px images are upscaled, as AGIQA-3k's are to 512; grid = resolution / 32).
    public var iqaResolution = 128
    public var crossHeads = 4
    public var dropout: Float = 0.5
    /// Grouped train/test splits (80 / 20 by prompt).
    public var splits = 3
    public var trainFraction = 0.8
    public var training = DemoTraining()
    /// Arithmetic of the frozen trunk's inference passes (feature caching, zero-shot CLIPScore, figures): `auto` (the
    /// fastest plan of this CPU that keeps cosine ≥ 0.9999 to fp32 on probe images, calibrated per model), `fp32`,
    /// `bf16` or `bf16x3`.
    public var featurePasses: PrecisionRequest = .auto
    public var variants: [DemoVariant] = DemoVariant.allCases
    /// Test images shown in the attention figure.
    public var figureImages = 8

    public init() {}

    /// Decodes a JSON configuration on top of `DemoConfiguration.base` (the default or, via `userInfo[DemoConfiguration.baseKey]`,
    /// the quick preset): missing keys keep the base's values.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = (decoder.userInfo[Self.baseKey] as? DemoConfiguration) ?? DemoConfiguration()
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? d.threads
        evaluationThreads = try c.decodeIfPresent(Int.self, forKey: .evaluationThreads) ?? d.evaluationThreads
        world = try c.decodeIfPresent(WorldConfiguration.self, forKey: .world) ?? d.world
        prompts = try c.decodeIfPresent(Int.self, forKey: .prompts) ?? d.prompts
        generators = try c.decodeIfPresent(Int.self, forKey: .generators) ?? d.generators
        naturalPairs = try c.decodeIfPresent(Int.self, forKey: .naturalPairs) ?? d.naturalPairs
        agiPairs = try c.decodeIfPresent(Int.self, forKey: .agiPairs) ?? d.agiPairs
        agiMismatch = try c.decodeIfPresent(Double.self, forKey: .agiMismatch) ?? d.agiMismatch
        architecture = try c.decodeIfPresent(TinyCLIPArchitecture.self, forKey: .architecture) ?? d.architecture
        contrastive = try c.decodeIfPresent(ContrastiveConfiguration.self, forKey: .contrastive) ?? d.contrastive
        image2prompt = try c.decodeIfPresent(Image2PromptConfiguration.self, forKey: .image2prompt) ?? d.image2prompt
        image2promptKeepFraction = try c.decodeIfPresent(Double.self, forKey: .image2promptKeepFraction) ?? d.image2promptKeepFraction
        iqaResolution = try c.decodeIfPresent(Int.self, forKey: .iqaResolution) ?? d.iqaResolution
        crossHeads = try c.decodeIfPresent(Int.self, forKey: .crossHeads) ?? d.crossHeads
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
        splits = try c.decodeIfPresent(Int.self, forKey: .splits) ?? d.splits
        trainFraction = try c.decodeIfPresent(Double.self, forKey: .trainFraction) ?? d.trainFraction
        training = try c.decodeIfPresent(DemoTraining.self, forKey: .training) ?? d.training
        featurePasses = try c.decodeIfPresent(PrecisionRequest.self, forKey: .featurePasses) ?? d.featurePasses
        variants = try c.decodeIfPresent([DemoVariant].self, forKey: .variants) ?? d.variants
        figureImages = try c.decodeIfPresent(Int.self, forKey: .figureImages) ?? d.figureImages
    }

    /// JSON settings read over `base` (e.g. ``quick``): keys the JSON leaves out keep the base's values.
    ///
    /// ```swift
    /// let config = try DemoConfiguration(json: Data(#"{"splits": 5}"#.utf8), base: .quick)
    /// ```
    public init(json: Data, base: DemoConfiguration) throws {
        if let key = JSONText.duplicateKey(in: json) {
            throw DemoError.invalidSetting("the key '\(key)' appears twice in one object (JSON readers disagree on which counts)")
        }
        // Nested objects ("training", "contrastive", …) overlay the base's values key by key, like the top level:
        // the JSON is merged into the base's own JSON first, so `{"training": {"precision": "bf16"}}` over --quick
        // keeps the quick preset's epochs.
        guard let overlay = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw DemoError.invalidSetting("the settings must be one JSON object ({\"key\": value, …})")
        }
        let baseObject = try JSONSerialization.jsonObject(with: JSONEncoder().encode(base)) as? [String: Any] ?? [:]
        let merged = try JSONSerialization.data(withJSONObject: Self.overlay(overlay, on: baseObject))
        let decoder = JSONDecoder()
        decoder.userInfo[Self.baseKey] = base
        self = try decoder.decode(DemoConfiguration.self, from: merged)
    }

    /// `top` over `base`: objects merge key by key (recursively), any other value of `top` replaces `base`'s.
    static func overlay(_ top: [String: Any], on base: [String: Any]) -> [String: Any] {
        var out = base
        for (key, value) in top {
            if let inner = value as? [String: Any], let under = base[key] as? [String: Any] {
                out[key] = overlay(inner, on: under)
            } else {
                out[key] = value
            }
        }
        return out
    }

    /// `JSONDecoder.userInfo` key holding the preset that missing keys fall back to.
    public static let baseKey = CodingUserInfoKey(rawValue: "DemoConfiguration.base")!

    static var defaultImage2Prompt: Image2PromptConfiguration {
        var c = Image2PromptConfiguration()
        c.epochs = 1
        c.batchSize = 64
        c.learningRate = 3e-4
        c.resolution = nil
        c.preprocess = .squash
        c.seed = 1
        return c
    }

    /// The default run (≈ 10 minutes on 2 cores, release build).
    public static var standard: DemoConfiguration { DemoConfiguration() }

    /// The quick run (≈ 1 minute): fewer prompts, pairs, steps, splits and epochs, IP-IQA at the native 64 px
    /// (a 2 × 2 feature grid: the attention figure is coarse).
    public static var quick: DemoConfiguration {
        var c = DemoConfiguration()
        c.prompts = 120
        c.naturalPairs = 4_000
        c.agiPairs = 1_000
        c.contrastive.steps = 100
        c.contrastive.batchSize = 128
        c.contrastive.warmupSteps = 10
        c.iqaResolution = 64
        c.splits = 2
        c.training.epochs = 8
        return c
    }

    /// The ``TrainingConfiguration`` of one trained variant: `--freeze-trunk` on cached f16 maps, no flips, no dropped
    /// batch, no plots, the demo's splits and settings.
    public func trainingConfiguration(for variant: DemoVariant) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        variant.apply(to: &c)
        c.epochs = training.epochs
        c.splits = splits
        c.seed = seed
        c.threads = evaluationThreads
        c.resolution = iqaResolution
        c.crossHeads = crossHeads
        c.dropout = dropout
        c.freezeTrunk = true
        c.featurePrecision = .f16
        c.batchSize = training.batchSize
        c.evalBatchSize = 256
        c.learningRate = training.learningRate
        c.headLearningRateScale = training.headScale
        c.weightDecay = training.weightDecay
        c.precision = training.precision
        c.featurePassPrecision = featurePasses
        c.dropLast = false
        c.flipProbability = 0
        c.plots = false
        return c
    }

    public func validate() throws {
        func bad(_ m: String) -> DemoError { .invalidSetting(m) }
        try world.validate()
        try architecture.validate()
        try contrastive.validate()
        try image2prompt.validate()
        guard (10...100_000).contains(prompts) else { throw bad("prompts must be in 10…100000, got \(prompts)") }
        guard (1...world.generators.count).contains(generators) else { throw bad("generators must be in 1…\(world.generators.count)") }
        guard naturalPairs >= contrastive.batchSize else { throw bad("naturalPairs (\(naturalPairs)) must hold at least one batch") }
        guard agiPairs >= 10, (0...1).contains(agiMismatch) else { throw bad("agiPairs must be ≥ 10, agiMismatch in [0, 1]") }
        guard image2promptKeepFraction > 0, image2promptKeepFraction <= 1 else { throw bad("image2promptKeepFraction must be in (0, 1]") }
        guard iqaResolution >= 32, iqaResolution % 32 == 0 else { throw bad("iqaResolution must be a multiple of 32") }
        let channels = architecture.configuration.featureChannels
        guard crossHeads >= 1, channels % crossHeads == 0 else { throw bad("crossHeads must divide the \(channels) feature channels") }
        guard (1...50).contains(splits) else { throw bad("splits must be in 1…50") }
        guard trainFraction > 0, trainFraction < 1 else { throw bad("trainFraction must be in (0, 1)") }
        guard threads >= 1, evaluationThreads >= 1 else { throw bad("threads and evaluationThreads must be ≥ 1") }
        guard !variants.isEmpty else { throw bad("at least one variant is needed") }
        guard (0...64).contains(figureImages) else { throw bad("figureImages must be in 0…64, got \(figureImages)") }
        var probe = trainingConfiguration(for: .similarity)
        probe.threads = evaluationThreads
        do { try probe.validate() } catch { throw bad("training: \(error.localizedDescription)") }
    }
}
