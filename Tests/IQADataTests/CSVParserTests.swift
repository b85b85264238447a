import Foundation
import Testing
@testable import IQAData

@Suite("RFC 4180 CSV parser")
struct CSVParserTests {
    @Test("quoted fields, doubled quotes, quoted CRLF, BOM and blank lines parse as RFC 4180 says")
    func goodFile() throws {
        let table = try CSVParser.parse(contentsOf: Fixtures.url("good.csv"))
        #expect(table.header == ["image", "prompt", "mos", "align"])   // BOM stripped
        #expect(table.rows.map(\.line) == [2, 3, 4, 7])                 // record 4 spans lines 4–5, line 6 blank
        #expect(table.rows[1].fields == ["b_002.jpg", "cats, dogs and \"quotes\"", "2.25", "3"])
        #expect(table.rows[2].fields[1] == "two\r\nlines")
        #expect(table.rows[3].fields == ["d_004.jpg", " spaced ", "  4 ", "0"])   // fields are not trimmed
    }

    @Test("lone LF, lone CR, trailing empty field and missing final newline are accepted")
    func lineEndings() throws {
        let text = "a,b\nx,\ry,\"q\"\n\"z\",w"
        let table = try CSVParser.parse(Data(text.utf8), file: "mem.csv")
        #expect(table.rows.map(\.fields) == [["x", ""], ["y", "q"], ["z", "w"]])
        #expect(table.rows.map(\.line) == [2, 3, 4])
    }

    @Test("every malformed record is reported with its line number in one error")
    func badRecords() throws {
        let e = try Fixtures.dataError { _ = try CSVParser.parse(contentsOf: Fixtures.url("bad.csv")) }
        guard case let .badRows(file, issues, total) = e else { Issue.record("wrong case \(e)"); return }
        #expect(file.hasSuffix("bad.csv"))
        // Parser-level problems only: wrong field count (5), text after a closing quote (8), unterminated (10).
        #expect(issues.map(\.line) == [5, 8, 10])
        #expect(total == 3)
        let message = e.localizedDescription
        #expect(message.contains("bad.csv:5: expected 3 fields"))
        #expect(message.contains("bad.csv:10: unterminated quoted field"))
        #expect(message.contains("bad.csv:8: unexpected character 'x'"))
    }

    @Test("invalid UTF-8 is an error, not garbage; a quote after a closing quote stays an error")
    func encodingAndStrayQuote() throws {
        var bytes = Array("a,b\nok,1\n".utf8)
        bytes += [0x78, 0xFF, 0x2C, 0x31, 0x0A]          // "x\xFF,1\n" on line 3
        bytes += Array("p\"q,2\n".utf8)                   // line 4: literal quote, accepted
        bytes += Array("\"r\"\"s\"t,3\n".utf8)              // line 5: text after the closing quote: ambiguous
        let e = try Fixtures.dataError { _ = try CSVParser.parse(Data(bytes), file: "enc.csv") }
        guard case let .badRows(_, issues, _) = e else { Issue.record("wrong case"); return }
        #expect(issues.map(\.line) == [3, 5])
    }

    @Test("quotes inside unquoted fields are literal text, as Python's csv reads them, and their lines are listed")
    func literalQuotes() throws {
        let text = "name,prompt,mos\n0.png,a cartoon of a dog saying \"I see what you did there\",51.2\n"
            + "1.png,\"quoted, properly\",40\n2.png,say \"\"hi\"\" twice,3\n"
        let table = try CSVParser.parse(Data(text.utf8), file: "aigc.csv")
        // Python: list(csv.reader(io.StringIO(text))) gives exactly these fields.
        #expect(table.rows.map { $0.fields[1] } == ["a cartoon of a dog saying \"I see what you did there\"", "quoted, properly", "say \"\"hi\"\" twice"])
        #expect(table.literalQuoteLines == [2, 4])
    }
}
