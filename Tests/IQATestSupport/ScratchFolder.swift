import Foundation

/// A fresh, uniquely named folder under the system's temporary directory, for one test's files. Created on init;
/// `remove()` deletes it with everything inside.
///
/// ```swift
/// let scratch = try ScratchFolder("scoring")
/// defer { scratch.remove() }
/// try "image,prompt\n".write(to: scratch.file("list.csv"), atomically: true, encoding: .utf8)
/// ```
public struct ScratchFolder: Sendable {
    public let url: URL

    /// Creates `<tmp>/ipiqa-<tag>-<UUID>`.
    public init(_ tag: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ipiqa-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the folder (nothing is created).
    public func file(_ path: String) -> URL { url.appendingPathComponent(path) }

    /// Deletes the folder and its contents (errors ignored: it is scratch).
    public func remove() { try? FileManager.default.removeItem(at: url) }

    /// Modification dates of every regular file below `root`, by path relative to it: two listings are equal when
    /// no file was added, removed or rewritten in between.
    public static func listing(_ root: URL, where include: (String) -> Bool = { _ in true }) throws -> [String: Date] {
        var out: [String: Date] = [:]
        let keys: [URLResourceKey] = [.contentModificationDateKey, .isRegularFileKey]
        guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else { return out }
        let prefix = root.resolvingSymlinksInPath().path + "/"
        for case let url as URL in e {
            let values = try url.resourceValues(forKeys: Set(keys))
            guard values.isRegularFile == true else { continue }
            var path = url.resolvingSymlinksInPath().path
            if path.hasPrefix(prefix) { path.removeFirst(prefix.count) }
            if include(path) { out[path] = values.contentModificationDate }
        }
        return out
    }
}
