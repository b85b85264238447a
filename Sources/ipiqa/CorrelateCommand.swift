import ArgumentParser
import Foundation
import IQAData
import IQAMetrics

/// `ipiqa correlate FILE.csv --prediction COL --target COL`: SRCC, PLCC, KRCC and RMSE of any predictions.
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
            let p = try table.columnIndex(prediction), t = try table.columnIndex(target)
            var preds: [Double] = [], targets: [Double] = []
            var bad: [String] = []
            for row in table.rows {
                guard let a = Double(row.fields[p].trimmingCharacters(in: .whitespaces)), a.isFinite,
                      let b = Double(row.fields[t].trimmingCharacters(in: .whitespaces)), b.isFinite else {
                    if bad.count < 20 { bad.append("\(file):\(row.line): non-numeric value in '\(prediction)' or '\(target)'") }
                    continue
                }
                preds.append(a); targets.append(b)
            }
            guard bad.isEmpty else {
                CLI.printError(bad.joined(separator: "\n"))
                throw ExitCode.failure
            }
            let m = try MetricSet.compute(prediction: preds, target: targets, mapping: logistic ? .logistic : .none)
            try CLI.printJSON(m)
        }
    }
}
