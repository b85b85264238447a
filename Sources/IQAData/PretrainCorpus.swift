import Foundation

/// One image–prompt pair of a pre-training corpus.
///
/// ```swift
/// let pair = corpus.pairs[0]
/// pair.name     // "part-000001/0001.png" (relative to the corpus root; used in reports)
/// pair.image    // absolute file URL
/// ```
public struct PretrainPair: Codable, Sendable, Equatable {
    /// The image's path relative to the corpus root (or the CSV's folder).
    public let name: String
    public let image: URL
    public let prompt: String

    public init(name: String, image: URL, prompt: String) {
        self.name = name
        self.image = image
        self.prompt = prompt
    }
}

/// An image–prompt corpus for Image2Prompt pre-training, read from
/// - DiffusionDB's layout: a folder of `part-NNNNNN/` folders holding images, each described by a `part-NNNNNN.json`
///   (inside the part folder, as SynthAGI writes it, or next to it, as DiffusionDB's zips unpack) mapping file name →
///   `{"p": prompt, …}`; a single part folder or a single part JSON file also works;
/// - a CSV file with an image column and a prompt column (image paths relative to the CSV's folder, or absolute).
///
/// Pairs come in a fixed order (parts by name, entries by file name; CSV rows in file order). Entries with an empty
/// prompt, no `"p"`, or a missing image are errors listed together with their file and line — or skipped and
/// listed in ``skipped`` with ``Options/skipInvalid``.
///
/// ```swift
/// let corpus = try PretrainCorpus.load(URL(fileURLWithPath: "diffusiondb"), options: .init(maxPairs: 10_000))
/// print(corpus.pairs.count, corpus.skipped.count)
/// ```
public struct PretrainCorpus: Sendable {
    /// Reading options, with defaults.
    public struct Options: Codable, Sendable, Equatable {
        /// Keep at most this many pairs (the first ones in corpus order); nil: all.
        public var maxPairs: Int? = nil
        /// Skip unusable entries (recording them in ``PretrainCorpus/skipped``) instead of throwing.
        public var skipInvalid: Bool = false
        /// CSV column with the image path.
        public var imageColumn: String = "image"
        /// CSV column with the prompt.
        public var promptColumn: String = "prompt"

        public init(maxPairs: Int? = nil, skipInvalid: Bool = false, imageColumn: String = "image", promptColumn: String = "prompt") {
            self.maxPairs = maxPairs
            self.skipInvalid = skipInvalid
            self.imageColumn = imageColumn
            self.promptColumn = promptColumn
        }
    }

    /// The folder or file the corpus was read from.
    public let source: URL
    public let pairs: [PretrainPair]
    /// Entries left out under ``Options/skipInvalid``.
    public let skipped: [PretrainCorpusIssue]

    public init(source: URL, pairs: [PretrainPair], skipped: [PretrainCorpusIssue] = []) {
        self.source = source
        self.pairs = pairs
        self.skipped = skipped
    }

    /// Reads a corpus folder (DiffusionDB layout), a part JSON file or a CSV file.
    public static func load(_ url: URL, options: Options = Options()) throws -> PretrainCorpus {
        var collector = PairCollector(options: options)
        try read(url, into: &collector)
        return PretrainCorpus(source: url, pairs: collector.pairs, skipped: collector.skipped)
    }

    /// Reads the corpus like ``load(_:options:)`` — same pairs, same order, same checks — but hands each pair to
    /// `body` with its 0-based index instead of keeping it, so memory holds one part's metadata at a time whatever
    /// the corpus size (DiffusionDB's 2 M pairs). A CSV corpus is parsed whole first (use the DiffusionDB layout at
    /// scale). Problems are thrown after the stream ends, as by `load`. Returns the pairs streamed and the entries
    /// skipped under ``Options/skipInvalid``.
    ///
    /// ```swift
    /// let (count, skipped) = try PretrainCorpus.stream(URL(fileURLWithPath: "diffusiondb")) { index, pair in
    ///     if index % 100_000 == 0 { print(index, pair.name) }
    /// }
    /// ```
    @discardableResult
    public static func stream(_ url: URL, options: Options = Options(),
                              _ body: @escaping (Int, PretrainPair) throws -> Void) throws -> (pairs: Int, skipped: [PretrainCorpusIssue]) {
        var collector = PairCollector(options: options, sink: body)
        try read(url, into: &collector)
        return (collector.count, collector.skipped)
    }

    /// Dispatches on the layout; throws when the corpus is unusable or yields no pair.
    static func read(_ url: URL, into collector: inout PairCollector) throws {
        let options = collector.options
        if let maxPairs = options.maxPairs, maxPairs < 1 {
            throw PretrainCorpusError.unsupportedLayout(path: url.path, reason: "max pairs must be at least 1, got \(maxPairs)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw PretrainCorpusError.unreadable(file: url.path, reason: "no such file or folder")
        }
        if isDirectory.boolValue {
            try DiffusionDBLayout.read(folder: url, into: &collector)
        } else {
            switch url.pathExtension.lowercased() {
            case "csv": try readCSV(url, into: &collector)
            case "json": try DiffusionDBLayout.read(partJSON: url, into: &collector)
            default:
                throw PretrainCorpusError.unsupportedLayout(path: url.path, reason: "expected a folder, a .csv or a part .json file")
            }
        }
        try collector.throwIfInvalid()
        guard collector.count > 0 else { throw PretrainCorpusError.empty(path: url.path) }
    }

    /// CSV rows → pairs (line numbers from the parser; paths relative to the CSV's folder).
    static func readCSV(_ url: URL, into collector: inout PairCollector) throws {
        let table = try CSVParser.parse(contentsOf: url)
        func column(_ name: String) throws -> Int {
            do { return try table.columnIndex(name) } catch {
                throw PretrainCorpusError.missingColumn(file: url.path, column: name, header: table.header)
            }
        }
        let imageIndex = try column(collector.options.imageColumn), promptIndex = try column(collector.options.promptColumn)
        let folder = url.deletingLastPathComponent()
        for row in table.rows where !collector.isFull {
            let path = row.fields[imageIndex].trimmingCharacters(in: .whitespaces)
            let image = path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
            try collector.add(name: path, image: image, prompt: row.fields[promptIndex], file: url.path, line: row.line)
        }
    }
}

/// Accumulates pairs (or hands them to a sink, streaming) and problems while a corpus is read; stops accepting at
/// `maxPairs`.
struct PairCollector {
    let options: PretrainCorpus.Options
    /// Receives each accepted pair with its index instead of ``pairs``.
    let sink: ((Int, PretrainPair) throws -> Void)?
    private(set) var pairs: [PretrainPair] = []
    private(set) var count = 0
    private(set) var skipped: [PretrainCorpusIssue] = []
    private var issues: [PretrainCorpusIssue] = []
    private var issueCount = 0

    init(options: PretrainCorpus.Options, sink: ((Int, PretrainPair) throws -> Void)? = nil) {
        self.options = options
        self.sink = sink
    }

    var isFull: Bool { options.maxPairs.map { count >= $0 } ?? false }

    /// Adds a pair if its prompt is non-empty and its image exists; records the problem otherwise.
    mutating func add(name: String, image: URL, prompt: String?, file: String, line: Int?) throws {
        guard !isFull else { return }
        let problem: String?
        if name.isEmpty {
            problem = "empty image path"
        } else if let prompt, prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problem = "empty prompt"
        } else if prompt == nil {
            problem = "no prompt (expected a string under \"p\")"
        } else if !FileManager.default.fileExists(atPath: image.path) {
            problem = "image not found at \(image.path)"
        } else {
            problem = nil
        }
        if let problem { record(PretrainCorpusIssue(file: file, line: line, image: name, message: problem)); return }
        let pair = PretrainPair(name: name, image: image, prompt: prompt ?? "")
        if let sink { try sink(count, pair) } else { pairs.append(pair) }
        count += 1
    }

    mutating func record(_ issue: PretrainCorpusIssue) {
        if options.skipInvalid { skipped.append(issue); return }
        issueCount += 1
        if issues.count < PretrainCorpusLimits.maxReportedIssues { issues.append(issue) }
    }

    func throwIfInvalid() throws {
        if issueCount > 0 { throw PretrainCorpusError.invalidEntries(issues: issues, total: issueCount) }
    }
}
