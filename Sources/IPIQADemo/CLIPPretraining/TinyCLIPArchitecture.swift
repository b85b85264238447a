import CLIP
import Foundation

/// The shape of the demo's tiny CLIP: OpenAI's ModifiedResNet (stem + four stages of Bottlenecks + attention pool)
/// and causal text Transformer, at small widths. The vision trunk's layer4 map has `32 · visionWidth` channels and
/// a `resolution / 32` grid; the token table keeps CLIP's full 49,408-entry vocabulary (the real tokenizer), which
/// a small `textWidth` keeps cheap (49,408 × 64 ≈ 3.2 M parameters).
///
/// ```swift
/// let arch = TinyCLIPArchitecture()                 // width 8, 64 px, embed 64, text 64 × 2 layers
/// let clip = CLIPModel(config: arch.configuration, seed: 7)
/// ```
public struct TinyCLIPArchitecture: Codable, Sendable, Equatable {
    /// Stem width of the ResNet (RN50: 64).
    public var visionWidth = 8
    /// Bottlenecks per stage (RN50: [3, 4, 6, 3]).
    public var visionLayers = [1, 1, 1, 1]
    /// Input side the model is pre-trained at (a multiple of 32).
    public var resolution = 64
    /// Joint image–text embedding size.
    public var embedDim = 64
    public var textWidth = 64
    public var textLayers = 2
    public var textHeads = 2

    public init() {}

    /// Decodes JSON; missing keys keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TinyCLIPArchitecture()
        visionWidth = try c.decodeIfPresent(Int.self, forKey: .visionWidth) ?? d.visionWidth
        visionLayers = try c.decodeIfPresent([Int].self, forKey: .visionLayers) ?? d.visionLayers
        resolution = try c.decodeIfPresent(Int.self, forKey: .resolution) ?? d.resolution
        embedDim = try c.decodeIfPresent(Int.self, forKey: .embedDim) ?? d.embedDim
        textWidth = try c.decodeIfPresent(Int.self, forKey: .textWidth) ?? d.textWidth
        textLayers = try c.decodeIfPresent(Int.self, forKey: .textLayers) ?? d.textLayers
        textHeads = try c.decodeIfPresent(Int.self, forKey: .textHeads) ?? d.textHeads
    }

    /// The CLIP configuration (context 77, vocabulary 49,408 as OpenAI's tokenizer).
    public var configuration: CLIPConfiguration {
        CLIPConfiguration(embedDim: embedDim, imageResolution: resolution, visionLayers: visionLayers, visionWidth: visionWidth,
                          transformerWidth: textWidth, transformerHeads: textHeads, transformerLayers: textLayers)
    }

    /// Throws ``DemoError/invalidSetting(_:)`` for shapes the model cannot take.
    public func validate() throws {
        func bad(_ m: String) -> DemoError { .invalidSetting("tiny CLIP: " + m) }
        guard visionWidth >= 2, visionWidth % 2 == 0 else { throw bad("visionWidth must be even and ≥ 2, got \(visionWidth)") }
        guard visionLayers.count == 4, visionLayers.allSatisfy({ (1...8).contains($0) }) else {
            throw bad("visionLayers must be 4 counts in 1…8, got \(visionLayers)")
        }
        guard resolution >= 32, resolution % 32 == 0 else { throw bad("resolution must be a multiple of 32, got \(resolution)") }
        guard embedDim >= 1, textWidth >= 1, textLayers >= 1, textHeads >= 1, textWidth % textHeads == 0 else {
            throw bad("embedDim, textWidth, textLayers, textHeads must be positive, textWidth divisible by textHeads")
        }
    }
}
