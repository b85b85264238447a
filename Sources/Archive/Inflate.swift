import CZlib
import Foundation

/// zlib-backed decompression with errors instead of crashes.
public enum Inflate {
    /// Inflates a raw deflate stream (zip members). `expectedSize` is checked exactly.
    static func raw(_ input: UnsafeRawBufferPointer, expectedSize: Int, file: String, what: String) throws -> Data {
        try run(input, windowBits: -15, sizeHint: expectedSize, exact: true, file: file, what: what)
    }

    /// Decompresses gzip data (`.gz` files). `file` is used in error messages.
    public static func gunzip(_ data: Data, file: String) throws -> Data {
        try data.withUnsafeBytes { try run($0, windowBits: 15 + 16, sizeHint: data.count * 4, exact: false, file: file, what: "gzip stream") }
    }

    private static func run(_ input: UnsafeRawBufferPointer, windowBits: Int32, sizeHint: Int, exact: Bool,
                            file: String, what: String) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ArchiveError.corrupt(file: file, reason: "cannot initialise zlib for \(what)")
        }
        defer { inflateEnd(&stream) }
        var out = Data(count: max(sizeHint, 64))
        var produced = 0
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
        stream.avail_in = uInt(input.count)
        while true {
            if produced == out.count {
                if exact { throw ArchiveError.corrupt(file: file, reason: "\(what) inflates to more than its declared \(sizeHint) bytes") }
                out.count *= 2
            }
            let status: Int32 = out.withUnsafeMutableBytes { b in
                stream.next_out = b.bindMemory(to: UInt8.self).baseAddress! + produced
                stream.avail_out = uInt(b.count - produced)
                let s = inflate(&stream, Z_NO_FLUSH)
                produced = b.count - Int(stream.avail_out)
                return s
            }
            if status == Z_STREAM_END { break }
            if status == Z_BUF_ERROR && stream.avail_in == 0 {
                throw ArchiveError.corrupt(file: file, reason: "\(what) ends early (truncated deflate data)")
            }
            if status != Z_OK && status != Z_BUF_ERROR {
                throw ArchiveError.corrupt(file: file, reason: "\(what): invalid deflate data (zlib status \(status))")
            }
        }
        if exact && produced != sizeHint {
            throw ArchiveError.corrupt(file: file, reason: "\(what) inflates to \(produced) bytes, expected \(sizeHint)")
        }
        out.count = produced
        return out
    }
}
