import CLIP
import DataParallel
import Foundation
import IQAModel
import IQATraining
import NN
import Tensor

/// Settings of ``MPIBenchmark`` (`ipiqa bench mpi`). Defaults: an allreduce of 51 M floats (the RN50 IP-IQA
/// gradient), and data-parallel training steps of RN50-sized random weights at 224 px, global batch 32.
///
/// ```swift
/// var bench = MPIBenchmarkConfiguration()
/// bench.steps = 0                      // only the allreduce
/// ```
public struct MPIBenchmarkConfiguration: Codable, Sendable, Equatable {
    /// Floats in the timed allreduce (nil: the trainable parameter count of the benchmarked model).
    public var floats: Int? = 51_000_000
    /// Timed allreduces (median reported) after one warm-up.
    public var repeats = 5
    public var resolution = 224
    public var batchSize = 32
    /// Images per forward/backward pass on each rank (the same on 1 and N ranks keeps the work per step equal).
    public var microBatch = 8
    /// Timed training steps (median reported) after one warm-up; 0 skips the step measurement.
    public var steps = 3
    /// Whether the gradient buckets start during the backward pass (``GradientReducer/overlapsBackward``); false:
    /// all of them after it, so `t_off − t_on` over the gradient allreduce alone is the fraction the overlap hides.
    public var overlap = true
    public var seed: UInt64 = 0
    public init() {}

    public func validate() throws {
        var problems: [String] = []
        if let f = floats, f < 1 { problems.append("--floats must be ≥ 1") }
        if repeats < 1 { problems.append("--repeats must be ≥ 1") }
        if steps < 0 { problems.append("--steps must be ≥ 0") }
        if resolution < 32 || resolution % 32 != 0 { problems.append("--resolution must be a positive multiple of 32") }
        if batchSize < 1 || microBatch < 1 { problems.append("--batch-size and --micro-batch must be ≥ 1") }
        guard problems.isEmpty else { throw TrainingError.invalidConfiguration(problems) }
    }
}

/// What ``MPIBenchmark/run(_:communicator:log:)`` measured (rank 0's clock, after a barrier before each timing).
public struct MPIBenchmarkResult: Codable, Sendable {
    public let config: MPIBenchmarkConfiguration
    public let ranks: Int
    public let threadsPerRank: Int
    public let floats: Int
    /// Median seconds of one in-place MPI_Allreduce (sum) of `floats` floats.
    public let allreduceSeconds: Double
    /// Ring-allreduce bus bandwidth `2(N−1)/N · 4·floats / t` in GB/s (0 with one rank).
    public let busGBps: Double
    /// Median seconds of one data-parallel step (share of the global batch, gradient buckets, AdamW), nil if not measured.
    public let stepSeconds: Double?
    /// Median seconds of the step's gradient sum alone (``GradientReducer/reduce()``: the same buckets, no backward
    /// pass), nil if steps were not measured. The hidden fraction of two runs is `(t_off − t_on) / gradientReduceSeconds`.
    public let gradientReduceSeconds: Double?
    public let trainableParameters: Int?
}

/// Times what data-parallel training adds and costs: one allreduce of a gradient-sized buffer, and whole training
/// steps with the global batch split among the ranks (``TrainingStep``, ``GradientReducer``). Run it under
/// `mpirun -np N`, and with one rank for the baseline (docs/scaling.md):
///
///     mpirun -np 2 ipiqa bench mpi --threads 1          vs          ipiqa bench mpi --threads 2
///
/// With `overlap` off the gradient buckets all start after the backward pass; with it on (training's way) during
/// it. Besides the step it times the gradient allreduce alone (the same buckets), so two runs give the share of the
/// allreduce the backward pass hides: `hidden = (t_off − t_on) / t_allreduce` (Scripts/emulated_link.sh).
///
/// ```swift
/// let result = try MPIBenchmark.run(MPIBenchmarkConfiguration(), communicator: try World.communicator())
/// ```
public enum MPIBenchmark {
    public static func run(_ bench: MPIBenchmarkConfiguration, communicator world: any Communicator,
                           log: (String) -> Void = { _ in }) throws -> MPIBenchmarkResult {
        try bench.validate()
        var stepSeconds: Double?, reduceSeconds: Double?, trainable: Int?
        if bench.steps > 0 {
            var config = TrainingConfiguration()
            config.resolution = bench.resolution
            config.batchSize = bench.batchSize
            let model = try IPIQAModel(clip: CLIPModel(config: .rn50, seed: bench.seed),
                                       config: config.modelConfiguration(outputNames: ["quality", "alignment"]))
            TrainingModes.apply(config, to: model)
            TrainingModes.setMode(model, training: true, config: config)
            let optimizer = TrainingStep.makeOptimizer(model, config: config)
            let reducer = GradientReducer(parameters: optimizer.allParameters, communicator: world)
            reducer.overlapsBackward = bench.overlap
            trainable = reducer.parameters.reduce(0) { $0 + $1.value.count }
            let share = BatchShares.range(count: bench.batchSize, rank: world.rank, size: world.size)
            var rng = SeededGenerator(seed: bench.seed &+ UInt64(world.rank))
            let vocab = model.clip.config.vocabSize, context = model.clip.config.contextLength
            let tokens = (0..<share.count).map { _ in
                ([Int32(vocab - 2)] + (0..<20).map { _ in Int32(1 + Int(rng.nextDouble() * Double(vocab - 3))) } + [Int32(vocab - 1)])
                    + [Int32](repeating: 0, count: context - 22)
            }
            let batch = StepBatch(input: .images(Tensor.randn([share.count, bench.resolution, bench.resolution, 3], using: &rng)),
                                  tokens: config.useText ? tokens : [], targets: Tensor.randn([share.count, 2], using: &rng),
                                  names: (0..<share.count).map { "image\($0)" })
            let text = TextFeatureSource(model: model)
            var times: [Double] = []
            for round in 0...bench.steps {
                try world.barrier()
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try TrainingStep.run(model: model, optimizer: optimizer, share: batch,
                                         of: StepShare(globalCount: bench.batchSize, offset: share.lowerBound),
                                         microBatch: bench.microBatch, maxGradNorm: nil, text: text, parallel: reducer)
                let t = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if round > 0 { times.append(t) }
                log("step \(round == 0 ? "warm-up" : String(round)): \(String(format: "%.3f", t)) s")
            }
            stepSeconds = median(times)
            reduceSeconds = try timeGradientReduce(reducer, repeats: bench.repeats, communicator: world)
            log("gradient allreduce alone (\(reducer.buckets.count) buckets): \(String(format: "%.4f", reduceSeconds!)) s")
        }
        let floats = bench.floats ?? trainable ?? 51_000_000
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: floats)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1)
        var times: [Double] = []
        for round in 0...bench.repeats {
            try world.barrier()
            let t0 = DispatchTime.now().uptimeNanoseconds
            try world.allreduceSum(buffer)
            let t = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if round > 0 { times.append(t) }
        }
        let allreduce = median(times)
        let n = Double(world.size)
        let bus = world.size > 1 ? 2 * (n - 1) / n * 4 * Double(floats) / allreduce / 1e9 : 0
        log("allreduce of \(floats) floats: \(String(format: "%.4f", allreduce)) s (bus \(String(format: "%.2f", bus)) GB/s)")
        return MPIBenchmarkResult(config: bench, ranks: world.size, threadsPerRank: Threading.workers, floats: floats,
                                  allreduceSeconds: allreduce, busGBps: bus, stepSeconds: stepSeconds,
                                  gradientReduceSeconds: reduceSeconds, trainableParameters: trainable)
    }

    /// Median seconds of `reducer.reduce()` over gradient-shaped zeros (one warm-up first).
    static func timeGradientReduce(_ reducer: GradientReducer, repeats: Int, communicator world: any Communicator) throws -> Double {
        var times: [Double] = []
        for round in 0...repeats {
            for p in reducer.parameters { p.grad = Tensor(zeros: p.value.shape) }
            try world.barrier()
            let t0 = DispatchTime.now().uptimeNanoseconds
            try reducer.reduce()
            if round > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
        }
        for p in reducer.parameters { p.grad = nil }
        return median(times)
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }

    /// A short human-readable summary.
    public static func table(_ r: MPIBenchmarkResult) -> String {
        var lines = ["ranks \(r.ranks) × threads \(r.threadsPerRank)"]
        if let s = r.stepSeconds {
            lines.append(String(format: "step (%d px, global batch %d, micro-batch %d, overlap ", r.config.resolution, r.config.batchSize, r.config.microBatch)
                         + (r.config.overlap ? "on" : "off") + String(format: "): %.3f s", s))
        }
        if let g = r.gradientReduceSeconds {
            lines.append(String(format: "gradient allreduce alone (%d floats in buckets): %.4f s", r.trainableParameters ?? 0, g))
        }
        lines.append(String(format: "allreduce of %d floats (%.1f MB): %.4f s, bus %.2f GB/s", r.floats, Double(r.floats) * 4 / 1e6,
                            r.allreduceSeconds, r.busGBps))
        return lines.joined(separator: "\n")
    }
}
