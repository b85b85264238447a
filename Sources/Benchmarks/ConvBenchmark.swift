import Dispatch
import Foundation
import Tensor

/// Shape and timing protocol of the convolution benchmark (`ipiqa bench conv`).
///
/// Default: 3×3 convolution 256→256 channels on `[8, 56, 56, 256]`, padding 1 (CLIP RN50 layer-1 scale):
/// `2 · 8 · 56 · 56 · 256 · 256 · 9 ≈ 29.6` GFLOP per pass.
///
/// ```swift
/// let result = ConvBenchmark.run(ConvBenchmarkConfiguration(repeats: 7))
/// print(result.forwardGFLOPS)
/// ```
public struct ConvBenchmarkConfiguration: Codable, Sendable, Equatable {
    public var batch: Int = 8
    public var size: Int = 56
    public var inChannels: Int = 256
    public var outChannels: Int = 256
    public var kernel: Int = 3
    public var stride: Int = 1
    public var padding: Int = 1
    /// Timed runs per measurement (the median is reported).
    public var repeats: Int = 5
    /// Untimed runs before timing.
    public var warmup: Int = 1
    /// Rows of the reference sgemm (`rows × outChannels × kernel²·inChannels`).
    public var sgemmRows: Int = 4096
    public var seed: UInt64 = 1
    /// Floats per im2col tile (see ``ConvTuning/tileElements``).
    public var tileElements: Int = ConvTuning.tileElements

    public init(batch: Int = 8, size: Int = 56, inChannels: Int = 256, outChannels: Int = 256, kernel: Int = 3,
                stride: Int = 1, padding: Int = 1, repeats: Int = 5, warmup: Int = 1, sgemmRows: Int = 4096, seed: UInt64 = 1,
                tileElements: Int = ConvTuning.tileElements) {
        self.batch = batch; self.size = size; self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding
        self.repeats = repeats; self.warmup = warmup; self.sgemmRows = sgemmRows; self.seed = seed
        self.tileElements = tileElements
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ConvBenchmarkConfiguration()
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? d.batch
        size = try c.decodeIfPresent(Int.self, forKey: .size) ?? d.size
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? d.outChannels
        kernel = try c.decodeIfPresent(Int.self, forKey: .kernel) ?? d.kernel
        stride = try c.decodeIfPresent(Int.self, forKey: .stride) ?? d.stride
        padding = try c.decodeIfPresent(Int.self, forKey: .padding) ?? d.padding
        repeats = try c.decodeIfPresent(Int.self, forKey: .repeats) ?? d.repeats
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup) ?? d.warmup
        sgemmRows = try c.decodeIfPresent(Int.self, forKey: .sgemmRows) ?? d.sgemmRows
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        tileElements = try c.decodeIfPresent(Int.self, forKey: .tileElements) ?? d.tileElements
    }

    /// Throws ``TensorError/invalidArgument(operation:message:)`` for sizes the benchmark cannot run.
    public func validate() throws {
        let positive = [("batch", batch), ("size", size), ("in-channels", inChannels), ("out-channels", outChannels),
                        ("kernel", kernel), ("stride", stride), ("repeats", repeats), ("sgemm-rows", sgemmRows),
                        ("tile-elements", tileElements)]
        for (name, v) in positive where v < 1 {
            throw TensorError.invalidArgument(operation: "bench conv", message: "\(name) must be ≥ 1 (got \(v))")
        }
        if padding < 0 || warmup < 0 {
            throw TensorError.invalidArgument(operation: "bench conv", message: "padding and warmup must be ≥ 0")
        }
        if size + 2 * padding < kernel {
            throw TensorError.invalidArgument(operation: "bench conv",
                                              message: "kernel \(kernel) is larger than the padded input \(size + 2 * padding)")
        }
    }

    /// Output side length.
    public var outSize: Int { (size + 2 * padding - kernel) / stride + 1 }
    /// Floating-point operations of one pass (forward, backward-data and backward-weights each cost this).
    public var flopsPerPass: Double {
        2 * Double(batch * outSize * outSize) * Double(outChannels) * Double(kernel * kernel * inChannels)
    }
}

/// Measured throughput of `ipiqa bench conv` in GFLOP/s (median of the timed runs).
public struct ConvBenchmarkResult: Codable, Sendable {
    public var forwardGFLOPS: Double
    public var backwardDataGFLOPS: Double
    public var backwardWeightGFLOPS: Double
    /// Plain sgemm of `sgemmRows × outChannels × kernel²·inChannels` (the GEMM inside the convolution).
    public var sgemmGFLOPS: Double
    public var gflopPerPass: Double
    /// The same four rates computed from process CPU time × threads instead of wall time (forward, backward data,
    /// backward weights, sgemm): what the kernels would reach on otherwise idle cores (spinning threads count).
    public var cpuNormalized: [Double]
    /// OpenBLAS kernel family in use (see ``BLASCoreOverride/coreName()``).
    public var blasCore: String

    enum CodingKeys: String, CodingKey {
        case forwardGFLOPS = "forward_gflops", backwardDataGFLOPS = "backward_data_gflops"
        case backwardWeightGFLOPS = "backward_weight_gflops", sgemmGFLOPS = "sgemm_gflops"
        case gflopPerPass = "gflop_per_pass", cpuNormalized = "cpu_normalized_gflops", blasCore = "blas_core"
    }
}

/// The convolution benchmark. Further cases (other kernels, whole networks) get their own `…Benchmark` types.
public enum ConvBenchmark {
    /// Runs forward, backward-data (frozen weight) and backward-weights (input without gradient) passes of the
    /// configured convolution, and a plain sgemm of the same inner GEMM shape.
    public static func run(_ config: ConvBenchmarkConfiguration) throws -> ConvBenchmarkResult {
        try config.validate()
        var rng = SeededGenerator(seed: config.seed)
        let c = config
        let xt = Tensor.randn([c.batch, c.size, c.size, c.inChannels], using: &rng)
        let wt = Tensor.kaimingUniform([c.outChannels, c.kernel, c.kernel, c.inChannels],
                                       fanIn: c.kernel * c.kernel * c.inChannels, using: &rng)
        let gt = Tensor.randn([c.batch, c.outSize, c.outSize, c.outChannels], using: &rng)

        let k = c.kernel * c.kernel * c.inChannels
        let a = Tensor.randn([c.sgemmRows, k], using: &rng)
        let out = Tensor(uninitialized: [c.sgemmRows, c.outChannels])

        // Each case's `prepare` does the untimed set-up (e.g. the recorded forward pass) and returns the timed work.
        let cases: [() -> () -> Void] = [
            { { _ = withoutGradients { conv2d(Var(xt), Var(wt), bias: nil, stride: c.stride, padding: c.padding, tileElements: c.tileElements) } } },
            {
                let y = conv2d(Var(xt, requiresGrad: true), Var(wt), bias: nil, stride: c.stride, padding: c.padding, tileElements: c.tileElements)
                return { y.backward(seed: gt) }
            },
            {
                let y = conv2d(Var(xt), Var(wt, requiresGrad: true), bias: nil, stride: c.stride, padding: c.padding, tileElements: c.tileElements)
                return { y.backward(seed: gt) }
            },
            { { sgemm(transB: true, m: c.sgemmRows, n: c.outChannels, k: k, a: a.pointer, b: wt.pointer, c: out.pointer) } },
        ]
        let times = medians(cases, repeats: c.repeats, warmup: c.warmup)
        let gemmFlops = 2 * Double(c.sgemmRows) * Double(c.outChannels) * Double(k)
        let g = c.flopsPerPass / 1e9, threads = Double(Threading.workers)
        let flops = [g, g, g, gemmFlops / 1e9]
        let wall = (0..<4).map { flops[$0] / times[$0].wall }
        let cpu = (0..<4).map { flops[$0] / times[$0].cpu * threads }
        return ConvBenchmarkResult(forwardGFLOPS: wall[0], backwardDataGFLOPS: wall[1], backwardWeightGFLOPS: wall[2],
                                   sgemmGFLOPS: wall[3], gflopPerPass: g, cpuNormalized: cpu,
                                   blasCore: BLASCoreOverride.coreName())
    }

    /// Median wall and CPU seconds of each case over `repeats` rounds after `warmup` untimed rounds. Rounds
    /// interleave the cases, so that a change in machine load affects all of them alike.
    static func medians(_ cases: [() -> () -> Void], repeats: Int, warmup: Int) -> [Timing] {
        var wall = [[Double]](repeating: [], count: cases.count), cpu = wall
        for round in 0..<(warmup + repeats) {
            for (i, prepare) in cases.enumerated() {
                let work = prepare()
                let t0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUSeconds()
                work()
                guard round >= warmup else { continue }
                wall[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                cpu[i].append(processCPUSeconds() - c0)
            }
        }
        return (0..<cases.count).map { i in
            let w = wall[i].sorted(), u = cpu[i].sorted()
            return Timing(wall: w[w.count / 2], cpu: u[u.count / 2])
        }
    }

    /// Wall-clock and process CPU seconds of one measurement.
    struct Timing {
        var wall: Double
        var cpu: Double
    }

    /// CPU time consumed by this process (all threads), in seconds.
    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

extension ConvBenchmark {
    /// The text report of `ipiqa bench conv`: the settings line, then wall and CPU-normalised GFLOP/s of forward,
    /// backward data, backward weights and the plain sgemm.
    public static func table(_ result: ConvBenchmarkResult, config c: ConvBenchmarkConfiguration) -> String {
        var lines = ["conv \(c.kernel)×\(c.kernel) stride \(c.stride) pad \(c.padding), \(c.inChannels)→\(c.outChannels) channels on "
                     + "\(c.batch)×\(c.size)×\(c.size): \(String(format: "%.1f", result.gflopPerPass)) GFLOP per pass, "
                     + "\(Threading.workers) threads, median of \(c.repeats), OpenBLAS core \(BLASCoreOverride.coreName())"]
        let gemmShape = "\(c.sgemmRows)×\(c.outChannels)×\(c.kernel * c.kernel * c.inChannels)"
        let rows = [("forward", result.forwardGFLOPS), ("backward data", result.backwardDataGFLOPS),
                    ("backward weights", result.backwardWeightGFLOPS), ("sgemm \(gemmShape)", result.sgemmGFLOPS)]
        lines.append("".padding(toLength: 24, withPad: " ", startingAt: 0) + "   wall GFLOP/s   cpu-normalised")
        for (k, (name, v)) in rows.enumerated() {
            lines.append(name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%13.1f %16.1f", v, result.cpuNormalized[k]))
        }
        return lines.joined(separator: "\n")
    }

    /// A hint when OpenBLAS runs its generic kernels (nil otherwise).
    public static func genericKernelNote(_ result: ConvBenchmarkResult) -> String? {
        guard result.blasCore == "Prescott" else { return nil }
        return "note: OpenBLAS uses its generic Prescott kernels; "
            + "OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2) is ~3-5× faster where the CPU has them"
    }
}
