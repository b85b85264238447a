import CLIP
import CLIPTokenizer
import Foundation
import IQAModel
import IQATestSupport
import NN
import Testing

/// Model files whose metadata or weights lie: each is refused on load with one error naming the file and the value,
/// before any network is allocated (metadata) or before any score is computed (weights).
@Suite("Hostile IP-IQA model files")
struct HostileModelFileTests {
    /// Loads `file`, expecting an error whose message names the file and contains every string in `mentions`.
    private func expectRefused(_ file: URL, _ mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try IPIQACheckpoint.load(file)
            Issue.record("\(file.lastPathComponent) loaded", sourceLocation: sourceLocation)
        } catch {
            let text = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            for m in [file.path] + mentions { #expect(text.contains(m), "'\(text)' should mention '\(m)'", sourceLocation: sourceLocation) }
        }
    }

    @Test("crossHeads of 2^62, 0, −1, 3, 7 and 255 (64 channels) are refused naming crossHeads")
    func crossHeads() throws {
        let scratch = try ScratchFolder("hostile-heads")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        for heads in [1 << 62, 0, -1, 3, 7, 255] {
            let bad = try ForgedFile.rewrite(model, to: scratch.file("heads\(heads).safetensors")) { f in
                f.json("ipiqa_config") { $0["crossHeads"] = heads }
            }
            expectRefused(bad, ["crossHeads", "\(heads)"])
        }
    }

    @Test("CLIP heads of 0 or not dividing the width are refused before the network is built")
    func clipHeads() throws {
        let scratch = try ScratchFolder("hostile-cliphead")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        for (key, value) in [("transformerHeads", 0), ("transformerHeads", 5), ("visionHeads", 0), ("visionHeads", 3)] {
            let bad = try ForgedFile.rewrite(model, to: scratch.file("\(key)\(value).safetensors")) { f in
                f.json("clip_config") { $0[key] = value }
            }
            expectRefused(bad, [key])
        }
    }

    @Test("metadata that disagrees with the tensors (huge or other layer counts, widths, resolution) is refused before allocation")
    func metadataAgainstShapes() throws {
        let scratch = try ScratchFolder("hostile-shapes")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        let huge = try ForgedFile.rewrite(model, to: scratch.file("huge.safetensors")) { f in
            f.json("clip_config") { $0["visionLayers"] = [1_000_000, 1, 1, 1] }
        }
        expectRefused(huge, ["visionLayers", "1000000"])
        let cases: [(String, String, Any, String)] = [
            ("layers", "clip_config", [2, 1, 1, 1], "visionLayers"),
            ("width", "clip_config", 64, "transformerWidth"),
            ("vocab", "clip_config", 200, "vocabSize"),
            ("context", "clip_config", 4096, "contextLength"),
        ]
        for (name, key, value, field) in cases {
            let bad = try ForgedFile.rewrite(model, to: scratch.file("\(name).safetensors")) { f in
                f.json(key) { $0[field] = value }
            }
            expectRefused(bad, ["does not match the tensors", field])
        }
        let resolution = try ForgedFile.rewrite(model, to: scratch.file("res.safetensors")) { f in
            f.json("ipiqa_config") { $0["resolution"] = 128 }
        }
        expectRefused(resolution, ["does not match the tensors", "imageResolution 128 vs 64"])
        for r in [9_223_372_036_854_775_776, 65536, 48, 0] {
            let bad = try ForgedFile.rewrite(model, to: scratch.file("res\(r).safetensors")) { f in
                f.json("ipiqa_config") { $0["resolution"] = r }
            }
            expectRefused(bad, ["resolution", "\(r)"])
        }
    }

    @Test("output names shorter than the outputs, duplicated or empty are refused")
    func outputNames() throws {
        let scratch = try ScratchFolder("hostile-names")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        for (i, names) in [["quality"], ["quality", "quality"], ["quality", ""], ["a", "b", "c"]].enumerated() {
            let bad = try ForgedFile.rewrite(model, to: scratch.file("names\(i).safetensors")) { f in
                f.json("ipiqa_config") { $0["outputNames"] = names }
            }
            expectRefused(bad, ["output names"])
        }
    }

    @Test("NaN or infinite weights are an error naming the tensor")
    func nonFiniteWeights() throws {
        let scratch = try ScratchFolder("hostile-nan")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        for (name, value) in [("nan", Float.nan), ("inf", Float.infinity), ("ninf", -Float.infinity)] {
            let bad = try ForgedFile.rewrite(model, to: scratch.file("\(name).safetensors")) { f in
                f.set("clip.visual.layer1.0.conv1.weight", index: 3, to: value)
                f.set("head.out_proj.bias", to: value)
            }
            expectRefused(bad, ["NaN or infinite", "visual.layer1.0.conv1.weight"])
        }
    }

    @Test("a configuration with a key given twice is refused (JSON readers disagree on which one counts)")
    func duplicateConfigKey() throws {
        let scratch = try ScratchFolder("hostile-dupkey")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        let bad = try ForgedFile.rewrite(model, to: scratch.file("dup.safetensors")) { f in
            f.metadata["ipiqa_config"] = f.metadata["ipiqa_config"].map { "{\"crossHeads\":7," + $0.dropFirst() }
        }
        expectRefused(bad, ["ipiqa_config", "'crossHeads' twice"])
    }

    @Test("a batch whose activations cannot fit in memory is an error before the forward pass, not a failed allocation")
    func memoryBound() throws {
        let clip = TrainerFixtures.tinyCLIP
        #expect(clip.largestActivationBytes(batch: 2, resolution: 64) == 2 * 64 * 64 * clip.visionWidth)
        #expect(clip.largestActivationBytes(batch: Int.max, resolution: 4096) == Int.max)
        try clip.checkMemory(batch: 8, resolution: 64)
        #expect(throws: CLIPError.self) { try clip.checkMemory(batch: 1 << 40, resolution: 4096) }
        let embedder = CLIPEmbedder(model: CLIPModel(config: clip), tokenizer: try CLIPTokenizer(),
                                    config: CLIPEmbedConfiguration(resolution: 4096, batchSize: 1 << 40))
        #expect(throws: CLIPError.self) { try embedder.validate() }
    }

    @Test("a text tower within every limit whose attention maps cannot fit (4096 tokens, 32 heads) is refused; RN50's fit")
    func textAttentionBound() throws {
        var heavy = TrainerFixtures.tinyCLIP
        heavy.contextLength = 4096
        heavy.transformerHeads = 32
        try heavy.validate(source: "test")
        #expect(heavy.textAttentionBytes(batch: 64) == 64 * 32 * 4096 * 4096 * 4)
        #expect(heavy.textAttentionBytes(batch: Int.max) == Int.max)
        #expect(CLIPConfiguration.rn50.textAttentionBytes(batch: 1) == 8 * 77 * 77 * 4)
        try CLIPConfiguration.rn50.checkMemory(batch: 64, resolution: 224)
        do {
            try heavy.checkMemory(batch: 64, resolution: 64, what: "--batch-size")
            Issue.record("64 prompts of 4096 tokens accepted")
        } catch let e as CLIPError {
            #expect(e.localizedDescription.contains("64 prompt(s) of 4096 tokens need text attention maps") && e.localizedDescription.contains("lower --batch-size"))
        }
    }

    @Test("an honest file still loads after a round trip through the forger")
    func honestFileLoads() throws {
        let scratch = try ScratchFolder("hostile-honest")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        let copy = try ForgedFile.rewrite(model, to: scratch.file("copy.safetensors")) { _ in }
        let loaded = try IPIQACheckpoint.load(copy)
        #expect(loaded.model.config.crossHeads == 4)
    }
}
