import Archive
import Foundation

/// Formats scores as text, keys in the model's output order:
/// - JSON object: `{"quality": 0.71, "alignment": 0.52}` (or `{"score": x}`), optionally led by `"image": name`;
/// - CSV: header `image,<names…>`, then `name,x,y` (fields quoted per RFC 4180 when needed);
/// - JSON Lines: one JSON object per line.
/// Numbers use the shortest text that reads back to the same Float; non-finite values become `null` / empty.
///
/// ```swift
/// let w = ScoreLineWriter(names: ["quality", "alignment"], format: .csv)
/// print(w.header + w.line(name: "a.png", values: [0.7, 0.5]), terminator: "")
/// ```
public struct ScoreLineWriter: Sendable {
    public let names: [String]
    public let format: ScoreOutputFormat

    public init(names: [String], format: ScoreOutputFormat) {
        self.names = names
        self.format = format
    }

    /// The CSV header line (with newline), empty for JSON Lines.
    public var header: String {
        format == .csv ? (["image"] + names).map(Self.csvField).joined(separator: ",") + "\n" : ""
    }

    /// One output line (with newline) for an image.
    public func line(name: String, values: [Float]) -> String {
        switch format {
        case .csv:
            return ([Self.csvField(name)] + values.map { $0.isFinite ? "\($0)" : "" }).joined(separator: ",") + "\n"
        case .jsonl:
            return Self.jsonObject(names: names, values: values, image: name) + "\n"
        }
    }

    /// `{"image": …, "<name>": value, …}` in the given order (`image` omitted when nil).
    public static func jsonObject(names: [String], values: [Float], image: String? = nil) -> String {
        var parts: [String] = []
        if let image { parts.append("\"image\": " + jsonString(image)) }
        for (n, v) in zip(names, values) { parts.append(jsonString(n) + ": " + (v.isFinite ? "\(v)" : "null")) }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// A JSON string literal with the escapes RFC 8259 requires.
    public static func jsonString(_ s: String) -> String { JSONText.quoted(s) }

    /// An RFC 4180 field: quoted (with doubled quotes) when it holds a comma, quote or line break.
    public static func csvField(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Writes `text` to `url` atomically (temporary file in the same folder, then rename).
    public static func write(_ text: String, to url: URL) throws {
        if let problem = FileProblem.writeProblem(url) { throw ScoringError.output(path: url.path, reason: problem) }
        do { try AtomicFile.write(Data(text.utf8), to: url) } catch {
            throw ScoringError.output(path: url.path, reason: AtomicFile.reason(error))
        }
    }

    /// Checks that `url` can take the output before any scoring: not a folder, in an existing writable folder.
    public static func checkDestination(_ url: URL) throws {
        if let problem = FileProblem.writeProblem(url) { throw ScoringError.output(path: url.path, reason: problem) }
    }
}
