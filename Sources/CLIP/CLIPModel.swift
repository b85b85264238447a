import NN
import Tensor

/// Port of openai/CLIP `clip/model.py` `CLIP` for the ResNet family: `visual` (``ModifiedResNet``), the causal text
/// ``TextTransformer`` with `token_embedding`, `positional_embedding`, `ln_final`, `text_projection`, and `logit_scale`.
/// Parameter names equal OpenAI's state-dict keys.
///
/// ```swift
/// let clip = try CLIPModel.load(URL(fileURLWithPath: "RN50.pt"))
/// let img = clip.encodeImage(pixels)                       // [N, 224, 224, 3] → [N, 1024]
/// let txt = try clip.encodeText(tokenizer.tokenize(["a cat"]))
/// ```
public final class CLIPModel: Module {
    public var isTraining = true
    public let config: CLIPConfiguration
    public let visual: ModifiedResNet
    public let transformer: TextTransformer
    public let tokenEmbedding: Embedding
    public let positionalEmbedding: Var
    public let lnFinal: LayerNorm
    public let textProjection: Var
    public let logitScale: Var

    /// A randomly initialised model (OpenAI's `initialize_parameters` scheme), seeded.
    public init(config: CLIPConfiguration, seed: UInt64 = 0) {
        var rng = SeededGenerator(seed: seed)
        self.config = config
        visual = ModifiedResNet(config: config, rng: &rng)
        let w = config.transformerWidth
        transformer = TextTransformer(width: w, layers: config.transformerLayers, heads: config.transformerHeads, rng: &rng)
        tokenEmbedding = Embedding(config.vocabSize, w, rng: &rng)
        tokenEmbedding.weight.value.assign(Tensor.randn([config.vocabSize, w], std: 0.02, using: &rng))
        positionalEmbedding = Var(Tensor.randn([config.contextLength, w], std: 0.01, using: &rng), requiresGrad: true)
        lnFinal = LayerNorm(w)
        textProjection = Var(Tensor.randn([w, config.embedDim], std: 1 / Float(w).squareRoot(), using: &rng), requiresGrad: true)
        logitScale = Var(Tensor(shape: [], values: [Float(Foundation.log(1 / 0.07))]), requiresGrad: true)
        initializeParameters(rng: &rng)
    }

    /// OpenAI's `initialize_parameters`: normal attention-pool projections, zero `bn3` gains, scaled text weights.
    private func initializeParameters(rng: inout SeededGenerator) {
        let pool = visual.attnpool
        let std = 1 / Float(pool.cProj.inFeatures).squareRoot()
        for l in [pool.qProj, pool.kProj, pool.vProj, pool.cProj] { l.weight.value.assign(Tensor.randn(l.weight.shape, std: std, using: &rng)) }
        for stage in visual.layers { for block in stage.items { block.bn3.weight.value.fill(0) } }
        let w = Float(config.transformerWidth)
        let projStd = 1 / w.squareRoot() / Float(2 * max(config.transformerLayers, 1)).squareRoot()
        let attnStd = 1 / w.squareRoot(), fcStd = 1 / (2 * w).squareRoot()
        for b in transformer.resblocks.items {
            b.attn.inProjWeight.value.assign(Tensor.randn(b.attn.inProjWeight.shape, std: attnStd, using: &rng))
            b.attn.outProj.weight.value.assign(Tensor.randn(b.attn.outProj.weight.shape, std: projStd, using: &rng))
            b.mlp.cFc.weight.value.assign(Tensor.randn(b.mlp.cFc.weight.shape, std: fcStd, using: &rng))
            b.mlp.cProj.weight.value.assign(Tensor.randn(b.mlp.cProj.weight.shape, std: projStd, using: &rng))
        }
    }

    public var localParameters: [(String, Var)] {
        [("positional_embedding", positionalEmbedding), ("text_projection", textProjection), ("logit_scale", logitScale)]
    }

    public var children: [(String, any Module)] {
        [("visual", visual), ("transformer", transformer), ("token_embedding", tokenEmbedding), ("ln_final", lnFinal)]
    }

    /// Image embeddings `[N, embedDim]` (not normalised) of preprocessed images `[N, H, W, 3]`.
    public func encodeImage(_ images: Var) -> Var { visual(images) }

    /// Per-token outputs of the text Transformer after `ln_final`, `[B, L, width]`, for token rows padded to a
    /// common length. Rows are cut to the longest end-of-text position in the batch: with a causal mask the padding
    /// after it never influences earlier positions, so the result equals the full 77-token pass.
    /// `replacingEOTWith` puts a trainable embedding (IP-IQA's [QA] token) at each row's end-of-text position.
    public func textTokens(_ tokens: [[Int32]], replacingEOTWith qa: Var? = nil) throws -> (hidden: Var, eot: [Int]) {
        guard let width = tokens.first?.count, tokens.allSatisfy({ $0.count == width }), width <= config.contextLength else {
            throw CLIPError.badInput("encodeText: token rows must be non-empty, of equal length ≤ \(config.contextLength)")
        }
        // End-of-text = the highest id in each row (as OpenAI's argmax).
        let eot = tokens.map { row in row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? 0 }
        let length = (eot.max() ?? 0) + 1
        let ids = tokens.flatMap { $0.prefix(length) }
        var x = try tokenEmbedding(ids, shape: [tokens.count, length])
        if let qa { x = replaceRows(x, positions: eot, with: qa) }
        x = addBroadcast(x, sliceAxis(positionalEmbedding, axis: 0, range: 0..<length))
        return (lnFinal(transformer(x)), eot)
    }

    /// Text embeddings `[B, embedDim]` (not normalised): the end-of-text token's feature `@ text_projection`.
    public func encodeText(_ tokens: [[Int32]], replacingEOTWith qa: Var? = nil) throws -> Var {
        let (hidden, eot) = try textTokens(tokens, replacingEOTWith: qa)
        return matmul(gatherRows(hidden, indices: eot), textProjection)
    }
}

import Foundation
