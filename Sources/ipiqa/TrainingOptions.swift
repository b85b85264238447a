import ArgumentParser
import CLIP
import Foundation
import IQAData
import IQAModel
import IQATraining
import Tensor

/// The recipe flags of `ipiqa train`, each overriding one ``TrainingConfiguration`` key;
/// ``configuration(file:threads:plots:keepTrainingState:)`` resolves defaults → `--config FILE` → the flags given.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Preset of every setting where the paper and the official code differ: paper (batch 40, one [QA] vector, frozen text extras) or official (batch 32, [QA] token table, text positional embedding and projection trained, both AGIQA-1k duplicate rows, one initialisation per split). Applied before --config and the flags.")
    var recipe: TrainingRecipe?
    @Option(help: "Several label rows of one image (AGIQA-1k lists one twice): keep-first (default, 1,079 AGIQA-1k samples), keep-last or keep-all (both rows, 1,080, as the official code).")
    var duplicates: DuplicatePolicy?
    @Option(help: "New layers' initialisation across splits: restart (default: the same for every split) or continue (one per split, as the official code's single random stream).")
    var initStream: InitStream?
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
    @Option(help: "Arithmetic of the frozen trunk's caching passes: fp32 (default), auto (the fastest path of this CPU that keeps cosine ≥ 0.9999 to fp32 on probe images, checked on this model), bf16 or bf16x3.")
    var featurePassPrecision: PrecisionRequest?
    @Flag(help: "Run the full text encoder every step instead of the exact [QA]-prefix / per-prompt text cache.") var noTextCache = false
    @Option(help: "Text positional embedding and text_projection: frozen (paper) or official (they train, as in the official code).") var textExtras: TextExtras?
    @Option(help: "Learning-rate factor of the head.") var headLrScale: Double?
    @Option(help: "AdamW weight decay.") var weightDecay: Double?
    @Option(help: "Clip the global gradient norm to this value.") var maxGradNorm: Double?
    @Option(help: "Probability of a horizontal flip of a training image.") var flipProbability: Double?
    @Flag(help: "Also train on the last incomplete batch of an epoch (official: dropped).") var keepLastBatch = false
    @Option(help: "Arithmetic of the convolution and linear products in training: fp32 (default), bf16 (bf16 inputs, fp32 accumulation; weights, optimizer, BN statistics stay fp32; needs AVX-512 BF16), auto (bf16 where the CPU has it, else fp32) or fp16 (needs AVX-512 FP16; no kernel yet).")
    var precision: TrainingPrecision?

    /// Defaults, then the `--recipe` preset, then the JSON `file`, then the architecture of the `--init` model
    /// (`initial`), then the flags given (and the command's own `threads`, `plots`, `keepTrainingState`); validated.
    func configuration(file: URL?, threads: Int?, plots: Bool, keepTrainingState: Bool,
                       initial: (config: IPIQAConfiguration, textExtras: TextExtras?)? = nil) throws -> TrainingConfiguration {
        var c = try file.map { try TrainingConfiguration.read(from: $0, recipe: recipe) } ?? recipe?.configuration ?? TrainingConfiguration()
        if let initial { c.adoptArchitecture(of: initial.config, textExtras: initial.textExtras) }
        if let epochs { c.epochs = epochs }
        if let splits { c.splits = splits }
        if let resolution { c.resolution = resolution }
        if let batchSize { c.batchSize = batchSize }
        if let microBatch { c.microBatch = microBatch }
        if let evalBatchSize { c.evalBatchSize = evalBatchSize }
        if let seed { c.seed = seed }
        if let duplicates { c.duplicates = duplicates }
        if let initStream { c.initStream = initStream }
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
        if let featurePassPrecision { c.featurePassPrecision = featurePassPrecision }
        if noTextCache { c.textCache = false }
        if let textExtras { c.textExtras = textExtras }
        if let lr { c.learningRate = lr }
        if let headLrScale { c.headLearningRateScale = headLrScale }
        if let weightDecay { c.weightDecay = weightDecay }
        if let maxGradNorm { c.maxGradNorm = maxGradNorm }
        if let flipProbability { c.flipProbability = flipProbability }
        if keepLastBatch { c.dropLast = false }
        if let precision { c.precision = precision }
        if let threads { c.threads = threads }
        if !plots { c.plots = false }
        if keepTrainingState { c.keepTrainingState = true }
        try c.validate()
        return c
    }
}
