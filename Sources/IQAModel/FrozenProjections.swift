import CLIP
import Foundation
import NN
import Tensor

/// The cached key/value projections of a batch (``TrainingConfiguration/freezeKV``). For an image's layer4 map `F`
/// (`HW` tokens of `C` channels), `X = [mean(F); F]` (`T = HW + 1` tokens) and each attention pool's frozen
/// projections `W_k, b_k, W_v, b_v`:
///
///     keys   = X W_kᵀ + b_k      [T, C]        values = X W_vᵀ + b_v      [T, C]        mean = mean(F)   [C]
///
/// ```swift
/// let p = FrozenProjections.project(model, features: maps)     // maps [n, g, g, C] → ProjectedBatch of n
/// ```
public struct ProjectedBatch: Sendable {
    /// `[n, C]`: the mean token (the visual pool's query input).
    public let mean: Tensor
    /// `[n, T, C]` each: the visual attention pool's cached keys and values.
    public let visualKeys: Tensor, visualValues: Tensor
    /// `[n, T, C]` each: the fusion pool's (nil for the image-only model).
    public let crossKeys: Tensor?, crossValues: Tensor?

    public init(mean: Tensor, visualKeys: Tensor, visualValues: Tensor, crossKeys: Tensor?, crossValues: Tensor?) {
        self.mean = mean
        self.visualKeys = visualKeys
        self.visualValues = visualValues
        self.crossKeys = crossKeys
        self.crossValues = crossValues
    }

    public var count: Int { mean.shape.first ?? 0 }

    /// Items `range` (views).
    public func slice(_ range: Range<Int>) -> ProjectedBatch {
        ProjectedBatch(mean: mean.slice(rows: range), visualKeys: visualKeys.slice(rows: range),
                       visualValues: visualValues.slice(rows: range), crossKeys: crossKeys?.slice(rows: range),
                       crossValues: crossValues?.slice(rows: range))
    }

    /// Names and tensors of item `i` (for storage); ``init(items:)`` reverses it.
    public func item(_ i: Int) -> [(String, Tensor)] {
        var out = [("mean", mean.slice(rows: i..<(i + 1))), ("visual_keys", visualKeys.slice(rows: i..<(i + 1))),
                   ("visual_values", visualValues.slice(rows: i..<(i + 1)))]
        if let crossKeys, let crossValues {
            out += [("cross_keys", crossKeys.slice(rows: i..<(i + 1))), ("cross_values", crossValues.slice(rows: i..<(i + 1)))]
        }
        return out
    }
}

/// The attention pools of IP-IQA with frozen key/value projections, from cached projections. With `P` the pool's
/// (trainable) positional embedding, the pools' tokens are `X + P`, and by linearity
///
///     K = (X + P) W_kᵀ + b_k = keys + P W_kᵀ          V = values + P W_vᵀ        (P W_kᵀ: [T, C], once per step)
///     visual pool:  q = W_q (mean + P₀) + b_q      fusion pool:  q = W_q t + b_q   (t: the text feature)
///     out = W_o · MultiHead(q, K, V)
///
/// so a step costs `O(T·C²)` once for the batch instead of `O(n·T·C²)`, and the gradient reaches `P` through
/// `dP = Σₙ dKₙ W_k + Σₙ dVₙ W_v` (the sum over the batch happens first, in the broadcast's backward). Equal to the
/// pools' own forward with frozen `k_proj`/`v_proj` up to float reassociation (tested, relative error ≤ 1e-5).
///
/// ```swift
/// let cached = FrozenProjections.project(model, features: maps)          // once per image
/// let (scores, _) = try FrozenProjections.scores(model, projected: cached, text: t)
/// ```
public enum FrozenProjections {
    /// Projections of feature maps `[n, g, g, C]` under the model's current pool weights (no gradients).
    public static func project(_ model: IPIQAModel, features: Tensor) -> ProjectedBatch {
        withoutGradients {
            let n = features.shape[0], hw = features.shape[1] * features.shape[2], c = features.shape[3]
            let flat = Var(features.reshaped([n, hw, c]))
            let mean = meanAxis(flat, axis: 1)                                  // [n, C]
            let x = concat([reshape(mean, [n, 1, c]), flat], axis: 1)           // [n, T, C]
            let pool = model.clip.visual.attnpool
            let cross = model.crossPool
            return ProjectedBatch(mean: mean.value, visualKeys: pool.kProj(x).value, visualValues: pool.vProj(x).value,
                                  crossKeys: cross.map { $0.kProj(x).value }, crossValues: cross.map { $0.vProj(x).value })
        }
    }

    /// Scores `[n, k]` and the fusion's attention maps from cached projections and the text feature.
    public static func scores(_ model: IPIQAModel, projected p: ProjectedBatch, text: Var?) throws -> (scores: Var, crossWeights: Tensor?) {
        let n = p.count
        let pool = model.clip.visual.attnpool
        let c = pool.kProj.inFeatures
        let tokens = p.visualKeys.shape.count == 3 ? p.visualKeys.shape[1] : 0
        let g = model.config.resolution / 32
        guard tokens == g * g + 1, p.mean.shape == [n, c], p.visualKeys.shape == [n, tokens, c], p.visualValues.shape == [n, tokens, c] else {
            throw IPIQAError.badInput("cached projections must be [N, \(g * g + 1), \(c)] (mean [N, \(c)]), got keys \(p.visualKeys.shape), mean \(p.mean.shape)")
        }
        // Visual attention pool.
        let positional = pool.interpolatedPositionalEmbedding(grid: g)                          // [T, C]
        let query = addBroadcast(Var(p.mean), reshape(sliceAxis(positional, axis: 0, range: 0..<1), [c]))
        let q = pool.qProj(reshape(query, [n, 1, c]))
        let k = addBroadcast(Var(p.visualKeys), linear(positional, pool.kProj.weight))
        let v = addBroadcast(Var(p.visualValues), linear(positional, pool.vProj.weight))
        let visual = reshape(pool.cProj(attention(q: q, k: k, v: v, heads: pool.heads)), [n, pool.cProj.outFeatures])
        guard model.config.useText, let cross = model.crossPool, let text else { return (model.head(visual: visual), nil) }
        guard model.similarityPool == nil else {
            throw IPIQAError.badInput("cached projections (--freeze-kv) hold no input for the similarity features of the "
                                      + "paper+similarity fusion; train it with --freeze-trunk or full fine-tuning")
        }

        // Fusion pool (query: the text feature).
        guard let crossKeys = p.crossKeys, let crossValues = p.crossValues,
              crossKeys.shape == [n, tokens, c], crossValues.shape == [n, tokens, c] else {
            throw IPIQAError.badInput("cached projections hold no fusion keys/values of shape [N, \(tokens), \(c)]")
        }
        let crossPositional = cross.positionalEmbedding
        let cq = cross.qProj(reshape(text, [n, 1, text.shape[1]]))
        let ck = addBroadcast(Var(crossKeys), linear(crossPositional, cross.kProj.weight))
        let cv = addBroadcast(Var(crossValues), linear(crossPositional, cross.vProj.weight))
        let (attended, weights) = attentionWithWeights(q: cq, k: ck, v: cv, heads: cross.heads)
        let fused = reshape(cross.outProj(attended), [n, cross.outProj.outFeatures])
        return (model.head(visual: visual, fused: fused, text: text, similarityImage: nil), weights)
    }
}
