import ArgumentParser
import Benchmarks
import CLIP
import Foundation
import Tensor

/// `ipiqa bench-train`: per-step and per-epoch training time of full fine-tuning, --freeze-trunk and --freeze-kv on
/// RN50-sized random weights, with the analytic FLOP bounds (``TrainingBenchmark``, docs/training-modes.md).
struct TrainBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-train",
        abstract: "Time training steps per mode (full, --freeze-trunk, --freeze-kv) at RN50 size and extrapolate per epoch.",
        discussion: """
        Random RN50-sized weights (times do not depend on the values), batch --batch-size, prompts of --prompt-tokens \
        tokens. Full fine-tuning is timed on --full-micro-batch images per pass and scaled to the batch; the frozen \
        trunk on --frozen-micro-batch. Per epoch = floor(--epoch-images / batch) × per step; the one-time feature \
        extraction is reported apart. Use a release build.
        """)

    @Option(help: "Input side in pixels.") var resolution = TrainingBenchmarkConfiguration().resolution
    @Option(help: "Images per optimisation step.") var batchSize = TrainingBenchmarkConfiguration().batchSize
    @Option(help: "Images per timed pass of full fine-tuning.") var fullMicroBatch = TrainingBenchmarkConfiguration().fullMicroBatch
    @Option(help: "Images per timed pass with a frozen trunk.") var frozenMicroBatch = TrainingBenchmarkConfiguration().frozenMicroBatch
    @Option(help: "Tokens per prompt (between start and end of text).") var promptTokens = TrainingBenchmarkConfiguration().promptTokens
    @Option(help: "Training images per epoch.") var epochImages = TrainingBenchmarkConfiguration().epochImages
    @Option(help: "Timed repetitions (median) after one warm-up.") var repeats = TrainingBenchmarkConfiguration().repeats
    @Flag(help: "Skip full fine-tuning (the slow measurement).") var skipFull = false
    @Option(help: "Instead of the per-mode table: time full fine-tuning passes of --full-micro-batch images in fp32 and in this precision (bf16, or auto), alternately.")
    var comparePrecision: TrainingPrecision?
    @OptionGroup var threads: ThreadOptions
    @Option(help: "Also write the result as JSON to this file.") var json: String?

    func validate() throws {
        guard resolution >= 32, resolution % 32 == 0, batchSize >= 1, fullMicroBatch >= 1, frozenMicroBatch >= 1,
              promptTokens >= 0, promptTokens <= 75, epochImages >= batchSize else {
            throw ValidationError("need a resolution multiple of 32, positive batch sizes, 0…75 prompt tokens, --epoch-images ≥ --batch-size")
        }
        if let problem = CLIPConfiguration.resolutionProblem(resolution) { throw ValidationError("--resolution: \(problem)") }
        // The benchmark's model is RN50-sized: its largest micro-batch must fit in memory.
        do {
            try CLIPConfiguration.rn50.checkMemory(batch: max(fullMicroBatch, frozenMicroBatch), resolution: resolution,
                                                   what: "--full-micro-batch / --frozen-micro-batch or --resolution")
        } catch let e as CLIPError { throw ValidationError(e.localizedDescription) }
    }

    func run() throws {
        // OpenBLAS kernel selection (relaunch with OPENBLAS_CORETYPE) happens in IPIQACommand.main for every subcommand.
        try CLI.run {
            threads.apply()
            var c = TrainingBenchmarkConfiguration()
            c.resolution = resolution
            c.batchSize = batchSize
            c.fullMicroBatch = fullMicroBatch
            c.frozenMicroBatch = frozenMicroBatch
            c.promptTokens = promptTokens
            c.epochImages = epochImages
            c.repeats = repeats
            c.includeFull = !skipFull
            CLI.note("OpenBLAS core \(BLASCoreOverride.coreName()), \(Threading.workers) threads")
            if let comparePrecision {
                let r = try TrainingPrecisionBenchmark.run(resolution: resolution, images: fullMicroBatch, repeats: repeats,
                                                           precision: comparePrecision) { CLI.note($0) }
                if let json { try CLI.writeJSON(r, to: URL(fileURLWithPath: json)) }
                print(TrainingPrecisionBenchmark.summary(r))
                return
            }
            let result = try TrainingBenchmark.run(c) { CLI.note($0) }
            if let json { try CLI.writeJSON(result, to: URL(fileURLWithPath: json)) }
            print(TrainingBenchmark.table(result))
        }
    }
}
