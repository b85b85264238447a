import ArgumentParser
import Foundation
import IQAData

/// `ipiqa splits`: train/test (and validation) splits of a dataset as JSON, with the official IP-IQA
/// protocol (bit-identical to the official code) or a seeded grouped protocol (``SplitMaker``).
struct SplitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "splits",
        abstract: "Print train/test splits of a dataset as JSON ({\"splits\": [{\"train\": [...], \"test\": [...]}, ...]}).",
        discussion: """
        official: the splits of the official IP-IQA code (AGIQA-1k: Python random, first row of each object code \
        draws train with p = 0.8; AGIQA-3k: numpy permutation of the 300 prompts, 240 in train).
        grouped: train/validation/test by group (AGIQA-1k object code, AGIQA-3k prompt id, CSV prompt), seeded.
        """)

    @OptionGroup var data: DatasetOptions

    @Option(help: "Number of splits.")
    var count: Int = AGIQAConstants.officialSplitCount

    @Option(help: "Random seed.")
    var seed: Int = AGIQAConstants.officialSeed

    @Option(name: .customLong("protocol"), help: "Split protocol: official or grouped (default: official for agiqa-1k/3k, grouped otherwise).")
    var splitProtocol: SplitProtocol?

    @Option(help: "Grouped protocol: fraction of groups in validation (train gets the rest).")
    var validationFraction: Double = GroupedSplitConfiguration().validationFraction

    @Option(help: "Grouped protocol: fraction of groups in test.")
    var testFraction: Double = GroupedSplitConfiguration().testFraction

    @OptionGroup var columns: CSVColumnOptions

    @Option(help: "Write the JSON to this file (atomically) instead of stdout.")
    var output: String?

    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    @Option(help: "The database's own split: its training label file (with --test-labels and --combined-labels; e.g. AIGIQA-20K info_train.csv).")
    var trainLabels: String?
    @Option(help: "The database's own split: its test label file (e.g. AIGIQA-20K info_val.csv).")
    var testLabels: String?
    @Option(help: "With --train-labels/--test-labels: write every row of both files to this CSV (train with it as --labels and the split as --splits-file).")
    var combinedLabels: String?

    func validate() throws {
        if trainLabels != nil || testLabels != nil || combinedLabels != nil {
            guard trainLabels != nil, testLabels != nil, combinedLabels != nil else {
                throw ValidationError("--train-labels, --test-labels and --combined-labels go together")
            }
        }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        try DatasetOptions.checkProtocol(splitProtocol, for: data.dataset)
    }

    func run() throws {
        try CLI.run {
            if let trainLabels, let testLabels, let combinedLabels {
                let spec = try DatasetSpec.spec(for: data.dataset, csvColumns: try columns.columns(for: data.dataset))
                let own = try LabelFileSplit.make(spec: spec, train: URL(fileURLWithPath: trainLabels), test: URL(fileURLWithPath: testLabels))
                for w in own.warnings { CLI.note(w.description) }
                try own.writeCombined(to: URL(fileURLWithPath: combinedLabels))
                let set = SplitSet(splits: [own.split])
                if let output { try set.write(to: URL(fileURLWithPath: output), pretty: pretty) } else {
                    FileHandle.standardOutput.write(try set.jsonData(pretty: pretty) + Data("\n".utf8))
                }
                CLI.note("wrote \(combinedLabels) (\(own.split.train.count) + \(own.split.test.count) images)")
                return
            }
            let ds = try DatasetLoader.load(data.dataset, labels: data.labelsURL, csvColumns: try columns.columns(for: data.dataset))
            for w in ds.warnings { CLI.note(w.description) }
            let grouped = GroupedSplitConfiguration(trainFraction: 1 - validationFraction - testFraction,
                                                    validationFraction: validationFraction, testFraction: testFraction)
            let set = SplitSet(splits: try SplitMaker.make(splitProtocol ?? data.dataset.defaultProtocol, dataset: ds, kind: data.dataset, count: count,
                                                           seed: seed, grouped: grouped))
            if let output {
                try set.write(to: URL(fileURLWithPath: output), pretty: pretty)
            } else {
                var json = try set.jsonData(pretty: pretty)
                json.append(UInt8(ascii: "\n"))
                FileHandle.standardOutput.write(json)
            }
        }
    }
}
