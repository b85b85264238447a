import Foundation

/// One data row of a label table: its cells as text and the 1-based line (CSV: the physical line the record
/// starts on) or sheet row it came from, for error messages.
public struct TableRow: Sendable, Equatable {
    public let line: Int
    public let fields: [String]

    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }
}

/// A label file read as text: the header row and the data rows. Both readers (``CSVParser`` and
/// ``XLSXReader``) produce one; ``DatasetLoader`` turns it into typed ``Sample``s by column name.
///
/// ```swift
/// let table = try CSVParser.parse(contentsOf: url)
/// let mos = try table.columnIndex("mos_quality")
/// print(table.rows[0].fields[mos])
/// ```
public struct LabelTable: Sendable, Equatable {
    /// The file the table was read from (for error messages).
    public let file: String
    public let header: [String]
    public let rows: [TableRow]
    /// CSV lines whose unquoted fields hold a quote, read literally (see ``CSVParser``); empty for workbooks.
    public let literalQuoteLines: [Int]

    public init(file: String, header: [String], rows: [TableRow], literalQuoteLines: [Int] = []) {
        self.file = file
        self.header = header
        self.rows = rows
        self.literalQuoteLines = literalQuoteLines
    }

    /// Index of the column named `name` (exact match, then ignoring case and surrounding spaces).
    public func columnIndex(_ name: String) throws -> Int {
        if let i = index(of: name) { return i }
        throw DataError.missingColumns(file: file, columns: [name], header: header)
    }

    /// Indices of several columns; one error naming all that are missing.
    public func columnIndices(_ names: [String]) throws -> [Int] {
        let found = names.map { index(of: $0) }
        let missing = zip(names, found).filter { $0.1 == nil }.map(\.0)
        if !missing.isEmpty { throw DataError.missingColumns(file: file, columns: missing, header: header) }
        return found.compactMap { $0 }
    }

    private func index(of name: String) -> Int? {
        if let i = header.firstIndex(of: name) { return i }
        let key = name.trimmingCharacters(in: .whitespaces).lowercased()
        return header.firstIndex { $0.trimmingCharacters(in: .whitespaces).lowercased() == key }
    }
}

extension LabelTable {
    /// The values of two numeric columns, row by row — e.g. predictions and MOS for a correlation. Every cell must
    /// hold a finite number; one ``DataError/badRows(file:issues:total:)`` lists the cells that do not (file, line,
    /// column), a missing column is ``DataError/missingColumns(file:columns:header:)``.
    ///
    /// ```swift
    /// let (predicted, mos) = try CSVParser.parse(contentsOf: url).numericColumns("pred", "mos")
    /// ```
    public func numericColumns(_ first: String, _ second: String) throws -> (first: [Double], second: [Double]) {
        let indices = try columnIndices([first, second])
        var issues = IssueCollector(file: file)
        var a: [Double] = [], b: [Double] = []
        for row in rows {
            var values: [Double] = [], problems: [(column: String, message: String)] = []
            for (name, index) in zip([first, second], indices) {
                let text = index < row.fields.count ? row.fields[index].trimmingCharacters(in: .whitespaces) : ""
                if let v = Double(text), v.isFinite { values.append(v); continue }
                problems.append((name, text.isEmpty ? "missing value" : "'\(text)' is not a finite number"))
            }
            if problems.count == 1 {
                issues.add(line: row.line, column: problems[0].column, problems[0].message)
            } else if !problems.isEmpty {
                issues.add(line: row.line, problems.map { "column '\($0.column)': \($0.message)" }.joined(separator: "; "))
            } else {
                a.append(values[0]); b.append(values[1])
            }
        }
        try issues.throwIfAny()
        return (a, b)
    }
}
