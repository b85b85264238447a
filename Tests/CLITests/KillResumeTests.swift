import CLIP
import Checkpoints
import Foundation
import Imaging
import IQAData
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

/// A folder shaped like AGIQA-3k: the real `data.csv` rows of a few prompts and small generated PNGs with those names,
/// plus a tiny random CLIP checkpoint.
struct MiniAGIQAFolder {
    let directory: URL, images: URL, labels: URL, clip: URL

    init(prompts: Int) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ipiqa-cli-\(UUID().uuidString)")
        images = directory.appendingPathComponent("images")
        labels = directory.appendingPathComponent("data.csv")
        clip = directory.appendingPathComponent("clip.safetensors")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let source = try String(contentsOf: DatasetLoader.bundledResource(AGIQAConstants.agiqa3kLabels), encoding: .utf8)
        var lines = source.split(whereSeparator: \.isNewline).map(String.init)
        let header = lines.removeFirst()
        // Every generator's image of prompts 000 ..< prompts (the prompt id is the number after the last "_").
        let chosen = lines.filter { line in
            let name = line.prefix { $0 != "," }
            guard let id = Int(name.split(separator: "_").last?.split(separator: ".").first ?? "") else { return false }
            return id < prompts
        }
        try ([header] + chosen).joined(separator: "\n").appending("\n").write(to: labels, atomically: true, encoding: .utf8)
        for (i, line) in chosen.enumerated() {
            let name = String(line.prefix { $0 != "," })
            var pixels = [UInt8](repeating: 0, count: 48 * 40 * 3)
            for p in 0..<(48 * 40) {
                pixels[3 * p] = UInt8((p * 7 + i * 31) % 256)
                pixels[3 * p + 1] = UInt8((p / 48 * 5 + i * 17) % 256)
                pixels[3 * p + 2] = UInt8((i * 53 + p % 13) % 256)
            }
            try ImageCodec.writePNG(try RGBImage(width: 48, height: 40, pixels: pixels), to: images.appendingPathComponent(name))
        }
        let config = CLIPConfiguration(embedDim: 16, imageResolution: 64, visionLayers: [1, 1, 1, 1], visionWidth: 4,
                                       visionHeads: 2, contextLength: 77, vocabSize: 49408, transformerWidth: 16,
                                       transformerHeads: 2, transformerLayers: 1)
        try CLIPModel(config: config, seed: 3).save(to: clip)
    }

    func trainArguments(out: URL) -> [String] {
        ["train", "--clip", clip.path, "--dataset", "agiqa-3k", "--labels", labels.path, "--root", images.path,
         "--epochs", "6", "--splits", "1", "--resolution", "64", "--batch-size", "4", "--cross-heads", "2",
         "--lr", "1e-4", "--threads", "1", "--out", out.path, "--no-plots"]
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

@Suite("ipiqa binary end to end", .serialized)
struct KillResumeTests {
    @Test("kill -9 in mid-epoch, then --resume: no corrupt file, and the same metrics as an uninterrupted run")
    func killAndResume() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Binary.url.path), "ipiqa not built at \(Binary.url.path)")
        let data = try MiniAGIQAFolder(prompts: 12)
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
        let data = try MiniAGIQAFolder(prompts: 2)
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
        let data = try MiniAGIQAFolder(prompts: 2)
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
