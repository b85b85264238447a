import CKernels
import Foundation

/// This CPU's bf16 multiply-add rate relative to its fp32 rate, measured once per process with the register-only
/// loops of `ipiqa bench peak` on the calling core (about 10 ms):
///
///     bf16SpeedUp = max over 5 rounds (vdpbf16ps products / s) / max over 5 rounds (fp32 FMA products / s)
///
/// The rounds alternate the two loops, and the best round of each counts, so a moment of other load does not decide.
/// Having AVX-512 BF16 is not the same as having it fast: on AMD EPYC (Zen 4) `vdpbf16ps` retires twice the fp32
/// rate (2.0), on some Intel CPUs it runs at about half of it (0.46), where bf16 inference would be slower than fp32.
/// `--precision auto` therefore asks for ``bf16SpeedUp`` before it considers a bf16 plan.
///
/// ```swift
/// if let s = ArithmeticRates.bf16SpeedUp, s >= 1.5 { /* bf16 pays off here */ }
/// ```
public enum ArithmeticRates {
    /// `model name` of /proc/cpuinfo (`unknown` where there is none), named beside every measured figure.
    public static let cpuModel: String = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }()

    /// The smallest ``bf16SpeedUp`` for which `auto` (inference and training) runs bf16 at all; the plans' cost
    /// estimates assume 2×.
    public static let worthwhileBF16SpeedUp = 1.5

    /// nil where the CPU has no AVX-512 BF16.
    public static let bf16SpeedUp: Double? = {
        guard ipiqa_has_avx512bf16() != 0 else { return nil }
        let iterations = 100_000
        _ = ipiqa_peak_fp32(iterations)  // warm up: the core settles its AVX-512 clock
        var fp32 = 0.0, bf16 = 0.0
        for _ in 0..<5 {
            fp32 = max(fp32, rate { ipiqa_peak_fp32(iterations) })
            bf16 = max(bf16, rate { ipiqa_peak_bf16(iterations) })
        }
        return fp32 > 0 ? bf16 / fp32 : nil
    }()

    /// Floating-point operations per second of one call of `probe` (which returns the operations it did).
    private static func rate(_ probe: () -> Double) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        let flops = probe()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return seconds > 0 ? flops / seconds : 0
    }
}
