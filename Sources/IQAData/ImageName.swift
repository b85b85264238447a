import Foundation

/// File-name helpers shared by the group rules and the official split protocols.
enum ImageName {
    /// The name without its extension: "deepai_0_0_0_0.jpg" → "deepai_0_0_0_0". (The official code cuts the
    /// last four characters, `name[:-4]`; for the `.jpg`/`.png` names of both databases that is the same.)
    static func stem(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    /// Python's `int(s)` for the plain decimal strings of file names (optional sign, ASCII digits, surrounding
    /// whitespace allowed, `_` separators not).
    static func pythonInt(_ s: Substring) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "+") }) else { return nil }
        return Int(t)
    }
}

/// AGIQA-1k's generator-independent (main object, second object) code of an image, computed as the official
/// IP-IQA split does: `parts = stem.split('_')`, `code1 = int(parts[1])`, `code2 = int(parts[2])`, and for
/// names starting with `dream`: `code1 += 1 if code1 > 5`, `code2 += 5`. `key` is `"code1_code2"`.
///
/// ```swift
/// try AGIQA1kCode(imageName: "dreamStudio_8_9_1_1.jpg").key   // "9_14"
/// ```
public struct AGIQA1kCode: Hashable, Sendable {
    public let code1: Int
    public let code2: Int

    public init(imageName: String) throws {
        let stem = ImageName.stem(imageName)
        let parts = stem.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count >= 3, var c1 = ImageName.pythonInt(parts[1]), var c2 = ImageName.pythonInt(parts[2]) else {
            throw DataError.badImageName(file: "", name: imageName,
                                         reason: "expected '{generator}_{object}_{object}_…' with integer object codes")
        }
        if stem.hasPrefix("dream") {
            if c1 > 5 { c1 += 1 }
            c2 += 5
        }
        code1 = c1
        code2 = c2
    }

    public var key: String { "\(code1)_\(code2)" }
}
