import Checkpoints
import Foundation
import IQATestSupport
import Testing

/// End-to-end checks of the built `ipiqa` binary (SwiftPM builds it next to the test bundle).
enum Binary {
    static var url: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("ipiqa")
    }

    /// Runs `ipiqa args` to completion; returns (status, stdout, stderr).
    @discardableResult
    static func run(_ args: [String]) throws -> (Int32, String, String) {
        let p = try start(args)
        let out = (p.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        let err = (p.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    static func start(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = url
        p.arguments = args
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        try p.run()
        return p
    }
}

extension MiniAGIQA3k {
    /// `ipiqa train` on this folder: 6 epochs, 1 split, 64 px, batches of 4, 2 cross heads, 1 thread, no plots.
    func trainArguments(out: URL) -> [String] {
        ["train", "--clip", clip.path, "--dataset", "agiqa-3k", "--labels", labels.path, "--root", images.path,
         "--epochs", "6", "--splits", "1", "--resolution", "64", "--batch-size", "4", "--cross-heads", "2",
         "--lr", "1e-4", "--threads", "1", "--out", out.path, "--no-plots"]
    }
}

@Suite("ipiqa binary end to end", .serialized)
struct KillResumeTests {
    @Test("kill -9 in mid-epoch, then --resume: no corrupt file, and the same metrics as an uninterrupted run")
    func killAndResume() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Binary.url.path), "ipiqa not built at \(Binary.url.path)")
        let data = try MiniAGIQA3k(trainPrompts: 9, testPrompts: 3)
        defer { data.remove() }
        let reference = data.directory.appendingPathComponent("reference")
        let (status, _, err) = try Binary.run(data.trainArguments(out: reference))
        #expect(status == 0, "uninterrupted run failed: \(err)")

        let killed = data.directory.appendingPathComponent("killed")
        let process = try Binary.start(data.trainArguments(out: killed))
        let state = killed.appendingPathComponent("split_00/training_state.safetensors")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: state.path) && process.isRunning && Date() < deadline {
            usleep(20_000)
        }
        #expect(process.isRunning, "the run ended before it could be killed")
        usleep(150_000)                       // well into the next epoch
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)

        // Whatever was on disk at the kill is whole: JSON parses, safetensors load.
        for name in try FileManager.default.subpathsOfDirectory(atPath: killed.path)
            where !name.contains(".tmp") && !name.contains(".partial") {
            let url = killed.appendingPathComponent(name)
            if name.hasSuffix(".json") { _ = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) }
            if name.hasSuffix(".safetensors") { _ = try CheckpointLoader.load(url) }
        }

        let (resumeStatus, _, resumeErr) = try Binary.run(["train", "--resume", killed.path, "--threads", "1"])
        #expect(resumeStatus == 0, "resume failed: \(resumeErr)")
        let a = try JSONSerialization.jsonObject(with: Data(contentsOf: reference.appendingPathComponent("metrics.json"))) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: Data(contentsOf: killed.appendingPathComponent("metrics.json"))) as? NSDictionary
        #expect(a != nil && a?["splits"] as? NSArray == b?["splits"] as? NSArray)
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: killed.path)
            .filter { $0.contains(".tmp") || $0.contains(".partial") }
        #expect(leftovers.isEmpty, "temporary files left behind: \(leftovers)")
    }

    @Test("a dataset with a corrupt image fails before training, naming the file, exit ≠ 0")
    func corruptImage() throws {
        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        let victim = try FileManager.default.contentsOfDirectory(atPath: data.images.path).sorted()[3]
        try Data("not a png at all".utf8).write(to: data.images.appendingPathComponent(victim))
        let out = data.directory.appendingPathComponent("run")
        let (status, _, err) = try Binary.run(data.trainArguments(out: out))
        #expect(status != 0)
        #expect(err.contains(victim), "stderr: \(err)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("split_00/model_final.safetensors").path))
    }

    @Test("score on a trained model returns both outputs as JSON")
    func scoreAfterTraining() throws {
        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        let out = data.directory.appendingPathComponent("run")
        var args = data.trainArguments(out: out)
        args[args.firstIndex(of: "6")!] = "1"
        let (status, _, err) = try Binary.run(args)
        #expect(status == 0, "\(err)")
        let image = try FileManager.default.contentsOfDirectory(atPath: data.images.path).sorted()[0]
        let (s, stdout, serr) = try Binary.run(["score", "--model", out.appendingPathComponent("split_00/model_final.safetensors").path,
                                                "--image", data.images.appendingPathComponent(image).path,
                                                "--prompt", "a red apple on a table", "--json"])
        #expect(s == 0, "\(serr)")
        let json = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Double]
        #expect(json?["quality"] != nil && json?["alignment"] != nil, "\(stdout)")
    }
}
