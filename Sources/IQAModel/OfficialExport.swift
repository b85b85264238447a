import Checkpoints
import CLIP
import Foundation
import NN
import Tensor

/// Writes one of our models back into the official PyTorch IP-IQA code's format (github Coobiw/IP-IQA), named by
/// ``OfficialKeyMapping``:
///
/// - ``Format/official``: what its trainer's `_save_checkpoint` writes — `{"model": the parameters it trains and
///   every buffer, "config": {"model": settings}, "scaler": None, "epoch": n}` — a `torch.save` file that
///   `_reload_best_model` / `BaseModel.load_checkpoint` load and `torch.load(weights_only=True)` accepts (only
///   tensors and plain containers). There is no optimizer state (our model files keep none), so the official
///   trainer cannot *resume* from it; it evaluates or fine-tunes it (`load_finetuned`).
/// - ``Format/officialSafetensors``: the whole official `state_dict()` (frozen text encoder included, BatchNorm's
///   `num_batches_tracked` counters left out) as safetensors, the settings in its metadata.
///
/// Our models must be expressible there: the prompt used (not image-only), the paper's fusion, 32 cross-attention
/// heads (hard-coded officially). The paper's separate [QA] vector (``IPIQAConfiguration/QAToken/token``) is folded
/// into the token table's end-of-text row, which is exactly how the official `qa_token: True` model uses its table,
/// so the exported model scores the same.
///
/// ```swift
/// try OfficialExport.write(model, format: .official, epoch: 12, to: URL(fileURLWithPath: "checkpoint_best.pth"))
/// ```
public enum OfficialExport {
    /// The file written: `official` (`torch.save` checkpoint, what the trainer saves) or `official-safetensors`
    /// (the whole state dict). `OfficialExport.Format(rawValue: "official-safetensors")` parses the CLI spelling.
    public enum Format: String, Sendable, CaseIterable {
        case official
        case officialSafetensors = "official-safetensors"
    }

    /// Official names and tensors (file layout) of `model`, in our key order; `onlySaved`: what `_save_checkpoint`
    /// keeps. Throws when the model has no official counterpart.
    public static func tensors(_ model: IPIQAModel, onlySaved: Bool) throws -> [(String, shape: [Int], values: [Float])] {
        let c = model.config
        func refuse(_ m: String) -> IPIQAError { .badConfiguration(file: nil, reason: "cannot export to the official format: " + m) }
        guard c.useText else { throw refuse("the official model always reads the prompt; this one is image-only") }
        guard c.fusion == .paper else { throw refuse("the official model has only the paper's fusion, not \(c.fusion.rawValue)") }
        guard c.crossHeads == 32 else { throw refuse("the official TextAttentionPool2d has 32 heads, this model \(c.crossHeads)") }
        var entries = CheckpointMapping.fileTensors(model)
        if c.qaToken == .token, let qa = model.qaToken {
            // Fold the [QA] vector into the end-of-text row: the official table model reads that row at the same place.
            let eot = model.clip.config.vocabSize - 1, width = model.clip.config.transformerWidth
            if let i = entries.firstIndex(where: { $0.0 == "clip.token_embedding.weight" }) {
                let row = qa.value.array
                entries[i].values.replaceSubrange((eot * width)..<((eot + 1) * width), with: row)
            }
        }
        let qaSaved = c.qaToken != .none
        return entries.compactMap { key, shape, values in
            guard let name = OfficialKeyMapping.official(key, head: c.head) else { return nil }
            if onlySaved && !OfficialKeyMapping.isSaved(name, qaToken: qaSaved) { return nil }
            return (name, shape: shape, values: values)
        }
    }

    /// Writes `model` atomically in `format`. `epoch` goes into the checkpoint (official trainer's epoch counter).
    public static func write(_ model: IPIQAModel, format: Format, epoch: Int = 0, to url: URL) throws {
        let settings = OfficialModelSettings(model.config)
        switch format {
        case .official:
            let saved = try tensors(model, onlySaved: true)
            var stateDict: [(String, TorchSaveValue)] = saved.map { ($0.0, TorchSaveValue.floatTensor(shape: $0.shape, values: $0.values)) }
            // BatchNorm's step counters, which `state_dict()` holds next to the running statistics (unused in eval).
            for (name, _, _) in saved where name.hasSuffix(".running_var") {
                stateDict.append((String(name.dropLast("running_var".count)) + "num_batches_tracked", .longTensor(shape: [], values: [0])))
            }
            let object: TorchSaveValue = .dict([
                ("model", .orderedDict(stateDict)),
                ("config", .dict([("model", settings.torchValue)])),
                ("scaler", .none),
                ("epoch", .int(epoch)),
            ])
            try TorchSaveWriter.write(object, to: url)
        case .officialSafetensors:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let json = String(decoding: try encoder.encode(settings), as: UTF8.self)
            try SafetensorsWriter.write(try tensors(model, onlySaved: false), dtype: .f32,
                                        metadata: ["format": "pt", OfficialCheckpoint.settingsMetadataKey: json, "epoch": String(epoch)],
                                        to: url)
        }
    }
}
