import Foundation

/// Errors of the synthetic world: bad configuration or arguments, and failed or conflicting writes.
/// Every message names the field, argument or file concerned.
///
/// ```swift
/// do { _ = try SynthWorld(seed: 1).makeIQASet(prompts: 0) }
/// catch let error as SynthError { print(error.localizedDescription) }
/// ```
public enum SynthError: LocalizedError, Equatable {
    /// A configuration field holds a value the world cannot use.
    case invalidConfig(field: String, reason: String)
    /// A function argument is out of range.
    case invalidArgument(name: String, value: String, reason: String)
    /// Writing `path` failed.
    case writeFailed(path: String, reason: String)
    /// `path` holds a completion marker of a different world (other seed, size or configuration).
    case markerMismatch(path: String, expected: String, found: String)

    public var errorDescription: String? {
        switch self {
        case let .invalidConfig(field, reason):
            return "SynthAGI configuration: field '\(field)' \(reason)"
        case let .invalidArgument(name, value, reason):
            return "SynthAGI: argument '\(name)' = \(value) \(reason)"
        case let .writeFailed(path, reason):
            return "SynthAGI: could not write \(path): \(reason)"
        case let .markerMismatch(path, expected, found):
            return "SynthAGI: \(path) marks a different synthetic dataset (found '\(found)', expected '\(expected)'); "
                + "remove the folder or choose another output folder"
        }
    }
}
