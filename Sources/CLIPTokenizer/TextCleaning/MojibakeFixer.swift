/// Port of ftfy 6.3 `fix_encoding` (ftfy/__init__.py `_fix_encoding_one_step_and_explain`, ftfy/fixes.py
/// `restore_byte_a0`, `replace_lossy_sequences`, `decode_inconsistent_utf8`, `fix_c1_controls`): detects UTF-8 text
/// that was decoded as a single-byte encoding ("mojibake", `CafÃ©`) and re-decodes it, repeating until stable.
///
/// One step: if the text is not ASCII and `is_bad` (ftfy's badness regex matches), try each encoding of
/// `CHARMAP_ENCODINGS` in order; the first one that can encode the text and whose bytes (after restoring spaces
/// that were byte A0, and marking bytes lost as U+FFFD) decode as UTF-8 (or ftfy's `utf-8-variants`) wins.
/// Otherwise fix mojibake embedded in otherwise good text (`UTF8_DETECTOR_RE` spans that are bad on their own),
/// then try Latin-1 → strict windows-1252, then map C1 controls to windows-1252.
///
/// The explanation bookkeeping of ftfy is not ported (only the fixed text is needed).
///
/// ```swift
/// let fixer = try MojibakeFixer(tables: .shared())
/// fixer.fixEncoding(Array("CafÃ©".unicodeScalars.map(\.value)))   // "Café"
/// ```
struct MojibakeFixer: Sendable {
    let tables: FTFYTables

    /// ftfy `badness.is_bad`.
    func isBad(_ text: [UInt32]) -> Bool { tables.badness.firstMatch(in: text) != nil }

    /// ftfy `fix_encoding` (default configuration).
    func fixEncoding(_ text: [UInt32]) -> [UInt32] {
        var text = text
        while true {
            let next = oneStep(text)
            if next == text { return text }
            text = next
        }
    }

    private func oneStep(_ text: [UInt32]) -> [UInt32] {
        if text.isEmpty || text.allSatisfy({ $0 < 0x80 }) || !isBad(text) { return text }
        var latin1Possible = false
        for codec in tables.charmaps {
            guard var bytes = codec.encode(text) else { continue }
            if codec.name == "latin-1" { latin1Possible = true }
            if codec.name != "macroman", tables.alteredUTF8.firstMatch(in: bytes.map(UInt32.init)) != nil {
                bytes = restoreByteA0(bytes)
            }
            if codec.isSloppy { bytes = replaceLossySequences(bytes) }
            let decoded = bytes.contains(0xED) || bytes.contains(0xC0) ? UTF8Decoding.variants(bytes) : UTF8Decoding.strict(bytes)
            if let decoded { return decoded }
        }
        if utf8DetectorMatch(in: text, from: 0) != nil {
            let fixed = decodeInconsistentUTF8(text)
            if fixed != text { return fixed }
        }
        // ftfy then checks `"windows-1252" in possible_1byte_encodings`, which never holds (the list names
        // "sloppy-windows-1252"), so Latin-1 → strict windows-1252 is always tried.
        if latin1Possible {
            var fixed = [UInt32]()
            fixed.reserveCapacity(text.count)
            var ok = true
            for c in text {
                if c >= 0x80 && c <= 0xFF {
                    guard let d = tables.strictWindows1252High[Int(c - 0x80)] else { ok = false; break }
                    fixed.append(d)
                } else {
                    fixed.append(c)
                }
            }
            if ok, fixed != text { return fixed }
        }
        if text.contains(where: { $0 >= 0x80 && $0 <= 0x9F }) { return fixC1Controls(text) }
        return text
    }

    /// ftfy `fixes.fix_c1_controls`: U+0080...U+009F → their sloppy windows-1252 characters.
    func fixC1Controls(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(where: { $0 >= 0x80 && $0 <= 0x9F }) else { return text }
        return text.map { $0 >= 0x80 && $0 <= 0x9F ? tables.sloppyWindows1252.decode(UInt8($0)) : $0 }
    }

    /// ftfy `fixes.restore_byte_a0`: `C3 20` → `C3 A0 20` unless followed by ` |quele|quela|quilo|s `, then spaces
    /// inside `ALTERED_UTF8_RE` matches → A0.
    func restoreByteA0(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + 4)
        var i = 0
        let exceptions: [[UInt8]] = [[0x20], Array("quele".utf8), Array("quela".utf8), Array("quilo".utf8), Array("s ".utf8)]
        while i < bytes.count {
            if bytes[i] == 0xC3, i + 1 < bytes.count, bytes[i + 1] == 0x20 {
                let rest = bytes[(i + 2)...]
                if !exceptions.contains(where: { rest.starts(with: $0) }) {
                    out += [0xC3, 0xA0, 0x20]
                    i += 2
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        let restored = tables.alteredUTF8.replacingMatches(in: out.map(UInt32.init)) { m in m.map { $0 == 0x20 ? 0xA0 : $0 } }
        return restored.map { UInt8($0) }
    }

    /// ftfy `fixes.replace_lossy_sequences`: UTF-8-like sequences with bytes lost as 1A or `?` → `EF BF BD`.
    func replaceLossySequences(_ bytes: [UInt8]) -> [UInt8] {
        let replaced = tables.lossyUTF8.replacingMatches(in: bytes.map(UInt32.init)) { _ in [0xEF, 0xBF, 0xBD] }
        return replaced.map { UInt8($0) }
    }

    /// `UTF8_DETECTOR_RE`: `(?<![cont_strict])([first2][cont]|[first3][cont]{2}|[first4][cont]{3})+`, searched
    /// from `from`; returns the leftmost match.
    func utf8DetectorMatch(in text: [UInt32], from: Int) -> Range<Int>? {
        var i = from
        while i < text.count {
            if i == 0 || !tables.utf8ContinuationStrict.accepts(text[i - 1]) {
                var p = i
                while p < text.count {
                    let c = text[p]
                    var units = 0
                    if tables.utf8FirstOf2.accepts(c), continuations(text, p + 1, 1) {
                        units = 2
                    } else if tables.utf8FirstOf3.accepts(c), continuations(text, p + 1, 2) {
                        units = 3
                    } else if tables.utf8FirstOf4.accepts(c), continuations(text, p + 1, 3) {
                        units = 4
                    }
                    if units == 0 { break }
                    p += units
                }
                if p > i { return i..<p }
            }
            i += 1
        }
        return nil
    }

    private func continuations(_ text: [UInt32], _ start: Int, _ count: Int) -> Bool {
        guard start + count <= text.count else { return false }
        for k in start..<(start + count) where !tables.utf8Continuation.accepts(text[k]) { return false }
        return true
    }

    /// ftfy `fixes.decode_inconsistent_utf8`: fixes each detector span that is shorter than the text and bad.
    func decodeInconsistentUTF8(_ text: [UInt32]) -> [UInt32] {
        var out = [UInt32]()
        out.reserveCapacity(text.count)
        var pos = 0
        while let m = utf8DetectorMatch(in: text, from: pos) {
            out += text[pos..<m.lowerBound]
            let sub = Array(text[m])
            out += sub.count < text.count && isBad(sub) ? fixEncoding(sub) : sub
            pos = m.upperBound
        }
        out += text[pos...]
        return out
    }
}
