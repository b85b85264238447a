import Foundation

/// Errors reading zip or gzip data. Every case names the file (or "<memory>") and what is wrong.
public enum ArchiveError: LocalizedError, Equatable {
    case unreadable(file: String, reason: String)
    case notAZip(file: String)
    case corrupt(file: String, reason: String)
    case missingEntry(file: String, entry: String)
    case unsupported(file: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(f, r): return "\(f): cannot read file (\(r))"
        case let .notAZip(f): return "\(f): not a zip archive (no end-of-central-directory record; truncated or another format)"
        case let .corrupt(f, r): return "\(f): corrupt archive: \(r)"
        case let .missingEntry(f, e): return "\(f): archive has no entry '\(e)'"
        case let .unsupported(f, r): return "\(f): unsupported archive feature: \(r)"
        }
    }
}
