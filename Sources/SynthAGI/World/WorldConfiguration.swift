import Foundation
import Tensor

/// Everything tunable about the synthetic world, with the calibrated defaults (decoding fills missing keys with
/// these defaults).
///
/// ```swift
/// var config = WorldConfiguration()
/// config.imageSize = 96
/// let world = try SynthWorld(seed: 7, config: config)
/// ```
public struct WorldConfiguration: Codable, Sendable, Equatable {
    /// Side of the square images, in pixels.
    public var imageSize = 64
    /// Probability that a prompt has two object groups (else one).
    public var twoGroupProbability = 0.5
    /// The generator models, in file-name order.
    public var generators = GeneratorProfile.defaults
    /// How scores are made from errors.
    public var mos = MOSModel()
    /// Relative frequency of each alignment error kind.
    public var alignmentKindWeights = AlignmentValues(colour: 0.26, shape: 0.24, count: 0.2, position: 0.2, missing: 0.1)
    /// Fraction of "natural" corpus images that get light degradations.
    public var naturalDegradedFraction = 0.5
    /// Largest severity of those light degradations (drawn from U(0.05, max)).
    public var naturalSeverityMax = 0.3
    /// Whether "agi" corpus images are made by a random generator (with its alignment and quality errors).
    public var agiCorpusUsesGenerators = true

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = WorldConfiguration()
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        twoGroupProbability = try c.decodeIfPresent(Double.self, forKey: .twoGroupProbability) ?? d.twoGroupProbability
        generators = try c.decodeIfPresent([GeneratorProfile].self, forKey: .generators) ?? d.generators
        mos = try c.decodeIfPresent(MOSModel.self, forKey: .mos) ?? d.mos
        alignmentKindWeights = try c.decodeIfPresent(AlignmentValues.self, forKey: .alignmentKindWeights) ?? d.alignmentKindWeights
        naturalDegradedFraction = try c.decodeIfPresent(Double.self, forKey: .naturalDegradedFraction) ?? d.naturalDegradedFraction
        naturalSeverityMax = try c.decodeIfPresent(Double.self, forKey: .naturalSeverityMax) ?? d.naturalSeverityMax
        agiCorpusUsesGenerators = try c.decodeIfPresent(Bool.self, forKey: .agiCorpusUsesGenerators) ?? d.agiCorpusUsesGenerators
    }

    /// Throws ``SynthError/invalidConfig(field:reason:)`` for unusable values.
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> SynthError { .invalidConfig(field: field, reason: reason) }
        guard (16...1024).contains(imageSize) else { throw fail("imageSize", "must be in 16…1024, got \(imageSize)") }
        guard (0...1).contains(twoGroupProbability) else { throw fail("twoGroupProbability", "must be in [0, 1]") }
        guard !generators.isEmpty else { throw fail("generators", "must list at least one generator") }
        let names = generators.map(\.name)
        guard Set(names).count == names.count else { throw fail("generators", "has duplicate names") }
        for g in generators {
            guard !g.name.isEmpty, g.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
                throw fail("generators.name", "'\(g.name)' must be non-empty letters, digits, '-' or '.' (it names files)")
            }
            guard g.errorRate >= 0, g.errorRate <= 20 else { throw fail("generators[\(g.name)].errorRate", "must be in [0, 20]") }
            for k in QualityKind.allCases where !(0...1).contains(g.meanSeverity[k]) {
                throw fail("generators[\(g.name)].meanSeverity.\(k.rawValue)", "must be in [0, 1]")
            }
        }
        let weights = AlignmentErrorKind.allCases.map { alignmentKindWeights[$0] }
        guard weights.allSatisfy({ $0 >= 0 }), weights.reduce(0, +) > 0 else {
            throw fail("alignmentKindWeights", "must be non-negative with a positive sum")
        }
        guard mos.noiseSD >= 0 else { throw fail("mos.noiseSD", "must be ≥ 0") }
        guard (1...1000).contains(mos.raters) else { throw fail("mos.raters", "must be in 1…1000") }
        guard (0...1).contains(mos.coupledQualityWeight) else { throw fail("mos.coupledQualityWeight", "must be in [0, 1]") }
        guard (0...1).contains(naturalDegradedFraction) else { throw fail("naturalDegradedFraction", "must be in [0, 1]") }
        guard (0.05...1).contains(naturalSeverityMax) else { throw fail("naturalSeverityMax", "must be in [0.05, 1]") }
    }

    /// A short stable hash of this configuration (FNV-1a 64 of its sorted-key JSON), for completion markers.
    public var fingerprint: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return String(h, radix: 16)
    }
}
