import Foundation

/// The four numbers an IQA evaluation reports for one test set.
///
/// SRCC and KRCC use the raw predictions (rank statistics); PLCC and RMSE use the raw predictions with
/// `.none` or f(prediction) with `.logistic` (the 4-parameter `LogisticMapping` fitted on this very set,
/// as in VQEG practice). RMSE is in the target's units.
///
/// ```swift
/// let set = try MetricSet.compute(prediction: scores, target: mos)
/// print(set)   // n=300 SRCC 0.8712 PLCC 0.8891 KRCC 0.6934 RMSE 0.4123
/// let mapped = try MetricSet.compute(prediction: scores, target: mos, mapping: .logistic)
/// ```
public struct MetricSet: Codable, Sendable, Equatable, CustomStringConvertible {
    public var n: Int
    public var srcc: Double
    public var plcc: Double
    public var krcc: Double
    public var rmse: Double

    /// How predictions are mapped before PLCC and RMSE.
    public enum Mapping: String, Codable, Sendable, CaseIterable {
        /// Raw predictions.
        case none
        /// `LogisticMapping.fit(x: prediction, y: target)` applied first.
        case logistic
    }

    public init(n: Int, srcc: Double, plcc: Double, krcc: Double, rmse: Double) {
        self.n = n
        self.srcc = srcc
        self.plcc = plcc
        self.krcc = krcc
        self.rmse = rmse
    }

    /// Computes all four metrics. Throws `MetricsError` (length mismatch, n < 2, non-finite values,
    /// constant prediction or target — where scipy would give nan —, or a failed logistic fit).
    public static func compute(
        prediction: [Double], target: [Double], mapping: Mapping = .none
    ) throws(MetricsError) -> MetricSet {
        let names = Correlation.ArgumentNames.predictionTarget
        let srcc = try Correlation.srcc(prediction, target, names: names)
        let krcc = try Correlation.krcc(prediction, target, names: names)
        let mapped: [Double]
        switch mapping {
        case .none: mapped = prediction
        case .logistic: mapped = try LogisticMapping.fit(x: prediction, y: target).apply(prediction)
        }
        let plcc = try Correlation.plcc(mapped, target, names: names)
        let rmse = try Correlation.rmse(mapped, target, names: names)
        return MetricSet(n: prediction.count, srcc: srcc, plcc: plcc, krcc: krcc, rmse: rmse)
    }

    public var description: String {
        "n=\(n) SRCC \(Self.format(srcc)) PLCC \(Self.format(plcc)) KRCC \(Self.format(krcc)) RMSE \(Self.format(rmse))"
    }

    static func format(_ value: Double) -> String { String(format: "%.4f", value) }
}
