import CLIP
import CLIPTokenizer
import Foundation
import Imaging
import IQAModel
import Tensor

/// Scores of one image (in the model's output order, see ``Scorer/outputNames``) and, when asked for, where the
/// prompt attended.
///
/// ```swift
/// let s = try scorer.score(files: [png], prompts: ["a cat"], attention: .mean)[0]   // s.values, s.attention
/// ```
public struct ImageScore: Sendable, Equatable {
    public var values: [Float]
    public var attention: AttentionMap?

    public init(values: [Float], attention: AttentionMap? = nil) {
        self.values = values
        self.attention = attention
    }
}

/// A trained IP-IQA model ready to score images: loaded once, then batches of decoded images or files with their
/// prompts. Preprocessing is IP-IQA's eval transform — bicubic squash to `config.resolution` (512), CLIP mean/std —
/// and prompts are tokenized as the official code does (context 77, `truncate = True`). Eval mode, no gradients.
/// Text features come from a bounded ``PromptFeatureCache`` (a repeated prompt skips the text Transformer); images are
/// preprocessed before the model runs (``preprocess(_:)``), so callers can decode and resize beside the model
/// (``BatchScorer``, the HTTP service's batcher) and hand it ready pixels (``score(pixels:prompts:attention:)``).
/// Not thread-safe: one thread runs a scorer's model at a time.
///
///     scores[i] = head(trunk(squash(image_i)), text(tokenize(prompt_i)))      (k values: e.g. quality, alignment)
///
/// ```swift
/// let scorer = try Scorer(checkpoint: URL(fileURLWithPath: "ipiqa-3k.safetensors"))
/// let r = try scorer.score(files: [png], prompts: ["a red bicycle"], attention: .mean)
/// print(zip(scorer.outputNames, r[0].values).map { "\($0)=\($1)" })
/// ```
public final class Scorer {
    public let model: IPIQAModel
    public let tokenizer: CLIPTokenizer
    /// The checkpoint path (for messages), if loaded from a file.
    public let source: String?
    /// Text features by token row, bounded.
    public let promptCache: PromptFeatureCache

    public init(model: IPIQAModel, tokenizer: CLIPTokenizer, source: String? = nil,
                promptCacheCapacity: Int = PromptFeatureCache.defaultCapacity) {
        self.model = model
        self.tokenizer = tokenizer
        self.source = source
        promptCache = PromptFeatureCache(capacity: promptCacheCapacity)
        model.setMode(training: false)
    }

    /// Wraps a model with the bundled CLIP tokenizer.
    public convenience init(model: IPIQAModel, source: String? = nil) throws {
        try self.init(model: model, tokenizer: CLIPTokenizer(), source: source)
    }

    /// Loads an ``IPIQACheckpoint`` file — or, with `officialCLIP`, a checkpoint of the official PyTorch code
    /// (``OfficialCheckpoint``) — and the bundled tokenizer.
    public convenience init(checkpoint url: URL, officialCLIP: URL? = nil) throws {
        let (model, _) = try IPIQACheckpoint.load(url, officialCLIP: officialCLIP)
        try self.init(model: model, tokenizer: CLIPTokenizer(), source: url.path)
    }

    /// Names of the scores, in order (`config.outputNames`).
    public var outputNames: [String] { model.config.outputNames }
    /// Input side (the images are squashed to it).
    public var resolution: Int { model.config.resolution }
    /// Whether the model reads prompts (and so has cross-modality attention).
    public var usesText: Bool { model.config.useText }

    /// Scores image files with their prompts; files are decoded in parallel and a failure names the file.
    public func score(files: [URL], prompts: [String], attention: AttentionHeadSelection? = nil) throws -> [ImageScore] {
        try score(images: Self.decode(files), prompts: prompts, attention: attention)
    }

    /// Scores decoded images with their prompts (`prompts` may be empty for an image-only model).
    /// `attention` (text models only) adds each image's ``AttentionMap``.
    public func score(images: [RGBImage], prompts: [String], attention: AttentionHeadSelection? = nil) throws -> [ImageScore] {
        if usesText, prompts.count != images.count {
            throw ScoringError.badInput("\(images.count) images but \(prompts.count) prompts")
        }
        if images.isEmpty { return [] }
        return try score(pixels: ImageBatch.tensor(images, size: resolution, mode: .squash), prompts: prompts, attention: attention)
    }

    /// IP-IQA's eval preprocessing of one image: squashed to ``resolution``, CLIP mean/std, `[R·R·3]` channels-last
    /// (one row of ``score(pixels:prompts:attention:)``'s input). Thread-safe: it does not touch the model.
    public static func preprocess(_ image: RGBImage, resolution: Int) throws -> [Float] {
        try Imaging.preprocess(image, size: resolution, mode: .squash)
    }

    /// Scores preprocessed images `[N, R, R, 3]` (rows of ``preprocess(_:resolution:)``) with their prompts: the
    /// trunk once over the batch, the text features through ``promptCache``, then fusion and head.
    public func score(pixels: Tensor, prompts: [String], attention: AttentionHeadSelection? = nil) throws -> [ImageScore] {
        guard pixels.rank == 4, pixels.shape[1] == resolution, pixels.shape[2] == resolution, pixels.shape[3] == 3 else {
            throw ScoringError.badInput("pixels must be [N, \(resolution), \(resolution), 3], got \(pixels.shape)")
        }
        let n = pixels.shape[0]
        if usesText, prompts.count != n { throw ScoringError.badInput("\(n) images but \(prompts.count) prompts") }
        if attention != nil, !usesText { throw IPIQAError.imageOnlyModel(file: source) }
        if n == 0 { return [] }
        let (scores, weights) = try withoutGradients { () throws -> (Var, Tensor?) in
            let features = model.clip.visual.trunk(Var(pixels))
            var text: Var?
            if usesText {
                let tokens = try tokenizer.tokenize(prompts, contextLength: model.clip.config.contextLength, truncate: true)
                text = try promptCache.features(tokens, model: model)
            }
            return model.scores(features: features, text: text, similarity: usesText ? model.similarityEmbedding(images: pixels) : nil)
        }
        let k = scores.shape[1], values = scores.value.array
        return try (0..<n).map { i in
            var map: AttentionMap?
            if let attention, let weights { map = try AttentionMap(crossWeights: weights, index: i, heads: attention) }
            return ImageScore(values: Array(values[(i * k)..<((i + 1) * k)]), attention: map)
        }
    }

    /// Scores one image file with its prompt (nil for an image-only model, which ignores it) and, with `overlay`,
    /// writes the cross-modality attention (`heads`) drawn over the image to that PNG. Returns the values in
    /// ``outputNames`` order.
    ///
    /// ```swift
    /// let values = try scorer.score(file: png, prompt: "a red bicycle", overlay: URL(fileURLWithPath: "attention.png"))
    /// ```
    public func score(file: URL, prompt: String?, overlay: URL? = nil, heads: AttentionHeadSelection = .mean) throws -> [Float] {
        if overlay != nil, !usesText { throw IPIQAError.imageOnlyModel(file: source) }
        var prompts: [String] = []
        if usesText {
            guard let prompt else { throw ScoringError.badInput("\(file.path): this model reads prompts; none given") }
            prompts = [prompt]
        }
        let images = try Self.decode([file])
        let result = try score(images: images, prompts: prompts, attention: overlay != nil ? heads : nil)[0]
        if let overlay, let map = result.attention { try ImageCodec.writePNG(map.overlay(on: images[0]), to: overlay) }
        return result.values
    }

    /// Decodes image files in parallel; rethrows the first failure in file order (the message names the file).
    public static func decode(_ files: [URL]) throws -> [RGBImage] {
        let slots = DecodeSlots(files.count)
        parallelFor(files.count, costPerItem: 1 << 20) { i in
            do { slots.set(i, .success(try ImageCodec.decode(contentsOf: files[i]))) } catch { slots.set(i, .failure(error)) }
        }
        return try slots.results.map { try $0.get() }
    }
}

/// One result slot per file, written from parallel workers (distinct indices only).
private final class DecodeSlots: @unchecked Sendable {
    private var slots: [Result<RGBImage, Error>]
    init(_ n: Int) { slots = Array(repeating: .failure(ScoringError.badInput("not decoded")), count: n) }
    func set(_ i: Int, _ r: Result<RGBImage, Error>) { slots.withUnsafeMutableBufferPointer { $0[i] = r } }
    var results: [Result<RGBImage, Error>] { slots }
}
