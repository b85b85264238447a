import Checkpoints
import CLIP
import Foundation
import NN
import Tensor

/// Settings that override an official checkpoint's config when it is imported (nil: from the config). Each is
/// checked against the checkpoint's tensors: a head or resolution the weights do not have is an error.
///
/// ```swift
/// var o = OfficialImportOptions(); o.outputNames = ["quality", "alignment"]
/// ```
public struct OfficialImportOptions: Sendable, Equatable {
    /// Input side the model is meant for; must equal the one it was trained at (its positional embeddings' grid).
    public var resolution: Int?
    public var outputNames: [String]?
    /// `.table` (official `qa_token: True`) or `.none`; `.token` has no official counterpart.
    public var qaToken: IPIQAConfiguration.QAToken?
    public var head: IPIQAConfiguration.Head?
    public var dropout: Float?

    public init() {}
}

/// A checkpoint of the official PyTorch IP-IQA code (github Coobiw/IP-IQA), made into one of our models: the
/// trained parts from the checkpoint (`trainer.py _save_checkpoint`: `{"model": trainable parameters and buffers,
/// "optimizer", "config", "scaler", "epoch"}`, possibly with DDP's `module.` prefix), the frozen text encoder from
/// the CLIP checkpoint it was trained from, and the architecture from the config's model section (flags override,
/// but must agree with the weights). Keys map by ``OfficialKeyMapping``; every missing, unexpected or mis-shaped key
/// is reported in one error. The official text semantics follow the tensors present: `wte.weight` saved (trained
/// token table, `qa_token: True`) → ``IPIQAConfiguration/QAToken/table``; `txt_pos` / `text_projection` saved
/// (trained through the official `freeze_module` quirk) → `textExtras` official for further fine-tuning.
///
/// Also reads the full official state dict as safetensors (``OfficialExport`` `official-safetensors`), whose
/// metadata holds the settings.
///
/// ```swift
/// let imported = try OfficialCheckpoint.load(URL(fileURLWithPath: "checkpoint_best.pth"),
///                                            clip: URL(fileURLWithPath: "RN50.pt"))
/// try IPIQACheckpoint.save(imported.model, to: out, extraMetadata: imported.metadata)
/// ```
public enum OfficialCheckpoint {
    /// Safetensors metadata key of the settings (JSON of ``OfficialModelSettings``) in `official-safetensors` files.
    public static let settingsMetadataKey = "ipiqa_official_model"

    /// An imported model with what the checkpoint said about itself.
    ///
    /// ```swift
    /// let imported = try OfficialCheckpoint.load(pth, clip: rn50)
    /// imported.model.config.qaToken     // .table when the official run had qa_token: True
    /// imported.epoch                    // the official trainer's epoch counter
    /// ```
    public struct Imported {
        public let model: IPIQAModel
        public let settings: OfficialModelSettings
        public let epoch: Int?
        /// Whether the checkpoint holds trained `txt_pos` / `text_projection` (then they train on in `train --init`).
        public let trainedTextExtras: Bool
        /// Metadata for the imported model file (source, epoch, text extras).
        public var metadata: [String: String] {
            var m = ["source": "official IP-IQA checkpoint", "text_extras": trainedTextExtras ? "official" : "frozen"]
            if let epoch { m["epoch"] = String(epoch) }
            return m
        }
    }

    public static func load(_ url: URL, clip: URL, options: OfficialImportOptions = OfficialImportOptions()) throws -> Imported {
        try load(CheckpointLoader.load(url), clip: clip, options: options)
    }

    /// Imports an already loaded checkpoint (keys normalised: the `model` wrapper unwrapped, `module.` stripped).
    public static func load(_ dict: StateDict, clip clipURL: URL, options: OfficialImportOptions = OfficialImportOptions()) throws -> Imported {
        let file = dict.source.path
        func bad(_ m: String) -> IPIQAError { .officialCheckpoint(file: file, reason: m) }
        if dict.metadata["ipiqa_format"] != nil {
            throw bad("this is an ipiqa model file already (\(IPIQACheckpoint.formatTag)): use it as --model, without importing")
        }
        try checkFamily(dict, file: file)
        let settings: OfficialModelSettings
        if dict.format == .safetensors {
            guard let json = dict.metadata[settingsMetadataKey],
                  let s = try? JSONDecoder().decode(OfficialModelSettings.self, from: Data(json.utf8)) else {
                throw bad("a safetensors state dict without the '\(settingsMetadataKey)' metadata (the model settings); import the official .pth checkpoint, which holds its config")
            }
            settings = s
        } else {
            settings = try OfficialModelSettings(config: dict.object?["config"], file: file)
        }
        let config = try configuration(settings, dict: dict, options: options, file: file)

        let clip = try CLIPModel.load(clipURL)
        let model = try withoutInitialization { try IPIQAModel(clip: clip, config: config) }
        let qaSaved = settings.qaToken && options.qaToken != IPIQAConfiguration.QAToken.none
        let current = model.stateDict()
        var merged = current
        var missing: [StateDictError.Entry] = [], unexpected: [StateDictError.Entry] = [], mismatched: [StateDictError.Mismatch] = []
        for key in dict.keys {
            guard let t = dict.tensors[key] else { continue }
            if CheckpointMapping.isIgnored(key) { continue }
            guard let ours = OfficialKeyMapping.ours(key, head: config.head), let target = merged[ours] else {
                unexpected.append(.init(key: key, shape: t.shape)); continue
            }
            var tensor = Tensor(shape: t.shape, values: t.values)
            if t.shape.count == 4 { tensor = tensor.permuted([0, 2, 3, 1]) }
            guard tensor.shape == target.shape else {
                let expected = target.rank == 4 ? [target.shape[0], target.shape[3], target.shape[1], target.shape[2]] : target.shape
                mismatched.append(.init(key: key, expected: expected, found: t.shape)); continue
            }
            merged[ours] = tensor
        }
        for (ours, target) in current.sorted(by: { $0.key < $1.key }) {
            guard let official = OfficialKeyMapping.official(ours, head: config.head),
                  OfficialKeyMapping.isSaved(official, qaToken: qaSaved), official != "txt_pos", official != "text_projection" else { continue }
            if dict.tensors[official] == nil { missing.append(.init(key: official, shape: target.shape)) }
        }
        if !missing.isEmpty || !unexpected.isEmpty || !mismatched.isEmpty {
            throw StateDictError(missing: missing, unexpected: unexpected, mismatched: mismatched,
                                 source: file + " (official IP-IQA checkpoint, \(config.head.rawValue) head, qa_token \(qaSaved ? "True" : "False"))")
        }
        try model.loadStateDict(merged, strict: true, source: file)
        model.setMode(training: false)
        let extras = dict.tensors["txt_pos"] != nil || dict.tensors["text_projection"] != nil
        return Imported(model: model, settings: settings, epoch: dict.object?["epoch"]?.intValue, trainedTextExtras: extras)
    }

    /// Our configuration from the settings and overrides, checked against the tensors.
    static func configuration(_ s: OfficialModelSettings, dict: StateDict, options: OfficialImportOptions, file: String) throws -> IPIQAConfiguration {
        func bad(_ m: String) -> IPIQAError { .officialCheckpoint(file: file, reason: m) }
        guard let pos = dict.tensors["attnpool.positional_embedding"]?.shape, pos.count == 2 else {
            throw bad("no attnpool.positional_embedding [g²+1, C] tensor: cannot tell the resolution it was trained at")
        }
        let grid = Int(Double(pos[0] - 1).squareRoot().rounded())
        guard grid * grid + 1 == pos[0] else { throw bad("attnpool.positional_embedding has \(pos[0]) rows, not a square grid + 1") }
        let trained = grid * 32
        guard s.inputResolution == trained else {
            throw bad("config model.input_resolution is \(s.inputResolution) but the weights are for \(trained) px (attnpool.positional_embedding \(pos): \(grid)×\(grid) grid + 1)")
        }
        if let asked = options.resolution, asked != trained {
            throw bad("trained at \(trained) px (attnpool.positional_embedding \(pos): \(grid)×\(grid) grid + 1), but \(asked) px was asked; the official model fixes its resolution at construction")
        }
        guard let outputs = s.outputDim else {
            throw bad("config model.output_dim is null: that official model has no head (nn.Identity) and outputs features, not scores")
        }
        let linearHead = dict.tensors["head.weight"] != nil, mlpHead = dict.tensors["head.out_proj.weight"] != nil
        let configHead: IPIQAConfiguration.Head = s.useMLPHead ? .mlp : .linear
        let head = options.head ?? configHead
        if head == .mlp && linearHead && !mlpHead {
            throw bad("the checkpoint's head is one linear layer (head.weight), but an MLP head was \(options.head == nil ? "configured (use_mlp_head: True)" : "asked")")
        }
        if head == .linear && mlpHead && !linearHead {
            throw bad("the checkpoint's head is an MLPHead (head.dense, head.out_proj), but a linear head was \(options.head == nil ? "configured (use_mlp_head: False)" : "asked")")
        }
        if let w = dict.tensors[head == .mlp ? "head.out_proj.weight" : "head.weight"]?.shape, w.count == 2, w[0] != outputs {
            throw bad("config model.output_dim is \(outputs) but the head's weights give \(w[0]) outputs")
        }
        if let names = options.outputNames, names.count != outputs {
            throw bad("the head gives \(outputs) output(s), but \(names.count) output name(s) were given (\(names.joined(separator: ", ")))")
        }
        if options.qaToken == .token {
            throw bad("--qa-token token (the paper's separate [QA] vector) has no official counterpart; use table (qa_token: True) or none")
        }
        var c = IPIQAConfiguration(outputs: outputs, outputNames: options.outputNames)
        c.resolution = trained
        c.useText = true
        c.fusion = .paper
        c.head = head
        c.dropout = options.dropout ?? Float(s.dropoutRate)
        c.crossHeads = 32                 // TextAttentionPool2d(…, num_heads=32) in the official code
        c.qaToken = options.qaToken ?? (s.qaToken ? .table : .none)
        try c.validate(source: file)
        return c
    }

    /// Refuses a checkpoint of another kind, saying what it looks like.
    static func checkFamily(_ dict: StateDict, file: String) throws {
        let keys = dict.keys
        if keys.contains(where: { $0.hasPrefix("txt_attnpool.") }) && keys.contains(where: { $0.hasPrefix("resnet50.") || $0.hasPrefix("attnpool.") }) { return }
        for (prefix, name) in OfficialKeyMapping.families where keys.contains(where: { $0.hasPrefix(prefix) }) {
            throw IPIQAError.officialCheckpoint(file: file, reason: "not an official IP-IQA checkpoint: it is \(name)")
        }
        let sample = keys.prefix(4).joined(separator: ", ")
        throw IPIQAError.officialCheckpoint(file: file, reason: "not an official IP-IQA checkpoint: none of its \(keys.count) tensors is under txt_attnpool. with resnet50./attnpool. (first keys: \(sample.isEmpty ? "none" : sample))")
    }
}
