import ArgumentParser
import Benchmarks
import Foundation
import Tensor

/// `ipiqa bench [models]`: RN50 image forward (224/512, batch 1/8), text encoder (batch 32), IP-IQA training steps;
/// median ms, images/s, GFLOP/s and peak resident memory per case (``ModelBenchmark``).
struct BenchModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Whole-model benchmark: RN50 forward, text encoder, IP-IQA training step (random RN50 weights)."
    )

    @Option(help: "Comma-separated cases (default: all): \(ModelBenchmarkCase.allCases.map(\.rawValue).joined(separator: ", ")).")
    var cases: String?
    @Option(help: "Timed runs per case (median reported).") var repeats = ModelBenchmarkConfiguration().repeats
    @Option(help: "Untimed warm-up runs per case.") var warmup = ModelBenchmarkConfiguration().warmup
    @Option(help: "Inference GEMM precision of the forward cases: fp32 or bf16.") var precision = "fp32"
    @Option(help: "Tokens per prompt (with start/end of text) for the cut text case and the training steps.")
    var promptLength = ModelBenchmarkConfiguration().promptLength
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard Precision(rawValue: precision) != nil else { throw ValidationError("--precision must be fp32 or bf16 (got \(precision))") }
        _ = try selectedCases()
    }

    /// The --cases list (all cases when not given).
    func selectedCases() throws -> [ModelBenchmarkCase] {
        guard let cases else { return ModelBenchmarkCase.allCases }
        return try cases.split(separator: ",").map { name in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let c = ModelBenchmarkCase(rawValue: trimmed) else {
                throw ValidationError("unknown case '\(trimmed)'; known: " + ModelBenchmarkCase.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return c
        }
    }

    func run() throws {
        try CLI.run {
            threads.apply()
            let config = ModelBenchmarkConfiguration(repeats: repeats, warmup: warmup, precision: Precision(rawValue: precision) ?? .fp32,
                                                     promptLength: promptLength)
            let text = !output.json
            if text { print(ModelBenchmark.tableHeader(config)) }
            let report = try ModelBenchmark.runSuite(try selectedCases(), config: config) { kase, result in
                if text { print(ModelBenchmark.tableRow(kase, result)) }
            }
            if text, let check = report.precisionCheck { print(ModelBenchmark.precisionCheckLine(check, precision: config.precision)) }
            if !text { try CLI.printJSON(report) }
        }
    }
}
