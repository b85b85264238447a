import Foundation

/// Errors of `ipiqa demo` and the tiny CLIP pre-training; each message names the setting, stage or file concerned.
///
/// ```swift
/// do { try DemoRunner.run(config: .quick, directory: dir) } catch let e as DemoError { print(e.localizedDescription) }
/// ```
public enum DemoError: LocalizedError, Equatable {
    case invalidSetting(String)
    /// A training loss became NaN or infinite.
    case diverged(stage: String, loss: Float)
    /// A stage failed; `reason` says why.
    case stageFailed(stage: String, reason: String)
    /// A cache file could not be written.
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .invalidSetting(m): return "demo: " + m
        case let .diverged(stage, loss): return "demo: \(stage) diverged (loss \(loss))"
        case let .stageFailed(stage, reason): return "demo: \(stage) failed: \(reason)"
        case let .writeFailed(path, reason): return "demo: cannot write \(path) (\(reason))"
        }
    }
}
