import ArgumentParser
import Benchmarks
import Foundation

/// `ipiqa bench corpus`: peak memory of the streamed Image2Prompt corpus path on a synthetic DiffusionDB-layout
/// corpus (``CorpusStreamBenchmark``).
struct BenchCorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Stream a synthetic DiffusionDB-layout corpus through the sharded similarity filter and kept list; report peak RSS.",
        discussion: """
        The corpus (part folders of 1,000 hard links to one 1×1 PNG, JSON beside each) is written once into \
        --folder/corpus-<rows> and reused. A hash of the prompt stands in for the CLIP similarity, so the figure is \
        the streaming bookkeeping's memory; run two sizes (e.g. 200000 and 2000000) in separate processes and compare. \
        --load-whole also measures reading the corpus into one array, for comparison.
        """)

    @Option(help: "Corpus rows.") var rows = 200_000
    @Option(help: "Scratch folder for the corpus and the filter.") var folder: String
    @Flag(help: "Also measure PretrainCorpus.load (the whole corpus in memory).") var loadWhole = false
    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard rows >= 1, rows <= 50_000_000 else { throw ValidationError("--rows must be between 1 and 50000000, got \(rows)") }
    }

    func run() throws {
        try CLI.run {
            var bench = CorpusStreamBenchmark(rows: rows, folder: URL(fileURLWithPath: folder, isDirectory: true))
            bench.loadWhole = loadWhole
            let result = try bench.run { CLI.note($0) }
            if output.json { return try CLI.printJSON(result) }
            print(String(format: "rows %d  kept %d  filter %.1f s  finish %.1f s  peak RSS %.1f MiB (baseline %.1f MiB)",
                         result.rows, result.keptPairs, result.filterSeconds, result.finishSeconds, result.peakMB, result.baselineMB)
                  + (result.loadWholePeakMB.map { String(format: "  whole-corpus load: peak RSS %.1f MiB", $0) } ?? ""))
        }
    }
}
