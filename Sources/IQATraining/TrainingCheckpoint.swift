import Checkpoints
import Foundation
import IQAData
import IQAModel
import NN
import Tensor

/// Where a split's training stands after a completed epoch: everything that is not a tensor.
///
/// Random streams need no saved state: shuffling, flips and dropout masks are drawn from generators seeded by
/// `(seed, split, epoch, step)` (``TrainingSeeds``), so the epoch counter restores them exactly.
public struct TrainingState: Codable, Sendable, Equatable {
    public static let formatTag = "ipiqa-training-state-v1"
    public var split: Int
    public var epochsCompleted: Int
    public var history: [EpochRecord]

    public init(split: Int, epochsCompleted: Int, history: [EpochRecord]) {
        self.split = split
        self.epochsCompleted = epochsCompleted
        self.history = history
    }
}

/// A resumable training checkpoint: one safetensors file (written atomically after every epoch) holding
///
/// - `param/<name>`: every TRAINABLE parameter (frozen ones come from the CLIP checkpoint the run names),
/// - `buffer/<name>`: every buffer (BatchNorm running statistics),
/// - `adam/<name>.{step,exp_avg,exp_avg_sq}`: the optimizer moments,
/// - metadata: the ``TrainingState`` (epoch, history), the ``TrainingConfiguration`` and the split, as JSON.
///
/// Loading checks that the configuration (up to threads and output switches) and the split are the run's own.
///
/// ```swift
/// try TrainingCheckpoint.save(model: model, optimizer: opt, state: state, config: config, split: split, to: url)
/// let state = try TrainingCheckpoint.load(url, into: model, optimizer: opt, config: config, split: split)
/// ```
public enum TrainingCheckpoint {
    static let paramPrefix = "param/", bufferPrefix = "buffer/", adamPrefix = "adam/"

    public static func save(model: IPIQAModel, optimizer: any Optimizer, state: TrainingState, config: TrainingConfiguration,
                            split: Split, to url: URL) throws {
        var tensors: [(String, shape: [Int], values: [Float])] = []
        for (name, v) in model.namedParameters() where v.requiresGrad {
            tensors.append((paramPrefix + name, shape: v.shape, values: v.value.array))
        }
        for (name, t) in model.namedBuffers() { tensors.append((bufferPrefix + name, shape: t.shape, values: t.array)) }
        for (name, t) in optimizer.stateDict().sorted(by: { $0.key < $1.key }) {
            tensors.append((adamPrefix + name, shape: t.shape, values: t.array))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let metadata = [
            "format": "pt",
            "ipiqa_format": TrainingState.formatTag,
            "state": String(decoding: try encoder.encode(state), as: UTF8.self),
            "config": String(decoding: try encoder.encode(config), as: UTF8.self),
            "split": String(decoding: try encoder.encode(split), as: UTF8.self),
        ]
        try SafetensorsWriter.write(tensors, dtype: .f32, metadata: metadata, to: url)
    }

    /// Restores parameters, buffers and optimizer state into `model` / `optimizer`; returns the state.
    /// Nothing is modified unless everything fits.
    public static func load(_ url: URL, into model: IPIQAModel, optimizer: any Optimizer, config: TrainingConfiguration,
                            split: Split) throws -> TrainingState {
        let dict = try CheckpointLoader.load(url, normalization: .none)
        func bad(_ reason: String) -> TrainingError { .badCheckpoint(file: url.path, reason: reason) }
        guard dict.metadata["ipiqa_format"] == TrainingState.formatTag, let stateJSON = dict.metadata["state"],
              let configJSON = dict.metadata["config"], let splitJSON = dict.metadata["split"] else {
            throw bad("not an IP-IQA training state (no '\(TrainingState.formatTag)' metadata)")
        }
        let decoder = JSONDecoder()
        let state: TrainingState, saved: TrainingConfiguration, savedSplit: Split
        do {
            state = try decoder.decode(TrainingState.self, from: Data(stateJSON.utf8))
            saved = try decoder.decode(TrainingConfiguration.self, from: Data(configJSON.utf8))
            savedSplit = try decoder.decode(Split.self, from: Data(splitJSON.utf8))
        } catch {
            throw bad("unreadable metadata (\(error))")
        }
        guard saved.comparable == config.comparable else { throw bad("it was written with a different training configuration") }
        guard savedSplit == split else { throw bad("it was written for a different split") }

        var params: [String: Tensor] = [:], buffers: [String: Tensor] = [:], adam: [String: Tensor] = [:]
        for (key, t) in dict.tensors {
            let tensor = Tensor(shape: t.shape, values: t.values)
            if key.hasPrefix(paramPrefix) { params[String(key.dropFirst(paramPrefix.count))] = tensor }
            else if key.hasPrefix(bufferPrefix) { buffers[String(key.dropFirst(bufferPrefix.count))] = tensor }
            else if key.hasPrefix(adamPrefix) { adam[String(key.dropFirst(adamPrefix.count))] = tensor }
            else { throw bad("unexpected tensor '\(key)'") }
        }
        var problems: [String] = []
        let trainable = model.namedParameters().filter { $0.1.requiresGrad }
        let targets = trainable.map { ($0.0, $0.1.value, params[$0.0]) } + model.namedBuffers().map { ($0.0, $0.1, buffers[$0.0]) }
        for (name, target, given) in targets {
            guard let given else { problems.append("missing \(name)"); continue }
            if given.shape != target.shape { problems.append("\(name): shape \(given.shape), model has \(target.shape)") }
        }
        let known = Set(trainable.map(\.0))
        for name in params.keys.sorted() where !known.contains(name) { problems.append("unexpected parameter \(name)") }
        if !problems.isEmpty { throw bad(problems.prefix(10).joined(separator: "; ")) }
        try optimizer.loadStateDict(adam)
        for (_, target, given) in targets { if let given { target.assign(given) } }
        return state
    }
}

extension TrainingConfiguration {
    /// The fields that change the numbers (threads and the exact text shortcuts may differ on resume at the cost of
    /// bitwise equality; output switches and the cache folder never matter).
    var comparable: TrainingConfiguration {
        var c = self
        c.threads = nil
        c.textCache = true
        c.featureCache = nil
        c.plots = true
        c.keepTrainingState = false
        return c
    }
}
