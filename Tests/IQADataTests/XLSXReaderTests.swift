import Foundation
import Testing
@testable import IQAData

@Suite("Native .xlsx reader")
struct XLSXReaderTests {
    @Test("shared strings with rich-text runs, inline strings, str/b/e/n cells, missing cells and refs match openpyxl")
    func goodWorkbook() throws {
        // Reference values: openpyxl on the same file (printed by Scripts/fixtures_data.py); B5 is a formula,
        // whose cached value we return where openpyxl (without data_only) returns the formula text.
        let table = try XLSXReader.read(Fixtures.url("good.xlsx"))   // first sheet in the workbook = "Notes"
        #expect(table.header == ["note"])
        let labels = try XLSXReader.read(Fixtures.url("good.xlsx"), sheet: "Labels")
        #expect(labels.header == ["Image", "Prompt", "MOS", "Flag"])
        #expect(labels.rows.map(\.line) == [2, 3, 5, 7])   // row 6 has only empty cells
        #expect(labels.rows[0].fields == ["cat_1_2.jpg", "a cat, wearing a hat & coat", "2.7934105045636524", "TRUE"])
        #expect(labels.rows[1].fields == ["dog_3_4.jpg", "a dog on a bike", "1E-3", ""])
        #expect(labels.rows[2].fields == ["emu_5_6.jpg", "an emu", "4", "FALSE"])
        #expect(labels.rows[3].fields == ["fox_7_8.jpg", "a fox", "#N/A", ""])
    }

    @Test("cell references map to columns (A→0, Z→25, AA→26, XFD→16383)")
    func references() {
        #expect(SheetHandler.column(ofReference: "A1") == 0)
        #expect(SheetHandler.column(ofReference: "Z9") == 25)
        #expect(SheetHandler.column(ofReference: "AA10") == 26)
        #expect(SheetHandler.column(ofReference: "XFD1") == 16383)
        #expect(SheetHandler.column(ofReference: "12") == nil)
        #expect(XLSXReader.columnName(26) == "AA")
        #expect(XLSXReader.resolve(target: "../xl/worksheets/s.xml") == "xl/worksheets/s.xml")
    }

    @Test("truncated, non-zip, sheet-less and bad-XML workbooks give errors naming the file and the problem")
    func malformed() throws {
        for (name, needle) in [("truncated.xlsx", "not a zip"), ("notazip.xlsx", "not a zip"),
                               ("missingsheet.xlsx", "missing part 'xl/worksheets/data.xml'"),
                               ("badxml.xlsx", "xl/worksheets/data.xml: malformed XML")] {
            let e = try Fixtures.dataError { _ = try XLSXReader.read(Fixtures.url(name), sheet: "Labels") }
            guard case .badWorkbook = e else { Issue.record("\(name): wrong case \(e)"); continue }
            #expect(e.localizedDescription.contains(name), "\(e.localizedDescription)")
            #expect(e.localizedDescription.contains(needle), "\(name): \(e.localizedDescription)")
        }
        let e = try Fixtures.dataError { _ = try XLSXReader.read(Fixtures.url("good.xlsx"), sheet: "Nope") }
        #expect(e.localizedDescription.contains("no sheet named 'Nope'"))
    }

    @Test("truncated or mismatched XML is caught even where XMLParser.parse() reports success")
    func brokenXML() throws {
        for text in ["<a><b>", "<a", "", "<a><b></a></b>", "<a><c></b></a>"] {
            let e = try Fixtures.dataError {
                try parseXML(Data(text.utf8), handler: RelationshipsHandler(), file: "w.xlsx", part: "p.xml")
            }
            #expect(e.localizedDescription.hasPrefix("w.xlsx: not a readable .xlsx workbook: p.xml: malformed XML"), "\(text)")
        }
        try parseXML(Data("<a><b/></a>".utf8), handler: RelationshipsHandler(), file: "w.xlsx", part: "p.xml")
    }

    @Test("a workbook used as a generic table reports a non-numeric score with its sheet row and column")
    func workbookAsTable() throws {
        var spec = DatasetSpec.csv(CSVColumns(image: "Image", prompt: "Prompt", scores: ["MOS"]))
        spec.sheet = "Labels"
        let e = try Fixtures.dataError { _ = try DatasetLoader.load(spec: spec, labels: Fixtures.url("good.xlsx")) }
        guard case let .badRows(_, issues, total) = e else { Issue.record("wrong case \(e)"); return }
        #expect(total == 1)
        #expect(issues.first?.line == 7)
        #expect(issues.first?.column == "MOS")
        #expect(e.localizedDescription.contains("good.xlsx:7: column 'MOS': '#N/A' is not a number"))
    }
}
