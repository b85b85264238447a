import Archive
import Foundation

/// Reads one sheet of an Office Open XML workbook (`.xlsx`) natively: the file is a zip (read with
/// ``Archive/ZipArchive``) of XML parts. It follows `xl/workbook.xml` (sheet names → relationship ids) and
/// `xl/_rels/workbook.xml.rels` (ids → part paths) to the sheet, resolves shared strings
/// (`xl/sharedStrings.xml`, rich-text runs concatenated) and converts cells to text:
///
/// | type `t`    | text                                                     |
/// |-------------|----------------------------------------------------------|
/// | `s`         | the shared string at index `<v>`                          |
/// | `str`       | `<v>` (a formula's cached string)                         |
/// | `inlineStr` | the `<is>` text                                           |
/// | `n`/absent  | `<v>` as written (e.g. `2.7934105045636524`; exact digits)|
/// | `b`         | `TRUE` / `FALSE`                                          |
/// | `e`         | the error code, e.g. `#N/A`                               |
///
/// Missing cells become empty strings. The first row is the header; rows are reported with their sheet row
/// numbers. Dates are not converted (label files hold names, prompts and scores).
///
/// ```swift
/// let table = try XLSXReader.read(URL(fileURLWithPath: "AIGC_MOS_Zscore.xlsx"))
/// table.header          // ["Image", "Prompt", "MOS"]
/// table.rows[0].line    // 2
/// ```
public enum XLSXReader {
    /// The most bytes one workbook part may inflate to (AGIQA-1k's sheet is about 200 KB).
    public static let maxPartSize = 256 << 20

    /// Reads the sheet named `sheet`, or the first sheet when nil.
    public static func read(_ url: URL, sheet: String? = nil) throws -> LabelTable {
        let file = url.path
        let zip: ZipArchive
        do { zip = try ZipArchive(url: url) } catch let e as ArchiveError {
            throw DataError.badWorkbook(file: file, reason: e.localizedDescription)
        }
        func part(_ name: String) throws -> Data {
            if let e = zip.entry(named: name), e.uncompressedSize > maxPartSize {
                throw DataError.badWorkbook(file: file, reason: "part '\(name)' declares \(e.uncompressedSize) bytes, more than the \(maxPartSize)-byte limit of a label workbook part")
            }
            do { return try zip.data(named: name) } catch let e as ArchiveError {
                if case .missingEntry = e { throw DataError.badWorkbook(file: file, reason: "missing part '\(name)'") }
                throw DataError.badWorkbook(file: file, reason: e.localizedDescription)
            }
        }

        let workbook = WorkbookHandler()
        try parseXML(try part("xl/workbook.xml"), handler: workbook, file: file, part: "xl/workbook.xml")
        guard !workbook.sheets.isEmpty else { throw DataError.badWorkbook(file: file, reason: "the workbook lists no sheets") }
        let chosen: (name: String, relationship: String)
        if let sheet {
            guard let s = workbook.sheets.first(where: { $0.name == sheet }) else {
                throw DataError.badWorkbook(file: file, reason: "no sheet named '\(sheet)' (sheets: \(workbook.sheets.map { "'\($0.name)'" }.joined(separator: ", ")))")
            }
            chosen = s
        } else {
            chosen = workbook.sheets[0]
        }

        let rels = RelationshipsHandler()
        try parseXML(try part("xl/_rels/workbook.xml.rels"), handler: rels, file: file, part: "xl/_rels/workbook.xml.rels")
        guard let target = rels.targets[chosen.relationship] else {
            throw DataError.badWorkbook(file: file, reason: "sheet '\(chosen.name)' refers to relationship '\(chosen.relationship)', which xl/_rels/workbook.xml.rels does not define")
        }
        let sheetPath = resolve(target: target)

        var shared: [String] = []
        if zip.entry(named: "xl/sharedStrings.xml") != nil {
            let handler = SharedStringsHandler()
            try parseXML(try part("xl/sharedStrings.xml"), handler: handler, file: file, part: "xl/sharedStrings.xml")
            shared = handler.strings
        }

        let sheetHandler = SheetHandler()
        try parseXML(try part(sheetPath), handler: sheetHandler, file: file, part: sheetPath)
        return try table(from: sheetHandler.rows, shared: shared, file: file, sheetName: chosen.name)
    }

    /// A relationship target relative to `xl/` ("worksheets/sheet1.xml") or absolute in the package
    /// ("/xl/worksheets/sheet1.xml") → the zip member name.
    static func resolve(target: String) -> String {
        if target.hasPrefix("/") { return String(target.dropFirst()) }
        var parts = ["xl"]
        for component in target.split(separator: "/") {
            if component == ".." { if !parts.isEmpty { parts.removeLast() } } else if component != "." { parts.append(String(component)) }
        }
        return parts.joined(separator: "/")
    }

    private static func table(from rows: [RawRow], shared: [String], file: String, sheetName: String) throws -> LabelTable {
        guard let headerRow = rows.first else {
            throw DataError.badWorkbook(file: file, reason: "sheet '\(sheetName)' is empty")
        }
        let width = rows.map { ($0.cells.keys.max() ?? -1) + 1 }.max() ?? 0
        func text(_ cell: RawCell, row: Int, column: Int) throws -> String {
            switch cell.kind {
            case .sharedString:
                guard let i = Int(cell.text.trimmingCharacters(in: .whitespaces)), i >= 0, i < shared.count else {
                    throw DataError.badWorkbook(file: file, reason: "sheet '\(sheetName)' row \(row) column \(columnName(column)): shared-string index '\(cell.text)' out of range (\(shared.count) strings)")
                }
                return shared[i]
            case .boolean:
                return cell.text.trimmingCharacters(in: .whitespaces) == "1" ? "TRUE" : "FALSE"
            case .string, .inlineString, .number, .error:
                return cell.text
            }
        }
        func fields(of row: RawRow) throws -> [String] {
            var out = [String](repeating: "", count: width)
            for (column, cell) in row.cells { out[column] = try text(cell, row: row.number, column: column) }
            return out
        }
        var header = try fields(of: headerRow)
        while let last = header.last, last.isEmpty { header.removeLast() }
        var body: [TableRow] = []
        body.reserveCapacity(rows.count - 1)
        for row in rows.dropFirst() {
            let f = try fields(of: row)
            if f.allSatisfy({ $0.isEmpty }) { continue }   // styled but empty rows
            body.append(TableRow(line: row.number, fields: f))
        }
        return LabelTable(file: file, header: header, rows: body)
    }

    /// 0 → "A", 26 → "AA".
    static func columnName(_ index: Int) -> String {
        var n = index + 1
        var s = ""
        while n > 0 {
            let r = (n - 1) % 26
            s = String(UnicodeScalar(UInt8(65 + r))) + s
            n = (n - 1) / 26
        }
        return s
    }
}
