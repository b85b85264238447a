import Archive
import CLIP
import Foundation
import Imaging
import IQAData
import IQAModel
import Tensor

/// One image to score in batch mode: the file, the name as the CSV wrote it (echoed in the output), its prompt and
/// the CSV line it came from.
///
/// ```swift
/// let r = ScoringRequest(image: URL(fileURLWithPath: "/data/a.png"), name: "a.png", prompt: "a cat", line: 2)
/// ```
public struct ScoringRequest: Sendable, Equatable {
    public var image: URL
    public var name: String
    public var prompt: String
    public var line: Int

    public init(image: URL, name: String, prompt: String, line: Int) {
        self.image = image
        self.name = name
        self.prompt = prompt
        self.line = line
    }
}

/// Column names of a scoring CSV, with defaults `image`, `prompt`.
///
/// ```swift
/// let columns = ScoringCSVColumns(image: "name", prompt: "prompt")   // AGIQA-3k's data.csv
/// ```
public struct ScoringCSVColumns: Codable, Sendable, Equatable {
    public var image: String = "image"
    public var prompt: String = "prompt"

    public init(image: String = "image", prompt: String = "prompt") {
        self.image = image
        self.prompt = prompt
    }
}

/// Output of batch scoring: CSV (`image,<score names…>`) or JSON Lines (`{"image": …, "<name>": x, …}`).
///
/// ```swift
/// let format = ScoreOutputFormat(rawValue: "jsonl") ?? .csv
/// ```
public enum ScoreOutputFormat: String, Codable, Sendable, CaseIterable {
    case csv, jsonl
}

/// Batch scoring with a ``Scorer``: CSV rows → requests (relative image paths resolved against `root`, default the
/// CSV's folder), existence checked up front, scored `batchSize` at a time, one output line per request in input
/// order, optional attention overlays written as PNGs into a folder. Decoding and preprocessing of batch k + 1 run
/// on another thread while the model scores batch k (the pipeline of the HTTP service's batcher), so the cores
/// spend the run on model work; repeated prompts reuse the scorer's ``PromptFeatureCache``.
///
/// ```swift
/// let requests = try BatchScorer.requests(csv: url, columns: ScoringCSVColumns(), root: nil, needPrompt: true)
/// let text = try BatchScorer(scorer: scorer, batchSize: 8).run(requests, format: .csv) { done, total in }
/// ```
public struct BatchScorer {
    public let scorer: Scorer
    public let batchSize: Int

    public static let defaultBatchSize = 8
    /// Missing files listed by name in the error (the rest are counted).
    static let missingListed = 10

    public init(scorer: Scorer, batchSize: Int = BatchScorer.defaultBatchSize) {
        self.scorer = scorer
        self.batchSize = batchSize
    }

    /// Reads the requests of a CSV file with a header row; errors name the file and line.
    public static func requests(csv: URL, columns: ScoringCSVColumns = ScoringCSVColumns(), root: URL? = nil,
                                needPrompt: Bool = true) throws -> [ScoringRequest] {
        let table = try CSVParser.parse(contentsOf: csv)
        let imageIndex = try table.columnIndex(columns.image)
        let promptIndex = needPrompt ? try table.columnIndex(columns.prompt) : nil
        let base = root ?? csv.deletingLastPathComponent()
        var out: [ScoringRequest] = []
        for row in table.rows {
            guard imageIndex < row.fields.count, promptIndex.map({ $0 < row.fields.count }) ?? true else {
                throw ScoringError.badRow(file: csv.path, line: row.line, reason: "has \(row.fields.count) fields, fewer than the header")
            }
            let name = row.fields[imageIndex].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw ScoringError.badRow(file: csv.path, line: row.line, reason: "empty '\(columns.image)'") }
            let url = name.hasPrefix("/") ? URL(fileURLWithPath: name) : base.appendingPathComponent(name)
            out.append(ScoringRequest(image: url, name: name, prompt: promptIndex.map { row.fields[$0] } ?? "", line: row.line))
        }
        let missing = out.filter { !FileManager.default.fileExists(atPath: $0.image.path) }
        if !missing.isEmpty {
            throw ScoringError.missingImages(file: csv.path, paths: missing.prefix(missingListed).map { "\($0.image.path) (line \($0.line))" },
                                             total: missing.count)
        }
        return out
    }

    /// Scores every request and returns the whole output text (header included for CSV). With `attentionDirectory`,
    /// writes each image's overlay as `<file stem>.png` there (the CSV line is appended when stems repeat).
    /// `progress(done, total)` is called after each batch.
    public func run(_ requests: [ScoringRequest], format: ScoreOutputFormat,
                    attention: AttentionHeadSelection? = nil, attentionDirectory: URL? = nil,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> String {
        let writer = ScoreLineWriter(names: scorer.outputNames, format: format)
        var text = writer.header
        try score(requests, rows: requests.indices, attention: attention, attentionDirectory: attentionDirectory,
                  progress: progress) { i, values in text += writer.line(name: requests[i].name, values: values) }
        return text
    }

    /// Scores `requests[rows]` in batches of `batchSize` counted from `rows.lowerBound`, calling `emit(index, values)`
    /// for each request in order (`index` into `requests`). Overlay names are those of the whole request list, so a
    /// shard writes the same overlay files as the unsharded run. `progress(done, total)` counts within `rows`.
    public func score(_ requests: [ScoringRequest], rows: Range<Int>, attention: AttentionHeadSelection? = nil,
                      attentionDirectory: URL? = nil, progress: (Int, Int) -> Void = { _, _ in },
                      emit: (Int, [Float]) throws -> Void) throws {
        guard batchSize > 0 else { throw ScoringError.badInput("batch size must be positive, got \(batchSize)") }
        guard rows.lowerBound >= 0, rows.upperBound <= requests.count else {
            throw ScoringError.badInput("rows \(rows) are outside the \(requests.count) requests")
        }
        try scorer.model.clip.config.checkMemory(batch: min(batchSize, rows.count), resolution: scorer.resolution)
        let wantMaps = attentionDirectory != nil
        if wantMaps, !scorer.usesText { throw IPIQAError.imageOnlyModel(file: scorer.source) }
        if let attentionDirectory {
            do { try FileManager.default.createDirectory(at: attentionDirectory, withIntermediateDirectories: true) } catch {
                throw ScoringError.output(path: attentionDirectory.path, reason: "cannot create folder (\(FileProblem.describe(error)))")
            }
        }
        let mapNames = wantMaps ? Self.overlayNames(requests) : []
        let starts = Array(stride(from: rows.lowerBound, to: rows.upperBound, by: batchSize))
        let resolution = scorer.resolution
        func prefetch(_ b: Int) -> PreparedBatch? {
            guard b < starts.count else { return nil }
            return PreparedBatch(files: requests[starts[b]..<min(rows.upperBound, starts[b] + batchSize)].map(\.image),
                                 resolution: resolution, keepImages: wantMaps)
        }
        var next = prefetch(0)
        for (b, start) in starts.enumerated() {
            guard let current = next else { break }
            let batch = Array(requests[start..<min(rows.upperBound, start + batchSize)])
            let (pixels, images) = try current.wait()
            next = prefetch(b + 1)                        // decodes while the model runs below
            let results = try scorer.score(pixels: pixels, prompts: scorer.usesText ? batch.map(\.prompt) : [],
                                           attention: wantMaps ? (attention ?? .mean) : nil)
            for (j, result) in results.enumerated() {
                try emit(start + j, result.values)
                if let attentionDirectory, let map = result.attention {
                    try ImageCodec.writePNG(map.overlay(on: images[j]),
                                            to: attentionDirectory.appendingPathComponent(mapNames[start + j]))
                }
            }
            progress(start + batch.count - rows.lowerBound, rows.count)
        }
    }

    /// Overlay file names: the image's stem + `.png`, with `-<line>` added for stems that occur more than once.
    public static func overlayNames(_ requests: [ScoringRequest]) -> [String] {
        let stems = requests.map { $0.image.deletingPathExtension().lastPathComponent }
        var counts: [String: Int] = [:]
        for s in stems { counts[s, default: 0] += 1 }
        return zip(stems, requests).map { stem, r in (counts[stem] ?? 0) > 1 ? "\(stem)-\(r.line).png" : "\(stem).png" }
    }
}

/// One batch of files decoded and preprocessed on a background thread: `wait()` returns the stacked pixels
/// `[N, R, R, 3]` (and the decoded images when kept, for overlays) or rethrows the first failure in file order.
final class PreparedBatch: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<(Tensor, [RGBImage]), Error> = .failure(ScoringError.badInput("batch not prepared"))

    init(files: [URL], resolution: Int, keepImages: Bool) {
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            result = Result {
                let images = try Scorer.decode(files)
                return (try ImageBatch.tensor(images, size: resolution, mode: .squash), keepImages ? images : [])
            }
            done.signal()
        }
    }

    /// Blocks until the batch is ready (the semaphore orders the result's write before this read).
    func wait() throws -> (Tensor, [RGBImage]) {
        done.wait()
        return try result.get()
    }
}
