import Archive
import CLIP
import Foundation
import IQAData
import IQAModel
import Tensor

/// Named constants of the default training recipe (the official IP-IQA code's optimisation values, github Coobiw/IP-IQA
/// `ipiqa/projects/agiqa3k/ipiqa.yaml`), in one place.
public enum TrainingDefaults {
    public static let epochs = 100
    public static let splits = 10
    public static let batchSize = 32
    public static let evalBatchSize = 32
    public static let seed: UInt64 = 42
    /// AdamW `init_lr`, constant schedule.
    public static let learningRate = 1e-5
    /// `head_scale`: parameters whose name contains `head` train at 10 × the base rate.
    public static let headLearningRateScale = 10.0
    public static let weightDecay = 0.0
    public static let beta1 = 0.9
    public static let beta2 = 0.999
    public static let eps = 1e-8
    /// `RandomHorizontalFlip(0.5)` of the training transform.
    public static let flipProbability = 0.5
    /// CLIP's tokenizer context, `truncate=True`.
    public static let contextLength = 77
    /// Plain progress lines (non-TTY) at most this often, seconds.
    public static let progressInterval = 30.0
    /// Images per trunk pass when cached features are extracted (`--freeze-trunk`).
    public static let featureExtractionBatch = 8
    /// Folder of the feature cache inside a run directory when none is given.
    public static let featureCacheFolder = "feature_cache"
}

/// Every knob of `ipiqa train`, JSON-codable (a config file may set any subset; absent keys take the defaults
/// below, unknown keys are an error). Defaults: the paper's model (one [QA] vector, frozen text path) with the official
/// code's optimisation values (batch 32; ``TrainingRecipe`` names the paper's and the official presets):
///
///     loss  = MSE(head(·), raw MOS)  (mean over batch and outputs)
///     AdamW(lr 1e-5 constant, head lr × 10, betas (0.9, 0.999), eps 1e-8, weight decay 0), batch 32, 100 epochs,
///     images squashed to 512² (bicubic), random horizontal flip p = 0.5 in training only, trunk BN in train mode.
///
/// ```swift
/// var config = TrainingConfiguration()
/// config.epochs = 1; config.batchSize = 8; config.microBatch = 4
/// let fromFile = try TrainingConfiguration.read(from: URL(fileURLWithPath: "train.json"))
/// ```
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    // Run.
    public var epochs = TrainingDefaults.epochs
    /// Repeated splits to train (one model each).
    public var splits = TrainingDefaults.splits
    /// nil: `official` for AGIQA-1k/3k, `grouped` for the other datasets.
    public var splitProtocol: SplitProtocol? = nil
    /// Grouped protocol fractions (validation part: the epoch choice of the honest report).
    public var grouped = GroupedSplitConfiguration()
    /// Several label rows of one image (AGIQA-1k lists one image twice): nil keeps the first (1,079 AGIQA-1k samples),
    /// `keepAll` trains and tests both rows as the official code does (1,080), `keepLast` keeps the second.
    public var duplicates: DuplicatePolicy? = nil
    /// Seed of the splits, the new layers' initialisation, shuffling, flips and dropout.
    public var seed = TrainingDefaults.seed
    /// The new layers' initialisation across splits: the same for every split (default) or one per split (official).
    public var initStream: InitStream = .restart
    /// Worker threads (nil: all cores). Results are reproducible for a fixed seed AND thread count.
    public var threads: Int? = nil
    /// Arithmetic of the convolutions' and linear layers' products (forward and backward): `fp32` (default), `bf16`
    /// (bf16 inputs, fp32 accumulation; weights, optimizer state, BN statistics and losses stay fp32), `auto` (bf16 where
    /// the CPU has AVX-512 BF16), `fp16` (refused: no kernel). See ``TrainingPrecision``.
    public var precision: TrainingPrecision = .fp32

    // Model.
    /// Input side of the model (written into its ``IPIQAConfiguration``, which is where every later stage reads it).
    public var resolution = IPIQAConfiguration.defaultResolution
    public var useText = true
    public var qaToken: IPIQAConfiguration.QAToken = .token
    /// `paper` (default) or `paper+similarity` (beyond the paper; see ``IPIQAConfiguration/Fusion``).
    public var fusion: IPIQAConfiguration.Fusion = .paper
    public var head: IPIQAConfiguration.Head = .mlp
    public var dropout: Float = 0.5
    public var crossHeads = 32

    // Training modes (what trains, and the exact shortcuts that follow; see docs/training-modes.md).
    /// Freeze the image trunk (stem + layer1–4; BatchNorm in eval mode): its layer4 maps are computed once per image
    /// and orientation, stored (``featureCache``), and training runs on them. Not the paper's recipe (it fine-tunes).
    public var freezeTrunk = false
    /// Also freeze the key/value projections of both attention pools (implies ``freezeTrunk``) and cache the
    /// projected keys/values per image: `K = W_k(X + P) + b = (W_k X + b) + W_k P`, only `W_k P` per step.
    public var freezeKV = false
    /// Folder of the feature cache (nil: `<run>/feature_cache`). Shared safely between runs: entries are keyed by the
    /// trunk's weights, the image bytes, the resolution and the orientation (and the frozen projections' weights).
    public var featureCache: String? = nil
    /// Storage precision of cached maps (`f16` halves disk and memory traffic; `f32` is bit-exact to the trunk).
    public var featurePrecision: FeaturePrecision = .f16
    /// Arithmetic of the frozen trunk's feature passes that fill the cache (inference, BatchNorm in eval mode):
    /// `fp32` (default), `auto` (the fastest plan of this CPU that keeps the embeddings' cosine ≥ 0.9999 to fp32 on
    /// probe images, calibrated on this model; ``FeaturePass``), or a forced `bf16` / `bf16x3`. The plan is part of the
    /// cache's key, so entries of different arithmetic never mix.
    public var featurePassPrecision: PrecisionRequest = .forced(.fp32)
    /// Exact text shortcuts while the text path is frozen (``TextFeatureSource``): the [QA]-token prefix cache
    /// (`qaToken == .token`) and one cached feature per prompt (`qaToken == .none`). Off: the full text pass each step.
    public var textCache = true
    /// Which bare text parameters train (`positional_embedding`, `text_projection`).
    public var textExtras: TextExtras = .frozen

    // Optimisation.
    public var batchSize = TrainingDefaults.batchSize
    /// Gradient accumulation: forward/backward `microBatch` images at a time (nil: the whole batch). BatchNorm then
    /// normalises with per-micro-batch statistics (and updates its running statistics once per micro-batch), so the
    /// result differs slightly from a true batch of `batchSize`.
    public var microBatch: Int? = nil
    public var evalBatchSize = TrainingDefaults.evalBatchSize
    public var learningRate = TrainingDefaults.learningRate
    public var headLearningRateScale = TrainingDefaults.headLearningRateScale
    public var weightDecay = TrainingDefaults.weightDecay
    public var beta1 = TrainingDefaults.beta1
    public var beta2 = TrainingDefaults.beta2
    public var eps = TrainingDefaults.eps
    /// Global gradient-norm clip (nil: none, as the official `grad_norm_clip: null`).
    public var maxGradNorm: Double? = nil
    /// Drop the last incomplete training batch of an epoch (PyTorch `drop_last=True`, official).
    public var dropLast = true
    public var flipProbability = TrainingDefaults.flipProbability

    // Output.
    /// Save a plot per run (scatter of the chosen epoch, loss/SRCC curves).
    public var plots = true
    /// Keep each split's resumable training state after the split finished (it holds the optimizer moments).
    public var keepTrainingState = false

    public init() {}

    /// The model configuration for a dataset with these outputs.
    public func modelConfiguration(outputNames: [String]) -> IPIQAConfiguration {
        var c = IPIQAConfiguration(outputs: outputNames.count, outputNames: outputNames)
        c.resolution = resolution
        c.useText = useText
        c.qaToken = qaToken
        c.fusion = fusion
        c.head = head
        c.dropout = dropout
        c.crossHeads = crossHeads
        c.seed = seed
        return c
    }

    /// Takes the architecture of a trained model (`ipiqa train --init`): resolution, prompt use, [QA] semantics,
    /// fusion, head, dropout, cross heads; `textExtras` where the model file states it (imported official models).
    public mutating func adoptArchitecture(of model: IPIQAConfiguration, textExtras extras: TextExtras? = nil) {
        resolution = model.resolution
        useText = model.useText
        qaToken = model.qaToken
        fusion = model.fusion
        head = model.head
        dropout = model.dropout
        crossHeads = model.crossHeads
        if let extras { textExtras = extras }
    }

    /// Whether the trunk is frozen and training runs on cached maps (``freezeTrunk`` or ``freezeKV``).
    public var isTrunkFrozen: Bool { freezeTrunk || freezeKV }

    /// Images per forward/backward pass.
    public var effectiveMicroBatch: Int { min(microBatch ?? batchSize, batchSize) }

    /// The protocol used for `kind` (explicit choice, or official for AGIQA, grouped for CSV).
    public func resolvedProtocol(for kind: DatasetKind) -> SplitProtocol {
        splitProtocol ?? kind.defaultProtocol
    }

    /// Throws ``TrainingError/invalidConfiguration(_:)`` listing every bad value.
    public func validate() throws {
        var problems: [String] = []
        if epochs < 1 { problems.append("epochs must be ≥ 1 (got \(epochs))") }
        if splits < 1 { problems.append("splits must be ≥ 1 (got \(splits))") }
        if let problem = CLIPConfiguration.resolutionProblem(resolution) { problems.append(problem) }
        if batchSize < 1 { problems.append("batchSize must be ≥ 1 (got \(batchSize))") }
        if let m = microBatch, m < 1 { problems.append("microBatch must be ≥ 1 (got \(m))") }
        if evalBatchSize < 1 { problems.append("evalBatchSize must be ≥ 1 (got \(evalBatchSize))") }
        if !(learningRate > 0) { problems.append("learningRate must be > 0 (got \(learningRate))") }
        if !(headLearningRateScale > 0) { problems.append("headLearningRateScale must be > 0 (got \(headLearningRateScale))") }
        if !(weightDecay >= 0) { problems.append("weightDecay must be ≥ 0 (got \(weightDecay))") }
        if !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) { problems.append("betas must lie in [0, 1) (got \(beta1), \(beta2))") }
        if !(eps > 0) { problems.append("eps must be > 0 (got \(eps))") }
        if let g = maxGradNorm, !(g > 0) { problems.append("maxGradNorm must be > 0 (got \(g))") }
        if !(dropout >= 0 && dropout < 1) { problems.append("dropout must lie in [0, 1) (got \(dropout))") }
        if !(flipProbability >= 0 && flipProbability <= 1) { problems.append("flipProbability must lie in [0, 1] (got \(flipProbability))") }
        if freezeKV && useText && fusion == .paperSimilarity {
            problems.append("freezeKV caches no input for the paper+similarity fusion's similarity features (use freezeTrunk)")
        }
        if !CLIPConfiguration.Limits.heads.contains(crossHeads) {
            problems.append("crossHeads must be in \(CLIPConfiguration.Limits.heads.lowerBound)…\(CLIPConfiguration.Limits.heads.upperBound) (got \(crossHeads))")
        }
        if let t = threads, t < 1 { problems.append("threads must be ≥ 1 (got \(t))") }
        do { _ = try precision.resolved() } catch { problems.append(error.localizedDescription) }
        if featurePassPrecision != .forced(.fp32) && !isTrunkFrozen {
            problems.append("featurePassPrecision \(featurePassPrecision) sets the arithmetic of the frozen trunk's caching passes: it needs freezeTrunk or freezeKV")
        }
        if case .forced(let p) = featurePassPrecision, !PackedWeights.isSupported(p) {
            problems.append("featurePassPrecision \(p.rawValue): " + (PrecisionUnavailable(precision: p).errorDescription ?? "unavailable on this CPU"))
        }
        if !problems.isEmpty { throw TrainingError.invalidConfiguration(problems) }
    }

    // MARK: Codable with defaults for absent keys and errors for unknown ones.

    enum CodingKeys: String, CodingKey, CaseIterable {
        case epochs, splits, splitProtocol, grouped, duplicates, seed, initStream, threads, precision, resolution, useText, qaToken, fusion, head, dropout, crossHeads
        case freezeTrunk, freezeKV, featureCache, featurePrecision, featurePassPrecision, textCache, textExtras
        case batchSize, microBatch, evalBatchSize, learningRate, headLearningRateScale, weightDecay, beta1, beta2, eps
        case maxGradNorm, dropLast, flipProbability, plots, keepTrainingState
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingConfiguration()
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        epochs = try get(.epochs, d.epochs)
        splits = try get(.splits, d.splits)
        splitProtocol = try c.decodeIfPresent(SplitProtocol.self, forKey: .splitProtocol)
        grouped = try get(.grouped, d.grouped)
        duplicates = try c.decodeIfPresent(DuplicatePolicy.self, forKey: .duplicates)
        seed = try get(.seed, d.seed)
        initStream = try get(.initStream, d.initStream)
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
        precision = try get(.precision, d.precision)
        resolution = try get(.resolution, d.resolution)
        useText = try get(.useText, d.useText)
        qaToken = try get(.qaToken, d.qaToken)
        fusion = try get(.fusion, d.fusion)
        head = try get(.head, d.head)
        dropout = try get(.dropout, d.dropout)
        crossHeads = try get(.crossHeads, d.crossHeads)
        freezeTrunk = try get(.freezeTrunk, d.freezeTrunk)
        freezeKV = try get(.freezeKV, d.freezeKV)
        featureCache = try c.decodeIfPresent(String.self, forKey: .featureCache)
        featurePrecision = try get(.featurePrecision, d.featurePrecision)
        featurePassPrecision = try get(.featurePassPrecision, d.featurePassPrecision)
        textCache = try get(.textCache, d.textCache)
        textExtras = try get(.textExtras, d.textExtras)
        batchSize = try get(.batchSize, d.batchSize)
        microBatch = try c.decodeIfPresent(Int.self, forKey: .microBatch)
        evalBatchSize = try get(.evalBatchSize, d.evalBatchSize)
        learningRate = try get(.learningRate, d.learningRate)
        headLearningRateScale = try get(.headLearningRateScale, d.headLearningRateScale)
        weightDecay = try get(.weightDecay, d.weightDecay)
        beta1 = try get(.beta1, d.beta1)
        beta2 = try get(.beta2, d.beta2)
        eps = try get(.eps, d.eps)
        maxGradNorm = try c.decodeIfPresent(Double.self, forKey: .maxGradNorm)
        dropLast = try get(.dropLast, d.dropLast)
        flipProbability = try get(.flipProbability, d.flipProbability)
        plots = try get(.plots, d.plots)
        keepTrainingState = try get(.keepTrainingState, d.keepTrainingState)
    }

    /// The JSON keys a configuration may set (an experiment grid checks its variants' settings against them).
    public static var knownKeys: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    /// Reads a JSON config file; errors name the file, unknown keys and type problems. Keys absent from the file take
    /// the values of `recipe` (``TrainingRecipe``) where one is given, else the defaults.
    public static func read(from url: URL, recipe: TrainingRecipe? = nil) throws -> TrainingConfiguration {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.badConfigFile(file: url.path, reason: FileProblem.readProblem(url, regularFileOnly: false) ?? FileProblem.describe(error))
        }
        if let key = JSONText.duplicateKey(in: data) {
            throw TrainingError.badConfigFile(file: url.path, reason: "the key '\(key)' appears twice in one object")
        }
        let keys: [String]
        do { keys = try JSONDecoder().decode(KeyList.self, from: data).keys } catch {
            throw TrainingError.badConfigFile(file: url.path, reason: "not a JSON object (\(error.localizedDescription))")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let unknown = keys.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw TrainingError.badConfigFile(file: url.path, reason: "unknown key\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")) (known: \(known.sorted().joined(separator: ", ")))")
        }
        var merged = data
        if let recipe, var object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let preset = try? JSONSerialization.jsonObject(with: recipe.configuration.jsonData()) as? [String: Any] {
            for (key, value) in preset where object[key] == nil { object[key] = value }
            merged = (try? JSONSerialization.data(withJSONObject: object)) ?? data
        }
        do { return try JSONDecoder().decode(TrainingConfiguration.self, from: merged) } catch {
            throw TrainingError.badConfigFile(file: url.path, reason: "\(error)")
        }
    }

    /// Sorted-key JSON text.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}

/// The top-level keys of a JSON object (to reject unknown configuration keys).
private struct KeyList: Decodable {
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    let keys: [String]
    init(from decoder: any Decoder) throws { keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue) }
}
