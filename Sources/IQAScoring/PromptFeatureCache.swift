import CLIP
import Foundation
import IQAModel
import Tensor

/// A bounded least-recently-used cache of text features by token row, so that a prompt scored again (the same
/// prompt over many generations, a service's repeated requests) skips the text Transformer:
///
///     features(rows)[i] = cache[rows[i]] ?? model.textFeature(missing rows, as one batch)[j]
///
/// A model's text feature is a function of its token row alone in eval mode (`IPIQAModel.textFeature`), so a cached
/// row equals a recomputed one up to the last bits of the GEMM blocking (relative error ≤ 1e-5, tested). At most
/// `capacity` rows are kept (RN50: 1,024 floats = 4 KB each); the least recently used leaves first. Not thread-safe:
/// one cache per model, used by the thread that runs the model.
///
/// ```swift
/// let cache = PromptFeatureCache(capacity: 1024)
/// let text = try cache.features(tokens, model: model)   // [B, E]; hits and misses counted in cache.hits / .misses
/// ```
public final class PromptFeatureCache {
    public static let defaultCapacity = 1024
    public let capacity: Int
    public private(set) var hits = 0
    public private(set) var misses = 0

    private var entries: [[Int32]: (feature: [Float], stamp: Int)] = [:]
    private var clock = 0

    public init(capacity: Int = PromptFeatureCache.defaultCapacity) {
        self.capacity = max(0, capacity)
    }

    /// Rows currently held.
    public var count: Int { entries.count }

    /// Text features `[B, E]` of token rows: cached rows are copied, the missing ones computed in one pass.
    public func features(_ rows: [[Int32]], model: IPIQAModel) throws -> Var {
        var missing: [[Int32]] = []
        var seen = Set<[Int32]>()
        for row in rows where entries[row] == nil && seen.insert(row).inserted { missing.append(row) }
        hits += rows.count - missing.count
        misses += missing.count
        var computed: [[Int32]: [Float]] = [:]
        if !missing.isEmpty {
            let t = try withoutGradients { try model.textFeature(missing) }.value
            let e = t.shape[1], values = t.array
            for (i, row) in missing.enumerated() { computed[row] = Array(values[(i * e)..<((i + 1) * e)]) }
        }
        let e = model.clip.config.embedDim
        var out = [Float](repeating: 0, count: rows.count * e)
        for (i, row) in rows.enumerated() {
            clock += 1
            let feature: [Float]
            if let c = computed[row] { feature = c } else if let hit = entries[row] { feature = hit.feature } else {
                throw ScoringError.badInput("prompt feature cache: no feature for a prompt")
            }
            guard feature.count == e else { throw ScoringError.badInput("prompt feature cache: feature of \(feature.count) values, expected \(e)") }
            out.replaceSubrange((i * e)..<((i + 1) * e), with: feature)
            if capacity > 0 { entries[row] = (feature, clock) }
        }
        evict()
        return Var(Tensor(shape: [rows.count, e], values: out))
    }

    /// Drops every cached row.
    public func removeAll() { entries.removeAll() }

    /// Removes the least recently used rows beyond `capacity` (one sort per overflow, amortised over the batch).
    private func evict() {
        let excess = entries.count - capacity
        guard excess > 0 else { return }
        for (row, _) in entries.sorted(by: { $0.value.stamp < $1.value.stamp }).prefix(excess) { entries[row] = nil }
    }
}
