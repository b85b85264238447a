import Foundation

/// Named presets of every setting where the paper ("Bringing Textual Prompt to AI-Generated Image Quality
/// Assessment", ICME 2024) and the official code (github Coobiw/IP-IQA) differ, so a run says which it reproduces.
/// A preset is applied to the defaults first; a `--config` file and the flags given override it.
///
/// | setting                               | `paper`                     | `official`                                  |
/// |---------------------------------------|-----------------------------|---------------------------------------------|
/// | batch size                            | 40                          | 32                                          |
/// | optimiser                             | Adam                        | AdamW — identical here: weight decay is 0   |
/// | [QA]                                  | one trainable vector        | the whole token-embedding table trains      |
/// | text positional embedding, projection | frozen                      | trained (the official freeze bug)           |
/// | AGIQA-1k's duplicated image           | its first row (1,079 rows)  | both rows train / test (1,080 rows)         |
/// | new layers' initialisation per split  | the same for every split    | one per split (`initStream: continue`)      |
///
/// Both use lr 1e-5 (head × 10), weight decay 0, 100 epochs, 512² inputs. The official code's random stream is
/// PyTorch's: `continue` gives each split its own initialisation as it does, with this engine's draws.
///
/// The default configuration (no preset) is the paper's model with the official code's batch of 32.
///
/// ```swift
/// var config = TrainingConfiguration()
/// TrainingRecipe.official.apply(to: &config)      // batch 32, qaToken .table, textExtras .official, 1,080 AGIQA-1k rows, initStream .continue
/// ```
public enum TrainingRecipe: String, Codable, Sendable, CaseIterable {
    case paper
    case official

    /// Sets the preset's values in `config`.
    public func apply(to config: inout TrainingConfiguration) {
        config.weightDecay = 0
        switch self {
        case .paper:
            config.batchSize = 40
            config.qaToken = .token
            config.textExtras = .frozen
            config.duplicates = nil
            config.initStream = .restart
        case .official:
            config.batchSize = 32
            config.qaToken = .table
            config.textExtras = .official
            config.duplicates = .keepAll
            config.initStream = .continue
        }
    }

    /// The preset over the defaults.
    public var configuration: TrainingConfiguration {
        var c = TrainingConfiguration()
        apply(to: &c)
        return c
    }
}
