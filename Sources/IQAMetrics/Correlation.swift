import Foundation

/// Correlation and error metrics of IQA, in float64, matching scipy 1.17 to ~1e-15:
///
/// - PLCC (`scipy.stats.pearsonr`): r = Σ(aᵢ−ā)(bᵢ−b̄) / (‖a−ā‖·‖b−b̄‖), clipped to [−1, 1].
/// - SRCC (`scipy.stats.spearmanr`): PLCC of the average ranks (`ranks`, ties share their mean rank).
/// - KRCC (`scipy.stats.kendalltau`, tau-b): (C − D) / √((T − Tₐ)(T − T_b)), see `krcc`.
/// - RMSE: √(Σ(aᵢ − bᵢ)² / n) (numpy `sqrt(mean((a − b)**2))`).
///
/// All throw `MetricsError` on a length mismatch, too few samples (n < 2; RMSE n < 1), non-finite
/// values, or (correlations only) a constant input, where scipy would return `nan`.
///
/// ```swift
/// let srcc = try Correlation.srcc(predictions, mos)   // 0.87…
/// let plcc = try Correlation.plcc(predictions, mos)
/// ```
public enum Correlation {
    /// Names used in error messages for the two arguments of a metric.
    struct ArgumentNames: Sendable {
        var lhs: String
        var rhs: String
        static let positional = ArgumentNames(lhs: "a", rhs: "b")
        static let predictionTarget = ArgumentNames(lhs: "prediction", rhs: "target")
    }

    /// Spearman rank-order correlation (SRCC), as `scipy.stats.spearmanr(a, b).statistic`.
    public static func srcc(_ a: [Double], _ b: [Double]) throws(MetricsError) -> Double {
        try srcc(a, b, names: .positional)
    }

    /// Pearson linear correlation (PLCC), as `scipy.stats.pearsonr(a, b).statistic`.
    public static func plcc(_ a: [Double], _ b: [Double]) throws(MetricsError) -> Double {
        try plcc(a, b, names: .positional)
    }

    /// Root-mean-square error √(mean((a − b)²)) (no mapping applied).
    public static func rmse(_ a: [Double], _ b: [Double]) throws(MetricsError) -> Double {
        try rmse(a, b, names: .positional)
    }

    static func srcc(_ a: [Double], _ b: [Double], names: ArgumentNames) throws(MetricsError) -> Double {
        try validatePair(a, b, metric: "SRCC", names: names, minimum: 2, requireVariation: true)
        return pearsonUnchecked(ranks(a), ranks(b))
    }

    static func plcc(_ a: [Double], _ b: [Double], names: ArgumentNames) throws(MetricsError) -> Double {
        try validatePair(a, b, metric: "PLCC", names: names, minimum: 2, requireVariation: true)
        return pearsonUnchecked(a, b)
    }

    static func rmse(_ a: [Double], _ b: [Double], names: ArgumentNames) throws(MetricsError) -> Double {
        try validatePair(a, b, metric: "RMSE", names: names, minimum: 1, requireVariation: false)
        var sum = 0.0
        for i in a.indices {
            let d = a[i] - b[i]
            sum += d * d
        }
        return (sum / Double(a.count)).squareRoot()
    }

    /// Pearson correlation of validated, non-constant vectors (two-pass: means, then centred sums).
    static func pearsonUnchecked(_ a: [Double], _ b: [Double]) -> Double {
        let n = Double(a.count)
        let meanA = a.reduce(0, +) / n
        let meanB = b.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in a.indices {
            let da = a[i] - meanA
            let db = b[i] - meanB
            sab += da * db
            saa += da * da
            sbb += db * db
        }
        let r = sab / (saa.squareRoot() * sbb.squareRoot())
        return min(1, max(-1, r))
    }

    /// Checks lengths, sample count, finiteness and (optionally) that neither input is constant.
    static func validatePair(
        _ a: [Double], _ b: [Double], metric: String, names: ArgumentNames, minimum: Int, requireVariation: Bool
    ) throws(MetricsError) {
        guard a.count == b.count else {
            throw .lengthMismatch(metric: metric, lhs: names.lhs, lhsCount: a.count, rhs: names.rhs, rhsCount: b.count)
        }
        guard a.count >= minimum else { throw .tooFewSamples(metric: metric, count: a.count, minimum: minimum) }
        for (values, name) in [(a, names.lhs), (b, names.rhs)] {
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw .nonFinite(metric: metric, argument: name, index: i, value: values[i])
            }
            if requireVariation, let first = values.first, values.allSatisfy({ $0 == first }) {
                throw .constantInput(metric: metric, argument: name, value: first)
            }
        }
    }
}
