import Foundation

/// One problem found in a label file: where (file, 1-based line or sheet row, column) and what.
///
/// ```swift
/// let issue = DataIssue(file: "data.csv", line: 12, column: "mos_quality", message: "'abc' is not a number")
/// print(issue)   // data.csv:12: column 'mos_quality': 'abc' is not a number
/// ```
public struct DataIssue: Sendable, Equatable, Codable, CustomStringConvertible {
    public let file: String
    /// 1-based physical line of a CSV file (the line a record starts on) or row number of a sheet; nil when
    /// the problem concerns the whole file.
    public let line: Int?
    public let column: String?
    public let message: String

    public init(file: String, line: Int? = nil, column: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let column { s += "column '\(column)': " }
        return s + message
    }
}

/// Errors of the dataset readers and split protocols. Every message names the file and, where there is one,
/// the line (CSV) or row (sheet) and the column.
///
/// ```swift
/// do { _ = try DatasetLoader.load(.csv, labels: url, csvColumns: cols) }
/// catch let e as DataError { print(e.localizedDescription) }   // "labels.csv: 2 bad rows: …"
/// ```
public enum DataError: LocalizedError, Equatable {
    /// The file cannot be read at all.
    case unreadable(file: String, reason: String)
    /// Rows that cannot be turned into samples (at most ``DataLimits/maxReportedIssues`` are kept);
    /// `total` counts all of them.
    case badRows(file: String, issues: [DataIssue], total: Int)
    /// A column the spec asks for is not in the header.
    case missingColumns(file: String, columns: [String], header: [String])
    /// A malformed workbook: not a zip, a missing part, bad XML, no such sheet.
    case badWorkbook(file: String, reason: String)
    /// Images listed in the labels that are not under the image root.
    case missingImages(root: String, names: [String])
    /// Labels needed but none given (generic CSV datasets have no bundled label file).
    case missingLabels(dataset: String)
    /// Invalid arguments to a loader or split protocol.
    case invalidArgument(String)
    /// An image name the split protocol cannot parse (e.g. no numeric code where the official code expects one).
    case badImageName(file: String, name: String, reason: String)
    /// A split file that cannot be read or written.
    case splitFile(file: String, reason: String)
    /// A label file without a single data row (a header alone): there is nothing to train or evaluate on.
    case noRows(file: String)
    /// A MATLAB MAT-file that cannot be read: not level 5 (v7.3/HDF5, v4), truncated, an offset or size out of range,
    /// a missing or non-numeric variable. The reason names the byte offset where there is one.
    case badMAT(file: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read file (\(reason))"
        case let .badRows(file, issues, total):
            let head = "\(file): \(total) bad row\(total == 1 ? "" : "s")"
            let more = total > issues.count ? "\n  … and \(total - issues.count) more" : ""
            return head + ":\n" + issues.map { "  " + $0.description }.joined(separator: "\n") + more
        case let .missingColumns(file, columns, header):
            return "\(file): missing column\(columns.count == 1 ? "" : "s") \(columns.map { "'\($0)'" }.joined(separator: ", ")) "
                + "(header has \(header.map { "'\($0)'" }.joined(separator: ", ")))"
        case let .badWorkbook(file, reason):
            return "\(file): not a readable .xlsx workbook: \(reason)"
        case let .missingImages(root, names):
            let shown = names.prefix(DataLimits.maxListedNames)
            let more = names.count > shown.count ? ", … and \(names.count - shown.count) more" : ""
            return "\(root): \(names.count) image\(names.count == 1 ? "" : "s") missing: " + shown.joined(separator: ", ") + more
        case let .missingLabels(dataset):
            return "\(dataset): no label file given (use --labels FILE)"
        case let .invalidArgument(message):
            return message
        case let .badImageName(file, name, reason):
            return "\(file): image name '\(name)': \(reason)"
        case let .splitFile(file, reason):
            return "\(file): \(reason)"
        case let .noRows(file):
            return "\(file): the label file has no data rows (only a header?): there are no images to use"
        case let .badMAT(file, reason):
            return "\(file): not a readable MAT-file: \(reason)"
        }
    }
}

/// Collects row problems and throws them together as one ``DataError/badRows(file:issues:total:)``.
struct IssueCollector {
    let file: String
    private(set) var issues: [DataIssue] = []
    private(set) var total = 0

    init(file: String) { self.file = file }

    mutating func add(line: Int?, column: String? = nil, _ message: String) {
        total += 1
        if issues.count < DataLimits.maxReportedIssues {
            issues.append(DataIssue(file: file, line: line, column: column, message: message))
        }
    }

    func throwIfAny() throws {
        // Reported in line order (the first ``DataLimits/maxReportedIssues`` found, whole-file issues first).
        let sorted = issues.enumerated().sorted { a, b in
            (a.element.line ?? 0, a.offset) < (b.element.line ?? 0, b.offset)
        }.map(\.element)
        if total > 0 { throw DataError.badRows(file: file, issues: sorted, total: total) }
    }
}
