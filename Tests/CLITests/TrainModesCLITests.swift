import Foundation
import IQATestSupport
import Testing

@Suite("ipiqa train: the frozen-trunk / frozen-k/v modes through the binary", .serialized)
struct TrainModesCLITests {
    @Test("--freeze-kv --feature-cache DIR trains, writes metrics, and fills the shared cache (trunk maps and projections)")
    func freezeKV() throws {
        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        let cache = data.directory.appendingPathComponent("cache")
        var args = data.trainArguments(out: data.directory.appendingPathComponent("run"))
        args[args.firstIndex(of: "6")!] = "2"
        let (status, _, err) = try Binary.run(args + ["--freeze-kv", "--feature-cache", cache.path, "--text-extras", "frozen"])
        #expect(status == 0, "\(err)")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: data.directory.appendingPathComponent("run/metrics.json"))) as? NSDictionary
        #expect(metrics?["complete"] as? Bool == true)
        let folders = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        #expect(folders.contains { $0.hasPrefix("trunk-") } && folders.contains { $0.hasPrefix("kv-") }, "\(folders)")

        let (bad, _, badErr) = try Binary.run(args + ["--text-extras", "sometimes"])
        #expect(bad != 0 && badErr.contains("text-extras"))
    }
}
