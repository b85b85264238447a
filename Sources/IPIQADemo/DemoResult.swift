import Foundation
import IQAMetrics
import IQAModel

/// Mean and standard deviation (ddof 0, over the splits) of SRCC, PLCC and KRCC for one score.
/// JSON: `{"srcc", "plcc", "krcc", "srcc_std", "plcc_std", "krcc_std"}`.
///
/// ```swift
/// let m = DemoMetric(splits: [MetricSet(n: 480, srcc: 0.6, plcc: 0.62, krcc: 0.44, rmse: 0.5)])
/// ```
public struct DemoMetric: Codable, Sendable, Equatable {
    public var srcc: Double, plcc: Double, krcc: Double
    public var srccStd: Double, plccStd: Double, krccStd: Double

    enum CodingKeys: String, CodingKey {
        case srcc, plcc, krcc
        case srccStd = "srcc_std", plccStd = "plcc_std", krccStd = "krcc_std"
    }

    public init(srcc: Double, plcc: Double, krcc: Double, srccStd: Double = 0, plccStd: Double = 0, krccStd: Double = 0) {
        (self.srcc, self.plcc, self.krcc) = (srcc, plcc, krcc)
        (self.srccStd, self.plccStd, self.krccStd) = (srccStd, plccStd, krccStd)
    }

    /// Summarises per-split metrics.
    public init(splits: [MetricSet]) {
        let s = Summary(values: splits.map(\.srcc)), p = Summary(values: splits.map(\.plcc)), k = Summary(values: splits.map(\.krcc))
        self.init(srcc: s.mean, plcc: p.mean, krcc: k.mean, srccStd: s.std, plccStd: p.std, krccStd: k.std)
    }
}

/// One table row: a variant's test metrics for quality and alignment.
public struct DemoRow: Codable, Sendable, Equatable {
    public var variant: DemoVariant
    public var quality: DemoMetric
    public var alignment: DemoMetric

    public init(variant: DemoVariant, quality: DemoMetric, alignment: DemoMetric) {
        self.variant = variant
        self.quality = quality
        self.alignment = alignment
    }
}

/// The paper's thesis measured for one fusion: IP-IQA's alignment SRCC minus the image-only model's (target ≥ 0.2),
/// and its quality SRCC minus the image-only model's (target ≥ 0).
public struct DemoGap: Codable, Sendable, Equatable {
    public var alignmentGap: Double
    public var qualityGap: Double
    public var alignmentMet: Bool
    public var qualityMet: Bool

    enum CodingKeys: String, CodingKey {
        case alignmentGap = "alignment_srcc_gap", qualityGap = "quality_srcc_gap"
        case alignmentMet = "alignment_target_met", qualityMet = "quality_target_met"
    }

    init(_ model: DemoRow, imageOnly: DemoRow, alignmentTarget: Double) {
        alignmentGap = model.alignment.srcc - imageOnly.alignment.srcc
        qualityGap = model.quality.srcc - imageOnly.quality.srcc
        alignmentMet = alignmentGap >= alignmentTarget
        qualityMet = qualityGap >= 0
    }
}

/// The verdict of a run, the paper's fusion and ours side by side: each fusion's gaps to the image-only model.
/// JSON: `{"alignment_gap_target", "paper": {…}, "paper+similarity": {…}}`.
public struct DemoVerdict: Codable, Sendable, Equatable {
    public var alignmentTarget: Double
    /// `ip-iqa-paper` − `image-only` (nil when not measured).
    public var paper: DemoGap?
    /// `ip-iqa-similarity` − `image-only` (nil when not measured).
    public var paperSimilarity: DemoGap?

    enum CodingKeys: String, CodingKey {
        case alignmentTarget = "alignment_gap_target", paper, paperSimilarity = "paper+similarity"
    }

    /// The verdict from the rows (nil without the image-only row or without both IP-IQA rows).
    public init?(rows: [DemoRow], alignmentTarget: Double = DemoConstants.alignmentGapTarget) {
        guard let io = rows.first(where: { $0.variant == .imageOnly }) else { return nil }
        paper = rows.first { $0.variant == .paper }.map { DemoGap($0, imageOnly: io, alignmentTarget: alignmentTarget) }
        paperSimilarity = rows.first { $0.variant == .similarity }.map { DemoGap($0, imageOnly: io, alignmentTarget: alignmentTarget) }
        guard paper != nil || paperSimilarity != nil else { return nil }
        self.alignmentTarget = alignmentTarget
    }

    /// Lines stating what was measured for each fusion and whether each target was met.
    public var line: String {
        func describe(_ name: String, _ g: DemoGap?) -> String? {
            guard let g else { return nil }
            let a = String(format: "%+.3f", g.alignmentGap), q = String(format: "%+.3f", g.qualityGap)
            return "  \(name): alignment SRCC \(a) (target ≥ \(alignmentTarget) \(g.alignmentMet ? "met" : "MISSED")), "
                + "quality SRCC \(q) (target ≥ 0 \(g.qualityMet ? "met" : "MISSED"))"
        }
        let both = [paper, paperSimilarity].compactMap { $0 }
        let thesis = both.contains { $0.alignmentMet && $0.qualityMet }
            ? "the image-only model cannot tell whether an image matches its prompt; IP-IQA can."
            : "the thesis is only partly visible in this run."
        return (["Verdict (IP-IQA − image-only): " + thesis]
                + [describe(IPIQAConfiguration.Fusion.paper.label, paper),
                   describe(IPIQAConfiguration.Fusion.paperSimilarity.label, paperSimilarity)].compactMap { $0 })
            .joined(separator: "\n")
    }
}

/// What the demo measured and where it put its figures.
public struct DemoResult: Codable, Sendable, Equatable {
    public var rows: [DemoRow]
    public var verdict: DemoVerdict?
    /// Setup facts printed above the tables (images, prompts, splits, test images per split, ceilings, …).
    public var setup: DemoSetup
    /// Scatter plot and attention figure (absolute paths).
    public var scatterPlot: String?
    public var attentionFigure: String?

    public func row(_ v: DemoVariant) -> DemoRow? { rows.first { $0.variant == v } }
}

/// Setup facts of a run.
public struct DemoSetup: Codable, Sendable, Equatable {
    public var images: Int
    public var prompts: Int
    public var generators: Int
    public var splits: Int
    public var testImagesPerSplit: Int
    public var trainImagesPerSplit: Int
    public var naturalPairs: Int
    public var contrastiveSteps: Int
    public var image2promptPairs: Int
    public var image2promptKept: Int
    public var iqaResolution: Int
    public var epochs: Int
    /// Zero-shot retrieval (image → text top-1 among 256 held-out natural pairs) of the pre-trained tiny CLIP.
    public var retrievalTop1: Double
    /// Noise ceilings: corr(clean, observed MOS) on the whole set.
    public var qualityCeiling: Double
    public var alignmentCeiling: Double
    /// The arithmetic of the frozen trunk's inference passes: what was asked for, the plan chosen and why.
    public var featurePasses: String? = nil
}

/// Named constants of the demo.
public enum DemoConstants {
    /// The thesis target: IP-IQA's alignment SRCC at least this much above the image-only model's.
    public static let alignmentGapTarget = 0.2
    /// Part of the trained artefacts' cache keys: raise it when training code or kernel numerics change, so that
    /// old checkpoints are not reused.
    public static let cacheVersion = 5
    /// Held-out natural pairs for the retrieval check.
    public static let retrievalPairs = 256
    /// Context length of token rows (CLIP's).
    public static let contextLength = 77
    /// File names inside the cache folder.
    public static let scatterFile = "scatter.png"
    public static let attentionFile = "attention.png"
    public static let resultFile = "result.json"
}
