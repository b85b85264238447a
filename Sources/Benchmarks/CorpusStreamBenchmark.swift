import Foundation
import Image2Prompt
import IQAData

/// Peak memory of the streamed Image2Prompt corpus path at DiffusionDB scale, without a GPU-sized model: a
/// synthetic corpus in DiffusionDB's layout (`part-NNNNNN/` folders of 1,000 entries, JSON beside each folder, the
/// images of a part hard links to one 1×1 PNG, prompts of ~60 characters) is streamed through ``SimilarityFilterRun`` with a
/// stand-in similarity (a hash of the prompt, so no image is decoded), finished into the kept list, and sampled by
/// ``KeptPairs`` in random batches as training reads it. Peak RSS (VmHWM after a reset) is what the streaming
/// bookkeeping costs; run it at two corpus sizes and compare:
///
///     growth = peak(2 M rows) − peak(200 K rows)       (bounded: a few MB; the whole-corpus load grows ~linearly)
///
/// ```swift
/// let r = try CorpusStreamBenchmark(rows: 200_000, folder: URL(fileURLWithPath: "/tmp/ddb")).run()
/// print(r.peakMB, r.keptPairs)
/// ```
public struct CorpusStreamBenchmark {
    public var rows: Int
    /// Where the synthetic corpus and the filter folder go (reused when the corpus already has `rows` rows).
    public var folder: URL
    public var batchSize = 32
    /// Also measure `PretrainCorpus.load` (the whole corpus as an array), for comparison.
    public var loadWhole = false

    public init(rows: Int, folder: URL) {
        self.rows = rows
        self.folder = folder
    }

    /// What one run measured.
    public struct Result: Codable, Sendable {
        public let rows: Int
        public let keptPairs: Int
        public let filterSeconds: Double
        public let finishSeconds: Double
        /// Peak RSS (MiB) over streaming + filter + finish + 100 random kept batches.
        public let peakMB: Double
        /// Peak RSS (MiB) of `PretrainCorpus.load` of the same corpus, when measured.
        public let loadWholePeakMB: Double?
        public let baselineMB: Double
    }

    static let perPart = 1_000

    /// Writes the synthetic corpus unless `corpus/rows.txt` says it is there already.
    func makeCorpus(_ corpus: URL) throws {
        let marker = corpus.appendingPathComponent("rows.txt")
        if (try? String(contentsOf: marker, encoding: .utf8)) == "\(rows)" { return }
        try? FileManager.default.removeItem(at: corpus)
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        // A valid 1×1 grey PNG.
        let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==")!
        let source = corpus.appendingPathComponent("pixel.png")
        try png.write(to: source)
        let words = ["a", "red", "castle", "on", "a", "hill", "at", "dawn", "highly", "detailed", "oil", "painting", "trending"]
        var row = 0, part = 1
        while row < rows {
            let name = String(format: "part-%06d", part)
            let images = corpus.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
            var json = "{"
            // One file per part, linked under every name of the part (a file takes at most 65,000 links on ext4).
            let first = images.appendingPathComponent("0000.png")
            try png.write(to: first)
            for i in 0..<min(Self.perPart, rows - row) {
                let file = String(format: "%04d.png", i)
                guard i == 0 || link(first.path, images.appendingPathComponent(file).path) == 0 else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: images.appendingPathComponent(file).path])
                }
                let prompt = (0..<8).map { words[(row &* 7 &+ $0 &* 13) % words.count] }.joined(separator: " ") + " \(row)"
                json += (i == 0 ? "" : ",") + "\n\"\(file)\": {\"p\": \"\(prompt)\", \"se\": \(row), \"c\": 7.0, \"st\": 50, \"sa\": \"k_lms\"}"
                row += 1
            }
            try Data((json + "\n}\n").utf8).write(to: corpus.appendingPathComponent(name + ".json"))
            part += 1
        }
        try "\(rows)".write(to: marker, atomically: true, encoding: .utf8)
    }

    /// The stand-in similarity: FNV-1a of the prompt mapped to [0, 1) (about 65 % ≥ 0.35).
    static func fakeSimilarity(_ prompt: String) -> Float {
        var h: UInt32 = 2_166_136_261
        for b in prompt.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return Float(h >> 8) / Float(1 << 24)
    }

    public func run(log: (String) -> Void = { _ in }) throws -> Result {
        let corpus = folder.appendingPathComponent("corpus-\(rows)")
        try makeCorpus(corpus)
        let filterFolder = folder.appendingPathComponent("filter-\(rows)")
        try? FileManager.default.removeItem(at: filterFolder)
        let options = PretrainCorpus.Options()
        let pixel = corpus.appendingPathComponent("pixel.png")
        let identity = try FilterIdentity(clip: pixel, corpus: corpus, options: options, batchSize: batchSize)
        let filter = SimilarityFilterRun(folder: filterFolder, identity: identity)

        MemoryStats.resetPeak()
        let baseline = Double(MemoryStats.currentResidentBytes()) / 1_048_576
        var start = Date()
        try filter.run { batch in batch.map { Self.fakeSimilarity($0.prompt) } }
        let filterSeconds = Date().timeIntervalSince(start)
        start = Date()
        let summary = try filter.finish(threshold: 0.35, dropped: filterFolder.appendingPathComponent("dropped.csv"))
        let finishSeconds = Date().timeIntervalSince(start)
        let kept = try KeptPairs(folder: filterFolder)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let batch = try kept.pairs(at: (0..<batchSize).map { _ in Int.random(in: 0..<kept.count, using: &rng) })
            precondition(batch.count == batchSize)
        }
        let peak = Double(MemoryStats.peakResidentBytes()) / 1_048_576
        log(String(format: "rows %d: kept %d, filter %.1f s, finish %.1f s, peak RSS %.1f MiB (baseline %.1f)",
                   rows, summary.kept, filterSeconds, finishSeconds, peak, baseline))
        var whole: Double?
        if loadWhole {
            MemoryStats.resetPeak()
            let loaded = try PretrainCorpus.load(corpus, options: options)
            whole = Double(MemoryStats.peakResidentBytes()) / 1_048_576
            log(String(format: "PretrainCorpus.load of %d pairs: peak RSS %.1f MiB", loaded.pairs.count, whole ?? 0))
        }
        return Result(rows: rows, keptPairs: summary.kept, filterSeconds: filterSeconds, finishSeconds: finishSeconds,
                      peakMB: peak, loadWholePeakMB: whole, baselineMB: baseline)
    }
}
