import Foundation
import IQAMetrics
import IQAModel
import Tensor

/// SRCC / PLCC / KRCC / RMSE of each output of a model on one set, by output name (in output order). A metric set
/// is nil where it is undefined (constant predictions, fewer than two images). Reports use ``keyed``.
///
/// The official IP-IQA selection score is ``agg``:
///
///     agg = Σ over outputs of (SRCC + PLCC + KRCC)
///
/// ```swift
/// let m = OutputMetrics(names: ["quality"], predictions: [[0.1], [0.5], [0.3]], targets: [[1], [3], [2]])
/// m["quality"]?.srcc   // 1.0
/// ```
public struct OutputMetrics: Codable, Sendable, Equatable {
    public var names: [String]
    public var sets: [MetricSet?]

    public init(names: [String], sets: [MetricSet?]) {
        self.names = names
        self.sets = sets
    }

    /// Metrics of each output column of `predictions` against `targets` (rows = images).
    public init(names: [String], predictions: [[Double]], targets: [[Double]]) {
        self.names = names
        sets = names.indices.map { k in
            try? MetricSet.compute(prediction: predictions.map { $0[k] }, target: targets.map { $0[k] })
        }
    }

    public subscript(name: String) -> MetricSet? {
        names.firstIndex(of: name).flatMap { sets[$0] }
    }

    /// Σ (SRCC + PLCC + KRCC) over outputs; nil when some output has no metrics.
    public var agg: Double? {
        var total = 0.0
        for s in sets {
            guard let s else { return nil }
            total += s.srcc + s.plcc + s.krcc
        }
        return total
    }

    /// The report form `{"quality": {...}, "alignment": null}` (the stored form keeps the order: `{"names", "sets"}`).
    public var keyed: KeyedMetrics { KeyedMetrics(names: names, sets: sets) }

    /// One line, e.g. `quality SRCC 0.8123 PLCC 0.8456 KRCC 0.6234 | alignment …`.
    public var summaryLine: String {
        zip(names, sets).map { name, s in
            guard let s else { return "\(name) n/a" }
            return "\(name) SRCC \(Self.f(s.srcc)) PLCC \(Self.f(s.plcc)) KRCC \(Self.f(s.krcc))"
        }.joined(separator: " | ")
    }

    static func f(_ v: Double) -> String { String(format: "%.4f", v) }
}

/// Metrics keyed by output name for reports: `{"quality": {"srcc": …, …}, "alignment": null}`.
public struct KeyedMetrics: Encodable, Sendable {
    public let names: [String]
    public let sets: [MetricSet?]

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        for (name, set) in zip(names, sets) { try c.encode(set, forKey: JSONKey(name)) }
    }
}

/// A string coding key (output names and other data-driven JSON keys).
public struct JSONKey: CodingKey, Sendable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

/// Predictions and metrics of a model over a set of labelled images (eval mode, no gradients, in batches).
///
/// ```swift
/// let predictions = try Evaluation.predict(model, on: testPart, batchSize: 32)
/// let metrics = OutputMetrics(names: model.config.outputNames, predictions: predictions, targets: testPart.scores)
/// ```
public enum Evaluation {
    /// `[n][k]` predictions, in item order. Leaves the model in eval mode. `progress(done, total)` after each batch.
    /// `text` (nil: the full text pass) supplies the text features; `cached` (nil: decode and run the trunk) gives
    /// the items' cached trunk maps or projections (a frozen trunk, ``CachedPart``).
    public static func predict(_ model: IPIQAModel, on data: LabeledImages, batchSize: Int, text: TextFeatureSource? = nil,
                               cached: CachedPart? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> [[Double]] {
        try predict(model, on: data, items: 0..<data.count, batchSize: batchSize, text: text, cached: cached, progress: progress)
    }

    /// Predictions of items `items` only (a rank's share of a set), in item order; `progress(done, items.count)`.
    public static func predict(_ model: IPIQAModel, on data: LabeledImages, items: Range<Int>, batchSize: Int, text: TextFeatureSource? = nil,
                               cached: CachedPart? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> [[Double]] {
        model.setMode(training: false)
        let k = model.config.outputs
        var out: [[Double]] = []
        out.reserveCapacity(items.count)
        var start = items.lowerBound
        let end = items.upperBound
        func prefetch(_ range: Range<Int>) -> StepPrefetcher {
            let indices = Array(range)
            if let cached {
                return StepPrefetcher { data.stepBatch(indices, input: try cached.input(indices, flips: nil)) }
            }
            let resolution = model.config.resolution
            return StepPrefetcher { StepBatch(try data.batch(indices, resolution: resolution, flips: nil)) }
        }
        var pending: StepPrefetcher? = start < end ? prefetch(start..<min(start + batchSize, end)) : nil
        while let current = pending {
            let batch = try current.wait()
            let next = start + batch.count
            pending = next < end ? prefetch(next..<min(next + batchSize, end)) : nil
            let scores = try withoutGradients {
                try model.scores(batch.input, text: TrainingStep.textFeatures(model, batch.tokens, source: text)).scores.value
            }
            let p = scores.pointer
            for i in 0..<batch.count { out.append((0..<k).map { Double(p[i * k + $0]) }) }
            start = next
            progress?(start - items.lowerBound, items.count)
        }
        return out
    }

    /// Predictions and metrics per output.
    public static func evaluate(_ model: IPIQAModel, on data: LabeledImages, batchSize: Int, text: TextFeatureSource? = nil,
                                cached: CachedPart? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> (predictions: [[Double]], metrics: OutputMetrics) {
        let predictions = try predict(model, on: data, batchSize: batchSize, text: text, cached: cached, progress: progress)
        return (predictions, OutputMetrics(names: model.config.outputNames, predictions: predictions, targets: data.scores))
    }

    /// CSV text `image,<output>_pred…,<output>_mos…` of predictions (for `ipiqa evaluate --predictions`).
    public static func predictionsCSV(names: [String], outputNames: [String], predictions: [[Double]], targets: [[Double]]) -> String {
        var lines = ["image," + outputNames.map { "\($0)_pred" }.joined(separator: ",") + "," + outputNames.map { "\($0)_mos" }.joined(separator: ",")]
        for (i, name) in names.enumerated() {
            let quoted = name.contains(",") || name.contains("\"") ? "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : name
            lines.append(([quoted] + predictions[i].map { String($0) } + targets[i].map { String($0) }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
