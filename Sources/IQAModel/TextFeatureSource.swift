import CLIP
import NN
import Tensor

/// The prompt's text feature for training and evaluation, through the cheapest path that is exact for the model's
/// current state (checked on every call, so unfreezing a text parameter switches back to the full pass at once):
///
///     qaToken .token, text frozen  → TextPrefixCache: per prompt, the frozen encoder's per-layer keys/values of the
///                                    positions before end-of-text are computed once; each step runs only the [QA]
///                                    position through the layers (forward and backward; gradient to [QA] only)
///     qaToken .none,  text frozen  → the text feature is a constant of the prompt: computed once, then reused
///     otherwise (.table, textExtras .official, disabled)
///                                  → the full pass `model.textFeature(tokens)`
///
/// "Text frozen": no parameter of the text path (Transformer, `ln_final`, `positional_embedding`, `text_projection`,
/// and for `.none` also the token table) requires a gradient. Both shortcuts equal the full pass (relative error
/// ≤ 1e-5, tested). The caches grow with the number of distinct prompts (RN50: about 12 layers × 2 × 512 floats per
/// prompt token for the prefix cache — roughly 1 MB for a 20-token prompt); keep one source per model.
///
/// Cached values depend in their last bits on which prompts were computed together (padding changes the GEMM
/// blocking), so a trainer calls ``prefill(_:)`` with all its prompts first: the chunks are then fixed by the prompt
/// set alone, and a resumed run reproduces an uninterrupted one exactly.
///
/// ```swift
/// let text = TextFeatureSource(model: model)            // enabled: false forces the full pass
/// let t = try text.features(batch.tokens)               // [B, 1024], or nil for the image-only model
/// ```
public final class TextFeatureSource {
    /// How the features are computed.
    public enum Path: String, Sendable {
        /// The image-only model: no text.
        case none
        /// `model.textFeature(tokens)`: the whole Transformer over every position.
        case full
        /// Only the [QA] position through the layers, prefixes cached per prompt.
        case qaPrefix
        /// One cached feature per prompt.
        case constant
    }

    public let model: IPIQAModel
    public let enabled: Bool
    private let textParameters: [Var]
    private let tokenTable: [Var]
    private var prefixCache: TextPrefixCache?
    private var constants: [[Int32]: Tensor] = [:]

    public init(model: IPIQAModel, enabled: Bool = true) {
        self.model = model
        self.enabled = enabled
        let clip = model.clip
        textParameters = clip.transformer.parameters() + clip.lnFinal.parameters() + [clip.positionalEmbedding, clip.textProjection]
        tokenTable = clip.tokenEmbedding.parameters()
    }

    /// The path the next call takes.
    public var path: Path {
        guard model.config.useText else { return .none }
        guard enabled, !textParameters.contains(where: \.requiresGrad) else { return .full }
        switch model.config.qaToken {
        case .token: return model.qaToken == nil ? .full : .qaPrefix
        case .none: return tokenTable.contains(where: \.requiresGrad) ? .full : .constant
        case .table: return .full
        }
    }

    /// Prompts held by the active cache.
    public var cachedPrompts: Int { max(prefixCache?.count ?? 0, constants.count) }

    /// Drops every cached prompt (call after changing frozen text weights by hand).
    public func removeAll() {
        prefixCache?.removeAll()
        constants.removeAll()
    }

    /// Computes the caches of every distinct token row now, in a canonical (sorted) order, in chunks of
    /// ``TextPrefixCache/fillBatch``. Does nothing on the full path.
    public func prefill(_ tokens: [[Int32]]) throws {
        let rows = Array(Set(tokens)).sorted { $0.lexicographicallyPrecedes($1) }
        guard !rows.isEmpty else { return }
        switch path {
        case .none, .full:
            return
        case .qaPrefix:
            let cache = prefixCache ?? TextPrefixCache(model: model.clip)
            prefixCache = cache
            _ = try cache.prefixes(for: rows)
        case .constant:
            for start in stride(from: 0, to: rows.count, by: TextPrefixCache.fillBatch) {
                _ = try constantFeatures(Array(rows[start..<min(start + TextPrefixCache.fillBatch, rows.count)]))
            }
        }
    }

    /// Text features `[B, E]` of token rows (nil for the image-only model).
    public func features(_ tokens: [[Int32]]) throws -> Var? {
        switch path {
        case .none:
            return nil
        case .full:
            return try model.textFeature(tokens)
        case .qaPrefix:
            guard let qa = model.qaToken else { return try model.textFeature(tokens) }
            let cache = prefixCache ?? TextPrefixCache(model: model.clip)
            prefixCache = cache
            return try cache.encodeWithQA(tokens: tokens, qa: qa)
        case .constant:
            return try constantFeatures(tokens)
        }
    }

    private func constantFeatures(_ tokens: [[Int32]]) throws -> Var {
        var missing: [[Int32]] = []
        var seen = Set<[Int32]>()
        for row in tokens where constants[row] == nil && seen.insert(row).inserted { missing.append(row) }
        if !missing.isEmpty {
            let t = try withoutGradients { try model.textFeature(missing) }.value
            for (i, row) in missing.enumerated() { constants[row] = t.slice(rows: i..<(i + 1)).copy() }
        }
        let e = model.clip.config.embedDim
        let out = Tensor(uninitialized: [tokens.count, e])
        for (i, row) in tokens.enumerated() {
            guard let c = constants[row] else { throw IPIQAError.badInput("text features: no cached feature for a prompt") }
            (out.pointer + i * e).update(from: c.pointer, count: e)
        }
        return Var(out)
    }
}
