import CLIP
import DataParallel
import Foundation
import IQAModel
import NN
import Tensor

/// Seeds of every random draw of training, derived from `(seed, split, epoch, step)` with SplitMix64 mixing, so a
/// resumed run draws exactly what an uninterrupted one would without saving generator states.
///
/// ```swift
/// var rng = TrainingSeeds.generator(seed: 42, split: 0, epoch: 3)       // shuffle order and flips of epoch 3
/// ```
public enum TrainingSeeds {
    /// SplitMix64 finaliser chained over the values.
    public static func mix(_ values: [UInt64]) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for v in values {
            h = (h ^ v) &+ 0x9E37_79B9_7F4A_7C15
            h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
            h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 31
        }
        return h
    }

    /// Shuffling and flips of one epoch.
    public static func generator(seed: UInt64, split: Int, epoch: Int) -> SeededGenerator {
        SeededGenerator(seed: mix([seed, 1, UInt64(split), UInt64(epoch)]))
    }

    /// The new layers' initialisation seed of split `split`: `seed` itself for every split (``InitStream/restart``) or
    /// one draw per split from a stream seeded by `seed` (``InitStream/continue``).
    public static func newLayerSeed(seed: UInt64, split: Int, stream: InitStream) -> UInt64 {
        stream == .restart ? seed : mix([seed, 3, UInt64(split)])
    }

    /// Dropout masks of one step (dropout layer `layer` of the model) for the micro-batch starting at image `offset`
    /// of the global batch, so the masks do not depend on which rank runs that micro-batch.
    public static func dropoutSeed(seed: UInt64, split: Int, epoch: Int, step: Int, layer: Int, offset: Int = 0) -> UInt64 {
        let s = mix([seed, 2, UInt64(split), UInt64(epoch), UInt64(step), UInt64(layer)])
        return offset == 0 ? s : mix([s, 4, UInt64(offset)])
    }
}

/// One optimisation step and the optimizer of the recipe.
///
///     L = (1/(n·k)) Σ (f(xᵢ)ⱼ − MOSᵢⱼ)²                       (MSE on the raw MOS, mean over batch and outputs)
///     micro-batches m: L = Σ_m (n_m / n) · L_m   (gradients accumulate; BatchNorm normalises per micro-batch)
///     ranks r (data-parallel): rank r runs the micro-batches of its share of the global batch (``BatchShares``),
///        g = Σ_r g_r (bucketed allreduce, ``GradientReducer``, started during the last micro-batch's backward pass)
///        — the single-process accumulated gradient
///     optional clip: g ← g · min(1, c / ‖g‖₂);   AdamW step (identical on every rank);   gradients cleared
///
/// BatchNorm running statistics: with more than one micro-batch or rank, one update per step from the image-weighted
/// micro-batch statistics of all ranks (``BatchNormStepStatistics``); with one micro-batch in one process, the
/// layers' own PyTorch update. Dropout masks are keyed by (seed, split, epoch, step, layer, micro-batch offset).
///
/// ```swift
/// let optimizer = TrainingStep.makeOptimizer(model, config: config)
/// let loss = try TrainingStep.run(model: model, optimizer: optimizer, batch: batch, microBatch: 8, maxGradNorm: nil)
/// ```
public enum TrainingStep {
    /// AdamW over the trainable parameters: base group at `learningRate`, the head (names under `head.`) at
    /// `learningRate × headLearningRateScale`; weight decay `weightDecay` for both (official: 0).
    public static func makeOptimizer(_ model: IPIQAModel, config: TrainingConfiguration) -> AdamW {
        let (base, head) = model.parameterGroups()
        return AdamW([ParamGroup(base, learningRate: config.learningRate, weightDecay: config.weightDecay),
                      ParamGroup(head, learningRate: config.learningRate * config.headLearningRateScale, weightDecay: config.weightDecay)],
                     beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay)
    }

    /// Reseeds every dropout layer of `model` (in module order) for one step.
    public static func seedDropout(_ model: IPIQAModel, seed: UInt64, split: Int, epoch: Int, step: Int) {
        let layers = model.namedModules().compactMap { $0.1 as? Dropout }
        for (i, d) in layers.enumerated() {
            d.rng = SeededGenerator(seed: TrainingSeeds.dropoutSeed(seed: seed, split: split, epoch: epoch, step: step, layer: i))
        }
    }

    /// Forward, backward (in micro-batches of at most `microBatch` images), optional gradient clipping, optimizer
    /// step. The model must be in training mode. Returns the batch loss (mean over images and outputs).
    /// `text` (nil: the full text pass) supplies the text features, e.g. through the exact [QA] prefix cache.
    public static func run(model: IPIQAModel, optimizer: any Optimizer, batch: TrainingBatch, microBatch: Int,
                           maxGradNorm: Double?, text: TextFeatureSource? = nil) throws -> Double {
        try run(model: model, optimizer: optimizer, batch: StepBatch(batch), microBatch: microBatch, maxGradNorm: maxGradNorm, text: text)
    }

    /// ``run(model:optimizer:batch:microBatch:maxGradNorm:text:)`` for a batch in any input form (images, cached
    /// layer4 maps, cached projections; see ``ModelInput``).
    public static func run(model: IPIQAModel, optimizer: any Optimizer, batch: StepBatch, microBatch: Int,
                           maxGradNorm: Double?, text: TextFeatureSource? = nil) throws -> Double {
        try run(model: model, optimizer: optimizer, share: batch, of: StepShare(globalCount: batch.count, offset: 0),
                microBatch: microBatch, maxGradNorm: maxGradNorm, text: text)
    }

    /// One data-parallel step: this rank's `share` of a global batch (`place`: its size and where the share starts),
    /// summed over `parallel`'s ranks (nil: one process). Every rank must call it, also with an empty share.
    /// `dropout` (nil: the dropout layers' generators as they are) reseeds dropout per micro-batch.
    public static func run(model: IPIQAModel, optimizer: any Optimizer, share batch: StepBatch, of place: StepShare,
                           microBatch: Int, maxGradNorm: Double?, text: TextFeatureSource? = nil,
                           dropout: DropoutKey? = nil, parallel: GradientReducer? = nil) throws -> Double {
        let n = batch.count, global = place.globalCount
        guard global > 0 else { return 0 }
        guard batch.input.count == n, batch.targets.shape == [n, model.config.outputs] else {
            throw TrainingError.badBatch("\(batch.input.count) inputs, \(n) names and targets \(batch.targets.shape) do not match \(model.config.outputs) outputs")
        }
        let parts = BatchShares.microBatches(of: 0..<n, size: min(microBatch, n))
        let communicator = parallel?.communicator ?? SingleProcessCommunicator()
        // One micro-batch in one process: the layers' own (PyTorch) running-statistics update.
        let statistics = communicator.size > 1 || parts.count > 1 ? BatchNormStepStatistics(model) : nil
        var total = 0.0
        parallel?.beginStep()
        for (k, range) in parts.enumerated() {
            let part = batch.slice(range)
            let weight = Float(part.count) / Float(global)
            if let dropout { seedDropout(model, key: dropout, offset: place.offset + range.lowerBound) }
            statistics?.beforeMicroBatch()
            let features = try textFeatures(model, part.tokens, source: text)
            let scores = try model.scores(part.input, text: features).scores
            let loss = mseLoss(scores, Var(part.targets))
            total += Double(weight) * Double(loss.value.item)
            // The last micro-batch finishes the gradients: their buckets are summed while its backward pass runs.
            let ready = k == parts.count - 1 ? parallel.map { reducer in { (p: Var) in reducer.gradientReady(p) } } : nil
            (weight == 1 ? loss : scale(loss, weight)).backward(onGradientReady: ready)
            statistics?.afterMicroBatch(weight: Double(weight))
        }
        // Before any other collective: every rank starts the buckets in the same order (also with an empty share).
        try parallel?.finish()
        var sums = [total]
        if let statistics { try statistics.finishStep(communicator: communicator, extras: &sums) } else { try communicator.allreduceSum(&sums) }
        if let maxGradNorm { optimizer.clipGradNorm(maxNorm: maxGradNorm) }
        optimizer.step()
        optimizer.zeroGrad()
        model.zeroGrad()
        return sums[0]
    }

    /// Reseeds every dropout layer of `model` (in module order) for the micro-batch at `offset` of step `key`.
    public static func seedDropout(_ model: IPIQAModel, key: DropoutKey, offset: Int) {
        let layers = model.namedModules().compactMap { $0.1 as? Dropout }
        for (i, d) in layers.enumerated() {
            d.rng = SeededGenerator(seed: TrainingSeeds.dropoutSeed(seed: key.seed, split: key.split, epoch: key.epoch, step: key.step,
                                                                    layer: i, offset: offset))
        }
    }

    /// Text features of token rows through `source`, or the model's full text pass (nil for the image-only model).
    static func textFeatures(_ model: IPIQAModel, _ tokens: [[Int32]], source: TextFeatureSource?) throws -> Var? {
        guard model.config.useText else { return nil }
        if let source { return try source.features(tokens) }
        return try model.textFeature(tokens)
    }
}

/// Where a rank's share sits in the global batch of a step: the global batch size and the share's first image.
public struct StepShare: Sendable, Equatable {
    public let globalCount: Int
    public let offset: Int
    public init(globalCount: Int, offset: Int) {
        self.globalCount = globalCount
        self.offset = offset
    }
}

/// What keys a step's dropout masks (with the layer and the micro-batch's offset): ``TrainingSeeds/dropoutSeed(seed:split:epoch:step:layer:offset:)``.
public struct DropoutKey: Sendable, Equatable {
    public let seed: UInt64, split: Int, epoch: Int, step: Int
    public init(seed: UInt64, split: Int, epoch: Int, step: Int) {
        self.seed = seed
        self.split = split
        self.epoch = epoch
        self.step = step
    }
}
