import ArgumentParser
import Benchmarks
import Foundation
import Tensor

/// `ipiqa bench …`: performance measurements. `ipiqa bench [--json] [--repeats N] [--cases a,b] [--precision bf16]` runs the
/// whole-model cases (``BenchModelsCommand``, the default); `ipiqa bench conv` one convolution's kernels.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure model and kernel throughput (release builds only give meaningful numbers).",
        subcommands: [BenchModelsCommand.self, BenchConvCommand.self],
        defaultSubcommand: BenchModelsCommand.self
    )
}

/// `ipiqa bench conv`: GFLOP/s of a k×k convolution forward, backward-data and backward-weights, plus plain sgemm.
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
    @Option(help: "Worker threads (OpenBLAS and engine); default: all cores.") var threads: Int?
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        // OpenBLAS kernel selection (relaunch with OPENBLAS_CORETYPE) happens in IPIQACommand.main for every subcommand.
        if let threads { Threading.setThreads(threads) }
        let config = ConvBenchmarkConfiguration(batch: batch, size: size, inChannels: inChannels, outChannels: outChannels,
                                         kernel: kernel, stride: stride, padding: padding, repeats: repeats, warmup: warmup,
                                         tileElements: tileElements)
        let result: ConvBenchmarkResult
        do {
            result = try ConvBenchmark.run(config)
        } catch {
            throw ValidationError(error.localizedDescription)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        let c = config
        if result.blasCore == "Prescott" {
            FileHandle.standardError.write(Data(("note: OpenBLAS uses its generic Prescott kernels; "
                + "OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2) is ~3-5× faster where the CPU has them\n").utf8))
        }
        print("conv \(c.kernel)×\(c.kernel) stride \(c.stride) pad \(c.padding), \(c.inChannels)→\(c.outChannels) channels on "
              + "\(c.batch)×\(c.size)×\(c.size): \(String(format: "%.1f", result.gflopPerPass)) GFLOP per pass, "
              + "\(Threading.workers) threads, median of \(c.repeats), OpenBLAS core \(BLASCoreOverride.coreName())")
        let gemmShape = "\(c.sgemmRows)×\(c.outChannels)×\(c.kernel * c.kernel * c.inChannels)"
        let rows = [("forward", result.forwardGFLOPS), ("backward data", result.backwardDataGFLOPS),
                    ("backward weights", result.backwardWeightGFLOPS), ("sgemm \(gemmShape)", result.sgemmGFLOPS)]
        print("".padding(toLength: 24, withPad: " ", startingAt: 0) + "   wall GFLOP/s   cpu-normalised")
        for (k, (name, v)) in rows.enumerated() {
            print(name.padding(toLength: 24, withPad: " ", startingAt: 0)
                  + String(format: "%13.1f %16.1f", v, result.cpuNormalized[k]))
        }
    }
}
