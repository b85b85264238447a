import Foundation

/// Failure to read, decode, encode or preprocess an image. The message names the file (when known) and the problem:
/// `"photo.jpg: corrupt JPEG data: Premature end of JPEG file"`, `"x.gif: unsupported format (GIF)"`.
///
/// ```swift
/// do { _ = try ImageCodec.decode(contentsOf: url) } catch let error as ImageError { print(error.localizedDescription) }
/// ```
public struct ImageError: LocalizedError, Sendable, Equatable {
    /// What went wrong, coarse-grained (for tests and callers that branch on it).
    public enum Kind: String, Sendable, Equatable {
        case unreadable          // the file cannot be read
        case empty               // zero bytes
        case unsupportedFormat   // not JPEG / PNG / WebP, or a feature of one we do not decode
        case corrupt             // the codec rejected the data
        case truncated           // the data ends before the image does
        case tooLarge            // dimensions above the pixel limit
        case encodingFailed
        case writeFailed
        case invalidArgument     // a bad size, mode or pixel buffer passed by the caller
    }

    /// File path or name the error concerns, if any.
    public let file: String?
    public let kind: Kind
    /// The specific problem, e.g. "corrupt JPEG data: Premature end of JPEG file".
    public let detail: String

    public init(file: String?, kind: Kind, detail: String) {
        self.file = file
        self.kind = kind
        self.detail = detail
    }

    public var errorDescription: String? {
        if let file { return "\(file): \(detail)" }
        return detail
    }
}
