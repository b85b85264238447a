import ArgumentParser
import Foundation
import IQAData
import IQAMetrics

/// `ipiqa correlate FILE.csv --prediction COL --target COL`: SRCC, PLCC, KRCC and RMSE of any predictions
/// (``MetricSet``).
struct CorrelateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "correlate",
        abstract: "Correlation of a prediction column with a target column of a CSV file, as JSON {n, srcc, plcc, krcc, rmse}.",
        discussion: "SRCC uses average ranks for ties, KRCC is tau-b (scipy's default); all in float64.")

    @Argument(help: "CSV file with a header row.")
    var file: String

    @Option(help: "Column with the predictions.")
    var prediction: String

    @Option(help: "Column with the target scores (e.g. MOS).")
    var target: String

    @Flag(help: "Report PLCC and RMSE after the 4-parameter logistic mapping used in IQA papers.")
    var logistic = false

    func run() throws {
        try CLI.run {
            let table = try CSVParser.parse(contentsOf: URL(fileURLWithPath: file))
            let (predicted, targets) = try table.numericColumns(prediction, target)
            try CLI.printJSON(try MetricSet.compute(prediction: predicted, target: targets, mapping: logistic ? .logistic : .none))
        }
    }
}
