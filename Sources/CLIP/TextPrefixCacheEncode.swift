import NN
import Tensor

extension TextPrefixCache {
    /// Text features `[B, embedDim]` of prompts whose end-of-text embedding is replaced by `qa` (`[width]`), equal to
    /// `model.encodeText(tokens, replacingEOTWith: qa)`, computing only the [QA] row through the layers (see the type's
    /// documentation for the formulas). Differentiable with respect to `qa` only.
    ///
    /// ```swift
    /// let text = try cache.encodeWithQA(prefixes: cache.prefixes(for: tokens), qa: model.qaToken!)
    /// ```
    public func encodeWithQA(prefixes: [Prefix], qa: Var) throws -> Var {
        let width = model.config.transformerWidth, heads = model.config.transformerHeads, dh = width / heads
        let blocks = model.transformer.resblocks.items
        guard !prefixes.isEmpty else { throw CLIPError.badInput("TextPrefixCache.encodeWithQA: no prompts") }
        guard qa.value.count == width else {
            throw CLIPError.badInput("TextPrefixCache.encodeWithQA: the [QA] vector has \(qa.value.count) values, the text width is \(width)")
        }
        guard prefixes.allSatisfy({ $0.keys.count == blocks.count && $0.length < model.config.contextLength }) else {
            throw CLIPError.badInput("TextPrefixCache.encodeWithQA: a prefix was not made by a cache of this model")
        }
        let b = prefixes.count, slots = (prefixes.map(\.length).max() ?? 0) + 1

        // x⁰ = P[e] + qa, one row per prompt.
        let positions = Tensor(uninitialized: [b, width])
        let pos = model.positionalEmbedding.value.pointer
        for (i, p) in prefixes.enumerated() { (positions.pointer + i * width).update(from: pos + p.length * width, count: width) }
        var x = addBroadcast(Var(positions), reshape(qa, [width]))

        // −∞ on the padded key slots (each prompt's own key is the last slot).
        let mask = Tensor(zeros: [b, heads, 1, slots])
        for (i, p) in prefixes.enumerated() where p.length < slots - 1 {
            for hd in 0..<heads {
                (mask.pointer + (i * heads + hd) * slots + p.length).update(repeating: -.infinity, count: slots - 1 - p.length)
            }
        }
        let maskVar = Var(mask)
        let scaleFactor = 1 / Float(dh).squareRoot()

        for (l, block) in blocks.enumerated() {
            let h = layerNorm(x, gamma: frozen(block.ln1.weight), beta: frozen(block.ln1.bias), eps: block.ln1.eps)
            let qkv = linear(h, frozen(block.attn.inProjWeight), bias: frozen(block.attn.inProjBias))      // [B, 3D]
            let q = reshape(sliceAxis(qkv, axis: 1, range: 0..<width), [b, heads, 1, dh])
            let k = reshape(sliceAxis(qkv, axis: 1, range: width..<(2 * width)), [b, heads, 1, dh])
            let v = reshape(sliceAxis(qkv, axis: 1, range: (2 * width)..<(3 * width)), [b, heads, 1, dh])
            let keys = concat([Var(Self.padded(prefixes.map { $0.keys[l] }, slots: slots - 1)), k], axis: 2)
            let values = concat([Var(Self.padded(prefixes.map { $0.values[l] }, slots: slots - 1)), v], axis: 2)
            let scores = add(scale(matmul(q, keys, transposeB: true), scaleFactor), maskVar)            // [B, H, 1, slots]
            let attended = reshape(matmul(softmax(scores), values), [b, width])
            let y = add(x, linear(attended, frozen(block.attn.outProj.weight), bias: block.attn.outProj.bias.map(frozen)))
            let hidden = quickGELU(linear(layerNorm(y, gamma: frozen(block.ln2.weight), beta: frozen(block.ln2.bias), eps: block.ln2.eps),
                                          frozen(block.mlp.cFc.weight), bias: block.mlp.cFc.bias.map(frozen)))
            x = add(y, linear(hidden, frozen(block.mlp.cProj.weight), bias: block.mlp.cProj.bias.map(frozen)))
        }
        let final = layerNorm(x, gamma: frozen(model.lnFinal.weight), beta: frozen(model.lnFinal.bias), eps: model.lnFinal.eps)
        return matmul(final, frozen(model.textProjection))
    }

    /// Text features of token rows through the fast path (prefixes fetched or computed).
    public func encodeWithQA(tokens: [[Int32]], qa: Var) throws -> Var {
        try encodeWithQA(prefixes: prefixes(for: tokens), qa: qa)
    }

    /// Head-major caches `[heads, e_i, dh]` stacked into `[B, heads, slots, dh]`, zero after each prompt's length.
    private static func padded(_ caches: [Tensor], slots: Int) -> Tensor {
        let heads = caches[0].shape[0], dh = caches[0].shape[2]
        let out = Tensor(zeros: [caches.count, heads, slots, dh])
        for (i, c) in caches.enumerated() {
            let length = c.shape[1]
            for hd in 0..<heads {
                (out.pointer + ((i * heads + hd) * slots) * dh).update(from: c.pointer + hd * length * dh, count: length * dh)
            }
        }
        return out
    }
}

/// A weight as a constant of the graph (same storage, no gradient).
@inline(__always)
private func frozen(_ w: Var) -> Var { Var(w.value) }
