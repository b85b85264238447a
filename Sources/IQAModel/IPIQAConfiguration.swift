import CLIP
import Foundation

/// Architecture switches of an IP-IQA model. Defaults are the paper's model with the official implementation's
/// head (github Coobiw/IP-IQA `ipiqa/projects/agiqa3k/ipiqa.yaml`); each switch is one row of the paper's Table 3.
///
/// ```swift
/// var config = IPIQAConfiguration(outputs: 2)      // AGIQA-3k: quality, alignment
/// config.useText = false                           // the image-only ablation
/// ```
public struct IPIQAConfiguration: Codable, Sendable, Equatable {
    /// How the prompt's text feature is formed.
    public enum QAToken: String, Codable, Sendable, CaseIterable {
        /// The paper: one trainable [QA] embedding (initialised from the end-of-text row) replaces the EOT embedding.
        case token
        /// The official code: the whole token-embedding table is unfrozen (so the EOT row learns); no separate vector.
        case table
        /// Ablation "prompt without [QA]": the frozen plain end-of-text feature.
        case none
    }

    /// What the head receives besides the visual attention pool `v = attnpool(F)`.
    public enum Fusion: String, Codable, Sendable, CaseIterable {
        /// The paper's fusion: `[v; c]`, `c = crossPool(F, t)` (the cross-modality attention pool, query: the text
        /// feature `t`).
        case paper
        /// Beyond the paper: `[v; c; BN(s)]` with the CLIPScore-style interaction features of the image and text
        /// embeddings `s = [û ⊙ t̂; û · t̂]` (`x̂ = x / ‖x‖`, `E + 1` values). `u` is CLIP's image embedding at its
        /// native resolution (224 px for RN50): the input image average-pooled to it (``NativeGridPooling``), the trunk
        /// in eval mode without gradient, and a frozen copy of CLIP's attention pool (`similarity_pool`), so it stays in
        /// CLIP's joint image–text space while the trainable pool `v` learns for the head. `s` is normalised by a batch
        /// norm (`similarity_norm`: batch statistics in training, running statistics at evaluation, learned affine).
        /// The head then sees how well image and prompt agree, not only where the prompt looked.
        case paperSimilarity = "paper+similarity"

        /// The name used in tables and figures, marking the variant that goes beyond the paper.
        public var label: String { self == .paper ? "paper's fusion" : "paper's fusion + similarity features (beyond the paper)" }
    }

    public enum Head: String, Codable, Sendable, CaseIterable {
        /// Dropout → Linear(2048, 2048) → tanh → dropout → Linear(2048, k) (official `MLPHead`).
        case mlp
        /// Linear(2048, k).
        case linear
    }

    /// Scores predicted: 1 (coupled MOS, AGIQA-1k) or 2 (quality, alignment; AGIQA-3k).
    public var outputs: Int
    /// Names of the outputs, in order (e.g. `["quality", "alignment"]` or `["score"]`).
    public var outputNames: [String]
    /// The recipe's input side (the official 512 px): the default of every model and training configuration.
    public static let defaultResolution = 512

    /// Input side in pixels (images are squashed to `resolution × resolution`); multiple of 32. The one place the
    /// input size of a model is stated: training, scoring and feature caches read it from here.
    public var resolution: Int = IPIQAConfiguration.defaultResolution
    /// Whether the prompt is used at all (false: the image-only ablation — visual attention pool → head).
    public var useText: Bool = true
    public var qaToken: QAToken = .token
    /// How the image and prompt features are combined before the head (ignored by the image-only model).
    public var fusion: Fusion = .paper
    public var head: Head = .mlp
    /// Dropout of the MLP head.
    public var dropout: Float = 0.5
    /// Heads of the cross-modality attention pool.
    public var crossHeads: Int = 32
    /// Seed of the new layers' initialisation.
    public var seed: UInt64 = 42

    public init(outputs: Int, outputNames: [String]? = nil) {
        self.outputs = outputs
        self.outputNames = outputNames ?? (outputs == 2 ? ["quality", "alignment"] : (0..<outputs).map { outputs == 1 ? "score" : "score\($0)" })
    }

    enum CodingKeys: String, CodingKey {
        case outputs, outputNames, resolution, useText, qaToken, fusion, head, dropout, crossHeads, seed
    }

    /// Decodes a stored configuration; `fusion` may be absent (files written before it existed use the paper's).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        outputs = try c.decode(Int.self, forKey: .outputs)
        outputNames = try c.decode([String].self, forKey: .outputNames)
        resolution = try c.decode(Int.self, forKey: .resolution)
        useText = try c.decode(Bool.self, forKey: .useText)
        qaToken = try c.decode(QAToken.self, forKey: .qaToken)
        fusion = try c.decodeIfPresent(Fusion.self, forKey: .fusion) ?? .paper
        head = try c.decode(Head.self, forKey: .head)
        dropout = try c.decode(Float.self, forKey: .dropout)
        crossHeads = try c.decode(Int.self, forKey: .crossHeads)
        seed = try c.decode(UInt64.self, forKey: .seed)
    }

    /// The fusion in effect: the image-only model has none.
    public var effectiveFusion: Fusion? { useText ? fusion : nil }

    /// Checks the values against the architecture's rules before anything is built: outputs and their names, the
    /// resolution, dropout, and heads that divide the `featureChannels` of the trunk (nil: not checked here).
    public func validate(featureChannels: Int? = nil, source: String? = nil) throws {
        func bad(_ m: String) -> IPIQAError { .badConfiguration(file: source, reason: m) }
        guard (1...64).contains(outputs) else { throw bad("outputs must be in 1…64, got \(outputs)") }
        guard outputNames.count == outputs, Set(outputNames).count == outputs, !outputNames.contains("") else {
            throw bad("output names \(outputNames) must be \(outputs) distinct non-empty names")
        }
        if let problem = CLIPConfiguration.resolutionProblem(resolution) { throw bad(problem) }
        guard dropout >= 0, dropout < 1 else { throw bad("dropout must lie in [0, 1), got \(dropout)") }
        guard (1...4096).contains(crossHeads) else { throw bad("crossHeads must be in 1…4096, got \(crossHeads)") }
        if useText, let featureChannels, featureChannels % crossHeads != 0 {
            throw bad("crossHeads (\(crossHeads)) must divide the trunk's \(featureChannels) feature channels")
        }
    }
}
