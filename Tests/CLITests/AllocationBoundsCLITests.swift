import CLIP
import Foundation
import IQATestSupport
import Testing

/// Sizes that come from flags or from a checkpoint are checked before any tensor is made from them: each case ends
/// with an error naming what asked for the memory, never with the allocator's trap ("Storage: cannot allocate").
@Suite("ipiqa binary: allocations sized by input are refused as errors", .serialized)
struct AllocationBoundsCLITests {
    private func expectRefused(_ args: [String], mentioning mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (status, _, err) = try Binary.run(args)
        #expect(status != 0 && status < 128, "status \(status) for \(args): \(err)", sourceLocation: sourceLocation)
        for m in mentions { #expect(err.contains(m), "stderr should mention '\(m)': \(err)", sourceLocation: sourceLocation) }
        #expect(!err.contains("cannot allocate") && !err.contains("Fatal error"), "\(err)", sourceLocation: sourceLocation)
    }

    /// The tiny CLIP with a text tower that passes every limit (4096 tokens, 32 heads) but whose attention maps for a
    /// batch of 64 prompts would take 137 GB (64 · 32 · 4096² · 4 bytes).
    static func textHeavyCLIP(in folder: URL) throws -> URL {
        var c = TrainerFixtures.tinyCLIPForTokenizer
        c.contextLength = 4096
        c.transformerHeads = 32
        try c.validate(source: "test")
        let url = folder.appendingPathComponent("text_heavy.safetensors")
        try CLIPModel(config: c, seed: 1).save(to: url)
        return url
    }

    @Test("baseline and bench-train: resolutions and micro-batches beyond what fits are refused by flag")
    func flags() throws {
        let common = ["baseline", "--clip", "/nonexistent.pt", "--dataset", "agiqa-3k", "--root", "/tmp"]
        try expectRefused(common + ["--method", "clip-iqa", "--clip-iqa-resolution", "1048576"], mentioning: ["--clip-iqa-resolution", "1048576"])
        try expectRefused(common + ["--method", "clipscore", "--resolution", "9223372036854775776"], mentioning: ["--resolution"])
        try expectRefused(["bench-train", "--resolution", "1048576"], mentioning: ["--resolution", "1048576"])
        try expectRefused(["bench-train", "--resolution", "4096", "--full-micro-batch", "100000"],
                          mentioning: ["--full-micro-batch", "activation maps"])
    }

    @Test("embed: a batch of 4096-px images, or of prompts for a 4096-token text tower, is refused before any work")
    func embedBatches() throws {
        let scratch = try ScratchFolder("cli-alloc-embed")
        defer { scratch.remove() }
        let clip = scratch.file("tiny.safetensors")
        try TrainerFixtures.saveCLIP(to: clip)
        try PatternImages.writePNGs(["a.png"], to: scratch.url)
        try expectRefused(["embed", "--clip", clip.path, "--image", scratch.file("a.png").path, "--resolution", "4096", "--batch-size", "100000"],
                          mentioning: ["100000 image(s) of 4096×4096 px", "lower the batch size or the resolution"])
        let heavy = try Self.textHeavyCLIP(in: scratch.url)
        try expectRefused(["embed", "--clip", heavy.path, "--prompt", "a cat", "--batch-size", "1024"],
                          mentioning: ["1024 prompt(s) of 4096 tokens", "text attention", "32 heads"])
    }

    @Test("pretrain: a checkpoint whose text tower passes validation but whose batch would not fit is refused before the filter")
    func pretrainBatch() throws {
        let scratch = try ScratchFolder("cli-alloc-pretrain")
        defer { scratch.remove() }
        let names = (0..<64).map { "p\($0).png" }
        try PatternImages.writePNGs(names, to: scratch.url, width: 8, height: 8)
        let csv = scratch.file("corpus.csv")
        try (["image,prompt"] + names.map { "\($0),a photo" }).joined(separator: "\n").appending("\n")
            .write(to: csv, atomically: true, encoding: .utf8)
        let heavy = try Self.textHeavyCLIP(in: scratch.url)
        let out = scratch.file("out.safetensors")
        try expectRefused(["pretrain", "--clip", heavy.path, "--corpus", csv.path, "--out", out.path, "--batch-size", "64"],
                          mentioning: ["64 prompt(s) of 4096 tokens", "lower the batch size"])
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("out.dropped.csv").path), "refused before the filter wrote its list")
    }
}
