/// Port of ftfy 6.3 `fix_text` with its default configuration (ftfy/__init__.py `fix_text`, `fix_and_explain`),
/// as called by CLIP's `basic_clean`.
///
/// The text is fixed line by line (segments end after each `\n`, at most 1 000 000 code points). Each segment is
/// passed through these steps, in ftfy's order, until it stops changing:
/// 1. `unescape_html` — ftfy's unambiguous HTML entities (skipped for this and all later segments once a segment
///    contains `<`, ftfy's "auto" setting);
/// 2. `fix_encoding` — mojibake repair (`MojibakeFixer`), including `restore_byte_a0`, `replace_lossy_sequences`,
///    `decode_inconsistent_utf8`;
/// 3. `fix_c1_controls` — U+0080...U+009F as windows-1252;
/// 4. `fix_latin_ligatures` — `ﬁ` → `fi` (ftfy's table);
/// 5. `fix_character_width` — full-width/half-width forms → NFKC forms, U+3000 → space;
/// 6. `uncurl_quotes` — U+02BC, U+2018...U+201B → `'`; U+201C...U+201F → `"`;
/// 7. `fix_line_breaks` — CRLF, CR, U+2028, U+2029, U+0085 → `\n`;
/// 8. `fix_surrogates` — nothing to do: a Swift `String` cannot hold unpaired surrogates;
/// 9. `remove_terminal_escapes` — `ESC [ (digits|;)* letter`;
/// 10. `remove_control_chars` — ftfy's table (C0 controls except whitespace, DEL, U+206A...U+206F, BOM, U+FFF9...U+FFFC);
/// 11. NFC normalisation (the Swift standard library's, `String._nfcCodeUnits`; Foundation's
///     `precomposedStringWithCanonicalMapping` on Linux fails to compose a precomposed LV syllable with a trailing
///     jamo, e.g. U+AC38 U+11AD → U+AC3E, which Python does).
///
/// Not ported: ftfy's explanations, `fix_file`/`guess_bytes`, and options other than the defaults.
///
/// ```swift
/// let fixer = try TextFixer()
/// fixer.fixText("Broken text&hellip; it&#x2019;s ﬂubberiﬁc!")   // "Broken text... it's flubberific!"
/// ```
struct TextFixer: Sendable {
    let tables: FTFYTables
    let mojibake: MojibakeFixer
    let html: HTMLEntities

    init() throws {
        tables = try FTFYTables.shared()
        mojibake = MojibakeFixer(tables: tables)
        html = try HTMLEntities.shared()
    }

    /// ftfy `fix_text(text)`.
    func fixText(_ text: String) -> String {
        String(String.UnicodeScalarView(fixText(text.unicodeScalars.map(\.value)).compactMap(Unicode.Scalar.init)))
    }

    /// ftfy `fix_text` over code points.
    func fixText(_ text: [UInt32]) -> [UInt32] {
        var out = [UInt32]()
        out.reserveCapacity(text.count)
        var unescapeHTML = true
        var pos = 0
        while pos < text.count {
            var end = text[pos...].firstIndex(of: 0x0A).map { $0 + 1 } ?? text.count
            end = min(end, pos + CLIPVocabularyConstants.ftfyMaxSegmentLength)
            let segment = Array(text[pos..<end])
            if unescapeHTML && segment.contains(0x3C) { unescapeHTML = false }
            out += fixSegment(segment, unescapeHTML: unescapeHTML)
            pos = end
        }
        return out
    }

    /// ftfy `fix_and_explain` without the explanation.
    func fixSegment(_ segment: [UInt32], unescapeHTML: Bool) -> [UInt32] {
        var text = segment
        while true {
            let original = text
            if unescapeHTML { text = html.ftfyUnescape(text) }
            text = mojibake.fixEncoding(text)
            text = mojibake.fixC1Controls(text)
            text = translate(text, tables.ligatures)
            text = translate(text, tables.widthMap)
            text = uncurlQuotes(text)
            text = fixLineBreaks(text)
            text = removeTerminalEscapes(text)
            if text.contains(where: { tables.controlChars.contains($0) }) { text.removeAll { tables.controlChars.contains($0) } }
            text = Self.nfc(text)
            if text == original { return text }
        }
    }

    private func translate(_ text: [UInt32], _ map: [UInt32: [UInt32]]) -> [UInt32] {
        guard text.contains(where: { $0 >= 0x80 && map[$0] != nil }) else { return text }
        var out = [UInt32]()
        out.reserveCapacity(text.count)
        for c in text {
            if c >= 0x80, let m = map[c] { out += m } else { out.append(c) }
        }
        return out
    }

    private func uncurlQuotes(_ text: [UInt32]) -> [UInt32] {
        text.map { c in
            c == 0x02BC || (0x2018...0x201B).contains(c) ? 0x27 : (0x201C...0x201F).contains(c) ? 0x22 : c
        }
    }

    private func fixLineBreaks(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(where: { $0 == 0x0D || $0 == 0x2028 || $0 == 0x2029 || $0 == 0x85 }) else { return text }
        var out = [UInt32]()
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == 0x0D, i + 1 < text.count, text[i + 1] == 0x0A {
                out.append(0x0A)
                i += 2
                continue
            }
            out.append(c == 0x0D || c == 0x2028 || c == 0x2029 || c == 0x85 ? 0x0A : c)
            i += 1
        }
        return out
    }

    /// `\x1b\[((?:\d|;)*)([a-zA-Z])` removed; `\d` is Unicode `Nd` as in Python's `re`.
    private func removeTerminalEscapes(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(0x1B) else { return text }
        func isDecimal(_ c: UInt32) -> Bool {
            c < 0x80 ? (0x30...0x39).contains(c) : Unicode.Scalar(c)?.properties.numericType == .decimal
        }
        func isASCIILetter(_ c: UInt32) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
        var out = [UInt32]()
        var i = 0
        while i < text.count {
            if text[i] == 0x1B, i + 1 < text.count, text[i + 1] == 0x5B {
                var j = i + 2
                while j < text.count, text[j] == 0x3B || isDecimal(text[j]) { j += 1 }
                if j < text.count, isASCIILetter(text[j]) {
                    i = j + 1
                    continue
                }
            }
            out.append(text[i])
            i += 1
        }
        return out
    }

    /// `unicodedata.normalize("NFC", text)`; code points below U+0300 are already NFC and never compose.
    /// Known difference from Python 3.11 (found by a 165 755-string comparison): the canonical reordering after
    /// decomposing U+0F73/U+0F75/U+0F81 next to a mark of higher combining class.
    static func nfc(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(where: { $0 >= 0x300 }) else { return text }
        let s = String(String.UnicodeScalarView(text.compactMap(Unicode.Scalar.init)))
        return UTF8Decoding.replacing(s._nfcCodeUnits)
    }
}
