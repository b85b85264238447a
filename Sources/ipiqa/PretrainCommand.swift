import ArgumentParser
import CLIP
import CLIPTokenizer
import Foundation
import Image2Prompt
import Imaging
import IQAData
import Tensor

/// `ipiqa pretrain`: Image2Prompt pre-training of a CLIP image tower on an image–prompt corpus.
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
        Progress goes to stderr; a JSON summary to stdout.
        """)

    @Option(help: "Starting CLIP checkpoint (OpenAI .pt, torch state dict or safetensors).") var clip: String
    @Option(help: "Corpus folder (DiffusionDB layout), part .json or .csv file.") var corpus: String
    @Option(help: "Output CLIP checkpoint (.safetensors), written atomically.") var out: String
    @Option(help: "Drop pairs whose starting CLIP cosine similarity is below this.")
    var threshold: Float = Image2PromptConfiguration().threshold
    @Option(help: "Epochs.") var epochs = Image2PromptConfiguration().epochs
    @Option(help: "Batch size.") var batchSize = Image2PromptConfiguration().batchSize
    @Option(help: "AdamW learning rate.") var lr = Image2PromptConfiguration().learningRate
    @Option(help: "AdamW weight decay.") var weightDecay = Image2PromptConfiguration().weightDecay
    @Option(help: "Training input side in pixels (multiple of 32; default: the checkpoint's native resolution).")
    var resolution: Int?
    @Option(help: "Training preprocessing: clip (resize + centre crop) or squash (resize to a square).")
    var preprocess = Image2PromptConfiguration().preprocess.rawValue
    @Option(help: "Seed of the epoch shuffles.") var seed = Image2PromptConfiguration().seed
    @Option(help: "Use at most this many pairs (the first in corpus order).") var maxPairs: Int?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(inversion: .prefixedNo, help: "Batch norm of the image tower in training mode (batch statistics), as PyTorch's model.train().")
    var bnTrain = Image2PromptConfiguration().batchNormTraining
    @Flag(help: "Skip corpus entries with an empty prompt or a missing image (listed on stderr) instead of failing.")
    var skipInvalid = false
    @Option(help: "CSV column with image paths.") var imageColumn = PretrainCorpus.Options().imageColumn
    @Option(help: "CSV column with prompts.") var promptColumn = PretrainCorpus.Options().promptColumn
    @Option(help: "Where to list the dropped pairs (CSV: image, similarity, prompt); default: <out>.dropped.csv.")
    var dropped: String?

    struct Summary: Encodable {
        let pairs: Int, kept: Int, dropped: Int, skipped: Int
        let threshold: Float
        let droppedFile: String
        let training: Image2PromptReport
        let checkpoint: String
    }

    func run() throws {
        try CLI.run {
            if let threads { Threading.setThreads(threads) }
            var config = Image2PromptConfiguration()
            config.threshold = threshold; config.epochs = epochs; config.batchSize = batchSize
            config.learningRate = lr; config.weightDecay = weightDecay; config.resolution = resolution
            config.seed = seed; config.batchNormTraining = bnTrain
            guard let mode = PreprocessMode(rawValue: preprocess), mode != .none else {
                throw ValidationError("--preprocess must be clip or squash, got '\(preprocess)'")
            }
            config.preprocess = mode
            try config.validate()

            let data = try PretrainCorpus.load(URL(fileURLWithPath: corpus), options: PretrainCorpus.Options(
                maxPairs: maxPairs, skipInvalid: skipInvalid, imageColumn: imageColumn, promptColumn: promptColumn))
            for issue in data.skipped { CLI.note("skipped: \(issue)") }
            CLI.note("corpus: \(data.pairs.count) pairs" + (data.skipped.isEmpty ? "" : ", \(data.skipped.count) skipped"))

            let model = try CLIPModel.load(URL(fileURLWithPath: clip))
            let tokenizer = try CLIPTokenizer()
            guard model.config.vocabSize >= tokenizer.vocabularySize else {
                throw ValidationError("\(clip): the text vocabulary has \(model.config.vocabSize) rows, CLIP's tokenizer needs \(tokenizer.vocabularySize)")
            }
            let context = model.config.contextLength
            let trainer = try Image2PromptTrainer(clip: model, config: config) {
                try tokenizer.tokenize($0, contextLength: context, truncate: true)
            }

            let started = Date()
            let result = try trainer.filter(data.pairs, threshold: config.threshold) { done, total in
                if done == total || (done / config.batchSize) % 10 == 0 {
                    CLI.note("filter: \(done)/\(total) pairs scored (\(String(format: "%.0f", Date().timeIntervalSince(started))) s)")
                }
            }
            let droppedURL = URL(fileURLWithPath: dropped ?? (URL(fileURLWithPath: out).deletingPathExtension().path + ".dropped.csv"))
            try result.writeDropped(to: droppedURL)
            CLI.note("filter: kept \(result.kept.count) of \(result.total) pairs with similarity ≥ \(config.threshold); "
                     + "dropped \(result.dropped.count) (listed in \(droppedURL.path))")
            guard !result.kept.isEmpty else { throw Image2PromptError.nothingKept(threshold: config.threshold, pairs: result.total) }

            let report = try trainer.train(result.keptPairs) { p in
                CLI.note(String(format: "epoch %d/%d step %d/%d  loss %.4f  (epoch mean %.4f)  %.1f img/s",
                                p.epoch, p.epochs, p.step, p.stepsPerEpoch, p.loss, p.epochMeanLoss, p.imagesPerSecond))
            }
            try trainer.save(to: URL(fileURLWithPath: out))
            CLI.note("wrote \(out)")
            try CLI.printJSON(Summary(pairs: result.total, kept: result.kept.count, dropped: result.dropped.count,
                                      skipped: data.skipped.count, threshold: config.threshold, droppedFile: droppedURL.path,
                                      training: report, checkpoint: out))
        }
    }
}
