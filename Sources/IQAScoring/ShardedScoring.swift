import Archive
import Foundation
import IQAData
import IQAModel

/// Batch scoring split over processes (`ipiqa score --shard i/N`, then `ipiqa score --merge part…`):
///
/// - ``writePart(_:requests:shard:job:to:attention:attentionDirectory:progress:)`` scores shard `i`'s share of
///   the CSV rows — ``Shard/range(of:unit:)`` with the batch size as the unit, a contiguous block of whole batches —
///   and writes a ``ScorePartHeader`` part atomically (a killed shard leaves no part; a rerun replaces it);
/// - ``merge(_:format:)`` checks that the parts are one job's shards `0 … N−1`, each once, each with exactly its rows,
///   and concatenates them in shard order into the unsharded output — byte for byte, since every image is scored in
///   the same batch as in one unsharded run with the same batch size;
/// - ``gathered(_:requests:job:communicator:attention:attentionDirectory:progress:)`` does both in one MPI job:
///   every rank scores its shard's part in memory and rank 0 merges the gathered parts.
///
/// ```swift
/// for i in 0..<3 {
///     try ShardedScoring.writePart(batch, requests: requests, shard: try Shard(index: i, count: 3), job: job,
///                                  to: URL(fileURLWithPath: "part-\(i).jsonl"))
/// }
/// let text = try ShardedScoring.merge((0..<3).map { URL(fileURLWithPath: "part-\($0).jsonl") })
/// ```
public enum ShardedScoring {
    /// Rows collected before each write to the part file.
    static let rowsPerWrite = 256

    /// Scores the shard's rows of `requests` and writes them as a part file at `url` (atomically, streamed);
    /// returns the rows (0-based indices into `requests`) it scored.
    @discardableResult
    public static func writePart(_ batch: BatchScorer, requests: [ScoringRequest], shard: Shard, job: ScoreJob, to url: URL,
                                 attention: AttentionHeadSelection? = nil, attentionDirectory: URL? = nil,
                                 progress: (Int, Int) -> Void = { _, _ in }) throws -> Range<Int> {
        if let problem = FileProblem.writeProblem(url) { throw ScoringError.output(path: url.path, reason: problem) }
        var rows = 0..<0
        do {
            try AtomicFile.write(to: url, streaming: { handle in
                rows = try scorePart(batch, requests: requests, shard: shard, job: job, attention: attention,
                                     attentionDirectory: attentionDirectory, progress: progress) { try handle.write(contentsOf: Data($0.utf8)) }
            })
        } catch let error as AtomicFile.Failure {
            throw ScoringError.output(path: url.path, reason: error.reason)
        } catch let error as ScoringError {
            throw error
        } catch let error as CocoaError {
            throw ScoringError.output(path: url.path, reason: FileProblem.describe(error))
        }
        return rows
    }

    /// Scores the shard's rows and hands the part's text to `write` in pieces: the header line, then the rows,
    /// ``rowsPerWrite`` at a time. The one producer of part text, for files and for the gather over MPI.
    static func scorePart(_ batch: BatchScorer, requests: [ScoringRequest], shard: Shard, job: ScoreJob,
                          attention: AttentionHeadSelection?, attentionDirectory: URL?, progress: (Int, Int) -> Void,
                          write: (String) throws -> Void) throws -> Range<Int> {
        guard job.rows == requests.count, job.shards == shard.count, job.batchSize == batch.batchSize,
              job.outputs == batch.scorer.outputNames else {
            throw ScoringError.badInput("the job description does not match the requests, shard, batch size or model outputs")
        }
        let rows = shard.range(of: requests.count, unit: batch.batchSize)
        try write(ScorePartHeader(shard: shard.index, first: rows.lowerBound + 1, count: rows.count, job: job).line)
        var pending = ""
        try batch.score(requests, rows: rows, attention: attention, attentionDirectory: attentionDirectory,
                        progress: progress) { i, values in
            pending += ScorePartHeader.rowLine(row: i + 1, name: requests[i].name, names: job.outputs, values: values)
            if (i + 1 - rows.lowerBound) % rowsPerWrite == 0 {
                try write(pending)
                pending = ""
            }
        }
        try write(pending)
        return rows
    }

    /// One part read and checked on its own; `source` names it in errors (its file's path, or the rank it came from).
    struct Part {
        let source: String
        let header: ScorePartHeader
        let rows: [(row: Int, name: String, values: [Float])]
    }

    /// The unsharded output (in `format`, default the format the parts were scored for) from the part files of one
    /// job; throws ``ScoringError/badPart(file:reason:)`` or ``ScoringError/parts(_:)`` naming the files at fault.
    public static func merge(_ files: [URL], format: ScoreOutputFormat? = nil) throws -> String {
        guard !files.isEmpty else { throw ScoringError.parts("no part files given") }
        return try merge(parts: files.map(read), format: format)
    }

    /// The unsharded output from parts already read: one job, every shard once, in shard order.
    static func merge(parts: [Part], format: ScoreOutputFormat?) throws -> String {
        let job = parts[0].header.job
        for p in parts.dropFirst() where p.header.job != job {
            throw ScoringError.parts("\(parts[0].source) and \(p.source) are parts of different jobs ("
                                     + job.differences(from: p.header.job).joined(separator: "; ") + ")")
        }
        var byShard: [Int: Part] = [:]
        for p in parts {
            if let other = byShard[p.header.shard] {
                throw ScoringError.parts("\(other.source) and \(p.source) are both shard \(p.header.shard)/\(job.shards)")
            }
            byShard[p.header.shard] = p
        }
        let missing = (0..<job.shards).filter { byShard[$0] == nil }
        if !missing.isEmpty {
            let listed = missing.prefix(10).map(String.init).joined(separator: ", ") + (missing.count > 10 ? ", …" : "")
            throw ScoringError.parts("\(missing.count) of \(job.shards) shards missing (shard \(listed)); "
                                     + "\(parts.count) part file(s) given, e.g. \(parts[0].source)")
        }
        let writer = ScoreLineWriter(names: job.outputs, format: format ?? job.format)
        var text = writer.header
        for i in 0..<job.shards {
            for r in byShard[i]!.rows { text += writer.line(name: r.name, values: r.values) }
        }
        return text
    }

    /// Reads one part file (see ``parse(_:source:)``).
    static func read(_ url: URL) throws -> Part {
        if let problem = FileProblem.readProblem(url) { throw ScoringError.badPart(file: url.path, reason: problem) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ScoringError.badPart(file: url.path, reason: FileProblem.describe(error)) }
        return try parse(data, source: url.path)
    }

    /// Reads one part's text: header, rows parsed exactly, row numbers those of its shard's block, none missing or
    /// repeated; errors name `source`.
    static func parse(_ data: Data, source: String) throws -> Part {
        func bad(_ reason: String) -> ScoringError { .badPart(file: source, reason: reason) }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, let header = try? JSONDecoder().decode(ScorePartHeader.self, from: Data(first.utf8)) else {
            throw bad("not a part of `ipiqa score --shard` (its first line is not a part header)")
        }
        guard header.version == ScorePartHeader.currentVersion else {
            throw bad("part format version \(header.version); this ipiqa reads version \(ScorePartHeader.currentVersion)")
        }
        let job = header.job
        guard job.shards >= 1, job.shards <= Shard.maxCount, header.shard >= 0, header.shard < job.shards,
              job.rows >= 0, job.batchSize >= 1 else {
            throw bad("header: shard \(header.shard)/\(job.shards) of \(job.rows) rows in batches of \(job.batchSize) is not a valid shard")
        }
        let expected = try Shard(index: header.shard, count: job.shards).range(of: job.rows, unit: job.batchSize)
        guard header.first == expected.lowerBound + 1, header.count == expected.count else {
            throw bad("header: shard \(header.shard)/\(job.shards) should hold rows \(expected.lowerBound + 1)…\(expected.upperBound), "
                      + "it says \(header.first)…\(header.first + header.count - 1)")
        }
        guard lines.last == "" else { throw bad("the last line is cut off (no newline at the end)") }
        var rows: [(row: Int, name: String, values: [Float])] = []
        rows.reserveCapacity(header.count)
        for (k, line) in lines.dropFirst().dropLast().enumerated() {
            guard let r = ScorePartHeader.parseRow(line, names: job.outputs) else {
                throw bad("line \(k + 2): not a score row {\"row\": n, \"image\": …, \(job.outputs.map { "\"\($0)\": x" }.joined(separator: ", "))}")
            }
            let want = header.first + rows.count
            guard r.row == want else {
                let what = r.row < want ? "repeats or goes back to row \(r.row)" : "skips to row \(r.row)"
                throw bad("line \(k + 2): \(what) where row \(want) was expected")
            }
            rows.append(r)
        }
        guard rows.count == header.count else {
            throw bad("holds \(rows.count) rows, its header says \(header.count) (rows \(header.first)…\(header.first + header.count - 1))")
        }
        return Part(source: source, header: header, rows: rows)
    }
}
