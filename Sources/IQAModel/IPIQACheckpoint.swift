import Archive
import Checkpoints
import CLIP
import Foundation
import NN
import Tensor

/// A trained IP-IQA model on disk: one safetensors file holding every parameter and buffer (PyTorch layout, keys
/// `clip.…`, `qa_token`, `txt_attnpool.…`, `head.…`) and, in its metadata, the two configurations as JSON, so the
/// file alone rebuilds the model (`ipiqa score --model FILE`).
public enum IPIQACheckpoint {
    public static let formatTag = "ipiqa-model-v1"

    /// Writes `model` atomically (temp file + rename). `extraMetadata` is stored alongside (e.g. dataset, split, epoch).
    public static func save(_ model: IPIQAModel, to url: URL, extraMetadata: [String: String] = [:]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata = extraMetadata
        metadata["format"] = "pt"
        metadata["ipiqa_format"] = formatTag
        metadata["ipiqa_config"] = String(decoding: try encoder.encode(model.config), as: UTF8.self)
        metadata["clip_config"] = String(decoding: try encoder.encode(model.clip.config), as: UTF8.self)
        try SafetensorsWriter.write(CheckpointMapping.fileTensors(model), dtype: .f32, metadata: metadata, to: url)
    }

    /// Rebuilds a model saved by ``save(_:to:extraMetadata:)``, verifying every tensor strictly. Returns it in eval mode.
    /// With `officialCLIP`, a checkpoint of the official PyTorch code is accepted too and imported on the fly
    /// (``OfficialCheckpoint``, that CLIP checkpoint supplying the frozen parts).
    public static func load(_ url: URL, officialCLIP: URL? = nil) throws -> (model: IPIQAModel, metadata: [String: String]) {
        let dict = try CheckpointLoader.load(url)
        guard dict.metadata["ipiqa_format"] == formatTag,
              let iqaJSON = dict.metadata["ipiqa_config"], let clipJSON = dict.metadata["clip_config"] else {
            if dict.metadata["ipiqa_format"] == nil, let officialCLIP {
                let imported = try OfficialCheckpoint.load(dict, clip: officialCLIP)
                return (imported.model, imported.metadata)
            }
            if dict.keys.contains(where: { $0.hasPrefix("txt_attnpool.") }) {
                throw IPIQAError.notAModel(file: url.path, reason: "a checkpoint of the official PyTorch IP-IQA code: add --clip with the CLIP checkpoint it was trained from (RN50.pt), or convert it once with `ipiqa import`")
            }
            throw IPIQAError.notAModel(file: url.path, reason: "not an IP-IQA model file (no '\(formatTag)' metadata; a CLIP checkpoint goes to --clip)")
        }
        let decoder = JSONDecoder()
        let config: IPIQAConfiguration, clipConfig: CLIPConfiguration
        for (name, json) in [("ipiqa_config", iqaJSON), ("clip_config", clipJSON)] {
            if let key = JSONText.duplicateKey(in: Data(json.utf8)) {
                throw IPIQAError.notAModel(file: url.path, reason: "\(name) in the metadata has the key '\(key)' twice")
            }
        }
        do {
            config = try decoder.decode(IPIQAConfiguration.self, from: Data(iqaJSON.utf8))
            clipConfig = try decoder.decode(CLIPConfiguration.self, from: Data(clipJSON.utf8))
        } catch {
            throw IPIQAError.notAModel(file: url.path, reason: "unreadable model configuration in metadata (\(error.localizedDescription))")
        }
        try check(config, clipConfig, against: dict, file: url.path)
        let model = try withoutInitialization { try IPIQAModel(clip: CLIPModel(config: clipConfig), config: config) }
        try model.loadStateDict(CheckpointMapping.engineTensors(dict), strict: true, source: url.path)
        model.setMode(training: false)
        return (model, dict.metadata)
    }

    /// Checks the stored configurations against the architecture's rules and against the file's own tensor shapes
    /// before any network is allocated: metadata that asks for more layers, other widths or another resolution than
    /// the tensors hold is an error naming the field and both values.
    static func check(_ config: IPIQAConfiguration, _ clipConfig: CLIPConfiguration, against dict: StateDict, file: String) throws {
        do { try clipConfig.validate(source: file) } catch let e as CLIPError {
            throw IPIQAError.notAModel(file: file, reason: "clip_config in the metadata: " + (e.errorDescription ?? "\(e)").replacingOccurrences(of: file + ": ", with: ""))
        }
        try config.validate(featureChannels: clipConfig.featureChannels, source: file)
        let prefix = "clip."
        var shapes: [String: [Int]] = [:]
        for (key, t) in dict.tensors where key.hasPrefix(prefix) { shapes[String(key.dropFirst(prefix.count))] = t.shape }
        let inferred: CLIPConfiguration
        do {
            inferred = try CLIPConfiguration(shapes: shapes, source: file,
                                             headsOverride: (vision: clipConfig.visionHeads, text: clipConfig.transformerHeads))
        } catch let e as CLIPError {
            throw IPIQAError.notAModel(file: file, reason: "its CLIP tensors do not form a CLIP model: " + (e.errorDescription ?? "\(e)"))
        }
        // The trainable attention pool's positional embedding is stored at the model's grid (its resolution), so the
        // tensors state `config.resolution` where the CLIP configuration states CLIP's native resolution.
        var expected = clipConfig
        expected.imageResolution = config.resolution
        let differences = expected.differences(from: inferred)
        guard differences.isEmpty else {
            throw IPIQAError.notAModel(file: file, reason: "the configuration in the metadata does not match the tensors "
                + "(metadata vs tensors, the resolution read from clip.visual.attnpool.positional_embedding): " + differences.joined(separator: ", "))
        }
    }
}
