import Foundation

/// Port of Python's `html.unescape` (CPython Lib/html/__init__.py) and of ftfy's stricter `fixes.unescape_html`.
///
/// `html.unescape` replaces every match of `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`:
/// numeric references follow HTML5's rules (`_invalid_charrefs`: 0x00 and 0x80...0x9F remapped; surrogates and
/// values above U+10FFFF become U+FFFD; `_invalid_codepoints` vanish); names are looked up in the HTML5 table
/// (`html.entities.html5`, bundled as `Resources/html5_entities.tsv`, loaded on first use), falling back to the
/// longest known prefix of at least two characters (`&notit;` → `¬it;`). ftfy's variant only replaces
/// `&#?[0-9A-Za-z]{1,24};` when it is a known name with a semicolon, an all-caps form of a lower-case name
/// (`&EACUTE;` → `É`), or a numeric reference that decodes completely.
///
/// Differs from CPython only in that decimal references longer than 4300 digits (where `int()` raises) decode
/// to U+FFFD instead of raising.
///
/// ```swift
/// let html = try HTMLEntities.shared()
/// html.unescape(Array("caf&eacute; &amp".unicodeScalars.map(\.value)))   // "café &"
/// ```
final class HTMLEntities: Sendable {
    static let fileName = "html5_entities.tsv"
    private static let loaded: Result<HTMLEntities, TokenizerError> = {
        do { return .success(try HTMLEntities(tsv: BundledResources.data(fileName))) } catch {
            return .failure(error as? TokenizerError ?? .resourceCorrupt(file: fileName, line: nil, reason: "\(error)"))
        }
    }()

    /// The shared table, read from the bundle on first use.
    static func shared() throws -> HTMLEntities { try loaded.get() }

    /// `html.entities.html5`: name (with or without `;`) → replacement.
    private let html5: [String: [UInt32]]
    /// ftfy's `chardata.HTML_ENTITIES`: `&name;` → replacement, including the all-caps forms.
    private let ftfyEntities: [String: [UInt32]]

    init(tsv: Data) throws {
        guard let text = String(data: tsv, encoding: .utf8) else {
            throw TokenizerError.resourceCorrupt(file: Self.fileName, line: nil, reason: "not UTF-8")
        }
        var table: [String: [UInt32]] = [:]
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            let values = parts.count == 2 ? parts[1].split(separator: " ").compactMap { UInt32($0, radix: 16) } : []
            guard parts.count == 2, !parts[0].isEmpty, !values.isEmpty, values.allSatisfy({ Unicode.Scalar($0) != nil }) else {
                throw TokenizerError.resourceCorrupt(file: Self.fileName, line: n + 1, reason: "expected 'name<TAB>HEX[ HEX]'")
            }
            table[String(parts[0])] = values
        }
        html5 = table
        var ftfy: [String: [UInt32]] = [:]
        for (name, value) in table where name.hasSuffix(";") {
            ftfy["&" + name] = value
            if name == name.lowercased() {
                let upper = "&" + name.uppercased()
                let codes = upper.unicodeScalars.map(\.value)
                if Self.unescape(codes, html5: table) == codes {
                    ftfy[upper] = value.flatMap { c in
                        Unicode.Scalar(c).map { $0.properties.uppercaseMapping.unicodeScalars.map(\.value) } ?? [c]
                    }
                }
            }
        }
        ftfyEntities = ftfy
    }

    /// Python's `html.unescape(text)`.
    func unescape(_ text: [UInt32]) -> [UInt32] { Self.unescape(text, html5: html5) }

    private static func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isHex(_ c: UInt32) -> Bool { isDigit(c) || (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 }

    private static func unescape(_ text: [UInt32], html5: [String: [UInt32]]) -> [UInt32] {
        guard text.contains(0x26) else { return text }
        var out = [UInt32]()
        out.reserveCapacity(text.count)
        var i = 0
        let n = text.count
        while i < n {
            guard text[i] == 0x26, i + 1 < n else { out.append(text[i]); i += 1; continue }
            if text[i + 1] == 0x23 {  // '#'
                var j = i + 2, hex = false
                if j < n, text[j] == 0x78 || text[j] == 0x58, j + 1 < n, isHex(text[j + 1]) { hex = true; j += 1 }
                guard j < n, hex ? isHex(text[j]) : isDigit(text[j]) else { out.append(text[i]); i += 1; continue }
                var value: UInt64 = 0
                var overflow = false
                while j < n, hex ? isHex(text[j]) : isDigit(text[j]) {
                    let c = text[j]
                    let d = UInt64(isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10)
                    if value > 0x10_FFFF_FFFF { overflow = true } else { value = value * (hex ? 16 : 10) + d }
                    j += 1
                }
                if j < n, text[j] == 0x3B { j += 1 }
                out.append(contentsOf: numericReference(overflow ? UInt64.max : value))
                i = j
                continue
            }
            var j = i + 1
            while j < n, j - (i + 1) < 32, !Self.endsName(text[j]) { j += 1 }
            guard j > i + 1 else { out.append(text[i]); i += 1; continue }
            if j < n, text[j] == 0x3B { j += 1 }
            out.append(contentsOf: named(Array(text[(i + 1)..<j]), html5: html5))
            i = j
        }
        return out
    }

    /// `[\t\n\f <&#;]`: characters that end a reference name.
    private static func endsName(_ c: UInt32) -> Bool {
        c == 0x09 || c == 0x0A || c == 0x0C || c == 0x20 || c == 0x3C || c == 0x26 || c == 0x23 || c == 0x3B
    }

    private static func numericReference(_ num: UInt64) -> [UInt32] {
        if let mapped = invalidCharrefs[num] { return [mapped] }
        if (0xD800...0xDFFF).contains(num) || num > 0x10FFFF { return [0xFFFD] }
        if invalidCodePoint(UInt32(num)) { return [] }
        return [UInt32(num)]
    }

    private static func named(_ s: [UInt32], html5: [String: [UInt32]]) -> [UInt32] {
        func key(_ cs: ArraySlice<UInt32>) -> String? {
            guard cs.allSatisfy({ $0 < 0x80 }) else { return nil }
            return String(decoding: cs.map { UInt8($0) }, as: UTF8.self)
        }
        if let k = key(s[...]), let v = html5[k] { return v }
        var x = s.count - 1
        while x > 1 {
            if let k = key(s[..<x]), let v = html5[k] { return v + s[x...] }
            x -= 1
        }
        return [0x26] + s
    }

    /// CPython `html._invalid_charrefs`.
    private static let invalidCharrefs: [UInt64: UInt32] = [
        0x00: 0xFFFD, 0x0D: 0x0D, 0x80: 0x20AC, 0x81: 0x81, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E, 0x85: 0x2026,
        0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039, 0x8C: 0x0152, 0x8D: 0x8D,
        0x8E: 0x017D, 0x8F: 0x8F, 0x90: 0x90, 0x91: 0x2018, 0x92: 0x2019, 0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022,
        0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC, 0x99: 0x2122, 0x9A: 0x0161, 0x9B: 0x203A, 0x9C: 0x0153, 0x9D: 0x9D,
        0x9E: 0x017E, 0x9F: 0x0178,
    ]

    /// CPython `html._invalid_codepoints`: C0 controls except tab/LF/FF/CR, DEL and C1, noncharacters.
    private static func invalidCodePoint(_ c: UInt32) -> Bool {
        (0x01...0x08).contains(c) || c == 0x0B || (0x0E...0x1F).contains(c) || (0x7F...0x9F).contains(c)
            || (0xFDD0...0xFDEF).contains(c) || (c & 0xFFFE) == 0xFFFE
    }

    /// ftfy `fixes.unescape_html`: replaces matches of `&#?[0-9A-Za-z]{1,24};` only when unambiguous.
    func ftfyUnescape(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(0x26) else { return text }
        func isAlnum(_ c: UInt32) -> Bool { Self.isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) }
        var out = [UInt32]()
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            guard text[i] == 0x26 else { out.append(text[i]); i += 1; continue }
            var j = i + 1
            if j < text.count, text[j] == 0x23 { j += 1 }
            let nameStart = j
            while j < text.count, isAlnum(text[j]) { j += 1 }
            let length = j - nameStart
            guard length >= 1, length <= 24, j < text.count, text[j] == 0x3B else { out.append(text[i]); i += 1; continue }
            let match = Array(text[i...j])
            let key = String(decoding: match.map { UInt8($0) }, as: UTF8.self)
            if let v = ftfyEntities[key] {
                out += v
            } else if nameStart == i + 2 {
                let decoded = unescape(match)
                out += decoded.contains(0x3B) ? match : decoded
            } else {
                out += match
            }
            i = j + 1
        }
        return out
    }
}
