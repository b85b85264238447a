import Foundation

extension JSONText {
    /// The first object key that occurs twice in the same JSON object of `data` (keys compared after unescaping, as
    /// Swift strings), or nil when there is none. Foundation's `JSONDecoder` keeps the first of duplicate keys and
    /// Python's `json` the last, so a file with duplicates means different things to different readers: callers
    /// refuse it. Malformed JSON gives nil here (the decoder that runs next reports it); nesting deeper than
    /// `maxDepth` is reported as malformed by returning nil as well.
    ///
    /// ```swift
    /// JSONText.duplicateKey(in: Data(#"{"a": 1, "b": {"c": 2, "c": 3}}"#.utf8))   // "c"
    /// ```
    public static func duplicateKey(in data: Data, maxDepth: Int = 512) -> String? {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            var scanner = DuplicateKeyScanner(bytes: raw.bindMemory(to: UInt8.self), maxDepth: maxDepth)
            do throws(ScanStop) { try scanner.value(depth: 0) } catch {
                if case let .duplicate(key) = error { return key }
            }
            return nil
        }
    }
}

private enum ScanStop: Error {
    case duplicate(String)
    case malformed
}

/// A minimal JSON walker that only tracks object keys (values are skipped, not built).
private struct DuplicateKeyScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func expect(_ byte: UInt8) throws(ScanStop) {
        skipSpace()
        guard i < bytes.count, bytes[i] == byte else { throw .malformed }
        i += 1
    }

    mutating func value(depth: Int) throws(ScanStop) {
        guard depth <= maxDepth else { throw .malformed }
        skipSpace()
        guard i < bytes.count else { throw .malformed }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var keys = Set<String>()
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return }
            while true {
                skipSpace()
                let key = try string()
                if !keys.insert(key).inserted { throw .duplicate(key) }
                try expect(UInt8(ascii: ":"))
                try value(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw .malformed }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return }
                throw .malformed
            }
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return }
            while true {
                try value(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw .malformed }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return }
                throw .malformed
            }
        case UInt8(ascii: "\""):
            _ = try string()
        default:
            // Number or literal: up to the next structural character or space.
            let start = i
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: ",") || b == UInt8(ascii: "]") || b == UInt8(ascii: "}") || b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { break }
                i += 1
            }
            if i == start { throw .malformed }
        }
    }

    /// A string literal at `i`, unescaped.
    mutating func string() throws(ScanStop) -> String {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw .malformed }
        i += 1
        var scalars = String.UnicodeScalarView()
        var run = [UInt8]()
        func flush() {
            if !run.isEmpty { scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars); run.removeAll() }
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                flush()
                return String(scalars)
            }
            if b != UInt8(ascii: "\\") { run.append(b); i += 1; continue }
            flush()
            guard i + 1 < bytes.count else { throw .malformed }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var unit = try hex4()
                if (0xD800..<0xDC00).contains(unit), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) { unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00) }
                }
                scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
            default: throw .malformed
            }
        }
        throw .malformed
    }

    mutating func hex4() throws(ScanStop) -> UInt32 {
        guard i + 4 <= bytes.count else { throw .malformed }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw .malformed
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}
