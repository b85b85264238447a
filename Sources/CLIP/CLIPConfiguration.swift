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

    /// Bounds on every size a configuration may ask for: far above any CLIP ResNet (RN50x64: width 128, stages
    /// [3, 15, 36, 10], 448 px, text width 1024 × 12 layers), far below sizes that exhaust memory.
    public enum Limits {
        public static let embedDim = 1...16_384
        /// Input side in pixels (a multiple of 32), for the checkpoint's native resolution and for any resolution asked of it.
        public static let resolution = 32...4096
        public static let blocksPerStage = 1...64
        public static let visionWidth = 2...1024
        public static let contextLength = 1...4096
        public static let vocabSize = 1...1_048_576
        public static let transformerWidth = 1...16_384
        public static let transformerLayers = 1...128
        public static let heads = 1...4096
    }

    /// Checks a resolution asked of a model (`--resolution`, a model's input side): a multiple of 32 within
    /// ``Limits/resolution``. Returns a reason, or nil when it is fine.
    public static func resolutionProblem(_ resolution: Int) -> String? {
        guard Limits.resolution.contains(resolution), resolution % 32 == 0 else {
            return "resolution must be a multiple of 32 in \(Limits.resolution.lowerBound)…\(Limits.resolution.upperBound), got \(resolution)"
        }
        return nil
    }

    /// Checks every value against the architecture's rules before anything is built: sizes within ``Limits``, four
    /// stages, a resolution that is a multiple of 32, heads that divide the widths they split. Throws
    /// ``CLIPError/badConfiguration(file:reason:)`` listing every problem; `source` names where the values came from.
    public func validate(source: String?) throws {
        var problems: [String] = []
        func within(_ name: String, _ value: Int, _ range: ClosedRange<Int>) {
            if !range.contains(value) { problems.append("\(name) must be in \(range.lowerBound)…\(range.upperBound), got \(value)") }
        }
        within("embedDim", embedDim, Limits.embedDim)
        if let p = Self.resolutionProblem(imageResolution) { problems.append("image" + p.prefix(1).uppercased() + p.dropFirst()) }
        if visionLayers.count != 4 || !visionLayers.allSatisfy(Limits.blocksPerStage.contains) {
            problems.append("visionLayers must be 4 block counts in \(Limits.blocksPerStage.lowerBound)…\(Limits.blocksPerStage.upperBound), got \(visionLayers)")
        }
        within("visionWidth", visionWidth, Limits.visionWidth)
        within("visionHeads", visionHeads, Limits.heads)
        if Limits.visionWidth.contains(visionWidth), Limits.heads.contains(visionHeads), featureChannels % visionHeads != 0 {
            problems.append("visionHeads (\(visionHeads)) must divide the attention pool's \(featureChannels) channels")
        }
        within("contextLength", contextLength, Limits.contextLength)
        within("vocabSize", vocabSize, Limits.vocabSize)
        within("transformerWidth", transformerWidth, Limits.transformerWidth)
        within("transformerHeads", transformerHeads, Limits.heads)
        if Limits.heads.contains(transformerHeads), transformerWidth > 0, transformerWidth % transformerHeads != 0 {
            problems.append("transformerHeads (\(transformerHeads)) must divide transformerWidth (\(transformerWidth))")
        }
        within("transformerLayers", transformerLayers, Limits.transformerLayers)
        if !problems.isEmpty { throw CLIPError.badConfiguration(file: source, reason: problems.joined(separator: "; ")) }
    }

    /// Bytes of the largest activation the image tower holds for `batch` images of `resolution` px: layer1's output
    /// `[N, R/4, R/4, 4·width]` floats, `N · R² · width` bytes (saturating instead of overflowing).
    public func largestActivationBytes(batch: Int, resolution: Int) -> Int {
        [batch, resolution, resolution, visionWidth].reduce(1) { a, b in
            let (p, o) = a.multipliedReportingOverflow(by: max(b, 0))
            return o ? Int.max : p
        }
    }

    /// Bytes of the text Transformer's attention probabilities for `batch` prompts: `[N, heads, L, L]` floats with
    /// `L = contextLength`, `4 · N · heads · L²` bytes (saturating). Small for CLIP (77 tokens: 190 KB per prompt),
    /// but a checkpoint may declare up to 4096 tokens and 4096 heads, which the limits alone do not keep in memory.
    public func textAttentionBytes(batch: Int) -> Int {
        [batch, transformerHeads, contextLength, contextLength, 4].reduce(1) { a, b in
            let (p, o) = a.multipliedReportingOverflow(by: max(b, 0))
            return o ? Int.max : p
        }
    }

    /// Refuses a batch whose activations cannot fit this machine's memory (an image activation map or the text
    /// attention maps above an eighth of it), as an error instead of a failed allocation in the middle of the forward
    /// pass. `what` names who asked (a flag, a configuration field) in the message.
    public func checkMemory(batch: Int, resolution: Int, what: String = "the batch size or the resolution") throws {
        let budget = Int(clamping: ProcessInfo.processInfo.physicalMemory / 8)
        func gb(_ b: Int) -> String { String(format: "%.1f GB", Double(b) / 1e9) }
        let bytes = largestActivationBytes(batch: batch, resolution: resolution)
        guard bytes <= budget else {
            throw CLIPError.badInput("\(batch) image(s) of \(resolution)×\(resolution) px need activation maps of about \(gb(bytes)) each, "
                + "more than this machine's memory allows (\(gb(budget)) per map): lower \(what)")
        }
        let text = textAttentionBytes(batch: batch)
        guard text <= budget else {
            throw CLIPError.badInput("\(batch) prompt(s) of \(contextLength) tokens need text attention maps of about \(gb(text)) "
                + "(\(transformerHeads) heads), more than this machine's memory allows (\(gb(budget))): lower \(what)")
        }
    }

    /// The fields in which `other` differs from this configuration, as `name: this vs other` (empty: equal).
    public func differences(from other: CLIPConfiguration) -> [String] {
        var d: [String] = []
        func cmp<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { d.append("\(name) \(a) vs \(b)") } }
        cmp("embedDim", embedDim, other.embedDim)
        cmp("imageResolution", imageResolution, other.imageResolution)
        cmp("visionLayers", visionLayers, other.visionLayers)
        cmp("visionWidth", visionWidth, other.visionWidth)
        cmp("visionHeads", visionHeads, other.visionHeads)
        cmp("contextLength", contextLength, other.contextLength)
        cmp("vocabSize", vocabSize, other.vocabSize)
        cmp("transformerWidth", transformerWidth, other.transformerWidth)
        cmp("transformerHeads", transformerHeads, other.transformerHeads)
        cmp("transformerLayers", transformerLayers, other.transformerLayers)
        return d
    }

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
        // Each dimension is checked against the limits before any arithmetic on it.
        func dim(_ key: String, _ axis: Int, _ range: ClosedRange<Int>) throws -> Int {
            let s = try shape(key)
            guard axis < s.count else {
                throw CLIPError.unsupportedArchitecture(file: source, reason: "\(key) has shape \(s), expected at least \(axis + 1) dimension(s)")
            }
            guard range.contains(s[axis]) else {
                throw CLIPError.unsupportedArchitecture(file: source, reason: "\(key) has shape \(s): dimension \(axis) must be in \(range.lowerBound)…\(range.upperBound)")
            }
            return s[axis]
        }
        let width = try dim("visual.layer1.0.conv1.weight", 0, Limits.visionWidth)
        let maxGrid = Limits.resolution.upperBound / 32
        let pos = try dim("visual.attnpool.positional_embedding", 0, 2...(maxGrid * maxGrid + 1))
        let grid = Int((Double(pos - 1)).squareRoot().rounded())
        guard grid * grid + 1 == pos else {
            throw CLIPError.unsupportedArchitecture(file: source, reason: "attnpool.positional_embedding has \(pos) rows, not a square grid + 1")
        }
        let embedDim = try dim("text_projection", 1, Limits.embedDim)
        let textWidth = try dim("ln_final.weight", 0, Limits.transformerWidth)
        let blocks = Set(shapes.keys.filter { $0.hasPrefix("transformer.resblocks.") }.compactMap { $0.split(separator: ".").dropFirst(2).first.map(String.init) })
        self.init(embedDim: embedDim, imageResolution: grid * 32, visionLayers: layers, visionWidth: width,
                  visionHeads: headsOverride?.vision, contextLength: try dim("positional_embedding", 0, Limits.contextLength),
                  vocabSize: try dim("token_embedding.weight", 0, Limits.vocabSize), transformerWidth: textWidth,
                  transformerHeads: headsOverride?.text, transformerLayers: blocks.count)
        try validate(source: source)
    }
}

/// Errors building or loading a CLIP model.
public enum CLIPError: LocalizedError, Equatable {
    case notACLIPCheckpoint(file: String, missingKey: String)
    case unsupportedArchitecture(file: String, reason: String)
    /// Configuration values the architecture cannot be built with (`file`: where they came from, if anywhere).
    case badConfiguration(file: String?, reason: String)
    case badInput(String)

    public var errorDescription: String? {
        switch self {
        case let .notACLIPCheckpoint(f, k): return "\(f): not a CLIP ResNet checkpoint (no tensor '\(k)')"
        case let .unsupportedArchitecture(f, r): return "\(f): unsupported CLIP architecture: \(r)"
        case let .badConfiguration(f, r): return (f.map { $0 + ": " } ?? "") + "invalid CLIP configuration: " + r
        case let .badInput(m): return m
        }
    }
}
