import ArgumentParser
import Benchmarks
import Foundation

/// `ipiqa bench …`: performance measurements. `ipiqa bench [--json] [--repeats N] [--cases a,b] [--precision bf16]` runs the
/// whole-model cases (``BenchModelsCommand``, the default); `ipiqa bench conv` one convolution's kernels.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure model and kernel throughput (release builds only give meaningful numbers).",
        subcommands: [BenchModelsCommand.self, BenchConvCommand.self, BenchServeCommand.self, BenchMPICommand.self, BenchCorpusCommand.self,
                      BenchPeakCommand.self],
        defaultSubcommand: BenchModelsCommand.self
    )
}

/// `ipiqa bench conv`: GFLOP/s of a k×k convolution forward, backward-data and backward-weights, plus plain sgemm
/// (``ConvBenchmark``).
struct BenchConvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Convolution GFLOP/s (default: 3×3, 256→256 channels, 8×56×56, padding 1; median of the timed runs)."
    )

    @Option(help: "Batch size.") var batch = ConvBenchmarkConfiguration().batch
    @Option(help: "Input height and width.") var size = ConvBenchmarkConfiguration().size
    @Option(help: "Input channels.") var inChannels = ConvBenchmarkConfiguration().inChannels
    @Option(help: "Output channels.") var outChannels = ConvBenchmarkConfiguration().outChannels
    @Option(help: "Kernel size.") var kernel = ConvBenchmarkConfiguration().kernel
    @Option(help: "Stride.") var stride = ConvBenchmarkConfiguration().stride
    @Option(help: "Zero padding.") var padding = ConvBenchmarkConfiguration().padding
    @Option(help: "Timed runs per measurement (median reported).") var repeats = ConvBenchmarkConfiguration().repeats
    @Option(help: "Untimed warm-up runs.") var warmup = ConvBenchmarkConfiguration().warmup
    @Option(help: "Floats per im2col tile.") var tileElements = ConvBenchmarkConfiguration().tileElements
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var output: BenchOutputOptions

    var benchmarkConfiguration: ConvBenchmarkConfiguration {
        ConvBenchmarkConfiguration(batch: batch, size: size, inChannels: inChannels, outChannels: outChannels,
                                   kernel: kernel, stride: stride, padding: padding, repeats: repeats, warmup: warmup,
                                   tileElements: tileElements)
    }

    func validate() throws {
        do { try benchmarkConfiguration.validate() } catch { throw ValidationError(error.localizedDescription) }
    }

    func run() throws {
        // OpenBLAS kernel selection (relaunch with OPENBLAS_CORETYPE) happens in IPIQACommand.main for every subcommand.
        try CLI.run {
            threads.apply()
            let config = benchmarkConfiguration
            let result = try ConvBenchmark.run(config)
            if output.json { return try CLI.printJSON(result) }
            if let note = ConvBenchmark.genericKernelNote(result) { CLI.note(note) }
            print(ConvBenchmark.table(result, config: config))
        }
    }
}
