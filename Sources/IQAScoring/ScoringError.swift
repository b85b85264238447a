import Foundation

/// Failures of scoring with a trained IP-IQA model. Messages name the file, CSV line or option at fault.
///
/// ```swift
/// do { _ = try BatchScoringJob(csv: url).rows() } catch let e as ScoringError { print(e.localizedDescription) }
/// ```
public enum ScoringError: LocalizedError, Equatable {
    /// The request does not fit the model (e.g. prompts/images count, batch size).
    case badInput(String)
    /// A CSV row is unusable (`file:line: reason`).
    case badRow(file: String, line: Int, reason: String)
    /// Image files named by a CSV that do not exist (first few listed).
    case missingImages(file: String, paths: [String], total: Int)
    /// An output file or folder cannot be written.
    case output(path: String, reason: String)
    /// A part file of a sharded run (`score --shard`) that cannot be merged.
    case badPart(file: String, reason: String)
    /// Part files that do not make up one whole sharded run (different jobs, a shard missing or given twice).
    case parts(String)

    public var errorDescription: String? {
        switch self {
        case let .badInput(m):
            return m
        case let .badRow(file, line, reason):
            return "\(file):\(line): \(reason)"
        case let .missingImages(file, paths, total):
            return "\(file): \(total) image file(s) do not exist: " + paths.joined(separator: ", ")
                + (total > paths.count ? ", …" : "")
        case let .output(path, reason):
            return "\(path): \(reason)"
        case let .badPart(file, reason):
            return "\(file): \(reason)"
        case let .parts(message):
            return "merge: " + message
        }
    }
}
