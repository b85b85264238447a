/// The reference's Unicode data, as generated from Python 3.11 and the `regex` module into
/// `Resources/unicode_tables.json`, so that character classes do not depend on the Swift runtime's Unicode version.
///
/// - `letters` / `numbers`: what `regex`'s `[\p{L}]` / `[\p{N}]` match under CLIP's `re.IGNORECASE`;
/// - `skipped`: code points matched by none of CLIP's three classes (whitespace, and U+0345, which the `regex`
///   module's case-insensitive `[^\s\p{L}\p{N}]` rejects);
/// - `regexSpace`: `regex`'s `\s` (used by `whitespace_clean`); `pythonSpace`: `str.isspace()` (used by
///   `str.strip()`, `str.split()` and `re`'s `\s`);
/// - `lowercase`: every code point whose `str.lower()` differs from itself, with its full mapping.
///
/// ```swift
/// let classes = try PythonCharacterClasses.shared()
/// classes.isLetter(0x00E9)   // true
/// ```
final class PythonCharacterClasses: Sendable {
    struct File: Decodable {
        let source: String
        let letters, numbers, skipped, regexSpace, pythonSpace: [[UInt32]]
        let lowercase: [LowercaseEntry]
    }

    struct LowercaseEntry: Decodable {
        let codePoint: UInt32
        let mapping: [UInt32]
        init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            codePoint = try c.decode(UInt32.self)
            mapping = try c.decode([UInt32].self)
        }
    }

    static let fileName = "unicode_tables.json"
    private static let loaded: Result<PythonCharacterClasses, TokenizerError> = {
        do { return .success(try PythonCharacterClasses(file: BundledResources.json(File.self, fileName))) } catch {
            return .failure(error as? TokenizerError ?? .resourceCorrupt(file: fileName, line: nil, reason: "\(error)"))
        }
    }()

    /// The shared instance, loaded on first use.
    static func shared() throws -> PythonCharacterClasses { try loaded.get() }

    private let letters, numbers, skipped, regexSpace, pythonSpace: CodePointSet
    private let lowercase: [UInt32: [UInt32]]

    init(file: File) throws {
        let name = Self.fileName
        letters = try CodePointSet(ranges: file.letters, file: name)
        numbers = try CodePointSet(ranges: file.numbers, file: name)
        skipped = try CodePointSet(ranges: file.skipped, file: name)
        regexSpace = try CodePointSet(ranges: file.regexSpace, file: name)
        pythonSpace = try CodePointSet(ranges: file.pythonSpace, file: name)
        var lower: [UInt32: [UInt32]] = [:]
        for e in file.lowercase { lower[e.codePoint] = e.mapping }
        lowercase = lower
    }

    @inline(__always) func isLetter(_ c: UInt32) -> Bool {
        c < 0x80 ? (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A : letters.contains(c)
    }
    @inline(__always) func isNumber(_ c: UInt32) -> Bool { c < 0x80 ? c >= 0x30 && c <= 0x39 : numbers.contains(c) }
    /// Matched by none of CLIP's pre-token classes (skipped by `findall`).
    @inline(__always) func isSkipped(_ c: UInt32) -> Bool { skipped.contains(c) }
    /// `regex` module `\s`.
    @inline(__always) func isRegexSpace(_ c: UInt32) -> Bool { regexSpace.contains(c) }
    /// `str.isspace()`, also `re`'s `\s` on `str` patterns.
    @inline(__always) func isPythonSpace(_ c: UInt32) -> Bool { pythonSpace.contains(c) }

    /// `re`'s `\w` on `str` patterns: `str.isalnum()` or `_`.
    func isPythonWord(_ c: UInt32) -> Bool {
        if c == 0x5F { return true }
        guard let s = Unicode.Scalar(c) else { return false }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return s.properties.numericType != nil
        }
    }

    /// Python's `str.lower()`: full lowercase mappings, with the Final_Sigma rule for U+03A3.
    func lower(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        for (i, c) in text.enumerated() {
            if c < 0x80 {
                out.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
            } else if c == 0x03A3 {
                out.append(isFinalSigma(text, i) ? 0x03C2 : 0x03C3)
            } else if let m = lowercase[c] {
                out.append(contentsOf: m)
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// CPython `handle_capital_sigma`: `\p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased})`.
    private func isFinalSigma(_ text: [UInt32], _ i: Int) -> Bool {
        func props(_ c: UInt32) -> (cased: Bool, ignorable: Bool) {
            guard let s = Unicode.Scalar(c) else { return (false, false) }
            return (s.properties.isCased, s.properties.isCaseIgnorable)
        }
        var j = i - 1
        while j >= 0, props(text[j]).ignorable { j -= 1 }
        guard j >= 0, props(text[j]).cased else { return false }
        var k = i + 1
        while k < text.count, props(text[k]).ignorable { k += 1 }
        return k == text.count || !props(text[k]).cased
    }

    /// Python's `str.strip()` (no arguments).
    func strip(_ text: [UInt32]) -> [UInt32] {
        var lo = 0, hi = text.count
        while lo < hi, isPythonSpace(text[lo]) { lo += 1 }
        while hi > lo, isPythonSpace(text[hi - 1]) { hi -= 1 }
        return lo == 0 && hi == text.count ? text : Array(text[lo..<hi])
    }

    /// CLIP's `whitespace_clean`: `regex.sub(r'\s+', ' ', text).strip()`.
    func whitespaceClean(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var inSpace = false
        for c in text {
            if isRegexSpace(c) {
                if !inSpace { out.append(0x20) }
                inSpace = true
            } else {
                out.append(c)
                inSpace = false
            }
        }
        return strip(out)
    }
}
