import CLIP
import CLIPTokenizer
import Foundation
import IQAData
import IQAMetrics
import IQATraining
import Imaging

/// The paper's baselines and the cheap probe a reviewer asks for, each scored on the same splits as `ipiqa train`:
///
/// - `clipscore`: `2.5 · max(cos(E_I, E_T(prompt)), 0)` (``CLIPScorer``), the same number predicts every output;
/// - `clipscore-logistic`: a 4-parameter logistic per output of the CLIP cosine (the score before `w · max(·, 0)`),
///   fitted on the TRAINING part and applied to validation and test;
/// - `clip-iqa`: CLIP-IQA's zero-shot `softmax(100 · [cos(f, "Good photo."), cos(f, "Bad photo.")])₀` (``CLIPIQAScorer``);
/// - `ridge-image`: ridge regression on the L2-normalised CLIP image embedding;
/// - `ridge-image-text`: ridge on `[f, t, f ⊙ t]` (image, prompt, their product; each embedding L2-normalised).
///
/// Ridge chooses λ per output by grouped k-fold cross-validation on the training part (``RidgeProbe``).
public enum BaselineMethod: String, CaseIterable, Codable, Sendable {
    case clipscore
    case clipscoreLogistic = "clipscore-logistic"
    case clipIQA = "clip-iqa"
    case ridgeImage = "ridge-image"
    case ridgeImageText = "ridge-image-text"

    /// Whether the method learns anything from the training part.
    public var isTrained: Bool { self == .clipscoreLogistic || self == .ridgeImage || self == .ridgeImageText }
}

/// Everything a baseline run needs, stored as the run directory's `baseline.json` (so a rerun continues it).
///
/// ```swift
/// let job = BaselineJob(method: .ridgeImage, clip: "RN50.pt", dataset: .agiqa3k, labels: nil, root: "AGIQA-3K")
/// let report = try BaselineRunner(job: job, output: URL(fileURLWithPath: "runs/ridge")).run()
/// ```
public struct BaselineJob: Codable, Sendable, Equatable {
    public static let formatTag = "ipiqa-baseline-v1"
    public var format = BaselineJob.formatTag
    public var method: BaselineMethod
    public var clip: String
    public var dataset: DatasetKind
    public var labels: String?
    public var root: String
    public var csvColumns: CSVColumns?
    /// Split protocol, count, seed and grouped fractions: the same meaning (and defaults) as in `ipiqa train`.
    public var splitProtocol: SplitProtocol?
    public var splits: Int = TrainingDefaults.splits
    public var seed: UInt64 = TrainingDefaults.seed
    public var grouped = GroupedSplitConfiguration()
    /// Images per forward pass.
    public var batchSize = 8
    /// Input side of CLIPScore and the ridge features (nil: the checkpoint's native side, CLIP preprocessing).
    public var resolution: Int?
    public var clipIQA = CLIPIQAConfiguration()
    public var lambdas = RidgeProbe.defaultLambdas
    public var folds = RidgeProbe.defaultFolds

    public init(method: BaselineMethod, clip: String, dataset: DatasetKind, labels: String?, root: String, csvColumns: CSVColumns? = nil) {
        self.method = method
        self.clip = clip
        self.dataset = dataset
        self.labels = labels
        self.root = root
        self.csvColumns = csvColumns
    }

    public var resolvedProtocol: SplitProtocol { splitProtocol ?? dataset.defaultProtocol }

    func loadDataset() throws -> Dataset {
        try DatasetLoader.load(dataset, labels: labels.map { URL(fileURLWithPath: $0) }, root: URL(fileURLWithPath: root),
                               csvColumns: dataset == .csv ? csvColumns : nil)
    }
}

/// Runs a ``BaselineJob`` into a run directory with the layout and files of `ipiqa train` (``RunLayout``):
/// `baseline.json`, `splits.json`, `split_XX/result.json` (one "epoch": the fitted or zero-shot predictor) and
/// `metrics.json` in the same shape, so `ipiqa experiment` tables mix baselines and trained variants. CLIP features
/// are computed once per image for all splits; finished splits are kept when the directory is run again.
///
/// ```swift
/// let report = try BaselineRunner(job: job, output: dir, splits: try SplitSet.read(from: trainRun).splits).run()
/// ```
public final class BaselineRunner {
    public let job: BaselineJob
    public let layout: RunLayout
    public let dataset: Dataset
    public let splits: [Split]
    public var progress: ProgressReporter

    /// A new or continued baseline run in `output`. `splits` (e.g. a training run's `splits.json`) replaces the
    /// protocol's; a directory that already holds a baseline must hold the same job and splits.
    public init(job: BaselineJob, output: URL, splits given: [Split]? = nil, progress: ProgressReporter = ProgressReporter()) throws {
        guard job.batchSize > 0 else { throw ExperimentError.baseline("batch size must be positive, got \(job.batchSize)") }
        guard job.splits > 0 else { throw ExperimentError.baseline("splits must be positive, got \(job.splits)") }
        if let r = job.resolution, let problem = CLIPConfiguration.resolutionProblem(r) { throw ExperimentError.baseline(problem) }
        if let problem = CLIPConfiguration.resolutionProblem(job.clipIQA.resolution) { throw ExperimentError.baseline("CLIP-IQA \(problem)") }
        self.job = job
        layout = RunLayout(output)
        self.progress = progress
        dataset = try job.loadDataset()
        let jobFile = output.appendingPathComponent("baseline.json")
        if FileManager.default.fileExists(atPath: jobFile.path) {
            let stored = try Self.readJob(jobFile)
            guard stored == job else {
                throw ExperimentError.badCell(directory: output.path, reason: "it holds another baseline (baseline.json differs); choose another --out")
            }
            let storedSplits = try SplitSet.read(from: layout.splits).splits
            if let given, given != storedSplits {
                throw ExperimentError.badCell(directory: output.path, reason: "its splits.json differs from the splits given")
            }
            splits = storedSplits
        } else {
            splits = try given ?? SplitMaker.make(job.resolvedProtocol, dataset: dataset, kind: job.dataset, count: job.splits,
                                                   seed: Int(truncatingIfNeeded: job.seed), grouped: job.grouped)
            try SplitSet(splits: splits).validate(against: dataset)
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try SplitSet(splits: splits).write(to: layout.splits)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try AtomicWrite.data(try encoder.encode(job), to: jobFile)
        }
        try SplitSet(splits: splits).validate(against: dataset)
    }

    static func readJob(_ url: URL) throws -> BaselineJob {
        do {
            let job = try JSONDecoder().decode(BaselineJob.self, from: Data(contentsOf: url))
            guard job.format == BaselineJob.formatTag else { throw ExperimentError.badCell(directory: url.path, reason: "format '\(job.format)', expected '\(BaselineJob.formatTag)'") }
            return job
        } catch let e as ExperimentError { throw e } catch {
            throw ExperimentError.badCell(directory: url.path, reason: "unreadable baseline.json (\(error))")
        }
    }

    /// Scores every split not yet done; writes and returns the report.
    @discardableResult
    public func run() throws -> RunReport {
        let root = URL(fileURLWithPath: job.root)
        for w in dataset.warnings { progress.log(w.description) }
        var results: [SplitResult?] = splits.indices.map { try? JSONDecoder().decode(SplitResult.self, from: Data(contentsOf: layout.result($0))) }
        if results.contains(where: { $0 == nil }) {
            var names: [String] = [], seen = Set<String>()
            for (k, s) in splits.enumerated() where results[k] == nil { for n in s.allNames where seen.insert(n).inserted { names.append(n) } }
            let samples = dataset.samples(named: names)
            try checkImagesExist(Dataset(name: dataset.name, scoreNames: dataset.scoreNames, samples: samples, root: root), root: root)
            let started = Date()
            let features = try computeFeatures(samples, root: root)
            let perImage = Date().timeIntervalSince(started) / Double(max(samples.count, 1))
            for k in splits.indices where results[k] == nil {
                let splitStart = Date()
                var result = try score(split: k, features: features)
                result.history[0].seconds = Date().timeIntervalSince(splitStart) + perImage * Double(splits[k].allNames.count)
                result = SplitResult(split: k, trainCount: result.trainCount, validationCount: result.validationCount,
                                     testCount: result.testCount, history: result.history)
                try FileManager.default.createDirectory(at: layout.splitDirectory(k), withIntermediateDirectories: true)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                try AtomicWrite.data(try encoder.encode(result), to: layout.result(k))
                results[k] = result
                progress.log("\(job.method.rawValue) split \(k): \(result.history[0].test.summaryLine)")
            }
        }
        let report = RunReport(dataset: dataset.name, splitProtocol: job.resolvedProtocol.rawValue, outputs: dataset.scoreNames,
                               splits: results.compactMap { $0 }, complete: true)
        try report.write(to: layout.metrics)
        return report
    }

    /// Per image: the zero-shot score (CLIPScore, CLIP-IQA) or the probe's feature row (ridge).
    func computeFeatures(_ samples: [Sample], root: URL) throws -> [String: [Double]] {
        let model = try CLIPModel.load(URL(fileURLWithPath: job.clip))
        // Checked before any image is read: the batch at the resolution the method runs at must fit in memory.
        let side = job.method == .clipIQA ? job.clipIQA.resolution : job.resolution ?? model.config.imageResolution
        try model.config.checkMemory(batch: min(job.batchSize, max(samples.count, 1)), resolution: side, what: "the baseline's batch size or resolution")
        let tokenizer = try CLIPTokenizer()
        let files = samples.map { root.appendingPathComponent($0.image) }
        var rows: [[Double]] = []
        progress.start(label: "\(job.method.rawValue) features", total: samples.count, unit: "images")
        defer { progress.finish() }
        switch job.method {
        case .clipscore, .clipscoreLogistic:
            let scorer = CLIPScorer(model: model, tokenizer: tokenizer, config: CLIPScoreConfiguration(truncate: true, resolution: job.resolution))
            for start in stride(from: 0, to: samples.count, by: job.batchSize) {
                let r = start..<min(samples.count, start + job.batchSize)
                rows += try scorer.score(files: Array(files[r]), prompts: r.map { samples[$0].prompt }).map { [Double($0.score), Double($0.cosine)] }
                progress.update(done: r.upperBound)
            }
        case .clipIQA:
            var config = job.clipIQA
            config.batchSize = job.batchSize
            let scorer = try CLIPIQAScorer(model: model, tokenizer: tokenizer, config: config)
            for start in stride(from: 0, to: samples.count, by: job.batchSize) {
                let r = start..<min(samples.count, start + job.batchSize)
                rows += try scorer.score(files: Array(files[r])).map { [Double($0)] }
                progress.update(done: r.upperBound)
            }
        case .ridgeImage, .ridgeImageText:
            let embedder = CLIPEmbedder(model: model, tokenizer: tokenizer,
                                        config: CLIPEmbedConfiguration(resolution: job.resolution, truncate: true, batchSize: job.batchSize))
            for start in stride(from: 0, to: samples.count, by: job.batchSize) {
                let r = start..<min(samples.count, start + job.batchSize)
                let e = try embedder.embed(images: Array(files[r]),
                                           prompts: job.method == .ridgeImageText ? r.map { samples[$0].prompt } : [])
                for i in r.indices.map({ $0 - r.lowerBound }) {
                    let f = Self.normalised(e.imageEmbeddings[i])
                    if job.method == .ridgeImage { rows.append(f); continue }
                    let t = Self.normalised(e.textEmbeddings[i])
                    rows.append(f + t + zip(f, t).map { $0 * $1 })
                }
                progress.update(done: r.upperBound)
            }
        }
        var out: [String: [Double]] = [:]
        for (s, row) in zip(samples, rows) { out[s.image] = row }
        return out
    }

    static func normalised(_ v: [Float]) -> [Double] {
        let d = v.map(Double.init)
        let norm = d.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? d.map { $0 / norm } : d
    }

    /// Fits (where the method learns) on the training part and measures validation and test.
    func score(split k: Int, features: [String: [Double]]) throws -> SplitResult {
        let split = splits[k]
        let names = dataset.scoreNames
        let train = dataset.samples(named: split.train), test = dataset.samples(named: split.test)
        let validation = split.validation.map { dataset.samples(named: $0) }
        func x(_ s: [Sample]) -> [[Double]] { s.map { features[$0.image]! } }
        func targets(_ s: [Sample]) -> [[Double]] { s.map(\.scores) }
        let predict: ([Sample]) -> [[Double]]
        switch job.method {
        case .clipscore, .clipIQA:
            predict = { part in x(part).map { Array(repeating: $0[0], count: names.count) } }
        case .clipscoreLogistic:
            // Fitted on the cosine, of which the score is a monotone function (clipped at 0: the cosine keeps the order there too).
            let raw = x(train).map { $0[1] }
            let maps = try names.indices.map { o -> LogisticMapping in
                do { return try LogisticMapping.fit(x: raw, y: train.map { $0.scores[o] }) } catch {
                    throw ExperimentError.baseline("split \(k), output '\(names[o])': \(error.localizedDescription)")
                }
            }
            predict = { part in x(part).map { row in maps.map { $0.apply(row[1]) } } }
        case .ridgeImage, .ridgeImageText:
            let ys = names.indices.map { o in train.map { $0.scores[o] } }
            let cv = try RidgeProbe.crossValidate(x: x(train), ys: ys, groups: train.map(\.group), lambdas: job.lambdas, folds: job.folds)
            let fits = try RidgeProbe.fit(x: x(train), ys: ys, lambdas: cv.map(\.lambda))
            progress.log("split \(k): ridge λ per output \(zip(names, cv).map { "\($0)=\($1.lambda)" }.joined(separator: ", "))")
            predict = { part in
                let rows = x(part)
                let columns = fits.map { $0.predict(rows) }
                return rows.indices.map { i in columns.map { $0[i] } }
            }
        }
        let trainPredicted = predict(train)
        var sse = 0.0
        for (p, t) in zip(trainPredicted, targets(train)) { for (a, b) in zip(p, t) { sse += (a - b) * (a - b) } }
        let record = EpochRecord(
            epoch: 1, trainLoss: sse / Double(max(1, train.count * names.count)), steps: 0,
            validation: validation.map { OutputMetrics(names: names, predictions: predict($0), targets: targets($0)) },
            test: OutputMetrics(names: names, predictions: predict(test), targets: targets(test)), seconds: 0)
        return SplitResult(split: k, trainCount: train.count, validationCount: validation?.count, testCount: test.count, history: [record])
    }
}
