import Foundation
import Tensor

/// What corpus to make: `count` (image, prompt) pairs in `style`, with a fraction of captions swapped for the
/// prompt of another image.
///
/// ```swift
/// let pairs = try world.corpusPairs(CorpusSpec(count: 20_000, style: .natural), range: 0..<1000)
/// ```
public struct CorpusSpec: Codable, Sendable, Equatable {
    public var count: Int
    public var style: RenderStyle
    public var mismatchFraction: Double

    public init(count: Int, style: RenderStyle, mismatchFraction: Double = 0) {
        self.count = count
        self.style = style
        self.mismatchFraction = mismatchFraction
    }
}

/// One (image, prompt) pair of a corpus.
///
/// ```swift
/// for pair in corpus.pairs where !pair.mismatched { train(pair.image, pair.prompt) }
/// ```
public struct CorpusPair: Sendable {
    public let index: Int
    /// File name, `synth-<8-digit index>.png`.
    public let name: String
    /// The caption given with the image (another image's prompt when `mismatched`).
    public let prompt: String
    /// The prompt the image was made from.
    public let truePrompt: String
    public let mismatched: Bool
    /// Generator that made the image ("agi" corpora), nil for "natural" ones.
    public let generatorName: String?
    public let alignmentErrors: [AlignmentError]
    public let quality: [QualityDegradation]
    /// A 31-bit seed recorded as DiffusionDB's "se".
    public let imageSeed: Int
    public let image: SynthImage
}

/// A pre-training corpus (pairs in index order).
///
/// ```swift
/// let corpus = try world.makeCorpus(count: 5_000, style: .agi, mismatchFraction: 0.1)
/// print(corpus.mismatchedIndices.count)   // ≈ 500
/// ```
public struct SynthCorpus: Sendable {
    public let seed: UInt64
    /// ``WorldConfiguration/fingerprint`` of the world that made the corpus.
    public let configFingerprint: String
    public let spec: CorpusSpec
    public let pairs: [CorpusPair]

    /// Indices of pairs whose caption belongs to another image (what a CLIP-similarity filter should drop).
    public var mismatchedIndices: [Int] { pairs.filter(\.mismatched).map(\.index) }
}

extension SynthWorld {
    /// A corpus of `count` pairs. "natural": faithful scenes, flat rendering, light degradations (blur / noise /
    /// blockiness, severity U(0.05, 0.3)) on `naturalDegradedFraction` of images. "agi": each image made by a random
    /// generator (its alignment and quality errors), rendered in the "agi" style. In both, each pair's caption is
    /// replaced by another image's prompt with probability `mismatchFraction` (recorded in `mismatched`).
    public func makeCorpus(count: Int, style: RenderStyle, mismatchFraction: Double = 0) throws -> SynthCorpus {
        let spec = CorpusSpec(count: count, style: style, mismatchFraction: mismatchFraction)
        return SynthCorpus(seed: seed, configFingerprint: config.fingerprint, spec: spec, pairs: try corpusPairs(spec, range: 0..<count))
    }

    /// Pairs `range` of the corpus `spec` (so a large corpus can be made and written part by part).
    public func corpusPairs(_ spec: CorpusSpec, range: Range<Int>) throws -> [CorpusPair] {
        guard spec.count >= 1, spec.count <= 10_000_000 else {
            throw SynthError.invalidArgument(name: "count", value: "\(spec.count)", reason: "must be in 1…10000000")
        }
        guard (0...1).contains(spec.mismatchFraction) else {
            throw SynthError.invalidArgument(name: "mismatchFraction", value: "\(spec.mismatchFraction)", reason: "must be in [0, 1]")
        }
        guard range.lowerBound >= 0, range.upperBound <= spec.count else {
            throw SynthError.invalidArgument(name: "range", value: "\(range)", reason: "must lie within 0..<\(spec.count)")
        }
        let start = range.lowerBound
        return parallelMap(range.count, costPerItem: config.imageSize * config.imageSize * 30) { k in
            corpusPair(spec, index: start + k)
        }
    }

    func corpusScene(_ spec: CorpusSpec, index: Int) -> (Scene, SeededGenerator) {
        let stream: RandomStream = spec.style == .natural ? .corpusNatural : .corpusAgi
        var rng = SeededGenerator(seed: deriveSeed(seed, stream, index))
        let scene = SceneSampler.scene(twoGroupProbability: config.twoGroupProbability, using: &rng)
        return (scene, rng)
    }

    func corpusPair(_ spec: CorpusSpec, index: Int) -> CorpusPair {
        var (scene, rng) = corpusScene(spec, index: index)
        let imageSeed = Int(truncatingIfNeeded: deriveSeed(seed, spec.style == .natural ? .corpusNatural : .corpusAgi, index) >> 33)
        var errors: [AlignmentError] = []
        var quality: [QualityDegradation] = []
        var generatorName: String?
        let image: SynthImage
        switch spec.style {
        case .natural:
            if rng.bernoulli(config.naturalDegradedFraction) {
                var kinds: [QualityKind] = [.blur, .noise, .blockiness]
                let howMany = 1 + rng.int(below: 2)
                for _ in 0..<howMany {
                    let kind = kinds.remove(at: rng.int(below: kinds.count))
                    quality.append(QualityDegradation(kind: kind, severity: rng.uniform(0.05, config.naturalSeverityMax)))
                }
            }
            var canvas = SceneRenderer.render(scene, style: .natural, size: config.imageSize, using: &rng)
            Degrader.apply(quality, to: &canvas, using: &rng)
            image = SynthImage(canvas: canvas)
        case .agi:
            if config.agiCorpusUsesGenerators {
                let profile = config.generators[rng.int(below: config.generators.count)]
                generatorName = profile.name
                let truth = drawTruth(scene, by: profile, using: &rng)
                (errors, quality) = (truth.errors, truth.quality)
                image = render(truth.scene, quality: quality, using: &rng)
            } else {
                image = SceneRenderer.image(scene, style: .agi, size: config.imageSize, using: &rng)
            }
        }
        let truePrompt = scene.prompt
        var caption = truePrompt
        var mismatched = false
        var mrng = SeededGenerator(seed: deriveSeed(seed, spec.style == .natural ? .mismatchNatural : .mismatchAgi, index))
        if spec.count > 1 && mrng.bernoulli(spec.mismatchFraction) {
            var j = (index + 1 + mrng.int(below: spec.count - 1)) % spec.count
            for _ in 0..<min(spec.count, 64) {
                let other = corpusScene(spec, index: j).0.prompt
                if other != truePrompt {
                    caption = other
                    mismatched = true
                    break
                }
                j = (j + 1) % spec.count
                if j == index { j = (j + 1) % spec.count }
            }
        }
        let digits = String(index)
        let name = "synth-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".png"
        return CorpusPair(index: index, name: name, prompt: caption, truePrompt: truePrompt, mismatched: mismatched,
                          generatorName: generatorName, alignmentErrors: errors, quality: quality, imageSeed: imageSeed,
                          image: image)
    }
}
