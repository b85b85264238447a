import CLIP
import Foundation
import Imaging

/// Settings of Image2Prompt pre-training (IP-IQA's `image2prompt` task: the image tower learns to point its
/// embedding at the frozen text embedding of the image's prompt, loss `mean(1 − cos(image, text))`, PyTorch's
/// `CosineEmbeddingLoss` with target 1). Defaults: AdamW at 1e-5 without weight decay (IP-IQA's optimiser
/// settings), batch 32, CLIP's own resolution and preprocessing, batch norm in training mode (PyTorch `model.train()`).
///
/// ```swift
/// var config = Image2PromptConfiguration()
/// config.epochs = 3
/// config.resolution = 512          // nil: the checkpoint's native resolution (224 for RN50)
/// ```
public struct Image2PromptConfiguration: Codable, Sendable, Equatable {
    /// Pairs whose starting-model cosine similarity is below this are dropped before training.
    public var threshold: Float = 0.35
    public var epochs: Int = 1
    public var batchSize: Int = 32
    /// Images per forward/backward pass (gradient accumulation, loss weight n_j / n per pass); nil: each process's
    /// whole share of the batch in one pass. Batch norm normalises each pass with its own statistics, so
    /// `mpirun -np N` with shares of m images equals one process with `microBatch = m` (docs/scaling.md).
    public var microBatch: Int? = nil
    public var learningRate: Double = 1e-5
    public var weightDecay: Double = 0
    /// Training input side in pixels (multiple of 32); nil: the checkpoint's native resolution. The attention
    /// pool's positional embedding is interpolated on the fly, so the saved checkpoint keeps its native shape.
    public var resolution: Int? = nil
    /// Training preprocessing (`clip`: resize + centre crop; `squash`: resize to a square). Filtering always uses
    /// CLIP's own preprocessing at the native resolution.
    public var preprocess: PreprocessMode = .clip
    /// Seed of the epoch shuffles.
    public var seed: UInt64 = 0
    /// Whether the visual tower's batch norms use batch statistics (and update their running ones) while training.
    public var batchNormTraining: Bool = true

    public init() {}

    /// Throws when a setting cannot work.
    public func validate() throws {
        func bad(_ message: String) -> Image2PromptError { .invalidSetting(message) }
        guard epochs >= 0 else { throw bad("epochs must be ≥ 0, got \(epochs)") }
        guard batchSize >= 1 else { throw bad("batch size must be ≥ 1, got \(batchSize)") }
        if let microBatch, microBatch < 1 { throw bad("micro-batch must be ≥ 1, got \(microBatch)") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("learning rate must be positive, got \(learningRate)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw bad("weight decay must be ≥ 0, got \(weightDecay)") }
        guard threshold.isFinite else { throw bad("threshold must be a number, got \(threshold)") }
        if let resolution, let problem = CLIPConfiguration.resolutionProblem(resolution) { throw bad(problem) }
        if preprocess == .none { throw bad("preprocess must be clip or squash (corpus images come in any size)") }
    }
}

/// Errors of Image2Prompt pre-training.
public enum Image2PromptError: LocalizedError, Equatable {
    case invalidSetting(String)
    /// The tokenizer returned the wrong number of rows, or ids the model's vocabulary does not have.
    case tokenization(String)
    /// Every pair fell below the similarity threshold.
    case nothingKept(threshold: Float, pairs: Int)
    /// An output file could not be written.
    case writeFailed(file: String, reason: String)
    /// The CLIP checkpoint's token embedding has fewer rows than CLIP's tokenizer has tokens.
    case vocabularyTooSmall(file: String, rows: Int, needed: Int)

    public var errorDescription: String? {
        switch self {
        case let .invalidSetting(m): return "Image2Prompt: " + m
        case let .tokenization(m): return "Image2Prompt: tokenization: " + m
        case let .nothingKept(threshold, pairs):
            return "Image2Prompt: all \(pairs) pairs have CLIP similarity below the threshold \(threshold); nothing to train on"
        case let .writeFailed(file, reason): return "\(file): cannot write (\(reason))"
        case let .vocabularyTooSmall(file, rows, needed):
            return "\(file): the text vocabulary has \(rows) rows, CLIP's tokenizer needs \(needed)"
        }
    }
}
