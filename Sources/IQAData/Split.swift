import Archive
import Foundation

/// One train / (validation) / test partition, as image names in label-file order. `validation` is nil for
/// protocols without one (the official IP-IQA splits) and is then left out of the JSON.
///
/// ```swift
/// let s = Split(train: ["a.jpg", "b.jpg"], test: ["c.jpg"])
/// // JSON: {"train":["a.jpg","b.jpg"],"test":["c.jpg"]}
/// ```
public struct Split: Codable, Sendable, Equatable {
    public var train: [String]
    public var validation: [String]?
    public var test: [String]

    public init(train: [String], validation: [String]? = nil, test: [String]) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    private enum CodingKeys: String, CodingKey { case train, validation, test }

    /// Keys in the order train, validation (when present), test.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(train, forKey: .train)
        try c.encodeIfPresent(validation, forKey: .validation)
        try c.encode(test, forKey: .test)
    }

    /// Every name of the split, parts in order train, validation, test.
    public var allNames: [String] { train + (validation ?? []) + test }
}

/// A list of splits (k-fold style repetitions), stored as JSON `{"splits": [{"train": […], "test": […]}, …]}`.
///
/// ```swift
/// let set = SplitSet(splits: try SplitMaker.make(.official, dataset: ds, kind: .agiqa3k))
/// try set.write(to: URL(fileURLWithPath: "splits.json"))      // atomic
/// let again = try SplitSet.read(from: URL(fileURLWithPath: "splits.json"))
/// try again.validate(against: ds)
/// ```
public struct SplitSet: Codable, Sendable, Equatable {
    public var splits: [Split]

    public init(splits: [Split]) {
        self.splits = splits
    }

    /// The JSON text, keys in the order train, validation, test. Written by hand because Foundation's
    /// `JSONEncoder` on Linux does not keep key order; the bytes are reproducible. `pretty` puts each part of
    /// each split on its own line.
    public func jsonData(pretty: Bool = false) throws -> Data {
        func array(_ names: [String]) -> String { "[" + names.map(JSONText.quoted).joined(separator: ",") + "]" }
        let (nl, ind1, ind2, sp) = pretty ? ("\n", "  ", "    ", " ") : ("", "", "", "")
        var out = "{\"splits\":" + sp + "[" + nl
        for (k, split) in splits.enumerated() {
            var parts = ["\"train\":" + sp + array(split.train)]
            if let v = split.validation { parts.append("\"validation\":" + sp + array(v)) }
            parts.append("\"test\":" + sp + array(split.test))
            out += ind1 + "{" + nl + parts.map { ind2 + $0 }.joined(separator: "," + nl) + nl + ind1 + "}"
            out += (k + 1 < splits.count ? "," : "") + nl
        }
        out += "]}"
        return Data(out.utf8)
    }

    /// Writes the JSON atomically: to a temporary file in the same folder, then renamed over `url`.
    public func write(to url: URL, pretty: Bool = false) throws {
        let data = try jsonData(pretty: pretty)
        try AtomicSplitFile.write(data, to: url)
    }

    /// Reads a split file; errors name the file and the JSON problem.
    public static func read(from url: URL) throws -> SplitSet {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DataError.unreadable(file: url.path, reason: FileProblem.readProblem(url, regularFileOnly: false) ?? FileProblem.describe(error))
        }
        if let key = JSONText.duplicateKey(in: data) {
            throw DataError.splitFile(file: url.path, reason: "the key '\(key)' appears twice in one object")
        }
        do { return try JSONDecoder().decode(SplitSet.self, from: data) } catch let e as DecodingError {
            throw DataError.splitFile(file: url.path, reason: "not a split file ({\"splits\": [{\"train\": […], \"test\": […]}]}): \(describe(e))")
        }
    }

    /// Checks every split against `dataset`: all names known, no name in two parts of one split. One error
    /// lists the problems.
    public func validate(against dataset: Dataset) throws {
        let known = Set(dataset.imageNames)
        var problems: [String] = []
        for (k, split) in splits.enumerated() {
            let unknown = split.allNames.filter { !known.contains($0) }
            if !unknown.isEmpty {
                problems.append("split \(k): \(unknown.count) unknown image\(unknown.count == 1 ? "" : "s") (\(unknown.prefix(5).joined(separator: ", "))\(unknown.count > 5 ? ", …" : ""))")
            }
            let train = Set(split.train), test = Set(split.test), validation = Set(split.validation ?? [])
            let overlap = train.intersection(test).union(train.intersection(validation)).union(validation.intersection(test))
            if !overlap.isEmpty {
                problems.append("split \(k): \(overlap.count) image\(overlap.count == 1 ? "" : "s") in more than one part (\(overlap.sorted().prefix(5).joined(separator: ", ")))")
            }
        }
        if !problems.isEmpty {
            throw DataError.splitFile(file: dataset.name, reason: problems.joined(separator: "; "))
        }
    }

    private static func describe(_ e: DecodingError) -> String {
        switch e {
        case let .keyNotFound(key, ctx): return "missing key '\(key.stringValue)' at \(path(ctx))"
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx), let .dataCorrupted(ctx):
            return "\(ctx.debugDescription) at \(path(ctx))"
        @unknown default: return String(describing: e)
        }
    }

    private static func path(_ ctx: DecodingError.Context) -> String {
        let p = ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
        return p.isEmpty ? "top level" : p
    }
}

/// Atomic file replacement (``AtomicFile``), with failures reported as ``DataError/splitFile(file:reason:)``.
enum AtomicSplitFile {
    static func write(_ data: Data, to url: URL) throws {
        do { try AtomicFile.write(data, to: url) } catch {
            throw DataError.splitFile(file: url.path, reason: AtomicFile.reason(error))
        }
    }
}
