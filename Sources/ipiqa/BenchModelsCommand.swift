import ArgumentParser
import Benchmarks
import Foundation
import Tensor

/// `ipiqa bench [models]`: RN50 image forward (224/512, batch 1/8), text encoder (batch 32), IP-IQA training steps;
/// median ms, images/s, GFLOP/s and peak resident memory per case.
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
    @Option(help: "Worker threads (OpenBLAS and engine); default: all cores.") var threads: Int?
    @Flag(help: "Print the result as JSON.") var json = false
    @Flag(help: "Print the OpenBLAS kernel choice on stderr.") var verbose = false

    func run() throws {
        try CLI.run {
            guard let precision = Precision(rawValue: precision) else {
                throw ValidationError("--precision must be fp32 or bf16 (got \(self.precision))")
            }
            let selected: [ModelBenchmarkCase] = try cases.map { list in
                try list.split(separator: ",").map { name in
                    let trimmed = name.trimmingCharacters(in: .whitespaces)
                    guard let c = ModelBenchmarkCase(rawValue: trimmed) else {
                        throw ValidationError("unknown case '\(trimmed)'; known: "
                                              + ModelBenchmarkCase.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    return c
                }
            } ?? ModelBenchmarkCase.allCases
            if let threads { Threading.setThreads(threads) }
            let config = ModelBenchmarkConfiguration(repeats: repeats, warmup: warmup, precision: precision, promptLength: promptLength)
            var results: [String: ModelBenchmarkResult] = [:]
            if !json {
                print("OpenBLAS core \(BLASCoreOverride.coreName()), \(Threading.workers) threads, precision \(precision.rawValue), "
                      + "median of \(repeats)")
                print("case".padding(toLength: 24, withPad: " ", startingAt: 0) + "        ms   images/s   GFLOP/s   peak RSS MB   cpu ms")
            }
            for c in selected {
                let r = try ModelBenchmark.run(c, config: config)
                results[c.rawValue] = r
                if !json {
                    print(c.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0)
                          + String(format: "%10.1f %10.2f %9.1f %13.0f %8.0f", r.ms, r.imagesPerSecond, r.gflops, r.peakRSSMB, r.cpuMs))
                }
            }
            var check: PrecisionCheckResult?
            if precision != .fp32 {
                let c = try ModelBenchmark.precisionCheck(precision)
                check = c
                if !json {
                    print(String(format: "%@ vs fp32 (random RN50 IP-IQA, 224 px, 4 images): min embedding cosine 1 − %.2e, "
                                 + "max |Δscore| %.2e (max |score| %.3f)", precision.rawValue, 1 - c.embeddingCosine,
                                 c.maxScoreDifference, c.maxScore))
                }
            }
            if json {
                try CLI.printJSON(BenchModelsReport(cases: results, precisionCheck: check, meta: .init(
                    blasCore: BLASCoreOverride.coreName(), threads: Threading.workers, precision: precision.rawValue,
                    repeats: repeats, promptLength: promptLength)))
            }
        }
    }
}

/// JSON of `ipiqa bench --json`: one key per case plus `meta`.
struct BenchModelsReport: Encodable {
    var cases: [String: ModelBenchmarkResult]
    var precisionCheck: PrecisionCheckResult?
    var meta: Meta

    struct Meta: Encodable {
        var blasCore: String
        var threads: Int
        var precision: String
        var repeats: Int
        var promptLength: Int
        enum CodingKeys: String, CodingKey {
            case blasCore = "blas_core", threads, precision, repeats, promptLength = "prompt_length"
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        for (k, v) in cases { try c.encode(v, forKey: AnyKey(k)) }
        try c.encode(meta, forKey: AnyKey("meta"))
        if let precisionCheck { try c.encode(precisionCheck, forKey: AnyKey("precision_check")) }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
