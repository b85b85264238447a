import Foundation
@testable import IPIQADemo
import Testing

/// A hand-made result for the formatting tests.
func sampleResult() -> DemoResult {
    func metric(_ s: Double) -> DemoMetric { DemoMetric(srcc: s, plcc: s + 0.01, krcc: s - 0.1, srccStd: 0.02, plccStd: 0.03, krccStd: 0.01) }
    let rows = [DemoRow(variant: .clipscore, quality: metric(0.2), alignment: metric(0.4)),
                DemoRow(variant: .imageOnly, quality: metric(0.6), alignment: metric(0.1)),
                DemoRow(variant: .ipiqa, quality: metric(0.65), alignment: metric(0.45)),
                DemoRow(variant: .ipiqaNoQA, quality: metric(0.64), alignment: metric(0.43))]
    let setup = DemoSetup(images: 2400, prompts: 300, generators: 8, splits: 3, testImagesPerSplit: 480, trainImagesPerSplit: 1920,
                          naturalPairs: 16000, contrastiveSteps: 400, image2promptPairs: 4000, image2promptKept: 3600, iqaResolution: 128,
                          epochs: 15, retrievalTop1: 0.5, qualityCeiling: 0.976, alignmentCeiling: 0.983)
    return DemoResult(rows: rows, verdict: DemoVerdict(rows: rows), setup: setup)
}

/// The demo's suites, run one test at a time: they set the global thread count and compare runs bit for bit.
@Suite("ipiqa demo and its training pieces (serialized)", .serialized)
struct DemoSuites {}

extension DemoSuites {
    @Suite("ipiqa demo: tables, JSON, verdict, cache keys, end to end")
    struct DemoTests {
        @Test("verdict: the gaps are IP-IQA minus image-only SRCC; targets ≥ 0.2 (alignment) and ≥ 0 (quality)")
        func verdict() throws {
            let v = try #require(sampleResult().verdict)
            #expect(abs(v.alignmentGap - 0.35) < 1e-12 && abs(v.qualityGap - 0.05) < 1e-12)
            #expect(v.alignmentMet && v.qualityMet)
            #expect(v.line.contains("+0.350") && v.line.contains("met") && !v.line.contains("MISSED"))
            var rows = sampleResult().rows
            rows[2].alignment.srcc = 0.2
            let missed = try #require(DemoVerdict(rows: rows))
            #expect(!missed.alignmentMet && missed.line.contains("MISSED"))
            #expect(DemoVerdict(rows: [rows[0]]) == nil)
        }

        @Test("text table: Table 1/2 and Table 3 rows with mean ± std cells, the verdict line")
        func textTable() {
            let text = DemoTable.text(sampleResult())
            #expect(text.contains("Table 1/2") && text.contains("Table 3"))
            #expect(text.contains("CLIPScore (zero-shot)") && text.contains("Image-only") && text.contains("− [QA] token"))
            #expect(text.contains("0.650 ± 0.020") && text.contains("0.460 ± 0.030"))
            #expect(text.contains("Verdict: IP-IQA − image-only alignment SRCC +0.350"))
            let tableLines = text.split(separator: "\n").filter { $0.hasPrefix("IP-IQA") }
            #expect(Set(tableLines.map { $0.count }).count == 1)   // aligned columns
        }

        @Test("JSON: one key per variant → quality/alignment → srcc/plcc/krcc (+ _std), verdict and setup")
        func json() throws {
            let text = try DemoTable.json(sampleResult())
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let ip = try #require(object["ip-iqa"] as? [String: Any])
            let quality = try #require(ip["quality"] as? [String: Double])
            #expect(quality["srcc"] == 0.65 && quality["plcc"] == 0.66 && quality["srcc_std"] == 0.02)
            #expect(abs((quality["krcc"] ?? 0) - 0.55) < 1e-12)
            #expect(object["image-only"] != nil && object["clipscore"] != nil && object["ip-iqa-no-qa"] != nil)
            let verdict = try #require(object["verdict"] as? [String: Any])
            #expect(verdict["alignment_target_met"] as? Bool == true)
            #expect((object["setup"] as? [String: Any])?["images"] as? Int == 2400)
        }

        @Test("cache keys: a setting changes exactly the artefacts that depend on it")
        func keys() {
            let base = DemoKeys(.quick, blasCore: "X")
            var c = DemoConfiguration.quick
            c.contrastive.steps += 1
            let k = DemoKeys(c, blasCore: "X")
            #expect(k.iqaSet == base.iqaSet && k.agiCorpus == base.agiCorpus && k.naturalCorpus == base.naturalCorpus)
            #expect(k.clip != base.clip && k.image2prompt != base.image2prompt)
            c = .quick
            c.prompts += 1
            #expect(DemoKeys(c, blasCore: "X").iqaSet != base.iqaSet && DemoKeys(c, blasCore: "X").clip == base.clip)
            #expect(DemoKeys(.quick, blasCore: "Y").clip != base.clip && DemoKeys(.quick, blasCore: "X") == base)
        }

        @Test("config JSON: missing keys keep the preset's values; bad values are refused by name")
        func configDecoding() throws {
            let decoder = JSONDecoder()
            decoder.userInfo[DemoConfiguration.baseKey] = DemoConfiguration.quick
            let c = try decoder.decode(DemoConfiguration.self, from: Data(#"{"splits": 4, "training": {"epochs": 3}}"#.utf8))
            #expect(c.splits == 4 && c.training.epochs == 3 && c.training.learningRate == CachedTrainingConfig().learningRate)
            #expect(c.prompts == DemoConfiguration.quick.prompts && c.contrastive == DemoConfiguration.quick.contrastive)
            var bad = DemoConfiguration.quick
            bad.crossHeads = 7
            #expect(throws: DemoError.self) { try bad.validate() }
            #expect(throws: DemoError.self) { try DemoRunner.run(config: bad, directory: temporaryFolder("bad")) }
        }

        @Test("--quick end to end twice: same tables; the second run reuses every artefact and is faster")
        func quickTwice() throws {
            let folder = temporaryFolder("demo")
            defer { try? FileManager.default.removeItem(at: folder) }
            let lines = LogLines()
            let t0 = Date()
            let first = try DemoRunner.run(config: .quick, directory: folder) { lines.append($0) }
            let firstSeconds = Date().timeIntervalSince(t0)
            let firstLog = lines.take()
            let t1 = Date()
            let second = try DemoRunner.run(config: .quick, directory: folder) { lines.append($0) }
            let secondSeconds = Date().timeIntervalSince(t1)
            let secondLog = lines.take()
            #expect(try DemoTable.json(first) == DemoTable.json(second))
            #expect(DemoTable.text(first) == DemoTable.text(second))
            #expect(secondSeconds < firstSeconds)
            #expect(firstLog.contains { $0.contains("clip: trained") } && firstLog.contains { $0.contains("computed") })
            for stage in ["world: reusing", "clip: reusing", "image2prompt: reusing"] { #expect(secondLog.contains { $0.contains(stage) }) }
            #expect(secondLog.filter { $0.contains("features:") }.allSatisfy { $0.contains("from cache") })
            #expect(first.rows.map(\.variant) == DemoVariant.allCases)
            #expect(first.rows.allSatisfy { $0.quality.srcc.isFinite && $0.alignment.srcc.isFinite })
            for file in [DemoConstants.scatterFile, DemoConstants.attentionFile, DemoConstants.resultFile] {
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path))
            }
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.contains(".partial") || $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty)
        }
    }
}

/// Log lines collected from the demo's progress callback.
final class LogLines: @unchecked Sendable {
    private var lines: [String] = []
    private let lock = NSLock()
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    func take() -> [String] { lock.lock(); defer { lock.unlock() }; let l = lines; lines = []; return l }
}
