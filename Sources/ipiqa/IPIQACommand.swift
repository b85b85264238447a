import ArgumentParser
import Foundation
import Tensor

@main
struct IPIQACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipiqa",
        abstract: "IP-IQA: quality and image–prompt alignment of AI-generated images, on a CLIP RN50 backbone.",
        subcommands: [
            TrainCommand.self, EvaluateCommand.self, ScoreCommand.self, ImportCommand.self, ExportCommand.self, PretrainCommand.self,
            EmbedCommand.self, ClipScoreCommand.self, TokenizeCommand.self,
            SplitsCommand.self, CorrelateCommand.self, BaselineCommand.self, ExperimentCommand.self,
            BenchCommand.self, TrainBenchCommand.self, DemoCommand.self, ServeCommand.self,
        ]
    )

    /// Startup hook before argument parsing: OpenBLAS kernel selection for every subcommand (relaunches the process
    /// once with `OPENBLAS_CORETYPE` where OpenBLAS fell back to generic kernels; opt out with
    /// `IPIQA_NO_BLAS_OVERRIDE=1`; `--verbose` or `IPIQA_VERBOSE=1` prints what happened).
    static func main() {
        let verbose = CommandLine.arguments.contains("--verbose") || ProcessInfo.processInfo.environment["IPIQA_VERBOSE"] == "1"
        BLASCoreOverride.relaunchIfNeeded(verbose: verbose)
        // `--verbose` is a global flag (read above); only `bench` and `bench conv` declare it (BenchOutputOptions).
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first != "bench" { arguments.removeAll { $0 == "--verbose" } }
        main(arguments)
    }
}
