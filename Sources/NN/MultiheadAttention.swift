import Foundation
import Tensor

/// Multi-head attention with packed input projections, matching PyTorch `nn.MultiheadAttention(D, heads)`
/// with `batch_first=True` (parameters `in_proj_weight` `[3D, D]`, `in_proj_bias` `[3D]`, `out_proj.weight`,
/// `out_proj.bias`; no dropout, no bias_k/bias_v, no zero-attention):
///
///     q = query W_qᵀ + b_q,  k = key W_kᵀ + b_k,  v = value W_vᵀ + b_v     (W_q, W_k, W_v = row blocks of in_proj)
///     y = out_proj(attention(q, k, v, heads, causal))
///
/// `causal: true` equals passing `attn_mask = triu(full(-inf), 1)` (CLIP's text transformer). Initialisation as
/// PyTorch: `in_proj_weight` Xavier-uniform, biases 0, `out_proj.weight` kaiming-uniform (a = √5).
///
/// ```swift
/// let attn = MultiheadAttention(512, heads: 8, rng: &rng)
/// let y = attn(x, x, x, causal: true)        // x [B, 77, 512], self-attention
/// ```
public final class MultiheadAttention: Module {
    public var isTraining = true
    public let embedDim: Int
    public let heads: Int
    public let inProjWeight: Var
    public let inProjBias: Var
    public let outProj: Linear

    public init(_ embedDim: Int, heads: Int, rng: inout SeededGenerator) {
        enginePrecondition(heads > 0 && embedDim % heads == 0, "MultiheadAttention: embedDim \(embedDim) not divisible by heads \(heads)")
        self.embedDim = embedDim
        self.heads = heads
        let bound = (6 / Float(embedDim + 3 * embedDim)).squareRoot()
        inProjWeight = Var(Tensor.uniform([3 * embedDim, embedDim], low: -bound, high: bound, using: &rng), requiresGrad: true)
        inProjBias = Var(Tensor(zeros: [3 * embedDim]), requiresGrad: true)
        outProj = Linear(embedDim, embedDim, rng: &rng)
        outProj.bias?.value.fill(0)
    }

    public var localParameters: [(String, Var)] { [("in_proj_weight", inProjWeight), ("in_proj_bias", inProjBias)] }
    public var children: [(String, any Module)] { [("out_proj", outProj)] }

    /// Attention output `[B, Lq, D]` for `query` `[B, Lq, D]`, `key` and `value` `[B, Lk, D]`.
    public func callAsFunction(_ query: Var, _ key: Var, _ value: Var, causal: Bool = false) -> Var {
        let (q, k, v) = project(query, key, value)
        return outProj(attention(q: q, k: k, v: v, heads: heads, causal: causal))
    }

    /// Like ``callAsFunction(_:_:_:causal:)``, also returning the per-head attention probabilities
    /// `[B, heads, Lq, Lk]` (PyTorch's `need_weights=True, average_attn_weights=False`).
    public func forwardWithWeights(_ query: Var, _ key: Var, _ value: Var, causal: Bool = false) -> (Var, Tensor) {
        let (q, k, v) = project(query, key, value)
        let (o, w) = attentionWithWeights(q: q, k: k, v: v, heads: heads, causal: causal)
        return (outProj(o), w)
    }

    /// The three input projections; self-attention (`query === key === value`) uses one packed GEMM.
    private func project(_ query: Var, _ key: Var, _ value: Var) -> (Var, Var, Var) {
        let d = embedDim
        checkShape(query.value.rank == 3 && query.shape[2] == d, "MultiheadAttention query", query.shape, [d])
        if query === key && key === value {
            let qkv = linear(query, inProjWeight, bias: inProjBias)
            return (sliceAxis(qkv, axis: 2, range: 0..<d), sliceAxis(qkv, axis: 2, range: d..<(2 * d)),
                    sliceAxis(qkv, axis: 2, range: (2 * d)..<(3 * d)))
        }
        func proj(_ x: Var, _ block: Int) -> Var {
            let rows = (block * d)..<((block + 1) * d)
            return linear(x, sliceAxis(inProjWeight, axis: 0, range: rows), bias: sliceAxis(inProjBias, axis: 0, range: rows))
        }
        return (proj(query, 0), proj(key, 1), proj(value, 2))
    }
}
