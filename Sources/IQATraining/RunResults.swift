import Archive
import Foundation
import IQAMetrics

/// What one epoch of one split produced: the mean training loss and the metrics on the held-out parts.
public struct EpochRecord: Codable, Sendable, Equatable {
    /// 1-based.
    public var epoch: Int
    /// Mean MSE over the epoch's training images.
    public var trainLoss: Double
    public var steps: Int
    /// nil for protocols without a validation part (official).
    public var validation: OutputMetrics?
    public var test: OutputMetrics
    /// Wall time of the epoch (training + evaluation), seconds. Not part of the numbers compared across resumes.
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, steps: Int, validation: OutputMetrics?, test: OutputMetrics, seconds: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.steps = steps
        self.validation = validation
        self.test = test
        self.seconds = seconds
    }

    /// The record without its timing (for exact comparisons).
    public var numbers: EpochRecord { var r = self; r.seconds = 0; return r }
}

/// An epoch picked by a rule, with its TEST metrics.
public struct SelectedEpoch: Codable, Sendable, Equatable {
    public var epoch: Int
    /// The selection score of the rule (agg on validation or on test).
    public var agg: Double?
    public var test: OutputMetrics
}

/// How a split's reported epoch is chosen.
public enum EpochSelection: String, Codable, Sendable {
    /// Honest: the epoch maximising agg on the validation part (grouped protocol).
    case validation
    /// What the official code reports: the epoch maximising agg on the test part itself (optimistic).
    case bestTestEpoch = "best-test-epoch (official)"
}

/// The selections over a split's history:
/// (a) ``validationSelected``: argmax over epochs of agg(validation) — nil without a validation part;
/// (b) ``bestTestEpoch``: argmax of agg(test), the official IP-IQA number; ties keep the earliest epoch (strict `>`,
/// as the official `if agg_metrics > best_agg_metric`).
///
///     agg = Σ_outputs (SRCC + PLCC + KRCC)
public struct SplitResult: Codable, Sendable, Equatable {
    public var split: Int
    public var trainCount: Int
    public var validationCount: Int?
    public var testCount: Int
    public var validationSelected: SelectedEpoch?
    public var bestTestEpoch: SelectedEpoch?
    public var finalEpoch: SelectedEpoch?
    public var history: [EpochRecord]

    public init(split: Int, trainCount: Int, validationCount: Int?, testCount: Int, history: [EpochRecord]) {
        self.split = split
        self.trainCount = trainCount
        self.validationCount = validationCount
        self.testCount = testCount
        self.history = history
        validationSelected = Self.select(history) { $0.validation?.agg }
        bestTestEpoch = Self.select(history) { $0.test.agg }
        finalEpoch = history.last.map { SelectedEpoch(epoch: $0.epoch, agg: $0.test.agg, test: $0.test) }
    }

    /// The first epoch with the largest defined score; nil if no epoch has one.
    static func select(_ history: [EpochRecord], score: (EpochRecord) -> Double?) -> SelectedEpoch? {
        var best: (Double, EpochRecord)?
        for r in history {
            guard let s = score(r), s.isFinite else { continue }
            if let b = best, s <= b.0 { continue }
            best = (s, r)
        }
        return best.map { SelectedEpoch(epoch: $0.1.epoch, agg: $0.0, test: $0.1.test) }
    }

    /// The headline selection: validation when available, else the official best test epoch.
    public var headline: (selection: EpochSelection, epoch: SelectedEpoch?) {
        validationCount != nil ? (.validation, validationSelected) : (.bestTestEpoch, bestTestEpoch)
    }
}

/// `metrics.json`: per split, the headline metrics per output at the top level (`"quality": {"srcc", "plcc",
/// "krcc", "rmse", "n"}`), the selection that produced them, and both selections (a) and (b) plus the final epoch;
/// then a summary (mean and ddof-0 std over splits) of each selection.
///
/// ```swift
/// let report = RunReport(dataset: "AGIQA-3k", protocol: "official", outputs: ["quality", "alignment"], splits: results)
/// try report.write(to: dir.appendingPathComponent("metrics.json"))
/// ```
public struct RunReport: Encodable, Sendable {
    public var dataset: String
    public var splitProtocol: String
    public var outputs: [String]
    public var splits: [SplitResult]
    public var complete: Bool

    public init(dataset: String, splitProtocol: String, outputs: [String], splits: [SplitResult], complete: Bool) {
        self.dataset = dataset
        self.splitProtocol = splitProtocol
        self.outputs = outputs
        self.splits = splits
        self.complete = complete
    }

    public static let note = "validation_selected: epoch chosen by agg = sum over outputs of SRCC+PLCC+KRCC on the validation part (honest; "
        + "null without a validation part, e.g. the official protocol). best_test_epoch_official: epoch maximising the same agg on the "
        + "TEST part, which is what the official IP-IQA code reports (optimistic). Top-level output keys of a split repeat its headline selection."

    /// Mean and std (ddof 0) of each metric of each output over the splits where it is defined.
    public func summary(_ pick: (SplitResult) -> SelectedEpoch?) -> [String: [String: Summary]]? {
        let chosen = splits.compactMap(pick)
        guard !chosen.isEmpty else { return nil }
        var out: [String: [String: Summary]] = [:]
        for name in outputs {
            let sets = chosen.compactMap { $0.test[name] }
            guard !sets.isEmpty else { continue }
            out[name] = ["srcc": Summary(values: sets.map(\.srcc)), "plcc": Summary(values: sets.map(\.plcc)),
                         "krcc": Summary(values: sets.map(\.krcc)), "rmse": Summary(values: sets.map(\.rmse))]
        }
        return out
    }

    private struct SplitEntry: Encodable {
        let result: SplitResult
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: JSONKey.self)
            let (selection, headline) = result.headline
            if let headline {
                for (name, set) in zip(headline.test.names, headline.test.sets) { try c.encode(set, forKey: JSONKey(name)) }
                try c.encode(headline.epoch, forKey: JSONKey("epoch"))
            }
            try c.encode(selection.rawValue, forKey: JSONKey("selection"))
            try c.encode(result.split, forKey: JSONKey("split"))
            try c.encode(result.trainCount, forKey: JSONKey("train_images"))
            try c.encode(result.validationCount, forKey: JSONKey("validation_images"))
            try c.encode(result.testCount, forKey: JSONKey("test_images"))
            try c.encode(result.history.count, forKey: JSONKey("epochs"))
            try c.encode(result.validationSelected.map(Picked.init), forKey: JSONKey("validation_selected"))
            try c.encode(result.bestTestEpoch.map(Picked.init), forKey: JSONKey("best_test_epoch_official"))
            try c.encode(result.finalEpoch.map(Picked.init), forKey: JSONKey("final_epoch"))
        }
    }

    private struct Picked: Encodable {
        let e: SelectedEpoch
        init(_ e: SelectedEpoch) { self.e = e }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: JSONKey.self)
            try c.encode(e.epoch, forKey: JSONKey("epoch"))
            try c.encode(e.agg, forKey: JSONKey("agg"))
            for (name, set) in zip(e.test.names, e.test.sets) { try c.encode(set, forKey: JSONKey(name)) }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(dataset, forKey: JSONKey("dataset"))
        try c.encode(splitProtocol, forKey: JSONKey("protocol"))
        try c.encode(outputs, forKey: JSONKey("outputs"))
        try c.encode(complete, forKey: JSONKey("complete"))
        try c.encode(Self.note, forKey: JSONKey("note"))
        try c.encode(splits.map(SplitEntry.init), forKey: JSONKey("splits"))
        var s = c.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey("summary"))
        try s.encode(splits.count, forKey: JSONKey("splits"))
        try s.encode(summary { $0.validationSelected }, forKey: JSONKey("validation_selected"))
        try s.encode(summary { $0.bestTestEpoch }, forKey: JSONKey("best_test_epoch_official"))
        try s.encode(summary { $0.finalEpoch }, forKey: JSONKey("final_epoch"))
    }

    /// Sorted-key, pretty JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Writes `metrics.json` atomically.
    public func write(to url: URL) throws { try AtomicWrite.data(try jsonData(), to: url) }
}

/// Atomic file writes for long jobs (``AtomicFile``), with failures reported as ``TrainingError`` naming the file.
public enum AtomicWrite {
    public static func data(_ data: Data, to url: URL) throws {
        do { try AtomicFile.write(data, to: url) } catch {
            throw TrainingError.badCheckpoint(file: url.path, reason: AtomicFile.reason(error))
        }
    }
}
