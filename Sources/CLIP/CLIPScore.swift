import CLIPTokenizer
import Foundation
import Imaging
import Tensor

/// Settings of ``CLIPScorer``. Defaults: Hessel et al.'s weight `w = 2.5`, CLIP preprocessing (resize + centre
/// crop) at the checkpoint's native resolution, no caption prefix (their reference code prepends
/// `"A photo depicts "`; pass it as `promptPrefix` to reproduce that), over-long prompts rejected.
///
/// ```swift
/// let hessel = CLIPScoreConfiguration(promptPrefix: "A photo depicts ")
/// ```
public struct CLIPScoreConfiguration: Codable, Sendable, Equatable {
    /// The rescaling weight `w` of CLIP-S.
    public var weight: Float = CLIPScoreConfiguration.hesselWeight
    /// Text put before every prompt before tokenizing.
    public var promptPrefix: String = ""
    /// Cut prompts longer than the context length instead of failing.
    public var truncate: Bool = false
    /// Image preprocessing (`.clip`: OpenAI's transform).
    public var preprocess: PreprocessMode = .clip
    /// Input side in pixels; `nil`: the checkpoint's native resolution (224 for RN50).
    public var resolution: Int?

    /// Hessel et al.'s `w`.
    public static let hesselWeight: Float = 2.5

    public init(weight: Float = CLIPScoreConfiguration.hesselWeight, promptPrefix: String = "", truncate: Bool = false,
                preprocess: PreprocessMode = .clip, resolution: Int? = nil) {
        self.weight = weight
        self.promptPrefix = promptPrefix
        self.truncate = truncate
        self.preprocess = preprocess
        self.resolution = resolution
    }
}

/// One image–prompt pair's CLIPScore and the cosine it came from: `score = w · max(cosine, 0)`.
///
/// ```swift
/// let r = try scorer.score(files: [png], prompts: ["a cat"])[0]    // r.cosine, r.score
/// ```
public struct CLIPScoreResult: Codable, Sendable, Equatable {
    /// `cos(E_I(image), E_T(prompt))` of the raw (unnormalised) projections.
    public var cosine: Float
    /// `w · max(cosine, 0)`.
    public var score: Float

    public init(cosine: Float, score: Float) {
        self.cosine = cosine
        self.score = score
    }
}

/// CLIPScore (Hessel et al., "CLIPScore: A Reference-free Evaluation Metric for Image Captioning", EMNLP 2021), the
/// image–prompt correspondence baseline of IP-IQA's Table 2:
///
///     CLIP-S(c, v) = w · max(cos(E_T(c), E_I(v)), 0),   w = 2.5
///
/// with `E_I`, `E_T` CLIP's image and text projections. Pairs are scored element-wise (image `i` with prompt `i`).
///
/// ```swift
/// let scorer = CLIPScorer(model: try CLIPModel.load(url), tokenizer: try CLIPTokenizer())
/// let r = try scorer.score(images: [try ImageCodec.decode(contentsOf: png)], prompts: ["a red bicycle"])
/// print(r[0].score)
/// ```
public final class CLIPScorer {
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let config: CLIPScoreConfiguration

    public init(model: CLIPModel, tokenizer: CLIPTokenizer, config: CLIPScoreConfiguration = CLIPScoreConfiguration()) {
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        model.eval()
    }

    /// Uses the bundled CLIP tokenizer.
    public convenience init(model: CLIPModel, config: CLIPScoreConfiguration = CLIPScoreConfiguration()) throws {
        try self.init(model: model, tokenizer: CLIPTokenizer(), config: config)
    }

    /// The input side used for images.
    public var resolution: Int { config.resolution ?? model.config.imageResolution }

    /// `w · max(c, 0)`.
    public static func score(cosine: Float, weight: Float = CLIPScoreConfiguration.hesselWeight) -> Float {
        weight * max(cosine, 0)
    }

    /// Scores decoded images against prompts (same count), preprocessing and tokenizing per ``config``.
    public func score(images: [RGBImage], prompts: [String]) throws -> [CLIPScoreResult] {
        guard images.count == prompts.count else {
            throw CLIPError.badInput("CLIPScore: \(images.count) images but \(prompts.count) prompts")
        }
        let pixels = try ImageBatch.tensor(images, size: resolution, mode: config.preprocess)
        let tokens = try tokenizer.tokenize(prompts.map { config.promptPrefix + $0 },
                                            contextLength: model.config.contextLength, truncate: config.truncate)
        return try score(pixels: pixels, tokens: tokens)
    }

    /// Scores image files (decoded in parallel; errors name the file) against prompts.
    public func score(files: [URL], prompts: [String]) throws -> [CLIPScoreResult] {
        guard files.count == prompts.count else {
            throw CLIPError.badInput("CLIPScore: \(files.count) images but \(prompts.count) prompts")
        }
        let pixels = try ImageBatch.load(files, size: resolution, mode: config.preprocess)
        let tokens = try tokenizer.tokenize(prompts.map { config.promptPrefix + $0 },
                                            contextLength: model.config.contextLength, truncate: config.truncate)
        return try score(pixels: pixels, tokens: tokens)
    }

    /// Scores preprocessed images `[N, S, S, 3]` against token rows (`N` of them).
    public func score(pixels: Tensor, tokens: [[Int32]]) throws -> [CLIPScoreResult] {
        guard pixels.rank == 4, pixels.shape[3] == 3, pixels.shape[0] == tokens.count else {
            throw CLIPError.badInput("CLIPScore: images \(pixels.shape) do not match \(tokens.count) token rows")
        }
        let (image, text) = try withoutGradients {
            (model.encodeImage(Var(pixels)).value, try model.encodeText(tokens).value)
        }
        let d = image.shape[1]
        return (0..<tokens.count).map { i in
            let c = Self.cosine(image.pointer + i * d, text.pointer + i * d, count: d)
            return CLIPScoreResult(cosine: c, score: Self.score(cosine: c, weight: config.weight))
        }
    }

    /// `a·b / (‖a‖‖b‖)` accumulated in double; 0 when either vector is zero.
    static func cosine(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var dot = 0.0, na = 0.0, nb = 0.0
        for k in 0..<count {
            let x = Double(a[k]), y = Double(b[k])
            dot += x * y; na += x * x; nb += y * y
        }
        let denominator = (na * nb).squareRoot()
        return denominator > 0 ? Float(dot / denominator) : 0
    }
}
