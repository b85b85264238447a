import Checkpoints
import Foundation
import Testing
@testable import CLIP
import IQATestSupport
import NN
import Tensor

/// Fixture produced by Scripts/fixtures_clip.py with OpenAI's clip/model.py (torch 2.13 CPU).
struct TinyCLIPReference: Decodable {
    let tokens: [[Int32]]
    let text_embeddings: [[Float]]
    let image_embeddings_64: [[Float]]
    let image_embeddings_96: [[Float]]
    let logit_scale: Float
}

func fixtureURL(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
}

@Suite("CLIP parity with OpenAI's clip/model.py")
struct CLIPParityTests {
    let reference: TinyCLIPReference = try! JSONDecoder().decode(TinyCLIPReference.self, from: Data(contentsOf: fixtureURL("tiny_clip_reference.json")))

    @Test("architecture is read off the checkpoint shapes", arguments: ["tiny_clip.safetensors", "tiny_clip_state_dict.bin", "tiny_clip_torchscript.pt"])
    func configuration(file: String) throws {
        let model = try CLIPModel.load(fixtureURL(file))
        #expect(model.config.visionLayers == [1, 2, 1, 1])
        #expect(model.config.visionWidth == 4 && model.config.visionHeads == 2)
        #expect(model.config.embedDim == 32 && model.config.imageResolution == 64)
        #expect(model.config.transformerWidth == 64 && model.config.transformerLayers == 2 && model.config.transformerHeads == 1)
        #expect(model.config.vocabSize == 1000 && model.config.contextLength == 77)
    }

    @Test("image and text embeddings equal OpenAI's (relative L2 ≤ 1e-4) for all three checkpoint formats",
          arguments: ["tiny_clip.safetensors", "tiny_clip_state_dict.bin", "tiny_clip_torchscript.pt"])
    func embeddings(file: String) throws {
        let model = try CLIPModel.load(fixtureURL(file))
        try withoutGradients {
            let text = try model.encodeText(reference.tokens)
            #expect(relativeL2(text.value.array, reference.text_embeddings.flatMap { $0 }) <= 1e-4)
            let img64 = model.encodeImage(Var(PatternImages.tensor(2, size: 64)))
            #expect(relativeL2(img64.value.array, reference.image_embeddings_64.flatMap { $0 }) <= 1e-4)
            let img96 = model.encodeImage(Var(PatternImages.tensor(2, size: 96)))
            #expect(relativeL2(img96.value.array, reference.image_embeddings_96.flatMap { $0 }) <= 1e-4)
            #expect(abs(model.logitScale.value.item - reference.logit_scale) <= 1e-6)
        }
    }

    @Test("cutting token rows at the last end-of-text position leaves text embeddings unchanged")
    func textPaddingInvariance() throws {
        let model = try CLIPModel.load(fixtureURL("tiny_clip.safetensors"))
        try withoutGradients {
            let full = try model.encodeText(reference.tokens).value.array
            let short = try model.encodeText(reference.tokens.map { Array($0.prefix(12)) }).value.array
            #expect(relativeL2(short, full) <= 1e-6)
        }
    }

    @Test("saved safetensors reload to the same embeddings")
    func saveRoundTrip() throws {
        let model = try CLIPModel.load(fixtureURL("tiny_clip_torchscript.pt"))
        let scratch = try ScratchFolder("clip-save")
        defer { scratch.remove() }
        let url = scratch.file("m.safetensors")
        try model.save(to: url)
        let again = try CLIPModel.load(url)
        try withoutGradients {
            let a = try model.encodeText(reference.tokens).value.array
            let b = try again.encodeText(reference.tokens).value.array
            #expect(a == b)
            let ia = model.encodeImage(Var(PatternImages.tensor(1, size: 64))).value.array
            let ib = again.encodeImage(Var(PatternImages.tensor(1, size: 64))).value.array
            #expect(ia == ib)
        }
    }

    @Test("a checkpoint with missing, unexpected and mis-shaped keys fails with one error listing all of them")
    func strictVerification() throws {
        var dict = try CheckpointLoader.load(fixtureURL("tiny_clip.safetensors"))
        dict.tensors["ln_final.bias"] = nil
        dict.tensors["visual.extra.weight"] = CheckpointTensor(shape: [2], dtype: .f32, values: [1, 2])
        dict.tensors["visual.attnpool.c_proj.bias"] = CheckpointTensor(shape: [3], dtype: .f32, values: [1, 2, 3])
        #expect {
            _ = try CLIPModel.load(dict)
        } throws: { error in
            let m = error.localizedDescription
            return m.contains("ln_final.bias") && m.contains("visual.extra.weight") && m.contains("visual.attnpool.c_proj.bias")
        }
    }
}
