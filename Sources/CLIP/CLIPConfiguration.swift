import Foundation

/// Architecture of a CLIP model with a ModifiedResNet image encoder (RN50, RN101, RN50x4, RN50x16, RN50x64, or a
/// tiny variant), read off a checkpoint's tensor shapes exactly as openai/CLIP `clip/model.py build_model` does.
///
/// ```swift
/// let config = try CLIPConfiguration(shapes: stateDict.mapValues(\.shape), source: "RN50.pt")
/// config.visionLayers   // [3, 4, 6, 3] for RN50
/// ```
public struct CLIPConfiguration: Codable, Sendable, Equatable {
    /// Joint embedding size (`text_projection.shape[1]`): 1024 for RN50.
    public var embedDim: Int
    /// Input resolution the checkpoint's positional embedding was trained at (`32 · grid`): 224 for RN50.
    public var imageResolution: Int
    /// Bottleneck blocks per stage.
    public var visionLayers: [Int]
    /// Stem width (64 for RN50); the trunk's output has `32 · width` channels.
    public var visionWidth: Int
    /// Heads of the attention pool (`width · 32 / 64`).
    public var visionHeads: Int
    public var contextLength: Int
    public var vocabSize: Int
    public var transformerWidth: Int
    public var transformerHeads: Int
    public var transformerLayers: Int

    public init(embedDim: Int, imageResolution: Int, visionLayers: [Int], visionWidth: Int, visionHeads: Int? = nil,
                contextLength: Int = 77, vocabSize: Int = 49408, transformerWidth: Int, transformerHeads: Int? = nil,
                transformerLayers: Int) {
        self.embedDim = embedDim
        self.imageResolution = imageResolution
        self.visionLayers = visionLayers
        self.visionWidth = visionWidth
        self.visionHeads = visionHeads ?? max(1, visionWidth * 32 / 64)
        self.contextLength = contextLength
        self.vocabSize = vocabSize
        self.transformerWidth = transformerWidth
        self.transformerHeads = transformerHeads ?? max(1, transformerWidth / 64)
        self.transformerLayers = transformerLayers
    }

    /// OpenAI's RN50.
    public static let rn50 = CLIPConfiguration(embedDim: 1024, imageResolution: 224, visionLayers: [3, 4, 6, 3],
                                               visionWidth: 64, transformerWidth: 512, transformerLayers: 12)

    /// Channels of the layer4 feature map (`32 · width`: 2048 for RN50).
    public var featureChannels: Int { visionWidth * 32 }
    /// Side of the layer4 grid at the native resolution (7 for RN50 at 224).
    public var nativeGrid: Int { imageResolution / 32 }

    /// Infers the architecture from checkpoint tensor shapes (PyTorch layout), as `build_model` does.
    /// Heads follow OpenAI's rule unless `headsOverride` (from checkpoint metadata) says otherwise.
    public init(shapes: [String: [Int]], source: String, headsOverride: (vision: Int, text: Int)? = nil) throws {
        func shape(_ key: String) throws -> [Int] {
            guard let s = shapes[key] else { throw CLIPError.notACLIPCheckpoint(file: source, missingKey: key) }
            return s
        }
        if shapes["visual.proj"] != nil {
            throw CLIPError.unsupportedArchitecture(file: source, reason: "Vision Transformer CLIP (visual.proj present); IP-IQA uses the ResNet family")
        }
        var layers: [Int] = []
        for b in 1...4 {
            let prefix = "visual.layer\(b)."
            let blocks = Set(shapes.keys.filter { $0.hasPrefix(prefix) }.compactMap { $0.dropFirst(prefix.count).split(separator: ".").first.map(String.init) })
            guard !blocks.isEmpty else { throw CLIPError.notACLIPCheckpoint(file: source, missingKey: "visual.layer\(b).*") }
            layers.append(blocks.count)
        }
        let width = try shape("visual.layer1.0.conv1.weight")[0]
        let pos = try shape("visual.attnpool.positional_embedding")[0]
        let grid = Int((Double(pos - 1)).squareRoot().rounded())
        guard grid * grid + 1 == pos else {
            throw CLIPError.unsupportedArchitecture(file: source, reason: "attnpool.positional_embedding has \(pos) rows, not a square grid + 1")
        }
        let textProjection = try shape("text_projection")
        let textWidth = try shape("ln_final.weight")[0]
        let blocks = Set(shapes.keys.filter { $0.hasPrefix("transformer.resblocks.") }.compactMap { $0.split(separator: ".").dropFirst(2).first.map(String.init) })
        self.init(embedDim: textProjection[1], imageResolution: grid * 32, visionLayers: layers, visionWidth: width,
                  visionHeads: headsOverride?.vision, contextLength: try shape("positional_embedding")[0],
                  vocabSize: try shape("token_embedding.weight")[0], transformerWidth: textWidth,
                  transformerHeads: headsOverride?.text, transformerLayers: blocks.count)
    }
}

/// Errors building or loading a CLIP model.
public enum CLIPError: LocalizedError, Equatable {
    case notACLIPCheckpoint(file: String, missingKey: String)
    case unsupportedArchitecture(file: String, reason: String)
    case badInput(String)

    public var errorDescription: String? {
        switch self {
        case let .notACLIPCheckpoint(f, k): return "\(f): not a CLIP ResNet checkpoint (no tensor '\(k)')"
        case let .unsupportedArchitecture(f, r): return "\(f): unsupported CLIP architecture: \(r)"
        case let .badInput(m): return m
        }
    }
}
