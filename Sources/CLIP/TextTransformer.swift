import NN
import Tensor

/// Port of openai/CLIP `clip/model.py` `ResidualAttentionBlock`: pre-norm causal self-attention and a QuickGELU MLP,
/// each with a residual connection. Batch-first (`[B, L, D]`) here; OpenAI's code is sequence-first.
public final class ResidualAttentionBlock: Module {
    public var isTraining = true
    public let attn: MultiheadAttention
    public let ln1: LayerNorm, ln2: LayerNorm
    public let mlp: MLP

    /// `c_fc` (D → 4D), QuickGELU, `c_proj` (4D → D).
    public final class MLP: Module {
        public var isTraining = true
        public let cFc: Linear, cProj: Linear
        init(_ d: Int, rng: inout SeededGenerator) {
            cFc = Linear(d, 4 * d, rng: &rng)
            cProj = Linear(4 * d, d, rng: &rng)
        }
        public var children: [(String, any Module)] { [("c_fc", cFc), ("c_proj", cProj)] }
        public func callAsFunction(_ x: Var) -> Var { cProj(quickGELU(cFc(x))) }
    }

    public init(width: Int, heads: Int, rng: inout SeededGenerator) {
        attn = MultiheadAttention(width, heads: heads, rng: &rng)
        ln1 = LayerNorm(width)
        mlp = MLP(width, rng: &rng)
        ln2 = LayerNorm(width)
    }

    public var children: [(String, any Module)] { [("attn", attn), ("ln_1", ln1), ("mlp", mlp), ("ln_2", ln2)] }

    /// `x + attn(ln_1(x))` with a causal mask, then `+ mlp(ln_2(·))`.
    public func callAsFunction(_ x: Var) -> Var {
        let h = ln1(x)
        let y = add(x, attn(h, h, h, causal: true))
        return add(y, mlp(ln2(y)))
    }
}

/// The text Transformer's stack of blocks (state-dict prefix `transformer.resblocks.N`).
public final class TextTransformer: Module {
    public var isTraining = true
    public let resblocks: ModuleList<ResidualAttentionBlock>

    public init(width: Int, layers: Int, heads: Int, rng: inout SeededGenerator) {
        var blocks: [ResidualAttentionBlock] = []
        for _ in 0..<layers { blocks.append(ResidualAttentionBlock(width: width, heads: heads, rng: &rng)) }
        resblocks = ModuleList(blocks)
    }

    public var children: [(String, any Module)] { [("resblocks", resblocks)] }

    public func callAsFunction(_ x: Var) -> Var {
        var h = x
        for block in resblocks.items { h = block(h) }
        return h
    }
}
