import Archive
import Foundation
import IQAData

/// What must be the same in every part of one sharded scoring job: the model file (name, size, CRC-32), the CSV
/// (name, CRC-32, data rows), the settings that decide the numbers (batch size — it fixes which images share a
/// forward pass —, precision) and the output (names, format), plus the shard count.
///
/// ```swift
/// let job = try ScoreJob(model: modelURL, csv: csvURL, rows: requests.count, shards: 4, batchSize: 8,
///                        precision: "fp32", outputs: scorer.outputNames, format: .csv)
/// ```
public struct ScoreJob: Codable, Sendable, Equatable {
    public var model: String
    public var modelBytes: Int
    public var modelCRC32: String
    public var csv: String
    public var csvCRC32: String
    /// Data rows of the CSV (the header row not counted).
    public var rows: Int
    public var shards: Int
    public var batchSize: Int
    public var precision: String
    public var outputs: [String]
    public var format: ScoreOutputFormat

    /// Reads the model's and the CSV's size and CRC-32 (the model is read once, in pieces).
    public init(model: URL, csv: URL, rows: Int, shards: Int, batchSize: Int, precision: String, outputs: [String],
                format: ScoreOutputFormat) throws {
        func checksum(_ url: URL) throws -> String {
            do { return FileChecksum.hex(try FileChecksum.crc32(of: url)) } catch {
                throw ScoringError.output(path: url.path, reason: "cannot read it for its checksum (\(AtomicFile.reason(error)))")
            }
        }
        self.model = model.lastPathComponent
        modelBytes = ((try? FileManager.default.attributesOfItem(atPath: model.path)[.size]) as? NSNumber)?.intValue ?? -1
        modelCRC32 = try checksum(model)
        self.csv = csv.lastPathComponent
        csvCRC32 = try checksum(csv)
        self.rows = rows
        self.shards = shards
        self.batchSize = batchSize
        self.precision = precision
        self.outputs = outputs
        self.format = format
    }

    /// The fields in which `other` differs from this job, as `name: a ≠ b`.
    public func differences(from other: ScoreJob) -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func fields(_ job: ScoreJob) -> [String: String] {
            guard let data = try? encoder.encode(job),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
            return object.mapValues { value in
                (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
            }
        }
        let a = fields(self), b = fields(other)
        return Set(a.keys).union(b.keys).sorted().compactMap { k in a[k] == b[k] ? nil : "\(k): \(a[k] ?? "–") ≠ \(b[k] ?? "–")" }
    }
}

/// One part of a sharded scoring job (`ipiqa score --shard i/N`), a JSON Lines file:
///
///     {"count": 3, "first": 4, "ipiqa_score_part": 1, "job": {…ScoreJob…}, "shard": 1}
///     {"row": 4, "image": "b.png", "quality": 0.61, "alignment": 0.43}
///     …
///
/// Row numbers are the 1-based data rows of the CSV (the header row not counted; a quoted field spanning lines is
/// still one row). Part `i` holds rows `first … first + count − 1` of ``Shard/range(of:unit:)`` with the batch
/// size as the unit; ``ScorePartMerge`` puts the parts back into the unsharded output.
///
/// ```swift
/// let header = ScorePartHeader(shard: shard, first: range.lowerBound + 1, count: range.count, job: job)
/// let text = header.line + ScorePartHeader.rowLine(row: 4, name: "b.png", names: job.outputs, values: [0.61, 0.43])
/// ```
public struct ScorePartHeader: Codable, Sendable, Equatable {
    /// Format version, written under the key `ipiqa_score_part` that marks the file as a part.
    public var version = ScorePartHeader.currentVersion
    public var shard: Int
    /// 1-based row number of the part's first row.
    public var first: Int
    public var count: Int
    public var job: ScoreJob

    public static let currentVersion = 1

    private enum CodingKeys: String, CodingKey {
        case version = "ipiqa_score_part", shard, first, count, job
    }

    public init(shard: Int, first: Int, count: Int, job: ScoreJob) {
        self.shard = shard
        self.first = first
        self.count = count
        self.job = job
    }

    /// The header as one JSON line (keys sorted), newline included.
    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
    }

    /// `{"row": r, "image": …, "<name>": x, …}` and a newline: the JSON Lines output line with the row number first.
    public static func rowLine(row: Int, name: String, names: [String], values: [Float]) -> String {
        "{\"row\": \(row), " + String(ScoreLineWriter.jsonObject(names: names, values: values, image: name).dropFirst()) + "\n"
    }

    /// Reads a row written by ``rowLine(row:name:names:values:)`` back exactly (each number is read as the Float
    /// it was printed from, `null` as NaN); nil when the line is anything else.
    public static func parseRow(_ line: Substring, names: [String]) -> (row: Int, name: String, values: [Float])? {
        let bytes = Array(line.utf8)
        var i = 0
        func expect(_ text: String) -> Bool {
            let t = Array(text.utf8)
            guard bytes.count - i >= t.count, Array(bytes[i..<(i + t.count)]) == t else { return false }
            i += t.count
            return true
        }
        func token() -> String {
            let start = i
            while i < bytes.count, bytes[i] != UInt8(ascii: ","), bytes[i] != UInt8(ascii: "}") { i += 1 }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }
        guard expect("{\"row\": "), let row = Int(token()), row >= 1, expect(", \"image\": "),
              i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
        let start = i
        i += 1
        while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
        guard i < bytes.count else { return nil }
        i += 1
        let literal = Data(bytes[start..<i])
        guard let name = try? JSONSerialization.jsonObject(with: literal, options: .fragmentsAllowed) as? String,
              ScoreLineWriter.jsonString(name).utf8.elementsEqual(literal) else { return nil }
        var values: [Float] = []
        for n in names {
            guard expect(", " + ScoreLineWriter.jsonString(n) + ": ") else { return nil }
            let t = token()
            if t == "null" { values.append(.nan); continue }
            guard let v = Float(t), v.isFinite, "\(v)" == t else { return nil }
            values.append(v)
        }
        guard expect("}"), i == bytes.count else { return nil }
        return (row, name, values)
    }
}
