import Foundation
import Testing
@testable import Archive

@Suite("JSON duplicate keys and file problems in words")
struct FileSafetyTests {
    @Test("a key given twice in one object is found, at any depth and after unescaping")
    func duplicates() {
        #expect(JSONText.duplicateKey(in: Data(#"{"a": 1, "a": 2}"#.utf8)) == "a")
        #expect(JSONText.duplicateKey(in: Data(#"{"x": [{"b": {"c": 1, "c": [2]}}]}"#.utf8)) == "c")
        #expect(JSONText.duplicateKey(in: Data(#"{"caf\u00e9": 1, "café": 2}"#.utf8)) == "café")
        #expect(JSONText.duplicateKey(in: Data(#"{"\ud83d\ude00": 1, "😀": 2}"#.utf8)) == "😀")
    }

    @Test("the same key in different objects, and malformed JSON, are not duplicates")
    func notDuplicates() {
        #expect(JSONText.duplicateKey(in: Data(#"{"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}], "s": "{\"a\":1,\"a\":2}"}"#.utf8)) == nil)
        #expect(JSONText.duplicateKey(in: Data(#"{"a": 1, "b""#.utf8)) == nil)
        #expect(JSONText.duplicateKey(in: Data(String(repeating: "[", count: 100_000).utf8)) == nil)
    }

    @Test("a folder, a device and a missing path are described in words, and unwritable destinations are found before writing")
    func fileProblems() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("filesafety-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(FileProblem.readProblem(folder) == "is a folder, not a file")
        #expect(FileProblem.readProblem(URL(fileURLWithPath: "/dev/null")) == "is not a regular file (a device, pipe or socket)")
        #expect(FileProblem.readProblem(URL(fileURLWithPath: "/dev/null"), regularFileOnly: false) == nil)
        #expect(FileProblem.readProblem(folder.appendingPathComponent("nope")) == "no such file or directory")
        #expect(FileProblem.writeProblem(folder) == "is a folder; give a file name")
        #expect(FileProblem.writeProblem(folder.appendingPathComponent("missing/out.csv"))?.contains("does not exist") == true)
        #expect(FileProblem.writeProblem(folder.appendingPathComponent("out.csv")) == nil)
        // Foundation's own errors come back without domains or codes.
        do { _ = try Data(contentsOf: folder.appendingPathComponent("nope")) } catch {
            #expect(!FileProblem.describe(error).contains("NSCocoaErrorDomain"))
            #expect(FileProblem.describe(error).contains("no such file"))
        }
    }
}
