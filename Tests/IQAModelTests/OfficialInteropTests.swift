import Checkpoints
import CLIP
import Foundation
import IQAModel
import IQATestSupport
import NN
import Tensor
import TensorTestSupport
import Testing

/// The fixtures of Scripts/fixtures_official.py: checkpoints saved by the official IP-IQA trainer's logic and the
/// scores its own `forward` gave.
struct OfficialFixture {
    struct Variant: Decodable {
        let name: String, file: String, resolution: Int, outputs: Int, mlp: Bool, qa_token: Bool, prefix: String
        let scores: [[Float]]
        let model_keys: [String]
    }
    struct Root: Decodable {
        let clip: String
        let prompts: [String]
        let tokens: [[Int32]]
        let images: Int
        let variants: [Variant]
    }

    let folder: URL
    let root: Root

    init() throws {
        folder = try fixturesFolder(of: .module).appendingPathComponent("official")
        root = try JSONDecoder().decode(Root.self, from: Data(contentsOf: folder.appendingPathComponent("official.json")))
    }

    var clip: URL { folder.appendingPathComponent(root.clip) }
    func file(_ v: Variant) -> URL { folder.appendingPathComponent(v.file) }
    /// Token rows zero-padded to 77, as `clip.tokenize` returns them.
    var tokens: [[Int32]] { root.tokens.map { $0 + Array(repeating: 0, count: 77 - $0.count) } }

    func scores(_ model: IPIQAModel, resolution: Int) throws -> [Float] {
        model.setMode(training: false)
        return try withoutGradients { try model(Var(PatternImages.tensor(root.images, size: resolution)), prompts: tokens) }.value.array
    }
}

@Suite("Interop with the official PyTorch IP-IQA code")
struct OfficialInteropTests {
    @Test("Imported official checkpoints score as the official forward does (≤ 1e-4 relative): 1/2 outputs, MLP/linear, qa_token on/off, 224 and interpolated 256 px, module. prefix")
    func parity() throws {
        let f = try OfficialFixture()
        #expect(f.root.variants.count == 4)
        for v in f.root.variants {
            let imported = try OfficialCheckpoint.load(f.file(v), clip: f.clip)
            let c = imported.model.config
            #expect(c.resolution == v.resolution && c.outputs == v.outputs && c.head == (v.mlp ? .mlp : .linear), "\(v.name)")
            #expect(c.qaToken == (v.qa_token ? .table : .none), "\(v.name)")
            #expect(imported.epoch == 7 && imported.trainedTextExtras, "\(v.name)")
            let ours = try f.scores(imported.model, resolution: v.resolution)
            let theirs = v.scores.flatMap { $0 }
            let err = maxRelativeError(ours, theirs)
            #expect(err <= 1e-4, "\(v.name): max relative error \(err); ours \(ours), official \(theirs)")
            // The part that depends on the image (scores minus their mean over the images, per output) must agree too:
            // random weights give scores dominated by the head's biases.
            let spread = maxRelativeError(Self.centered(ours, outputs: v.outputs), Self.centered(theirs, outputs: v.outputs))
            #expect(spread <= 1e-3, "\(v.name): image-dependent part differs by \(spread) relative")
            print("official parity \(v.name): max relative error \(err), image-dependent part \(spread)")
        }
    }

    @Test("Export writes exactly the keys the official trainer saves, and own → official → own is bit-identical")
    func roundTrip() throws {
        let f = try OfficialFixture()
        let scratch = try ScratchFolder("official-roundtrip")
        defer { scratch.remove() }
        for v in f.root.variants {
            let first = try OfficialCheckpoint.load(f.file(v), clip: f.clip).model
            let pth = scratch.file(v.name + ".pth")
            try OfficialExport.write(first, format: .official, epoch: 3, to: pth)
            let written = try CheckpointLoader.load(pth, normalization: .none)
            let modelKeys = written.keys.filter { $0.hasPrefix("model.") }.map { String($0.dropFirst("model.".count)) }
            #expect(modelKeys.sorted() == v.model_keys, "\(v.name)")
            #expect(written.object?["epoch"]?.intValue == 3)
            #expect(written.object?["config"]?["model"]?["input_resolution"]?.intValue == v.resolution)
            #expect(written.object?["config"]?["model"]?["qa_token"]?.boolValue == v.qa_token)

            let again = try OfficialCheckpoint.load(pth, clip: f.clip).model
            #expect(again.config == first.config, "\(v.name)")
            try expectIdentical(first, again, v.name)

            let full = scratch.file(v.name + ".safetensors")
            try OfficialExport.write(first, format: .officialSafetensors, to: full)
            try expectIdentical(first, try OfficialCheckpoint.load(full, clip: f.clip).model, v.name + " (official-safetensors)")
        }
    }

    @Test("Our own models go to the official format and back bit-identically; the paper's [QA] vector folds into the table and scores the same")
    func ownModels() throws {
        let scratch = try ScratchFolder("official-own")
        defer { scratch.remove() }
        let clipURL = scratch.file("clip.safetensors")
        try TrainerFixtures.saveCLIP(to: clipURL)
        for qa in IPIQAConfiguration.QAToken.allCases {
            for head in IPIQAConfiguration.Head.allCases {
                let clip = try CLIPModel.load(clipURL)
                var config = IPIQAConfiguration(outputs: 2)
                config.resolution = 96
                config.qaToken = qa
                config.head = head
                config.dropout = 0.25
                let own = try IPIQAModel(clip: clip, config: config)
                // Rows as `clip.tokenize` gives them: start 49406, end-of-text 49407 (the highest id, once per row).
                let tokens: [[Int32]] = [[49406, 17, 56, 3, 49407], [49406, 5, 60, 61, 62, 49407], [49406, 11, 49407]].map { $0 + Array(repeating: 0, count: 77 - $0.count) }
                let pth = scratch.file("own.pth")
                try OfficialExport.write(own, format: .official, to: pth)
                let back = try OfficialCheckpoint.load(pth, clip: clipURL).model
                own.setMode(training: false)
                let images = Var(PatternImages.tensor(3, size: 96))
                let a = try withoutGradients { try own(images, prompts: tokens) }.value.array
                let b = try withoutGradients { try back(images, prompts: tokens) }.value.array
                #expect(a == b, "\(qa) \(head): scores \(a) vs \(b)")
                if qa != .token {
                    var expected = own.config
                    expected.seed = back.config.seed
                    #expect(back.config == expected)
                    try expectIdentical(own, back, "\(qa) \(head)")
                } else {
                    #expect(back.config.qaToken == .table)
                }
            }
        }
    }

    @Test("Models without an official counterpart are refused, and nothing is written")
    func refusedExports() throws {
        let scratch = try ScratchFolder("official-refused")
        defer { scratch.remove() }
        let out = scratch.file("x.pth")
        for (label, configure) in [("image-only", { (c: inout IPIQAConfiguration) in c.useText = false }),
                                   ("similarity", { (c: inout IPIQAConfiguration) in c.fusion = .paperSimilarity }),
                                   ("4 heads", { (c: inout IPIQAConfiguration) in c.crossHeads = 4 })] {
            let model = try TrainerFixtures.model { c in c.crossHeads = 32; configure(&c) }
            #expect(throws: IPIQAError.self, "\(label)") { try OfficialExport.write(model, format: .official, to: out) }
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
    }

    @Test("Bad official checkpoints: each a clear error naming the file and the problem")
    func badInput() throws {
        let f = try OfficialFixture()
        let scratch = try ScratchFolder("official-bad")
        defer { scratch.remove() }
        let v = f.root.variants[0]
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return (error as? LocalizedError)?.errorDescription ?? "\(error)" }
        }
        // Truncated.
        let data = try Data(contentsOf: f.file(v))
        let cut = scratch.file("cut.pth")
        try data.prefix(data.count / 2).write(to: cut)
        let truncated = message { _ = try OfficialCheckpoint.load(cut, clip: f.clip) }
        #expect(truncated.hasPrefix(cut.path), "\(truncated)")
        // Foreign: a CLIP checkpoint.
        let foreign = message { _ = try OfficialCheckpoint.load(f.clip, clip: f.clip) }
        #expect(foreign.contains("CLIP ResNet checkpoint") && foreign.contains(f.clip.path), "\(foreign)")
        // Resolution other than trained, output names that do not fit the head.
        var options = OfficialImportOptions()
        options.resolution = 512
        let resolution = message { _ = try OfficialCheckpoint.load(f.file(v), clip: f.clip, options: options) }
        #expect(resolution.contains("trained at 224 px") && resolution.contains("512"), "\(resolution)")
        options = OfficialImportOptions()
        options.outputNames = ["quality", "alignment"]
        let names = message { _ = try OfficialCheckpoint.load(f.file(v), clip: f.clip, options: options) }
        #expect(names.contains("1 output(s)") && names.contains("2 output name(s)"), "\(names)")

        // Rewritten checkpoints (our torch.save writer): no model section; missing, unexpected and mis-shaped keys.
        let dict = try CheckpointLoader.load(f.file(v))
        func rewrite(_ name: String, config: TorchSaveValue, _ edit: (inout [(String, TorchSaveValue)]) -> Void) throws -> URL {
            var sd: [(String, TorchSaveValue)] = dict.keys.map { k in
                let t = dict.tensors[k]!
                return (k, .floatTensor(shape: t.shape, values: t.values))
            }
            edit(&sd)
            let url = scratch.file(name)
            try TorchSaveWriter.write(.dict([("model", .orderedDict(sd)), ("config", config), ("epoch", .int(1))]), to: url)
            return url
        }
        let goodConfig = try OfficialModelSettings(config: dict.object?["config"], file: "x").torchValue
        let noSection = try rewrite("nosection.pth", config: .dict([("run", .dict([]))])) { _ in }
        let section = message { _ = try OfficialCheckpoint.load(noSection, clip: f.clip) }
        #expect(section.hasPrefix(noSection.path) && section.contains("no \"model\" section"), "\(section)")
        let keys = try rewrite("keys.pth", config: .dict([("model", goodConfig)])) { sd in
            sd.removeAll { $0.0 == "txt_attnpool.cross_attn.q_proj.bias" }
            sd.append(("txt_attnpool.extra.weight", .floatTensor(shape: [2], values: [1, 2])))
            let i = sd.firstIndex { $0.0 == "head.out_proj.bias" }!
            sd[i].1 = .floatTensor(shape: [3], values: [0, 0, 0])
        }
        let mismatch = message { _ = try OfficialCheckpoint.load(keys, clip: f.clip) }
        #expect(mismatch.contains(keys.path) && mismatch.contains("missing 1 key(s): txt_attnpool.cross_attn.q_proj.bias")
                && mismatch.contains("unexpected 1 key(s): txt_attnpool.extra.weight") && mismatch.contains("head.out_proj.bias expected [1] found [3]"),
                "\(mismatch)")
        // An ipiqa model file is not an official checkpoint.
        let own = scratch.file("own.safetensors")
        try IPIQACheckpoint.save(try OfficialCheckpoint.load(f.file(v), clip: f.clip).model, to: own)
        let ours = message { _ = try OfficialCheckpoint.load(own, clip: f.clip) }
        #expect(ours.contains("ipiqa model file already"), "\(ours)")
        // Without --clip, the official file is recognised and the fix named.
        let hint = message { _ = try IPIQACheckpoint.load(f.file(v)) }
        #expect(hint.contains("official PyTorch IP-IQA") && hint.contains("--clip"), "\(hint)")
        // With it, the model loads directly.
        #expect(try IPIQACheckpoint.load(f.file(v), officialCLIP: f.clip).model.config.resolution == 224)
    }

    /// Scores `[n × k]` (row-major) minus each output's mean over the rows.
    static func centered(_ scores: [Float], outputs k: Int) -> [Float] {
        let n = scores.count / k
        var out = scores
        for j in 0..<k {
            let mean = (0..<n).reduce(0.0) { $0 + Double(scores[$1 * k + j]) } / Double(n)
            for i in 0..<n { out[i * k + j] = Float(Double(scores[i * k + j]) - mean) }
        }
        return out
    }

    func expectIdentical(_ a: IPIQAModel, _ b: IPIQAModel, _ label: String) throws {
        let sa = a.stateDict(), sb = b.stateDict()
        #expect(Set(sa.keys) == Set(sb.keys), "\(label)")
        var differing: [String] = []
        for (k, t) in sa where sb[k]?.shape != t.shape || sb[k]?.array != t.array { differing.append(k) }
        #expect(differing.isEmpty, "\(label): tensors differ: \(differing.sorted())")
    }
}
