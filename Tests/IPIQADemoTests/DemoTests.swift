import CLIP
import Foundation
@testable import IPIQADemo
import IQATestSupport
import IQATraining
import Tensor
import Testing

/// A hand-made result for the formatting tests: paper's fusion +0.25 / +0.02 over image-only, paper+similarity
/// +0.35 / +0.05.
func sampleResult() -> DemoResult {
    func metric(_ s: Double) -> DemoMetric { DemoMetric(srcc: s, plcc: s + 0.01, krcc: s - 0.1, srccStd: 0.02, plccStd: 0.03, krccStd: 0.01) }
    let rows = [DemoRow(variant: .clipscore, quality: metric(0.2), alignment: metric(0.4)),
                DemoRow(variant: .imageOnly, quality: metric(0.6), alignment: metric(0.1)),
                DemoRow(variant: .paper, quality: metric(0.62), alignment: metric(0.35)),
                DemoRow(variant: .similarity, quality: metric(0.65), alignment: metric(0.45)),
                DemoRow(variant: .similarityNoQA, quality: metric(0.64), alignment: metric(0.43))]
    let setup = DemoSetup(images: 2400, prompts: 300, generators: 8, splits: 3, testImagesPerSplit: 480, trainImagesPerSplit: 1920,
                          naturalPairs: 16000, contrastiveSteps: 400, image2promptPairs: 4000, image2promptKept: 3600, iqaResolution: 128,
                          epochs: 15, retrievalTop1: 0.5, qualityCeiling: 0.976, alignmentCeiling: 0.983)
    return DemoResult(rows: rows, verdict: DemoVerdict(rows: rows), setup: setup)
}

extension DemoSuites {
    @Suite("ipiqa demo: tables, JSON, verdict, cache keys, end to end")
    struct DemoTests {
        @Test("verdict: per fusion, the gaps are its SRCC minus image-only's; targets ≥ 0.2 (alignment) and ≥ 0 (quality)")
        func verdict() throws {
            let v = try #require(sampleResult().verdict)
            #expect(v.alignmentTarget == 0.2)
            let paper = try #require(v.paper), similarity = try #require(v.paperSimilarity)
            #expect(abs(paper.alignmentGap - 0.25) < 1e-12 && abs(paper.qualityGap - 0.02) < 1e-12)
            #expect(abs(similarity.alignmentGap - 0.35) < 1e-12 && abs(similarity.qualityGap - 0.05) < 1e-12)
            #expect(paper.alignmentMet && paper.qualityMet && similarity.alignmentMet && similarity.qualityMet)
            #expect(v.line.contains("+0.250") && v.line.contains("+0.350") && v.line.contains("met") && !v.line.contains("MISSED"))

            var rows = sampleResult().rows
            rows[3].alignment.srcc = 0.2         // paper+similarity: +0.1 alignment, below the target
            rows[2].quality.srcc = 0.5           // paper's fusion: worse quality than image-only
            let missed = try #require(DemoVerdict(rows: rows))
            #expect(missed.paperSimilarity?.alignmentMet == false && missed.paperSimilarity?.qualityMet == true)
            #expect(missed.paper?.qualityMet == false && missed.paper?.alignmentMet == true)
            #expect(missed.line.components(separatedBy: "MISSED").count == 3)
            // Without image-only or without any IP-IQA row there is no verdict; one fusion alone gives a one-sided one.
            #expect(DemoVerdict(rows: [rows[0]]) == nil && DemoVerdict(rows: [rows[0], rows[1]]) == nil)
            let paperOnly = try #require(DemoVerdict(rows: [rows[1], rows[2]]))
            #expect(paperOnly.paper != nil && paperOnly.paperSimilarity == nil)
        }

        @Test("text table: Table 1/2 and Table 3 rows with mean ± std cells, aligned columns, the verdict lines")
        func textTable() {
            let text = DemoTable.text(sampleResult())
            #expect(text.contains("Table 1/2") && text.contains("Table 3"))
            for label in ["CLIPScore (zero-shot)", "Image-only", DemoVariant.paper.label, DemoVariant.similarity.label, "− [QA] token"] {
                #expect(text.contains(label), "\(label)")
            }
            #expect(text.contains("0.650 ± 0.020") && text.contains("0.460 ± 0.030"))
            #expect(text.contains("Verdict (IP-IQA − image-only)") && text.contains("+0.350") && text.contains("+0.250"))
            // In each table every row is as long as its header (aligned columns).
            for block in text.components(separatedBy: "\n\n") where block.hasPrefix("Table") {
                let lines = block.split(separator: "\n").map(String.init)
                let header = lines.first { $0.hasPrefix("Method") }?.count
                let rows = lines.drop { !$0.hasPrefix("---") }.dropFirst()
                #expect(header != nil && !rows.isEmpty && rows.allSatisfy { $0.count == header })
            }
        }

        @Test("JSON: one key per variant → quality/alignment → srcc/plcc/krcc (+ _std); verdict with both fusions' gaps; setup")
        func json() throws {
            let text = try DemoTable.json(sampleResult())
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let similarity = try #require(object["ip-iqa-similarity"] as? [String: Any])
            let quality = try #require(similarity["quality"] as? [String: Double])
            #expect(quality["srcc"] == 0.65 && quality["plcc"] == 0.66 && quality["srcc_std"] == 0.02)
            #expect(abs((quality["krcc"] ?? 0) - 0.55) < 1e-12)
            for key in ["clipscore", "image-only", "ip-iqa-paper", "ip-iqa-similarity-no-qa"] { #expect(object[key] != nil, "\(key)") }
            let verdict = try #require(object["verdict"] as? [String: Any])
            #expect(verdict["alignment_gap_target"] as? Double == 0.2)
            for (fusion, alignment, quality) in [("paper", 0.25, 0.02), ("paper+similarity", 0.35, 0.05)] {
                let gap = try #require(verdict[fusion] as? [String: Any], "\(fusion)")
                #expect(abs((gap["alignment_srcc_gap"] as? Double ?? .nan) - alignment) < 1e-12, "\(fusion)")
                #expect(abs((gap["quality_srcc_gap"] as? Double ?? .nan) - quality) < 1e-12, "\(fusion)")
                #expect(gap["alignment_target_met"] as? Bool == true && gap["quality_target_met"] as? Bool == true, "\(fusion)")
            }
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

        @Test("config JSON: missing keys keep the preset's values; bad values are refused by name before anything runs")
        func configDecoding() throws {
            let decoder = JSONDecoder()
            decoder.userInfo[DemoConfiguration.baseKey] = DemoConfiguration.quick
            let c = try decoder.decode(DemoConfiguration.self, from: Data(#"{"splits": 4, "training": {"epochs": 3}}"#.utf8))
            #expect(c.splits == 4 && c.training.epochs == 3 && c.training.learningRate == DemoConfiguration.quick.training.learningRate)
            #expect(c.prompts == DemoConfiguration.quick.prompts && c.contrastive == DemoConfiguration.quick.contrastive)
            var bad = DemoConfiguration.quick
            bad.crossHeads = 7
            let scratch = try ScratchFolder("demo-bad")
            defer { scratch.remove() }
            #expect(throws: DemoError.self) { try DemoRunner.run(config: bad, directory: scratch.url) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
            // A key given twice is refused (readers disagree on which value counts).
            #expect(throws: DemoError.self) { try DemoConfiguration(json: Data(#"{"splits": 4, "splits": 5}"#.utf8), base: .quick) }
            #expect(try DemoConfiguration(json: Data(#"{"splits": 4}"#.utf8), base: .quick).splits == 4)
            // Nested objects overlay the preset key by key (a "training" key alone keeps the quick epochs).
            let nested = try DemoConfiguration(json: Data(#"{"training": {"precision": "bf16"}, "contrastive": {"steps": 7}}"#.utf8), base: .quick)
            #expect(nested.training.precision == .bf16 && nested.training.epochs == DemoConfiguration.quick.training.epochs)
            #expect(nested.contrastive.steps == 7 && nested.contrastive.batchSize == DemoConfiguration.quick.contrastive.batchSize)
            #expect(throws: DemoError.self) { try DemoConfiguration(json: Data("[1, 2]".utf8), base: .quick) }
            // Feature passes: auto by default, any --precision value, anything else refused.
            #expect(DemoConfiguration.quick.featurePasses == .auto && DemoConfiguration().featurePasses == .auto)
            #expect(try DemoConfiguration(json: Data(#"{"featurePasses": "bf16x3"}"#.utf8), base: .quick).featurePasses == .forced(.bf16x3))
            #expect(DemoConfiguration.quick.trainingConfiguration(for: .paper).featurePassPrecision == .auto)
            #expect(throws: (any Error).self) { try DemoConfiguration(json: Data(#"{"featurePasses": "fp8"}"#.utf8), base: .quick) }
        }

        @Test("--quick twice: same tables; each variant is a Trainer run on the demo's splits; the second run recomputes and rewrites nothing")
        func quickTwice() throws { try ThreadCountLock.exclusive { try quickTwiceLocked() } }
        func quickTwiceLocked() throws {
            let scratch = try ScratchFolder("demo")
            defer { scratch.remove() }
            let folder = scratch.url
            let config = DemoConfiguration.quick
            let lines = LogLines()
            let first = try DemoRunner.run(config: config, directory: folder) { lines.append($0) }
            let firstLog = lines.take()
            #expect(first.rows.map(\.variant) == DemoVariant.allCases)
            #expect(first.rows.allSatisfy { $0.quality.srcc.isFinite && $0.alignment.srcc.isFinite })
            #expect(firstLog.contains { $0.contains("clip: trained") } && firstLog.contains { $0.contains("world: wrote") })
            for file in [DemoConstants.scatterFile, DemoConstants.attentionFile, DemoConstants.resultFile] {
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path))
            }

            // Every trained variant is one ordinary training run: its run.json holds the demo's TrainingConfiguration
            // (plus the shared feature cache), with one finished result per demo split.
            let runs = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("runs").path)
            let features = folder.appendingPathComponent("features")
            for variant in DemoVariant.allCases where variant.isTrained {
                let names = runs.filter { $0.hasPrefix(variant.rawValue + "-") && $0.dropFirst(variant.rawValue.count + 1).count == 16 }
                #expect(names.count == 1, "\(variant.rawValue): \(runs)")
                guard let name = names.first else { continue }
                let layout = RunLayout(folder.appendingPathComponent("runs").appendingPathComponent(name))
                var expected = config.trainingConfiguration(for: variant)
                expected.featureCache = features.path
                #expect(try RunManifest.read(from: layout.manifest).config == expected, "\(variant.rawValue)")
                for k in 0..<config.splits {
                    #expect(FileManager.default.fileExists(atPath: layout.result(k).path) && FileManager.default.fileExists(atPath: layout.finalModel(k).path))
                }
            }
            // The trunk maps (and u, beside them) are computed once per backbone (pre-trained and Image2Prompt), shared by the variants.
            let stores = try FileManager.default.contentsOfDirectory(atPath: features.path)
            #expect(stores.filter { $0.hasPrefix("trunk-") }.count == 2 && stores.filter { $0.hasPrefix("sim-") }.count == 2 && stores.count == 4, "\(stores)")

            // The second run reuses every stage and writes nothing but its report and figures.
            let outputs: Set<String> = [DemoConstants.scatterFile, DemoConstants.attentionFile, DemoConstants.resultFile]
            let before = try ScratchFolder.listing(folder) { !outputs.contains($0) }
            let second = try DemoRunner.run(config: config, directory: folder) { lines.append($0) }
            let secondLog = lines.take()
            #expect(try ScratchFolder.listing(folder) { !outputs.contains($0) } == before)
            #expect(!before.isEmpty)
            for stage in ["world: reusing", "clip: reusing", "image2prompt: reusing"] { #expect(secondLog.contains { $0.contains(stage) }, "\(stage)") }
            for variant in DemoVariant.allCases where variant.isTrained {
                #expect(secondLog.contains { $0.contains("train: \(variant.rawValue): reusing the finished run") }, "\(variant.rawValue)")
            }
            #expect(!secondLog.contains { $0.contains("clip: trained") || $0.contains("world: wrote") || $0.contains("image2prompt: wrote") })
            #expect(try DemoTable.json(first) == DemoTable.json(second))
            #expect(DemoTable.text(first) == DemoTable.text(second))
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.contains(".partial") || $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty)
        }
    }
}
