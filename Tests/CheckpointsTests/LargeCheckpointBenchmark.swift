import Foundation
import Testing
import Checkpoints

/// Opt-in check of a full-size archive (not committed: 250 MB); the load time is printed, never asserted (times on
/// shared machines are no pass/fail criterion). Make one with random weights in OpenAI's RN50 shape
/// (`CLIP(1024, 224, (3,4,6,3), 64, None, 77, 49408, 512, 8, 12)`, `convert_weights`, `torch.jit.trace`, `torch.jit.save`)
/// and run:
/// `IPIQA_BENCH_CHECKPOINT=/tmp/rn50.pt IPIQA_BENCH_EXPECTED=/tmp/rn50.json swift test -c release -Xswiftc -enable-testing --filter LargeCheckpoint`
/// where the JSON maps each `state_dict()` key to `[shape, float64 sum]`.
@Suite("Large checkpoint (opt-in)")
struct LargeCheckpointBenchmark {
    static let path = ProcessInfo.processInfo.environment["IPIQA_BENCH_CHECKPOINT"]

    @Test("a 100M-parameter fp16 TorchScript archive loads with the expected keys and sums (the load time is printed, not checked)",
          .enabled(if: path != nil))
    func loadLarge() throws {
        let url = URL(fileURLWithPath: Self.path!)
        let start = Date()
        let sd = try CheckpointLoader.load(url)
        let seconds = Date().timeIntervalSince(start)
        print("loaded \(sd.tensors.count) tensors, \(sd.parameterCount) values from \(url.lastPathComponent) in \(String(format: "%.2f", seconds)) s")
        if let expectedPath = ProcessInfo.processInfo.environment["IPIQA_BENCH_EXPECTED"] {
            struct Row: Decodable {
                let shape: [Int], sum: Double
                init(from d: Decoder) throws {
                    var c = try d.unkeyedContainer()
                    shape = try c.decode([Int].self); sum = try c.decode(Double.self)
                }
            }
            let expected = try JSONDecoder().decode([String: Row].self, from: Data(contentsOf: URL(fileURLWithPath: expectedPath)))
            #expect(Set(sd.keys) == Set(expected.keys))
            for (key, row) in expected {
                let t = try #require(sd.tensors[key])
                #expect(t.shape == row.shape, "\(key)")
                let sum = t.values.reduce(0.0) { $0 + Double($1) }
                let abssum = t.values.reduce(0.0) { $0 + Double(abs($1)) }
                #expect(abs(sum - row.sum) <= 1e-9 * (1 + abssum), "\(key)")
            }
        }
    }
}
