import Foundation

/// Atomic file replacement, used by every writer of checkpoints, caches, results, splits and generated data: the
/// content goes to a temporary file in the target's folder, which is then renamed over the target (`rename(2)` is
/// atomic within a file system). Readers never see a half-written file, and on any error the temporary file is
/// removed and the target is left as it was.
///
/// ```swift
/// try AtomicFile.write(Data("{}".utf8), to: url)
/// try AtomicFile.write(to: url) { temp in try encoder.write(image, to: temp) }
/// ```
public enum AtomicFile {
    /// Why a write failed, in words (callers wrap it in their own error that names the file).
    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
        public init(reason: String) { self.reason = reason }
    }

    private static let counter = Counter()

    /// `.<stem>.<pid>-<n>.partial[.<ext>]` next to `url`: unique per process and call, and it keeps the extension for
    /// encoders that look at it.
    public static func temporaryURL(for url: URL) -> URL {
        let ext = url.pathExtension
        let stem = url.deletingPathExtension().lastPathComponent
        let name = ".\(stem).\(ProcessInfo.processInfo.processIdentifier)-\(counter.next()).partial" + (ext.isEmpty ? "" : "." + ext)
        return url.deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Lets `produce` write the file at a temporary URL, then renames it over `url`. Errors thrown by `produce` are
    /// rethrown as they are; a failed rename throws ``Failure``. Either way the temporary file is removed.
    public static func write(to url: URL, _ produce: (URL) throws -> Void) throws {
        let temp = temporaryURL(for: url)
        do {
            try produce(temp)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
        if rename(temp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temp)
            throw Failure(reason: "cannot move the temporary file into place (\(reason))")
        }
    }

    /// Lets `produce` stream the file through a `FileHandle` on a new temporary file, then renames it over `url`
    /// (large files written piece by piece; the handle is closed before the rename).
    public static func write(to url: URL, streaming produce: (FileHandle) throws -> Void) throws {
        try write(to: url) { temp in
            guard FileManager.default.createFile(atPath: temp.path, contents: nil) else {
                throw Failure(reason: "cannot create a temporary file in \(url.deletingLastPathComponent().path)")
            }
            let handle = try FileHandle(forWritingTo: temp)
            defer { try? handle.close() }
            try produce(handle)
        }
    }

    /// Writes `data` to `url` atomically; throws ``Failure`` naming what went wrong.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { temp in
            do { try data.write(to: temp) } catch { throw Failure(reason: "cannot write (\(FileProblem.describe(error)))") }
        }
    }

    /// The reason of `error` for messages: a ``Failure``'s text, else the error's description.
    public static func reason(_ error: Error) -> String {
        (error as? Failure)?.reason ?? FileProblem.describe(error)
    }

    private final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
}
