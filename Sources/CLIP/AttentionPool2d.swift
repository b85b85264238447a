import NN
import Tensor

/// Port of openai/CLIP `clip/model.py` `AttentionPool2d`: the mean of the feature map is prepended as an extra
/// token, a learned positional embedding is added, and multi-head attention with that single mean token as query
/// over all `HW + 1` tokens (separate q/k/v projections, output projection `c_proj`) gives the pooled embedding.
/// The key and value projections are folded into the one query and the pooled token (``singleQueryAttention``), which
/// gives the same result at a fiftieth of the work at 512 px.
///
/// For inputs whose grid differs from the trained one the positional embedding is resized as IP-IQA does: keep the
/// mean token's row, reshape the rest to the `g × g` grid, bicubic (`align_corners=False`) to the new grid,
/// flatten back (see ``interpolatedPositionalEmbedding(grid:)``).
///
/// ```swift
/// let pooled = pool(features)          // features [N, h, w, 2048] → [N, 1024]
/// ```
public final class AttentionPool2d: Module {
    public var isTraining = true
    /// `[g² + 1, C]`; replaced by ``resizePositionalEmbedding(grid:)`` when a model is fine-tuned at another size.
    public private(set) var positionalEmbedding: Var
    public let qProj: Linear, kProj: Linear, vProj: Linear, cProj: Linear
    public let heads: Int

    public init(grid: Int, embedDim: Int, heads: Int, outputDim: Int, rng: inout SeededGenerator) {
        positionalEmbedding = Var(Tensor.randn([grid * grid + 1, embedDim], std: 1 / Float(embedDim).squareRoot(), using: &rng), requiresGrad: true)
        kProj = Linear(embedDim, embedDim, rng: &rng)
        qProj = Linear(embedDim, embedDim, rng: &rng)
        vProj = Linear(embedDim, embedDim, rng: &rng)
        cProj = Linear(embedDim, outputDim, rng: &rng)
        self.heads = heads
    }

    public var localParameters: [(String, Var)] { [("positional_embedding", positionalEmbedding)] }
    public var children: [(String, any Module)] { [("k_proj", kProj), ("q_proj", qProj), ("v_proj", vProj), ("c_proj", cProj)] }

    /// The trained grid side (7 for RN50).
    public var nativeGrid: Int { Int(Double(positionalEmbedding.shape[0] - 1).squareRoot().rounded()) }

    /// Replaces the positional embedding by its interpolation to `grid × grid` (a new trainable leaf), as the official
    /// IP-IQA code does once at model construction for 512-px inputs. The old values are not kept.
    public func resizePositionalEmbedding(grid: Int) {
        guard grid != nativeGrid else { return }
        let resized = withoutGradients { interpolatePositionalEmbedding(positionalEmbedding, to: grid) }.value
        positionalEmbedding = Var(resized, requiresGrad: positionalEmbedding.requiresGrad)
    }

    /// The positional embedding for an `grid × grid` feature map (differentiable; the stored one when the grid matches).
    public func interpolatedPositionalEmbedding(grid: Int) -> Var {
        interpolatePositionalEmbedding(positionalEmbedding, to: grid)
    }

    /// Tokens `[mean(F); F] + P` of a feature map `[N, h, w, C]` → `[N, hw + 1, C]` (shared with IP-IQA's fusion).
    public static func tokens(_ features: Var, positional: Var) -> Var {
        let n = features.shape[0], h = features.shape[1], w = features.shape[2], c = features.shape[3]
        let flat = reshape(features, [n, h * w, c])
        let meanToken = reshape(meanAxis(flat, axis: 1), [n, 1, c])
        return addBroadcast(concat([meanToken, flat], axis: 1), positional)
    }

    public func callAsFunction(_ features: Var) -> Var { forward(features).output }

    /// The pooled embedding `[N, outputDim]` and the attention probabilities `[N, heads, 1, hw + 1]`.
    ///
    /// `positional: false` pools the tokens `[mean(F); F]` without adding the positional embedding, as CLIP-IQA
    /// (Wang, Chan and Loy, AAAI 2023) does for its RN50 so that inputs of any size (any grid, square or not) are
    /// scored without interpolating the embedding.
    public func forward(_ features: Var, positional: Bool = true) -> (output: Var, weights: Tensor) {
        let h = features.shape[1], w = features.shape[2]
        let x: Var
        if positional {
            checkShape(h == w, "AttentionPool2d (square feature maps)", features.shape, positionalEmbedding.shape)
            x = Self.tokens(features, positional: interpolatedPositionalEmbedding(grid: h))
        } else {
            let n = features.shape[0], c = features.shape[3]
            let flat = reshape(features, [n, h * w, c])
            x = concat([reshape(meanAxis(flat, axis: 1), [n, 1, c]), flat], axis: 1)
        }
        let q = qProj(sliceAxis(x, axis: 1, range: 0..<1))
        let (attended, weights) = singleQueryAttention(tokens: x, query: q, keys: kProj, values: vProj, heads: heads)
        let out = cProj(attended)
        return (reshape(out, [features.shape[0], cProj.outFeatures]), weights)
    }
}

/// Resizes a `[g² + 1, C]` positional embedding (row 0: the mean/class token) to `[grid² + 1, C]` by bicubic
/// interpolation of its spatial rows (PyTorch `F.interpolate(mode='bicubic', align_corners=False)`). Returns the
/// input itself when the grid already matches.
public func interpolatePositionalEmbedding(_ pos: Var, to grid: Int) -> Var {
    let rows = pos.shape[0], c = pos.shape[1]
    let g = Int(Double(rows - 1).squareRoot().rounded())
    checkShape(g * g + 1 == rows, "positional embedding (square grid + 1 rows)", pos.shape, [grid * grid + 1, c])
    if g == grid { return pos }
    let cls = sliceAxis(pos, axis: 0, range: 0..<1)
    let spatial = reshape(sliceAxis(pos, axis: 0, range: 1..<rows), [1, g, g, c])
    let resized = reshape(interpolateBicubic(spatial, height: grid, width: grid), [grid * grid, c])
    return concat([cls, resized], axis: 0)
}
