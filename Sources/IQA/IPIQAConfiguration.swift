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
    /// Input side in pixels (images are squashed to `resolution × resolution`); multiple of 32.
    public var resolution: Int = 512
    /// Whether the prompt is used at all (false: the image-only ablation — visual attention pool → head).
    public var useText: Bool = true
    public var qaToken: QAToken = .token
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
}
