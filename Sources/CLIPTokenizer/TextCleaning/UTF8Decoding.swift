/// UTF-8 decoders with CPython's exact semantics, over code points (`[UInt32]`).
///
/// - `strict`: `bytes.decode("utf-8")` — nil where Python raises `UnicodeDecodeError` (surrogates, overlong forms,
///   values above U+10FFFF, truncated or stray bytes).
/// - `variants`: ftfy's `utf-8-variants` codec (`ftfy/bad_codecs/utf8_variants.py`): strict UTF-8 plus Java's
///   `C0 80` for U+0000 and CESU-8 surrogate pairs `ED A0-AF 80-BF ED B0-BF 80-BF` for supplementary code points.
/// - `replacing`: `bytes.decode("utf-8", errors="replace")` — one U+FFFD per maximal invalid subpart.
///
/// ```swift
/// UTF8Decoding.strict([0xC3, 0xA9])   // [0xE9]
/// UTF8Decoding.strict([0xED, 0xA0, 0x80])   // nil
/// ```
enum UTF8Decoding {
    private enum Step {
        case scalar(UInt32, length: Int)
        case invalid(length: Int)
    }

    /// One decoding step at `i` (CPython's maximal-subpart rule on errors).
    private static func step(_ b: [UInt8], _ i: Int) -> Step {
        let lead = b[i]
        if lead < 0x80 { return .scalar(UInt32(lead), length: 1) }
        let need: Int, lo2: UInt8, hi2: UInt8
        switch lead {
        case 0xC2...0xDF: (need, lo2, hi2) = (2, 0x80, 0xBF)
        case 0xE0: (need, lo2, hi2) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE, 0xEF: (need, lo2, hi2) = (3, 0x80, 0xBF)
        case 0xED: (need, lo2, hi2) = (3, 0x80, 0x9F)
        case 0xF0: (need, lo2, hi2) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (need, lo2, hi2) = (4, 0x80, 0xBF)
        case 0xF4: (need, lo2, hi2) = (4, 0x80, 0x8F)
        default: return .invalid(length: 1)
        }
        var value = UInt32(lead) & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07)
        for k in 1..<need {
            let j = i + k
            guard j < b.count else { return .invalid(length: k) }
            let c = b[j]
            let ok = k == 1 ? (c >= lo2 && c <= hi2) : (c >= 0x80 && c <= 0xBF)
            guard ok else { return .invalid(length: k) }
            value = (value << 6) | UInt32(c & 0x3F)
        }
        return .scalar(value, length: need)
    }

    /// `bytes.decode("utf-8")`, or nil on any error.
    static func strict(_ b: [UInt8]) -> [UInt32]? {
        var out = [UInt32]()
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            guard case let .scalar(v, n) = step(b, i) else { return nil }
            out.append(v)
            i += n
        }
        return out
    }

    /// `bytes.decode("utf-8-variants")` (ftfy), or nil on any error.
    static func variants(_ b: [UInt8]) -> [UInt32]? {
        var out = [UInt32]()
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == 0xC0, i + 1 < b.count, b[i + 1] == 0x80 {
                out.append(0)
                i += 2
                continue
            }
            if b[i] == 0xED, i + 5 < b.count, (0xA0...0xAF).contains(b[i + 1]), (0x80...0xBF).contains(b[i + 2]),
               b[i + 3] == 0xED, (0xB0...0xBF).contains(b[i + 4]), (0x80...0xBF).contains(b[i + 5]) {
                let v = (UInt32(b[i + 1] & 0x0F) << 16) + (UInt32(b[i + 2] & 0x3F) << 10)
                    + (UInt32(b[i + 4] & 0x0F) << 6) + UInt32(b[i + 5] & 0x3F) + 0x10000
                out.append(v)
                i += 6
                continue
            }
            guard case let .scalar(v, n) = step(b, i) else { return nil }
            out.append(v)
            i += n
        }
        return out
    }

    /// `bytes.decode("utf-8", errors="replace")`.
    static func replacing(_ b: [UInt8]) -> [UInt32] {
        var out = [UInt32]()
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            switch step(b, i) {
            case let .scalar(v, n):
                out.append(v)
                i += n
            case let .invalid(n):
                out.append(0xFFFD)
                i += n
            }
        }
        return out
    }

    /// UTF-8 encoding of code points (all valid scalars).
    static func encode(_ text: [UInt32]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case 0..<0x80: out.append(UInt8(c))
            case 0x80..<0x800:
                out += [UInt8(0xC0 | (c >> 6)), UInt8(0x80 | (c & 0x3F))]
            case 0x800..<0x10000:
                out += [UInt8(0xE0 | (c >> 12)), UInt8(0x80 | ((c >> 6) & 0x3F)), UInt8(0x80 | (c & 0x3F))]
            default:
                out += [UInt8(0xF0 | (c >> 18)), UInt8(0x80 | ((c >> 12) & 0x3F)), UInt8(0x80 | ((c >> 6) & 0x3F)),
                        UInt8(0x80 | (c & 0x3F))]
            }
        }
        return out
    }
}
