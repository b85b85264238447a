/// Port of CLIP's pre-tokenisation regex (openai/CLIP clip/simple_tokenizer.py `SimpleTokenizer.pat`), applied
/// with `regex.findall` to the cleaned, lower-cased text:
///
///     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+   (IGNORECASE)
///
/// Alternatives are tried in order at each position; positions matching none (whitespace) are skipped. The
/// case-insensitive flag matters after lower-casing only through simple case folding: `ſ` (U+017F) matches `s`
/// (so `'ſ` is a contraction and `<|ſtartoftext|>` a special pre-token), and U+0345 matches no class at all.
/// Letter / number classes come from the `regex` module's tables (`PythonCharacterClasses`).
///
/// ```swift
/// let pre = PreTokenizer(classes: try PythonCharacterClasses.shared())
/// pre.split(Array("it's 42!".unicodeScalars.map(\.value)))   // ["it", "'s", "4", "2", "!"]
/// ```
struct PreTokenizer: Sendable {
    let classes: PythonCharacterClasses

    private static let specials: [[UInt32]] = [
        Array(CLIPVocabularyConstants.startOfText.unicodeScalars.map(\.value)),
        Array(CLIPVocabularyConstants.endOfText.unicodeScalars.map(\.value)),
    ]
    private static let contractions: [[UInt32]] = ["s", "t", "re", "ve", "m", "ll", "d"].map {
        [0x27] + $0.unicodeScalars.map(\.value)
    }

    /// Simple case folding restricted to what can matter for the pattern's literals.
    @inline(__always)
    private static func fold(_ c: UInt32) -> UInt32 {
        if c >= 0x41 && c <= 0x5A { return c + 0x20 }
        return c == 0x017F ? 0x73 : c
    }

    private static func literal(_ lit: [UInt32], in text: [UInt32], at i: Int) -> Bool {
        guard i + lit.count <= text.count else { return false }
        for k in 0..<lit.count where fold(text[i + k]) != lit[k] { return false }
        return true
    }

    /// Ranges of `text` matched by `findall`, in order.
    func split(_ text: [UInt32]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        let n = text.count
        scan: while i < n {
            let c = text[i]
            if c == 0x3C {
                for lit in Self.specials where Self.literal(lit, in: text, at: i) {
                    out.append(i..<(i + lit.count))
                    i += lit.count
                    continue scan
                }
            } else if c == 0x27 {
                for lit in Self.contractions where Self.literal(lit, in: text, at: i) {
                    out.append(i..<(i + lit.count))
                    i += lit.count
                    continue scan
                }
            }
            if classes.isLetter(c) {
                var j = i + 1
                while j < n, classes.isLetter(text[j]) { j += 1 }
                out.append(i..<j)
                i = j
            } else if classes.isNumber(c) {
                out.append(i..<(i + 1))
                i += 1
            } else if !isOther(c) {
                i += 1
            } else {
                var j = i + 1
                while j < n, isOther(text[j]) { j += 1 }
                out.append(i..<j)
                i = j
            }
        }
        return out
    }

    /// `[^\s\p{L}\p{N}]` under IGNORECASE.
    @inline(__always)
    private func isOther(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return !(classes.isLetter(c) || classes.isNumber(c) || c == 0x20 || (0x09...0x0D).contains(c))
        }
        return !classes.isLetter(c) && !classes.isNumber(c) && !classes.isSkipped(c)
    }
}
