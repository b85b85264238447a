import CLIP
import IQAModel
import NN
import Tensor

/// Which of the text path's bare parameters (`positional_embedding`, `text_projection`) train.
///
/// The paper freezes the whole text encoder. The official code (github Coobiw/IP-IQA `ipiqa/models/utils.py`
/// `freeze_module`) sets `requires_grad = True` on bare `nn.Parameter`s instead of `False`, so in its runs the text
/// positional embedding and `text_projection` train at the base learning rate (the Transformer blocks, `ln_final`
/// and — unless `qa_token` — the token table stay frozen, in eval mode).
///
/// ```swift
/// var config = TrainingConfiguration()
/// config.textExtras = .official          // reproduce the official code's runs
/// ```
/// How the new layers (cross pool, head, [QA] vector) are initialised across splits.
public enum InitStream: String, Codable, Sendable, CaseIterable {
    /// Every split starts from the same initialisation, drawn from `seed` (default: splits differ only in their data).
    case restart
    /// Each split draws its own initialisation, as the official code's single random stream does (it seeds once and
    /// builds the model of every split from where the stream stands). The draws are this engine's, not PyTorch's, so
    /// this reproduces that splits start differently, not the official numbers.
    case `continue`
}

public enum TextExtras: String, Codable, Sendable, CaseIterable {
    /// The paper: the text encoder is frozen entirely (default).
    case frozen
    /// The official code's quirk: `positional_embedding` and `text_projection` train (base learning rate). The text
    /// prefix cache is then unusable (the prefix changes every step) and is switched off automatically.
    case official
}

/// Storage precision of cached trunk maps and projections.
///
/// ```swift
/// config.featurePrecision = .f32       // bit-exact cache (twice the disk)
/// ```
public enum FeaturePrecision: String, Codable, Sendable, CaseIterable {
    /// IEEE half (round to nearest even): half the disk space; relative error ≤ 2⁻¹¹ per value.
    case f16
    /// Bit-exact float32.
    case f32
}

/// What trains in each training mode, and the train/eval state of the modules, in one place:
///
///     default        trunk, visual attention pool, fusion, head, [QA] train; trunk BatchNorm in training mode
///     freezeTrunk    trunk frozen (BatchNorm in eval mode: running statistics, as during feature extraction)
///     freezeKV       additionally k_proj and v_proj of the visual attention pool and of the fusion pool frozen
///     textExtras     .official: clip.positional_embedding and clip.text_projection train (base learning rate)
///
/// The text Transformer, `ln_final` and the token table stay as ``IPIQAModel`` sets them (frozen, eval mode).
///
/// ```swift
/// let model = try IPIQAModel(clip: clip, config: config.modelConfiguration(outputNames: names))
/// TrainingModes.apply(config, to: model)                  // before the optimizer is made
/// TrainingModes.setMode(model, training: true, config: config)
/// ```
public enum TrainingModes {
    /// Prefixes of the projections frozen by ``TrainingConfiguration/freezeKV``.
    public static let frozenKVPrefixes = ["clip.visual.attnpool.k_proj", "clip.visual.attnpool.v_proj",
                                          "txt_attnpool.cross_attn.k_proj", "txt_attnpool.cross_attn.v_proj"]

    /// Sets `requiresGrad` of every parameter the configuration's modes change.
    public static func apply(_ config: TrainingConfiguration, to model: IPIQAModel) {
        if config.isTrunkFrozen {
            for (name, v) in model.clip.visual.namedParameters() where !keyIsUnder(name, prefix: "attnpool") {
                v.requiresGrad = false
                v.grad = nil
            }
        }
        if config.freezeKV {
            for prefix in frozenKVPrefixes { model.freeze(prefix: prefix) }
        }
        if config.textExtras == .official && config.useText {
            model.clip.positionalEmbedding.requiresGrad = true
            model.clip.textProjection.requiresGrad = true
        }
    }

    /// ``IPIQAModel/setMode(training:)``, then the frozen trunk back to eval mode (its BatchNorm uses the running
    /// statistics the cached maps were computed with; the attention pool has no mode-dependent layer).
    public static func setMode(_ model: IPIQAModel, training: Bool, config: TrainingConfiguration) {
        model.setMode(training: training)
        if config.isTrunkFrozen { model.clip.visual.eval() }
    }
}
