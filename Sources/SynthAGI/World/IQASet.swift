import Foundation

/// One image of a synthetic IQA set, with the truth behind its scores.
///
/// ```swift
/// let worst = set.samples.min { $0.mos.quality < $1.mos.quality }
/// ```
public struct SynthIQASample: Sendable {
    /// File name, `<generator>_<nnn>.png`.
    public let name: String
    public let promptID: Int
    /// Index into ``SynthIQASet/generators``.
    public let generator: Int
    public let generatorName: String
    public let prompt: String
    /// What the generator drew (the intended scene after its alignment errors).
    public let madeScene: Scene
    public let alignmentErrors: [AlignmentError]
    public let quality: [QualityDegradation]
    public let mos: MOSScores
    public let image: SynthImage
}

/// An AGIQA-3k-like synthetic set: prompts × generators, grouped by prompt (samples ordered by prompt id, then
/// generator).
///
/// ```swift
/// let set = try SynthWorld(seed: 1).makeIQASet(prompts: 50, generators: 8)
/// let stats = set.statistics
/// print(stats.qualitySD, stats.alignmentSD, stats.qualityAlignmentCorrelation)
/// ```
public struct SynthIQASet: Sendable {
    public let seed: UInt64
    public let imageSize: Int
    /// ``WorldConfiguration/fingerprint`` of the world that made the set.
    public let configFingerprint: String
    public let generators: [GeneratorProfile]
    /// Intended scene of each prompt id.
    public let scenes: [Scene]
    public let samples: [SynthIQASample]

    public var prompts: [String] { scenes.map(\.prompt) }

    /// Summary statistics of the observed scores.
    public var statistics: IQASetStatistics {
        IQASetStatistics(quality: samples.map(\.mos.quality), alignment: samples.map(\.mos.alignment),
                         cleanQuality: samples.map(\.mos.cleanQuality), cleanAlignment: samples.map(\.mos.cleanAlignment),
                         errorFree: samples.filter { $0.alignmentErrors.isEmpty }.count)
    }
}

/// Means, standard deviations, Pearson correlation and noise ceilings of a set's scores.
/// The ceiling of a score is corr(clean, observed): the best PLCC any predictor of the clean score can reach.
///
/// ```swift
/// let s = set.statistics   // s.qualitySD ≈ 0.69, s.alignmentSD ≈ 0.81 for seed 42, 300 × 8
/// ```
public struct IQASetStatistics: Codable, Sendable {
    public let count: Int
    public let qualityMean: Double, qualitySD: Double
    public let alignmentMean: Double, alignmentSD: Double
    /// Pearson correlation of observed MOS_q and MOS_a.
    public let qualityAlignmentCorrelation: Double
    /// Fraction of images with no alignment error.
    public let errorFreeFraction: Double
    public let qualityCeiling: Double, alignmentCeiling: Double

    init(quality: [Double], alignment: [Double], cleanQuality: [Double], cleanAlignment: [Double], errorFree: Int) {
        count = quality.count
        (qualityMean, qualitySD) = Self.meanSD(quality)
        (alignmentMean, alignmentSD) = Self.meanSD(alignment)
        qualityAlignmentCorrelation = Self.pearson(quality, alignment)
        errorFreeFraction = count > 0 ? Double(errorFree) / Double(count) : 0
        qualityCeiling = Self.pearson(cleanQuality, quality)
        alignmentCeiling = Self.pearson(cleanAlignment, alignment)
    }

    static func meanSD(_ x: [Double]) -> (Double, Double) {
        guard !x.isEmpty else { return (0, 0) }
        let m = x.reduce(0, +) / Double(x.count)
        let v = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(1, x.count - 1))
        return (m, v.squareRoot())
    }

    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        guard x.count == y.count, x.count > 1 else { return 0 }
        let (mx, _) = meanSD(x), (my, _) = meanSD(y)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in 0..<x.count {
            sxy += (x[i] - mx) * (y[i] - my)
            sxx += (x[i] - mx) * (x[i] - mx)
            syy += (y[i] - my) * (y[i] - my)
        }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : 0
    }
}
