import Foundation
import Imaging
@testable import IQAData
import Testing
import IQATestSupport

@Suite("PretrainCorpus: DiffusionDB layout and CSV readers")
struct PretrainCorpusTests {
    @Test("DiffusionDB layout with the JSON inside or next to each part folder gives the same pairs, in name order",
          arguments: [true, false])
    func diffusionDB(jsonInside: Bool) throws {
        let scratch = try ScratchFolder("ddb")
        defer { scratch.remove() }
        let root = scratch.url
        let expected = try DiffusionDBCorpus.write(at: root, jsonInside: jsonInside)
        let corpus = try PretrainCorpus.load(root)
        #expect(corpus.pairs.map(\.name) == expected.keys.sorted())
        for pair in corpus.pairs {
            #expect(pair.prompt == expected[pair.name])
            #expect(pair.image.path == root.appendingPathComponent(pair.name).path)
        }
        let limited = try PretrainCorpus.load(root, options: .init(maxPairs: 4))
        #expect(limited.pairs.map(\.name) == Array(expected.keys.sorted().prefix(4)))
    }

    @Test("a single part folder and a part JSON file given directly are read too")
    func singlePart() throws {
        let scratch = try ScratchFolder("ddb1")
        defer { scratch.remove() }
        let root = scratch.url
        try DiffusionDBCorpus.write(at: root, parts: 1, perPart: 2, jsonInside: true)
        let part = root.appendingPathComponent("part-000001")
        #expect(try PretrainCorpus.load(part).pairs.map(\.name) == ["0000.png", "0001.png"])
        let json = try PretrainCorpus.load(part.appendingPathComponent("part-000001.json"))
        #expect(json.pairs.map(\.prompt) == ["prompt 0", "prompt 1"])
    }

    @Test("CSV: image paths relative to the CSV's folder (or absolute), quoted prompts, custom column names")
    func csv() throws {
        let scratch = try ScratchFolder("csv")
        defer { scratch.remove() }
        let root = scratch.url
        try FileManager.default.createDirectory(at: root.appendingPathComponent("img"), withIntermediateDirectories: true)
        try PatternImages.writePNG(to: root.appendingPathComponent("img/a.png"), seed: 1, width: 72, height: 64)
        try PatternImages.writePNG(to: root.appendingPathComponent("b.png"), seed: 2, width: 72, height: 64)
        let absolute = root.appendingPathComponent("b.png").path
        try Data("file,text\nimg/a.png,\"a cat, sitting\"\n\(absolute),\"say \"\"hi\"\"\"\n".utf8).write(to: root.appendingPathComponent("pairs.csv"))
        let corpus = try PretrainCorpus.load(root.appendingPathComponent("pairs.csv"), options: .init(imageColumn: "file", promptColumn: "text"))
        #expect(corpus.pairs.map(\.prompt) == ["a cat, sitting", "say \"hi\""])
        #expect(corpus.pairs[0].image.path == root.appendingPathComponent("img/a.png").path)
        #expect(corpus.pairs[1].image.path == absolute)
        #expect(throws: PretrainCorpusError.missingColumn(file: root.appendingPathComponent("pairs.csv").path, column: "image",
                                                          header: ["file", "text"])) {
            try PretrainCorpus.load(root.appendingPathComponent("pairs.csv"))
        }
    }

    @Test("malformed JSON is reported with its file, line and column")
    func badJSON() throws {
        let scratch = try ScratchFolder("badjson")
        defer { scratch.remove() }
        let root = scratch.url
        try DiffusionDBCorpus.write(at: root, parts: 1, perPart: 2)
        let json = root.appendingPathComponent("part-000001/part-000001.json")
        try Data("{\n  \"0000.png\": {\"p\": \"a\"},\n  \"0001.png\": {\"p\" \"b\"}\n}\n".utf8).write(to: json)
        do {
            _ = try PretrainCorpus.load(root)
            Issue.record("expected an error")
        } catch let PretrainCorpusError.badJSON(file, line, column, _) {
            #expect(file == json.path && line == 3 && column != nil)
        }
        try Data("[1, 2]".utf8).write(to: json)
        #expect(throws: PretrainCorpusError.self) { try PretrainCorpus.load(root) }
    }

    @Test("empty prompts, missing \"p\", missing images are listed together with file, line and image; skipInvalid skips them")
    func invalidEntries() throws {
        let scratch = try ScratchFolder("invalid")
        defer { scratch.remove() }
        let root = scratch.url
        try DiffusionDBCorpus.write(at: root, parts: 1, perPart: 2)
        let part = root.appendingPathComponent("part-000001")
        let json = part.appendingPathComponent("part-000001.json")
        try Data(("{\n  \"0000.png\": {\"p\": \"fine\"},\n  \"0001.png\": {\"p\": \"  \"},\n  \"0002.png\": {\"se\": 1},\n"
                  + "  \"ghost.png\": {\"p\": \"no file\"}\n}\n").utf8).write(to: json)
        try PatternImages.writePNG(to: part.appendingPathComponent("0002.png"), seed: 9, width: 72, height: 64)
        do {
            _ = try PretrainCorpus.load(root)
            Issue.record("expected an error")
        } catch let PretrainCorpusError.invalidEntries(issues, total) {
            #expect(total == 3)
            #expect(issues.map(\.image) == ["part-000001/0001.png", "part-000001/0002.png", "part-000001/ghost.png"])
            #expect(issues.map(\.line) == [3, 4, 5])
            #expect(issues.allSatisfy { $0.file == json.path })
            #expect(issues[0].message == "empty prompt" && issues[2].message.hasPrefix("image not found"))
        }
        let lenient = try PretrainCorpus.load(root, options: .init(skipInvalid: true))
        #expect(lenient.pairs.map(\.name) == ["part-000001/0000.png"] && lenient.skipped.count == 3)

        let csv = root.appendingPathComponent("pairs.csv")
        try Data("image,prompt\npart-000001/0000.png,ok\npart-000001/0001.png,\nmissing.png,x\n".utf8).write(to: csv)
        do {
            _ = try PretrainCorpus.load(csv)
            Issue.record("expected an error")
        } catch let PretrainCorpusError.invalidEntries(issues, _) {
            #expect(issues.map(\.line) == [3, 4] && issues.allSatisfy { $0.file == csv.path })
        }
    }

    @Test("a folder without the layout, a part without its JSON, an unknown file kind and a missing path are typed errors")
    func layoutErrors() throws {
        let scratch = try ScratchFolder("layout")
        defer { scratch.remove() }
        let root = scratch.url
        #expect(throws: PretrainCorpusError.self) { try PretrainCorpus.load(root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("part-000001"), withIntermediateDirectories: true)
        #expect(throws: PretrainCorpusError.unsupportedLayout(path: root.appendingPathComponent("part-000001").path,
                                                              reason: "no part-000001.json inside the part folder or next to it")) {
            try PretrainCorpus.load(root)
        }
        try Data("x".utf8).write(to: root.appendingPathComponent("notes.txt"))
        #expect(throws: PretrainCorpusError.self) { try PretrainCorpus.load(root.appendingPathComponent("notes.txt")) }
        #expect(throws: PretrainCorpusError.unreadable(file: root.appendingPathComponent("nope").path, reason: "no such file or folder")) {
            try PretrainCorpus.load(root.appendingPathComponent("nope"))
        }
        let message = PretrainCorpusError.badJSON(file: "a.json", line: 3, column: 7, reason: "x").localizedDescription
        #expect(message.hasPrefix("a.json:3:7:"))
    }
}
