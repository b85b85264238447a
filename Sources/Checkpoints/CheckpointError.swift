import Foundation

/// Every failure to read or write a checkpoint. The message always starts with the file path and names
/// what is wrong and where: the zip member, pickle opcode and byte offset, disallowed global, tensor key,
/// or safetensors header field.
///
/// ```swift
/// do { _ = try CheckpointLoader.load(url) }
/// catch let e as CheckpointError { print(e.localizedDescription) }
/// // "/m/evil.pt: archive/data.pkl: pickle references disallowed global 'os.system' (GLOBAL at offset 2)"
/// ```
public struct CheckpointError: LocalizedError, Sendable, Equatable {
    /// What class of problem this is (for programmatic checks; the message has the detail).
    public enum Kind: String, Sendable {
        case fileNotFound, unreadable, unknownFormat, archive, pickle, disallowedGlobal, unknownOpcode
        case truncated, tensor, safetensors, duplicateKey, unsupported, write
    }

    public let file: String
    public let kind: Kind
    public let message: String

    public init(file: String, kind: Kind, message: String) {
        self.file = file
        self.kind = kind
        self.message = message
    }

    public var errorDescription: String? { "\(file): \(message)" }
}

/// A pickle-level failure before the file name is known; ``PickleError/inFile(_:member:)`` adds it.
struct PickleError: Error {
    let kind: CheckpointError.Kind
    let offset: Int
    let message: String

    func inFile(_ file: String, member: String) -> CheckpointError {
        CheckpointError(file: file, kind: kind, message: "\(member): \(message) (at pickle offset \(offset))")
    }
}

extension CheckpointError {
    /// Wraps a zip-level error, keeping its reason but not repeating the file name.
    static func archive(_ file: String, _ error: Error) -> CheckpointError {
        if let e = error as? CheckpointError { return e }
        let text = error.localizedDescription
        let prefix = file + ": "
        let reason = text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
        return CheckpointError(file: file, kind: .archive, message: reason)
    }
}
