import Tensor

/// Kinds of quality (fidelity) degradation a generator's image can carry.
///
/// ```swift
/// QualityKind.colourCast.rawValue   // "colour cast"
/// ```
public enum QualityKind: String, CaseIterable, Codable, Sendable {
    case blur, noise, blockiness, colourCast = "colour cast", smear
}

/// One number per ``QualityKind`` (mean severities of a generator, or MOS weights).
///
/// ```swift
/// MOSModel().qualityWeights[.blur]   // 1.6
/// ```
public struct QualityValues: Codable, Sendable, Equatable {
    public var blur: Double
    public var noise: Double
    public var blockiness: Double
    public var colourCast: Double
    public var smear: Double

    public init(blur: Double, noise: Double, blockiness: Double, colourCast: Double, smear: Double) {
        self.blur = blur
        self.noise = noise
        self.blockiness = blockiness
        self.colourCast = colourCast
        self.smear = smear
    }

    public subscript(kind: QualityKind) -> Double {
        switch kind {
        case .blur: return blur
        case .noise: return noise
        case .blockiness: return blockiness
        case .colourCast: return colourCast
        case .smear: return smear
        }
    }
}

/// A quality degradation applied to an image, with severity s ∈ [0, 1].
///
/// ```swift
/// QualityDegradation(kind: .blur, severity: 0.4)   // Gaussian σ = 0.4 + 2·0.4 px at 64 px
/// ```
public struct QualityDegradation: Codable, Sendable, Equatable {
    public var kind: QualityKind
    public var severity: Double

    public init(kind: QualityKind, severity: Double) {
        self.kind = kind
        self.severity = severity
    }
}

/// A synthetic "generator model": its alignment error rate λ and mean quality severities mₖ.
///
/// For a prompt with n groups, the number of alignment errors is Poisson(λ · (0.6 + 0.4 · n)). Quality type k is
/// present with probability min(1, 0.3 + mₖ) and then has severity sₖ = clip(mₖ · U(0.4, 1.6) + U(0, 0.08), 0, 1).
///
/// ```swift
/// let g = GeneratorProfile.defaults[0]
/// var rng = SeededGenerator(seed: 1)
/// let degradations = g.sampleQuality(using: &rng)
/// ```
public struct GeneratorProfile: Codable, Sendable, Equatable {
    public var name: String
    /// λ: alignment-error rate per prompt (before the group-count factor).
    public var errorRate: Double
    /// mₖ: mean severity of each quality degradation.
    public var meanSeverity: QualityValues

    public init(name: String, errorRate: Double, meanSeverity: QualityValues) {
        self.name = name
        self.errorRate = errorRate
        self.meanSeverity = meanSeverity
    }

    /// The eight default generators: λ from 1.1 down to 0.15, quality profiles deliberately not ordered by λ
    /// (calibrated so that corr(MOS_q, MOS_a) ≈ 0.1, sd(MOS_q) ≈ 0.65, sd(MOS_a) ≈ 0.9; see MOS.md).
    public static let defaults: [GeneratorProfile] = [
        GeneratorProfile(name: "sketchgan", errorRate: 1.10,
                         meanSeverity: QualityValues(blur: 0.54, noise: 0.14, blockiness: 0.07, colourCast: 0.22, smear: 0.50)),
        GeneratorProfile(name: "glider", errorRate: 0.95,
                         meanSeverity: QualityValues(blur: 0.07, noise: 0.09, blockiness: 0.05, colourCast: 0.11, smear: 0.07)),
        GeneratorProfile(name: "blockdiff", errorRate: 0.80,
                         meanSeverity: QualityValues(blur: 0.22, noise: 0.09, blockiness: 0.65, colourCast: 0.09, smear: 0.18)),
        GeneratorProfile(name: "grainydiff", errorRate: 0.65,
                         meanSeverity: QualityValues(blur: 0.09, noise: 0.61, blockiness: 0.11, colourCast: 0.18, smear: 0.09)),
        GeneratorProfile(name: "smudger", errorRate: 0.50,
                         meanSeverity: QualityValues(blur: 0.43, noise: 0.22, blockiness: 0.09, colourCast: 0.47, smear: 0.40)),
        GeneratorProfile(name: "stablegen", errorRate: 0.38,
                         meanSeverity: QualityValues(blur: 0.14, noise: 0.09, blockiness: 0.09, colourCast: 0.09, smear: 0.11)),
        GeneratorProfile(name: "journey", errorRate: 0.26,
                         meanSeverity: QualityValues(blur: 0.18, noise: 0.32, blockiness: 0.07, colourCast: 0.36, smear: 0.25)),
        GeneratorProfile(name: "softxl", errorRate: 0.15,
                         meanSeverity: QualityValues(blur: 0.43, noise: 0.07, blockiness: 0.22, colourCast: 0.07, smear: 0.09)),
    ]

    /// Draws this generator's quality degradations for one image (in ``QualityKind`` order; absent kinds omitted).
    public func sampleQuality(using rng: inout SeededGenerator) -> [QualityDegradation] {
        var result: [QualityDegradation] = []
        for kind in QualityKind.allCases {
            let m = meanSeverity[kind]
            // Always draw the same number of values so that one kind's presence never shifts another's draws.
            let present = rng.nextDouble() < min(1, 0.3 + m)
            let s = min(1, max(0, m * rng.uniform(0.4, 1.6) + rng.uniform(0, 0.08)))
            if present { result.append(QualityDegradation(kind: kind, severity: s)) }
        }
        return result
    }

    /// Expected number of alignment errors for a prompt with `groups` object groups.
    public func errorCountRate(groups: Int) -> Double { errorRate * (0.6 + 0.4 * Double(groups)) }
}
