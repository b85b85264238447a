import Checkpoints
import Foundation
import NN
import Tensor

/// How checkpoint tensors (PyTorch layout and naming) become module tensors, as data:
/// - keys that are not parameters or buffers of our modules and are dropped on load;
/// - 4-D tensors are convolution weights, `[Cout, Cin, kh, kw]` in the file and `[Cout, kh, kw, Cin]` here.
public enum CheckpointMapping {
    /// Key suffixes dropped on load: OpenAI's TorchScript archives store the model's hyper-parameters and the text
    /// causal mask as tensors, and BatchNorm's `num_batches_tracked` counter is not used (momentum is fixed).
    public static let ignoredKeys: [String] = ["input_resolution", "context_length", "vocab_size"]
    public static let ignoredSuffixes: [String] = [".num_batches_tracked", "attn_mask"]

    public static func isIgnored(_ key: String) -> Bool {
        ignoredKeys.contains(key) || ignoredSuffixes.contains { key.hasSuffix($0) }
    }

    /// Permutation from file layout to engine layout for a tensor of this rank (nil: unchanged).
    static func toEngine(rank: Int) -> [Int]? { rank == 4 ? [0, 2, 3, 1] : nil }
    /// Permutation from engine layout back to file layout.
    static func toFile(rank: Int) -> [Int]? { rank == 4 ? [0, 3, 1, 2] : nil }

    /// Checkpoint tensors → engine tensors keyed as our modules name them (ignored keys dropped).
    public static func engineTensors(_ dict: StateDict, prefix: String = "") -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, t) in dict.tensors where key.hasPrefix(prefix) {
            let local = String(key.dropFirst(prefix.count))
            if isIgnored(local) { continue }
            var tensor = Tensor(shape: t.shape, values: t.values)
            if let p = toEngine(rank: t.shape.count) { tensor = tensor.permuted(p) }
            out[local] = tensor
        }
        return out
    }

    /// A module's parameters and buffers in file layout, ready for ``SafetensorsWriter``.
    public static func fileTensors(_ module: any Module, prefix: String = "") -> [(String, shape: [Int], values: [Float])] {
        let entries = module.namedParameters().map { ($0.0, $0.1.value) } + module.namedBuffers()
        return entries.map { name, t in
            let file = toFile(rank: t.rank).map { t.permuted($0) } ?? t
            return (prefix + name, shape: file.shape, values: file.array)
        }.sorted { $0.0 < $1.0 }
    }
}

extension CLIPModel {
    /// Loads a CLIP ResNet checkpoint — OpenAI TorchScript archive (`RN50.pt`, fp16), `torch.save` state dict
    /// (open_clip's `.bin`, with or without `module.`/`state_dict` wrappers) or safetensors (F32/F16/BF16) —
    /// inferring the architecture from its shapes and verifying every key strictly.
    public static func load(_ url: URL) throws -> CLIPModel {
        try load(CheckpointLoader.load(url))
    }

    /// The architecture of the checkpoint in `url`, read off its shapes and validated (no model is built).
    public static func configuration(of url: URL) throws -> CLIPConfiguration {
        try configuration(of: CheckpointLoader.load(url))
    }

    /// The architecture of `dict`, read off its shapes (heads from its metadata, if any) and validated.
    public static func configuration(of dict: StateDict) throws -> CLIPConfiguration {
        var heads: (Int, Int)?
        if let v = dict.metadata["vision_heads"].flatMap(Int.init), let t = dict.metadata["text_heads"].flatMap(Int.init) { heads = (v, t) }
        return try CLIPConfiguration(shapes: dict.tensors.mapValues(\.shape), source: dict.source.path, headsOverride: heads)
    }

    public static func load(_ dict: StateDict) throws -> CLIPModel {
        let config = try configuration(of: dict)
        let model = withoutInitialization { CLIPModel(config: config) }
        try model.loadStateDict(CheckpointMapping.engineTensors(dict), strict: true, source: dict.source.path)
        model.eval()
        return model
    }

    /// Writes the model as a PyTorch-layout safetensors file (atomic) that ``load(_:)``, open_clip and
    /// `safetensors.torch.load_file` accept. Head counts go into the metadata (they are not in the shapes).
    public func save(to url: URL, dtype: DType = .f32) throws {
        try SafetensorsWriter.write(CheckpointMapping.fileTensors(self), dtype: dtype,
                                    metadata: ["format": "pt", "architecture": "clip-modified-resnet",
                                               "vision_heads": String(config.visionHeads), "text_heads": String(config.transformerHeads)],
                                    to: url)
    }
}
