import CLIP
import CLIPTokenizer
import DataParallel
import Foundation
import Imaging
import IQAData
import IQAModel
import NN
import Tensor

/// Trains IP-IQA over repeated splits and reports per-split and summary metrics (by default the paper's model with the official training values,
/// see ``TrainingConfiguration``). Per split: a fresh model from the CLIP checkpoint; per epoch: shuffle (seeded),
/// train in batches (trunk BatchNorm in training mode, frozen text path in eval mode), evaluate on validation
/// (grouped protocol) and test, write the resumable state atomically. A killed run continues with
/// ``Trainer/resume(directory:progress:threads:)`` and ends with the same numbers as an uninterrupted one (same
/// thread count).
///
/// Faster modes (``TrainingModes``, docs/training-modes.md): with a frozen trunk the split's images are first run
/// through it once per orientation and cached on disk (``FeatureStore``), and training and evaluation read those
/// maps (or, with frozen k/v projections, the projected keys/values); the text feature comes from
/// ``TextFeatureSource`` (exact shortcuts while the text path is frozen).
///
/// Data-parallel (`mpirun -np N ipiqa train …`, docs/scaling.md): every rank holds the model and runs its contiguous
/// share of each global batch (``TrainingStep/run(model:optimizer:share:of:microBatch:maxGradNorm:text:dropout:parallel:)``);
/// gradients are summed in buckets before the identical AdamW step on every rank; evaluation, image checks and
/// feature caching are shared among ranks and gathered; rank 0 alone takes the run lock and writes (checkpoints,
/// metrics, plots, progress). With one rank (``SingleProcessCommunicator``) it is the ordinary single-process trainer.
///
/// ```swift
/// let trainer = try Trainer(config: config, clip: clipURL, dataset: .agiqa3k, labels: nil, root: images,
///                           output: runDir)
/// let report = try trainer.run()            // also writes runDir/metrics.json
/// let again = try Trainer.resume(directory: runDir).run()
/// ```
public final class Trainer {
    public let manifest: RunManifest
    public let layout: RunLayout
    public let dataset: Dataset
    public let splits: [Split]
    public var progress: ProgressReporter
    /// Called after every optimisation step; throwing stops the run (tests simulate a kill with it).
    public var afterStep: ((StepEvent) throws -> Void)?

    public var config: TrainingConfiguration { manifest.config }
    /// The job's ranks (one for a plain process); rank 0 writes.
    public let communicator: any Communicator
    let tokenizer: CLIPTokenizer?
    /// This process's exclusive lock on the run folder: taken when the run is created or resumed, held until
    /// ``run()`` returns or throws (taken again if `run()` is called again).
    private var lock: RunLock?

    /// What ``afterStep`` sees.
    public struct StepEvent: Sendable {
        public let split: Int, epoch: Int, step: Int, stepsPerEpoch: Int
        public let loss: Double
    }

    /// A new run in `output` (created; must not already hold a run). Splits are made now from the configuration's
    /// protocol (or taken from `splits`, which must name images of the dataset) and stored.
    public convenience init(config: TrainingConfiguration, clip: URL, dataset kind: DatasetKind, labels: URL?, root: URL,
                            csvColumns: CSVColumns? = nil, splits given: [Split]? = nil, output: URL,
                            progress: ProgressReporter = ProgressReporter(), initModel: URL? = nil,
                            communicator: (any Communicator)? = nil) throws {
        try config.validate()
        let world = try communicator ?? World.communicator()
        let layout = RunLayout(output)
        let manifest = RunManifest(config: config, clip: clip.path, dataset: kind, labels: labels?.path, root: root.path, csvColumns: csvColumns,
                                   initModel: initModel?.path)
        let dataset = try manifest.loadDataset()
        // Before anything is written: the model must fit this run — the --init model's architecture, or the model's
        // configuration against the CLIP checkpoint (heads dividing its widths, …) — and one batch must fit in memory.
        let clipConfig: CLIPConfiguration
        if let initModel {
            let (trained, _) = try IPIQACheckpoint.load(initModel)
            try Self.checkInitial(trained.config, wanted: config.modelConfiguration(outputNames: dataset.scoreNames), path: initModel.path, dataset: dataset)
            clipConfig = trained.clip.config
        } else {
            clipConfig = try CLIPModel.configuration(of: clip)
            try config.modelConfiguration(outputNames: dataset.scoreNames).validate(featureChannels: clipConfig.featureChannels, source: clip.path)
        }
        try clipConfig.checkMemory(batch: max(config.effectiveMicroBatch, config.evalBatchSize), resolution: config.resolution)
        let splits = try given ?? SplitMaker.make(config.resolvedProtocol(for: kind), dataset: dataset, kind: kind, count: config.splits,
                                                  seed: Int(truncatingIfNeeded: config.seed), grouped: config.grouped)
        guard splits.count == config.splits else {
            throw TrainingError.invalidConfiguration(["\(splits.count) splits given, but the configuration asks for \(config.splits)"])
        }
        // One writer per folder: the check for an existing run and the writes below happen under the lock (rank 0's;
        // the other ranks of a data-parallel job make the same splits themselves and write nothing).
        var lock: RunLock?
        if world.isRoot {
            lock = try RunLock(directory: output)
            if FileManager.default.fileExists(atPath: layout.manifest.path) {
                guard !layout.holdsProgress else {
                    throw TrainingError.badResume(directory: output.path, reason: "it already holds a run (run.json); continue it with --resume or choose another --out")
                }
                progress.log("\(output.path): replacing a run that never completed an epoch")
            }
            try SplitSet(splits: splits).write(to: layout.splits)
            try manifest.write(to: layout.manifest)
        }
        try self.init(manifest: manifest, layout: layout, dataset: dataset, splits: splits, progress: progress, lock: lock, communicator: world)
    }

    /// Continues the run stored in `directory`. `threads` overrides the stored thread count (numbers then may
    /// differ in the last bits from an uninterrupted run).
    public static func resume(directory: URL, progress: ProgressReporter = ProgressReporter(), threads: Int? = nil,
                              communicator: (any Communicator)? = nil) throws -> Trainer {
        let world = try communicator ?? World.communicator()
        let layout = RunLayout(directory)
        _ = try RunManifest.read(from: layout.manifest)
        let lock = world.isRoot ? try RunLock(directory: directory) : nil
        // Read again under the lock: a writer that held it may have replaced the run.
        var manifest = try RunManifest.read(from: layout.manifest)
        if let threads { manifest.config.threads = threads }
        let dataset = try manifest.loadDataset()
        let splits = try SplitSet.read(from: layout.splits).splits
        guard splits.count == manifest.config.splits else {
            throw TrainingError.badResume(directory: directory.path, reason: "splits.json has \(splits.count) splits, run.json asks for \(manifest.config.splits)")
        }
        return try Trainer(manifest: manifest, layout: layout, dataset: dataset, splits: splits, progress: progress, lock: lock,
                           communicator: world)
    }

    init(manifest: RunManifest, layout: RunLayout, dataset: Dataset, splits: [Split], progress: ProgressReporter, lock: RunLock?,
         communicator: any Communicator) throws {
        self.lock = lock
        self.communicator = communicator
        try manifest.config.validate()
        try SplitSet(splits: splits).validate(against: dataset)
        self.manifest = manifest
        self.layout = layout
        self.dataset = dataset
        self.splits = splits
        // Progress and notes come from rank 0 only.
        self.progress = communicator.isRoot ? progress : ProgressReporter(style: .silent)
        tokenizer = manifest.config.useText ? try CLIPTokenizer() : nil
    }

    /// Trains every split not yet finished and returns the report (also written to `metrics.json`).
    @discardableResult
    public func run() throws -> RunReport {
        try withTrainingPrecision(config.precision.resolved()) { try runSplits() }
    }

    private func runSplits() throws -> RunReport {
        if lock == nil, communicator.isRoot { lock = try RunLock(directory: layout.directory) }
        defer { lock = nil }
        // Temporary files of a writer that was killed mid-write (kill -9); under the lock no live writer owns one.
        if communicator.isRoot {
            for name in layout.removeStaleTemporaryFiles() { progress.log("removed \(name), left by an interrupted write") }
        }
        if let t = config.threads { Threading.setThreads(t) }
        let root = URL(fileURLWithPath: manifest.root)
        for w in dataset.warnings { progress.log(w.description) }
        // Every image must exist and decode before the first step.
        try checkImagesExist(dataset, root: root)
        var used: [String] = []
        var seen = Set<String>()
        for s in splits { for n in s.allNames where seen.insert(n).inserted { used.append(n) } }
        // Each rank decodes its share; a bad file fails that rank, which ends the job.
        let mine = Array(used[BatchShares.range(count: used.count, rank: communicator.rank, size: communicator.size)])
        progress.start(label: "checking images", total: mine.count, unit: "images")
        try ImageVerifier.verify(names: mine, root: root) { done, _ in self.progress.update(done: done) }
        progress.finish()

        var results: [SplitResult] = []
        for k in splits.indices {
            if let done = try? JSONDecoder().decode(SplitResult.self, from: Data(contentsOf: layout.result(k))) {
                results.append(done)
                continue
            }
            results.append(try trainSplit(k, finished: results))
            if communicator.isRoot { try report(results, complete: k == splits.count - 1).write(to: layout.metrics) }
        }
        let final = report(results, complete: true)
        if communicator.isRoot { try final.write(to: layout.metrics) }
        return final
    }

    func report(_ results: [SplitResult], complete: Bool) -> RunReport {
        RunReport(dataset: dataset.name, splitProtocol: config.resolvedProtocol(for: manifest.dataset).rawValue,
                  outputs: dataset.scoreNames, splits: results, complete: complete)
    }

    /// The feature cache's folder (``TrainingConfiguration/featureCache`` or `<run>/feature_cache`).
    public var featureCacheDirectory: URL {
        config.featureCache.map { URL(fileURLWithPath: $0) } ?? layout.directory.appendingPathComponent(TrainingDefaults.featureCacheFolder)
    }

    /// With a frozen trunk: the split parts' cache entries (computed where missing), else nil.
    private func prepareCache(_ model: IPIQAModel, train: LabeledImages, test: LabeledImages, validation: LabeledImages?,
                              label: String) throws -> (train: CachedPart, test: CachedPart, validation: CachedPart?)? {
        guard config.isTrunkFrozen else { return nil }
        let store = try FeatureStore(root: featureCacheDirectory, model: model, content: config.freezeKV ? .projections : .features,
                                     precision: config.featurePrecision, passPrecision: config.featurePassPrecision)
        if store.pass.decision != nil { progress.log("\(label): feature passes \(store.pass.summary)") }
        func part(_ images: LabeledImages, training: Bool, name: String) throws -> CachedPart {
            var started = false
            defer { if started { progress.finish() } }
            // Each rank computes its share of the missing entries; after the barrier every entry is on disk.
            let cached = try CachedPart.prepare(store, images: images, training: training, flipProbability: config.flipProbability,
                                                share: (communicator.rank, communicator.size)) { done, total in
                if !started { self.progress.start(label: "\(label) caching \(name) \(store.content.rawValue)", total: total, unit: "images"); started = true }
                self.progress.update(done: done)
            }
            try communicator.barrier()
            return cached
        }
        let trainPart = try part(train, training: true, name: "train")
        let testPart = try part(test, training: false, name: "test")
        let validationPart = try validation.map { try part($0, training: false, name: "validation") }
        if store.computed > 0 { progress.log("\(label): cached \(store.computed) \(store.content.rawValue) entries in \(store.directory.path)") }
        return (trainPart, testPart, validationPart)
    }

    private func part(_ names: [String]) throws -> LabeledImages {
        try LabeledImages(samples: dataset.samples(named: names), root: URL(fileURLWithPath: manifest.root), tokenizer: tokenizer)
    }

    private func trainSplit(_ k: Int, finished: [SplitResult]) throws -> SplitResult {
        let split = splits[k]
        let writes = communicator.isRoot
        if writes { try FileManager.default.createDirectory(at: layout.splitDirectory(k), withIntermediateDirectories: true) }
        let train = try part(split.train), test = try part(split.test)
        let validation = try split.validation.map { try part($0) }
        let batchesPerEpoch = config.dropLast ? train.count / config.batchSize : (train.count + config.batchSize - 1) / config.batchSize
        guard batchesPerEpoch > 0 else {
            throw TrainingError.emptySplit(split: k, part: "train", reason: "\(train.count) images, fewer than one batch of \(config.batchSize) (lower --batch-size)")
        }
        guard test.count >= 2 else { throw TrainingError.emptySplit(split: k, part: "test", reason: "\(test.count) images; at least 2 are needed") }

        let model = try makeModel(split: k)
        let text = TextFeatureSource(model: model, enabled: config.textCache)
        try text.prefill(train.tokens + test.tokens + (validation?.tokens ?? []))
        let optimizer = TrainingStep.makeOptimizer(model, config: config)
        let reducer = communicator.size > 1 ? GradientReducer(parameters: optimizer.allParameters, communicator: communicator) : nil
        var state = TrainingState(split: k, epochsCompleted: 0, history: [])
        let stateURL = layout.trainingState(k)
        if FileManager.default.fileExists(atPath: stateURL.path) {
            state = try TrainingCheckpoint.load(stateURL, into: model, optimizer: optimizer, config: config, split: split)
            progress.log("split \(k): resuming after epoch \(state.epochsCompleted)")
        }
        let splitLabel = "split \(k + 1)/\(splits.count)"
        let cached = state.epochsCompleted < config.epochs
            ? try prepareCache(model, train: train, test: test, validation: validation, label: splitLabel) : nil
        while state.epochsCompleted < config.epochs {
            let epoch = state.epochsCompleted + 1
            let started = Date()
            let (loss, steps) = try trainEpoch(model, optimizer, reducer, train, cached: cached?.train, text: text, split: k, epoch: epoch,
                                               batches: batchesPerEpoch, label: "\(splitLabel) epoch \(epoch)/\(config.epochs)")
            let valMetrics = try validation.map {
                try evaluate(model, $0, cached: cached?.validation, text: text, label: "\(splitLabel) validation").metrics
            }
            let (testPredictions, testMetrics) = try evaluate(model, test, cached: cached?.test, text: text, label: "\(splitLabel) test")
            let record = EpochRecord(epoch: epoch, trainLoss: loss, steps: steps, validation: valMetrics, test: testMetrics,
                                     seconds: Date().timeIntervalSince(started))
            state.history.append(record)
            state.epochsCompleted = epoch
            progress.log("\(splitLabel) epoch \(epoch): loss \(String(format: "%.5f", loss))"
                         + (valMetrics.map { " | validation " + $0.summaryLine } ?? "") + " | test " + testMetrics.summaryLine)
            let current = SplitResult(split: k, trainCount: train.count, validationCount: validation?.count, testCount: test.count,
                                      history: state.history)
            if writes, current.headline.epoch?.epoch == epoch {
                try IPIQACheckpoint.save(model, to: layout.bestModel(k), extraMetadata: modelMetadata(k, epoch: epoch, selection: current.headline.selection))
                if config.plots { try writeScatter(k, predictions: testPredictions, targets: test.scores, epoch: epoch) }
            }
            guard writes else { continue }
            if config.plots { try writeCurves(k, history: state.history) }
            try TrainingCheckpoint.save(model: model, optimizer: optimizer, state: state, config: config, split: split, to: stateURL)
            try report(finished + [current], complete: false).write(to: layout.metrics)
        }
        let result = SplitResult(split: k, trainCount: train.count, validationCount: validation?.count, testCount: test.count,
                                 history: state.history)
        guard writes else { return result }
        try IPIQACheckpoint.save(model, to: layout.finalModel(k), extraMetadata: modelMetadata(k, epoch: config.epochs, selection: nil))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicWrite.data(try encoder.encode(result), to: layout.result(k))
        if !config.keepTrainingState { try? FileManager.default.removeItem(at: stateURL) }
        return result
    }

    /// One epoch of training; returns the mean loss over the trained images and the step count.
    private func trainEpoch(_ model: IPIQAModel, _ optimizer: any Optimizer, _ reducer: GradientReducer?, _ train: LabeledImages, cached: CachedPart?,
                            text: TextFeatureSource, split k: Int, epoch: Int, batches: Int, label: String) throws -> (Double, Int) {
        TrainingModes.setMode(model, training: true, config: config)
        var rng = TrainingSeeds.generator(seed: config.seed, split: k, epoch: epoch)
        var order = Array(0..<train.count)
        order.shuffle(using: &rng)
        let flips = (0..<train.count).map { _ in rng.nextDouble() < config.flipProbability }
        let bs = config.batchSize, resolution = model.config.resolution
        // This rank's contiguous share of global batch b, and the batch's size.
        func share(_ b: Int) -> (Range<Int>, Int) {
            let count = min((b + 1) * bs, order.count) - b * bs
            return (BatchShares.range(count: count, rank: communicator.rank, size: communicator.size), count)
        }
        func load(_ b: Int) -> StepPrefetcher {
            let mine = share(b).0
            let idx = Array(order[(b * bs + mine.lowerBound)..<(b * bs + mine.upperBound)])
            let f = idx.map { flips[$0] }
            if let cached { return StepPrefetcher { train.stepBatch(idx, input: try cached.input(idx, flips: f)) } }
            return StepPrefetcher { StepBatch(try train.batch(idx, resolution: resolution, flips: f)) }
        }
        progress.start(label: label, total: batches, unit: "batches")
        var pending = load(0)
        var lossSum = 0.0, images = 0
        for b in 0..<batches {
            let batch = try pending.wait()
            if b + 1 < batches { pending = load(b + 1) }
            let (mine, count) = share(b)
            let loss = try TrainingStep.run(model: model, optimizer: optimizer, share: batch, of: StepShare(globalCount: count, offset: mine.lowerBound),
                                            microBatch: config.effectiveMicroBatch, maxGradNorm: config.maxGradNorm, text: text,
                                            dropout: DropoutKey(seed: config.seed, split: k, epoch: epoch, step: b), parallel: reducer)
            guard loss.isFinite else { throw TrainingError.diverged(split: k, epoch: epoch, step: b + 1) }
            lossSum += loss * Double(count)
            images += count
            progress.update(done: b + 1, detail: "loss \(String(format: "%.4f", lossSum / Double(images)))")
            try afterStep?(StepEvent(split: k, epoch: epoch, step: b + 1, stepsPerEpoch: batches, loss: loss))
        }
        progress.finish(detail: "loss \(String(format: "%.4f", lossSum / Double(max(images, 1))))")
        return (lossSum / Double(max(images, 1)), batches)
    }

    private func evaluate(_ model: IPIQAModel, _ data: LabeledImages, cached: CachedPart?, text: TextFeatureSource,
                          label: String) throws -> (predictions: [[Double]], metrics: OutputMetrics) {
        // Each rank predicts its contiguous share; the predictions are gathered in item order.
        let mine = BatchShares.range(count: data.count, rank: communicator.rank, size: communicator.size)
        let batches = (mine.count + config.evalBatchSize - 1) / config.evalBatchSize
        progress.start(label: label, total: batches, unit: "batches")
        let local = try Evaluation.predict(model, on: data, items: mine, batchSize: config.evalBatchSize, text: text, cached: cached) { done, _ in
            self.progress.update(done: (done + self.config.evalBatchSize - 1) / self.config.evalBatchSize)
        }
        progress.finish()
        let k = model.config.outputs
        let flat = try communicator.allgather(local.flatMap { $0 })
        let predictions = (0..<data.count).map { i in Array(flat[(i * k)..<((i + 1) * k)]) }
        return (predictions, OutputMetrics(names: model.config.outputNames, predictions: predictions, targets: data.scores))
    }

    private func modelMetadata(_ k: Int, epoch: Int, selection: EpochSelection?) -> [String: String] {
        var m = ["dataset": dataset.name, "split": String(k), "epoch": String(epoch), "clip": manifest.clip]
        if let selection { m["selection"] = selection.rawValue }
        return m
    }
}
