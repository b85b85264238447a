import Checkpoints
import Foundation
import IQAData
import IQATestSupport
import Tensor
import Testing
@testable import IQATraining

/// Thrown by a step hook to simulate a kill.
private struct SimulatedKill: Error {}

@Suite("IP-IQA trainer resume", .serialized)
struct ResumeTests {
    /// Tensor values of a model file, by key.
    static func tensors(_ url: URL) throws -> [String: [Float]] {
        try CheckpointLoader.load(url).tensors.mapValues(\.values)
    }

    @Test("a run stopped in mid-epoch and resumed ends with exactly the numbers and weights of an uninterrupted run")
    func resumeIsExact() throws { try ThreadCountLock.exclusive { try resumeIsExactLocked() } }
    func resumeIsExactLocked() throws {
        let data = try MiniAGIQA3k()
        defer { data.remove() }
        var config = MiniAGIQA3k.config(epochs: 2)
        config.splits = 2
        config.dropout = 0.5     // dropout masks must also be restored
        config.microBatch = 4
        let reference = data.directory.appendingPathComponent("reference")
        let full = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                               output: reference, progress: ProgressReporter(style: .silent)).run()

        // Kill in split 0 / epoch 2, after its first step (epoch 1 is checkpointed).
        let resumed = data.directory.appendingPathComponent("resumed")
        let first = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                output: resumed, progress: ProgressReporter(style: .silent))
        first.afterStep = { event in if event.split == 0 && event.epoch == 2 && event.step == 1 { throw SimulatedKill() } }
        #expect(throws: SimulatedKill.self) { try first.run() }
        let layout = RunLayout(resumed)
        #expect(FileManager.default.fileExists(atPath: layout.trainingState(0).path))
        // Every file left behind is whole: metrics.json parses, the state loads.
        _ = try JSONSerialization.jsonObject(with: Data(contentsOf: layout.metrics))
        _ = try CheckpointLoader.load(layout.trainingState(0), normalization: .none)

        // Kill again in split 1 / epoch 1 (nothing checkpointed for split 1 yet), then finish.
        let second = try Trainer.resume(directory: resumed, progress: ProgressReporter(style: .silent))
        var seen: [(Int, Int, Int)] = []
        second.afterStep = { event in
            seen.append((event.split, event.epoch, event.step))
            if event.split == 1 && event.step == 2 { throw SimulatedKill() }
        }
        #expect(throws: SimulatedKill.self) { try second.run() }
        #expect(seen.first.map { $0.0 == 0 && $0.1 == 2 && $0.2 == 1 } == true)   // restarted at split 0, epoch 2
        let done = try Trainer.resume(directory: resumed, progress: ProgressReporter(style: .silent)).run()

        #expect(done.splits.count == 2)
        #expect(done.splits.map { $0.history.map(\.numbers) } == full.splits.map { $0.history.map(\.numbers) })
        #expect(done.splits.map(\.bestTestEpoch) == full.splits.map(\.bestTestEpoch))
        for k in 0..<2 {
            #expect(try Self.tensors(layout.finalModel(k)) == Self.tensors(RunLayout(reference).finalModel(k)))
            #expect(try Self.tensors(layout.bestModel(k)) == Self.tensors(RunLayout(reference).bestModel(k)))
        }
        #expect(done.complete)
    }

    @Test("resume refuses a state written with another configuration, and a new run refuses an existing directory")
    func resumeGuards() throws {
        let data = try MiniAGIQA3k()
        defer { data.remove() }
        let out = data.directory.appendingPathComponent("run")
        let config = MiniAGIQA3k.config(epochs: 2)
        let trainer = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                  output: out, progress: ProgressReporter(style: .silent))
        trainer.afterStep = { event in if event.epoch == 2 { throw SimulatedKill() } }
        #expect(throws: SimulatedKill.self) { try trainer.run() }
        #expect(throws: TrainingError.self) {
            try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images, output: out)
        }
        // Tamper with run.json: the training state no longer fits.
        var manifest = try RunManifest.read(from: RunLayout(out).manifest)
        manifest.config.learningRate = 0.5
        try manifest.write(to: RunLayout(out).manifest)
        do {
            try Trainer.resume(directory: out, progress: ProgressReporter(style: .silent)).run()
            Issue.record("resume with another configuration should fail")
        } catch let e as TrainingError {
            #expect(e.localizedDescription.contains("training_state.safetensors"))
        }
    }

    @Test("progress: plain lines off a terminal with rate and ETA")
    func progressLines() {
        let lines = LineSink()
        let p = ProgressReporter(style: .lines, interval: 0, write: { lines.append($0) })
        p.start(label: "epoch 1/2", total: 4, unit: "batches")
        for i in 1...4 { p.update(done: i, detail: "loss 0.5") }
        p.finish()
        let text = lines.text
        #expect(text.components(separatedBy: "4/4").count == 2)    // the final state once
        #expect(text.contains("4/4") && text.contains("ETA") && text.contains("loss 0.5"))
        #expect(ProgressReporter.clock(3725) == "1:02:05" && ProgressReporter.clock(65) == "1:05")
    }
}

/// Collects written progress text (thread-safe).
private final class LineSink: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func append(_ s: String) { lock.lock(); parts.append(s); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return parts.joined() }
}
