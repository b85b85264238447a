import Archive
import Foundation

/// Prompts stored one per line in a UTF-8 text file (the input of `ipiqa tokenize --file`), and the JSON Lines
/// form of token rows it prints.
///
/// Lines are split at `\n`; a trailing `\r` (CRLF files) is dropped, and so is the empty piece after a final
/// newline. Empty lines in between are kept as empty prompts, so output line *i* belongs to input line *i*.
///
/// ```swift
/// let prompts = try PromptFile.lines(of: URL(fileURLWithPath: "prompts.txt"))
/// for row in try tokenizer.tokenize(prompts) { print(PromptFile.jsonLine(row)) }
/// ```
public enum PromptFile {
    /// The prompts of the file at `url`.
    public static func lines(of url: URL) throws -> [String] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.promptFile(path: url.path, line: nil,
                                            reason: "cannot read: \(FileProblem.readProblem(url, regularFileOnly: false) ?? FileProblem.describe(error))")
        }
        return try lines(in: data, path: url.path)
    }

    /// The prompts of `data`; `path` names the source in errors.
    public static func lines(in data: Data, path: String) throws -> [String] {
        var pieces = [UInt8](data).split(separator: 0x0A, omittingEmptySubsequences: false)
        if pieces.last?.isEmpty == true { pieces.removeLast() }
        return try pieces.enumerated().map { n, piece in
            var bytes = Array(piece)
            if bytes.last == 0x0D { bytes.removeLast() }
            guard let line = String(validating: bytes, as: UTF8.self) else {
                throw TokenizerError.promptFile(path: path, line: n + 1, reason: "line is not valid UTF-8")
            }
            return line
        }
    }

    /// `[49406,320,...]`: one row as a JSON array.
    public static func jsonLine(_ row: [Int32]) -> String {
        var bytes: [UInt8] = []
        appendJSONLine(row, to: &bytes)
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }

    /// Appends `[49406,320,...]\n` to `out` (the fast path of `ipiqa tokenize`).
    public static func appendJSONLine(_ row: [Int32], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        var digits = [UInt8](repeating: 0, count: 11)
        for (i, id) in row.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if id < 0 { out.append(UInt8(ascii: "-")) }
            var v = id.magnitude
            var k = digits.count
            repeat {
                k -= 1
                digits[k] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v > 0
            out.append(contentsOf: digits[k...])
        }
        out.append(contentsOf: [UInt8(ascii: "]"), UInt8(ascii: "\n")])
    }
}
