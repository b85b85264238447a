import Foundation
import Testing
@testable import CLIPTokenizer

/// `ipiqa tokenize --file` input: one prompt per line, errors naming the line.
@Suite("prompt files")
struct PromptFileTests {
    @Test("lines split at LF, CRLF endings and the final newline are dropped, inner empty lines are kept")
    func splitting() throws {
        let data = Data("a cat\r\n\nthe \u{201C}dog\u{201D}\n".utf8)
        #expect(try PromptFile.lines(in: data, path: "p.txt") == ["a cat", "", "the \u{201C}dog\u{201D}"])
        #expect(try PromptFile.lines(in: Data("no newline".utf8), path: "p.txt") == ["no newline"])
        #expect(try PromptFile.lines(in: Data(), path: "p.txt").isEmpty)
    }

    @Test("an invalid UTF-8 line is an error naming the file and the line number")
    func invalidUTF8() {
        let data = Data([0x61, 0x0A, 0x62, 0xFF, 0x0A])
        #expect(throws: TokenizerError.promptFile(path: "p.txt", line: 2, reason: "line is not valid UTF-8")) {
            try PromptFile.lines(in: data, path: "p.txt")
        }
    }

    @Test("rows print as compact JSON arrays")
    func jsonLine() {
        #expect(PromptFile.jsonLine([49406, 320, 49407, 0]) == "[49406,320,49407,0]")
    }
}
