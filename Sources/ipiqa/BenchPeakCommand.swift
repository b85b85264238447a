import ArgumentParser
import Benchmarks
import Foundation

/// `ipiqa bench peak`: the arithmetic limits of this CPU — fp32 FMA, bf16 dot product (vdpbf16ps), fp16 FMA (AVX-512
/// FP16) and AMX bf16 tile products — per core and over all threads (``PeakProbe``); units the CPU lacks are listed
/// with the reason.
struct BenchPeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "Peak GFLOP/s of fp32, bf16, fp16 and AMX multiply-adds on this CPU (register-only loops)."
    )

    @Option(help: "Timed runs per unit (median reported).") var repeats = 3
    @Option(help: "Seconds per timed run.") var seconds = 0.2
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60], got \(seconds)") }
    }

    func run() throws {
        try CLI.run {
            let count = threads.threads ?? ProcessInfo.processInfo.activeProcessorCount
            let results = PeakProbe.run(threads: count, repeats: repeats, seconds: seconds)
            if output.json { return try CLI.printJSON(PeakProbeReport(cpu: PeakProbe.cpuModel, features: PeakProbe.featureLine, units: results)) }
            print(PeakProbe.table(results))
        }
    }
}
