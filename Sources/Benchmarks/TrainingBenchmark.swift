import Checkpoints
import CLIP
import Foundation
import IQAModel
import IQATraining
import NN
import Tensor

/// Settings of ``TrainingBenchmark`` (`ipiqa bench-train`). Defaults: RN50-sized random weights at 512 px, batch 32,
/// an AGIQA-3k-sized epoch of 3,000 training images, prompts of 20 tokens.
///
/// ```swift
/// var bench = TrainingBenchmarkConfiguration()
/// bench.includeFull = false            // skip the slow full fine-tuning measurement
/// ```
public struct TrainingBenchmarkConfiguration: Codable, Sendable, Equatable {
    public var resolution = 512
    public var batchSize = 32
    /// Images per measured forward/backward pass of full fine-tuning (scaled to the batch).
    public var fullMicroBatch = 2
    /// Images per measured pass with a frozen trunk (scaled to the batch).
    public var frozenMicroBatch = 32
    /// Images through the trunk when the one-time extraction is timed.
    public var extractionImages = 2
    public var promptTokens = 20
    public var epochImages = 3000
    /// Timed repetitions per measurement (the median is reported) after one warm-up.
    public var repeats = 2
    /// Measure full fine-tuning (slow: about 3 × 56 GFLOP per image).
    public var includeFull = true
    public var seed: UInt64 = 0
    public init() {}
}

/// One training mode's measured cost.
///
/// ```swift
/// let perEpoch = result.modes.first { $0.mode == "freeze-kv" }?.secondsPerEpoch
/// ```
public struct ModeTiming: Codable, Sendable {
    public let mode: String
    public let imagesPerPass: Int
    public let secondsPerPass: Double
    /// Per optimisation step of `batchSize` images: passes × pass time + one optimizer update.
    public let secondsPerStep: Double
    /// `floor(epochImages / batchSize)` steps.
    public let secondsPerEpoch: Double
    /// Analytic bound of the dominant work per image (GFLOP), see ``TrainingCost``.
    public let dominantGFLOPPerImage: Double
    /// Evaluation (forward only, no gradients, eval mode) per image.
    public let evalSecondsPerImage: Double
    /// The same pass with the full text encoder instead of the [QA] prefix cache, timed alternately with
    /// ``secondsPerPass`` on the same model and batch (nil where not measured).
    public let secondsPerPassWithoutTextCache: Double?
}

/// Results of ``TrainingBenchmark/run(_:clip:log:)`` (written as JSON by `ipiqa bench-train`).
///
/// ```swift
/// print(TrainingBenchmark.table(try TrainingBenchmark.run(TrainingBenchmarkConfiguration())))
/// ```
public struct TrainingBenchmarkResult: Codable, Sendable {
    public let config: TrainingBenchmarkConfiguration
    public let threads: Int
    public let cost: TrainingCost
    public let modes: [ModeTiming]
    /// Text path per step of `batchSize` prompts (forward + backward to [QA]): full Transformer vs prefix cache.
    public let textFullSeconds: Double, textPrefixSeconds: Double
    /// One-time costs per image: trunk forward (eval, no gradient), projections of one map.
    public let extractionSecondsPerImage: Double, projectionSecondsPerImage: Double
    /// Reading one batch of F16 entries from disk (overlapped with the previous step by the prefetcher).
    public let readFeaturesSecondsPerStep: Double, readProjectionsSecondsPerStep: Double
}

/// Measures per-step training time of full fine-tuning, `--freeze-trunk` and `--freeze-kv` on randomly initialised
/// RN50-sized weights (the numbers do not depend on weight values), and the exact text shortcut, then extrapolates
/// per epoch: `epoch = floor(epochImages / batch) × step`. One-time costs (feature extraction) are reported apart.
///
/// ```swift
/// let result = try TrainingBenchmark.run(TrainingBenchmarkConfiguration()) { print($0) }
/// ```
public enum TrainingBenchmark {
    public static func run(_ bench: TrainingBenchmarkConfiguration, clip clipConfig: CLIPConfiguration = .rn50,
                           log: (String) -> Void = { _ in }) throws -> TrainingBenchmarkResult {
        var config = TrainingConfiguration()
        config.resolution = bench.resolution
        config.batchSize = bench.batchSize
        let g = bench.resolution / 32, c = clipConfig.featureChannels, tokens = g * g + 1
        var rng = SeededGenerator(seed: bench.seed)
        let prompts = (0..<bench.batchSize).map { _ in
            [Int32(clipConfig.vocabSize - 2)] + (0..<bench.promptTokens).map { _ in Int32(1 + Int(rng.nextDouble() * Double(clipConfig.vocabSize - 3))) }
                + [Int32(clipConfig.vocabSize - 1)]
        }.map { $0 + [Int32](repeating: 0, count: max(0, clipConfig.contextLength - $0.count)) }
        let targets = Tensor.randn([bench.batchSize, 2], using: &rng)
        func model(_ configure: (inout TrainingConfiguration) -> Void) throws -> (IPIQAModel, TrainingConfiguration, AdamW) {
            var c = config
            configure(&c)
            let m = try IPIQAModel(clip: CLIPModel(config: clipConfig, seed: bench.seed), config: c.modelConfiguration(outputNames: ["quality", "alignment"]))
            TrainingModes.apply(c, to: m)
            TrainingModes.setMode(m, training: true, config: c)
            return (m, c, TrainingStep.makeOptimizer(m, config: c))
        }
        let steps = Double(bench.epochImages / bench.batchSize)
        var modes: [ModeTiming] = []
        let cost = TrainingCost(config: clipConfig, resolution: bench.resolution, pools: 2)

        func measure(_ name: String, pass: Int, gflop: Double, compareText: Bool, configure: (inout TrainingConfiguration) -> Void,
                     input: (IPIQAModel) -> ModelInput) throws {
            let (m, _, optimizer) = try model(configure)
            let text = TextFeatureSource(model: m), fullText = TextFeatureSource(model: m, enabled: false)
            _ = try text.features(prompts)     // the prefixes are a one-time cost per prompt
            let batch = StepBatch(input: input(m), tokens: Array(prompts.prefix(pass)), targets: targets.slice(rows: 0..<pass).copy(),
                                  names: (0..<pass).map { "image\($0)" })
            func trainPass(_ source: TextFeatureSource) throws {
                mseLoss(try m.scores(batch.input, text: try source.features(batch.tokens)).scores, Var(batch.targets)).backward()
            }
            // With and without the text cache alternately, so that load changes on a shared machine hit both alike.
            var cached: [Double] = [], uncached: [Double] = []
            for r in 0...max(1, bench.repeats) {
                let a = try median(0) { try trainPass(text) }
                let b = compareText ? try median(0) { try trainPass(fullText) } : 0
                if r > 0 { cached.append(a); uncached.append(b) }
            }
            let passTime = cached.sorted()[cached.count / 2]
            let withoutCache = compareText ? uncached.sorted()[uncached.count / 2] : nil
            let update = median(bench.repeats) { optimizer.step() }
            optimizer.zeroGrad()
            m.zeroGrad()
            m.setMode(training: false)
            let eval = try median(bench.repeats) {
                _ = try withoutGradients { try m.scores(batch.input, text: try text.features(batch.tokens)) }
            } / Double(pass)
            let perStep = Double(bench.batchSize) / Double(pass) * passTime + update
            modes.append(ModeTiming(mode: name, imagesPerPass: pass, secondsPerPass: passTime, secondsPerStep: perStep,
                                    secondsPerEpoch: perStep * steps, dominantGFLOPPerImage: gflop / 1e9,
                                    evalSecondsPerImage: eval, secondsPerPassWithoutTextCache: withoutCache))
            log("\(name): \(fmt(passTime)) s per pass of \(pass)" + (withoutCache.map { " (\(fmt($0)) s without the text cache)" } ?? "")
                + ", \(fmt(perStep)) s per step of \(bench.batchSize), \(fmt(perStep * steps)) s per epoch, eval \(fmt(eval)) s per image")
        }

        if bench.includeFull {
            try measure("full", pass: bench.fullMicroBatch, gflop: cost.trunkTraining + cost.kvTrainingPerImage, compareText: false,
                        configure: { _ in }) { _ in
                var r = SeededGenerator(seed: 1)
                return .images(Tensor.randn([bench.fullMicroBatch, bench.resolution, bench.resolution, 3], using: &r))
            }
        }
        try measure("freeze-trunk", pass: bench.frozenMicroBatch, gflop: cost.kvTrainingPerImage, compareText: true,
                    configure: { $0.freezeTrunk = true }) { _ in
            var r = SeededGenerator(seed: 2)
            return .features(Tensor.randn([bench.frozenMicroBatch, g, g, c], using: &r), similarity: nil)
        }
        var projected: ProjectedBatch?
        try measure("freeze-kv", pass: bench.batchSize, gflop: cost.frozenKVPerStep / Double(bench.batchSize), compareText: true,
                    configure: { $0.freezeKV = true }) { m in
            var r = SeededGenerator(seed: 3)
            let p = FrozenProjections.project(m, features: Tensor.randn([bench.batchSize, g, g, c], using: &r))
            projected = p
            return .projected(p)
        }

        // Text path alone: full encoder vs prefix cache, forward + backward to [QA].
        let (m, _, _) = try model { _ in }
        let full = try median(bench.repeats) { sum(try m.textFeature(prompts)).backward() }
        let source = TextFeatureSource(model: m)
        _ = try source.features(prompts)
        let prefix = try median(bench.repeats) { sum(try source.features(prompts)!).backward() }
        m.zeroGrad()
        log("text per step of \(bench.batchSize): full \(fmt(full)) s, [QA] prefix cache \(fmt(prefix)) s (\(fmt(full / prefix))×)")

        // One-time extraction and the disk reads of the prefetcher.
        var r = SeededGenerator(seed: 4)
        let pixels = Tensor.randn([bench.extractionImages, bench.resolution, bench.resolution, 3], using: &r)
        m.clip.visual.eval()
        let extraction = median(1) { _ = withoutGradients { m.clip.visual.trunk(Var(pixels)) } } / Double(bench.extractionImages)
        let maps = Tensor.randn([8, g, g, c], using: &r)
        let projection = median(1) { _ = FrozenProjections.project(m, features: maps) } / 8
        log("one-time per image: trunk \(fmt(extraction)) s, projections \(fmt(projection)) s")
        let (readFeatures, readProjections) = try readTimes(bench, maps: maps, projected: projected, tokens: tokens, channels: c)
        log("reading a batch of \(bench.batchSize) F16 entries: features \(fmt(readFeatures)) s, projections \(fmt(readProjections)) s")
        return TrainingBenchmarkResult(config: bench, threads: Threading.workers, cost: cost, modes: modes, textFullSeconds: full,
                                       textPrefixSeconds: prefix, extractionSecondsPerImage: extraction,
                                       projectionSecondsPerImage: projection, readFeaturesSecondsPerStep: readFeatures,
                                       readProjectionsSecondsPerStep: readProjections)
    }

    /// Writes one F16 entry of each kind, then times reading `batchSize` of them.
    private static func readTimes(_ bench: TrainingBenchmarkConfiguration, maps: Tensor, projected: ProjectedBatch?, tokens: Int,
                                  channels c: Int) throws -> (Double, Double) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipiqa-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let g = bench.resolution / 32
        let featureFile = dir.appendingPathComponent("features.safetensors"), kvFile = dir.appendingPathComponent("kv.safetensors")
        try SafetensorsWriter.write([("features", shape: [g, g, c], values: maps.slice(rows: 0..<1).array)], dtype: .f16, to: featureFile)
        let features = FeatureReader(content: .features, grid: g, channels: c, fusion: true)
        let readF = try median(bench.repeats) { _ = try features.input(Array(repeating: featureFile, count: bench.batchSize)) }
        guard let projected else { return (readF, 0) }
        try SafetensorsWriter.write(projected.item(0).map { ($0.0, shape: Array($0.1.shape.dropFirst()), values: $0.1.array) }, dtype: .f16, to: kvFile)
        let kv = FeatureReader(content: .projections, grid: g, channels: c, fusion: true)
        let readP = try median(bench.repeats) { _ = try kv.input(Array(repeating: kvFile, count: bench.batchSize)) }
        return (readF, readP)
    }

    /// Median wall time of `repeats` runs after one warm-up run (`repeats == 0`: one timed run, no warm-up).
    static func median(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        if repeats > 0 { try body() }
        var times: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }

    static func fmt(_ x: Double) -> String { String(format: x < 10 ? "%.3f" : "%.1f", x) }
}

extension TrainingBenchmark {
    /// A Markdown table of the modes (per step, per epoch, speed-up over full fine-tuning, FLOP bound) and the
    /// one-time costs.
    public static func table(_ r: TrainingBenchmarkResult) -> String {
        let c = r.config
        let steps = c.epochImages / c.batchSize
        let full = r.modes.first { $0.mode == "full" }?.secondsPerEpoch
        var lines = ["| mode | timed pass | same pass without text cache | s / step (\(c.batchSize) images) | s / epoch (\(steps) steps) | speed-up vs full | dominant GFLOP / image | eval s / image |",
                     "|---|---|---|---|---|---|---|---|"]
        for m in r.modes {
            let speedup = full.map { String(format: "%.1f×", $0 / m.secondsPerEpoch) } ?? "n/a"
            let uncached = m.secondsPerPassWithoutTextCache.map { "\(fmt($0)) s (\(String(format: "%.2f", $0 / m.secondsPerPass))×)" } ?? "—"
            lines.append("| \(m.mode) | \(m.imagesPerPass) images, \(fmt(m.secondsPerPass)) s | \(uncached) | \(fmt(m.secondsPerStep)) | \(fmt(m.secondsPerEpoch)) | \(speedup) | \(String(format: "%.2f", m.dominantGFLOPPerImage)) | \(fmt(m.evalSecondsPerImage)) |")
        }
        let cost = r.cost
        lines.append("")
        lines.append("FLOP bounds (\(c.resolution) px): trunk forward \(String(format: "%.1f", cost.trunkForward / 1e9)) GFLOP/image, "
                     + "trunk training ≈ \(String(format: "%.0f", cost.trunkTraining / 1e9)), pool k/v training \(String(format: "%.1f", cost.kvTrainingPerImage / 1e9)) GFLOP/image, "
                     + "frozen-k/v positional terms \(String(format: "%.1f", cost.frozenKVPerStep / 1e9)) GFLOP/step.")
        lines.append("Text per step of \(c.batchSize) prompts (\(c.promptTokens) tokens): full encoder \(fmt(r.textFullSeconds)) s, "
                     + "[QA] prefix cache \(fmt(r.textPrefixSeconds)) s (\(String(format: "%.1f", r.textFullSeconds / r.textPrefixSeconds))×).")
        let images = Double(c.epochImages)
        lines.append("One-time extraction: trunk \(fmt(r.extractionSecondsPerImage)) s/image (\(fmt(r.extractionSecondsPerImage * images)) s per \(c.epochImages) images and orientation), "
                     + "projections \(fmt(r.projectionSecondsPerImage)) s/image. Reading a batch of F16 entries: features \(fmt(r.readFeaturesSecondsPerStep)) s, "
                     + "projections \(fmt(r.readProjectionsSecondsPerStep)) s (prefetched during the previous step). \(r.threads) threads.")
        return lines.joined(separator: "\n")
    }
}
