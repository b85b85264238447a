import ArgumentParser
import DataParallel
import Foundation
import Image2Prompt
import Imaging
import IQAData
import IQATraining

/// `ipiqa pretrain`: Image2Prompt pre-training of a CLIP image tower on an image–prompt corpus
/// (``Image2PromptPipeline``).
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Image2Prompt pre-training: train CLIP's image tower towards the frozen text embedding of each image's prompt.",
        discussion: """
        The corpus is a folder in DiffusionDB's layout (part-NNNNNN/ folders of images, each described by \
        part-NNNNNN.json = {"file": {"p": prompt, ...}}, inside the part folder or next to it), a single part JSON, or a \
        CSV with image and prompt columns (paths relative to the CSV). Pairs whose starting-model CLIP similarity \
        (native resolution, CLIP preprocessing) is below --threshold are dropped first (listed in --dropped). The \
        result is a whole CLIP checkpoint (safetensors) that `ipiqa train --clip` accepts; only visual.* changes. \
        Progress goes to stderr; a JSON summary to stdout. SIGINT / SIGTERM during training finish the current step and \
        stop without writing the checkpoint (exit 130 / 143); before training they stop at once. The corpus is streamed: \
        the filter writes chunk files into --filter-dir (default <out>.filter/) and a rerun reuses them. On a cluster, \
        --shard INDEX/COUNT (0-based) or --shard auto (Open MPI, PMI or Slurm variables) only scores that shard's chunks \
        and exits; one unsharded run then finishes the filter and trains (docs/sharded-scoring.md). Under mpirun without \
        --shard, every rank trains its share of each batch (docs/scaling.md).
        """)

    @OptionGroup var clip: CLIPCheckpointOptions
    @Option(help: "Corpus folder (DiffusionDB layout), part .json or .csv file.") var corpus: String
    @Option(help: "Output CLIP checkpoint (.safetensors), written atomically.") var out: String
    @Option(help: "Drop pairs whose starting CLIP cosine similarity is below this.")
    var threshold: Float = Image2PromptConfiguration().threshold
    @Option(help: "Epochs.") var epochs = Image2PromptConfiguration().epochs
    @Option(help: "Batch size.") var batchSize = Image2PromptConfiguration().batchSize
    @Option(help: "Images per forward/backward pass (gradient accumulation; default: the whole batch, or a rank's share of it).")
    var microBatch: Int?
    @Option(help: "AdamW learning rate.") var lr = Image2PromptConfiguration().learningRate
    @Option(help: "AdamW weight decay.") var weightDecay = Image2PromptConfiguration().weightDecay
    @Option(help: "Training input side in pixels (multiple of 32; default: the checkpoint's native resolution).")
    var resolution: Int?
    @Option(help: "Training preprocessing: clip (resize + centre crop) or squash (resize to a square).")
    var preprocess = Image2PromptConfiguration().preprocess.rawValue
    @Option(help: "Seed of the epoch shuffles.") var seed = Image2PromptConfiguration().seed
    @Option(help: "Use at most this many pairs (the first in corpus order).") var maxPairs: Int?
    @OptionGroup var threads: ThreadOptions
    @Flag(inversion: .prefixedNo, help: "Batch norm of the image tower in training mode (batch statistics), as PyTorch's model.train().")
    var bnTrain = Image2PromptConfiguration().batchNormTraining
    @Flag(help: "Skip corpus entries with an empty prompt or a missing image (listed on stderr) instead of failing.")
    var skipInvalid = false
    @Option(help: "CSV column with image paths.") var imageColumn = PretrainCorpus.Options().imageColumn
    @Option(help: "CSV column with prompts.") var promptColumn = PretrainCorpus.Options().promptColumn
    @Option(help: "Where to list the dropped pairs (CSV: image, similarity, prompt); default: <out>.dropped.csv.")
    var dropped: String?
    @Option(help: "Folder of the streamed similarity filter (chunk files, kept list); default: <out without extension>.filter.")
    var filterDir: String?
    @Option(help: "Only score similarity-filter shard INDEX/COUNT (0-based), or 'auto' (Open MPI, PMI or Slurm variables), then exit.")
    var shard: String?

    func validate() throws {
        if let shard, shard != "auto" {
            do { _ = try Shard(parsing: shard) } catch { throw ValidationError("--shard: " + error.localizedDescription) }
        }
        if let maxPairs, maxPairs < 1 { throw ValidationError("--max-pairs must be at least 1, got \(maxPairs)") }
        do { try trainingConfiguration().validate() } catch let e as Image2PromptError { throw ValidationError(e.localizedDescription) }
    }

    /// The flags as an ``Image2PromptConfiguration``.
    func trainingConfiguration() throws -> Image2PromptConfiguration {
        guard let mode = PreprocessMode(rawValue: preprocess), mode != .none else {
            throw ValidationError("--preprocess must be clip or squash, got '\(preprocess)'")
        }
        var config = Image2PromptConfiguration()
        config.threshold = threshold; config.epochs = epochs; config.batchSize = batchSize; config.microBatch = microBatch
        config.learningRate = lr; config.weightDecay = weightDecay; config.resolution = resolution
        config.seed = seed; config.batchNormTraining = bnTrain; config.preprocess = mode
        return config
    }

    func run() throws {
        try CLI.run {
            // Before the first training step a signal ends the process at once; during training the step finishes first.
            let stops = StopSignals(immediateMessage: "stopped before the first training step; \(out) was not written (run the same command again)")
            threads.apply()
            var pipeline = Image2PromptPipeline(
                clip: clip.url, corpus: URL(fileURLWithPath: corpus), output: URL(fileURLWithPath: out),
                droppedList: dropped.map { URL(fileURLWithPath: $0) },
                filterFolder: filterDir.map { URL(fileURLWithPath: $0, isDirectory: true) },
                corpusOptions: PretrainCorpus.Options(maxPairs: maxPairs, skipInvalid: skipInvalid,
                                                      imageColumn: imageColumn, promptColumn: promptColumn),
                configuration: try trainingConfiguration())
            if let shard {
                let part = shard == "auto" ? try Shard.fromEnvironment(ProcessInfo.processInfo.environment).shard : try Shard(parsing: shard)
                try CLI.printJSON(try pipeline.filterShard(part) { CLI.note($0) })
                return
            }
            let output = out
            pipeline.afterStep = { p in
                guard let sig = stops.check() else { return }
                throw StoppedBySignal(signal: sig, message: "stopped by \(StopSignals.name(sig)) (epoch \(p.epoch)/\(p.epochs) abandoned after "
                    + "step \(p.step)/\(p.stepsPerEpoch)); nothing partial was written: \(output) is not there (or is the previous file). "
                    + "Pre-training keeps no intermediate state: run the same command again to start over.")
            }
            // Under mpirun: every rank trains its share of each batch; rank 0 alone logs and prints (and writes the model).
            let world = try World.communicator()
            // One pre-training run per output at a time (its filter folder holds the lock; --shard jobs share the folder
            // on purpose and take none). Held until the run ends.
            let lock = world.isRoot ? try RunLock(directory: pipeline.filterFolder ?? pipeline.defaultFilterFolder) : nil
            defer { withExtendedLifetime(lock) {} }
            do {
                let summary = try pipeline.run { if world.isRoot { CLI.note($0) } }
                if world.isRoot { try CLI.printJSON(summary) }
            } catch let stop as StoppedBySignal { throw StoppedBySignal.exit(stop) }
        }
    }
}
