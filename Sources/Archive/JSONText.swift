import Foundation

/// JSON text pieces written by hand where `JSONEncoder`'s layout is not wanted (safetensors headers, split files, score
/// lines).
public enum JSONText {
    /// A JSON string literal (RFC 8259): `"` and `\` escaped, control characters as escapes, everything else as UTF-8.
    ///
    /// ```swift
    /// JSONText.quoted("a \"b\"\n")   // "\"a \\\"b\\\"\\n\""
    /// ```
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
