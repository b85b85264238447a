import Foundation

/// A JSON value whose objects keep their key order (responses read `quality`, `alignment`, then `model`), rendered
/// by ``text``. Floats print as the shortest text that reads back to the same `Float`, so a served score equals
/// the model's value bit for bit.
///
/// ```swift
/// let v: JSONValue = ["quality": .float(0.71), "model": ["name": "m.safetensors"]]
/// print(v.text)   // {"quality":0.71,"model":{"name":"m.safetensors"}}
/// ```
public indirect enum JSONValue: Sendable, ExpressibleByDictionaryLiteral, ExpressibleByStringLiteral {
    case null
    case bool(Bool)
    case number(Double)
    case float(Float)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
    public init(stringLiteral value: String) { self = .string(value) }

    /// An object from an unordered dictionary (keys sorted).
    public static func object(_ dictionary: [String: JSONValue]) -> JSONValue {
        .object(dictionary.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// Compact JSON text.
    public var text: String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(d):
            if !d.isFinite { out += "null" } else if d == d.rounded(), abs(d) < 1e15 { out += String(Int64(d)) } else { out += "\(d)" }
        case let .float(f): out += f.isFinite ? "\(f)" : "null"
        case let .string(s): out += Self.quoted(s)
        case let .array(items):
            out += "["
            for (i, item) in items.enumerated() { if i > 0 { out += "," }; item.write(into: &out) }
            out += "]"
        case let .object(pairs):
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += "," }
                out += Self.quoted(key) + ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    /// A JSON string literal with the escapes RFC 8259 requires.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
