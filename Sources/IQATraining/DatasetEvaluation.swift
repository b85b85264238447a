import CLIPTokenizer
import Foundation
import IQAData
import IQAModel

/// The part of a split that ``DatasetEvaluation`` scores.
public enum SplitPart: String, Codable, Sendable, CaseIterable {
    case test, validation, train
}

/// Evaluation of a trained model file on a labelled dataset, as `ipiqa evaluate` runs it:
///
/// 1. load the dataset (labels and image folder) and the model (``IPIQACheckpoint``); the model must predict as many
///    scores as the dataset has;
/// 2. take every labelled image, or the ``part`` of split ``splitIndex`` of a split file (checked against the dataset);
/// 3. check that every image exists, predict in batches of ``batchSize`` (eval mode, no gradients) and compute
///    SRCC / PLCC / KRCC / RMSE per output (``Evaluation/evaluate(_:on:batchSize:text:cached:progress:)``);
/// 4. optionally write the per-image predictions as CSV (``Evaluation/predictionsCSV(names:outputNames:predictions:targets:)``,
///    written atomically).
///
/// Failures are ``TrainingError``s or the readers' errors (``DataError``, checkpoint errors), each naming its file.
///
/// ```swift
/// var job = DatasetEvaluation(model: URL(fileURLWithPath: "run/split_00/model_best.safetensors"),
///                             dataset: .agiqa3k, root: URL(fileURLWithPath: "AGIQA-3K"))
/// job.split = URL(fileURLWithPath: "run/splits.json")      // nil: every labelled image
/// let report = try job.run()
/// print(report.images, report.metrics)
/// ```
public struct DatasetEvaluation: Sendable {
    public var model: URL
    public var dataset: DatasetKind
    /// The image folder.
    public var root: URL
    /// The label file; nil: the bundled one (AGIQA-1k / AGIQA-3k).
    public var labels: URL?
    /// The columns of a CSV dataset (nil for the AGIQA ones).
    public var csvColumns: CSVColumns?
    /// A split file (``SplitSet`` JSON); nil: every labelled image.
    public var split: URL?
    public var splitIndex: Int
    public var part: SplitPart
    public var batchSize: Int
    /// Where to write the per-image predictions (CSV); nil: nowhere.
    public var predictions: URL?
    /// The CLIP checkpoint, when ``model`` is a checkpoint of the official PyTorch code (``OfficialCheckpoint``).
    public var officialCLIP: URL?

    public init(model: URL, dataset: DatasetKind, root: URL, labels: URL? = nil, csvColumns: CSVColumns? = nil,
                split: URL? = nil, splitIndex: Int = 0, part: SplitPart = .test,
                batchSize: Int = TrainingDefaults.evalBatchSize, predictions: URL? = nil, officialCLIP: URL? = nil) {
        self.model = model
        self.dataset = dataset
        self.root = root
        self.labels = labels
        self.csvColumns = csvColumns
        self.split = split
        self.splitIndex = splitIndex
        self.part = part
        self.batchSize = batchSize
        self.predictions = predictions
        self.officialCLIP = officialCLIP
    }

    /// Loads, predicts, measures; writes ``predictions`` where set.
    public func run() throws -> EvaluationReport {
        let ds = try DatasetLoader.load(dataset, labels: labels, root: root, csvColumns: csvColumns)
        let (trained, _) = try IPIQACheckpoint.load(model, officialCLIP: officialCLIP)
        guard trained.config.outputs == ds.scoreNames.count else {
            throw TrainingError.outputMismatch(model: model.relativePath, outputNames: trained.config.outputNames,
                                               datasetScores: ds.scoreNames.count)
        }
        try trained.clip.config.checkMemory(batch: min(batchSize, max(ds.samples.count, 1)), resolution: trained.config.resolution,
                                            what: "the batch size")
        let (names, partName) = try selectedImages(of: ds)
        let samples = ds.samples(named: names)
        try checkImagesExist(Dataset(name: ds.name, scoreNames: ds.scoreNames, samples: samples, root: root), root: root)
        let data = try LabeledImages(samples: samples, root: root, tokenizer: trained.config.useText ? CLIPTokenizer() : nil)
        let (predicted, metrics) = try Evaluation.evaluate(trained, on: data, batchSize: batchSize)
        if let predictions {
            let csv = Evaluation.predictionsCSV(names: data.names, outputNames: trained.config.outputNames,
                                                predictions: predicted, targets: data.scores)
            try AtomicWrite.data(Data(csv.utf8), to: predictions)
        }
        return EvaluationReport(model: model.relativePath, dataset: ds.name, part: partName, images: data.count,
                                metrics: metrics.keyed)
    }

    /// The image names to score and the part's name in the report ("all" or "split 0 test").
    private func selectedImages(of ds: Dataset) throws -> (names: [String], part: String) {
        guard let split else { return (ds.imageNames, "all") }
        let file = split.relativePath
        let set = try SplitSet.read(from: split)
        try set.validate(against: ds)
        guard set.splits.indices.contains(splitIndex) else {
            throw TrainingError.splitIndexOutOfRange(file: file, splits: set.splits.count, index: splitIndex)
        }
        let s = set.splits[splitIndex]
        let names: [String]
        switch part {
        case .train: names = s.train
        case .validation:
            guard let v = s.validation else { throw TrainingError.noValidationPart(file: file, split: splitIndex) }
            names = v
        case .test: names = s.test
        }
        return (names, "split \(splitIndex) \(part.rawValue)")
    }
}

/// What ``DatasetEvaluation/run()`` measured (`ipiqa evaluate` prints it as JSON): the model file, dataset, part
/// ("all" or "split K part"), number of images and the metrics keyed by output name.
public struct EvaluationReport: Encodable, Sendable {
    public let model: String
    public let dataset: String
    public let part: String
    public let images: Int
    public let metrics: KeyedMetrics
}
