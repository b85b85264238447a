import CLIP
import Dispatch
import Foundation
import IQAModel
import NN
import Tensor

/// The whole-model cases of `ipiqa bench` (JSON keys are the raw values). Random weights (`CLIPConfiguration.rn50`).
public enum ModelBenchmarkCase: String, Codable, Sendable, CaseIterable {
    case rn50Forward224B1 = "rn50_forward_224_b1"
    case rn50Forward224B8 = "rn50_forward_224_b8"
    case rn50Forward512B1 = "rn50_forward_512_b1"
    case rn50Forward512B8 = "rn50_forward_512_b8"
    /// Text encoder, 32 prompts padded to 77 tokens with the end-of-text token last (OpenAI's full-length pass).
    case textForwardB32L77 = "text_forward_b32_l77"
    /// Text encoder, 32 prompts of ``ModelBenchmarkConfiguration/promptLength`` tokens: both engines cut at the last EOT.
    case textForwardB32Cut = "text_forward_b32_cut"
    /// One IP-IQA training step (trunk + attention pools + MLP head + [QA] token, BN train mode, AdamW).
    case ipiqaTrain224B8 = "ipiqa_train_224_b8"
    case ipiqaTrain512B4 = "ipiqa_train_512_b4"

    public enum Kind: Equatable, Sendable {
        case imageForward(resolution: Int)
        case textForward(length: Int?)
        case trainStep(resolution: Int)
    }

    public var kind: Kind {
        switch self {
        case .rn50Forward224B1, .rn50Forward224B8: .imageForward(resolution: 224)
        case .rn50Forward512B1, .rn50Forward512B8: .imageForward(resolution: 512)
        case .textForwardB32L77: .textForward(length: 77)
        case .textForwardB32Cut: .textForward(length: nil)
        case .ipiqaTrain224B8: .trainStep(resolution: 224)
        case .ipiqaTrain512B4: .trainStep(resolution: 512)
        }
    }

    /// Images (or prompts) per call.
    public var batch: Int {
        switch self {
        case .rn50Forward224B1, .rn50Forward512B1: 1
        case .rn50Forward224B8, .rn50Forward512B8, .ipiqaTrain224B8: 8
        case .ipiqaTrain512B4: 4
        case .textForwardB32L77, .textForwardB32Cut: 32
        }
    }

    /// Whether the case honours ``ModelBenchmarkConfiguration/precision`` (inference only).
    public var isInference: Bool { if case .trainStep = kind { false } else { true } }
}

/// Options of ``ModelBenchmark``.
public struct ModelBenchmarkConfiguration: Codable, Sendable, Equatable {
    /// Timed runs per case (the median is reported).
    public var repeats: Int = 5
    /// Untimed runs first.
    public var warmup: Int = 1
    /// Inference GEMM precision for the forward cases (training is always fp32).
    public var precision: Precision = .fp32
    /// `--precision auto`: each image case calibrates its model (``CLIPModel/choosePrecision(_:resolution:calibration:upgrade:)``)
    /// and reports the plan; `precision` is then unused for images (text cases run fp32).
    public var auto: Bool = false
    /// Tokens per prompt including start and end of text for the cut-at-EOT text case and the training step.
    public var promptLength: Int = 20
    public var seed: UInt64 = 1

    public init(repeats: Int = 5, warmup: Int = 1, precision: Precision = .fp32, promptLength: Int = 20, seed: UInt64 = 1) {
        self.repeats = repeats; self.warmup = warmup; self.precision = precision
        self.promptLength = promptLength; self.seed = seed
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ModelBenchmarkConfiguration()
        repeats = try c.decodeIfPresent(Int.self, forKey: .repeats) ?? d.repeats
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup) ?? d.warmup
        precision = try c.decodeIfPresent(Precision.self, forKey: .precision) ?? d.precision
        promptLength = try c.decodeIfPresent(Int.self, forKey: .promptLength) ?? d.promptLength
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        auto = try c.decodeIfPresent(Bool.self, forKey: .auto) ?? d.auto
    }
}

/// One measured case: median wall milliseconds per call, throughput, achieved GFLOP/s (``ModelFLOPs``) and the
/// process's peak resident memory while the case ran (model weights included).
public struct ModelBenchmarkResult: Codable, Sendable {
    public var ms: Double
    /// Images (or prompts, for the text cases) per second.
    public var imagesPerSecond: Double
    public var gflops: Double
    public var peakRSSMB: Double
    /// GFLOP of one call.
    public var gflop: Double
    /// Every timed run, in milliseconds.
    public var runsMs: [Double]
    /// For 16-bit image cases: the smallest cosine similarity between an image's 16-bit and fp32 embeddings.
    public var cosineVsFP32: Double?
    /// For image cases under `--precision auto`: the plan chosen for this case's resolution, and why.
    public var precisionDecision: PrecisionDecision?
    /// Median process CPU milliseconds per call (all threads): with `threads` workers, `cpuMs / threads` is what the
    /// call would take on otherwise idle cores — a steadier figure than wall time on a shared machine.
    public var cpuMs: Double

    enum CodingKeys: String, CodingKey {
        case ms, imagesPerSecond = "images_per_s", gflops, peakRSSMB = "peak_rss_mb", gflop, runsMs = "runs_ms", cpuMs = "cpu_ms", cosineVsFP32 = "cosine_vs_fp32",
             precisionDecision = "precision_decision"
    }
}

/// Errors of the model benchmark.
public struct ModelBenchmarkError: LocalizedError, Sendable {
    public var message: String
    public var errorDescription: String? { "bench: " + message }
}

/// Whole-model benchmark behind `ipiqa bench` (see ``ModelBenchmarkCase``).
///
/// ```swift
/// let r = try ModelBenchmark.run(.rn50Forward224B1, config: ModelBenchmarkConfiguration(repeats: 5))
/// print(r.ms, r.gflops)
/// ```
public enum ModelBenchmark {
    /// Runs one case in this process. The peak-memory reading is reset first (Linux), so it covers this case only.
    public static func run(_ kase: ModelBenchmarkCase, config: ModelBenchmarkConfiguration) throws -> ModelBenchmarkResult {
        guard config.repeats >= 1, config.warmup >= 0 else {
            throw ModelBenchmarkError(message: "repeats must be ≥ 1 and warmup ≥ 0 (got \(config.repeats), \(config.warmup))")
        }
        guard (3...77).contains(config.promptLength) else {
            throw ModelBenchmarkError(message: "prompt length must be in 3...77 (got \(config.promptLength))")
        }
        // Idle pooled buffers of earlier cases would count as this case's resident memory.
        StoragePool.shared.drain()
        MemoryStats.resetPeak()
        let clipConfig = CLIPConfiguration.rn50
        var rng = SeededGenerator(seed: config.seed)
        let n = kase.batch
        let work: () throws -> Void
        let flops: Double
        var check: (() -> Double)? = nil
        var decision: PrecisionDecision? = nil
        switch kase.kind {
        case .imageForward(let resolution):
            // Batch-norm statistics calibrated on images: rounding shows as it does in a trained model.
            let clip = calibratedCLIP(clipConfig, resolution: resolution, seed: config.seed)
            let images = Tensor.randn([n, resolution, resolution, 3], using: &rng)
            if ProcessInfo.processInfo.environment["IPIQA_PACKED"] != "0" {
                if config.auto {
                    decision = try clip.choosePrecision(.auto, resolution: resolution)
                } else {
                    do { decision = try clip.choosePrecision(.forced(config.precision), resolution: resolution) }
                    catch { throw ModelBenchmarkError(message: error.localizedDescription) }
                }
            }
            work = { _ = withoutGradients { clip.encodeImage(Var(images)) } }
            if let plan = decision, plan.chosen != Precision.fp32.rawValue {
                check = {
                    let low = withoutGradients { clip.encodeImage(Var(images)) }.value
                    clip.setPrecision(.fp32)
                    defer { clip.apply(plan) }
                    let high = withoutGradients { clip.encodeImage(Var(images)) }.value
                    return minimumRowCosine(low, high)
                }
            }
            flops = ModelFLOPs.visual(clipConfig, resolution: resolution, batch: n)
        case .textForward(let fixed):
            let clip = CLIPModel(config: clipConfig, seed: config.seed)
            clip.eval()
            let length = fixed ?? config.promptLength
            let tokens = prompts(count: n, length: length, config: clipConfig, rng: &rng)
            let precision = config.precision
            work = { _ = try withoutGradients { try withPrecision(precision) { try clip.encodeText(tokens) } } }
            flops = ModelFLOPs.text(clipConfig, batch: n, length: length)
        case .trainStep(let resolution):
            var iq = IPIQAConfiguration(outputs: 2)
            iq.resolution = resolution
            let model = try IPIQAModel(clip: CLIPModel(config: clipConfig, seed: config.seed), config: iq)
            model.setMode(training: true)
            let groups = model.parameterGroups()
            let optimizer = AdamW([ParamGroup(groups.base, learningRate: 1e-5, weightDecay: 0),
                                   ParamGroup(groups.head, learningRate: 1e-4, weightDecay: 0)])
            let images = Tensor.randn([n, resolution, resolution, 3], using: &rng)
            let tokens = prompts(count: n, length: config.promptLength, config: clipConfig, rng: &rng)
            let target = Tensor.randn([n, 2], using: &rng)
            work = {
                let (scores, _) = try model.forward(Var(images), tokens: tokens)
                mseLoss(scores, Var(target)).backward()
                optimizer.step()
                optimizer.zeroGrad()
            }
            flops = ModelFLOPs.ipiqaTrainStep(clipConfig, resolution: resolution, batch: n,
                                              textLength: config.promptLength, outputs: 2)
        }
        var times: [Double] = [], cpu: [Double] = []
        for round in 0..<(config.warmup + config.repeats) {
            let t0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUSeconds()
            try work()
            if round >= config.warmup {
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                cpu.append((processCPUSeconds() - c0) * 1000)
            }
        }
        let ms = times.sorted()[times.count / 2]
        return ModelBenchmarkResult(ms: ms, imagesPerSecond: Double(n) / (ms / 1000), gflops: flops / 1e9 / (ms / 1000),
                                    peakRSSMB: Double(MemoryStats.peakResidentBytes()) / 1_048_576, gflop: flops / 1e9,
                                    runsMs: times, cosineVsFP32: check?(),
                                    precisionDecision: config.auto ? decision : nil, cpuMs: cpu.sorted()[cpu.count / 2])
    }

    /// CPU seconds used by this process so far (all threads).
    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `count` token rows of `length` tokens (start of text, random word ids, end of text last), zero-padded to 77.
    public static func prompts(count: Int, length: Int, config: CLIPConfiguration, rng: inout SeededGenerator) -> [[Int32]] {
        let sot = Int32(config.vocabSize - 2), eot = Int32(config.vocabSize - 1)
        return (0..<count).map { _ in
            var row = [Int32](repeating: 0, count: config.contextLength)
            row[0] = sot
            for i in 1..<(length - 1) { row[i] = Int32(256 + Int(rng.next() % UInt64(40_000))) }
            row[length - 1] = eot
            return row
        }
    }
}

/// Accuracy of bf16 inference against fp32 on one random RN50 IP-IQA model (eval mode).
public struct PrecisionCheckResult: Codable, Sendable {
    /// Smallest cosine similarity of image embeddings (bf16 vs fp32).
    public var embeddingCosine: Double
    /// Largest |score_bf16 − score_fp32| of the IP-IQA head outputs.
    public var maxScoreDifference: Double
    /// Largest |score_fp32| (for scale).
    public var maxScore: Double
    /// The plan checked (``PrecisionDecision/chosen``).
    public var chosen: String

    enum CodingKeys: String, CodingKey {
        case embeddingCosine = "embedding_cosine", maxScoreDifference = "max_score_difference", maxScore = "max_score", chosen
    }
}

extension ModelBenchmark {
    /// Runs `batch` probe images through an RN50 IP-IQA model (random weights, batch-norm statistics calibrated on other
    /// images, which reveals rounding as a trained model does) at `resolution` in fp32 and in `request` (`auto`: the
    /// calibrated plan).
    public static func precisionCheck(_ request: PrecisionRequest, resolution: Int = 224, batch: Int = 4,
                                      seed: UInt64 = 1) throws -> PrecisionCheckResult {
        var rng = SeededGenerator(seed: seed)
        var iq = IPIQAConfiguration(outputs: 2)
        iq.resolution = resolution
        let clip = calibratedCLIP(.rn50, resolution: resolution, seed: seed)
        let model = try IPIQAModel(clip: clip, config: iq)
        model.setMode(training: false)
        let images = CLIPModel.probeImages(count: batch, resolution: resolution, seed: seed &+ 1000)
        let tokens = prompts(count: batch, length: 20, config: .rn50, rng: &rng)
        func run() throws -> (Tensor, Tensor) {
            try withoutGradients {
                (model.clip.encodeImage(Var(images)).value, try model.forward(Var(images), tokens: tokens).scores.value)
            }
        }
        _ = try model.clip.choosePrecision(.forced(.fp32))
        let (e32, s32) = try run()
        let decision: PrecisionDecision
        do { decision = try model.clip.choosePrecision(request, resolution: resolution, calibration: PrecisionCalibration(target: .trunk)) }
        catch { throw ModelBenchmarkError(message: error.localizedDescription) }
        let (eLow, sLow) = try run()
        _ = model.clip.setPrecision(.fp32)
        var maxDiff = 0.0, maxScore = 0.0
        for i in 0..<s32.count {
            maxDiff = max(maxDiff, abs(Double(s32.pointer[i]) - Double(sLow.pointer[i])))
            maxScore = max(maxScore, abs(Double(s32.pointer[i])))
        }
        return PrecisionCheckResult(embeddingCosine: minimumRowCosine(eLow, e32), maxScoreDifference: maxDiff, maxScore: maxScore,
                                    chosen: decision.chosen)
    }

    /// A random RN50-shaped CLIP (eval mode) whose every block's last batch-norm gain is 0.5 (OpenAI's init zeroes it,
    /// which makes blocks identities) and whose batch-norm statistics are calibrated on two probe images at `resolution`.
    static func calibratedCLIP(_ config: CLIPConfiguration, resolution: Int, seed: UInt64) -> CLIPModel {
        let clip = CLIPModel(config: config, seed: seed)
        for stage in clip.visual.layers { for block in stage.items { block.bn3.weight.value.fill(0.5) } }
        let images = CLIPModel.probeImages(count: 2, resolution: resolution, seed: seed &+ 500)
        clip.visual.calibrateBatchNorm { _ = withoutGradients { clip.encodeImage(Var(images)) } }
        clip.eval()
        return clip
    }
}
