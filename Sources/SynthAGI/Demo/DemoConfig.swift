import Foundation
import IQA
import Imaging

/// One row of the demo's tables: a baseline or an IP-IQA variant.
///
/// ```swift
/// DemoVariant.ipiqaNoQA.rawValue      // "ip-iqa-no-qa" (its key in `--json`)
/// ```
public enum DemoVariant: String, Codable, Sendable, CaseIterable {
    /// Zero-shot CLIPScore of the pre-trained tiny CLIP (cosine of image and prompt embeddings), no training.
    case clipscore
    /// The image-only model: visual attention pool → head (the paper's "w/o prompt" row).
    case imageOnly = "image-only"
    /// IP-IQA: Image2Prompt backbone, prompt with [QA] token, cross-modality fusion, MLP head — plus CLIPScore-style
    /// image–text interaction features at the head's input (the fix for the fusion's overfitting on 240 prompts).
    case ipiqa = "ip-iqa"
    /// IP-IQA exactly as the paper fuses: `[attnpool(F); crossPool(F, t)]` → head, no interaction features.
    case ipiqaPaperFusion = "ip-iqa-paper-fusion"
    /// IP-IQA on the backbone before Image2Prompt.
    case ipiqaNoI2P = "ip-iqa-no-i2p"
    /// IP-IQA with the plain end-of-text text feature (no [QA]).
    case ipiqaNoQA = "ip-iqa-no-qa"
    /// IP-IQA with a linear head instead of the MLP.
    case ipiqaLinear = "ip-iqa-linear-head"

    /// Table label.
    public var label: String {
        switch self {
        case .clipscore: return "CLIPScore (zero-shot)"
        case .imageOnly: return "Image-only"
        case .ipiqa: return "IP-IQA (+ similarity features)"
        case .ipiqaPaperFusion: return "IP-IQA (paper's fusion only)"
        case .ipiqaNoI2P: return "IP-IQA w/o Image2Prompt"
        case .ipiqaNoQA: return "IP-IQA w/o [QA]"
        case .ipiqaLinear: return "IP-IQA, linear head"
        }
    }

    /// Whether the variant is trained (all but CLIPScore).
    public var isTrained: Bool { self != .clipscore }
    /// Whether it uses the Image2Prompt backbone.
    public var usesImage2Prompt: Bool { self != .ipiqaNoI2P && self != .clipscore }

    /// Whether the head also gets the CLIP interaction features (`[ê_img ⊙ ê_txt; cos]`, standardised).
    public var usesSimilarityFeatures: Bool { ![.clipscore, .imageOnly, .ipiqaPaperFusion].contains(self) }

    /// The IP-IQA configuration of a trained variant.
    func modelConfig(resolution: Int, crossHeads: Int, dropout: Float, seed: UInt64) -> IPIQAConfiguration {
        var c = IPIQAConfiguration(outputs: 2)
        c.resolution = resolution
        c.crossHeads = crossHeads
        c.dropout = dropout
        c.seed = seed
        c.useText = self != .imageOnly
        c.qaToken = self == .ipiqaNoQA ? .none : .token
        c.head = self == .ipiqaLinear ? .linear : .mlp
        return c
    }
}

/// Everything `ipiqa demo` does, with the default (≈ 10 min on 2 cores) and quick (≈ 1 min) settings. Each cached
/// artefact is keyed by a hash of the settings it depends on (``DemoKeys``), so changing a setting recomputes
/// exactly what it affects.
///
/// ```swift
/// var config = DemoConfig.quick
/// config.seed = 7
/// let result = try DemoRunner.run(config: config, directory: URL(fileURLWithPath: "ipiqa-demo"))
/// ```
public struct DemoConfig: Codable, Sendable, Equatable {
    /// Seed of the world (prompts, images, scores) and of every training run.
    public var seed: UInt64 = 42
    /// Worker threads (OpenBLAS and the engine): fixed, so that runs repeat exactly.
    public var threads = 2
    /// Threads while training the IP-IQA variants (small matrices: one thread wastes less time synchronising).
    public var evaluationThreads = 1
    public var world = WorldConfig()
    /// The AGIQA-3k-like set: prompts × generators images.
    public var prompts = 300
    public var generators = 8
    /// "Natural" pairs for contrastive pre-training (rendered in memory).
    public var naturalPairs = 16_000
    /// "AGI-style" pairs for Image2Prompt (written in the DiffusionDB layout and read back), and their mismatch rate.
    public var agiPairs = 4_000
    public var agiMismatch = 0.1
    public var architecture = TinyCLIPArchitecture()
    public var contrastive = ContrastiveConfig()
    public var image2prompt = DemoConfig.defaultImage2Prompt
    /// Fraction of Image2Prompt pairs kept by the similarity filter (threshold = that quantile of similarities).
    public var image2promptKeepFraction = 0.9
    /// IP-IQA input side (the 64-px images are upscaled, as AGIQA-3k's are to 512; grid = resolution / 32).
    public var iqaResolution = 128
    public var crossHeads = 4
    public var dropout: Float = 0.5
    /// Grouped train/test splits (80 / 20 by prompt).
    public var splits = 3
    public var trainFraction = 0.8
    public var training = DemoConfig.defaultTraining
    public var variants: [DemoVariant] = DemoVariant.allCases
    /// Test images shown in the attention figure.
    public var figureImages = 8

    public init() {}

    /// Decodes a JSON configuration on top of `DemoConfig.base` (the default or, via `userInfo[DemoConfig.baseKey]`,
    /// the quick preset): missing keys keep the base's values.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = (decoder.userInfo[Self.baseKey] as? DemoConfig) ?? DemoConfig()
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? d.threads
        evaluationThreads = try c.decodeIfPresent(Int.self, forKey: .evaluationThreads) ?? d.evaluationThreads
        world = try c.decodeIfPresent(WorldConfig.self, forKey: .world) ?? d.world
        prompts = try c.decodeIfPresent(Int.self, forKey: .prompts) ?? d.prompts
        generators = try c.decodeIfPresent(Int.self, forKey: .generators) ?? d.generators
        naturalPairs = try c.decodeIfPresent(Int.self, forKey: .naturalPairs) ?? d.naturalPairs
        agiPairs = try c.decodeIfPresent(Int.self, forKey: .agiPairs) ?? d.agiPairs
        agiMismatch = try c.decodeIfPresent(Double.self, forKey: .agiMismatch) ?? d.agiMismatch
        architecture = try c.decodeIfPresent(TinyCLIPArchitecture.self, forKey: .architecture) ?? d.architecture
        contrastive = try c.decodeIfPresent(ContrastiveConfig.self, forKey: .contrastive) ?? d.contrastive
        image2prompt = try c.decodeIfPresent(Image2PromptConfiguration.self, forKey: .image2prompt) ?? d.image2prompt
        image2promptKeepFraction = try c.decodeIfPresent(Double.self, forKey: .image2promptKeepFraction) ?? d.image2promptKeepFraction
        iqaResolution = try c.decodeIfPresent(Int.self, forKey: .iqaResolution) ?? d.iqaResolution
        crossHeads = try c.decodeIfPresent(Int.self, forKey: .crossHeads) ?? d.crossHeads
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
        splits = try c.decodeIfPresent(Int.self, forKey: .splits) ?? d.splits
        trainFraction = try c.decodeIfPresent(Double.self, forKey: .trainFraction) ?? d.trainFraction
        training = try c.decodeIfPresent(CachedTrainingConfig.self, forKey: .training) ?? d.training
        variants = try c.decodeIfPresent([DemoVariant].self, forKey: .variants) ?? d.variants
        figureImages = try c.decodeIfPresent(Int.self, forKey: .figureImages) ?? d.figureImages
    }

    /// `JSONDecoder.userInfo` key holding the preset that missing keys fall back to.
    public static let baseKey = CodingUserInfoKey(rawValue: "DemoConfig.base")!

    static var defaultTraining: CachedTrainingConfig { CachedTrainingConfig() }

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
    public static var standard: DemoConfig { DemoConfig() }

    /// The quick run (≈ 1 minute): fewer prompts, pairs, steps, splits and epochs, IP-IQA at the native 64 px
    /// (a 2 × 2 feature grid: the attention figure is coarse).
    public static var quick: DemoConfig {
        var c = DemoConfig()
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

    public func validate() throws {
        func bad(_ m: String) -> DemoError { .invalidSetting(m) }
        try world.validate()
        try architecture.validate()
        try contrastive.validate()
        try image2prompt.validate()
        try training.validate()
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
    }
}
