import ArgumentParser
import Foundation
import IQATraining

/// `ipiqa evaluate`: metrics of a trained model (IPIQACheckpoint file) on a dataset or one part of a split
/// (``DatasetEvaluation``).
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "SRCC/PLCC/KRCC/RMSE per output of a trained IP-IQA model, as JSON.",
        discussion: "Without --split every labelled image is scored; with --split FILE (from `ipiqa splits` or a run's "
            + "splits.json) the --part of split --split-index is.")

    @OptionGroup var model: ModelFileOptions
    @OptionGroup var data: DatasetOptions
    @Option(help: "Image folder.") var root: String
    @Option(help: "Split file (SplitSet JSON).") var split: String?
    @Option(help: "Which split of the file.") var splitIndex: Int = 0
    @Option(help: "Part of the split: test, validation, train.") var part: String = SplitPart.test.rawValue
    @Option(help: "Batch size.") var batchSize: Int = TrainingDefaults.evalBatchSize
    @OptionGroup var threads: ThreadOptions
    @Option(help: "Also write per-image predictions to this CSV file.") var predictions: String?
    @OptionGroup var columns: CSVColumnOptions

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard SplitPart(rawValue: part) != nil else { throw ValidationError("--part must be test, validation or train") }
    }

    func run() throws {
        try CLI.run {
            threads.apply()
            let job = DatasetEvaluation(
                model: model.url, dataset: data.dataset, root: URL(fileURLWithPath: root), labels: data.labelsURL,
                csvColumns: try columns.columns(for: data.dataset), split: split.map { URL(fileURLWithPath: $0) },
                splitIndex: splitIndex, part: SplitPart(rawValue: part) ?? .test, batchSize: batchSize,
                predictions: predictions.map { URL(fileURLWithPath: $0) }, officialCLIP: model.clipURL)
            try CLI.printJSON(try job.run(), pretty: true)
        }
    }
}
