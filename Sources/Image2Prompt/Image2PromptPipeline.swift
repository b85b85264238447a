import CLIP
import CLIPTokenizer
import Foundation
import IQAData

/// Image2Prompt pre-training end to end, as `ipiqa pretrain` runs it:
///
/// 1. read the image–prompt corpus (``PretrainCorpus``: DiffusionDB layout, part JSON or CSV);
/// 2. load the starting CLIP checkpoint and check that its text vocabulary covers CLIP's tokenizer;
/// 3. score every pair with the starting model and drop those with `cos(image, text) < threshold`
///    (``Image2PromptTrainer/filter(_:threshold:progress:)``), listing them in a CSV;
/// 4. train the image tower towards the frozen text embeddings of the kept pairs' prompts
///    (``Image2PromptTrainer/train(_:progress:)``);
/// 5. save the whole CLIP checkpoint (safetensors, written atomically): what `ipiqa train --clip` reads; only
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
    public var corpusOptions: PretrainCorpus.Options
    public var configuration: Image2PromptConfiguration
    /// Runs after every training step; an error it throws stops training there and ends ``run(log:)`` with that
    /// error, before anything is written to ``output`` (`ipiqa pretrain` stops so on SIGINT / SIGTERM).
    public var afterStep: (@Sendable (Image2PromptProgress) throws -> Void)?

    public init(clip: URL, corpus: URL, output: URL, droppedList: URL? = nil,
                corpusOptions: PretrainCorpus.Options = PretrainCorpus.Options(),
                configuration: Image2PromptConfiguration = Image2PromptConfiguration()) {
        self.clip = clip
        self.corpus = corpus
        self.output = output
        self.droppedList = droppedList
        self.corpusOptions = corpusOptions
        self.configuration = configuration
    }

    /// `<output without its extension>.dropped.csv`.
    public var defaultDroppedList: URL {
        URL(fileURLWithPath: output.deletingPathExtension().path + ".dropped.csv")
    }

    /// Runs the five steps, stopping at the first failure: ``Image2PromptError``, the corpus reader's
    /// ``PretrainCorpusError`` or the checkpoint loader's errors, each naming the file concerned.
    public func run(log: @escaping (String) -> Void = { _ in }) throws -> Image2PromptSummary {
        try configuration.validate()
        let data = try PretrainCorpus.load(corpus, options: corpusOptions)
        for issue in data.skipped { log("skipped: \(issue)") }
        log("corpus: \(data.pairs.count) pairs" + (data.skipped.isEmpty ? "" : ", \(data.skipped.count) skipped"))

        let trainer = try makeTrainer()
        // Both passes' batches must fit in memory: checked before any image is read.
        let batch = min(configuration.batchSize, max(data.pairs.count, 1)), native = trainer.clip.config.imageResolution
        try trainer.clip.config.checkMemory(batch: batch, resolution: native, what: "the batch size (the similarity filter runs at \(native) px)")
        try trainer.clip.config.checkMemory(batch: batch, resolution: trainer.resolution, what: "the batch size or the training resolution")
        let filtered = try filter(data.pairs, with: trainer, log: log)
        let report = try trainer.train(filtered.keptPairs) { p in
            log(String(format: "epoch %d/%d step %d/%d  loss %.4f  (epoch mean %.4f)  %.1f img/s",
                       p.epoch, p.epochs, p.step, p.stepsPerEpoch, p.loss, p.epochMeanLoss, p.imagesPerSecond))
            try afterStep?(p)
        }
        try trainer.save(to: output)
        log("wrote \(output.relativePath)")
        return Image2PromptSummary(pairs: filtered.total, kept: filtered.kept.count, dropped: filtered.dropped.count,
                                   skipped: data.skipped.count, threshold: configuration.threshold,
                                   droppedFile: (droppedList ?? defaultDroppedList).path, training: report,
                                   checkpoint: output.relativePath)
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

    /// The similarity filter, logging every tenth batch, with the dropped pairs written to the dropped list.
    private func filter(_ pairs: [PretrainPair], with trainer: Image2PromptTrainer,
                        log: @escaping (String) -> Void) throws -> Image2PromptFilterResult {
        let started = Date(), batchSize = configuration.batchSize, threshold = configuration.threshold
        let result = try trainer.filter(pairs, threshold: threshold) { done, total in
            if done == total || (done / batchSize) % 10 == 0 {
                log("filter: \(done)/\(total) pairs scored (\(String(format: "%.0f", Date().timeIntervalSince(started))) s)")
            }
        }
        let dropped = droppedList ?? defaultDroppedList
        try result.writeDropped(to: dropped)
        log("filter: kept \(result.kept.count) of \(result.total) pairs with similarity ≥ \(threshold); "
            + "dropped \(result.dropped.count) (listed in \(dropped.path))")
        guard !result.kept.isEmpty else { throw Image2PromptError.nothingKept(threshold: threshold, pairs: result.total) }
        return result
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
