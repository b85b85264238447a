import Foundation
import IQATestSupport
import Testing

/// `--precision` on the command line and `ipiqa bench peak`.
@Suite("ipiqa binary: --precision and bench peak", .serialized)
struct PrecisionCLITests {
    @Test("bench peak --json: CPU, features and the four units, each measured or skipped with a reason")
    func peakJSON() throws {
        let (status, out, err) = try Binary.run(["bench", "peak", "--json", "--repeats", "1", "--seconds", "0.02", "--threads", "1"])
        #expect(status == 0, "\(err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect((json["features"] as? String)?.contains("AVX-512 BF16") == true)
        let units = try #require(json["units"] as? [[String: Any]])
        #expect(units.compactMap { $0["unit"] as? String } == ["fp32-fma", "bf16-dot", "fp16-fma", "amx-bf16"])
        for u in units {
            if u["available"] as? Bool == true {
                #expect((u["per_core_gflops"] as? Double ?? 0) > 0)
            } else {
                #expect((u["reason"] as? String)?.isEmpty == false)
                print("bench peak: \(u["unit"] ?? "?") skipped: \(u["reason"] ?? "")")
            }
        }
    }

    @Test("--precision takes auto, fp32, bf16, bf16x3; anything else is a validation error naming the flag")
    func precisionValues() throws {
        let (status, _, err) = try Binary.run(["embed", "--clip", "/nonexistent.safetensors", "--prompt", "a", "--precision", "fp8"])
        #expect(status != 0 && err.contains("--precision") && err.contains("auto"))
        let (benchStatus, _, benchErr) = try Binary.run(["bench", "--precision", "half", "--cases", "rn50_forward_224_b1"])
        #expect(benchStatus != 0 && benchErr.contains("--precision"))
    }
}
