import CLIP
import Foundation
import NN
import Tensor

/// What enters the model for one batch, by training mode:
///
///     images(x)       preprocessed images [n, R, R, 3]          → trunk → F → pools → head   (full fine-tuning)
///     features(F, u)  cached layer4 maps [n, g, g, C] (+ u [n, E] for paper+similarity) → pools → head (--freeze-trunk)
///     projected(p)    cached pool keys/values (ProjectedBatch)  → attention → head          (--freeze-kv)
///
/// ```swift
/// let (scores, _) = try model.scores(.features(maps, similarity: nil), text: try text.features(tokens))
/// ```
public enum ModelInput: Sendable {
    case images(Tensor)
    /// Layer4 maps and, for `paper+similarity`, the images' ``IPIQAModel/similarityEmbedding(images:)``.
    case features(Tensor, similarity: Tensor?)
    case projected(ProjectedBatch)

    /// Items in the batch.
    public var count: Int {
        switch self {
        case let .images(t), let .features(t, _): return t.shape.first ?? 0
        case let .projected(p): return p.count
        }
    }

    /// Items `range` (views, no copy): a micro-batch.
    public func slice(_ range: Range<Int>) -> ModelInput {
        switch self {
        case let .images(t): return .images(t.slice(rows: range))
        case let .features(t, u): return .features(t.slice(rows: range), similarity: u?.slice(rows: range))
        case let .projected(p): return .projected(p.slice(range))
        }
    }
}

extension IPIQAModel {
    /// Scores `[n, k]` (and the fusion's attention maps) of a batch given in any ``ModelInput`` form, with the text
    /// feature already computed (nil for the image-only model). Shapes are checked; mismatches throw.
    public func scores(_ input: ModelInput, text: Var?) throws -> (scores: Var, crossWeights: Tensor?) {
        let n = input.count
        if config.useText {
            guard let text else { throw IPIQAError.badInput("this model uses the prompt, but no text feature was given") }
            guard text.shape == [n, clip.config.embedDim] else {
                throw IPIQAError.badInput("\(n) inputs but text features of shape \(text.shape)")
            }
        }
        switch input {
        case let .images(images):
            let r = config.resolution
            guard images.shape.count == 4, images.shape[1] == r, images.shape[2] == r, images.shape[3] == 3 else {
                throw IPIQAError.badInput("images must be [N, \(r), \(r), 3] for this model, got \(images.shape)")
            }
            let similarity = config.useText ? similarityEmbedding(images: images) : nil
            return scores(features: clip.visual.trunk(Var(images)), text: text, similarity: similarity)
        case let .features(maps, similarity):
            let g = config.resolution / 32
            guard maps.shape == [n, g, g, clip.config.featureChannels] else {
                throw IPIQAError.badInput("cached feature maps must be [N, \(g), \(g), \(clip.config.featureChannels)], got \(maps.shape)")
            }
            if config.useText, similarityPool != nil {
                guard let similarity, similarity.shape == [n, clip.config.embedDim] else {
                    throw IPIQAError.badInput("the paper+similarity fusion needs the images' CLIP embeddings [N, \(clip.config.embedDim)] beside cached feature maps, got \(similarity.map { "\($0.shape)" } ?? "none")")
                }
            }
            return scores(features: Var(maps), text: text, similarity: similarity)
        case let .projected(p):
            return try FrozenProjections.scores(self, projected: p, text: text)
        }
    }
}
