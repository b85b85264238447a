import Archive
import Foundation

/// An RFC 4180 CSV reader: fields separated by commas, records by CRLF (LF or a lone CR are accepted too);
/// a field may be quoted with `"`, and inside quotes `""` is a literal quote and commas and line breaks are
/// data. A UTF-8 byte-order mark is skipped; the first record is the header. Lines that are completely empty
/// are skipped (a trailing newline, blank lines between records).
///
/// Every malformed record — a wrong number of fields, an unterminated quote, text after a closing quote,
/// invalid UTF-8 — is reported with its line number, all of them (up to ``DataLimits/maxReportedIssues``)
/// in one ``DataError/badRows(file:issues:total:)``.
///
/// One departure from RFC 4180, as Python's `csv` module and pandas read: a quote inside a field that does NOT start
/// with a quote is literal text (`a cartoon of a dog saying "hi"` → that text, quotes included). Published label files
/// hold such fields (an AIGCIQA2023 CSV has 48 rows of them); their lines are listed in
/// ``LabelTable/literalQuoteLines`` so the loader can say so once. A quote after a closing quote stays an error.
///
/// ```swift
/// let table = try CSVParser.parse(contentsOf: URL(fileURLWithPath: "data.csv"))
/// // "a.jpg,\"cat, dog\",3.5" → fields ["a.jpg", "cat, dog", "3.5"]
/// ```
public enum CSVParser {
    /// Reads and parses the file at `url`.
    public static func parse(contentsOf url: URL) throws -> LabelTable {
        let data: Data
        if let problem = FileProblem.readProblem(url, regularFileOnly: false) { throw DataError.unreadable(file: url.path, reason: problem) }
        do { data = try Data(contentsOf: url) } catch {
            throw DataError.unreadable(file: url.path, reason: FileProblem.describe(error))
        }
        return try parse(data, file: url.path)
    }

    /// Parses CSV bytes; `file` is used in messages.
    public static func parse(_ data: Data, file: String) throws -> LabelTable {
        var issues = IssueCollector(file: file)
        let table = parse(data, file: file, issues: &issues)
        try issues.throwIfAny()
        return table
    }

    /// Parses, recording bad records in `issues` instead of throwing (the loader adds its own issues to the
    /// same list so that one error reports every bad row).
    static func parse(_ data: Data, file: String, issues: inout IssueCollector) -> LabelTable {
        var literalQuoteLines: [Int] = []
        let records = data.withUnsafeBytes { raw in
            splitRecords(raw.bindMemory(to: UInt8.self), issues: &issues, literalQuoteLines: &literalQuoteLines)
        }
        guard let first = records.first else { return LabelTable(file: file, header: [], rows: []) }
        let header = first.fields
        var rows: [TableRow] = []
        rows.reserveCapacity(records.count - 1)
        for record in records.dropFirst() {
            guard record.fields.count == header.count else {
                issues.add(line: record.line, "expected \(header.count) fields (as in the header), found \(record.fields.count)")
                continue
            }
            rows.append(record)
        }
        return LabelTable(file: file, header: header, rows: rows, literalQuoteLines: literalQuoteLines)
    }

    private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")

    /// The record splitter: a state machine over the bytes. Returns well-formed records (with the line they
    /// start on); malformed ones go to `issues`.
    private static func splitRecords(_ b: UnsafeBufferPointer<UInt8>, issues: inout IssueCollector,
                                     literalQuoteLines: inout [Int]) -> [TableRow] {
        let n = b.count
        var i = 0
        if n >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
        var line = 1
        var records: [TableRow] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var recordLine = 1
        var recordBad = false
        var atRecordStart = true

        func finishField() {
            if let s = String(bytes: field, encoding: .utf8) {
                fields.append(s)
            } else {
                if !recordBad { issues.add(line: recordLine, "field \(fields.count + 1) is not valid UTF-8") }
                recordBad = true
                fields.append("")
            }
            field.removeAll(keepingCapacity: true)
        }
        func finishRecord() {
            finishField()
            if !recordBad { records.append(TableRow(line: recordLine, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
            recordBad = false
            atRecordStart = true
        }
        /// Consumes one line break at `i` (CRLF, LF or CR); returns false if there is none.
        func consumeNewline() -> Bool {
            if b[i] == cr {
                i += (i + 1 < n && b[i + 1] == lf) ? 2 : 1
            } else if b[i] == lf {
                i += 1
            } else {
                return false
            }
            line += 1
            return true
        }

        while i < n {
            if atRecordStart {
                recordLine = line
                atRecordStart = false
                // A completely empty line is no record.
                if consumeNewline() { atRecordStart = true; continue }
            }
            // Start of a field.
            if b[i] == quote {
                let openLine = line
                i += 1
                var closed = false
                while i < n {
                    let c = b[i]
                    if c == quote {
                        if i + 1 < n, b[i + 1] == quote { field.append(quote); i += 2; continue }
                        i += 1
                        closed = true
                        break
                    }
                    if c == lf || (c == cr && !(i + 1 < n && b[i + 1] == lf)) { line += 1 }
                    field.append(c)
                    i += 1
                }
                if !closed {
                    issues.add(line: recordLine, "unterminated quoted field (the quote opened on line \(openLine) is never closed)")
                    recordBad = true
                    field.removeAll()
                    fields.removeAll()
                    atRecordStart = true
                    break
                }
                // After the closing quote: a separator, a line break or the end.
                if i >= n { finishRecord(); break }
                if b[i] == comma { finishField(); i += 1; if i >= n { finishRecord() }; continue }
                if consumeNewline() { finishRecord(); continue }
                if !recordBad {
                    issues.add(line: recordLine, "unexpected character '\(String(decoding: [b[i]], as: UTF8.self))' after the closing quote of field \(fields.count + 1)")
                }
                recordBad = true
                // Recover: skip the rest of this physical line.
                while i < n, b[i] != lf, b[i] != cr { i += 1 }
                if i < n { _ = consumeNewline() }
                field.removeAll(); fields.removeAll()
                recordBad = false
                atRecordStart = true
                continue
            }
            // Unquoted field: up to a separator or line break; a quote in it is literal (as Python's csv reads it).
            while i < n, b[i] != comma, b[i] != cr, b[i] != lf {
                if b[i] == quote, literalQuoteLines.last != recordLine { literalQuoteLines.append(recordLine) }
                field.append(b[i])
                i += 1
            }
            if i >= n { finishRecord(); break }
            if b[i] == comma {
                finishField()
                i += 1
                if i >= n { finishRecord() }   // "a,b," at end of file: a last, empty field
                continue
            }
            _ = consumeNewline()
            finishRecord()
        }
        return records
    }
}
