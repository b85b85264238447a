import CLIPTokenizer
import Foundation
import Imaging
import Tensor

/// Settings of ``CLIPIQAScorer``. Defaults follow CLIP-IQA (Wang, Chan and Loy, "Exploring CLIP for Assessing the
/// Look and Feel of Images", AAAI 2023) for RN50: the antonym pair "Good photo." / "Bad photo.", logit scale 100
/// (OpenAI RN50's `exp(logit_scale)`), OpenAI's normalisation, and the attention pool WITHOUT its positional
/// embedding (so any input size works without interpolation).
///
/// One difference, stated: CLIP-IQA feeds each image at its own size; ``CLIPIQAScorer`` scores batches, so every
/// image is resized (``preprocess``, default `.squash`, bicubic) to ``resolution`` × ``resolution`` (default 512, the
/// side of AGIQA-1k's images and IP-IQA's input). For images already 512² the input is CLIP-IQA's.
///
/// ```swift
/// let config = CLIPIQAConfiguration(resolution: 224, preprocess: .clip)
/// ```
public struct CLIPIQAConfiguration: Codable, Sendable, Equatable {
    public var positivePrompt = CLIPIQAConfiguration.goodPhoto
    public var negativePrompt = CLIPIQAConfiguration.badPhoto
    /// `s` of `softmax(s · [cos₊, cos₋])`.
    public var logitScale: Float = CLIPIQAConfiguration.openAILogitScale
    public var resolution: Int = CLIPIQAConfiguration.defaultResolution
    public var preprocess: PreprocessMode = .squash
    /// Images per forward pass.
    public var batchSize: Int = 8

    public static let goodPhoto = "Good photo."
    public static let badPhoto = "Bad photo."
    /// `exp(logit_scale)` of OpenAI's RN50 checkpoint (clamped at 100 in CLIP's training).
    public static let openAILogitScale: Float = 100
    public static let defaultResolution = 512

    public init(positivePrompt: String = CLIPIQAConfiguration.goodPhoto, negativePrompt: String = CLIPIQAConfiguration.badPhoto,
                logitScale: Float = CLIPIQAConfiguration.openAILogitScale, resolution: Int = CLIPIQAConfiguration.defaultResolution,
                preprocess: PreprocessMode = .squash, batchSize: Int = 8) {
        self.positivePrompt = positivePrompt
        self.negativePrompt = negativePrompt
        self.logitScale = logitScale
        self.resolution = resolution
        self.preprocess = preprocess
        self.batchSize = batchSize
    }
}

/// CLIP-IQA's zero-shot quality score of an image `x` (no training, no prompt of the image):
///
///     f = pool_noPE(trunk(x)),  t± = encode_text("Good photo." / "Bad photo.")
///     c± = cos(f, t±),          score = softmax(s · [c₊, c₋])₀ = σ(s · (c₊ − c₋)),   s = 100
///
/// where `pool_noPE` is CLIP's attention pool over `[mean(F); F]` without the positional embedding.
///
/// ```swift
/// let iqa = try CLIPIQAScorer(model: try CLIPModel.load(rn50))
/// let scores = try iqa.score(files: [URL(fileURLWithPath: "a.png")])     // each in (0, 1)
/// ```
public final class CLIPIQAScorer {
    public let model: CLIPModel
    public let config: CLIPIQAConfiguration
    /// The token rows of the positive and negative prompt.
    public let antonymTokens: [[Int32]]

    public init(model: CLIPModel, tokenizer: CLIPTokenizer, config: CLIPIQAConfiguration = CLIPIQAConfiguration()) throws {
        if let problem = CLIPConfiguration.resolutionProblem(config.resolution) { throw CLIPError.badInput("CLIP-IQA: \(problem)") }
        guard config.batchSize > 0 else { throw CLIPError.badInput("CLIP-IQA: batch size must be positive, got \(config.batchSize)") }
        try model.config.checkMemory(batch: config.batchSize, resolution: config.resolution, what: "the CLIP-IQA batch size or resolution")
        self.model = model
        self.config = config
        antonymTokens = try tokenizer.tokenize([config.positivePrompt, config.negativePrompt], contextLength: model.config.contextLength)
        model.eval()
    }

    /// Uses the bundled CLIP tokenizer.
    public convenience init(model: CLIPModel, config: CLIPIQAConfiguration = CLIPIQAConfiguration()) throws {
        try self.init(model: model, tokenizer: CLIPTokenizer(), config: config)
    }

    /// Scores image files in batches of ``CLIPIQAConfiguration/batchSize`` (decoding errors name the file).
    public func score(files: [URL]) throws -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(files.count)
        for start in stride(from: 0, to: files.count, by: config.batchSize) {
            let batch = Array(files[start..<min(files.count, start + config.batchSize)])
            out += try score(pixels: ImageBatch.load(batch, size: config.resolution, mode: config.preprocess))
        }
        return out
    }

    /// Scores preprocessed images `[N, H, W, 3]` against the configured prompt pair.
    public func score(pixels: Tensor) throws -> [Float] {
        try score(pixels: pixels, antonymTokens: antonymTokens, logitScale: config.logitScale)
    }

    /// Scores preprocessed images `[N, H, W, 3]` against two token rows (positive, negative).
    public func score(pixels: Tensor, antonymTokens tokens: [[Int32]], logitScale: Float) throws -> [Float] {
        guard pixels.rank == 4, pixels.shape[3] == 3 else { throw CLIPError.badInput("CLIP-IQA: images must be [N, H, W, 3], got \(pixels.shape)") }
        guard tokens.count == 2 else { throw CLIPError.badInput("CLIP-IQA: needs 2 token rows (positive, negative), got \(tokens.count)") }
        let (image, text) = try withoutGradients {
            let features = model.visual.trunk(Var(pixels))
            return (model.visual.attnpool.forward(features, positional: false).output.value, try model.encodeText(tokens).value)
        }
        let d = image.shape[1]
        return (0..<pixels.shape[0]).map { i in
            let good = Double(CLIPScorer.cosine(image.pointer + i * d, text.pointer, count: d))
            let bad = Double(CLIPScorer.cosine(image.pointer + i * d, text.pointer + d, count: d))
            return Float(Self.probability(good: good, bad: bad, logitScale: Double(logitScale)))
        }
    }

    /// `softmax(s · [good, bad])₀ = 1 / (1 + exp(−s (good − bad)))`.
    public static func probability(good: Double, bad: Double, logitScale: Double) -> Double {
        1 / (1 + Foundation.exp(-logitScale * (good - bad)))
    }
}
