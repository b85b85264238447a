import Foundation
import Tensor

/// The synthetic AGIQA world: everything (prompts, images, scores) is a pure function of `seed` and `config`.
/// Each prompt, image and corpus pair draws from its own seeded stream, so results do not depend on thread count
/// or on how many items are asked for (prompt 17's images are the same in a 20- or a 300-prompt set).
///
/// ```swift
/// let world = try SynthWorld(seed: 42)
/// let iqa = try world.makeIQASet(prompts: 300, generators: 8)          // 2,400 images, AGIQA-3k-like
/// let corpus = try world.makeCorpus(count: 20_000, style: .natural)    // CLIP pre-training pairs
/// let i2p = try world.makeCorpus(count: 5_000, style: .agi, mismatchFraction: 0.1)
/// ```
public struct SynthWorld: Sendable {
    public let seed: UInt64
    public let config: WorldConfiguration

    public init(seed: UInt64, config: WorldConfiguration = WorldConfiguration()) throws {
        try config.validate()
        self.seed = seed
        self.config = config
    }

    /// The first `count` intended scenes (distinct prompts), prompt id = index.
    public func promptScenes(count: Int) throws -> [Scene] {
        guard count >= 1, count <= 100_000 else {
            throw SynthError.invalidArgument(name: "prompts", value: "\(count)", reason: "must be in 1…100000")
        }
        var seen = Set<String>()
        var scenes: [Scene] = []
        scenes.reserveCapacity(count)
        for p in 0..<count {
            var rng = SeededGenerator(seed: deriveSeed(seed, .prompt, p))
            var scene = SceneSampler.scene(twoGroupProbability: config.twoGroupProbability, using: &rng)
            var attempts = 0
            while seen.contains(scene.prompt) && attempts < 1000 {
                scene = SceneSampler.scene(twoGroupProbability: config.twoGroupProbability, using: &rng)
                attempts += 1
            }
            seen.insert(scene.prompt)
            scenes.append(scene)
        }
        return scenes
    }

    /// An AGIQA-3k-like set: `prompts` prompts × the first `generators` generators, one image each, ordered by
    /// prompt then generator. Names are `<generator>_<nnn>.png` (nnn = zero-padded prompt id, at least 3 digits).
    public func makeIQASet(prompts: Int = 300, generators: Int = 8) throws -> SynthIQASet {
        guard generators >= 1, generators <= config.generators.count else {
            throw SynthError.invalidArgument(name: "generators", value: "\(generators)",
                                             reason: "must be in 1…\(config.generators.count) (the configured generators)")
        }
        let scenes = try promptScenes(count: prompts)
        let digits = max(3, String(prompts - 1).count)
        let cost = config.imageSize * config.imageSize * 40
        let samples = parallelMap(prompts * generators, costPerItem: cost) { i in
            iqaSample(promptID: i / generators, scene: scenes[i / generators], generator: i % generators, digits: digits)
        }
        return SynthIQASet(seed: seed, imageSize: config.imageSize, configFingerprint: config.fingerprint,
                           generators: Array(config.generators.prefix(generators)),
                           scenes: scenes, samples: samples)
    }

    /// One image of the IQA set: generator `generator`'s attempt at `scene`. Truth and scores are drawn before
    /// the image is rendered, so ``iqaTruth(promptID:scene:generator:)`` reproduces them without rendering.
    func iqaSample(promptID: Int, scene: Scene, generator g: Int, digits: Int) -> SynthIQASample {
        var rng = SeededGenerator(seed: deriveSeed(seed, .iqaImage, promptID * config.generators.count + g))
        let profile = config.generators[g]
        let truth = drawTruth(scene, by: profile, using: &rng)
        let scores = config.mos.scores(quality: truth.quality, errors: truth.errors, groups: scene.groups.count, using: &rng)
        let image = render(truth.scene, quality: truth.quality, using: &rng)
        let id = String(repeating: "0", count: max(0, digits - String(promptID).count)) + String(promptID)
        return SynthIQASample(name: "\(profile.name)_\(id).png", promptID: promptID, generator: g, generatorName: profile.name,
                              prompt: scene.prompt, madeScene: truth.scene, alignmentErrors: truth.errors,
                              quality: truth.quality, mos: scores, image: image)
    }

    /// The errors and scores of one IQA image, without rendering it (same values as ``makeIQASet``).
    func iqaTruth(promptID: Int, scene: Scene, generator g: Int)
        -> (errors: [AlignmentError], quality: [QualityDegradation], mos: MOSScores) {
        var rng = SeededGenerator(seed: deriveSeed(seed, .iqaImage, promptID * config.generators.count + g))
        let truth = drawTruth(scene, by: config.generators[g], using: &rng)
        let scores = config.mos.scores(quality: truth.quality, errors: truth.errors, groups: scene.groups.count, using: &rng)
        return (truth.errors, truth.quality, scores)
    }

    /// What a generator makes of a prompt: its alignment errors (Poisson count) and quality degradations.
    func drawTruth(_ scene: Scene, by profile: GeneratorProfile, using rng: inout SeededGenerator)
        -> (scene: Scene, errors: [AlignmentError], quality: [QualityDegradation]) {
        let errorCount = rng.poisson(profile.errorCountRate(groups: scene.groups.count))
        let (made, errors) = SceneCorruptor.corrupt(scene, errorCount: errorCount, kindWeights: config.alignmentKindWeights,
                                                    using: &rng)
        return (made, errors, profile.sampleQuality(using: &rng))
    }

    /// Renders the made scene in the "agi" style, then degrades it.
    func render(_ made: Scene, quality: [QualityDegradation], using rng: inout SeededGenerator) -> SynthImage {
        var canvas = SceneRenderer.render(made, style: .agi, size: config.imageSize, using: &rng)
        Degrader.apply(quality, to: &canvas, using: &rng)
        return SynthImage(canvas: canvas)
    }
}
