import Foundation

/// One unusable image–prompt entry of a pre-training corpus: where it is (file, 1-based line when known), which
/// image, and what is wrong.
///
/// ```swift
/// print(issue)   // part-000001/part-000001.json:1: 'a.png': empty prompt
/// ```
public struct PretrainCorpusIssue: Codable, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let image: String?
    public let message: String

    public init(file: String, line: Int? = nil, image: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.image = image
        self.message = message
    }

    public var description: String {
        file + (line.map { ":\($0)" } ?? "") + ": " + (image.map { "'\($0)': " } ?? "") + message
    }
}

/// Errors reading a pre-training corpus (DiffusionDB layout or CSV). Every message names the file and, where
/// known, the line.
///
/// ```swift
/// do { _ = try PretrainCorpus.load(url) } catch { print(error.localizedDescription) }
/// // "/data/part-000001/part-000001.json:3:17: not valid JSON (Invalid value around character 41.)"
/// ```
public enum PretrainCorpusError: LocalizedError, Equatable {
    /// The file or folder cannot be read.
    case unreadable(file: String, reason: String)
    /// A part's JSON file does not parse (line and column of the problem when the parser tells).
    case badJSON(file: String, line: Int?, column: Int?, reason: String)
    /// Entries without a usable prompt or image (at most ``PretrainCorpusLimits/maxReportedIssues`` listed).
    case invalidEntries(issues: [PretrainCorpusIssue], total: Int)
    /// A folder that is not in DiffusionDB's layout, or a file of an unknown kind.
    case unsupportedLayout(path: String, reason: String)
    /// A CSV without the image or prompt column.
    case missingColumn(file: String, column: String, header: [String])
    /// Nothing to train on.
    case empty(path: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read (\(reason))"
        case let .badJSON(file, line, column, reason):
            return file + (line.map { ":\($0)" } ?? "") + (column.map { ":\($0)" } ?? "") + ": not valid JSON (\(reason))"
        case let .invalidEntries(issues, total):
            let more = total > issues.count ? "\n  … and \(total - issues.count) more" : ""
            return "\(total) unusable corpus entr\(total == 1 ? "y" : "ies"):\n"
                + issues.map { "  " + $0.description }.joined(separator: "\n") + more
        case let .unsupportedLayout(path, reason):
            return "\(path): \(reason)"
        case let .missingColumn(file, column, header):
            return "\(file): no column '\(column)' (header has \(header.map { "'\($0)'" }.joined(separator: ", ")))"
        case let .empty(path):
            return "\(path): no image–prompt pairs"
        }
    }
}

/// Named limits of corpus reading.
public enum PretrainCorpusLimits {
    /// Issues listed in one ``PretrainCorpusError/invalidEntries(issues:total:)``.
    public static let maxReportedIssues = 20
    /// Prefix of a part folder / part JSON file in DiffusionDB's layout.
    public static let partPrefix = "part-"
}
