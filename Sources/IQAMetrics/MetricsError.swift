import Foundation

/// Why a metric could not be computed.
///
/// Policy for undefined correlations: where scipy returns `nan` (a constant input, for which the
/// correlation is 0/0) the functions of this module **throw** `.constantInput` instead, so that a
/// `nan` can never slip silently into a JSON report (`JSONEncoder` rejects it) or a mean over splits.
/// Callers that prefer scipy's behaviour catch the error and use `Double.nan`.
///
/// ```swift
/// do { _ = try Correlation.srcc([1, 1, 1], [1, 2, 3]) }
/// catch { print(error.localizedDescription) }
/// // "SRCC is undefined: every value of `a` equals 1.0 (scipy returns nan for constant input)"
/// ```
public enum MetricsError: Error, LocalizedError, Equatable, Sendable {
    /// The two vectors have different lengths.
    case lengthMismatch(metric: String, lhs: String, lhsCount: Int, rhs: String, rhsCount: Int)
    /// Fewer samples than the metric needs.
    case tooFewSamples(metric: String, count: Int, minimum: Int)
    /// A NaN or infinite value.
    case nonFinite(metric: String, argument: String, index: Int, value: Double)
    /// Every value of one input is the same: the correlation is 0/0.
    case constantInput(metric: String, argument: String, value: Double)
    /// Levenberg–Marquardt did not produce a usable logistic mapping.
    case logisticFitFailed(reason: String)
    /// `summarize` was given no metric sets.
    case emptySummary

    public var errorDescription: String? {
        switch self {
        case let .lengthMismatch(metric, lhs, lhsCount, rhs, rhsCount):
            return "\(metric): `\(lhs)` has \(lhsCount) values but `\(rhs)` has \(rhsCount); they must have the same length"
        case let .tooFewSamples(metric, count, minimum):
            return "\(metric) needs at least \(minimum) samples, got \(count)"
        case let .nonFinite(metric, argument, index, value):
            return "\(metric): `\(argument)`[\(index)] is \(value); all values must be finite"
        case let .constantInput(metric, argument, value):
            return "\(metric) is undefined: every value of `\(argument)` equals \(value) (scipy returns nan for constant input)"
        case let .logisticFitFailed(reason):
            return "logistic mapping fit failed: \(reason)"
        case .emptySummary:
            return "cannot summarize an empty list of metric sets"
        }
    }
}
