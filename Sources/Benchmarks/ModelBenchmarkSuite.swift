import CLIP
import Foundation
import IQATraining
import Tensor

/// Several ``ModelBenchmarkCase``s run one after the other, as `ipiqa bench` does, with the bf16-vs-fp32 accuracy
/// check when the precision is not fp32; and the text table that `ipiqa bench` prints.
///
/// ```swift
/// let config = ModelBenchmarkConfiguration(repeats: 5, precision: .bf16)
/// print(ModelBenchmark.tableHeader(config))
/// let report = try ModelBenchmark.runSuite([.rn50Forward224B1, .textForwardB32Cut], config: config) { kase, result in
///     print(ModelBenchmark.tableRow(kase, result))
/// }
/// ```
extension ModelBenchmark {
    /// Runs `cases` in order (`onCase` after each), then, for a precision other than fp32, ``precisionCheck(_:resolution:batch:seed:)``.
    public static func runSuite(_ cases: [ModelBenchmarkCase], config: ModelBenchmarkConfiguration,
                                onCase: (ModelBenchmarkCase, ModelBenchmarkResult) -> Void = { _, _ in }) throws -> ModelBenchmarkReport {
        var results: [String: ModelBenchmarkResult] = [:]
        for c in cases {
            let r = try run(c, config: config)
            results[c.rawValue] = r
            onCase(c, r)
        }
        let request: PrecisionRequest = config.auto ? .auto : .forced(config.precision)
        let check = request == .forced(.fp32) ? nil : try precisionCheck(request)
        return ModelBenchmarkReport(cases: results, precisionCheck: check, meta: .init(
            blasCore: BLASCoreOverride.coreName(), threads: Threading.workers, precision: request.description,
            repeats: config.repeats, promptLength: config.promptLength, cpu: PeakProbe.cpuModel, cpuFeatures: PeakProbe.featureLine))
    }

    /// The settings line and the column titles of the text table.
    public static func tableHeader(_ config: ModelBenchmarkConfiguration) -> String {
        "OpenBLAS core \(BLASCoreOverride.coreName()), \(Threading.workers) threads, precision \(config.auto ? "auto" : config.precision.rawValue), "
            + "median of \(config.repeats)\n"
            + "case".padding(toLength: 24, withPad: " ", startingAt: 0) + "        ms   images/s   GFLOP/s   peak RSS MB   cpu ms"
    }

    /// One row of the text table.
    public static func tableRow(_ kase: ModelBenchmarkCase, _ r: ModelBenchmarkResult) -> String {
        kase.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0)
            + String(format: "%10.1f %10.2f %9.1f %13.0f %8.0f", r.ms, r.imagesPerSecond, r.gflops, r.peakRSSMB, r.cpuMs)
    }

    /// The plan `auto` chose for one case (text table).
    public static func decisionLine(_ kase: ModelBenchmarkCase, _ r: ModelBenchmarkResult) -> String? {
        r.precisionDecision.map { "  \(kase.rawValue): \($0.summary)" }
    }

    /// The line under the table that reports the precision check.
    public static func precisionCheckLine(_ c: PrecisionCheckResult) -> String {
        c.chosen + String(format: " vs fp32 (random RN50 IP-IQA, batch norm calibrated on images, 224 px, 4 probe images): "
                          + "min embedding cosine 1 − %.2e, max |Δscore| %.2e (max |score| %.3f)", 1 - c.embeddingCosine,
                          c.maxScoreDifference, c.maxScore)
    }
}

/// JSON of `ipiqa bench --json`: one key per case (its raw value), `meta`, and `precision_check` where one ran.
public struct ModelBenchmarkReport: Encodable, Sendable {
    public var cases: [String: ModelBenchmarkResult]
    public var precisionCheck: PrecisionCheckResult?
    public var meta: Meta

    /// The settings the numbers were measured with.
    public struct Meta: Encodable, Sendable {
        public var blasCore: String
        public var threads: Int
        public var precision: String
        public var repeats: Int
        public var promptLength: Int
        /// CPU model and its 16-bit features (``PeakProbe``).
        public var cpu: String
        public var cpuFeatures: String
        enum CodingKeys: String, CodingKey {
            case blasCore = "blas_core", threads, precision, repeats, promptLength = "prompt_length", cpu,
                 cpuFeatures = "cpu_features"
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        for (k, v) in cases { try c.encode(v, forKey: JSONKey(k)) }
        try c.encode(meta, forKey: JSONKey("meta"))
        if let precisionCheck { try c.encode(precisionCheck, forKey: JSONKey("precision_check")) }
    }
}
