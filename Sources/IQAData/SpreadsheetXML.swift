import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// SAX handlers for the SpreadsheetML parts of an `.xlsx` workbook (ECMA-376 Part 1, §18): the workbook's
/// sheet list, package relationships, the shared-string table and a worksheet's cells. Element names are
/// compared without their namespace prefix, so `x:row` and `row` both work.

/// A cell as stored: its type attribute `t` and its text (the `<v>` value, or the inline string).
struct RawCell {
    enum Kind { case sharedString, string, inlineString, number, boolean, error }
    var kind: Kind
    var text: String
}

/// A worksheet row: its 1-based row number and cells by 0-based column index.
struct RawRow {
    var number: Int
    var cells: [Int: RawCell]
}

/// Strips a namespace prefix: "x:row" → "row".
@inline(__always) func local(_ name: String) -> Substring {
    if let colon = name.lastIndex(of: ":") { return name[name.index(after: colon)...] }
    return name[...]
}

/// Receives the SAX events of one workbook part (local element names), from ``XMLDriver``.
protocol SpreadsheetPartHandler: AnyObject {
    /// A precise problem found by the handler (parsing stops).
    var problem: String? { get set }
    func start(_ name: Substring, attributes: [String: String], parser: XMLParser)
    func end(_ name: Substring)
    func text(_ string: String)
}

extension SpreadsheetPartHandler {
    func end(_ name: Substring) {}
    func text(_ string: String) {}
}

/// The XMLParser delegate: forwards events to a handler and checks well-formedness itself, because
/// swift-corelibs-foundation's `XMLParser.parse()` can return true for truncated or mismatched documents.
final class XMLDriver: NSObject, XMLParserDelegate {
    let handler: SpreadsheetPartHandler
    private(set) var depth = 0
    private(set) var elements = 0
    private(set) var errorLine: Int?

    init(_ handler: SpreadsheetPartHandler) { self.handler = handler }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes: [String: String] = [:]) {
        depth += 1
        elements += 1
        handler.start(local(elementName), attributes: attributes, parser: parser)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        depth -= 1
        handler.end(local(elementName))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { handler.text(string) }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        if errorLine == nil { errorLine = parser.lineNumber }
    }
}

/// Parses one part with `handler`; any problem becomes a ``DataError/badWorkbook(file:reason:)`` naming the part.
func parseXML(_ data: Data, handler: SpreadsheetPartHandler, file: String, part: String) throws {
    let parser = XMLParser(data: data)
    parser.shouldProcessNamespaces = false
    parser.shouldResolveExternalEntities = false
    let driver = XMLDriver(handler)
    parser.delegate = driver
    let ok = parser.parse()
    if let problem = handler.problem {
        throw DataError.badWorkbook(file: file, reason: "\(part): \(problem)")
    }
    if !ok || parser.parserError != nil || driver.errorLine != nil {
        let line = driver.errorLine ?? parser.lineNumber
        let code = (parser.parserError as NSError?).map { " (XMLParser error \($0.code))" } ?? ""
        throw DataError.badWorkbook(file: file, reason: "\(part): malformed XML at line \(line)\(code)")
    }
    if driver.elements == 0 || driver.depth != 0 {
        throw DataError.badWorkbook(file: file, reason: "\(part): malformed XML (\(driver.elements == 0 ? "no root element" : "\(driver.depth) unclosed element(s); truncated?"))")
    }
}

/// `xl/workbook.xml`: the sheets in order, each with its name and relationship id.
final class WorkbookHandler: SpreadsheetPartHandler {
    var sheets: [(name: String, relationship: String)] = []
    var problem: String?

    func start(_ name: Substring, attributes: [String: String], parser: XMLParser) {
        guard name == "sheet" else { return }
        let rid = attributes.first { local($0.key) == "id" }?.value
        sheets.append((attributes["name"] ?? "", rid ?? ""))
    }
}

/// `xl/_rels/workbook.xml.rels`: relationship id → target path.
final class RelationshipsHandler: SpreadsheetPartHandler {
    var targets: [String: String] = [:]
    var problem: String?

    func start(_ name: Substring, attributes: [String: String], parser: XMLParser) {
        guard name == "Relationship", let id = attributes["Id"], let target = attributes["Target"] else { return }
        targets[id] = target
    }
}

/// `xl/sharedStrings.xml`: each `<si>` is one string, either a single `<t>` or rich-text runs `<r><t>…</t></r>`
/// whose texts are concatenated; phonetic runs (`<rPh>`) are not part of the value and are skipped.
final class SharedStringsHandler: SpreadsheetPartHandler {
    var strings: [String] = []
    var problem: String?
    private var current: String?
    private var inText = false
    private var phoneticDepth = 0

    func start(_ name: Substring, attributes: [String: String], parser: XMLParser) {
        switch name {
        case "si": current = ""
        case "rPh": phoneticDepth += 1
        case "t": inText = phoneticDepth == 0 && current != nil
        default: break
        }
    }

    func end(_ name: Substring) {
        switch name {
        case "si":
            strings.append(current ?? "")
            current = nil
        case "rPh": phoneticDepth -= 1
        case "t": inText = false
        default: break
        }
    }

    func text(_ string: String) {
        if inText { current? += string }
    }
}

/// A worksheet: rows and cells. A cell's column comes from its reference (`C12` → column 2); a cell without
/// a reference follows the previous one, a row without `r` follows the previous row. Cells of type `s` keep
/// the shared-string index as text (resolved by ``XLSXReader``).
final class SheetHandler: SpreadsheetPartHandler {
    var rows: [RawRow] = []
    var problem: String?
    private var row: RawRow?
    private var cell: RawCell?
    private var cellColumn = 0
    private var lastColumn = -1
    private var capture = false
    private var inInline = false
    private var phoneticDepth = 0

    func start(_ name: Substring, attributes: [String: String], parser: XMLParser) {
        switch name {
        case "row":
            let number = attributes["r"].flatMap { Int($0) } ?? ((rows.last?.number ?? 0) + 1)
            row = RawRow(number: number, cells: [:])
            lastColumn = -1
        case "c":
            if let ref = attributes["r"] {
                guard let col = SheetHandler.column(ofReference: ref) else {
                    problem = "row \(row?.number ?? 0): bad cell reference '\(ref)'"
                    parser.abortParsing()
                    return
                }
                cellColumn = col
            } else {
                cellColumn = lastColumn + 1
            }
            lastColumn = cellColumn
            let kind: RawCell.Kind
            switch attributes["t"] ?? "n" {
            case "s": kind = .sharedString
            case "str": kind = .string
            case "inlineStr": kind = .inlineString
            case "b": kind = .boolean
            case "e": kind = .error
            default: kind = .number
            }
            cell = RawCell(kind: kind, text: "")
        case "v": capture = cell != nil && cell?.kind != .inlineString
        case "is": inInline = true
        case "rPh": phoneticDepth += 1
        case "t": capture = inInline && phoneticDepth == 0 && cell != nil
        default: break
        }
    }

    func end(_ name: Substring) {
        switch name {
        case "row":
            if let row { rows.append(row) }
            row = nil
        case "c":
            // A cell with no value (only a style) is a missing cell; string cells may be empty.
            if let cell, !cell.text.isEmpty || cell.kind == .inlineString || cell.kind == .string {
                row?.cells[cellColumn] = cell
            }
            cell = nil
        case "v", "t": capture = false
        case "is": inInline = false
        case "rPh": phoneticDepth -= 1
        default: break
        }
    }

    func text(_ string: String) {
        if capture { cell?.text += string }
    }

    /// "A1" → 0, "Z9" → 25, "AA10" → 26; nil if the reference has no column letters.
    static func column(ofReference ref: String) -> Int? {
        var col = 0
        var letters = 0
        for u in ref.unicodeScalars {
            let v = u.value
            if v >= 65 && v <= 90 { col = col * 26 + Int(v - 64) } else if v >= 97 && v <= 122 { col = col * 26 + Int(v - 96) } else { break }
            letters += 1
            if letters > 3 { return nil }   // XFD (16,384 columns) is the largest
        }
        return letters == 0 ? nil : col - 1
    }
}
