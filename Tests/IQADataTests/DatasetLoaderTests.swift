import Foundation
import Testing
import IQATestSupport
@testable import IQAData

@Suite("Dataset readers")
struct DatasetLoaderTests {
    @Test("AGIQA-1k: 1,080 sheet rows → 1,079 samples (first of the duplicate kept), values as openpyxl reads them")
    func agiqa1k() throws {
        let ds = try DatasetLoader.load(.agiqa1k)
        #expect(ds.samples.count == 1079)
        #expect(ds.scoreNames == ["score"])
        #expect(Set(ds.imageNames).count == 1079)
        let first = ds.samples[0]
        #expect(first == Sample(image: "deepai_0_0_0_0.jpg", prompt: "bird, driving aircraft, city, anime style",
                                scores: [2.7934105045636524], group: "0_0"))
        // Sheet row 541 and the kept duplicate (row 1080, MOS 0.4414…, not row 1081's 2.0841…).
        let byName = Dictionary(ds.samples.map { ($0.image, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["deepai_6_9_1_1.jpg"]?.scores == [3.0800038776085255])
        #expect(byName["deepai_6_9_1_1.jpg"]?.prompt == "kid, using CD, wild, realistic style")
        #expect(byName["dreamStudio_8_9_1_1.jpg"]?.scores == [0.4414155439958131])
        #expect(byName["dreamStudio_8_9_1_1.jpg"]?.group == "9_14")
        #expect(byName["deepai_10_0_0_1.jpg"]?.scores == [5])           // integer cells
        #expect(Set(ds.samples.map(\.group)).count == 180)
        #expect(ds.samples.allSatisfy { (0...5).contains($0.scores[0]) })
        // Warnings: the duplicate and the unlabelled image, nothing else.
        #expect(ds.warnings.count == 2)
        #expect(ds.warnings.contains { $0.line == 1080 && $0.message.contains("dreamStudio_8_9_1_1.jpg") && $0.message.contains("keeping the first") })
        #expect(ds.warnings.contains { $0.message.contains("dreamStudio_8_5_0_0.jpg") })
    }

    @Test("AGIQA-1k with keepAll / keepLast follows the policy")
    func duplicatePolicies() throws {
        var spec = DatasetSpec.agiqa1k
        spec.duplicates = .keepAll
        #expect(try DatasetLoader.load(spec: spec).samples.count == 1080)
        spec.duplicates = .keepLast
        let last = try DatasetLoader.load(spec: spec)
        #expect(last.samples.count == 1079)
        #expect(last.samples.last?.scores == [2.084115711537598])
    }

    @Test("AGIQA-1k keep-all: the official splits carry both rows of the duplicated image into the same part (1,080 rows)")
    func keepAllSplits() throws {
        let all = try DatasetLoader.load(.agiqa1k, duplicates: .keepAll)
        let first = try DatasetLoader.load(.agiqa1k)
        #expect(all.samples.count == 1080 && first.samples.count == 1079)
        let splits = try OfficialSplits.agiqa1k(all, count: 3)
        #expect(splits == (try OfficialSplits.agiqa1k(first, count: 3)), "the same names: the duplicate draws nothing new")
        for s in splits {
            let train = all.samples(named: s.train), test = all.samples(named: s.test)
            #expect(train.count + test.count == 1080)
            let twice = (train + test).filter { $0.image == AGIQAConstants.agiqa1kDuplicate }
            #expect(twice.count == 2 && Set(twice.map(\.scores)).count == 2, "both labels of the image")
            #expect(train.filter { $0.image == AGIQAConstants.agiqa1kDuplicate }.count % 2 == 0)
            #expect(first.samples(named: s.train).count + first.samples(named: s.test).count == 1079)
        }
    }

    @Test("AGIQA-3k: 2,982 samples, 300 prompt groups, [quality, alignment], quoted prompts with commas")
    func agiqa3k() throws {
        let ds = try DatasetLoader.load(.agiqa3k)
        #expect(ds.samples.count == 2982)
        #expect(ds.scoreNames == ["quality", "alignment"])
        #expect(ds.warnings.isEmpty)
        #expect(Set(ds.samples.map(\.group)).count == 300)
        #expect(ds.samples[0] == Sample(image: "AttnGAN_normal_000.jpg", prompt: "statue of a man",
                                        scores: [0.965602553, 0.40889324], group: "000"))
        #expect(ds.samples[60] == Sample(image: "AttnGAN_normal_060.jpg", prompt: "artwork with only triangles, anime style",
                                         scores: [0.919776796, 0.850496237], group: "060"))
        #expect(ds.samples[1499] == Sample(image: "sd1.5_highcorr_017.jpg", prompt: "tragedy of the commons",
                                           scores: [2.396625776, 1.510472273], group: "017"))
        #expect(ds.samples[2981] == Sample(
            image: "xl2.2_normal_299.jpg",
            prompt: "beautiful fluffy baby giraffe cheetah hybrid mixed creature character concept, hyper detail, HDR lighting, baroque style",
            scores: [3.60083465, 3.467108847], group: "299"))
    }

    @Test("generic CSV: named columns, groups by prompt, all bad rows in one line-numbered error")
    func genericCSV() throws {
        let ds = try DatasetLoader.load(.csv, labels: Fixtures.url("good.csv"),
                                        csvColumns: CSVColumns(image: "image", prompt: "prompt", scores: ["mos", "align"]))
        #expect(ds.samples.count == 4)
        #expect(ds.scoreNames == ["mos", "align"])
        #expect(ds.samples[3] == Sample(image: "d_004.jpg", prompt: " spaced ", scores: [4, 0], group: "spaced"))

        let e = try Fixtures.dataError {
            _ = try DatasetLoader.load(.csv, labels: Fixtures.url("bad.csv"), csvColumns: CSVColumns(scores: ["mos"]))
        }
        guard case let .badRows(_, issues, total) = e else { Issue.record("wrong case \(e)"); return }
        // 3 parser errors (lines 5, 8, 10) + non-numeric (3), empty prompt (4), missing score (9).
        #expect(total == 6)
        #expect(issues.compactMap(\.line) == [3, 4, 5, 8, 9, 10])   // sorted by line
        #expect(issues.contains { $0.line == 3 && $0.column == "mos" && $0.message == "'abc' is not a number" })
        #expect(issues.contains { $0.line == 4 && $0.column == "prompt" && $0.message == "empty prompt" })
        #expect(issues.contains { $0.line == 9 && $0.message == "missing score" })
    }

    @Test("generic tables need labels and existing columns; the error lists every missing column")
    func columnErrors() throws {
        let e1 = try Fixtures.dataError { _ = try DatasetLoader.load(.csv, csvColumns: CSVColumns()) }
        #expect(e1 == .missingLabels(dataset: "csv"))
        let e2 = try Fixtures.dataError {
            _ = try DatasetLoader.load(.csv, labels: Fixtures.url("good.csv"), csvColumns: CSVColumns(scores: ["q", "a"]))
        }
        guard case let .missingColumns(_, columns, _) = e2 else { Issue.record("wrong case"); return }
        #expect(columns == ["q", "a"])
    }

    @Test("missing images: one error with the count and every missing name")
    func missingImages() throws {
        let scratch = try ScratchFolder("iqadata-img")
        defer { scratch.remove() }
        let dir = scratch.url
        try Data([1]).write(to: dir.appendingPathComponent("b_002.jpg"))
        let ds = try DatasetLoader.load(.csv, labels: Fixtures.url("good.csv"), csvColumns: CSVColumns(scores: ["mos"]))
        let e = try Fixtures.dataError { try checkImagesExist(ds, root: dir) }
        #expect(e == .missingImages(root: dir.path, names: ["a_001.jpg", "c_003.jpg", "d_004.jpg"]))
        #expect(e.localizedDescription.contains("3 images missing: a_001.jpg, c_003.jpg, d_004.jpg"))
        for n in ["a_001.jpg", "c_003.jpg", "d_004.jpg"] { try Data([1]).write(to: dir.appendingPathComponent(n)) }
        try checkImagesExist(ds, root: dir)
    }

    @Test("dataset specs round-trip through JSON and fill defaults")
    func specCodable() throws {
        let data = try JSONEncoder().encode(DatasetSpec.agiqa3k)
        #expect(try JSONDecoder().decode(DatasetSpec.self, from: data) == .agiqa3k)
        let minimal = #"{"name":"x","imageColumn":"i","promptColumn":"p","scoreColumns":["s"]}"#
        let spec = try JSONDecoder().decode(DatasetSpec.self, from: Data(minimal.utf8))
        #expect(spec.scoreNames == ["s"] && spec.group == .prompt && spec.duplicates == .keepFirst && spec.format == .auto)
    }
}
