import Foundation
import IQATestSupport
import Testing

/// The hostile-input cases through the binary: each ends with one error line naming the file or flag and the
/// problem, and an exit status ≠ 0; none crashes, hangs or prints raw Foundation error codes.
@Suite("ipiqa binary: hostile and careless inputs", .serialized)
struct HostileInputCLITests {
    private func expectFailure(_ args: [String], mentioning mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (status, _, err) = try Binary.run(args)
        #expect(status != 0 && status < 128, "status \(status) for \(args): \(err)", sourceLocation: sourceLocation)
        for m in mentions { #expect(err.contains(m), "stderr should mention '\(m)': \(err)", sourceLocation: sourceLocation) }
        #expect(!err.contains("NSCocoaErrorDomain") && !err.contains("Fatal error"), "\(err)", sourceLocation: sourceLocation)
    }

    @Test("--resolution and --context-length beyond their bounds are refused by flag validation (no hang, trap or crash)")
    func flagBounds() throws {
        for r in ["9223372036854775776", "65536", "48", "0"] {
            try expectFailure(["embed", "--clip", "/nonexistent.safetensors", "--image", "x.png", "--resolution", r], mentioning: ["--resolution", r])
        }
        for n in ["4611686018427387904", "0", "-3"] {
            try expectFailure(["tokenize", "--context-length", n, "hello"], mentioning: ["--context-length"])
        }
        let (ok, out, _) = try Binary.run(["tokenize", "--context-length", "8", "hello"])
        #expect(ok == 0 && out.hasPrefix("[49406,"))
    }

    @Test("score: a folder as image, /dev/null as model, an --output folder (checked before any work) are named with the problem")
    func scoreFiles() throws {
        let scratch = try ScratchFolder("cli-hostile-score")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        try expectFailure(["score", "--model", "/dev/null", "--image", "x.png", "--prompt", "p"], mentioning: ["/dev/null", "not a regular file"])
        try expectFailure(["score", "--model", model.path, "--image", scratch.url.path, "--prompt", "p"], mentioning: [scratch.url.path, "is a folder"])
        let csv = scratch.file("list.csv")
        try "image,prompt\nmissing.png,a cat\n".write(to: csv, atomically: true, encoding: .utf8)
        // The model does not exist either: the destination is what is checked first.
        try expectFailure(["score", "--model", scratch.file("absent.safetensors").path, "--csv", csv.path, "--output", scratch.url.path],
                          mentioning: [scratch.url.path, "is a folder"])
        try expectFailure(["score", "--model", model.path, "--csv", csv.path, "--output", scratch.file("no/such/folder/out.csv").path],
                          mentioning: ["does not exist"])
    }

    @Test("score: a model with NaN weights or bad metadata fails naming the file and the tensor or value")
    func scoreBadModels() throws {
        let scratch = try ScratchFolder("cli-hostile-model")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        let image = scratch.file("img.png")
        try PatternImages.writePNGs(["img.png"], to: scratch.url)
        let nan = try ForgedFile.rewrite(model, to: scratch.file("nan.safetensors")) { $0.set("qa_token", to: .nan) }
        try expectFailure(["score", "--model", nan.path, "--image", image.path, "--prompt", "a cat"], mentioning: [nan.path, "qa_token", "NaN"])
        for heads in [1 << 62, 0, 7] {
            let bad = try ForgedFile.rewrite(model, to: scratch.file("h\(heads).safetensors")) { f in f.json("ipiqa_config") { $0["crossHeads"] = heads } }
            try expectFailure(["score", "--model", bad.path, "--image", image.path, "--prompt", "a cat"], mentioning: [bad.path, "crossHeads"])
        }
        let zero = try ForgedFile.rewrite(model, to: scratch.file("t0.safetensors")) { f in f.json("clip_config") { $0["transformerHeads"] = 0 } }
        try expectFailure(["score", "--model", zero.path, "--image", image.path, "--prompt", "a cat"], mentioning: [zero.path, "transformerHeads"])
        let layers = try ForgedFile.rewrite(model, to: scratch.file("layers.safetensors")) { f in
            f.json("clip_config") { $0["visionLayers"] = [1_000_000, 1, 1, 1] }
        }
        try expectFailure(["score", "--model", layers.path, "--image", image.path, "--prompt", "a cat"], mentioning: [layers.path, "visionLayers"])
    }

    @Test("embed: a CLIP checkpoint with NaN weights fails naming the file and the tensor")
    func embedNaN() throws {
        let scratch = try ScratchFolder("cli-hostile-clip")
        defer { scratch.remove() }
        let clip = scratch.file("clip.safetensors")
        try TrainerFixtures.saveCLIP(to: clip)
        let bad = try ForgedFile.rewrite(clip, to: scratch.file("nan.safetensors")) { $0.set("text_projection", index: 5, to: .nan) }
        try expectFailure(["embed", "--clip", bad.path, "--prompt", "a cat"], mentioning: [bad.path, "text_projection", "NaN"])
    }

    @Test("evaluate on a label file with a header only fails naming the file")
    func evaluateHeaderOnly() throws {
        let scratch = try ScratchFolder("cli-hostile-eval")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        let labels = scratch.file("labels.csv")
        try "image,prompt,quality,alignment\n".write(to: labels, atomically: true, encoding: .utf8)
        try expectFailure(["evaluate", "--model", model.path, "--dataset", "csv", "--labels", labels.path, "--root", scratch.url.path,
                           "--score-columns", "quality,alignment"], mentioning: [labels.path, "no data rows"])
    }

    @Test("train --cross-heads 7 fails before anything is written; a failed run does not block the same --out")
    func trainEarlyFailures() throws {
        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        let out = data.directory.appendingPathComponent("run")
        var args = data.trainArguments(out: out)
        args[args.firstIndex(of: "6")!] = "1"
        var heads = args
        heads[heads.firstIndex(of: "--cross-heads")! + 1] = "7"
        try expectFailure(heads, mentioning: ["crossHeads", "7"])
        #expect(!FileManager.default.fileExists(atPath: out.path))

        let victim = data.images.appendingPathComponent(data.names[0])
        let good = try Data(contentsOf: victim)
        try Data("not an image".utf8).write(to: victim)
        try expectFailure(args, mentioning: [data.names[0]])
        try good.write(to: victim)
        let (status, _, err) = try Binary.run(args)
        #expect(status == 0, "retry into the same --out failed: \(err)")
    }

    @Test("two trainers on one --out: the second is refused naming the first's pid; the first's files stay its own")
    func twoWriters() throws {
        let data = try MiniAGIQA3k(trainPrompts: 2, testPrompts: 1)
        defer { data.remove() }
        let out = data.directory.appendingPathComponent("run")
        var long = data.trainArguments(out: out)
        long[long.firstIndex(of: "6")!] = "200"            // still running when the second starts; stopped below
        let first = try Binary.start(long)
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: out.appendingPathComponent("run.json").path) && first.isRunning && Date() < deadline {
            usleep(20_000)
        }
        try #require(first.isRunning, "the first run ended before the second could start")
        var second = data.trainArguments(out: out)
        second[second.firstIndex(of: "--lr")! + 1] = "3e-4"
        try expectFailure(second, mentioning: [out.path, "pid \(first.processIdentifier)"])
        #expect(first.isRunning)
        kill(first.processIdentifier, SIGINT)
        first.waitUntilExit()
        #expect(first.terminationStatus == 128 + SIGINT)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("run.json"))) as? NSDictionary
        #expect((manifest?["config"] as? NSDictionary)?["learningRate"] as? Double == 1e-4, "run.json must be the first run's")
    }

    @Test("SIGINT or SIGTERM during training: the step finishes, nothing partial is written, exit 128+signal, --resume completes")
    func cleanStop() throws {
        for (sig, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            let data = try MiniAGIQA3k(trainPrompts: 2, testPrompts: 1)
            defer { data.remove() }
            let out = data.directory.appendingPathComponent("run")
            let process = try Binary.start(data.trainArguments(out: out))
            let state = out.appendingPathComponent("split_00/training_state.safetensors")
            let deadline = Date().addingTimeInterval(120)
            while !FileManager.default.fileExists(atPath: state.path) && process.isRunning && Date() < deadline { usleep(20_000) }
            try #require(process.isRunning, "the run ended before it could be stopped")
            kill(process.processIdentifier, sig)
            let err = String(decoding: (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 128 + sig, "\(process.terminationStatus): \(err)")
            #expect(err.contains("stopped by \(name)") && err.contains("--resume \(out.path)"), "\(err)")
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.contains(".partial") }
            #expect(leftovers.isEmpty, "\(leftovers)")
            let (status, _, resumeErr) = try Binary.run(["train", "--resume", out.path, "--threads", "1"])
            #expect(status == 0, "resume failed: \(resumeErr)")
        }
    }
}
