import Foundation
import IQAData

/// The outcome of the similarity filter before Image2Prompt training: each pair with the starting CLIP model's
/// cosine similarity `cos(image, text)` (native resolution, CLIP preprocessing, batch norm in eval mode), split at
/// `threshold` — kept iff `similarity ≥ threshold`. Both lists keep corpus order.
///
/// ```swift
/// let result = try trainer.filter(corpus.pairs, threshold: 0.35)
/// print("kept \(result.kept.count) of \(result.total)")
/// try result.writeDropped(to: URL(fileURLWithPath: "dropped.csv"))
/// ```
public struct Image2PromptFilterResult: Codable, Sendable, Equatable {
    public struct ScoredPair: Codable, Sendable, Equatable {
        public let pair: PretrainPair
        public let similarity: Float
        public init(pair: PretrainPair, similarity: Float) { self.pair = pair; self.similarity = similarity }
    }

    public let threshold: Float
    public let kept: [ScoredPair]
    public let dropped: [ScoredPair]

    /// Splits scored pairs at `threshold`.
    public init(threshold: Float, scored: [ScoredPair]) {
        self.threshold = threshold
        kept = scored.filter { $0.similarity >= threshold }
        dropped = scored.filter { !($0.similarity >= threshold) }
    }

    public var total: Int { kept.count + dropped.count }
    public var keptPairs: [PretrainPair] { kept.map(\.pair) }

    /// `image,similarity,prompt` rows (RFC 4180 quoting), one per dropped pair.
    public func droppedCSV() -> String {
        var out = "image,similarity,prompt\n"
        for d in dropped {
            out += csvField(d.pair.name) + "," + String(format: "%.6f", d.similarity) + "," + csvField(d.pair.prompt) + "\n"
        }
        return out
    }

    /// Writes ``droppedCSV()`` atomically (temporary file in the same folder, then rename).
    public func writeDropped(to url: URL) throws {
        do { try Data(droppedCSV().utf8).write(to: url, options: .atomic) } catch {
            throw Image2PromptError.writeFailed(file: url.path, reason: error.localizedDescription)
        }
    }

    private func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
