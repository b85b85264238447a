import ArgumentParser
import Benchmarks
import Foundation

/// `ipiqa bench serve`: the HTTP service under load from concurrent loopback clients (``ServeBenchmark``).
struct BenchServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Load `ipiqa serve` in-process over loopback: requests/s, p50/p95/p99 latency, batch-size mix, errors, RSS.",
        discussion: """
        Without --model the model has random weights of CLIP RN50's size (IP-IQA, two outputs) at --resolution. \
        The direct batch forward throughput (the model alone on ready batches of --max-batch) is measured first, \
        for comparison. --compare-batch-1 repeats the run with --max-batch 1.
        """)

    @Option(help: "IP-IQA model file (default: random weights, RN50 size).") var model: String?
    @Option(help: "Input side of the random model.") var resolution = ServeBenchmarkConfiguration().resolution
    @Option(help: "Server: most images per forward pass.") var maxBatch = ServeBenchmarkConfiguration().maxBatch
    @Option(help: "Server: ms the first request of a batch waits for others.") var maxWaitMs = ServeBenchmarkConfiguration().maxWaitMilliseconds
    @Option(help: "Concurrent clients.") var clients = ServeBenchmarkConfiguration().clients
    @Option(help: "Requests in all.") var requests = ServeBenchmarkConfiguration().requests
    @Option(help: "Request after which the middle RSS is read.") var rssCheckpoint = ServeBenchmarkConfiguration().rssCheckpoint
    @Option(help: "Side of the square PNGs sent.") var imageSide = ServeBenchmarkConfiguration().imageSide
    @Flag(help: "Run again with --max-batch 1 for comparison.") var compareBatch1 = false
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var output: BenchOutputOptions

    var benchmarkConfiguration: ServeBenchmarkConfiguration {
        var c = ServeBenchmarkConfiguration()
        c.modelFile = model
        c.resolution = resolution
        c.maxBatch = maxBatch
        c.maxWaitMilliseconds = maxWaitMs
        c.clients = clients
        c.requests = requests
        c.rssCheckpoint = rssCheckpoint
        c.imageSide = imageSide
        return c
    }

    func validate() throws {
        do { try benchmarkConfiguration.validate() } catch { throw ValidationError(error.localizedDescription) }
    }

    func run() throws {
        try CLI.run {
            threads.apply()
            var one = benchmarkConfiguration
            one.maxBatch = 1
            let configs = compareBatch1 ? [benchmarkConfiguration, one] : [benchmarkConfiguration]
            let results = ResultBox()
            try AsyncBridge.run {
                for config in configs { results.append(try await ServeBenchmark.run(config) { CLI.note($0) }) }
            }
            if output.json { return try CLI.printJSON(results.values) }
            print(results.values.map(ServeBenchmark.table).joined(separator: "\n"), terminator: "")
        }
    }

    private final class ResultBox: @unchecked Sendable {
        private(set) var values: [ServeBenchmarkResult] = []
        func append(_ r: ServeBenchmarkResult) { values.append(r) }
    }
}
