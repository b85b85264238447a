import CLIP
import CLIPTokenizer
import DataParallel
import Foundation
import IQAData

/// Image2Prompt pre-training end to end, as `ipiqa pretrain` runs it:
///
/// 1. load the starting CLIP checkpoint and check that its text vocabulary covers CLIP's tokenizer;
/// 2. stream the image–prompt corpus (``PretrainCorpus``: DiffusionDB layout, part JSON or CSV), score every pair
///    with the starting model and drop those with `cos(image, text) < threshold` (``SimilarityFilterRun``: chunk
///    files in ``filterFolder``, resumable; ``filterShard(_:log:)`` scores one shard's chunks, for clusters), then
///    write the kept list and the dropped pairs' CSV;
/// 3. train the image tower towards the frozen text embeddings of the kept pairs' prompts, reading each batch's
///    pairs from the kept list (``Image2PromptTrainer/train(_:progress:)``);
/// 4. save the whole CLIP checkpoint (safetensors, written atomically): what `ipiqa train --clip` reads; only
///    `visual.*` changes.
///
/// Progress lines (skipped corpus entries, corpus size, filter progress, one line per training step) go to `log`.
///
/// ```swift
/// var pipeline = Image2PromptPipeline(clip: URL(fileURLWithPath: "RN50.pt"),
///                                     corpus: URL(fileURLWithPath: "diffusiondb"),
///                                     output: URL(fileURLWithPath: "rn50_i2p.safetensors"))
/// pipeline.configuration.epochs = 3
/// pipeline.corpusOptions.maxPairs = 10_000
/// let summary = try pipeline.run { print($0) }
/// print("trained on \(summary.kept) of \(summary.pairs) pairs; dropped ones in \(summary.droppedFile)")
/// ```
public struct Image2PromptPipeline: Sendable {
    /// The starting CLIP checkpoint (OpenAI TorchScript `.pt`, torch state dict or safetensors).
    public var clip: URL
    /// Corpus folder (DiffusionDB layout), part `.json` or `.csv` file.
    public var corpus: URL
    /// The CLIP checkpoint to write (`.safetensors`).
    public var output: URL
    /// Where the dropped pairs are listed (CSV: image, similarity, prompt); nil: ``defaultDroppedList``.
    public var droppedList: URL?
    /// Folder of the streamed similarity filter (chunks, kept list); nil: ``defaultFilterFolder``.
    public var filterFolder: URL?
    public var corpusOptions: PretrainCorpus.Options
    public var configuration: Image2PromptConfiguration
    /// Runs after every training step; an error it throws stops training there and ends ``run(log:)`` with that
    /// error, before anything is written to ``output`` (`ipiqa pretrain` stops so on SIGINT / SIGTERM).
    public var afterStep: (@Sendable (Image2PromptProgress) throws -> Void)?

    public init(clip: URL, corpus: URL, output: URL, droppedList: URL? = nil, filterFolder: URL? = nil,
                corpusOptions: PretrainCorpus.Options = PretrainCorpus.Options(),
                configuration: Image2PromptConfiguration = Image2PromptConfiguration()) {
        self.clip = clip
        self.corpus = corpus
        self.output = output
        self.droppedList = droppedList
        self.filterFolder = filterFolder
        self.corpusOptions = corpusOptions
        self.configuration = configuration
    }

    /// `<output without its extension>.dropped.csv`.
    public var defaultDroppedList: URL {
        URL(fileURLWithPath: output.deletingPathExtension().path + ".dropped.csv")
    }

    /// `<output without its extension>.filter/`.
    public var defaultFilterFolder: URL {
        URL(fileURLWithPath: output.deletingPathExtension().path + ".filter", isDirectory: true)
    }

    /// Runs the four steps, stopping at the first failure: ``Image2PromptError``, the corpus reader's
    /// ``PretrainCorpusError`` or the checkpoint loader's errors, each naming the file concerned. Chunks of the
    /// filter already in ``filterFolder`` (from a killed run, or from ``filterShard(_:log:)`` on other machines) are
    /// used as they are.
    public func run(log: @escaping (String) -> Void = { _ in }) throws -> Image2PromptSummary {
        try configuration.validate()
        let trainer = try makeTrainer()
        // Both passes' batches must fit in memory: checked before any image is read.
        let batch = configuration.batchSize, native = trainer.clip.config.imageResolution
        try trainer.clip.config.checkMemory(batch: batch, resolution: native, what: "the batch size (the similarity filter runs at \(native) px)")
        try trainer.clip.config.checkMemory(batch: batch, resolution: trainer.resolution, what: "the batch size or the training resolution")
        let filter = try filterRun()
        // Under mpirun each rank scores its shard of the filter's chunks first; the run below then finds them all.
        let world = trainer.communicator
        if world.size > 1 {
            _ = try filter.run(shard: try Shard(index: world.rank, count: world.size), log: log) { try trainer.similarities($0) }
            try world.barrier()
        }
        let report = try filter.run(log: log) { try trainer.similarities($0) }
        for issue in report.skipped { log("skipped: \(issue)") }
        log("corpus: \(report.pairs) pairs" + (report.skipped.isEmpty ? "" : ", \(report.skipped.count) skipped")
            + "; filter: \(report.chunksScored) chunks scored, \(report.chunksFound) found in \(filter.folder.path)")
        let dropped = droppedList ?? defaultDroppedList, threshold = configuration.threshold
        // Rank 0 writes the kept list and the dropped list; the other ranks read them after the barrier.
        let written = world.isRoot ? try filter.finish(threshold: threshold, dropped: dropped) : nil
        try world.barrier()
        let shared = try world.broadcast(written.map { try JSONEncoder().encode($0) }.map(Array.init) ?? [], root: 0)
        let counts = try JSONDecoder().decode(SimilarityFilterRun.Summary.self, from: Data(shared))
        log("filter: kept \(counts.kept) of \(counts.pairs) pairs with similarity ≥ \(threshold); "
            + "dropped \(counts.dropped) (listed in \(dropped.path))")
        guard counts.kept > 0 else { throw Image2PromptError.nothingKept(threshold: threshold, pairs: counts.pairs) }
        let training = try trainer.train(try KeptPairs(folder: filter.folder)) { p in
            log(String(format: "epoch %d/%d step %d/%d  loss %.4f  (epoch mean %.4f)  %.1f img/s",
                       p.epoch, p.epochs, p.step, p.stepsPerEpoch, p.loss, p.epochMeanLoss, p.imagesPerSecond))
            try afterStep?(p)
        }
        try trainer.save(to: output)
        log("wrote \(output.relativePath)")
        return Image2PromptSummary(pairs: counts.pairs, kept: counts.kept, dropped: counts.dropped,
                                   skipped: counts.skipped, threshold: threshold,
                                   droppedFile: dropped.path, training: training, checkpoint: output.relativePath)
    }

    /// Scores shard `i/N`'s chunks of the similarity filter only (chunks k with k mod N = i), into ``filterFolder``:
    /// what each task of a Slurm array, each mpirun rank or each GNU parallel job runs before one unsharded
    /// ``run(log:)`` finishes the filter (every chunk then found on disk) and trains.
    public func filterShard(_ shard: Shard, log: @escaping (String) -> Void = { _ in }) throws -> SimilarityFilterRun.ShardReport {
        try configuration.validate()
        let trainer = try makeTrainer()
        return try filterRun().run(shard: shard, log: log) { try trainer.similarities($0) }
    }

    /// The filter folder with this pipeline's identity (CLIP checksum, corpus, reading options, batch size).
    private func filterRun() throws -> SimilarityFilterRun {
        let identity = try FilterIdentity(clip: clip, corpus: corpus, options: corpusOptions, batchSize: configuration.batchSize)
        return SimilarityFilterRun(folder: filterFolder ?? defaultFilterFolder, identity: identity)
    }

    /// The starting model (its vocabulary checked against CLIP's tokenizer) wrapped in a trainer that tokenizes
    /// like `clip.tokenize(..., truncate=True)`.
    private func makeTrainer() throws -> Image2PromptTrainer {
        let model = try CLIPModel.load(clip)
        let tokenizer = try CLIPTokenizer()
        guard model.config.vocabSize >= tokenizer.vocabularySize else {
            throw Image2PromptError.vocabularyTooSmall(file: clip.relativePath, rows: model.config.vocabSize,
                                                       needed: tokenizer.vocabularySize)
        }
        let context = model.config.contextLength
        return try Image2PromptTrainer(clip: model, config: configuration) {
            try tokenizer.tokenize($0, contextLength: context, truncate: true)
        }
    }
}

/// What ``Image2PromptPipeline/run(log:)`` did (`ipiqa pretrain` prints it as JSON): corpus pairs, kept / dropped
/// by the similarity filter, corpus entries skipped, the training report and the files written.
public struct Image2PromptSummary: Codable, Sendable {
    public let pairs: Int, kept: Int, dropped: Int, skipped: Int
    public let threshold: Float
    /// The CSV listing the dropped pairs.
    public let droppedFile: String
    public let training: Image2PromptReport
    /// The CLIP checkpoint written.
    public let checkpoint: String
}
