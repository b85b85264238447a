import Foundation
import Testing
@testable import Checkpoints

@Suite("Loading each checkpoint format")
struct FormatLoadingTests {
    @Test("TorchScript archive (fp16 like OpenAI's RN50.pt) gives jit state_dict() keys in order, exact values")
    func torchScript() throws {
        let sd = try CheckpointLoader.load(Fixtures.url("tiny_clip_jit.pt"))
        #expect(sd.format == .torchScript)
        expectMatches(sd, Fixtures.expected["tiny_clip_jit.pt"]!)
        // Spot-check names that the CLIP loader relies on.
        for key in ["visual.layer1.0.conv1.weight", "visual.layer1.0.downsample.0.weight", "visual.attnpool.q_proj.weight",
                    "transformer.resblocks.0.attn.in_proj_weight", "input_resolution", "context_length", "vocab_size"] {
            #expect(sd.tensors[key] != nil, "\(key)")
        }
        #expect(sd.tensors["visual.conv1.weight"]?.dtype == .f16)
        #expect(sd.tensors["vocab_size"]?.values == [12])
        #expect(sd.tensors["vocab_size"]?.shape == [])
    }

    @Test("torch.save zip: keys in order, strided/offset/shared views gathered, f16 subnormals/bf16/f64/i64 exact")
    func torchZip() throws {
        let sd = try CheckpointLoader.load(Fixtures.url("tiny_text_sd.pt"))
        #expect(sd.format == .torchZip)
        expectMatches(sd, Fixtures.expected["tiny_text_sd.pt"]!)
        // torch.tensor([6e-8, -6e-8, 1e-5, 65504, -0.0, 0.333], dtype=float16) as exact float32.
        let sub = try #require(sd.tensors["extra.f16_subnormal"]).values
        #expect(sub[0] == 0x1p-24 && sub[1] == -0x1p-24)
        #expect(sub[3] == 65504 && sub[4] == 0 && sub[4].sign == .minus)
        #expect(sd.tensors["extra.i64"]?.values == [3, -4, 5])
    }

    @Test("training-style {'state_dict': {'module.' + k}} wrapper is unwrapped and the prefix stripped")
    func wrapped() throws {
        let sd = try CheckpointLoader.load(Fixtures.url("tiny_text_wrapped.pt"))
        expectMatches(sd, Fixtures.expected["tiny_text_sd.pt"]!)
        let raw = try CheckpointLoader.load(Fixtures.url("tiny_text_wrapped.pt"), normalization: .none)
        #expect(raw.keys.allSatisfy { $0.hasPrefix("state_dict.module.") })
    }

    @Test("safetensors F32 / F16 / BF16 load with the recorded keys, shapes and exact values")
    func safetensors() throws {
        for tag in ["f32", "f16", "bf16"] {
            let name = "tiny_text_\(tag).safetensors"
            let sd = try CheckpointLoader.load(Fixtures.url(name))
            #expect(sd.format == .safetensors)
            #expect(sd.metadata["format"] == "pt")
            expectMatches(sd, Fixtures.expected[name]!, orderedKeys: false)
        }
    }

    @Test("every float tensor of the torch.save zip equals the torch-written F32 safetensors copy bit for bit")
    func crossFormatEquality() throws {
        let zip = try CheckpointLoader.load(Fixtures.url("tiny_text_sd.pt"))
        let st = try CheckpointLoader.load(Fixtures.url("tiny_text_f32.safetensors"))
        #expect(!st.tensors.isEmpty)
        for (key, t) in st.tensors {
            let z = try #require(zip.tensors[key], "\(key)")
            #expect(z.shape == t.shape, "\(key)")
            #expect(z.values == t.values, "\(key)")
        }
    }

    @Test("the format is sniffed from content, not the file extension")
    func sniffing() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let renamed = dir.appendingPathComponent("weights.bin")
        try FileManager.default.copyItem(at: Fixtures.url("tiny_text_f16.safetensors"), to: renamed)
        #expect(try CheckpointLoader.load(renamed).format == .safetensors)
        let renamedZip = dir.appendingPathComponent("weights.safetensors")
        try FileManager.default.copyItem(at: Fixtures.url("tiny_text_sd.pt"), to: renamedZip)
        #expect(try CheckpointLoader.load(renamedZip).format == .torchZip)
    }

    @Test("key normalisation rules strip 'module.' and reject keys that collide after stripping")
    func normalisationRules() throws {
        let rules = KeyNormalization.standard
        #expect(rules.normalise("module.visual.conv1.weight") == "visual.conv1.weight")
        #expect(rules.normalise("visual.module.x") == "visual.module.x")
        #expect(throws: CheckpointError.self) {
            _ = try rules.apply([("module.a", 1), ("a", 2)], file: "f")
        }
        let data = try JSONEncoder().encode(rules)
        #expect(try JSONDecoder().decode(KeyNormalization.self, from: data) == rules)
    }
}
