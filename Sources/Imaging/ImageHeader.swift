import Foundation

/// Image dimensions read from a file's header alone, before any pixel is decoded, so that a caller can refuse a
/// decompression bomb (a small file that declares billions of pixels) without allocating for it:
/// - PNG: the IHDR chunk (bytes 16–23, big-endian width and height);
/// - JPEG: the first start-of-frame marker (SOF0–SOF15 except DHT / JPG / DAC), skipping the segments before it;
/// - WebP: `VP8 ` (14-bit sizes after the start code), `VP8L` (14-bit sizes minus one) or `VP8X` (24-bit canvas).
/// Returns nil where the header is unreadable or the format unknown; the decoder then reports the problem.
///
/// ```swift
/// if let size = ImageHeader.dimensions(data), size.width * size.height > limit { /* refuse */ }
/// ```
public enum ImageHeader {
    public static func dimensions(_ data: Data) -> (width: Int, height: Int)? {
        let b = [UInt8](data.prefix(1 << 16))
        switch ImageFormat.sniff(data) {
        case .png: return png(b)
        case .jpeg: return jpeg([UInt8](data))
        case .webp: return webp(b)
        default: return nil
        }
    }

    private static func be32(_ b: [UInt8], _ i: Int) -> Int { b[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
    private static func be16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
    private static func le(_ b: [UInt8], _ i: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 | Int(b[i + $1]) << (8 * $1) } }

    static func png(_ b: [UInt8]) -> (width: Int, height: Int)? {
        guard b.count >= 24, b[12...15].elementsEqual("IHDR".utf8) else { return nil }
        return (be32(b, 16), be32(b, 20))
    }

    static func jpeg(_ b: [UInt8]) -> (width: Int, height: Int)? {
        var i = 2
        while i + 3 < b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }                                       // fill byte
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }     // no length
            let length = be16(b, i + 2)
            guard length >= 2 else { return nil }
            if (0xC0...0xCF).contains(marker), marker != 0xC4, marker != 0xC8, marker != 0xCC {
                guard i + 8 < b.count else { return nil }
                return (be16(b, i + 7), be16(b, i + 5))
            }
            if marker == 0xDA || marker == 0xD9 { return nil }                             // scan before any frame
            i += 2 + length
        }
        return nil
    }

    static func webp(_ b: [UInt8]) -> (width: Int, height: Int)? {
        guard b.count >= 30 else { return nil }
        switch String(decoding: b[12..<16], as: UTF8.self) {
        case "VP8 ":
            guard b[23] == 0x9D, b[24] == 0x01, b[25] == 0x2A else { return nil }
            return (le(b, 26, 2) & 0x3FFF, le(b, 28, 2) & 0x3FFF)
        case "VP8L":
            guard b[20] == 0x2F else { return nil }
            let bits = le(b, 21, 4)
            return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            return (le(b, 24, 3) + 1, le(b, 27, 3) + 1)
        default:
            return nil
        }
    }
}
