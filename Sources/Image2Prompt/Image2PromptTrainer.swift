import CLIP
import DataParallel
import Foundation
import Imaging
import IQAData
import NN
import Tensor

/// Turns prompts into zero-padded CLIP token rows (e.g. `CLIPTokenizer().tokenize(texts, contextLength: 77, truncate: true)`).
public typealias PromptTokenizer = ([String]) throws -> [[Int32]]

/// Progress of one training step.
public struct Image2PromptProgress: Sendable {
    public let epoch: Int, epochs: Int
    /// 1-based step within the epoch.
    public let step: Int, stepsPerEpoch: Int
    public let loss: Float
    /// Mean loss of the epoch so far.
    public let epochMeanLoss: Double
    public let imagesPerSecond: Double
}

/// Summary of a training run.
public struct Image2PromptReport: Codable, Sendable {
    public let pairs: Int
    public let steps: Int
    /// Mean training loss of each epoch.
    public let epochLosses: [Double]
    public let firstLoss: Float?
    public let lastLoss: Float?
    public let seconds: Double
}

/// Image2Prompt pre-training of a CLIP image tower (IP-IQA's `image2prompt` task):
///
///     t_i = text_projection · ln_final(Transformer(prompt_i))[eot]     (frozen, computed once per prompt)
///     L   = (1/B) Σ_i (1 − cos(visual(image_i), t_i))                   → AdamW on every `visual.*` parameter
///
/// Before training, ``filter(_:threshold:progress:)`` scores every pair with the starting model and drops those
/// below the threshold (at corpus scale: ``SimilarityFilterRun``, streamed, sharded, on disk). The text tower never
/// changes, so text embeddings are cached in memory by prompt, up to ``textCacheLimit`` prompts.
///
/// Data-parallel (`mpirun -np N ipiqa pretrain …`): set ``communicator``; each rank then loads and runs its
/// contiguous share of every batch with loss weight `n_r / n`, gradients are summed over ranks in buckets and
/// BatchNorm running statistics follow ``BatchNormStepStatistics``, so every rank takes the same AdamW step; only
/// rank 0 writes the model (``save(to:)``).
///
/// ```swift
/// let trainer = try Image2PromptTrainer(clip: CLIPModel.load(url), config: config) {
///     try tokenizer.tokenize($0, contextLength: 77, truncate: true)
/// }
/// let filtered = try trainer.filter(corpus.pairs, threshold: config.threshold)
/// let report = try trainer.train(filtered.keptPairs) { print($0.loss) }
/// try trainer.save(to: URL(fileURLWithPath: "rn50_i2p.safetensors"))
/// ```
public final class Image2PromptTrainer {
    public let clip: CLIPModel
    public let config: Image2PromptConfiguration
    public let optimizer: AdamW
    private let tokenize: PromptTokenizer
    private var textCache: [String: [Float]] = [:]
    private var rng: SeededGenerator
    /// The job's ranks (default: the process's ``World`` if one was made, e.g. by `ipiqa pretrain` under `mpirun`, else
    /// one process). Rank 0 alone writes.
    public var communicator: any Communicator {
        didSet { reducer = communicator.size > 1 ? GradientReducer(parameters: optimizer.allParameters, communicator: communicator) : nil }
    }
    private var reducer: GradientReducer?
    /// Prompts embedded per text-encoder pass.
    public static let textBatch = 64

    public init(clip: CLIPModel, config: Image2PromptConfiguration = Image2PromptConfiguration(), tokenize: @escaping PromptTokenizer) throws {
        try config.validate()
        self.clip = clip
        self.config = config
        self.tokenize = tokenize
        rng = SeededGenerator(seed: config.seed)
        clip.freeze()
        clip.unfreeze(prefix: "visual")
        let visual = clip.namedParameters().filter { $0.0.hasPrefix("visual.") }
        optimizer = AdamW([ParamGroup(visual, learningRate: config.learningRate, weightDecay: config.weightDecay)],
                          weightDecay: config.weightDecay)
        communicator = World.existing ?? SingleProcessCommunicator()
        reducer = communicator.size > 1 ? GradientReducer(parameters: optimizer.allParameters, communicator: communicator) : nil
    }

    /// Training input side (the configured one, else the checkpoint's native resolution).
    public var resolution: Int { config.resolution ?? clip.config.imageResolution }

    /// Number of prompts whose text embedding is cached.
    public var cachedPrompts: Int { textCache.count }

    /// Prompts whose text embeddings are kept between calls (4 KiB each for RN50's 1,024 dimensions: 32 MiB); past
    /// it the cache starts over, so memory stays bounded on corpora of millions of prompts.
    public static let textCacheLimit = 8_192

    /// Frozen text embeddings `[n, embedDim]` of `prompts` (each distinct prompt is encoded once while it stays in the
    /// bounded cache, ``textCacheLimit``).
    public func textEmbeddings(_ prompts: [String]) throws -> Tensor {
        var missing: [String] = []
        var seen = Set<String>()
        for p in prompts where textCache[p] == nil && seen.insert(p).inserted { missing.append(p) }
        clip.transformer.eval(); clip.lnFinal.eval()
        var fresh: [String: [Float]] = [:]
        var start = 0
        while start < missing.count {
            let chunk = Array(missing[start..<min(start + Self.textBatch, missing.count)])
            let tokens = try tokenize(chunk)
            guard tokens.count == chunk.count else {
                throw Image2PromptError.tokenization("\(chunk.count) prompts gave \(tokens.count) token rows")
            }
            let features = try withoutGradients { try clip.encodeText(tokens) }.value
            let e = features.shape[1]
            for (i, p) in chunk.enumerated() { fresh[p] = Array(UnsafeBufferPointer(start: features.pointer + i * e, count: e)) }
            start += chunk.count
        }
        let e = clip.config.embedDim
        let out = Tensor(uninitialized: [prompts.count, e])
        for (i, p) in prompts.enumerated() {
            (textCache[p] ?? fresh[p]!).withUnsafeBufferPointer { (out.pointer + i * e).update(from: $0.baseAddress!, count: e) }
        }
        if textCache.count + fresh.count > Self.textCacheLimit { textCache.removeAll(keepingCapacity: true) }
        if fresh.count <= Self.textCacheLimit { textCache.merge(fresh) { a, _ in a } }
        return out
    }

    /// Cosine similarity of each pair under the current model: native resolution, CLIP preprocessing, eval mode.
    /// `progress(done, total)` after each batch.
    public func similarities(_ pairs: [PretrainPair], progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        let size = clip.config.imageResolution
        clip.visual.eval()
        var out: [Float] = []
        out.reserveCapacity(pairs.count)
        for batch in Self.batches(pairs.count, size: config.batchSize) {
            let chunk = Array(pairs[batch])
            let text = try textEmbeddings(chunk.map(\.prompt))
            let images = try ImageBatch.load(chunk.map(\.image), size: size, mode: .clip)
            let image = withoutGradients { clip.encodeImage(Var(images)) }.value
            out += Self.rowCosines(image, text)
            progress?(out.count, pairs.count)
        }
        return out
    }

    /// Scores `pairs` with the current (starting) model and keeps those with similarity ≥ `threshold`.
    public func filter(_ pairs: [PretrainPair], threshold: Float, progress: ((Int, Int) -> Void)? = nil) throws -> Image2PromptFilterResult {
        let sims = try similarities(pairs, progress: progress)
        return Image2PromptFilterResult(threshold: threshold, scored: zip(pairs, sims).map { .init(pair: $0, similarity: $1) })
    }

    /// One AdamW step on preprocessed images `[B, R, R, 3]` and their prompts; returns the batch loss before the step.
    @discardableResult
    public func trainStep(images: Tensor, prompts: [String]) throws -> Float {
        guard images.rank == 4, images.shape[0] == prompts.count, images.shape[3] == 3 else {
            throw Image2PromptError.invalidSetting("a batch needs images [B, R, R, 3] and B prompts, got \(images.shape) and \(prompts.count)")
        }
        let target = Var(try textEmbeddings(prompts))
        clip.visual.setTraining(config.batchNormTraining)
        let loss = cosineLoss(clip.encodeImage(Var(images)), target)
        let value = loss.value.item
        loss.backward()
        optimizer.step()
        optimizer.zeroGrad()
        return value
    }

    /// The loss on preprocessed images and prompts without training (batch norm in eval mode).
    public func loss(images: Tensor, prompts: [String]) throws -> Float {
        let target = Var(try textEmbeddings(prompts))
        clip.visual.eval()
        return withoutGradients { cosineLoss(clip.encodeImage(Var(images)), target) }.value.item
    }

    /// `config.epochs` passes over `pairs`, shuffled each epoch (seeded), in batches of `config.batchSize`
    /// (the last one may be smaller). `progress` runs after every step; an error it throws stops training at that step
    /// boundary (`ipiqa pretrain` stops so on SIGINT / SIGTERM).
    public func train(_ pairs: [PretrainPair], progress: ((Image2PromptProgress) throws -> Void)? = nil) throws -> Image2PromptReport {
        try train(count: pairs.count, pairs: { $0.map { pairs[$0] } }, progress: progress)
    }

    /// Training on the kept list of a streamed similarity filter: only each batch's pairs are read from disk.
    public func train(_ kept: KeptPairs, progress: ((Image2PromptProgress) throws -> Void)? = nil) throws -> Image2PromptReport {
        try train(count: kept.count, pairs: kept.pairs(at:), progress: progress)
    }

    /// The training loop over `count` pairs fetched per batch by index (`pairs(indices)`): per step, only that
    /// batch's images are decoded and its prompts' embeddings computed or taken from the bounded cache.
    func train(count: Int, pairs: ([Int]) throws -> [PretrainPair], progress: ((Image2PromptProgress) throws -> Void)?) throws -> Image2PromptReport {
        let start = Date()
        var epochLosses: [Double] = [], first: Float?, last: Float?, steps = 0
        let batches = Self.batches(count, size: config.batchSize)
        for epoch in 0..<config.epochs {
            let order = shuffledIndices(count)
            var sum = 0.0, seen = 0
            for (k, range) in batches.enumerated() {
                let batchStart = Date()
                let chunk = Array(order[range])
                let mine = try pairs(Array(chunk[BatchShares.range(count: chunk.count, rank: communicator.rank, size: communicator.size)]))
                let images = mine.isEmpty ? nil : try ImageBatch.load(mine.map(\.image), size: resolution, mode: config.preprocess)
                let loss = try shareStep(images: images, prompts: mine.map(\.prompt), globalCount: chunk.count)
                first = first ?? loss; last = loss; steps += 1
                sum += Double(loss) * Double(chunk.count); seen += chunk.count
                try progress?(Image2PromptProgress(epoch: epoch + 1, epochs: config.epochs, step: k + 1, stepsPerEpoch: batches.count,
                                               loss: loss, epochMeanLoss: sum / Double(seen),
                                               imagesPerSecond: Double(chunk.count) / max(Date().timeIntervalSince(batchStart), 1e-9)))
            }
            epochLosses.append(seen > 0 ? sum / Double(seen) : 0)
        }
        clip.visual.eval()
        return Image2PromptReport(pairs: count, steps: steps, epochLosses: epochLosses, firstLoss: first, lastLoss: last,
                                  seconds: Date().timeIntervalSince(start))
    }

    /// One step on this rank's share (`images` nil when it is empty) of a global batch of `globalCount` pairs, in
    /// micro-batches of at most `config.microBatch` images: `L = Σ_j (n_j/n)·L_j` over the micro-batches of every
    /// rank, gradients accumulated and summed over ranks; returns the global batch loss. BatchNorm running statistics:
    /// with more than one micro-batch or rank, one update per step (``BatchNormStepStatistics``). With one rank and
    /// the whole batch in one pass it is ``trainStep(images:prompts:)``.
    func shareStep(images: Tensor?, prompts: [String], globalCount: Int) throws -> Float {
        clip.visual.setTraining(config.batchNormTraining)
        let n = images == nil ? 0 : prompts.count
        let parts = BatchShares.microBatches(of: 0..<n, size: min(config.microBatch ?? n, n))
        let statistics = communicator.size > 1 || parts.count > 1 ? BatchNormStepStatistics(clip.visual) : nil
        var sums = [0.0]
        reducer?.beginStep()
        for (k, range) in parts.enumerated() {
            guard let images else { break }
            let target = Var(try textEmbeddings(Array(prompts[range])))
            let weight = Float(range.count) / Float(globalCount)
            statistics?.beforeMicroBatch()
            let input = parts.count == 1 ? images : images.slice(rows: range)
            let loss = cosineLoss(clip.encodeImage(Var(input)), target)
            sums[0] += Double(weight) * Double(loss.value.item)
            // The last micro-batch finishes the gradients: their buckets are summed while its backward pass runs.
            let ready = k == parts.count - 1 ? reducer.map { r in { (p: Var) in r.gradientReady(p) } } : nil
            (weight == 1 ? loss : scale(loss, weight)).backward(onGradientReady: ready)
            statistics?.afterMicroBatch(weight: Double(weight))
        }
        // Before any other collective: every rank starts the buckets in the same order (also with an empty share).
        try reducer?.finish()
        if let statistics { try statistics.finishStep(communicator: communicator, extras: &sums) } else { try communicator.allreduceSum(&sums) }
        optimizer.step()
        optimizer.zeroGrad()
        return Float(sums[0])
    }

    /// Writes the whole CLIP model (safetensors, PyTorch layout, atomic): what `ipiqa train --clip` reads. In a
    /// data-parallel job only rank 0 writes (every rank holds the same weights).
    public func save(to url: URL) throws {
        guard communicator.isRoot else { return }
        try clip.save(to: url)
    }

    /// Fisher–Yates with the trainer's seeded generator (stable across platforms and Swift versions).
    private func shuffledIndices(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) } }
        return a
    }

    static func batches(_ n: Int, size: Int) -> [Range<Int>] {
        stride(from: 0, to: n, by: size).map { $0..<min($0 + size, n) }
    }

    /// Row-wise cosine similarity of two `[n, e]` tensors (PyTorch's eps = 1e-8 on each norm).
    static func rowCosines(_ a: Tensor, _ b: Tensor) -> [Float] {
        let n = a.shape[0], e = a.shape[1]
        return (0..<n).map { i in
            let x = a.pointer + i * e, y = b.pointer + i * e
            var xy = 0.0, xx = 0.0, yy = 0.0
            for j in 0..<e {
                let u = Double(x[j]), v = Double(y[j])
                xy += u * v; xx += u * u; yy += v * v
            }
            return Float(xy / (max(xx.squareRoot(), 1e-8) * max(yy.squareRoot(), 1e-8)))
        }
    }
}
