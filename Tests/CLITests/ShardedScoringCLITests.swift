import Foundation
import IQATestSupport
import Testing

/// `ipiqa score --shard` / `--merge` through the binary, as a Slurm array, mpirun or GNU parallel would run it.
@Suite("ipiqa score --shard / --merge: the merged parts are the unsharded output", .serialized)
struct ShardedScoringCLITests {
    /// Runs `ipiqa args` with `environment` added to this process's (launcher variables removed first).
    private func run(_ args: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = Binary.url
        p.arguments = args
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("OMPI_") || key.hasPrefix("PMI_") || key.hasPrefix("SLURM_"))
        }
        env.merge(environment) { $1 }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test("3 shards (given, and from Open MPI / Slurm array variables) merge into the unsharded CSV and JSON Lines byte for byte")
    func shardsMerge() throws {
        let scratch = try ScratchFolder("cli-sharded-score")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        _ = try PatternImages.writePNGs(count: 3, to: scratch.url)
        let files = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).filter { $0.hasSuffix(".png") }.sorted()
        let csv = scratch.file("list.csv")
        try ("image,prompt\n" + (0..<8).map { "\(files[$0 % files.count]),prompt number \($0)\n" }.joined())
            .write(to: csv, atomically: true, encoding: .utf8)
        let common = ["score", "--model", model.path, "--csv", csv.path, "--batch-size", "2"]
        for format in ["csv", "jsonl"] {
            let whole = scratch.file("whole.\(format)")
            let (s0, _, e0) = try run(common + ["--format", format, "--output", whole.path])
            #expect(s0 == 0, "\(e0)")
            // GNU parallel style: the index given, one thread each (the unsharded run used all cores).
            for i in 0..<3 {
                let (s, _, e) = try run(common + ["--format", format, "--threads", "1", "--shard", "\(i)/3", "--output", scratch.file("p\(i).jsonl").path])
                #expect(s == 0 && e.contains("shard \(i)/3"), "\(e)")
            }
            let merged = scratch.file("merged.\(format)")
            let (sm, _, em) = try run(["score", "--merge"] + (0..<3).map { scratch.file("p\($0).jsonl").path } + ["--output", merged.path])
            #expect(sm == 0, "\(em)")
            #expect(try Data(contentsOf: merged) == Data(contentsOf: whole), "\(format)")
        }
        // mpirun (Open MPI) and a Slurm array from id 1: '{shard}' in --output; merge to stdout.
        let launchers: [(Int) -> [String: String]] = [
            { ["OMPI_COMM_WORLD_RANK": "\($0)", "OMPI_COMM_WORLD_SIZE": "3"] },
            { ["SLURM_ARRAY_TASK_ID": "\($0 + 1)", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "3"] },
        ]
        for (k, launcher) in launchers.enumerated() {
            for i in 0..<3 {
                let (s, _, e) = try run(common + ["--shard", "auto", "--output", scratch.file("auto\(k)-{shard}.jsonl").path], environment: launcher(i))
                #expect(s == 0, "\(e)")
            }
            let (sm, out, em) = try run(["score", "--merge"] + (0..<3).map { scratch.file("auto\(k)-\($0).jsonl").path })
            let wholeCSV = try String(contentsOf: scratch.file("whole.csv"), encoding: .utf8)
            #expect(sm == 0 && out == wholeCSV, "\(em)")
        }
        // A rerun of one shard replaces its part; the merge is unchanged and no temporary file is left behind.
        // (p0…p2 hold the JSON Lines job, the last one scored above.)
        let (s, _, _) = try run(common + ["--format", "jsonl", "--shard", "1/3", "--output", scratch.file("p1.jsonl").path])
        #expect(s == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).allSatisfy { !$0.contains("partial") })
        let (sm, out, _) = try run(["score", "--merge", scratch.file("p0.jsonl").path, scratch.file("p1.jsonl").path, scratch.file("p2.jsonl").path])
        let wholeJSONL = try String(contentsOf: scratch.file("whole.jsonl"), encoding: .utf8)
        #expect(sm == 0 && out == wholeJSONL)
        // A missing part is refused, naming the gap; nothing is written.
        let (sf, _, ef) = try run(["score", "--merge", scratch.file("p0.jsonl").path, scratch.file("p2.jsonl").path, "--output", scratch.file("no.csv").path])
        #expect(sf != 0 && ef.contains("shard 1") && !FileManager.default.fileExists(atPath: scratch.file("no.csv").path), "\(ef)")
    }

    @Test("bad --shard values and flag mixes are refused by validation, naming the flag")
    func badShards() throws {
        let base = ["score", "--model", "m.safetensors", "--csv", "list.csv", "--output", "part.jsonl"]
        for bad in ["3/3", "-1/3", "1/0", "0/99999999", "a/b", "1", "2/3/4"] {
            let (s, _, e) = try run(base + ["--shard", bad])
            #expect(s != 0 && s < 128 && e.contains("--shard"), "\(bad): \(e)")
        }
        let mixes: [([String], String)] = [
            (["score", "--model", "m.safetensors", "--csv", "list.csv", "--shard", "0/2"], "--output"),
            (["score", "--model", "m.safetensors", "--image", "a.png", "--prompt", "p", "--shard", "0/2", "--output", "x.jsonl"], "--csv"),
            (["score", "--merge", "a.jsonl", "--model", "m.safetensors"], "--merge takes only"),
            (["score", "--csv", "list.csv"], "--model is required"),
        ]
        for (args, mention) in mixes {
            let (s, _, e) = try run(args)
            #expect(s != 0 && e.contains(mention), "\(args): \(e)")
        }
        // auto without a launcher, and auto with several processes but one output file.
        let (s1, _, e1) = try run(base + ["--shard", "auto"])
        #expect(s1 != 0 && e1.contains("OMPI_COMM_WORLD_RANK"), "\(e1)")
        let (s2, _, e2) = try run(base + ["--shard", "auto"], environment: ["PMI_RANK": "0", "PMI_SIZE": "2"])
        #expect(s2 != 0 && e2.contains("{shard}"), "\(e2)")
    }
}
