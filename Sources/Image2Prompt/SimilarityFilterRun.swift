import Archive
import Foundation
import IQAData

/// What a similarity-filter folder was computed from: every shard and every resumed run must agree on it.
///
/// ```swift
/// let id = try FilterIdentity(clip: clipURL, corpus: corpusURL, options: .init(), batchSize: 32)
/// ```
public struct FilterIdentity: Codable, Sendable, Equatable {
    public var clip: String
    public var clipBytes: Int
    public var clipCRC32: String
    public var corpus: String
    public var options: PretrainCorpus.Options
    public var batchSize: Int
    /// Pairs per chunk file (a multiple of the batch size).
    public var chunkPairs: Int

    /// Batches per chunk by default (1,024 pairs at batch 32).
    public static let defaultChunkBatches = 32

    /// Reads the CLIP checkpoint's size and CRC-32 (once, in pieces).
    public init(clip: URL, corpus: URL, options: PretrainCorpus.Options, batchSize: Int,
                chunkBatches: Int = FilterIdentity.defaultChunkBatches) throws {
        do { clipCRC32 = FileChecksum.hex(try FileChecksum.crc32(of: clip)) } catch {
            throw Image2PromptError.writeFailed(file: clip.path, reason: "cannot read it for its checksum (\(AtomicFile.reason(error)))")
        }
        self.clip = clip.lastPathComponent
        clipBytes = ((try? FileManager.default.attributesOfItem(atPath: clip.path)[.size]) as? NSNumber)?.intValue ?? -1
        self.corpus = corpus.standardizedFileURL.path
        self.options = options
        self.batchSize = batchSize
        chunkPairs = batchSize * max(1, chunkBatches)
    }
}

/// The similarity filter of Image2Prompt pre-training as a stream over the corpus, in chunk files on disk:
///
///     chunk k = corpus pairs [k·C, (k+1)·C)   (C = chunkPairs, whole batches)      shard i of N scores chunks k ≡ i (mod N)
///
/// Each process streams the corpus metadata (``PretrainCorpus/stream(_:options:_:)``, one part in memory at a time),
/// scores only its own chunks batch by batch, and writes each finished chunk atomically as `chunk-NNNNNNNN.tsv`
/// (one line per pair: `row, similarity, "name", "image path", "prompt"`, tab-separated, strings JSON-quoted).
/// Chunks already on disk are not scored again, so a killed run resumes where it stopped, shards can run as a
/// Slurm array or under mpirun into one shared folder, and an unsharded run finishes whatever is missing. Since
/// each batch holds the same pairs as in an unsharded run, the chunks — and the kept list ``finish(threshold:dropped:)``
/// assembles from them — do not depend on the number of shards. Memory: one part's metadata, one chunk's lines and
/// one batch of images, whatever the corpus size.
///
/// ```swift
/// let run = SimilarityFilterRun(folder: URL(fileURLWithPath: "i2p.filter"), identity: id)
/// try run.run(shard: try Shard(parsing: "0/4")) { try trainer.similarities($0) }
/// // … the other shards …
/// let summary = try run.finish(threshold: 0.35, dropped: URL(fileURLWithPath: "dropped.csv"))
/// let kept = try KeptPairs(folder: run.folder)
/// ```
public struct SimilarityFilterRun: Sendable {
    public let folder: URL
    public let identity: FilterIdentity

    public init(folder: URL, identity: FilterIdentity) {
        self.folder = folder
        self.identity = identity
    }

    static let identityFile = "filter.json", streamFile = "stream.json"

    /// Corpus size as the streams counted it (every shard writes the same).
    public struct StreamCount: Codable, Sendable, Equatable {
        public var pairs: Int
        public var skipped: Int
    }

    /// What one shard's run did.
    public struct ShardReport: Codable, Sendable {
        public let shard: String
        public let pairs: Int
        public let chunks: Int
        public let chunksScored: Int
        public let chunksFound: Int
        public let skipped: [PretrainCorpusIssue]
    }

    func chunkURL(_ k: Int) -> URL { folder.appendingPathComponent(String(format: "chunk-%08d.tsv", k)) }

    /// Creates the folder and its `filter.json`, or checks that an existing one describes the same filter.
    func prepare() throws {
        func fail(_ reason: String) -> Image2PromptError { .writeFailed(file: folder.path, reason: reason) }
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw fail("cannot create the folder (\(FileProblem.describe(error)))")
        }
        let url = folder.appendingPathComponent(Self.identityFile)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        if FileManager.default.fileExists(atPath: url.path) {
            guard let data = try? Data(contentsOf: url), let found = try? JSONDecoder().decode(FilterIdentity.self, from: data) else {
                throw Image2PromptError.invalidSetting("\(url.path): not a similarity-filter description; remove the folder or choose another")
            }
            guard found == identity else {
                throw Image2PromptError.invalidSetting("\(url.path) was made from another CLIP checkpoint, corpus or batch size "
                    + "(\(found.clip) \(found.clipCRC32), \(found.corpus), batch \(found.batchSize)); remove the folder or choose another")
            }
            return
        }
        try write(url) { try $0.write(contentsOf: encoder.encode(identity)) }
    }

    /// Scores this shard's chunks that are not on disk yet with `similarities` (called with one batch of pairs in
    /// corpus order, returns one value per pair).
    @discardableResult
    public func run(shard: Shard = .whole, log: @escaping (String) -> Void = { _ in },
                    similarities: @escaping ([PretrainPair]) throws -> [Float]) throws -> ShardReport {
        try prepare()
        let c = identity.chunkPairs, b = identity.batchSize
        var owned = false, current = -1, lines = "", batch: [PretrainPair] = [], first = 0
        var scored = 0, found = 0
        let started = Date()
        func flushBatch() throws {
            guard !batch.isEmpty else { return }
            let values = try similarities(batch)
            guard values.count == batch.count else {
                throw Image2PromptError.invalidSetting("the similarity function returned \(values.count) values for \(batch.count) pairs")
            }
            for (j, (pair, s)) in zip(batch, values).enumerated() { lines += Self.line(row: first + j, similarity: s, pair: pair) }
            first += batch.count
            batch.removeAll(keepingCapacity: true)
        }
        func finishChunk() throws {
            guard owned else { return }
            try flushBatch()
            let text = lines
            try write(chunkURL(current)) { try $0.write(contentsOf: Data(text.utf8)) }
            lines = ""
            scored += 1
            log("filter shard \(shard): chunk \(current) written (\(scored) scored, \(found) found on disk, "
                + String(format: "%.0f s)", Date().timeIntervalSince(started)))
        }
        let (total, skipped) = try PretrainCorpus.stream(URL(fileURLWithPath: identity.corpus), options: identity.options) { index, pair in
            let k = index / c
            if k != current {
                try finishChunk()
                current = k
                owned = k % shard.count == shard.index
                if owned, FileManager.default.fileExists(atPath: chunkURL(k).path) { owned = false; found += 1 }
                first = index
            }
            guard owned else { return }
            batch.append(pair)
            if batch.count == b { try flushBatch() }
        }
        try finishChunk()
        let count = StreamCount(pairs: total, skipped: skipped.count)
        let countURL = folder.appendingPathComponent(Self.streamFile)
        if let data = try? Data(contentsOf: countURL), let before = try? JSONDecoder().decode(StreamCount.self, from: data), before != count {
            throw Image2PromptError.invalidSetting("\(identity.corpus): the corpus now streams \(total) pairs, \(before.pairs) before "
                                                   + "(\(countURL.path)); it changed while being filtered")
        }
        try write(countURL) { try $0.write(contentsOf: JSONEncoder().encode(count)) }
        return ShardReport(shard: shard.description, pairs: total, chunks: (total + c - 1) / c, chunksScored: scored,
                           chunksFound: found, skipped: skipped)
    }

    /// One chunk or kept-list line: `row \t similarity \t "name" \t "image path" \t "prompt"` and a newline.
    static func line(row: Int, similarity: Float, pair: PretrainPair) -> String {
        "\(row)\t\(similarity)\t\(JSONText.quoted(pair.name))\t\(JSONText.quoted(pair.image.path))\t\(JSONText.quoted(pair.prompt))\n"
    }

    /// Parses ``line(row:similarity:pair:)`` (without its newline) exactly; nil when it is anything else.
    static func parse(_ line: Substring) -> (row: Int, similarity: Float, pair: PretrainPair)? {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard f.count == 5, let row = Int(f[0]), let s = Float(f[1]) else { return nil }
        func string(_ field: Substring) -> String? {
            try? JSONSerialization.jsonObject(with: Data(field.utf8), options: .fragmentsAllowed) as? String
        }
        guard let name = string(f[2]), let path = string(f[3]), let prompt = string(f[4]) else { return nil }
        return (row, s, PretrainPair(name: name, image: URL(fileURLWithPath: path), prompt: prompt))
    }

    /// Atomic write into the folder; failures name the file.
    func write(_ url: URL, _ body: (FileHandle) throws -> Void) throws {
        do { try AtomicFile.write(to: url, streaming: body) } catch {
            throw Image2PromptError.writeFailed(file: url.path, reason: AtomicFile.reason(error))
        }
    }
}
