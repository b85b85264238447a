import ArgumentParser
import Benchmarks
import CLIP
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
    @Option(help: "Inference GEMM precision of the image forward cases: fp32, bf16, bf16x3, or auto (each case calibrates its model and reports the plan it chose).")
    var precision = "fp32"
    @Option(help: "Tokens per prompt (with start/end of text) for the cut text case and the training steps.")
    var promptLength = ModelBenchmarkConfiguration().promptLength
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard PrecisionRequest(argument: precision) != nil else {
            throw ValidationError("--precision must be one of \(PrecisionRequest.allArguments.joined(separator: ", ")) (got \(precision))")
        }
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
            var config = ModelBenchmarkConfiguration(repeats: repeats, warmup: warmup, precision: Precision(rawValue: precision) ?? .fp32,
                                                     promptLength: promptLength)
            config.auto = precision == "auto"
            let text = !output.json
            if text { print(ModelBenchmark.tableHeader(config)) }
            let report = try ModelBenchmark.runSuite(try selectedCases(), config: config) { kase, result in
                if text { print(ModelBenchmark.tableRow(kase, result)) }
                if text, let line = ModelBenchmark.decisionLine(kase, result) { print(line) }
            }
            if text, let check = report.precisionCheck { print(ModelBenchmark.precisionCheckLine(check)) }
            if !text { try CLI.printJSON(report) }
        }
    }
}
