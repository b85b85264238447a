import Checkpoints
import Foundation

/// The model section of an official IP-IQA config (github Coobiw/IP-IQA `ipiqa/projects/*/ipiqa.yaml`, stored by its
/// trainer as `checkpoint["config"]["model"]`), with `IPIQA.from_config`'s defaults for absent keys:
///
///     arch: ipiqa   input_resolution: 512   output_dim: null   use_mlp_head: False   dropout_rate: 0.
///     freeze_text: True   qa_token: False   head_scale: null   base_ckpt: cache/ckpt/clip/openai/resnet/RN50.pt
///
/// ```swift
/// let s = try OfficialModelSettings(config: dict.object?["config"], file: path)
/// s.inputResolution     // 512
/// ```
public struct OfficialModelSettings: Codable, Sendable, Equatable {
    public var arch = "ipiqa"
    public var inputResolution = 512
    /// Head outputs (`null` in the official code means no head at all, which cannot score).
    public var outputDim: Int?
    public var useMLPHead = false
    public var dropoutRate = 0.0
    public var freezeText = true
    public var qaToken = false
    public var headScale: Double?
    public var baseCheckpoint = "cache/ckpt/clip/openai/resnet/RN50.pt"

    public init() {}

    enum CodingKeys: String, CodingKey {
        case arch, inputResolution = "input_resolution", outputDim = "output_dim", useMLPHead = "use_mlp_head"
        case dropoutRate = "dropout_rate", freezeText = "freeze_text", qaToken = "qa_token", headScale = "head_scale"
        case baseCheckpoint = "base_ckpt"
    }

    /// Reads `config["model"]` of an official checkpoint; a missing config or model section, or a value of the
    /// wrong type, is an error naming the file and key.
    public init(config: PickledObject?, file: String) throws {
        func bad(_ m: String) -> IPIQAError { .officialCheckpoint(file: file, reason: m) }
        guard let config else { throw bad("no \"config\" entry: not a checkpoint written by the official trainer (_save_checkpoint)") }
        guard let model = config["model"], case .dict(let entries) = model else {
            throw bad("its config has no \"model\" section (the official trainer stores OmegaConf.to_container(cfg) with model/dataset/run)")
        }
        self.init()
        for (key, value) in entries {
            func number() throws -> Double {
                guard let d = value.doubleValue else { throw bad("config model.\(key) must be a number, got \(value.kindName)") }
                return d
            }
            func flag() throws -> Bool {
                guard let b = value.boolValue else { throw bad("config model.\(key) must be True or False, got \(value.kindName)") }
                return b
            }
            switch key {
            case "arch": arch = value.stringValue ?? arch
            case "input_resolution":
                guard let r = value.intValue else { throw bad("config model.input_resolution must be an integer, got \(value.kindName)") }
                inputResolution = r
            case "output_dim":
                if value.isNone { outputDim = nil } else {
                    guard let k = value.intValue else { throw bad("config model.output_dim must be an integer or null, got \(value.kindName)") }
                    outputDim = k
                }
            case "use_mlp_head": useMLPHead = try flag()
            case "dropout_rate": dropoutRate = try number()
            case "freeze_text": freezeText = try flag()
            case "qa_token": qaToken = try flag()
            case "head_scale": headScale = value.isNone ? nil : try number()
            case "base_ckpt": baseCheckpoint = value.stringValue ?? baseCheckpoint
            default: continue    // load_finetuned, finetuned, pretrained …: not model settings
            }
        }
        guard arch == "ipiqa" else { throw bad("a checkpoint of model family '\(arch)' (config model.arch), not IP-IQA ('ipiqa')") }
    }

    /// The settings of one of our models, for export (official `head_scale` is the recipe's 10).
    public init(_ config: IPIQAConfiguration) {
        self.init()
        inputResolution = config.resolution
        outputDim = config.outputs
        useMLPHead = config.head == .mlp
        dropoutRate = Double(config.dropout)
        qaToken = config.qaToken != .none
        headScale = 10
    }

    /// The `config["model"]` dict the official trainer would store.
    public var torchValue: TorchSaveValue {
        .dict([
            ("arch", .string(arch)), ("base_ckpt", .string(baseCheckpoint)), ("input_resolution", .int(inputResolution)),
            ("output_dim", outputDim.map { .int($0) } ?? .none), ("load_finetuned", .bool(false)),
            ("head_scale", headScale.map { .float($0) } ?? .none), ("use_mlp_head", .bool(useMLPHead)),
            ("dropout_rate", .float(dropoutRate)), ("freeze_text", .bool(freezeText)), ("qa_token", .bool(qaToken)),
        ])
    }
}
