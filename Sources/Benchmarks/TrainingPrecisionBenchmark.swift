import CLIP
import Foundation
import IQAModel
import IQATraining
import NN
import Tensor

/// One full fine-tuning pass (forward + backward of the whole model on `images` images) timed in fp32 and in a 16-bit
/// ``TrainingPrecision``, alternately in one run (so load changes on a shared machine hit both alike).
///
/// ```swift
/// let r = try TrainingPrecisionBenchmark.run(resolution: 224, images: 8, repeats: 3, precision: .bf16)
/// print(r.fp32Seconds / r.sixteenSeconds)      // speed-up of the 16-bit pass
/// ```
public struct TrainingPrecisionComparison: Codable, Sendable {
    public let resolution: Int
    public let images: Int
    public let precision: TrainingPrecision
    /// Median seconds per pass (forward + backward) and per AdamW step (fp32 in both modes).
    public let fp32Seconds: Double, sixteenSeconds: Double, optimizerSeconds: Double
    /// Every timed pass, in the order run (fp32, 16-bit, fp32, …).
    public let fp32Runs: [Double], sixteenRuns: [Double]
}

/// Runs ``TrainingPrecisionComparison`` on randomly initialised RN50-sized weights (times do not depend on the values).
public enum TrainingPrecisionBenchmark {
    public static func run(resolution: Int, images: Int, repeats: Int, precision: TrainingPrecision,
                           clip clipConfig: CLIPConfiguration = .rn50, log: (String) -> Void = { _ in }) throws -> TrainingPrecisionComparison {
        let active = try precision.resolved()
        var config = TrainingConfiguration()
        config.resolution = resolution
        config.batchSize = images
        let m = try IPIQAModel(clip: CLIPModel(config: clipConfig, seed: 0), config: config.modelConfiguration(outputNames: ["quality", "alignment"]))
        TrainingModes.apply(config, to: m)
        TrainingModes.setMode(m, training: true, config: config)
        let optimizer = TrainingStep.makeOptimizer(m, config: config)
        var rng = SeededGenerator(seed: 1)
        let prompts = (0..<images).map { _ in
            ([Int32(clipConfig.vocabSize - 2)] + (0..<20).map { _ in Int32(1 + Int(rng.nextDouble() * Double(clipConfig.vocabSize - 3))) }
                + [Int32(clipConfig.vocabSize - 1)]).padded(to: clipConfig.contextLength)
        }
        let pixels = Tensor.randn([images, resolution, resolution, 3], using: &rng)
        let targets = Tensor.randn([images, 2], using: &rng)
        let text = TextFeatureSource(model: m)
        _ = try text.features(prompts)
        func pass(_ p: TrainingPrecision, keepGradients: Bool = false) throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try withTrainingPrecision(p) {
                mseLoss(try m.scores(.images(pixels), text: try text.features(prompts)).scores, Var(targets)).backward()
            }
            let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if !keepGradients { m.zeroGrad() }
            return t
        }
        _ = try pass(.fp32)
        _ = try pass(active)
        var a: [Double] = [], b: [Double] = []
        for r in 0..<max(1, repeats) {
            a.append(try pass(.fp32))
            b.append(try pass(active))
            log("repeat \(r + 1): fp32 \(TrainingBenchmark.fmt(a.last!)) s, \(active.rawValue) \(TrainingBenchmark.fmt(b.last!)) s")
        }
        _ = try pass(.fp32, keepGradients: true)  // the optimizer skips parameters without a gradient
        let update = TrainingBenchmark.median(max(1, repeats)) { optimizer.step() }
        optimizer.zeroGrad()
        func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
        return TrainingPrecisionComparison(resolution: resolution, images: images, precision: active, fp32Seconds: median(a),
                                           sixteenSeconds: median(b), optimizerSeconds: update, fp32Runs: a, sixteenRuns: b)
    }

    /// A one-paragraph Markdown summary.
    public static func summary(_ r: TrainingPrecisionComparison) -> String {
        let f = TrainingBenchmark.fmt
        return "Full fine-tuning pass (forward + backward), \(r.images) images at \(r.resolution) px: fp32 \(f(r.fp32Seconds)) s, "
            + "\(r.precision.rawValue) \(f(r.sixteenSeconds)) s (\(String(format: "%.2f", r.fp32Seconds / r.sixteenSeconds))× faster; "
            + "medians of \(r.fp32Runs.count), alternated). AdamW step (fp32 master weights): \(f(r.optimizerSeconds)) s. \(Threading.workers) threads."
    }
}

private extension Array where Element == Int32 {
    func padded(to count: Int) -> [Int32] { self + [Int32](repeating: 0, count: Swift.max(0, count - self.count)) }
}
