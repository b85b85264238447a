import Foundation
import IQATestSupport
import Testing

/// SIGINT / SIGTERM during `ipiqa experiment` and `ipiqa pretrain` (as for `ipiqa train` in HostileInputCLITests):
/// the running step finishes, nothing partial is written, the message says how to continue, the exit status is
/// 128 + the signal, and (for a grid) the same command then completes.
@Suite("ipiqa experiment and pretrain stop cleanly on signals", .serialized)
struct CleanStopCLITests {
    /// Reads the process's stderr until it contains `marker` (or the process ends / 120 s pass); returns what was read.
    static func waitForStderr(_ process: Process, _ marker: String) -> Data {
        let handle = (process.standardError as! Pipe).fileHandleForReading
        var seen = Data()
        let deadline = Date().addingTimeInterval(120)
        while !String(decoding: seen, as: UTF8.self).contains(marker), Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        return seen
    }

    static func partialFiles(under folder: URL) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.contains(".partial") }
    }

    @Test("SIGINT in a grid's training step: the cell's step finishes, exit 130, the same command then finishes the grid")
    func experimentStop() throws {
        let data = try MiniAGIQA3k(trainPrompts: 7, testPrompts: 3)
        defer { data.remove() }
        let grid = data.file("grid.json")
        try """
        {"name": "stop", "clip": "\(data.clip.path)", "splits": 1, "seed": 3,
         "base": {"epochs": 6, "resolution": 64, "batchSize": 4, "evalBatchSize": 8, "crossHeads": 2, "threads": 1, "plots": false},
         "datasets": [{"name": "mini", "dataset": "agiqa-3k", "labels": "\(data.labels.path)", "root": "\(data.images.path)", "protocol": "grouped"}],
         "variants": [{"name": "image only", "config": {"useText": false}}]}
        """.write(to: grid, atomically: true, encoding: .utf8)
        let out = data.file("out")
        let args = ["experiment", "--grid", grid.path, "--out", out.path]
        let process = try Binary.start(args)
        let state = out.appendingPathComponent("mini/image_only/split_00/training_state.safetensors")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: state.path) && process.isRunning && Date() < deadline { usleep(20_000) }
        try #require(process.isRunning, "the grid ended before it could be stopped")
        kill(process.processIdentifier, SIGINT)
        let err = String(decoding: (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGINT, "\(process.terminationStatus): \(err)")
        #expect(err.contains("stopped by SIGINT (cell mini / image only: split 1, epoch") && err.contains("abandoned after step"), "\(err)")
        #expect(err.contains("Continue with: ipiqa experiment --grid \(grid.path) --out \(out.path)"), "\(err)")
        #expect(try Self.partialFiles(under: out).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("tables").path))

        let (status, stdout, again) = try Binary.run(args)
        #expect(status == 0, "the rerun failed: \(again)")
        #expect(again.contains("mini / image only: resuming"), "\(again)")
        #expect(stdout.contains("| image only |"))
    }

    @Test("SIGTERM in a pre-training step: the step finishes, no checkpoint is written, exit 143 with how to start again")
    func pretrainStop() throws {
        let scratch = try ScratchFolder("cli-pretrain-stop")
        defer { scratch.remove() }
        let names = (0..<8).map { "p\($0).png" }
        try PatternImages.writePNGs(names, to: scratch.url)
        let csv = scratch.file("corpus.csv")
        try (["image,prompt"] + names.enumerated().map { "\($0.element),a photo number \($0.offset)" }).joined(separator: "\n")
            .appending("\n").write(to: csv, atomically: true, encoding: .utf8)
        let clip = scratch.file("clip.safetensors")
        try TrainerFixtures.saveCLIP(to: clip)
        let out = scratch.file("i2p.safetensors")
        let process = try Binary.start(["pretrain", "--clip", clip.path, "--corpus", csv.path, "--out", out.path, "--threshold=-2",
                                        "--epochs", "500", "--batch-size", "2", "--resolution", "64", "--threads", "1"])
        // After step 2 is logged, step 1 has been checked: the run is inside its steps, so the signal finishes one.
        var err = Self.waitForStderr(process, "step 2/")
        try #require(process.isRunning && String(decoding: err, as: UTF8.self).contains("step 2/"),
                     "pre-training ended before it could be stopped: \(String(decoding: err, as: UTF8.self))")
        kill(process.processIdentifier, SIGTERM)
        err += (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: err, as: UTF8.self)
        #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGTERM, "\(process.terminationStatus): \(text)")
        #expect(text.contains("stopped by SIGTERM (epoch ") && text.contains("run the same command again"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(try Self.partialFiles(under: scratch.url).isEmpty)
    }
}
