import Foundation
import IQATestSupport
import Testing

@Suite("ipiqa experiment and ipiqa baseline through the binary", .serialized)
struct ExperimentCLITests {
    @Test("a grid with a training variant and a baseline runs, prints the table, and a bad grid fails naming the file")
    func gridAndBaseline() throws {
        let data = try MiniAGIQA3k(trainPrompts: 7, testPrompts: 3)
        defer { data.remove() }
        let grid = data.file("grid.json")
        try """
        {"name": "cli", "clip": "\(data.clip.path)", "splits": 1, "seed": 3,
         "base": {"epochs": 1, "resolution": 64, "batchSize": 8, "evalBatchSize": 16, "crossHeads": 4, "threads": 2, "plots": false},
         "datasets": [{"name": "mini", "dataset": "agiqa-3k", "labels": "\(data.labels.path)", "root": "\(data.images.path)", "protocol": "grouped"}],
         "variants": [{"name": "image only", "config": {"useText": false}}, {"name": "ridge", "baseline": "ridge-image"}]}
        """.write(to: grid, atomically: true, encoding: .utf8)
        let out = data.file("out")
        let (status, stdout, stderr) = try Binary.run(["experiment", "--grid", grid.path, "--out", out.path])
        #expect(status == 0, "\(stderr)")
        #expect(stdout.contains("| image only |") && stdout.contains("| ridge |"))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("mini/ridge/metrics.json").path))

        // The baseline command on the grid's splits gives the grid cell's numbers.
        let single = data.file("single")
        let (s2, _, e2) = try Binary.run(["baseline", "--method", "ridge-image", "--clip", data.clip.path, "--dataset", "agiqa-3k",
                                          "--labels", data.labels.path, "--root", data.images.path, "--resolution", "64",
                                          "--splits-file", out.appendingPathComponent("mini/splits.json").path, "--out", single.path])
        #expect(s2 == 0, "\(e2)")
        let a = try String(contentsOf: single.appendingPathComponent("split_00/result.json"), encoding: .utf8)
        let b = try String(contentsOf: out.appendingPathComponent("mini/ridge/split_00/result.json"), encoding: .utf8)
        func test(_ s: String) throws -> Data {
            let o = try JSONSerialization.jsonObject(with: Data(s.utf8)) as! [String: Any]
            let h = (o["history"] as! [[String: Any]])[0]
            return try JSONSerialization.data(withJSONObject: h["test"]!, options: .sortedKeys)
        }
        #expect(try test(a) == test(b))

        try #"{"name": "bad", "datasets": [], "variants": []}"#.write(to: grid, atomically: true, encoding: .utf8)
        let (bad, _, badErr) = try Binary.run(["experiment", "--grid", grid.path, "--out", out.path])
        #expect(bad != 0 && badErr.contains(grid.path) && badErr.contains("datasets"))
    }
}
