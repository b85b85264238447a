import CZlib
import Foundation

/// zlib-backed decompression with errors instead of crashes. Output is bounded: a zip member never inflates past
/// its declared size (or past the prefix asked for), a gzip stream never past ``maxGzipOutput``; input and output
/// are handed to zlib in pieces of at most `UInt32.max` bytes, so sizes beyond 4 GiB never overflow its counters.
public enum Inflate {
    /// The most a `.gz` file may inflate to (the bundled BPE vocabulary inflates to 1.4 MB).
    public static let maxGzipOutput = 1 << 30

    /// Inflates a raw deflate stream (zip members). `expectedSize` is checked exactly; with `prefix`, only the first
    /// `prefix ≤ expectedSize` bytes are produced and the rest of the stream is never inflated.
    static func raw(_ input: UnsafeRawBufferPointer, expectedSize: Int, prefix: Int? = nil, file: String, what: String) throws -> Data {
        let target = prefix.map { min($0, expectedSize) } ?? expectedSize
        return try run(input, windowBits: -15, initialSize: target, limit: target, mode: prefix == nil ? .exact : .prefix,
                       file: file, what: what, limitMessage: "inflates to more than its declared \(expectedSize) bytes")
    }

    /// Decompresses gzip data (`.gz` files). `file` is used in error messages.
    public static func gunzip(_ data: Data, file: String) throws -> Data {
        try data.withUnsafeBytes {
            try run($0, windowBits: 15 + 16, initialSize: min(data.count * 4, maxGzipOutput), limit: maxGzipOutput, mode: .atMost,
                    file: file, what: "gzip stream", limitMessage: "inflates to more than \(maxGzipOutput) bytes")
        }
    }

    /// Inflates a zlib stream (RFC 1950, as in MATLAB's compressed MAT-file elements) that must end within `limit`
    /// bytes; `what` names the stream in error messages ("variable 2 of DATA/MOS/mosz1.mat").
    ///
    /// ```swift
    /// let plain = try Inflate.zlib(compressed, limit: 1 << 20, file: "mosz1.mat", what: "compressed element")
    /// ```
    public static func zlib(_ data: Data, limit: Int, file: String, what: String) throws -> Data {
        try data.withUnsafeBytes {
            try run($0, windowBits: 15, initialSize: min(data.count * 4, limit), limit: limit, mode: .atMost,
                    file: file, what: what, limitMessage: "inflates to more than \(limit) bytes")
        }
    }

    /// How output is bounded by `limit`.
    private enum Mode {
        /// The stream must end at exactly `limit` bytes.
        case exact
        /// Only the first `limit` bytes are wanted; inflating stops there.
        case prefix
        /// The stream must end within `limit` bytes.
        case atMost
    }

    /// Inflates until the stream ends or `limit` bytes are out, as `mode` says.
    private static func run(_ input: UnsafeRawBufferPointer, windowBits: Int32, initialSize: Int, limit: Int, mode: Mode,
                            file: String, what: String, limitMessage: String) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ArchiveError.corrupt(file: file, reason: "cannot initialise zlib for \(what)")
        }
        defer { inflateEnd(&stream) }
        var out = Data(count: max(min(initialSize, limit), 1))
        var produced = 0
        var consumed = 0
        let chunk = Int(UInt32.max)
        // nil only for empty input, which is never handed to zlib (`consumed < input.count` is false).
        let inputBase = input.bindMemory(to: UInt8.self).baseAddress
        while true {
            if produced == limit {
                if mode == .prefix { break }
                // Room for one more byte tells "ends exactly here" from "goes on past the limit".
                var probe: UInt8 = 0
                let status = withUnsafeMutablePointer(to: &probe) { p -> Int32 in
                    stream.next_out = p
                    stream.avail_out = 1
                    if stream.avail_in == 0 && consumed < input.count {
                        let n = min(chunk, input.count - consumed)
                        stream.next_in = UnsafeMutablePointer(mutating: inputBase! + consumed)
                        stream.avail_in = uInt(n)
                        consumed += n
                    }
                    return inflate(&stream, Z_NO_FLUSH)
                }
                if status == Z_STREAM_END && stream.avail_out == 1 { break }
                if stream.avail_out == 0 { throw ArchiveError.corrupt(file: file, reason: "\(what) \(limitMessage)") }
                if status == Z_BUF_ERROR || status == Z_OK {
                    if stream.avail_in == 0 && consumed >= input.count {
                        throw ArchiveError.corrupt(file: file, reason: "\(what) ends early (truncated deflate data)")
                    }
                    continue
                }
                throw ArchiveError.corrupt(file: file, reason: "\(what): invalid deflate data (zlib status \(status))")
            }
            if produced == out.count { out.count = min(max(out.count * 2, 64), limit) }
            if stream.avail_in == 0 && consumed < input.count {
                let n = min(chunk, input.count - consumed)
                stream.next_in = UnsafeMutablePointer(mutating: inputBase! + consumed)
                stream.avail_in = uInt(n)
                consumed += n
            }
            let room = min(out.count - produced, limit - produced, chunk)
            let status: Int32 = out.withUnsafeMutableBytes { b in
                stream.next_out = b.bindMemory(to: UInt8.self).baseAddress! + produced
                stream.avail_out = uInt(room)
                let s = inflate(&stream, Z_NO_FLUSH)
                produced += room - Int(stream.avail_out)
                return s
            }
            // A prefix is complete once its bytes are out, whatever zlib made of the data after them.
            if status == Z_STREAM_END || (mode == .prefix && produced == limit) { break }
            if status == Z_BUF_ERROR && stream.avail_in == 0 && consumed >= input.count {
                throw ArchiveError.corrupt(file: file, reason: "\(what) ends early (truncated deflate data)")
            }
            if status != Z_OK && status != Z_BUF_ERROR {
                throw ArchiveError.corrupt(file: file, reason: "\(what): invalid deflate data (zlib status \(status))")
            }
        }
        if mode == .exact && produced != limit {
            throw ArchiveError.corrupt(file: file, reason: "\(what) inflates to \(produced) bytes, expected \(limit)")
        }
        out.count = produced
        return out
    }
}
