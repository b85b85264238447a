import Foundation
import IQAData
import IQATestSupport
import Testing
@testable import IQATraining

/// One writer per run folder, and failures before the first epoch that leave nothing in the way of a retry.
@Suite("Run folders: lock, retry after early failure, configuration checked first", .serialized)
struct RunFolderTests {
    @Test("a second lock on a run folder fails naming the holder's pid; the lock goes with its holder")
    func lock() throws {
        let scratch = try ScratchFolder("runlock")
        defer { scratch.remove() }
        let folder = scratch.file("run")
        var first: RunLock? = try RunLock(directory: folder)
        #expect(first != nil)
        #expect(throws: TrainingError.runLocked(directory: folder.path, pid: getpid())) { _ = try RunLock(directory: folder) }
        let text = TrainingError.runLocked(directory: folder.path, pid: getpid()).errorDescription ?? ""
        #expect(text.contains(folder.path) && text.contains("pid \(getpid())"))
        first = nil
        _ = try RunLock(directory: folder)
    }

    @Test("a new run into a folder that another trainer holds is refused; nothing of the first run is touched")
    func concurrentTrainers() throws {
        let data = try MiniAGIQA3k(trainPrompts: 2, testPrompts: 1)
        defer { data.remove() }
        let out = data.file("run")
        let first = try Trainer(config: MiniAGIQA3k.config(), clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images, output: out)
        let splits = try Data(contentsOf: first.layout.splits)
        var other = MiniAGIQA3k.config()
        other.seed = 7
        #expect(throws: TrainingError.runLocked(directory: out.path, pid: getpid())) {
            _ = try Trainer(config: other, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images, output: out)
        }
        #expect(throws: TrainingError.runLocked(directory: out.path, pid: getpid())) { _ = try Trainer.resume(directory: out) }
        #expect(try Data(contentsOf: first.layout.splits) == splits)
    }

    @Test("a run that failed before its first epoch does not block a retry into the same folder; one with progress does")
    func retryAfterEarlyFailure() throws {
        let data = try MiniAGIQA3k(trainPrompts: 2, testPrompts: 1)
        defer { data.remove() }
        let out = data.file("run")
        let victim = data.images.appendingPathComponent(data.names[0])
        let good = try Data(contentsOf: victim)
        try Data("not an image".utf8).write(to: victim)
        #expect(throws: TrainingError.self) {
            try Trainer(config: MiniAGIQA3k.config(), clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images, output: out).run()
        }
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("run.json").path))
        try good.write(to: victim)
        let report = try Trainer(config: MiniAGIQA3k.config(), clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                 output: out).run()
        #expect(report.complete)
        #expect(throws: TrainingError.self) {
            _ = try Trainer(config: MiniAGIQA3k.config(), clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images, output: out)
        }
    }

    @Test("temporary files left by a killed writer are removed by the next one; other files stay")
    func staleTemporaryFiles() throws {
        let scratch = try ScratchFolder("stale-partial")
        defer { scratch.remove() }
        let layout = RunLayout(scratch.url)
        try FileManager.default.createDirectory(at: layout.splitDirectory(0), withIntermediateDirectories: true)
        let stale = [".metrics.999-1.partial.json", "split_00/.model_best.999-6.partial.safetensors"]
        let kept = ["metrics.json", "split_00/model_best.safetensors", "split_00/notes.partial.txt"]
        for name in stale + kept { try Data("x".utf8).write(to: scratch.file(name)) }
        #expect(Set(layout.removeStaleTemporaryFiles()) == Set(stale))
        for name in stale { #expect(!FileManager.default.fileExists(atPath: scratch.file(name).path)) }
        for name in kept { #expect(FileManager.default.fileExists(atPath: scratch.file(name).path)) }
    }

    @Test("batches whose activations cannot fit in memory are refused before the run folder is created")
    func memoryFirst() throws {
        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        let out = data.file("run")
        var config = MiniAGIQA3k.config()
        config.resolution = 4096
        config.batchSize = 1 << 20
        config.evalBatchSize = 1 << 20
        do {
            _ = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images, output: out)
            Issue.record("a batch of 2^20 images of 4096 px was accepted")
        } catch {
            #expect(error.localizedDescription.contains("lower the batch size or the resolution"), "\(error.localizedDescription)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("cross heads that do not divide the checkpoint's channels are refused before the run folder is created")
    func crossHeadsFirst() throws {
        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        let out = data.file("run")
        for heads in [7, 3, 5000, 0] {
            var config = MiniAGIQA3k.config()
            config.crossHeads = heads
            do {
                _ = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images, output: out)
                Issue.record("crossHeads \(heads) accepted")
            } catch {
                #expect("\(error.localizedDescription)".contains("crossHeads"), "\(error.localizedDescription)")
            }
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
    }
}
