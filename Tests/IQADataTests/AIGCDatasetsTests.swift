import Foundation
import IQATestSupport
import Testing
@testable import IQAData

/// Label files in the layout of AIGCIQA2023 and AIGIQA-20K, generated: `prompts` prompts × `perPrompt` images.
enum AIGCLabelFiles {
    static func aigciqa2023(prompts: Int = 10, perPrompt: Int = 6) -> String {
        var out = "name,prompt,mos_quality,mos_authenticity,mos_correspondence\n"
        for i in 0..<(prompts * perPrompt) {
            let p = i % prompts   // the database orders images generator by generator: prompts repeat
            let prompt = p % 3 == 0 ? "a cartoon of a dog saying \"I see what you did there\" \(p)" : (p % 3 == 1 ? "\"a cat, sitting \(p)\"" : "a tree \(p)")
            out += "\(i).png,\(prompt),\(Double(i % 17) * 5.5),\(Double(i % 11) * 8.25),\(Double(i % 7) * 13)\n"
        }
        return out
    }

    static func aigiqa20k(prompts: Int = 10, perPrompt: Int = 4) -> String {
        var out = "name,prompt,mos\n"
        for i in 0..<(prompts * perPrompt) { out += "DALLE2_\(String(format: "%04d", i)).png,prompt number \(i / perPrompt),\(Double(i % 9) / 2)\n" }
        return out
    }
}

@Suite("AIGCIQA2023 and AIGIQA-20K readers and protocols")
struct AIGCDatasetsTests {
    @Test("AIGCIQA2023: three MOS as quality / authenticity / correspondence, literal quotes read and reported once")
    func aigciqa2023() throws {
        let scratch = try ScratchFolder("aigciqa2023")
        defer { scratch.remove() }
        let labels = scratch.file("aigciqa2023.csv")
        try AIGCLabelFiles.aigciqa2023().write(to: labels, atomically: true, encoding: .utf8)
        let ds = try DatasetLoader.load(.aigciqa2023, labels: labels)
        #expect(ds.scoreNames == ["quality", "authenticity", "correspondence"])
        #expect(ds.samples.count == 60)
        #expect(ds.samples[0].prompt == "a cartoon of a dog saying \"I see what you did there\" 0")
        #expect(ds.samples[1].prompt == "a cat, sitting 1")
        #expect(ds.samples[7].scores == [38.5, 57.75, 0])
        #expect(Set(ds.samples.map(\.group)).count == 10)
        let quoteWarnings = ds.warnings.filter { $0.message.contains("quotes inside unquoted fields") }
        #expect(quoteWarnings.count == 1)
        #expect(quoteWarnings.first?.message.hasPrefix("24 rows") == true)
        // 60 rows, not the database's 2,400: the row-count check says so.
        #expect(ds.warnings.contains { $0.message.contains("2400") })
        #expect(throws: DataError.self) { _ = try DatasetLoader.load(.aigciqa2023) }   // no bundled labels
    }

    @Test("AIGIQA-20K: name,prompt,mos as one 'quality' output")
    func aigiqa20k() throws {
        let scratch = try ScratchFolder("aigiqa20k")
        defer { scratch.remove() }
        let labels = scratch.file("info_train.csv")
        try AIGCLabelFiles.aigiqa20k().write(to: labels, atomically: true, encoding: .utf8)
        let ds = try DatasetLoader.load(.aigiqa20k, labels: labels)
        #expect(ds.scoreNames == ["quality"])
        #expect(ds.samples.count == 40 && ds.samples[5].scores == [2.5] && ds.samples[5].group == "prompt number 1")
    }

    @Test("AIGIQA-20K's own split: train and val files become one label table and one split; a shared image is refused")
    func ownSplit() throws {
        let scratch = try ScratchFolder("aigiqa20k-own")
        defer { scratch.remove() }
        let train = scratch.file("info_train.csv"), val = scratch.file("info_val.csv")
        try AIGCLabelFiles.aigiqa20k(prompts: 6).write(to: train, atomically: true, encoding: .utf8)
        let valText = "name,prompt,mos\nSD_0001.png,\"a val prompt, with a comma\",3.5\nSD_0002.png,another,1.25\n"
        try valText.write(to: val, atomically: true, encoding: .utf8)
        let own = try LabelFileSplit.make(spec: .aigiqa20k, train: train, test: val)
        let combined = scratch.file("all.csv")
        try own.writeCombined(to: combined)
        let ds = try DatasetLoader.load(.aigiqa20k, labels: combined)
        #expect(ds.samples.count == 26)
        #expect(own.split.train.count == 24 && own.split.test == ["SD_0001.png", "SD_0002.png"] && own.split.validation == nil)
        #expect(ds.samples(named: own.split.test).map(\.prompt) == ["a val prompt, with a comma", "another"])
        #expect(ds.samples(named: own.split.test).map(\.scores) == [[3.5], [1.25]])
        try SplitSet(splits: [own.split]).validate(against: ds)
        let firstTrain = try DatasetLoader.load(.aigiqa20k, labels: train)
        #expect(ds.samples(named: own.split.train) == firstTrain.samples)

        try (valText + "DALLE2_0003.png,dup,2\n").write(to: val, atomically: true, encoding: .utf8)
        #expect { _ = try LabelFileSplit.make(spec: .aigiqa20k, train: train, test: val) } throws: {
            $0.localizedDescription.contains(val.path) && $0.localizedDescription.contains("DALLE2_0003.png")
        }
    }

    @Test("grouped splits of both never share a prompt between parts; the official protocol is refused",
          arguments: [DatasetKind.aigciqa2023, .aigiqa20k])
    func protocols(_ kind: DatasetKind) throws {
        let scratch = try ScratchFolder("aigc-splits")
        defer { scratch.remove() }
        let labels = scratch.file("labels.csv")
        try (kind == .aigciqa2023 ? AIGCLabelFiles.aigciqa2023() : AIGCLabelFiles.aigiqa20k()).write(to: labels, atomically: true, encoding: .utf8)
        let ds = try DatasetLoader.load(kind, labels: labels)
        #expect(kind.defaultProtocol == .grouped && !kind.hasOfficialSplits)
        let splits = try SplitMaker.make(kind.defaultProtocol, dataset: ds, kind: kind, count: 3, seed: 1)
        let groupOf = Dictionary(ds.samples.map { ($0.image, $0.group) }, uniquingKeysWith: { a, _ in a })
        for s in splits {
            let train = Set(s.train.map { groupOf[$0]! }), test = Set(s.test.map { groupOf[$0]! })
            let validation = Set((s.validation ?? []).map { groupOf[$0]! })
            #expect(train.isDisjoint(with: test) && train.isDisjoint(with: validation) && validation.isDisjoint(with: test))
            #expect(s.train.count + (s.validation?.count ?? 0) + s.test.count == ds.samples.count)
        }
        #expect(throws: DataError.self) { _ = try SplitMaker.make(.official, dataset: ds, kind: kind, count: 1, seed: 1) }
    }
}
