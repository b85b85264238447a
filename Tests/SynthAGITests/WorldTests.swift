import Foundation
import TensorTestSupport
import Testing
import Tensor
@testable import SynthAGI

/// Test-only image encoder (binary PPM); the real pipeline passes Imaging's PNG writer.
func writePPM(_ image: SynthImage, to url: URL) throws {
    var data = Data("P6\n\(image.width) \(image.height)\n255\n".utf8)
    data.append(contentsOf: image.pixels)
    try data.write(to: url)
}

/// Sum of squared horizontal and vertical neighbour differences (high-frequency energy).
func highFrequencyEnergy(_ image: SynthImage) -> Double {
    var e = 0.0
    for y in 0..<image.height {
        for x in 0..<image.width {
            let i = (y * image.width + x) * 3
            for c in 0..<3 {
                let v = Double(image.pixels[i + c])
                if x + 1 < image.width { let d = v - Double(image.pixels[i + 3 + c]); e += d * d }
                if y + 1 < image.height { let d = v - Double(image.pixels[i + image.width * 3 + c]); e += d * d }
            }
        }
    }
    return e
}

/// Per-channel mean over the pixels where `mask` is true.
func meanColour(_ image: SynthImage, _ mask: [Bool]) -> (Double, Double, Double) {
    var s = (0.0, 0.0, 0.0), n = 0.0
    for p in 0..<(image.width * image.height) where mask[p] {
        s.0 += Double(image.pixels[p * 3]); s.1 += Double(image.pixels[p * 3 + 1]); s.2 += Double(image.pixels[p * 3 + 2])
        n += 1
    }
    return n > 0 ? (s.0 / n, s.1 / n, s.2 / n) : (0, 0, 0)
}

/// Pixels differing from `background` by more than 30 in some channel.
func objectMask(_ image: SynthImage, background: SynthImage) -> [Bool] {
    (0..<(image.width * image.height)).map { p in
        (0..<3).contains { abs(Int(image.pixels[p * 3 + $0]) - Int(background.pixels[p * 3 + $0])) > 30 }
    }
}

func plainBackground() -> Background {
    Background(kind: .plain, base: RGB(128, 128, 128), accent: RGB(150, 150, 150))
}

@Suite("SynthAGI world: determinism, statistics, prompts")
struct WorldTests {
    @Test("same seed gives identical prompts, pixels and scores; other seeds differ")
    func determinism() throws {
        let a = try SynthWorld(seed: 11).makeIQASet(prompts: 5, generators: 8)
        let b = try SynthWorld(seed: 11).makeIQASet(prompts: 5, generators: 8)
        let c = try SynthWorld(seed: 12).makeIQASet(prompts: 5, generators: 8)
        #expect(a.prompts == b.prompts)
        #expect(a.samples.map(\.image) == b.samples.map(\.image))
        #expect(a.samples.map(\.mos) == b.samples.map(\.mos))
        #expect(a.prompts != c.prompts)
        #expect(a.samples.map(\.image) != c.samples.map(\.image))
        let k1 = try SynthWorld(seed: 3).makeCorpus(count: 12, style: .natural, mismatchFraction: 0.3)
        let k2 = try SynthWorld(seed: 3).makeCorpus(count: 12, style: .natural, mismatchFraction: 0.3)
        #expect(k1.pairs.map(\.image) == k2.pairs.map(\.image))
        #expect(k1.pairs.map(\.prompt) == k2.pairs.map(\.prompt))
    }

    @Test("results do not depend on the thread count or on how many prompts are asked for")
    func threadAndSizeIndependence() throws { try ThreadCountLock.exclusive { try threadAndSizeIndependenceLocked() } }
    func threadAndSizeIndependenceLocked() throws {
        let world = try SynthWorld(seed: 5)
        let before = Threading.workers
        Threading.setThreads(1)
        let serial = try world.makeIQASet(prompts: 6, generators: 8)
        Threading.setThreads(max(2, before))
        let parallel = try world.makeIQASet(prompts: 6, generators: 8)
        Threading.setThreads(before)
        #expect(serial.samples.map(\.image) == parallel.samples.map(\.image))
        let small = try world.makeIQASet(prompts: 3, generators: 4)
        for s in small.samples {
            let big = parallel.samples[s.promptID * 8 + s.generator]
            #expect(big.name == s.name && big.image == s.image && big.mos == s.mos)
        }
    }

    @Test("300 × 8 scores match the calibration: sd(q) 0.5–0.8, sd(a) 0.6–1.0, corr < 0.3, ~50% error-free, MOS in [1, 5] ± noise")
    func statistics() throws {
        let world = try SynthWorld(seed: 42)
        let scenes = try world.promptScenes(count: 300)
        #expect(Set(scenes.map(\.prompt)).count == 300)
        var q: [Double] = [], a: [Double] = [], cq: [Double] = [], ca: [Double] = []
        var errorFree = 0
        for (p, scene) in scenes.enumerated() {
            for g in 0..<8 {
                let t = world.iqaTruth(promptID: p, scene: scene, generator: g)
                q.append(t.mos.quality); a.append(t.mos.alignment)
                cq.append(t.mos.cleanQuality); ca.append(t.mos.cleanAlignment)
                if t.errors.isEmpty { errorFree += 1 }
                for v in [t.mos.cleanQuality, t.mos.cleanAlignment, t.mos.cleanCoupled] { #expect(v >= 1 && v <= 5) }
                for v in [t.mos.quality, t.mos.alignment, t.mos.coupled] { #expect(v >= 1 - 0.75 && v <= 5 + 0.75) }
            }
        }
        let stats = IQASetStatistics(quality: q, alignment: a, cleanQuality: cq, cleanAlignment: ca, errorFree: errorFree)
        print("SynthAGI 300×8 statistics:", stats)
        #expect(stats.qualitySD > 0.5 && stats.qualitySD < 0.8)
        #expect(stats.alignmentSD > 0.6 && stats.alignmentSD < 1.0)
        #expect(abs(stats.qualityAlignmentCorrelation) < 0.3)
        #expect(stats.errorFreeFraction > 0.4 && stats.errorFreeFraction < 0.6)
        #expect(stats.qualityCeiling > 0.95 && stats.alignmentCeiling > 0.95)
    }

    @Test("prompts follow the grammar and name counts, colours, shapes, placements and the background")
    func promptText() {
        let scene = Scene(groups: [ObjectGroup(shape: .triangle, colour: .red, count: 2, placement: .topLeft),
                                   ObjectGroup(shape: .ring, colour: .blue, count: 1, placement: .right)],
                          background: Background(kind: .stripes, base: RGB(120, 120, 120), accent: RGB(90, 90, 90)))
        #expect(scene.prompt == "two red triangles at the top left and a blue ring on the right, on a striped background")
        let one = Scene(groups: [ObjectGroup(shape: .cross, colour: .orange, count: 1, placement: .centre)],
                        background: plainBackground())
        #expect(one.prompt == "an orange cross in the centre, on a plain background")
        var rng = SeededGenerator(seed: 9)
        for _ in 0..<500 {
            let s = SceneSampler.scene(twoGroupProbability: 0.5, using: &rng)
            #expect(s.objectCount <= WorldConstants.maxObjects && (1...2).contains(s.groups.count))
            if s.groups.count == 2 { #expect(s.groups[0].placement.isSeparated(from: s.groups[1].placement)) }
        }
    }

    @Test("MOS formula: q* = 5 − Σwₖsₖ, a* = 5 − Σp/√n − 0.1·D, raters give MOS noise sd ≈ 0.15 (±0.02)")
    func mosFormula() {
        let model = MOSModel()
        let quality = [QualityDegradation(kind: .blur, severity: 0.5), QualityDegradation(kind: .smear, severity: 0.2)]
        let d = 1.6 * 0.5 + 1.3 * 0.2
        #expect(abs(model.cleanQuality(quality) - (5 - d)) < 1e-12)
        let errors = [AlignmentError(kind: .missing, group: 0, detail: ""), AlignmentError(kind: .count, group: 1, detail: "")]
        #expect(abs(model.cleanAlignment(errors: errors, groups: 2, quality: quality) - (5 - 2.6 / 2.0.squareRoot() - 0.1 * d)) < 1e-12)
        #expect(model.cleanQuality(Array(repeating: QualityDegradation(kind: .noise, severity: 1), count: 4)) == 1)
        var rng = SeededGenerator(seed: 1)
        let draws = (0..<4000).map { _ in model.rate(clean: 3, using: &rng) }
        let (mean, sd) = IQASetStatistics.meanSD(draws.map(\.mos))
        #expect(abs(mean - 3) < 0.01 && abs(sd - 0.15) < 0.02)
        let raterSD = draws.map(\.std).reduce(0, +) / Double(draws.count)
        #expect(abs(raterSD - 0.15 * 20.0.squareRoot()) < 0.03)
    }

    @Test("config validation throws named errors; partial JSON decodes with defaults")
    func config() throws {
        var bad = WorldConfiguration()
        bad.imageSize = 4
        #expect(throws: SynthError.self) { try SynthWorld(seed: 1, config: bad) }
        #expect(throws: SynthError.self) { try SynthWorld(seed: 1).makeIQASet(prompts: 3, generators: 9) }
        #expect(throws: SynthError.self) { try SynthWorld(seed: 1).makeCorpus(count: 3, style: .agi, mismatchFraction: 2) }
        let decoded = try JSONDecoder().decode(WorldConfiguration.self, from: Data(#"{"imageSize": 32, "mos": {"noiseSD": 0.2}}"#.utf8))
        #expect(decoded.imageSize == 32 && decoded.mos.noiseSD == 0.2 && decoded.mos.raters == WorldConfiguration().mos.raters)
        #expect(decoded.generators == GeneratorProfile.defaults)
        // Sizes that are not multiples of 8 (partial JPEG blocks) render at the asked size.
        var odd = WorldConfiguration()
        odd.imageSize = 36
        let set = try SynthWorld(seed: 2, config: odd).makeIQASet(prompts: 2, generators: 8)
        #expect(set.samples.allSatisfy { $0.image.width == 36 && $0.image.height == 36 && $0.image.pixels.count == 36 * 36 * 3 })
    }

    @Test("corpus: mismatched pairs are recorded and carry another image's prompt; natural images are clean scenes")
    func corpus() throws {
        let world = try SynthWorld(seed: 21)
        let corpus = try world.makeCorpus(count: 200, style: .agi, mismatchFraction: 0.3)
        let mismatched = corpus.pairs.filter(\.mismatched)
        #expect(mismatched.count > 35 && mismatched.count < 85)
        #expect(corpus.mismatchedIndices == mismatched.map(\.index))
        #expect(mismatched.allSatisfy { $0.prompt != $0.truePrompt })
        let truePrompts = Set(corpus.pairs.map(\.truePrompt))
        #expect(mismatched.allSatisfy { truePrompts.contains($0.prompt) })
        #expect(corpus.pairs.filter { !$0.mismatched }.allSatisfy { $0.prompt == $0.truePrompt })
        #expect(corpus.pairs.allSatisfy { $0.generatorName != nil })
        let natural = try world.makeCorpus(count: 100, style: .natural)
        #expect(natural.pairs.allSatisfy { $0.alignmentErrors.isEmpty && !$0.mismatched && $0.generatorName == nil })
        let degraded = natural.pairs.filter { !$0.quality.isEmpty }.count
        #expect(degraded > 30 && degraded < 70)
        #expect(natural.pairs.allSatisfy { $0.quality.allSatisfy { $0.severity <= 0.3 } })
    }
}
