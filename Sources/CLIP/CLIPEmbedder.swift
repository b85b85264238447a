import CLIPTokenizer
import Foundation
import Imaging
import Tensor

/// Settings of ``CLIPEmbedder``: input side (`nil`: the checkpoint's native resolution; any other multiple of 32
/// interpolates the attention pool's positional embedding per forward pass), preprocessing, prompt truncation
/// (off by default, as OpenAI's `clip.tokenize`: an over-long prompt is an error naming it) and images per forward pass.
///
/// ```swift
/// let config = CLIPEmbedConfiguration(resolution: 512, preprocess: .squash)   // IP-IQA's input
/// ```
public struct CLIPEmbedConfiguration: Codable, Sendable, Equatable {
    public var resolution: Int?
    public var preprocess: PreprocessMode = .clip
    public var truncate: Bool = false
    public var batchSize: Int = CLIPEmbedConfiguration.defaultBatchSize

    public static let defaultBatchSize = 8

    public init(resolution: Int? = nil, preprocess: PreprocessMode = .clip, truncate: Bool = false,
                batchSize: Int = CLIPEmbedConfiguration.defaultBatchSize) {
        self.resolution = resolution
        self.preprocess = preprocess
        self.truncate = truncate
        self.batchSize = batchSize
    }
}

/// Raw CLIP projections (not normalised), what OpenAI's `encode_image` / `encode_text` return: row `i` of
/// `imageEmbeddings` is `x_i @ visual`, of `textEmbeddings` `ln_final(T(tokens_i))[eot] @ text_projection`.
/// Encodes as `{"image_embeddings": [[…]], "text_embeddings": [[…]]}`.
///
/// ```swift
/// let json = try JSONEncoder().encode(try embedder.embed(images: urls, prompts: []))
/// ```
public struct CLIPEmbeddings: Codable, Sendable, Equatable {
    public var imageEmbeddings: [[Float]]
    public var textEmbeddings: [[Float]]

    enum CodingKeys: String, CodingKey {
        case imageEmbeddings = "image_embeddings", textEmbeddings = "text_embeddings"
    }
}

/// Image files and prompts → CLIP embeddings, in batches, without recording gradients:
///
///     image: decode → preprocess(mode, S) → encode_image      prompt: tokenize(77, truncate?) → encode_text
///
/// ```swift
/// let embedder = CLIPEmbedder(model: try CLIPModel.load(url), tokenizer: try CLIPTokenizer())
/// let e = try embedder.embed(images: [URL(fileURLWithPath: "cat.png")], prompts: ["a cat"])
/// ```
public final class CLIPEmbedder {
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let config: CLIPEmbedConfiguration

    public init(model: CLIPModel, tokenizer: CLIPTokenizer, config: CLIPEmbedConfiguration = CLIPEmbedConfiguration()) {
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        model.eval()
    }

    /// The input side used for images.
    public var resolution: Int { config.resolution ?? model.config.imageResolution }

    /// Checks the settings against the model: a positive multiple of 32 (the trunk's stride), a positive batch size.
    public func validate() throws {
        if let problem = CLIPConfiguration.resolutionProblem(resolution) { throw CLIPError.badInput(problem) }
        guard config.batchSize > 0 else { throw CLIPError.badInput("batch size must be positive, got \(config.batchSize)") }
        try model.config.checkMemory(batch: config.batchSize, resolution: resolution)
    }

    /// Embeddings of every image file and every prompt (either list may be empty).
    public func embed(images: [URL], prompts: [String]) throws -> CLIPEmbeddings {
        try validate()
        // Tokenize first: a bad prompt fails before the expensive image pass.
        let tokens = try tokenize(prompts)
        var imageRows: [[Float]] = []
        for start in stride(from: 0, to: images.count, by: config.batchSize) {
            let batch = Array(images[start..<min(images.count, start + config.batchSize)])
            let pixels = try ImageBatch.load(batch, size: resolution, mode: config.preprocess)
            imageRows += rows(withoutGradients { model.encodeImage(Var(pixels)).value })
        }
        var textRows: [[Float]] = []
        for start in stride(from: 0, to: tokens.count, by: config.batchSize) {
            let batch = Array(tokens[start..<min(tokens.count, start + config.batchSize)])
            textRows += rows(try withoutGradients { try model.encodeText(batch).value })
        }
        return CLIPEmbeddings(imageEmbeddings: imageRows, textEmbeddings: textRows)
    }

    /// Token rows of the prompts; an over-long prompt (without `truncate`) fails naming its 1-based position.
    public func tokenize(_ prompts: [String]) throws -> [[Int32]] {
        try prompts.enumerated().map { i, prompt in
            do {
                return try tokenizer.tokenize([prompt], contextLength: model.config.contextLength, truncate: config.truncate)[0]
            } catch let e as TokenizerError {
                throw CLIPError.badInput("prompt \(i + 1): \(e.localizedDescription)")
            }
        }
    }

    private func rows(_ t: Tensor) -> [[Float]] {
        let d = t.shape[1], values = t.array
        return (0..<t.shape[0]).map { Array(values[($0 * d)..<(($0 + 1) * d)]) }
    }
}

extension CLIPEmbedder {
    /// Uses the bundled CLIP tokenizer.
    public convenience init(model: CLIPModel, config: CLIPEmbedConfiguration = CLIPEmbedConfiguration()) throws {
        try self.init(model: model, tokenizer: CLIPTokenizer(), config: config)
    }
}
