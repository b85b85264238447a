import ArgumentParser
import Foundation
import IQAData

extension DatasetKind: ExpressibleByArgument {}
extension SplitProtocol: ExpressibleByArgument {}

/// `ipiqa splits`: train/test (and validation) splits of a dataset as JSON, with the official IP-IQA
/// protocol (bit-identical to the official code) or a seeded grouped protocol.
struct SplitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "splits",
        abstract: "Print train/test splits of a dataset as JSON ({\"splits\": [{\"train\": [...], \"test\": [...]}, ...]}).",
        discussion: """
        official: the splits of the official IP-IQA code (AGIQA-1k: Python random, first row of each object code \
        draws train with p = 0.8; AGIQA-3k: numpy permutation of the 300 prompts, 240 in train).
        grouped: train/validation/test by group (AGIQA-1k object code, AGIQA-3k prompt id, CSV prompt), seeded.
        """)

    @Option(help: "Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dataset: DatasetKind

    @Option(help: "Label file (default: the bundled one for agiqa-1k / agiqa-3k).")
    var labels: String?

    @Option(help: "Number of splits.")
    var count: Int = AGIQAConstants.officialSplitCount

    @Option(help: "Random seed.")
    var seed: Int = AGIQAConstants.officialSeed

    @Option(name: .customLong("protocol"), help: "Split protocol: official or grouped.")
    var splitProtocol: SplitProtocol = .official

    @Option(help: "Grouped protocol: fraction of groups in validation (train gets the rest).")
    var validationFraction: Double = GroupedSplitConfiguration().validationFraction

    @Option(help: "Grouped protocol: fraction of groups in test.")
    var testFraction: Double = GroupedSplitConfiguration().testFraction

    @Option(help: "CSV datasets: image column.")
    var imageColumn: String = CSVColumns().image

    @Option(help: "CSV datasets: prompt column.")
    var promptColumn: String = CSVColumns().prompt

    @Option(help: "CSV datasets: comma-separated score columns.")
    var scoreColumns: String = CSVColumns().scores.joined(separator: ",")

    @Option(help: "Write the JSON to this file (atomically) instead of stdout.")
    var output: String?

    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        if splitProtocol == .official, dataset == .csv {
            throw ValidationError("there is no official protocol for CSV datasets; use --protocol grouped")
        }
    }

    func run() throws {
        do {
            let columns = CSVColumns(image: imageColumn, prompt: promptColumn,
                                     scores: scoreColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            let ds = try DatasetLoader.load(dataset, labels: labels.map { URL(fileURLWithPath: $0) },
                                            csvColumns: dataset == .csv ? columns : nil)
            for w in ds.warnings { FileHandle.standardError.write(Data((w.description + "\n").utf8)) }
            let config = GroupedSplitConfiguration(trainFraction: 1 - validationFraction - testFraction,
                                            validationFraction: validationFraction, testFraction: testFraction)
            let set = SplitSet(splits: try SplitMaker.make(splitProtocol, dataset: ds, kind: dataset, count: count,
                                                           seed: seed, grouped: config))
            if let output {
                try set.write(to: URL(fileURLWithPath: output), pretty: pretty)
            } else {
                var data = try set.jsonData(pretty: pretty)
                data.append(UInt8(ascii: "\n"))
                FileHandle.standardOutput.write(data)
            }
        } catch let e as DataError {
            FileHandle.standardError.write(Data(("error: " + (e.errorDescription ?? "\(e)") + "\n").utf8))
            throw ExitCode.failure
        }
    }
}
