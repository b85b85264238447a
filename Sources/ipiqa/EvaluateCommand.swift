import ArgumentParser
import CLIPTokenizer
import Foundation
import IQAData
import IQAMetrics
import IQAModel
import IQATraining
import Tensor

/// `ipiqa evaluate`: metrics of a trained model (IPIQACheckpoint file) on a dataset or one part of a split.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "SRCC/PLCC/KRCC/RMSE per output of a trained IP-IQA model, as JSON.",
        discussion: "Without --split every labelled image is scored; with --split FILE (from `ipiqa splits` or a run's "
            + "splits.json) the --part of split --split-index is.")

    @Option(help: "Trained model (model_best.safetensors / model_final.safetensors of a run).") var model: String
    @Option(help: "Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).") var dataset: DatasetKind
    @Option(help: "Image folder.") var root: String
    @Option(help: "Label file (default: the bundled one for agiqa-1k / agiqa-3k).") var labels: String?
    @Option(help: "Split file (SplitSet JSON).") var split: String?
    @Option(help: "Which split of the file.") var splitIndex: Int = 0
    @Option(help: "Part of the split: test, validation, train.") var part: String = "test"
    @Option(help: "Batch size.") var batchSize: Int = TrainingDefaults.evalBatchSize
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Also write per-image predictions to this CSV file.") var predictions: String?
    @Option(help: "CSV datasets: image column.") var imageColumn: String = CSVColumns().image
    @Option(help: "CSV datasets: prompt column.") var promptColumn: String = CSVColumns().prompt
    @Option(help: "CSV datasets: comma-separated score columns.") var scoreColumns: String = CSVColumns().scores.joined(separator: ",")

    struct Output: Encodable {
        let model: String, dataset: String, part: String, images: Int
        let metrics: KeyedMetrics
    }

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard ["test", "validation", "train"].contains(part) else { throw ValidationError("--part must be test, validation or train") }
    }

    func run() throws {
        try CLI.run {
            if let threads { Threading.setThreads(threads) }
            let columns = CSVColumns(image: imageColumn, prompt: promptColumn,
                                     scores: scoreColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            let rootURL = URL(fileURLWithPath: root)
            let ds = try DatasetLoader.load(dataset, labels: labels.map { URL(fileURLWithPath: $0) }, root: rootURL,
                                            csvColumns: dataset == .csv ? columns : nil)
            let (trained, _) = try IPIQACheckpoint.load(URL(fileURLWithPath: model))
            guard trained.config.outputs == ds.scoreNames.count else {
                throw EvaluateFailure("the model predicts \(trained.config.outputs) score(s) (\(trained.config.outputNames.joined(separator: ", "))), the dataset has \(ds.scoreNames.count)")
            }
            var names = ds.imageNames
            var partName = "all"
            if let split {
                let set = try SplitSet.read(from: URL(fileURLWithPath: split))
                try set.validate(against: ds)
                guard set.splits.indices.contains(splitIndex) else {
                    throw EvaluateFailure("\(split) has \(set.splits.count) split(s); --split-index \(splitIndex) is out of range")
                }
                let s = set.splits[splitIndex]
                switch part {
                case "train": names = s.train
                case "validation":
                    guard let v = s.validation else { throw EvaluateFailure("split \(splitIndex) of \(split) has no validation part") }
                    names = v
                default: names = s.test
                }
                partName = "split \(splitIndex) \(part)"
            }
            let samples = ds.samples(named: names)
            try checkImagesExist(Dataset(name: ds.name, scoreNames: ds.scoreNames, samples: samples, root: rootURL), root: rootURL)
            let data = try LabeledImages(samples: samples, root: rootURL, tokenizer: trained.config.useText ? CLIPTokenizer() : nil)
            let (predicted, metrics) = try Evaluation.evaluate(trained, on: data, batchSize: batchSize)
            if let predictions {
                let csv = Evaluation.predictionsCSV(names: data.names, outputNames: trained.config.outputNames,
                                                    predictions: predicted, targets: data.scores)
                try AtomicWrite.data(Data(csv.utf8), to: URL(fileURLWithPath: predictions))
            }
            try CLI.printJSON(Output(model: model, dataset: ds.name, part: partName, images: data.count, metrics: metrics.keyed), pretty: true)
        }
    }
}

/// A problem found while evaluating (reported as "error: …", exit status 1).
struct EvaluateFailure: LocalizedError {
    let message: String
    init(_ message: String) { self.message = message }
    var errorDescription: String? { message }
}
