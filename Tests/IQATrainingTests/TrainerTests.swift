import CLIP
import CLIPTokenizer
import Foundation
import IQAData
import Imaging
import NN
import Tensor
import IQATestSupport
import Testing
@testable import IQAModel
@testable import IQATraining

struct StepReference: Decodable {
    struct Parameter: Decodable { let grad_norm: Double; let grad: [Float]; let after: [Float]; let before: [Float] }
    let tokens: [[Int32]]
    let targets: [[Float]]
    let scores: [[Float]]
    let loss: Double
    let learning_rate: Double
    let head_scale: Double
    let parameters: [String: Parameter]
    let buffers_after: [String: [Float]]
    let frozen_unchanged: [String]
}

@Suite("IP-IQA trainer", .serialized)
struct TrainerTests {
    static func fixture(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name)
    }

    @Test("one training step of the full model matches PyTorch (loss, gradients, parameters, BN statistics; rel 1e-4)")
    func stepMatchesPyTorch() throws {
        let ref = try JSONDecoder().decode(StepReference.self, from: Data(contentsOf: Self.fixture("iqa_step.json")))
        let (model, _) = try IPIQACheckpoint.load(Self.fixture("iqa_step_model.safetensors"))
        model.setMode(training: true)
        var config = TrainingConfiguration()
        config.learningRate = ref.learning_rate
        config.headLearningRateScale = ref.head_scale
        let optimizer = TrainingStep.makeOptimizer(model, config: config)
        let frozen = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.0, $0.1) })
        let frozenBefore = ref.frozen_unchanged.map { frozen[$0]?.value.array ?? [] }
        let batch = TrainingBatch(images: PatternImages.tensor(4, size: 96), tokens: ref.tokens,
                                  targets: Tensor(shape: [4, 2], values: ref.targets.flatMap { $0 }), names: ["a", "b", "c", "d"])
        let loss = try TrainingStep.run(model: model, optimizer: optimizer, batch: batch, microBatch: 4, maxGradNorm: nil)
        #expect(abs(loss - ref.loss) <= 1e-4 * abs(ref.loss))

        let params = frozen
        let moments = optimizer.stateDict()
        for (name, expected) in ref.parameters {
            let p = try #require(params[name], "\(name)")
            #expect(p.requiresGrad, "\(name) should train")
            // exp_avg after the first step is (1 − β₁)·g.
            let m = try #require(moments[name + ".exp_avg"], "\(name) has no optimizer state")
            let grad = m.array.map { $0 / 0.1 }
            let norm = grad.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - expected.grad_norm) <= 1e-3 * expected.grad_norm + 1e-9, "\(name) gradient norm \(norm) vs \(expected.grad_norm)")
            let gScale = Float(expected.grad_norm)
            for (a, b) in zip(grad, expected.grad) { #expect(abs(a - b) <= 1e-3 * gScale + 1e-8, "\(name) gradient \(a) vs \(b)") }
            for (a, b) in zip(p.value.array, expected.after) { #expect(abs(a - b) <= 1e-4 * abs(b) + 1e-7, "\(name) after step \(a) vs \(b)") }
        }
        let buffers = Dictionary(uniqueKeysWithValues: model.namedBuffers())
        for (name, expected) in ref.buffers_after {
            let t = try #require(buffers[name], "\(name)")
            for (a, b) in zip(t.array, expected) { #expect(abs(a - b) <= 1e-4 * abs(b) + 1e-6, "\(name) \(a) vs \(b)") }
        }
        #expect(ref.frozen_unchanged.map { frozen[$0]?.value.array ?? [] } == frozenBefore)
        #expect(ref.frozen_unchanged.allSatisfy { frozen[$0]?.requiresGrad == false })
    }

    @Test("end to end: AGIQA-3k labels, 1 epoch, 1 split → metrics.json, resumable state gone, model files that load, plots")
    func endToEnd() throws {
        let data = try MiniAGIQA3k()
        defer { data.remove() }
        let out = data.directory.appendingPathComponent("run")
        let trainer = try Trainer(config: MiniAGIQA3k.config(), clip: data.clip, dataset: .agiqa3k, labels: data.labels,
                                  root: data.images, output: out, progress: ProgressReporter(style: .silent))
        let report = try trainer.run()
        #expect(report.complete && report.splits.count == 1)
        let split = report.splits[0]
        #expect(split.validationCount == nil && split.validationSelected == nil)   // official protocol: no validation part
        #expect(split.bestTestEpoch?.epoch == 1)
        #expect(split.history.count == 1 && split.history[0].trainLoss.isFinite)

        let layout = RunLayout(out)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: layout.metrics)) as? [String: Any]
        let entry = try #require((json?["splits"] as? [[String: Any]])?.first)
        #expect(entry["quality"] is [String: Any] && entry["alignment"] is [String: Any])
        #expect(entry["selection"] as? String == EpochSelection.bestTestEpoch.rawValue)
        #expect(entry["validation_selected"] is NSNull)
        #expect((json?["summary"] as? [String: Any])?["best_test_epoch_official"] is [String: Any])

        let (best, metadata) = try IPIQACheckpoint.load(layout.bestModel(0))
        #expect(best.config.outputNames == ["quality", "alignment"] && metadata["epoch"] == "1")
        _ = try IPIQACheckpoint.load(layout.finalModel(0))
        #expect(!FileManager.default.fileExists(atPath: layout.trainingState(0).path))
        for png in ["scatter_quality.png", "scatter_alignment.png", "loss.png", "srcc.png"] {
            _ = try ImageCodec.decode(contentsOf: layout.file(0, png))
        }

        // The saved model re-evaluated with `Evaluation` gives the reported test metrics.
        let ds = try DatasetLoader.load(.agiqa3k, labels: data.labels)
        let test = try LabeledImages(samples: ds.samples(named: trainer.splits[0].test), root: data.images, tokenizer: CLIPTokenizer())
        let again = try Evaluation.evaluate(best, on: test, batchSize: 5).metrics
        #expect(again.sets.map { $0?.srcc } == split.bestTestEpoch?.test.sets.map { $0?.srcc })
    }

    @Test("grouped protocol reports the validation-selected epoch beside the official best test epoch")
    func groupedProtocol() throws {
        let data = try MiniAGIQA3k(trainPrompts: 6, testPrompts: 3)
        defer { data.remove() }
        var config = MiniAGIQA3k.config(epochs: 2)
        config.splitProtocol = .grouped
        config.grouped = GroupedSplitConfiguration(trainFraction: 0.5, validationFraction: 0.25, testFraction: 0.25)
        config.useText = false
        config.head = .linear
        config.plots = false
        let trainer = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                  output: data.directory.appendingPathComponent("run"), progress: ProgressReporter(style: .silent))
        let split = try trainer.run().splits[0]
        #expect(split.validationCount != nil && split.history.count == 2)
        let chosen = try #require(split.validationSelected)
        let aggs = split.history.map { $0.validation?.agg ?? -.infinity }
        #expect(chosen.epoch == (aggs[1] > aggs[0] ? 2 : 1))
        #expect(split.headline.selection == .validation)
    }

    @Test("a missing or a corrupt image fails before any training step, naming the file")
    func badImagesFailEarly() throws {
        let data = try MiniAGIQA3k()
        defer { data.remove() }
        let missing = data.names[3], corrupt = data.names[5]
        try FileManager.default.removeItem(at: data.images.appendingPathComponent(missing))
        var steps = 0
        func attempt(_ name: String) throws -> String {
            let trainer = try Trainer(config: MiniAGIQA3k.config(), clip: data.clip, dataset: .agiqa3k, labels: data.labels,
                                      root: data.images, output: data.directory.appendingPathComponent(name),
                                      progress: ProgressReporter(style: .silent))
            trainer.afterStep = { _ in steps += 1 }
            do { try trainer.run() } catch { return (error as? LocalizedError)?.errorDescription ?? "\(error)" }
            Issue.record("the run should fail")
            return ""
        }
        let first = try attempt("run1")
        #expect(first.contains(missing))
        try ImageCodec.writePNG(RGBImage(width: 8, height: 8), to: data.images.appendingPathComponent(missing))
        try Data("not an image at all".utf8).write(to: data.images.appendingPathComponent(corrupt))
        let second = try attempt("run2")
        #expect(second.contains(corrupt))
        #expect(steps == 0)
    }

    @Test("configuration files: absent keys take the official defaults, unknown keys are an error")
    func configurationFile() throws {
        let scratch = try ScratchFolder("config")
        defer { scratch.remove() }
        let good = scratch.file("good.json"), bad = scratch.file("bad.json")
        try Data(#"{"epochs": 3, "qaToken": "table", "microBatch": 4}"#.utf8).write(to: good)
        try Data(#"{"epochs": 3, "learning_rate": 0.1}"#.utf8).write(to: bad)
        let c = try TrainingConfiguration.read(from: good)
        #expect(c.epochs == 3 && c.qaToken == .table && c.effectiveMicroBatch == 4)
        #expect(c.learningRate == 1e-5 && c.headLearningRateScale == 10 && c.weightDecay == 0 && c.batchSize == 32 && c.resolution == 512)
        #expect(try TrainingConfiguration.read(from: good) == c)
        #expect(throws: TrainingError.self) { try TrainingConfiguration.read(from: bad) }
        do { _ = try TrainingConfiguration.read(from: bad) } catch { #expect(error.localizedDescription.contains("learning_rate")) }
        let roundTrip = try JSONDecoder().decode(TrainingConfiguration.self, from: c.jsonData())
        #expect(roundTrip == c)
    }
}
