import Checkpoints
import Foundation
import Testing
@testable import CLIP
import IQATestSupport

/// Writes a (possibly edited) state dict as safetensors, PyTorch layout.
private func writeSafetensors(_ tensors: [String: CheckpointTensor], to url: URL) throws {
    try SafetensorsWriter.write(tensors.sorted { $0.key < $1.key }.map { ($0.key, shape: $0.value.shape, values: $0.value.values) },
                                to: url)
}

/// Loads `url` as CLIP and checks the error message starts with the file's path and names every fragment.
private func expectLoadError(_ url: URL, mentioning fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try CLIPModel.load(url)
        Issue.record("\(url.lastPathComponent) loaded", sourceLocation: sourceLocation)
    } catch {
        let message = error.localizedDescription
        #expect(message.contains(url.path), "message does not name the file: \(message)", sourceLocation: sourceLocation)
        for f in fragments {
            #expect(message.contains(f), "message lacks '\(f)': \(message)", sourceLocation: sourceLocation)
        }
    }
}

@Suite("CLIPModel.load on bad files: a clear error naming the file, never a crash")
struct CLIPLoadingErrorTests {
    @Test("a state-dict zip truncated at 12 points fails naming the file")
    func truncatedZip() throws {
        let scratch = try ScratchFolder("clip-errors")
        defer { scratch.remove() }
        let full = try Data(contentsOf: fixtureURL("tiny_clip_state_dict.bin"))
        let cut = scratch.file("cut.bin")
        for i in 1...12 {
            try full.prefix(full.count * i / 13).write(to: cut)
            expectLoadError(cut, mentioning: [])
        }
        try full.prefix(full.count / 2).write(to: cut)
        expectLoadError(cut, mentioning: ["truncated"])
    }

    @Test("a corrupt pickle (unknown opcode) is reported with the member and opcode")
    func corruptPickle() {
        expectLoadError(fixtureURL("bad_pickle_clip.bin"), mentioning: ["archive/data.pkl", "opcode 0xff"])
    }

    @Test("a pickle calling subprocess.check_output is refused, naming the global")
    func disallowedGlobal() {
        expectLoadError(fixtureURL("evil_clip.bin"), mentioning: ["disallowed global 'subprocess.check_output'"])
    }

    @Test("tensors of the wrong shape are listed with expected and found shapes")
    func wrongShapes() throws {
        let scratch = try ScratchFolder("clip-errors")
        defer { scratch.remove() }
        var dict = try CheckpointLoader.load(fixtureURL("tiny_clip.safetensors")).tensors
        dict["visual.attnpool.c_proj.bias"] = CheckpointTensor(shape: [31], dtype: .f32, values: [Float](repeating: 0, count: 31))
        dict["transformer.resblocks.1.mlp.c_fc.bias"] = CheckpointTensor(shape: [2, 128], dtype: .f32, values: [Float](repeating: 0, count: 256))
        let url = scratch.file("wrong_shapes.safetensors")
        try writeSafetensors(dict, to: url)
        expectLoadError(url, mentioning: ["2 key(s) with the wrong shape", "visual.attnpool.c_proj.bias expected [32] found [31]",
                                          "transformer.resblocks.1.mlp.c_fc.bias expected [256] found [2, 128]"])
    }

    @Test("missing parameters are listed; a missing architecture key names that key")
    func missingKeys() throws {
        let scratch = try ScratchFolder("clip-errors")
        defer { scratch.remove() }
        var dict = try CheckpointLoader.load(fixtureURL("tiny_clip.safetensors")).tensors
        dict["ln_final.bias"] = nil
        dict["visual.layer2.1.bn2.running_var"] = nil
        let url = scratch.file("missing.safetensors")
        try writeSafetensors(dict, to: url)
        expectLoadError(url, mentioning: ["missing 2 key(s)", "ln_final.bias [64]", "visual.layer2.1.bn2.running_var [8]"])

        dict["visual.attnpool.positional_embedding"] = nil
        let noPos = scratch.file("no_positional.safetensors")
        try writeSafetensors(dict, to: noPos)
        expectLoadError(noPos, mentioning: ["not a CLIP ResNet checkpoint", "visual.attnpool.positional_embedding"])
    }

    @Test("a Vision-Transformer CLIP is refused as an unsupported architecture")
    func visionTransformer() {
        expectLoadError(fixtureURL("vit_clip.bin"), mentioning: ["unsupported CLIP architecture", "Vision Transformer"])
    }

    @Test("a safetensors file of some other network is not a CLIP checkpoint")
    func notCLIP() throws {
        let scratch = try ScratchFolder("clip-errors")
        defer { scratch.remove() }
        let url = scratch.file("mlp.safetensors")
        try SafetensorsWriter.write([("fc.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), ("fc.bias", shape: [2], values: [0, 1])], to: url)
        expectLoadError(url, mentioning: ["not a CLIP ResNet checkpoint", "visual.layer1.*"])
    }

    @Test("a missing file and a non-checkpoint file are reported by name")
    func notCheckpoints() throws {
        let scratch = try ScratchFolder("clip-errors")
        defer { scratch.remove() }
        expectLoadError(scratch.file("RN50.pt"), mentioning: ["does not exist"])
        let text = scratch.file("notes.pt")
        try Data("just text".utf8).write(to: text)
        expectLoadError(text, mentioning: ["unrecognised checkpoint format"])
    }
}
