import NN
import Tensor

/// The [QA]-token fast path of CLIP's frozen, causal text encoder.
///
/// IP-IQA puts a trainable [QA] embedding at each prompt's end-of-text (EOT) position `e` and reads the text feature
/// there. With a causal mask, positions `< e` never attend to position `e`, so their per-layer keys and values
/// depend only on the (frozen) weights and the prompt: they are computed once per prompt (``prefix(for:)``) and
/// only the [QA] row is run through the layers (``encodeWithQA(prefixes:qa:)``):
///
///     x⁰ = qa + P[e]
///     per layer l:  h = ln_1(xˡ);  [q; k; v] = W_in h + b_in
///                   a = softmax(q [K_cacheˡ; k]ᵀ / √dh) [V_cacheˡ; v]        (per head; one query)
///                   y = xˡ + out_proj(a);   xˡ⁺¹ = y + c_proj(QuickGELU(c_fc(ln_2(y))))
///     feature = ln_final(x^L) · text_projection                           → equals `encodeText(tokens, replacingEOTWith: qa)`
///
/// Prompts of different lengths are batched by padding the cached keys to the longest prefix and masking the padded
/// slots with −∞ (the own key sits in the last slot). Everything is built from differentiable engine ops, so the
/// backward pass comes with it; the model's weights enter as constants, so only `qa` receives a gradient, whatever
/// the weights' `requiresGrad` says. Costs per step: `O(B · layers · width²)` instead of `O(B · L · layers · width²)`.
///
/// The cache is valid while the text weights stay unchanged (call ``removeAll()`` after changing them). Not
/// thread-safe: use one cache per training loop.
///
/// ```swift
/// let cache = TextPrefixCache(model: clip)
/// let prefixes = try cache.prefixes(for: tokens)                   // token rows [B][77]; computed once per prompt
/// let text = try cache.encodeWithQA(prefixes: prefixes, qa: qa)    // [B, embedDim], gradient to qa only
/// ```
public final class TextPrefixCache {
    /// Cached keys and values of one prompt's positions before its end-of-text token.
    public struct Prefix: Sendable {
        /// The end-of-text position `e` (= number of cached positions).
        public let length: Int
        /// Per layer, head-major `[heads, length, headDim]`.
        public let keys: [Tensor]
        public let values: [Tensor]
    }

    public let model: CLIPModel
    /// Most prompts kept (least recently used evicted first); nil: unbounded.
    public let capacity: Int?
    /// Prompts computed per batched prefix pass.
    public static let fillBatch = 64

    private var entries: [[Int32]: (prefix: Prefix, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0

    public init(model: CLIPModel, capacity: Int? = nil) {
        self.model = model
        self.capacity = capacity.map { max(1, $0) }
    }

    /// Number of cached prompts.
    public var count: Int { entries.count }

    /// Drops every cached prompt (needed after the text weights change).
    public func removeAll() { entries.removeAll() }

    /// The cached prefix of one token row (computed on first use).
    public func prefix(for tokens: [Int32]) throws -> Prefix { try prefixes(for: [tokens])[0] }

    /// The cached prefixes of token rows (zero-padded CLIP token rows, as `clip.tokenize` makes; rows may have
    /// different lengths). Missing prompts are computed together in batched passes of the frozen Transformer.
    public func prefixes(for rows: [[Int32]]) throws -> [Prefix] {
        let keys = try rows.map { try Self.prefixKey($0, contextLength: model.config.contextLength) }
        var missing: [[Int32]] = []
        var seen = Set<[Int32]>()
        for key in keys where entries[key] == nil && seen.insert(key).inserted { missing.append(key) }
        var computed: [[Int32]: Prefix] = [:]
        var start = 0
        while start < missing.count {
            let chunk = Array(missing[start..<min(start + Self.fillBatch, missing.count)])
            for (key, prefix) in zip(chunk, try compute(chunk)) { computed[key] = prefix }
            start += chunk.count
        }
        let result = keys.map { entries[$0]?.prefix ?? computed[$0]! }
        for key in keys {
            clock += 1
            entries[key] = (entries[key]?.prefix ?? computed[key]!, clock)
        }
        if let capacity, entries.count > capacity {
            let evict = entries.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(entries.count - capacity)
            for (key, _) in evict { entries[key] = nil }
        }
        return result
    }

    /// The tokens before the end-of-text position (the highest id; the first one on ties, as OpenAI's argmax).
    static func prefixKey(_ row: [Int32], contextLength: Int) throws -> [Int32] {
        guard !row.isEmpty, row.count <= contextLength else {
            throw CLIPError.badInput("TextPrefixCache: a token row must have 1…\(contextLength) ids, got \(row.count)")
        }
        let eot = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? 0
        return Array(row[..<eot])
    }

    /// Runs prefixes through the frozen Transformer (causal, so padding after a prefix changes nothing in it)
    /// and keeps every layer's keys and values of each prompt's own positions.
    private func compute(_ prefixes: [[Int32]]) throws -> [Prefix] {
        let n = prefixes.count, length = prefixes.map(\.count).max() ?? 0
        let blocks = model.transformer.resblocks.items
        let width = model.config.transformerWidth, heads = model.config.transformerHeads, dh = width / heads
        if length == 0 {
            let empty = Array(repeating: Tensor(zeros: [heads, 0, dh]), count: blocks.count)
            return prefixes.map { _ in Prefix(length: 0, keys: empty, values: empty) }
        }
        let ids = prefixes.flatMap { $0 + [Int32](repeating: 0, count: length - $0.count) }
        return try withoutGradients {
            var x = try model.tokenEmbedding(ids, shape: [n, length])
            x = addBroadcast(x, sliceAxis(model.positionalEmbedding, axis: 0, range: 0..<length))
            var keys = [[Tensor]](repeating: [], count: n), values = [[Tensor]](repeating: [], count: n)
            for (l, block) in blocks.enumerated() {
                let h = block.ln1(x)
                let qkv = linear(h, block.attn.inProjWeight, bias: block.attn.inProjBias)   // [n, L, 3D]
                for (b, prefix) in prefixes.enumerated() {
                    keys[b].append(Self.headMajor(qkv.value, row: b, length: prefix.count, column: width, heads: heads))
                    values[b].append(Self.headMajor(qkv.value, row: b, length: prefix.count, column: 2 * width, heads: heads))
                }
                if l == blocks.count - 1 { break }
                let q = sliceAxis(qkv, axis: 2, range: 0..<width)
                let k = sliceAxis(qkv, axis: 2, range: width..<(2 * width))
                let v = sliceAxis(qkv, axis: 2, range: (2 * width)..<(3 * width))
                let y = add(x, block.attn.outProj(attention(q: q, k: k, v: v, heads: heads, causal: true)))
                x = add(y, block.mlp(block.ln2(y)))
            }
            return prefixes.enumerated().map { Prefix(length: $0.element.count, keys: keys[$0.offset], values: values[$0.offset]) }
        }
    }

    /// Columns `column ..< column + D` of the first `length` positions of batch row `row` of `qkv` `[n, L, 3D]`,
    /// rearranged head-major `[heads, length, dh]`.
    private static func headMajor(_ qkv: Tensor, row: Int, length: Int, column: Int, heads: Int) -> Tensor {
        let l = qkv.shape[1], stride = qkv.shape[2], d = stride / 3, dh = d / heads
        let out = Tensor(uninitialized: [heads, length, dh])
        let src = qkv.pointer + row * l * stride + column, dst = out.pointer
        for hd in 0..<heads {
            for t in 0..<length { (dst + (hd * length + t) * dh).update(from: src + t * stride + hd * dh, count: dh) }
        }
        return out
    }
}
