import CLIP
import NN
import Tensor

/// IP-IQA's image–prompt fusion ("TextAttentionPool2d" in the official code): tokens `[mean(F); F] + P` of the
/// image's layer4 feature map (`HW + 1` tokens of `C` channels, `P` a learned positional embedding initialised
/// `randn / √C`), attended by a single query — the prompt's text feature through its own projection:
///
///     q = W_q t,   K = W_k X,   V = W_v X,   out = W_o · softmax(q Kᵀ / √d_h) V   (per head, `heads` heads)
///
/// Shapes for RN50 at 512 px: `X` 257 × 2048, `t` 1024, 32 heads of 64, output 1024.
///
/// ```swift
/// let pool = CrossModalAttentionPool(grid: 16, channels: 2048, textDim: 1024, heads: 32, outputDim: 1024, rng: &rng)
/// let (fused, weights) = pool(features, text: textFeature)   // [N, 1024], [N, 32, 1, 257]
/// ```
public final class CrossModalAttentionPool: Module {
    public var isTraining = true
    public let positionalEmbedding: Var
    public let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    public let heads: Int

    public init(grid: Int, channels: Int, textDim: Int, heads: Int, outputDim: Int, rng: inout SeededGenerator) {
        positionalEmbedding = Var(Tensor.randn([grid * grid + 1, channels], std: 1 / Float(channels).squareRoot(), using: &rng), requiresGrad: true)
        qProj = Linear(textDim, channels, rng: &rng)
        kProj = Linear(channels, channels, rng: &rng)
        vProj = Linear(channels, channels, rng: &rng)
        outProj = Linear(channels, outputDim, rng: &rng)
        self.heads = heads
    }

    public var localParameters: [(String, Var)] { [("positional_embedding", positionalEmbedding)] }
    public var children: [(String, any Module)] {
        [("cross_attn.q_proj", qProj), ("cross_attn.k_proj", kProj), ("cross_attn.v_proj", vProj), ("cross_attn.out_proj", outProj)]
    }

    /// Fused feature `[N, outputDim]` and attention probabilities `[N, heads, 1, HW + 1]` (token 0 is the mean token).
    public func callAsFunction(_ features: Var, text: Var) -> (output: Var, weights: Tensor) {
        let n = features.shape[0]
        let tokens = AttentionPool2d.tokens(features, positional: positionalEmbedding)
        let q = qProj(reshape(text, [n, 1, text.shape[1]]))
        let (attended, weights) = singleQueryAttention(tokens: tokens, query: q, keys: kProj, values: vProj, heads: heads)
        return (reshape(outProj(attended), [n, outProj.outFeatures]), weights)
    }
}
