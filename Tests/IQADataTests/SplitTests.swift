import Foundation
import Testing
import IQATestSupport
@testable import IQAData

/// The official IP-IQA splits computed by Scripts/fixtures_splits.py (Python `random` / numpy, the official
/// split functions transcribed) on the real label files.
struct OfficialSplitFixture: Decodable {
    struct OneK: Decodable { let trainCount: Int; let test: [String] }
    struct ThreeK: Decodable { let trainCount: Int; let testCount: Int; let testPromptIDs: [Int] }
    let seed: Int
    let agiqa1k: [OneK]
    let agiqa3k: [ThreeK]
}

@Suite("Split protocols")
struct SplitTests {
    @Test("official AGIQA-1k splits equal the official Python procedure exactly, all 10")
    func official1k() throws {
        let ref = try Fixtures.json(OfficialSplitFixture.self, "official_splits.json")
        let ds = try DatasetLoader.load(.agiqa1k)
        let splits = try OfficialSplits.agiqa1k(ds, count: 10, seed: ref.seed)
        #expect(splits.count == 10 && ref.agiqa1k.count == 10)
        for (k, (s, r)) in zip(splits, ref.agiqa1k).enumerated() {
            #expect(s.test == r.test, "split \(k)")
            #expect(s.train.count == r.trainCount, "split \(k)")
            #expect(Set(s.train).isDisjoint(with: s.test))
            #expect(s.train.count + s.test.count == 1079)
        }
        // Keeping both duplicate rows (the official 1,080) gives the same image lists.
        var all = DatasetSpec.agiqa1k
        all.duplicates = .keepAll
        #expect(try OfficialSplits.agiqa1k(try DatasetLoader.load(spec: all), count: 10, seed: ref.seed) == splits)
    }

    @Test("official AGIQA-3k splits equal the official numpy procedure exactly, all 10")
    func official3k() throws {
        let ref = try Fixtures.json(OfficialSplitFixture.self, "official_splits.json")
        let ds = try DatasetLoader.load(.agiqa3k)
        let splits = try OfficialSplits.agiqa3k(ds, count: 10, seed: ref.seed)
        for (k, (s, r)) in zip(splits, ref.agiqa3k).enumerated() {
            #expect(s.train.count == r.trainCount && s.test.count == r.testCount, "split \(k)")
            let testIDs = Set(r.testPromptIDs)
            #expect(r.testPromptIDs.count == 60)
            let expected = ds.samples.filter { testIDs.contains(Int($0.group)!) }.map(\.image)
            #expect(s.test == expected, "split \(k)")
            #expect(s.validation == nil)
        }
    }

    @Test("grouped splits: no group crosses parts, 70/10/20 of groups, seeded and reproducible")
    func grouped() throws {
        let ds = try DatasetLoader.load(.agiqa3k)
        let splits = try GroupedSplits.make(ds, count: 3, seed: 7)
        #expect(try GroupedSplits.make(ds, count: 3, seed: 7) == splits)
        #expect(try GroupedSplits.make(ds, count: 1, seed: 8)[0] != splits[0])
        let groupOf = Dictionary(ds.samples.map { ($0.image, $0.group) }, uniquingKeysWith: { a, _ in a })
        for s in splits {
            let parts = [s.train, s.validation ?? [], s.test].map { Set($0.compactMap { groupOf[$0] }) }
            #expect(parts.map(\.count) == [210, 30, 60])
            #expect(parts[0].isDisjoint(with: parts[1]) && parts[0].isDisjoint(with: parts[2]) && parts[1].isDisjoint(with: parts[2]))
            #expect(s.allNames.count == ds.samples.count)
        }
        // AGIQA-1k groups are object codes: 180 → 126 / 18 / 36.
        let oneK = try GroupedSplits.make(try DatasetLoader.load(.agiqa1k), count: 1, seed: 42)[0]
        #expect(oneK.allNames.count == 1079)
        #expect(throws: DataError.self) {
            _ = try GroupedSplits.make(ds, config: GroupedSplitConfiguration(trainFraction: 0.5, validationFraction: 0.1, testFraction: 0.2))
        }
    }

    @Test("grouped splits use numpy's permutation of the sorted groups (reproducible in Python)")
    func groupedMatchesNumpyRecipe() throws {
        let ds = try DatasetLoader.load(.agiqa3k)
        let split = try GroupedSplits.make(ds, count: 1, seed: 42)[0]
        var rs = NumpyRandomState(seed: 42)
        let perm = rs.permutation(300)           // groups "000"…"299" sorted = ids 0…299
        let testIDs = Set(perm.prefix(60).map { String(format: "%03d", $0) })
        #expect(split.test == ds.samples.filter { testIDs.contains($0.group) }.map(\.image))
    }

    @Test("split sets round-trip through JSON, are written atomically, and are validated against a dataset")
    func splitSetIO() throws {
        let ds = try DatasetLoader.load(.agiqa3k)
        let set = SplitSet(splits: try SplitMaker.make(.official, dataset: ds, kind: .agiqa3k, count: 2))
        let scratch = try ScratchFolder("iqadata-splits")
        defer { scratch.remove() }
        let dir = scratch.url
        let url = dir.appendingPathComponent("splits.json")
        try set.write(to: url)
        try set.write(to: url)                   // overwriting works
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["splits.json"])
        #expect(try SplitSet.read(from: url) == set)
        try set.validate(against: ds)
        #expect(ds.samples(named: set.splits[0].test).map(\.image) == set.splits[0].test)
        let text = String(decoding: try set.jsonData(), as: UTF8.self)
        #expect(text.hasPrefix(#"{"splits":[{"train":["#) && !text.contains("validation"))
        let grouped = SplitSet(splits: [Split(train: ["a"], validation: ["b"], test: ["c"])])
        #expect(String(decoding: try grouped.jsonData(), as: UTF8.self) == #"{"splits":[{"train":["a"],"validation":["b"],"test":["c"]}]}"#)
        let odd = SplitSet(splits: [Split(train: ["q\"u\\o/te\n\u{1}é.jpg"], test: [])])
        for pretty in [false, true] {
            #expect(try JSONDecoder().decode(SplitSet.self, from: odd.jsonData(pretty: pretty)) == odd)
            #expect(try JSONDecoder().decode(SplitSet.self, from: set.jsonData(pretty: pretty)) == set)
        }

        var bad = set
        bad.splits[0].test.append(bad.splits[0].train[0])
        bad.splits[1].train.append("nope.jpg")
        let e = try Fixtures.dataError { try bad.validate(against: ds) }
        #expect(e.localizedDescription.contains("split 0: 1 image in more than one part"))
        #expect(e.localizedDescription.contains("split 1: 1 unknown image (nope.jpg)"))

        try Data(#"{"splits":[{"train":[]}]}"#.utf8).write(to: url)
        let e2 = try Fixtures.dataError { _ = try SplitSet.read(from: url) }
        #expect(e2.localizedDescription.contains("missing key 'test'"))
        #expect(throws: DataError.self) { _ = try SplitMaker.make(.official, dataset: ds, kind: .csv) }
    }
}
