import Foundation
import Tensor

/// Human-like mean opinion scores of a synthetic image (see MOS.md next to this file).
///
/// Clean (noise-free) scores, for an image with quality severities sₖ, alignment errors e and n intended groups:
///
///     D     = Σₖ wₖ · sₖ                       w = blur 1.6, noise 1.6, blockiness 1.3, colour cast 1.1, smear 1.3
///     q*    = clip(5 − D, 1, 5)
///     a*    = clip(5 − Σₑ pₑ / √n − γ · D, 1, 5)   p = colour 1.3, shape 1.3, count 0.8, position 0.7, missing 1.8; γ = 0.1
///     c*    = clip(β · q* + (1 − β) · a*, 1, 5)     β = 0.5 (coupled, AGIQA-1k-like)
///
/// Each observed score is the mean of R = 20 simulated raters, rating = clean + N(0, σ·√R) with σ = 0.15, so
/// MOS = clean + N(0, σ) and the reported std is the raters' sample standard deviation (≈ σ·√R ≈ 0.67).
/// The noise σ sets the ceiling of any predictor: PLCC ≤ sd(clean) / √(sd(clean)² + σ²).
///
/// ```swift
/// let model = MOSModel()
/// var rng = SeededGenerator(seed: 7)
/// let scores = model.scores(quality: degradations, errors: errors, groups: 2, using: &rng)
/// print(scores.quality, scores.alignment, scores.coupled)
/// ```
public struct MOSModel: Codable, Sendable, Equatable {
    /// wₖ: quality weights.
    public var qualityWeights = QualityValues(blur: 1.6, noise: 1.6, blockiness: 1.3, colourCast: 1.1, smear: 1.3)
    /// pₑ: alignment penalties.
    public var alignmentPenalties = AlignmentValues(colour: 1.3, shape: 1.3, count: 0.8, position: 0.7, missing: 1.8)
    /// γ: weight of the quality drop D inside the alignment score (raters are swayed a little by fidelity).
    public var qualityTermInAlignment = 0.1
    /// β: weight of quality in the coupled score.
    public var coupledQualityWeight = 0.5
    /// σ: standard deviation of each MOS around its clean value.
    public var noiseSD = 0.15
    /// R: simulated raters per image.
    public var raters = 20

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MOSModel()
        qualityWeights = try c.decodeIfPresent(QualityValues.self, forKey: .qualityWeights) ?? d.qualityWeights
        alignmentPenalties = try c.decodeIfPresent(AlignmentValues.self, forKey: .alignmentPenalties) ?? d.alignmentPenalties
        qualityTermInAlignment = try c.decodeIfPresent(Double.self, forKey: .qualityTermInAlignment) ?? d.qualityTermInAlignment
        coupledQualityWeight = try c.decodeIfPresent(Double.self, forKey: .coupledQualityWeight) ?? d.coupledQualityWeight
        noiseSD = try c.decodeIfPresent(Double.self, forKey: .noiseSD) ?? d.noiseSD
        raters = try c.decodeIfPresent(Int.self, forKey: .raters) ?? d.raters
    }

    /// D = Σ wₖ sₖ.
    public func qualityDrop(_ quality: [QualityDegradation]) -> Double {
        quality.reduce(0) { $0 + qualityWeights[$1.kind] * $1.severity }
    }

    /// q* = clip(5 − D, 1, 5).
    public func cleanQuality(_ quality: [QualityDegradation]) -> Double { clip(5 - qualityDrop(quality)) }

    /// a* = clip(5 − Σ pₑ/√n − γ·D, 1, 5).
    public func cleanAlignment(errors: [AlignmentError], groups: Int, quality: [QualityDegradation]) -> Double {
        let penalty = errors.reduce(0) { $0 + alignmentPenalties[$1.kind] }
        return clip(5 - penalty / Double(max(1, groups)).squareRoot() - qualityTermInAlignment * qualityDrop(quality))
    }

    /// c* = clip(β q* + (1 − β) a*, 1, 5).
    public func cleanCoupled(quality q: Double, alignment a: Double) -> Double {
        clip(coupledQualityWeight * q + (1 - coupledQualityWeight) * a)
    }

    /// Simulates R raters around `clean`: returns (mean, sample standard deviation).
    public func rate(clean: Double, using rng: inout SeededGenerator) -> (mos: Double, std: Double) {
        let r = max(1, raters)
        let raterSD = noiseSD * Double(r).squareRoot()
        var sum = 0.0, sumSquares = 0.0
        for _ in 0..<r {
            let v = clean + raterSD * Double(rng.nextNormal())
            sum += v
            sumSquares += v * v
        }
        let mean = sum / Double(r)
        let variance = r > 1 ? max(0, (sumSquares - Double(r) * mean * mean) / Double(r - 1)) : 0
        return (mean, variance.squareRoot())
    }

    /// All scores of one image.
    public func scores(quality: [QualityDegradation], errors: [AlignmentError], groups: Int,
                       using rng: inout SeededGenerator) -> MOSScores {
        let q = cleanQuality(quality)
        let a = cleanAlignment(errors: errors, groups: groups, quality: quality)
        let c = cleanCoupled(quality: q, alignment: a)
        let rq = rate(clean: q, using: &rng), ra = rate(clean: a, using: &rng), rc = rate(clean: c, using: &rng)
        return MOSScores(quality: rq.mos, qualityStd: rq.std, alignment: ra.mos, alignmentStd: ra.std,
                         coupled: rc.mos, coupledStd: rc.std, cleanQuality: q, cleanAlignment: a, cleanCoupled: c)
    }

    private func clip(_ x: Double) -> Double { min(5, max(1, x)) }
}

/// The scores of one image: observed MOS (mean of raters) with their rater std, and the clean values.
///
/// ```swift
/// let s = sample.mos   // s.quality ≈ s.cleanQuality ± 0.15
/// ```
public struct MOSScores: Codable, Sendable, Equatable {
    public var quality: Double
    public var qualityStd: Double
    public var alignment: Double
    public var alignmentStd: Double
    public var coupled: Double
    public var coupledStd: Double
    public var cleanQuality: Double
    public var cleanAlignment: Double
    public var cleanCoupled: Double
}
