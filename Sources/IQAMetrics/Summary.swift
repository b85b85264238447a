import Foundation

/// Mean and standard deviation of one metric over repeated splits.
///
/// `std` is the **population** standard deviation (numpy's default, ddof = 0):
/// std = √(Σ (vᵢ − mean)² / count). One value gives std 0.
///
/// ```swift
/// let s = Summary(values: [0.80, 0.82, 0.84])   // mean 0.82, std 0.01633
/// ```
public struct Summary: Codable, Sendable, Equatable, CustomStringConvertible {
    public var mean: Double
    public var std: Double
    public var count: Int

    public init(mean: Double, std: Double, count: Int) {
        self.mean = mean
        self.std = std
        self.count = count
    }

    /// Mean and ddof = 0 standard deviation of `values` (an empty list gives count 0, mean and std 0).
    public init(values: [Double]) {
        count = values.count
        guard !values.isEmpty else {
            mean = 0
            std = 0
            return
        }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        self.mean = mean
        std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
    }

    public var description: String { "\(MetricSet.format(mean)) ± \(MetricSet.format(std))" }
}

/// Per-metric `Summary` over the `MetricSet`s of repeated splits (std with ddof = 0).
///
/// ```swift
/// let summary = try summarize(splits)     // splits: [MetricSet]
/// print(summary.srcc)                     // 0.8712 ± 0.0123
/// ```
public struct MetricSummary: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Number of metric sets (splits) summarised.
    public var splits: Int
    public var srcc: Summary
    public var plcc: Summary
    public var krcc: Summary
    public var rmse: Summary

    /// Throws `.emptySummary` for an empty list.
    public init(_ sets: [MetricSet]) throws(MetricsError) {
        guard !sets.isEmpty else { throw .emptySummary }
        splits = sets.count
        srcc = Summary(values: sets.map(\.srcc))
        plcc = Summary(values: sets.map(\.plcc))
        krcc = Summary(values: sets.map(\.krcc))
        rmse = Summary(values: sets.map(\.rmse))
    }

    public var description: String {
        "\(splits) splits: SRCC \(srcc) PLCC \(plcc) KRCC \(krcc) RMSE \(rmse)"
    }
}

/// `MetricSummary(sets)`: mean ± std (ddof = 0) of each metric over repeated splits.
public func summarize(_ sets: [MetricSet]) throws(MetricsError) -> MetricSummary {
    try MetricSummary(sets)
}
