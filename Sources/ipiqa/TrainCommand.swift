import ArgumentParser
import Foundation
import IQAData
import IQAModel
import IQATraining

extension IPIQAConfiguration.QAToken: ExpressibleByArgument {}
extension IPIQAConfiguration.Head: ExpressibleByArgument {}
extension IPIQAConfiguration.Fusion: ExpressibleByArgument {}
extension TextExtras: ExpressibleByArgument {}
extension FeaturePrecision: ExpressibleByArgument {}

/// `ipiqa train`: fine-tune IP-IQA over repeated splits; writes metrics.json, models, plots and a resumable state.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train IP-IQA over repeated splits (official recipe by default) and report SRCC/PLCC/KRCC per output.",
        discussion: """
        Defaults are the official recipe: AdamW lr 1e-5 (constant; head ×10), weight decay 0, batch 32, 100 epochs, \
        512² squashed inputs, horizontal flips in training, MSE on the raw MOS. Values come from the defaults, then \
        --config FILE (JSON, TrainingConfiguration keys), then the flags given.
        Protocol: official for agiqa-1k/3k (no validation part: metrics.json reports the best TEST epoch, as the \
        official code does, and marks the honest validation-selected numbers null), grouped for csv (train/validation/\
        test by group; the epoch is chosen on validation).
        --micro-batch N accumulates gradients over N-image passes; BatchNorm then normalises per micro-batch.
        A killed run continues with --resume DIR (same numbers as an uninterrupted run with the same --threads).
        Faster modes (not the paper's recipe; see docs/training-modes.md): --freeze-trunk trains on layer4 maps cached \
        once per image and orientation (--feature-cache DIR, F16); --freeze-kv also freezes the attention pools' key/value \
        projections and caches the projected keys/values. The exact [QA]-prefix text cache is on whenever the text path \
        is frozen (--no-text-cache turns it off). --text-extras official trains the text positional embedding and \
        text_projection, as the official code does through its freeze_module quirk.
        """)

    @Option(help: "CLIP ResNet checkpoint (RN50.pt, .bin or .safetensors).") var clip: String?
    @Option(help: "Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).") var dataset: DatasetKind?
    @Option(help: "Image folder.") var root: String?
    @Option(help: "Label file (default: the bundled one for agiqa-1k / agiqa-3k).") var labels: String?
    @Option(help: "Run directory (created).") var out: String = "ipiqa-run"
    @Option(help: "JSON configuration file (any TrainingConfiguration keys).") var config: String?
    @Option(help: "Continue the run in this directory (other options but --threads are ignored).") var resume: String?

    @Option(help: "Epochs per split.") var epochs: Int?
    @Option(help: "Repeated splits.") var splits: Int?
    @Option(help: "Input side in pixels (multiple of 32).") var resolution: Int?
    @Option(help: "Training batch size.") var batchSize: Int?
    @Option(help: "Images per forward/backward pass (gradient accumulation).") var microBatch: Int?
    @Option(help: "Evaluation batch size.") var evalBatchSize: Int?
    @Option(help: "Seed (splits, initialisation, shuffling, flips, dropout).") var seed: UInt64?
    @Option(name: .customLong("protocol"), help: "Split protocol: official or grouped.") var splitProtocol: SplitProtocol?
    @Option(help: "Grouped protocol: fraction of groups in validation.") var validationFraction: Double?
    @Option(help: "Grouped protocol: fraction of groups in test.") var testFraction: Double?

    @Flag(help: "Image-only ablation (no prompt).") var imageOnly = false
    @Option(help: "[QA] token: token (paper), table (official code: whole embedding table trains) or none.") var qaToken: IPIQAConfiguration.QAToken?
    @Option(help: "Fusion: paper (the paper's [v; c]) or paper+similarity (beyond the paper: adds image–text similarity features).")
    var fusion: IPIQAConfiguration.Fusion?
    @Option(help: "Head: mlp or linear.") var head: IPIQAConfiguration.Head?
    @Option(help: "Dropout of the MLP head.") var dropout: Float?
    @Option(help: "Heads of the cross-modality attention pool.") var crossHeads: Int?
    @Option(help: "Base learning rate.") var lr: Double?
    @Flag(help: "Freeze the image trunk and train on its cached layer4 maps (computed once per image and orientation).") var freezeTrunk = false
    @Flag(help: "Also freeze the attention pools' key/value projections and train on cached projections (implies --freeze-trunk).") var freezeKv = false
    @Option(help: "Feature-cache folder for --freeze-trunk/--freeze-kv (default: RUN/feature_cache; shareable between runs).") var featureCache: String?
    @Option(help: "Storage precision of cached maps: f16 or f32.") var featurePrecision: FeaturePrecision?
    @Flag(help: "Run the full text encoder every step instead of the exact [QA]-prefix / per-prompt text cache.") var noTextCache = false
    @Option(help: "Text positional embedding and text_projection: frozen (paper) or official (they train, as in the official code).") var textExtras: TextExtras?
    @Option(help: "Learning-rate factor of the head.") var headLrScale: Double?
    @Option(help: "AdamW weight decay.") var weightDecay: Double?
    @Option(help: "Clip the global gradient norm to this value.") var maxGradNorm: Double?
    @Option(help: "Probability of a horizontal flip of a training image.") var flipProbability: Double?
    @Flag(help: "Also train on the last incomplete batch of an epoch (official: dropped).") var keepLastBatch = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Do not draw plots.") var noPlots = false
    @Flag(help: "Keep each split's resumable state (with optimizer moments) after it finished.") var keepTrainingState = false

    @Option(help: "CSV datasets: image column.") var imageColumn: String = CSVColumns().image
    @Option(help: "CSV datasets: prompt column.") var promptColumn: String = CSVColumns().prompt
    @Option(help: "CSV datasets: comma-separated score columns.") var scoreColumns: String = CSVColumns().scores.joined(separator: ",")
    @Flag(help: "Print the resolved configuration as JSON and exit.") var printConfig = false

    func resolvedConfiguration() throws -> TrainingConfiguration {
        var c = try config.map { try TrainingConfiguration.read(from: URL(fileURLWithPath: $0)) } ?? TrainingConfiguration()
        if let epochs { c.epochs = epochs }
        if let splits { c.splits = splits }
        if let resolution { c.resolution = resolution }
        if let batchSize { c.batchSize = batchSize }
        if let microBatch { c.microBatch = microBatch }
        if let evalBatchSize { c.evalBatchSize = evalBatchSize }
        if let seed { c.seed = seed }
        if let splitProtocol { c.splitProtocol = splitProtocol }
        if validationFraction != nil || testFraction != nil {
            let v = validationFraction ?? c.grouped.validationFraction, t = testFraction ?? c.grouped.testFraction
            c.grouped = GroupedSplitConfiguration(trainFraction: 1 - v - t, validationFraction: v, testFraction: t)
        }
        if imageOnly { c.useText = false }
        if let qaToken { c.qaToken = qaToken }
        if let fusion { c.fusion = fusion }
        if let head { c.head = head }
        if let dropout { c.dropout = dropout }
        if let crossHeads { c.crossHeads = crossHeads }
        if freezeTrunk { c.freezeTrunk = true }
        if freezeKv { c.freezeKV = true }
        if let featureCache { c.featureCache = featureCache }
        if let featurePrecision { c.featurePrecision = featurePrecision }
        if noTextCache { c.textCache = false }
        if let textExtras { c.textExtras = textExtras }
        if let lr { c.learningRate = lr }
        if let headLrScale { c.headLearningRateScale = headLrScale }
        if let weightDecay { c.weightDecay = weightDecay }
        if let maxGradNorm { c.maxGradNorm = maxGradNorm }
        if let flipProbability { c.flipProbability = flipProbability }
        if keepLastBatch { c.dropLast = false }
        if let threads { c.threads = threads }
        if noPlots { c.plots = false }
        if keepTrainingState { c.keepTrainingState = true }
        try c.validate()
        return c
    }

    func run() throws {
        try CLI.run {
            let progress = ProgressReporter()
            let trainer: Trainer
            if let resume {
                trainer = try Trainer.resume(directory: URL(fileURLWithPath: resume), progress: progress, threads: threads)
            } else {
                let c = try resolvedConfiguration()
                if printConfig {
                    FileHandle.standardOutput.write(try c.jsonData() + Data("\n".utf8))
                    return
                }
                guard let clip, let dataset, let root else {
                    throw ValidationError("--clip, --dataset and --root are required (or --resume DIR)")
                }
                if c.resolvedProtocol(for: dataset) == .official && dataset == .csv {
                    throw ValidationError("there is no official protocol for CSV datasets; use --protocol grouped")
                }
                let columns = CSVColumns(image: imageColumn, prompt: promptColumn,
                                         scores: scoreColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                trainer = try Trainer(config: c, clip: URL(fileURLWithPath: clip), dataset: dataset,
                                      labels: labels.map { URL(fileURLWithPath: $0) }, root: URL(fileURLWithPath: root),
                                      csvColumns: dataset == .csv ? columns : nil, output: URL(fileURLWithPath: out), progress: progress)
            }
            let report = try trainer.run()
            CLI.note("wrote \(trainer.layout.metrics.path)")
            for s in report.splits {
                let (selection, picked) = s.headline
                CLI.note("split \(s.split): \(selection.rawValue) epoch \(picked?.epoch ?? 0): \(picked?.test.summaryLine ?? "n/a")")
            }
        }
    }
}
