import CLIP
import Foundation
import NN
import Tensor

/// Settings of IP-IQA training on cached trunk features (frozen trunk).
///
/// ```swift
/// var config = CachedTrainingConfig()
/// config.epochs = 10
/// ```
public struct CachedTrainingConfig: Codable, Sendable, Equatable {
    public var epochs = 15
    public var batchSize = 32
    /// AdamW learning rate of the attention pool, fusion and [QA]; the head gets `headScale ×` it (official: 10).
    /// (Official base rate: 1e-5 for a pre-trained RN50 trunk; these layers start from scratch here.)
    public var learningRate = 3e-4
    public var headScale = 10.0
    public var weightDecay = 0.0
    /// Seed of the epoch shuffles.
    public var seed: UInt64 = 0

    public init() {}

    /// Decodes JSON; missing keys keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CachedTrainingConfig()
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        headScale = try c.decodeIfPresent(Double.self, forKey: .headScale) ?? d.headScale
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
    }

    public func validate() throws {
        func bad(_ m: String) -> CachedTrainingError { .invalidSetting(m) }
        guard epochs >= 0 else { throw bad("epochs must be ≥ 0, got \(epochs)") }
        guard batchSize >= 1 else { throw bad("batch size must be ≥ 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite, headScale > 0, weightDecay >= 0 else {
            throw bad("learning rate and head scale must be positive, weight decay ≥ 0")
        }
    }
}

/// Cached trunk features of a labelled image set: `features[i]` is image `i`'s layer4 map, `tokens[i]` its prompt's
/// token row, `targets[i]` its scores (one per model output), and optionally `extra[i]` a fixed vector appended to
/// the head's input (e.g. CLIPScore-style image–text interaction features).
///
/// ```swift
/// let set = try CachedFeatureSet(features: maps, tokens: tokenizer.tokenize(prompts), targets: mos)
/// ```
public struct CachedFeatureSet {
    public let features: Tensor
    public let tokens: [[Int32]]
    public let targets: [[Double]]
    /// `[N, d]` extra head inputs, or nil.
    public let extra: Tensor?

    public init(features: Tensor, tokens: [[Int32]], targets: [[Double]], extra: Tensor? = nil) throws {
        guard features.rank == 4, features.shape[0] == tokens.count, tokens.count == targets.count else {
            throw CachedTrainingError.invalidSetting("features \(features.shape), \(tokens.count) token rows and \(targets.count) targets do not match")
        }
        if let extra, extra.rank != 2 || extra.shape[0] != tokens.count {
            throw CachedTrainingError.invalidSetting("extra head inputs \(extra.shape) do not match \(tokens.count) rows")
        }
        self.features = features
        self.tokens = tokens
        self.targets = targets
        self.extra = extra
    }

    /// The same set with other extra head inputs.
    public func with(extra: Tensor?) throws -> CachedFeatureSet {
        try CachedFeatureSet(features: features, tokens: tokens, targets: targets, extra: extra)
    }

    /// Rows `rows` of the extra inputs, stacked (nil when there are none).
    public func extra(rows: [Int]) -> Tensor? {
        guard let extra else { return nil }
        let d = extra.shape[1]
        let out = Tensor(uninitialized: [rows.count, d])
        for (k, r) in rows.enumerated() { (out.pointer + k * d).update(from: extra.pointer + r * d, count: d) }
        return out
    }

    public var count: Int { tokens.count }

    /// Rows `rows` of the feature maps, stacked.
    public func features(rows: [Int]) -> Tensor {
        let per = features.count / max(features.shape[0], 1)
        let out = Tensor(uninitialized: [rows.count] + Array(features.shape.dropFirst()))
        for (k, r) in rows.enumerated() { (out.pointer + k * per).update(from: features.pointer + r * per, count: per) }
        return out
    }
}

/// Training report: mean MSE loss of each epoch.
public struct CachedTrainingReport: Codable, Sendable {
    public let epochLosses: [Double]
    public let steps: Int
    public let seconds: Double
}

/// Trains IP-IQA's layers after the trunk — the visual attention pool, the cross-modality attention pool, the
/// [QA] embedding and the head — on cached layer4 maps (``FeatureCache``), with the official loss and optimiser:
///
///     ŷ = head([attnpool(F); crossPool(F, t)])     t = text feature of the prompt (frozen encoder, [QA] at EOT)
///     L = mean((ŷ − MOS)²)                          AdamW, head at `headScale ×` the base learning rate
///
/// With `extraInputs > 0` (fused models only) the trainer replaces the model's head by one of the same kind taking
/// `[v; c; extra]` — the set's fixed extra vector appended (the model's own head is then unused and untrained).
/// The trunk is frozen (its maps are inputs). The text path follows `config.qaToken`: `.token` runs only the [QA]
/// row through the frozen encoder (``TextPrefixCache``, prefixes cached per prompt); `.none` computes each prompt's
/// text feature once; `.table` runs the full encoder with a trainable token table.
///
/// ```swift
/// let trainer = try CachedFeatureTrainer(model: IPIQAModel(clip: clip, config: c), config: CachedTrainingConfig())
/// try trainer.fit(set, rows: split.trainRows)
/// let (scores, maps) = try trainer.predict(set, rows: split.testRows)
/// ```
public final class CachedFeatureTrainer {
    public let model: IPIQAModel
    public let config: CachedTrainingConfig
    public let optimizer: AdamW
    private let prefixCache: TextPrefixCache?
    /// The head used instead of the model's when extra inputs are appended.
    public let extraHead: (any Module)?
    private let applyExtraHead: ((Var) -> Var)?
    public let extraInputs: Int
    private var frozenText: [[Int32]: [Float]] = [:]
    private var rng: SeededGenerator

    public init(model: IPIQAModel, config: CachedTrainingConfig, extraInputs: Int = 0) throws {
        try config.validate()
        guard extraInputs >= 0, extraInputs == 0 || model.config.useText else {
            throw CachedTrainingError.invalidSetting("extra head inputs need a fused (prompt-using) model and a count ≥ 0")
        }
        self.model = model
        self.config = config
        self.extraInputs = extraInputs
        rng = SeededGenerator(seed: config.seed ^ 0xCAC4_ED00)
        model.clip.freeze()
        model.clip.unfreeze(prefix: "visual.attnpool")
        if model.config.useText && model.config.qaToken == .table { model.clip.unfreeze(prefix: "token_embedding") }
        prefixCache = model.config.useText && model.config.qaToken == .token ? TextPrefixCache(model: model.clip) : nil
        var (base, head) = model.parameterGroups()
        if extraInputs > 0 {
            var hr = SeededGenerator(seed: model.config.seed ^ 0xE7_7A)
            let inputs = 2 * model.clip.config.embedDim + extraInputs
            switch model.config.head {
            case .mlp:
                let h = MLPHead(inputs: inputs, outputs: model.config.outputs, dropout: model.config.dropout, rng: &hr)
                extraHead = h; applyExtraHead = { h($0) }
            case .linear:
                let h = LinearHead(inputs: inputs, outputs: model.config.outputs, rng: &hr)
                extraHead = h; applyExtraHead = { h($0) }
            }
            model.head.freeze()
            head = extraHead!.namedParameters().map { ("extra_head." + $0.0, $0.1) }
        } else {
            extraHead = nil; applyExtraHead = nil
        }
        optimizer = AdamW([ParamGroup(base, learningRate: config.learningRate, weightDecay: config.weightDecay),
                           ParamGroup(head, learningRate: config.learningRate * config.headScale, weightDecay: config.weightDecay)],
                          weightDecay: config.weightDecay)
    }

    /// The text features `[B, E]` of token rows (nil for the image-only model).
    func text(_ tokens: [[Int32]]) throws -> Var? {
        guard model.config.useText else { return nil }
        switch model.config.qaToken {
        case .token:
            guard let prefixCache, let qa = model.qaToken else { return try model.textFeature(tokens) }
            return try prefixCache.encodeWithQA(tokens: tokens, qa: qa)
        case .table:
            return try model.textFeature(tokens)
        case .none:
            let missing = Array(Set(tokens.filter { frozenText[$0] == nil }))
                .sorted { $0.lexicographicallyPrecedes($1) }
            if !missing.isEmpty {
                let t = try withoutGradients { try model.textFeature(missing) }.value
                let e = t.shape[1]
                for (i, row) in missing.enumerated() { frozenText[row] = Array(UnsafeBufferPointer(start: t.pointer + i * e, count: e)) }
            }
            let e = model.clip.config.embedDim
            return Var(Tensor(shape: [tokens.count, e], values: tokens.flatMap { frozenText[$0]! }))
        }
    }

    /// Scores (and cross-attention maps) of a batch: the model's own `scores`, or `[v; c; extra]` → the extra head.
    func forward(_ set: CachedFeatureSet, rows: [Int]) throws -> (scores: Var, crossWeights: Tensor?) {
        let features = Var(set.features(rows: rows))
        let text = try text(rows.map { set.tokens[$0] })
        guard let applyExtraHead, let crossPool = model.crossPool, let text else { return model.scores(features: features, text: text) }
        guard let extra = set.extra(rows: rows), extra.shape[1] == extraInputs else {
            throw CachedTrainingError.invalidSetting("the set has no extra head inputs of width \(extraInputs)")
        }
        let v = model.clip.visual.attnpool(features)
        let (fused, weights) = crossPool(features, text: text)
        return (applyExtraHead(concat([v, fused, Var(extra)], axis: 1)), weights)
    }

    /// Sets training mode on the model (text path stays in eval) and the extra head.
    private func setMode(training: Bool) {
        model.setMode(training: training)
        extraHead?.setTraining(training)
    }

    /// `config.epochs` shuffled passes over `rows` of `set`.
    @discardableResult
    public func fit(_ set: CachedFeatureSet, rows: [Int], progress: ((Int, Double) -> Void)? = nil) throws -> CachedTrainingReport {
        guard !rows.isEmpty else { throw CachedTrainingError.invalidSetting("no training rows") }
        guard set.targets.allSatisfy({ $0.count == model.config.outputs }) else {
            throw CachedTrainingError.invalidSetting("targets must have \(model.config.outputs) scores each")
        }
        let start = Date()
        var losses: [Double] = [], steps = 0
        for epoch in 0..<config.epochs {
            setMode(training: true)
            var order = rows
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            var sum = 0.0
            for b in stride(from: 0, to: order.count, by: config.batchSize) {
                let batch = Array(order[b..<min(b + config.batchSize, order.count)])
                let target = Tensor(shape: [batch.count, model.config.outputs], values: batch.flatMap { set.targets[$0].map(Float.init) })
                let (scores, _) = try forward(set, rows: batch)
                let loss = mseLoss(scores, Var(target))
                let value = loss.value.item
                guard value.isFinite else { throw CachedTrainingError.diverged(epoch: epoch + 1, loss: value) }
                loss.backward()
                optimizer.step()
                optimizer.zeroGrad()
                sum += Double(value) * Double(batch.count)
                steps += 1
            }
            losses.append(sum / Double(order.count))
            progress?(epoch + 1, losses[epoch])
        }
        setMode(training: false)
        return CachedTrainingReport(epochLosses: losses, steps: steps, seconds: Date().timeIntervalSince(start))
    }

    /// Scores `[rows.count][outputs]` in eval mode and, for the fused model, each row's cross-modality attention
    /// over the `g² + 1` tokens (token 0: the mean token), averaged over heads.
    public func predict(_ set: CachedFeatureSet, rows: [Int], batchSize: Int = 256) throws -> (scores: [[Double]], attention: [[Float]]?) {
        setMode(training: false)
        var scores: [[Double]] = [], attention: [[Float]] = []
        for b in stride(from: 0, to: rows.count, by: max(1, batchSize)) {
            let batch = Array(rows[b..<min(b + max(1, batchSize), rows.count)])
            let (s, w) = try withoutGradients { try forward(set, rows: batch) }
            let k = model.config.outputs
            for i in 0..<batch.count { scores.append((0..<k).map { Double(s.value.pointer[i * k + $0]) }) }
            if let w {
                let heads = w.shape[1], tokens = w.shape[3]
                for i in 0..<batch.count {
                    var row = [Float](repeating: 0, count: tokens)
                    for h in 0..<heads { for t in 0..<tokens { row[t] += w.pointer[(i * heads + h) * tokens + t] / Float(heads) } }
                    attention.append(row)
                }
            }
        }
        return (scores, model.config.useText ? attention : nil)
    }
}

/// Errors of cached-feature training.
public enum CachedTrainingError: LocalizedError, Equatable {
    case invalidSetting(String)
    case diverged(epoch: Int, loss: Float)

    public var errorDescription: String? {
        switch self {
        case let .invalidSetting(m): return "cached-feature training: " + m
        case let .diverged(epoch, loss): return "cached-feature training diverged in epoch \(epoch) (loss \(loss))"
        }
    }
}
