import Archive
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a writer did.
///
/// ```swift
/// if try AGIQA3kWriter.write(set, to: folder, writePNG: encode) == .skipped { print("already there") }
/// ```
public enum WriteOutcome: Equatable, Sendable {
    /// Files were written (count of image files written).
    case written(images: Int)
    /// The folder already held this exact dataset (its completion marker matched); nothing was written.
    case skipped
}

/// Atomic, idempotent file output shared by the writers. Every file is written to a hidden temporary name in the
/// same folder and renamed into place. A folder is claimed by a `.synthagi-pending` file holding the dataset's
/// fingerprint and finished by a `.synthagi-complete` marker (same fingerprint) written last.
enum FileOutput {
    static let pendingName = ".synthagi-pending"
    static let completeName = ".synthagi-complete"

    /// Creates `folder` if needed and decides what to do: `true` = already complete (skip). Throws when the folder
    /// belongs to a different dataset.
    static func begin(_ folder: URL, fingerprint: String) throws -> Bool {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw SynthError.writeFailed(path: folder.path, reason: error.localizedDescription)
        }
        for marker in [completeName, pendingName] {
            let url = folder.appendingPathComponent(marker)
            guard let data = FileManager.default.contents(atPath: url.path) else { continue }
            let found = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard found == fingerprint else {
                throw SynthError.markerMismatch(path: url.path, expected: fingerprint, found: found)
            }
            if marker == completeName { return true }
        }
        try writeAtomically(Data((fingerprint + "\n").utf8), to: folder.appendingPathComponent(pendingName))
        return false
    }

    /// Writes the completion marker and removes the pending file.
    static func finish(_ folder: URL, fingerprint: String) throws {
        try writeAtomically(Data((fingerprint + "\n").utf8), to: folder.appendingPathComponent(completeName))
        try? FileManager.default.removeItem(at: folder.appendingPathComponent(pendingName))
    }

    /// Writes `data` atomically (``AtomicFile``).
    static func writeAtomically(_ data: Data, to url: URL) throws {
        do { try AtomicFile.write(data, to: url) } catch {
            throw SynthError.writeFailed(path: url.path, reason: AtomicFile.reason(error))
        }
    }

    /// Writes an image through the caller's encoder to a temporary file, then renames it into place.
    static func writeImage(_ image: SynthImage, to url: URL, writePNG: (SynthImage, URL) throws -> Void) throws {
        do { try AtomicFile.write(to: url) { temp in try writePNG(image, temp) } } catch {
            throw SynthError.writeFailed(path: url.path, reason: AtomicFile.reason(error))
        }
    }

    /// RFC-4180 field: quoted (with doubled quotes) when it holds a comma, quote, CR or LF.
    static func csvField(_ s: String) -> String {
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }

    /// Fixed six-decimal formatting (locale-independent).
    static func number(_ x: Double) -> String { String(format: "%.6f", x) }
}
