import CKernels
import Foundation
import Tensor

/// Arithmetic peak of one instruction kind on this CPU, per core and over `threads` threads (``PeakProbe``).
public struct PeakProbeResult: Codable, Sendable {
    /// `fp32-fma`, `bf16-dot` (vdpbf16ps), `fp16-fma` (AVX-512 FP16), `amx-bf16` (tdpbf16ps).
    public var unit: String
    /// Whether this CPU (and OS) runs it; when false, `reason` says why and the rates are nil.
    public var available: Bool
    public var reason: String?
    /// GFLOP/s of one thread (median of the timed runs).
    public var perCoreGFLOPs: Double?
    /// GFLOP/s of `threads` threads running at once (median of the timed runs).
    public var allThreadsGFLOPs: Double?
    public var threads: Int

    enum CodingKeys: String, CodingKey {
        case unit, available, reason, threads, perCoreGFLOPs = "per_core_gflops", allThreadsGFLOPs = "all_threads_gflops"
    }
}

/// `ipiqa bench peak`: how fast this CPU retires fp32 FMAs, bf16 dot products (vdpbf16ps), fp16 FMAs (AVX-512 FP16) and
/// AMX bf16 tile products — register-only loops (`Sources/CKernels/peak.c`), so the result is the arithmetic limit that
/// a GEMM kernel's GFLOP/s is measured against:
///
///     GFLOP/s = flops of the loop / wall seconds        (per core: 1 thread; all threads: N loops at once)
///
/// ```swift
/// for r in PeakProbe.run(threads: 2) { print(r.unit, r.perCoreGFLOPs ?? 0) }
/// ```
public enum PeakProbe {
    /// The CPU model (`model name` of /proc/cpuinfo), or "unknown".
    public static var cpuModel: String { ArithmeticRates.cpuModel }

    /// The 16-bit features the engine looks for, e.g. `AVX-512 BF16 yes, AVX-512 FP16 no, AMX-BF16 no`.
    public static var featureLine: String {
        let amx: String
        switch ipiqa_amx_status() {
        case 1: amx = "yes"
        case -1: amx = "CPU yes, not granted by the OS"
        default: amx = "no"
        }
        return "AVX-512F \(ipiqa_has_avx512f() != 0 ? "yes" : "no"), AVX-512 BF16 \(ipiqa_has_avx512bf16() != 0 ? "yes" : "no"), "
            + "AVX-512 FP16 \(ipiqa_has_avx512fp16() != 0 ? "yes" : "no"), AMX-BF16 \(amx)"
    }

    /// Measures every unit: `repeats` timed runs of about `seconds` each, per core and over `threads` threads.
    public static func run(threads: Int, repeats: Int = 3, seconds: Double = 0.2) -> [PeakProbeResult] {
        let amx = ipiqa_amx_status()
        let units: [(String, String?, @Sendable (Int) -> Double)] = [
            ("fp32-fma", ipiqa_has_avx512f() != 0 ? nil : "no AVX-512F", { ipiqa_peak_fp32($0) }),
            ("bf16-dot", ipiqa_has_avx512bf16() != 0 ? nil : "no AVX-512 BF16 (vdpbf16ps)", { ipiqa_peak_bf16($0) }),
            ("fp16-fma", ipiqa_has_avx512fp16() != 0 ? nil : "no AVX-512 FP16 (vfmadd…ph)", { ipiqa_peak_fp16($0) }),
            ("amx-bf16", amx == 1 ? nil : (amx == -1 ? "the OS did not grant the AMX tile state" : "no AMX-BF16"),
             { ipiqa_peak_amx_bf16($0) }),
        ]
        return units.map { unit, missing, probe in
            guard missing == nil else {
                return PeakProbeResult(unit: unit, available: false, reason: missing, threads: threads)
            }
            // Size the loop to about `seconds` on one thread.
            var iterations = 1 << 16
            while true {
                let t = time { _ = probe(iterations) }
                if t >= seconds / 4 || iterations >= 1 << 34 { iterations = Int(Double(iterations) * seconds / max(t, 1e-6)); break }
                iterations *= 4
            }
            iterations = max(iterations, 1 << 12)
            let single = (0..<repeats).map { _ -> Double in
                var flops = 0.0
                let t = time { flops = probe(iterations) }
                return flops / t / 1e9
            }
            let rounds = iterations
            let all = (0..<repeats).map { _ -> Double in
                let flops = PerThread(count: threads)
                let t = time {
                    DispatchQueue.concurrentPerform(iterations: threads) { i in flops.set(i, probe(rounds)) }
                }
                return flops.sum / t / 1e9
            }
            return PeakProbeResult(unit: unit, available: true, reason: nil, perCoreGFLOPs: median(single),
                                   allThreadsGFLOPs: median(all), threads: threads)
        }
    }

    /// The text table of `ipiqa bench peak`.
    public static func table(_ results: [PeakProbeResult]) -> String {
        var lines = ["CPU: \(cpuModel)", featureLine,
                     "unit        per core GFLOP/s   \(results.first?.threads ?? 1) threads GFLOP/s"]
        for r in results {
            let name = r.unit.padding(toLength: 10, withPad: " ", startingAt: 0)
            if let one = r.perCoreGFLOPs, let all = r.allThreadsGFLOPs {
                lines.append(name + String(format: " %17.1f %18.1f", one, all))
            } else {
                lines.append(name + "  skipped: " + (r.reason ?? ""))
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}

/// One value per thread, each slot written by its own thread only.
private final class PerThread: @unchecked Sendable {
    private let values: UnsafeMutableBufferPointer<Double>
    init(count: Int) { values = .allocate(capacity: count); values.initialize(repeating: 0) }
    deinit { values.deallocate() }
    func set(_ i: Int, _ v: Double) { values[i] = v }
    var sum: Double { values.reduce(0, +) }
}

/// JSON of `ipiqa bench peak --json`.
public struct PeakProbeReport: Codable, Sendable {
    public var cpu: String
    public var features: String
    public var units: [PeakProbeResult]

    public init(cpu: String, features: String, units: [PeakProbeResult]) {
        self.cpu = cpu; self.features = features; self.units = units
    }
}
