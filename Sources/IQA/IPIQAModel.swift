import CLIP
import Foundation
import NN
import Tensor

/// IP-IQA (Qu, Li, Gao, ICME 2024): quality and image–prompt alignment of an AI-generated image from the image and
/// its prompt, on a CLIP ModifiedResNet backbone. Data flow:
///
///     image  → CLIP trunk (layer4) → F [N, h, w, C]
///     F      → CLIP attention pool (positional embedding interpolated to h×w)           → v [N, E]
///     prompt → tokens; [QA] embedding at the end-of-text position → frozen text encoder → t [N, E]
///     F, t   → cross-modality attention pool (query = t)                                → c [N, E]
///     [v; c] → head (MLP or linear)                                                     → scores [N, k]
///
/// With `useText = false` the head sees `v` alone (the image-only ablation) and no text computation happens.
/// Everything in the text path except the [QA] vector is frozen and in eval mode.
///
/// ```swift
/// let model = try IPIQAModel(clip: CLIPModel.load(url), config: IPIQAConfiguration(outputs: 2))
/// let scores = try model(images, prompts: tokens)           // [N, 2]
/// ```
public final class IPIQAModel: Module {
    public var isTraining = true
    public let config: IPIQAConfiguration
    public let clip: CLIPModel
    /// The trainable [QA] embedding (`config.qaToken == .token`), initialised from the end-of-text row.
    public let qaToken: Var?
    public let crossPool: CrossModalAttentionPool?
    public let head: any Module
    private let applyHead: (Var) -> Var
    /// How many times the text encoder ran (observable proof that the image-only model never touches text).
    public private(set) var textEncodings = 0

    public init(clip: CLIPModel, config: IPIQAConfiguration) throws {
        guard config.resolution > 0, config.resolution % 32 == 0 else {
            throw CLIPError.badInput("IP-IQA: resolution must be a positive multiple of 32, got \(config.resolution)")
        }
        self.config = config
        self.clip = clip
        var rng = SeededGenerator(seed: config.seed)
        let grid = config.resolution / 32
        clip.visual.attnpool.resizePositionalEmbedding(grid: grid)
        let embed = clip.config.embedDim
        if config.useText {
            crossPool = CrossModalAttentionPool(grid: grid, channels: clip.config.featureChannels, textDim: embed,
                                                heads: config.crossHeads, outputDim: embed, rng: &rng)
            if config.qaToken == .token {
                let eot = Int(clip.config.vocabSize - 1)
                let row = clip.tokenEmbedding.weight.value.slice(rows: eot..<(eot + 1)).copy()
                qaToken = Var(row.reshaped([clip.config.transformerWidth]), requiresGrad: true, name: "qa_token")
            } else {
                qaToken = nil
            }
        } else {
            crossPool = nil
            qaToken = nil
        }
        let headInputs = config.useText ? 2 * embed : embed
        switch config.head {
        case .mlp:
            let h = MLPHead(inputs: headInputs, outputs: config.outputs, dropout: config.dropout, rng: &rng)
            head = h; applyHead = { h($0) }
        case .linear:
            let h = LinearHead(inputs: headInputs, outputs: config.outputs, rng: &rng)
            head = h; applyHead = { h($0) }
        }
        // Frozen text path (eval mode is applied in `setTraining`): everything but the visual tower and new layers.
        clip.freeze()
        clip.unfreeze(prefix: "visual")
        if config.useText && config.qaToken == .table { clip.unfreeze(prefix: "token_embedding") }
    }

    public var localParameters: [(String, Var)] { qaToken.map { [("qa_token", $0)] } ?? [] }
    public var children: [(String, any Module)] {
        var c: [(String, any Module)] = [("clip", clip)]
        if let crossPool { c.append(("txt_attnpool", crossPool)) }
        c.append(("head", head))
        return c
    }

    /// Training mode for the visual tower, fusion and head; the text encoder always stays in eval mode.
    public func setMode(training: Bool) {
        setTraining(training)
        clip.transformer.eval(); clip.lnFinal.eval(); clip.tokenEmbedding.eval()
    }

    /// The prompt's text feature `[N, E]` (with the [QA] token per `config.qaToken`).
    public func textFeature(_ tokens: [[Int32]]) throws -> Var {
        textEncodings += 1
        return try clip.encodeText(tokens, replacingEOTWith: config.qaToken == .token ? qaToken : nil)
    }

    /// Scores from a layer4 feature map and (unless image-only) the text feature: the part of the model after the trunk.
    public func scores(features: Var, text: Var?) -> (scores: Var, crossWeights: Tensor?) {
        let visualFeature = clip.visual.attnpool(features)
        guard config.useText, let crossPool, let text else { return (applyHead(visualFeature), nil) }
        let (fused, weights) = crossPool(features, text: text)
        return (applyHead(concat([visualFeature, fused], axis: 1)), weights)
    }

    /// Full forward pass: preprocessed images `[N, R, R, 3]` and token rows → scores `[N, k]` (+ cross-attention maps).
    public func forward(_ images: Var, tokens: [[Int32]]) throws -> (scores: Var, crossWeights: Tensor?) {
        guard images.value.rank == 4, images.shape[3] == 3 else {
            throw CLIPError.badInput("IP-IQA: images must be [N, H, W, 3], got \(images.shape)")
        }
        guard !config.useText || tokens.count == images.shape[0] else {
            throw CLIPError.badInput("IP-IQA: \(images.shape[0]) images but \(tokens.count) prompts")
        }
        let features = clip.visual.trunk(images)
        let text = config.useText ? try textFeature(tokens) : nil
        return scores(features: features, text: text)
    }

    public func callAsFunction(_ images: Var, prompts tokens: [[Int32]]) throws -> Var { try forward(images, tokens: tokens).scores }

    /// Parameters trained at the base learning rate and at `headScale ×` it (official: names containing `head`).
    public func parameterGroups() -> (base: [(String, Var)], head: [(String, Var)]) {
        let trainable = namedParameters().filter { $0.1.requiresGrad }
        return (trainable.filter { !$0.0.hasPrefix("head.") }, trainable.filter { $0.0.hasPrefix("head.") })
    }
}
