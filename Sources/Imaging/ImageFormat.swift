import Foundation

/// Container formats recognised from their leading bytes ("magic numbers"); only JPEG, PNG and WebP decode.
///
/// ```swift
/// ImageFormat.sniff(Data([0xFF, 0xD8, 0xFF])) == .jpeg
/// ```
public enum ImageFormat: String, Sendable, Equatable {
    case jpeg = "JPEG", png = "PNG", webp = "WebP"
    case gif = "GIF", bmp = "BMP", tiff = "TIFF", avif = "AVIF", heic = "HEIC", jpeg2000 = "JPEG 2000", ico = "ICO"
    case unknown = "unknown"

    /// Whether `ImageCodec` can decode this format.
    public var isDecodable: Bool { self == .jpeg || self == .png || self == .webp }

    /// Identifies the format from the first bytes of a file.
    public static func sniff(_ data: Data) -> ImageFormat {
        let head = [UInt8](data.prefix(16))
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + magic.count && Array(head[offset..<offset + magic.count]) == magic
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("BM".utf8)) { return .bmp }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if starts(Array("ftypavif".utf8), at: 4) || starts(Array("ftypavis".utf8), at: 4) { return .avif }
        if starts(Array("ftypheic".utf8), at: 4) || starts(Array("ftypmif1".utf8), at: 4) { return .heic }
        if starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || starts([0xFF, 0x4F, 0xFF, 0x51]) { return .jpeg2000 }
        if starts([0x00, 0x00, 0x01, 0x00]) { return .ico }
        return .unknown
    }
}
