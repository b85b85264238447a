import CLIP
import Foundation
import NN
import Tensor

/// What enters the model for one batch, by training mode:
///
///     images(x)       preprocessed images [n, R, R, 3]          → trunk → F → pools → head   (full fine-tuning)
///     features(F)     cached layer4 maps [n, g, g, C]           → pools → head               (--freeze-trunk)
///     projected(p)    cached pool keys/values (ProjectedBatch)  → attention → head          (--freeze-kv)
///
/// ```swift
/// let (scores, _) = try model.scores(.features(maps), text: try text.features(tokens))
/// ```
public enum ModelInput: Sendable {
    case images(Tensor)
    case features(Tensor)
    case projected(ProjectedBatch)

    /// Items in the batch.
    public var count: Int {
        switch self {
        case let .images(t), let .features(t): return t.shape.first ?? 0
        case let .projected(p): return p.count
        }
    }

    /// Items `range` (views, no copy): a micro-batch.
    public func slice(_ range: Range<Int>) -> ModelInput {
        switch self {
        case let .images(t): return .images(t.slice(rows: range))
        case let .features(t): return .features(t.slice(rows: range))
        case let .projected(p): return .projected(p.slice(range))
        }
    }
}

/// One step's batch in any mode: the model input, token rows (empty for the image-only model), targets `[n, k]`.
///
/// ```swift
/// let batch = StepBatch(trainingBatch)                  // images
/// let part = batch.slice(0..<8)                         // a micro-batch
/// ```
public struct StepBatch: Sendable {
    public let input: ModelInput
    public let tokens: [[Int32]]
    public let targets: Tensor
    public let names: [String]

    public init(input: ModelInput, tokens: [[Int32]], targets: Tensor, names: [String]) {
        self.input = input
        self.tokens = tokens
        self.targets = targets
        self.names = names
    }

    /// The image batch of the full pipeline.
    public init(_ batch: TrainingBatch) {
        self.init(input: .images(batch.images), tokens: batch.tokens, targets: batch.targets, names: batch.names)
    }

    public var count: Int { names.count }

    public func slice(_ range: Range<Int>) -> StepBatch {
        StepBatch(input: input.slice(range), tokens: tokens.isEmpty ? [] : Array(tokens[range]),
                  targets: targets.slice(rows: range), names: Array(names[range]))
    }
}

extension IPIQAModel {
    /// Scores `[n, k]` (and the fusion's attention maps) of a batch given in any ``ModelInput`` form, with the text
    /// feature already computed (nil for the image-only model). Shapes are checked; mismatches throw.
    public func scores(_ input: ModelInput, text: Var?) throws -> (scores: Var, crossWeights: Tensor?) {
        let n = input.count
        if config.useText {
            guard let text else { throw CLIPError.badInput("IP-IQA: this model uses the prompt, but no text feature was given") }
            guard text.shape == [n, clip.config.embedDim] else {
                throw CLIPError.badInput("IP-IQA: \(n) inputs but text features of shape \(text.shape)")
            }
        }
        switch input {
        case let .images(images):
            guard images.rank == 4, images.shape[3] == 3 else {
                throw CLIPError.badInput("IP-IQA: images must be [N, H, W, 3], got \(images.shape)")
            }
            return scores(features: clip.visual.trunk(Var(images)), text: text)
        case let .features(maps):
            let g = config.resolution / 32
            guard maps.shape == [n, g, g, clip.config.featureChannels] else {
                throw CLIPError.badInput("IP-IQA: cached feature maps must be [N, \(g), \(g), \(clip.config.featureChannels)], got \(maps.shape)")
            }
            return scores(features: Var(maps), text: text)
        case let .projected(p):
            return try FrozenProjections.scores(self, projected: p, text: text)
        }
    }
}
