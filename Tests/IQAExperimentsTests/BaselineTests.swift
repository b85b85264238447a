import Foundation
import IQAData
import IQATestSupport
import Testing
@testable import IQAExperiments
@testable import IQATraining

@Suite("Baselines on the training splits", .serialized)
struct BaselineTests {
    static func keys(_ url: URL) throws -> (top: Set<String>, split: Set<String>, summary: Set<String>) {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let split = try #require((json["splits"] as? [[String: Any]])?.first)
        let summary = try #require(json["summary"] as? [String: Any])
        return (Set(json.keys), Set(split.keys), Set(summary.keys))
    }

    @Test("every method writes metrics.json in the shape of a training run, on the same splits, and a rerun keeps it",
          arguments: BaselineMethod.allCases)
    func methods(_ method: BaselineMethod) throws {
        let data = try MiniAGIQA3k(trainPrompts: 7, testPrompts: 3)
        defer { data.remove() }
        var config = MiniAGIQA3k.config(epochs: 1)
        config.splitProtocol = .grouped
        config.splits = 2
        config.plots = false
        let silent = ProgressReporter(style: .silent)
        let train = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                output: data.file("train"), progress: silent)
        try train.run()

        var job = BaselineJob(method: method, clip: data.clip.path, dataset: .agiqa3k, labels: data.labels.path, root: data.images.path)
        job.splitProtocol = .grouped
        job.splits = 2
        job.resolution = 64
        job.clipIQA.resolution = 64
        let out = data.file("baseline")
        let report = try BaselineRunner(job: job, output: out, splits: train.splits, progress: silent).run()
        #expect(try SplitSet.read(from: RunLayout(out).splits).splits == train.splits)
        #expect(report.outputs == ["quality", "alignment"])
        #expect(report.splits.count == 2)
        // The tiny random CLIP's image embeddings hardly differ between images, so the zero-shot scores may be constant
        // on a part (metrics undefined, null in the JSON); the ridge probes learn from the labels and are always defined.
        let defined = report.splits.allSatisfy { $0.history[0].test.agg != nil && $0.history[0].validation?.agg != nil }
        if method == .ridgeImage || method == .ridgeImageText { #expect(defined) }
        for s in report.splits {
            #expect(s.history.count == 1)
            #expect(s.validationCount == train.splits[s.split].validation?.count)
            #expect(s.testCount == train.splits[s.split].test.count)
            #expect(s.finalEpoch?.epoch == 1)
            if defined { #expect(s.validationSelected?.epoch == 1 && s.bestTestEpoch?.epoch == 1) }
        }
        if defined {
            let a = try Self.keys(RunLayout(out).metrics), b = try Self.keys(RunLayout(data.file("train")).metrics)
            #expect(a.top == b.top && a.split == b.split && a.summary == b.summary)
        }

        // Run again: nothing is recomputed, the same report comes back.
        let before = try ScratchFolder.listing(out) { $0.hasSuffix("result.json") }
        let again = try BaselineRunner(job: job, output: out, progress: silent).run()
        #expect(again.splits == report.splits)
        #expect(try ScratchFolder.listing(out) { $0.hasSuffix("result.json") } == before)
    }

    @Test("CLIPScore with and without the logistic mapping run on the same splits; a fresh rerun repeats the numbers")
    func zeroShotAndLogistic() throws {
        let data = try MiniAGIQA3k(trainPrompts: 7, testPrompts: 3)
        defer { data.remove() }
        let silent = ProgressReporter(style: .silent)
        func run(_ method: BaselineMethod, folder: String? = nil) throws -> RunReport {
            var job = BaselineJob(method: method, clip: data.clip.path, dataset: .agiqa3k, labels: data.labels.path, root: data.images.path)
            job.splitProtocol = .grouped
            job.splits = 2
            job.resolution = 64
            return try BaselineRunner(job: job, output: data.file(folder ?? method.rawValue), progress: silent).run()
        }
        let raw = try run(.clipscore), mapped = try run(.clipscoreLogistic)
        #expect(raw.splits.map(\.split) == mapped.splits.map(\.split))
        #expect(zip(raw.splits, mapped.splits).allSatisfy { $0.testCount == $1.testCount })
        // Deterministic: a second run into a fresh folder repeats every number.
        let again = try run(.clipscore, folder: "clipscore-again")
        #expect(again.splits.map { $0.history.map(\.numbers) } == raw.splits.map { $0.history.map(\.numbers) })
    }

    @Test("a directory holding another baseline is refused, naming it")
    func otherJob() throws {
        let data = try MiniAGIQA3k(trainPrompts: 7, testPrompts: 3)
        defer { data.remove() }
        var job = BaselineJob(method: .clipscore, clip: data.clip.path, dataset: .agiqa3k, labels: data.labels.path, root: data.images.path)
        job.splitProtocol = .grouped
        job.splits = 1
        job.resolution = 64
        let out = data.file("b")
        try BaselineRunner(job: job, output: out, progress: ProgressReporter(style: .silent)).run()
        job.method = .clipIQA
        #expect { _ = try BaselineRunner(job: job, output: out) } throws: { $0.localizedDescription.contains(out.path) }
    }
}
