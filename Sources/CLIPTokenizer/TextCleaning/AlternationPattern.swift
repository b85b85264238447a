/// A loop-free regular expression, flattened into ordered alternatives of single-character atoms.
///
/// `Scripts/fixtures_tokenizer.py` parses ftfy's regexes (`BADNESS_RE`, `ALTERED_UTF8_RE`, `LOSSY_UTF8_RE`) with
/// Python's own `re` parser and expands every branch and optional item in backtracking order, so "the first
/// alternative that matches at a position" is exactly the match Python's `re` finds there. Matching runs over
/// code points (`[UInt32]`); byte patterns are matched over bytes widened to `UInt32`.
///
/// ```swift
/// let bad = try AlternationPattern(spec: tables.badness, file: "ftfy_tables.json", classes: classes)
/// bad.firstMatch(in: Array("Ã©".unicodeScalars.map(\.value)))   // 0..<2
/// ```
struct AlternationPattern: Sendable {
    /// One position of an alternative.
    struct Atom: Sendable {
        enum Kind: Sendable { case set, any, begin }
        let kind: Kind
        let members: CodePointSet
        let negated: Bool
        let space: Bool
        let word: Bool
        let classes: PythonCharacterClasses

        init(spec: FTFYTables.Atom, file: String, classes: PythonCharacterClasses) throws {
            self.classes = classes
            switch spec.kind {
            case "set": kind = .set
            case "any": kind = .any
            case "begin": kind = .begin
            default: throw TokenizerError.resourceCorrupt(file: file, line: nil, reason: "unknown atom kind '\(spec.kind)'")
            }
            members = try CodePointSet(ranges: spec.ranges ?? [], file: file)
            negated = spec.negated ?? false
            let categories = spec.categories ?? []
            for c in categories where c != "space" && c != "word" {
                throw TokenizerError.resourceCorrupt(file: file, line: nil, reason: "unsupported class category '\(c)'")
            }
            space = categories.contains("space")
            word = categories.contains("word")
        }

        /// Whether this (character-consuming) atom accepts code point `c`.
        @inline(__always)
        func accepts(_ c: UInt32) -> Bool {
            switch kind {
            case .any: return c != 0x0A
            case .begin: return false
            case .set:
                var hit = members.contains(c)
                if !hit && space { hit = classes.isPythonSpace(c) }
                if !hit && word { hit = classes.isPythonWord(c) }
                return hit != negated
            }
        }
    }

    let alternatives: [[Atom]]

    init(spec: [[FTFYTables.Atom]], file: String, classes: PythonCharacterClasses) throws {
        alternatives = try spec.map { try $0.map { try Atom(spec: $0, file: file, classes: classes) } }
    }

    /// Length of the match of the first matching alternative at `start`, or nil.
    func matchLength(in text: [UInt32], at start: Int) -> Int? {
        alternativeLoop: for alternative in alternatives {
            var p = start
            for atom in alternative {
                if atom.kind == .begin {
                    if p != 0 { continue alternativeLoop }
                    continue
                }
                guard p < text.count, atom.accepts(text[p]) else { continue alternativeLoop }
                p += 1
            }
            return p - start
        }
        return nil
    }

    /// The leftmost match at or after `from` (Python's `pattern.search`).
    func firstMatch(in text: [UInt32], from: Int = 0) -> Range<Int>? {
        var i = from
        while i < text.count {
            if let n = matchLength(in: text, at: i) { return i..<(i + n) }
            i += 1
        }
        return nil
    }

    /// Python's `pattern.sub(function, text)` for patterns that never match the empty string.
    func replacingMatches(in text: [UInt32], _ replacement: (ArraySlice<UInt32>) -> [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if let n = matchLength(in: text, at: i), n > 0 {
                out.append(contentsOf: replacement(text[i..<(i + n)]))
                i += n
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}
