import Archive
import Foundation
import IQAData

/// The kept list of a finished similarity filter, read by index without loading it: `kept.tsv` (the kept pairs'
/// lines, corpus order) and `kept.index` (little-endian UInt64 byte offsets of each line, plus the file's end), so
/// pair `k` is one `pread` of 16 bytes and one of its line. Training reads only each batch's pairs.
///
///     offsets[k] ≤ line k < offsets[k + 1]          count = size(kept.index) / 8 − 1
///
/// ```swift
/// let kept = try KeptPairs(folder: URL(fileURLWithPath: "i2p.filter"))
/// let batch = try kept.pairs(at: [17, 3, 250])       // [PretrainPair]
/// ```
public final class KeptPairs: @unchecked Sendable {
    public let folder: URL
    public let count: Int
    private let lines: Int32, index: Int32

    static let listFile = "kept.tsv", indexFile = "kept.index"

    /// Opens the kept list of `folder`; throws when it is missing or its two files disagree.
    public init(folder: URL) throws {
        self.folder = folder
        let list = folder.appendingPathComponent(Self.listFile), offsets = folder.appendingPathComponent(Self.indexFile)
        func fail(_ url: URL, _ reason: String) -> Image2PromptError { .invalidSetting("\(url.path): \(reason)") }
        for url in [list, offsets] {
            if let problem = FileProblem.readProblem(url) { throw fail(url, problem + " (run the similarity filter to the end first)") }
        }
        // Everything is checked on local descriptors before the object owns them (deinit closes them).
        let listFD = open(list.path, O_RDONLY), indexFD = open(offsets.path, O_RDONLY)
        func closeBoth() {
            if listFD >= 0 { close(listFD) }
            if indexFD >= 0 { close(indexFD) }
        }
        var info = stat(), listInfo = stat()
        guard listFD >= 0, indexFD >= 0, fstat(indexFD, &info) == 0, fstat(listFD, &listInfo) == 0 else {
            let reason = FileProblem.posixReason(errno)
            closeBoth()
            throw fail(list, "cannot open the kept list (\(reason))")
        }
        let n = Int(info.st_size) / 8 - 1
        guard info.st_size % 8 == 0, n >= 0 else { closeBoth(); throw fail(offsets, "is not a list of offsets") }
        guard (try? Self.offset(indexFD, n)) == UInt64(listInfo.st_size) else {
            closeBoth()
            throw fail(offsets, "does not match \(list.lastPathComponent) (\(listInfo.st_size) bytes); run the filter's finish again")
        }
        lines = listFD
        index = indexFD
        count = n
    }

    deinit {
        close(lines)
        close(index)
    }

    private static func offset(_ fd: Int32, _ k: Int) throws -> UInt64 {
        var value: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &value) { pread(fd, $0.baseAddress, 8, off_t(k * 8)) }
        guard n == 8 else { throw Image2PromptError.invalidSetting("kept.index: cannot read offset \(k)") }
        return UInt64(littleEndian: value)
    }

    /// Kept pair `k` (0-based, corpus order among the kept ones) with its corpus row and similarity.
    public func entry(_ k: Int) throws -> (row: Int, similarity: Float, pair: PretrainPair) {
        guard k >= 0, k < count else { throw Image2PromptError.invalidSetting("kept pair \(k) of \(count) does not exist") }
        let start = try Self.offset(index, k), end = try Self.offset(index, k + 1)
        guard end > start, end - start < 1 << 24 else { throw Image2PromptError.invalidSetting("kept.index: bad offsets at \(k)") }
        var bytes = [UInt8](repeating: 0, count: Int(end - start))
        let n = bytes.withUnsafeMutableBytes { pread(lines, $0.baseAddress, $0.count, off_t(start)) }
        let text = String(decoding: bytes.prefix(max(0, n)).dropLast(), as: UTF8.self)
        guard n == bytes.count, let e = SimilarityFilterRun.parse(Substring(text)) else {
            throw Image2PromptError.invalidSetting("\(folder.appendingPathComponent(Self.listFile).path): line \(k + 1) is unreadable")
        }
        return e
    }

    /// The pairs at `indices`, in that order.
    public func pairs(at indices: [Int]) throws -> [PretrainPair] { try indices.map { try entry($0).pair } }
}

extension SimilarityFilterRun {
    /// Counts of a finished filter.
    public struct Summary: Codable, Sendable, Equatable {
        public let pairs: Int, kept: Int, dropped: Int, skipped: Int
        public let threshold: Float
    }

    /// Once every chunk is on disk: checks them (all present, rows consecutive) and writes, atomically and streamed,
    /// the kept list (`kept.tsv` + `kept.index`: pairs with similarity ≥ `threshold`) and the dropped list (CSV:
    /// image, similarity, prompt). Throws naming the missing chunks and the shards that own them otherwise.
    @discardableResult
    public func finish(threshold: Float, dropped: URL) throws -> Summary {
        let countURL = folder.appendingPathComponent(Self.streamFile)
        guard let data = try? Data(contentsOf: countURL), let stream = try? JSONDecoder().decode(StreamCount.self, from: data) else {
            throw Image2PromptError.invalidSetting("\(countURL.path) is missing: no filter run has streamed the whole corpus yet")
        }
        let c = identity.chunkPairs, chunks = (stream.pairs + c - 1) / c
        let missing = (0..<chunks).filter { !FileManager.default.fileExists(atPath: chunkURL($0).path) }
        guard missing.isEmpty else {
            throw Image2PromptError.invalidSetting("\(folder.path): \(missing.count) of \(chunks) chunks not scored yet (chunk "
                + missing.prefix(10).map(String.init).joined(separator: ", ") + (missing.count > 10 ? ", …" : "")
                + "; shard i of N scores the chunks k with k mod N = i); run those shards, or the filter unsharded, first")
        }
        var kept = 0, droppedCount = 0
        let keptURL = folder.appendingPathComponent(KeptPairs.listFile), indexURL = folder.appendingPathComponent(KeptPairs.indexFile)
        try write(dropped) { droppedFile in
            try droppedFile.write(contentsOf: Data("image,similarity,prompt\n".utf8))
            try write(keptURL) { keptFile in try write(indexURL) { indexFile in
                var position: UInt64 = 0
                func put(_ offsets: [UInt64]) throws {
                    try indexFile.write(contentsOf: offsets.map(\.littleEndian).withUnsafeBytes { Data($0) })
                }
                try put([0])
                for k in 0..<chunks {
                    var offsets: [UInt64] = []
                    let url = chunkURL(k)
                    guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                        throw Image2PromptError.invalidSetting("\(url.path): unreadable")
                    }
                    var keptText = "", droppedText = "", row = k * c
                    for line in text.split(separator: "\n") {
                        guard let e = Self.parse(line), e.row == row else {
                            throw Image2PromptError.invalidSetting("\(url.path): line \(row - k * c + 1) is not row \(row) of the filter")
                        }
                        row += 1
                        if e.similarity >= threshold {
                            let l = line + "\n"
                            keptText += l
                            position += UInt64(l.utf8.count)
                            offsets.append(position)
                            kept += 1
                        } else {
                            droppedText += Self.csvField(e.pair.name) + "," + String(format: "%.6f", e.similarity) + ","
                                + Self.csvField(e.pair.prompt) + "\n"
                            droppedCount += 1
                        }
                    }
                    guard row == min((k + 1) * c, stream.pairs) else {
                        throw Image2PromptError.invalidSetting("\(url.path): ends at row \(row), expected \(min((k + 1) * c, stream.pairs))")
                    }
                    try keptFile.write(contentsOf: Data(keptText.utf8))
                    try droppedFile.write(contentsOf: Data(droppedText.utf8))
                    try put(offsets)
                }
            } }
        }
        return Summary(pairs: stream.pairs, kept: kept, dropped: droppedCount, skipped: stream.skipped, threshold: threshold)
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
