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
/// With `fusion = .paperSimilarity` (beyond the paper, see ``IPIQAConfiguration/Fusion``) the head input is
/// `[v; c; BN(s)]`, `s = [û ⊙ t̂; û · t̂]`, `u` = CLIP's image embedding at its native resolution: the trunk, in eval
/// mode and without gradient, on the image average-pooled to that resolution, then a frozen copy of CLIP's attention
/// pool. With `useText = false` the head sees `v` alone (the image-only ablation)
/// and no text computation happens.
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
    /// The batch norm of the similarity features (`fusion == .paperSimilarity` only).
    public let similarityNorm: BatchNorm2d?
    /// A frozen copy of CLIP's attention pool at CLIP's native grid (its own positional embedding) that keeps the
    /// image embedding `u` of the similarity features in CLIP's joint space while the trainable pool `v` learns for
    /// the head (`.paperSimilarity` only). It reads the trunk's map of the image at CLIP's native resolution.
    public let similarityPool: AttentionPool2d?
    /// The input image's pooling to CLIP's native resolution for ``similarityEmbedding(images:)`` (`.paperSimilarity` only).
    public let similarityResize: NativeGridPooling?
    public let head: any Module
    private let applyHead: (Var) -> Var
    /// How many times the text encoder ran (observable proof that the image-only model never touches text).
    public private(set) var textEncodings = 0

    public init(clip: CLIPModel, config: IPIQAConfiguration) throws {
        try config.validate(featureChannels: clip.config.featureChannels)
        self.config = config
        self.clip = clip
        var rng = SeededGenerator(seed: config.seed)
        let grid = config.resolution / 32
        if config.effectiveFusion == .paperSimilarity {
            // Copied before the trainable pool's positional embedding is resized: the copy keeps CLIP's native grid.
            let source = clip.visual.attnpool
            guard source.nativeGrid >= 1 else {
                throw IPIQAError.badConfiguration(file: nil, reason: "CLIP's attention pool has no spatial positions (positional embedding \(source.positionalEmbedding.shape))")
            }
            let pool = withoutInitialization {
                var unused = SeededGenerator(seed: 0)
                return AttentionPool2d(grid: source.nativeGrid, embedDim: source.kProj.inFeatures, heads: source.heads,
                                       outputDim: source.cProj.outFeatures, rng: &unused)
            }
            try pool.loadStateDict(source.stateDict(), strict: true, source: "CLIP attention pool")
            pool.freeze()
            similarityPool = pool
            similarityResize = NativeGridPooling(from: config.resolution, to: source.nativeGrid * 32)
            similarityNorm = BatchNorm2d(clip.config.embedDim + 1)
        } else {
            similarityPool = nil
            similarityResize = nil
            similarityNorm = nil
        }
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
        let headInputs = !config.useText ? embed : 2 * embed + (similarityNorm == nil ? 0 : embed + 1)
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
        if let similarityPool { c.append(("similarity_pool", similarityPool)) }
        if let similarityNorm { c.append(("similarity_norm", similarityNorm)) }
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
    /// `similarity` is `u` of the images (``similarityEmbedding(images:)``), needed by `.paperSimilarity` only.
    public func scores(features: Var, text: Var?, similarity: Tensor?) -> (scores: Var, crossWeights: Tensor?) {
        let visualFeature = clip.visual.attnpool(features)
        guard config.useText, let crossPool, let text else { return (applyHead(visualFeature), nil) }
        let (fused, weights) = crossPool(features, text: text)
        return (head(visual: visualFeature, fused: fused, text: text, similarityImage: similarity.map { Var($0) }), weights)
    }

    /// `u` `[N, E]`: CLIP's image embedding of preprocessed images `[N, R, R, 3]` at CLIP's native resolution — the
    /// images average-pooled to it, the trunk in eval mode (BatchNorm running statistics), the frozen copy of CLIP's
    /// attention pool — computed without gradient. Nil unless `fusion == .paperSimilarity`. While the trunk is frozen
    /// this is exactly CLIP's embedding of the pooled image (and is cached with the feature map); while it is
    /// fine-tuned, `u` follows the current trunk.
    public func similarityEmbedding(images: Tensor) -> Tensor? {
        guard let similarityPool, let similarityResize else { return nil }
        let visual = clip.visual
        let modes = visual.namedModules().map { ($0.1, $0.1.isTraining) }
        visual.eval()
        defer { for (m, t) in modes { m.isTraining = t } }
        return withoutGradients { similarityPool(visual.trunk(similarityResize(Var(images)))) }.value
    }

    /// The head over the fusion of the pooled features: `[v; c]` (paper) or `[v; c; BN(s)]` with
    /// `s = similarityFeatures(similarityImage, text)` (paper + similarity; `similarityImage` is `u` of the same
    /// images). Every input path ends here.
    public func head(visual: Var, fused: Var, text: Var, similarityImage: Var?) -> Var {
        guard let similarityNorm, let similarityImage else { return applyHead(concat([visual, fused], axis: 1)) }
        let normalized = similarityNorm(Self.similarityFeatures(image: similarityImage, text: text))     // BN over [N, E + 1]
        return applyHead(concat([visual, fused, normalized], axis: 1))
    }

    /// The head over the visual feature alone (the image-only model).
    public func head(visual: Var) -> Var { applyHead(visual) }

    /// CLIPScore-style interaction features `[v̂ ⊙ t̂; v̂ · t̂]` `[N, E + 1]` of image and text embeddings `[N, E]`
    /// (`x̂ = x / ‖x‖`; the last column is their cosine, the zero-shot CLIPScore up to CLIPScore's `w · max(·, 0)`).
    public static func similarityFeatures(image: Var, text: Var) -> Var {
        let product = mul(l2Normalize(image), l2Normalize(text))
        let e = product.shape[1]
        let cosine = reshape(scale(meanAxis(product, axis: 1), Float(e)), [product.shape[0], 1])
        return concat([product, cosine], axis: 1)
    }

    /// Full forward pass: preprocessed images `[N, R, R, 3]` and token rows → scores `[N, k]` (+ cross-attention maps).
    public func forward(_ images: Var, tokens: [[Int32]]) throws -> (scores: Var, crossWeights: Tensor?) {
        let r = config.resolution
        guard images.shape.count == 4, images.shape[1] == r, images.shape[2] == r, images.shape[3] == 3 else {
            throw IPIQAError.badInput("images must be [N, \(r), \(r), 3] for this model, got \(images.shape)")
        }
        guard !config.useText || tokens.count == images.shape[0] else {
            throw IPIQAError.badInput("\(images.shape[0]) images but \(tokens.count) prompts")
        }
        let features = clip.visual.trunk(images)
        let text = config.useText ? try textFeature(tokens) : nil
        return scores(features: features, text: text, similarity: config.useText ? similarityEmbedding(images: images.value) : nil)
    }

    public func callAsFunction(_ images: Var, prompts tokens: [[Int32]]) throws -> Var { try forward(images, tokens: tokens).scores }

    /// Parameters trained at the base learning rate and at `headScale ×` it (official: names containing `head`).
    public func parameterGroups() -> (base: [(String, Var)], head: [(String, Var)]) {
        let trainable = namedParameters().filter { $0.1.requiresGrad }
        return (trainable.filter { !$0.0.hasPrefix("head.") }, trainable.filter { $0.0.hasPrefix("head.") })
    }
}
