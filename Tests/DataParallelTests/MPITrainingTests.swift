import Checkpoints
import Foundation
import IQATestSupport
import Testing

/// `mpirun` and the built `ipiqa` binary (SwiftPM builds it next to the test bundle).
enum MPIJob {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("ipiqa")
    }

    /// `mpirun` on PATH, or nil.
    static let mpirun: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    /// Runs `executable args` to completion: (status, stdout + stderr).
    static func run(_ executable: URL, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }

    /// `ipiqa args` on `ranks` ranks on this machine (as root too, more ranks than cores allowed).
    static func mpiArguments(ranks: Int, _ args: [String]) -> [String] {
        ["--allow-run-as-root", "--oversubscribe", "-np", String(ranks), binary.path] + args
    }
}

extension MiniAGIQA3k {
    /// One step per epoch (36 training images, global batch 32, last partial batch dropped), 64 px, 1 thread per rank.
    func dataParallelArguments(out: URL, epochs: Int) -> [String] {
        ["train", "--clip", clip.path, "--dataset", "agiqa-3k", "--labels", labels.path, "--root", images.path,
         "--epochs", String(epochs), "--splits", "1", "--resolution", "64", "--batch-size", "32", "--cross-heads", "2",
         "--lr", "1e-3", "--threads", "1", "--out", out.path, "--no-plots"]
    }
}

@Suite("mpirun -np 2 ipiqa train against one process", .serialized)
struct MPITrainingTests {
    /// Largest |a − b| / max(|a|∞, 1e-3) over the tensors of two model files (names must match).
    static func relativeDifference(_ a: URL, _ b: URL) throws -> Double {
        let x = try CheckpointLoader.load(a).tensors, y = try CheckpointLoader.load(b).tensors
        #expect(Set(x.keys) == Set(y.keys))
        var worst = 0.0
        for (name, t) in x {
            guard let u = y[name] else { continue }
            let p = t.values, q = u.values
            #expect(p.count == q.count, "\(name)")
            let scale = max(p.map { abs(Double($0)) }.max() ?? 0, 1e-3)
            let d = zip(p, q).map { abs(Double($0) - Double($1)) }.max() ?? 0
            worst = max(worst, d / scale)
        }
        return worst
    }

    /// Every number of two JSON documents, in document order (keys sorted).
    static func numbers(_ url: URL) throws -> [Double] {
        func walk(_ v: Any) -> [Double] {
            if let d = v as? [String: Any] { return d.keys.sorted().filter { $0 != "seconds" }.flatMap { walk(d[$0]!) } }
            if let a = v as? [Any] { return a.flatMap(walk) }
            if let n = v as? NSNumber, !(v is Bool) { return [n.doubleValue] }
            return []
        }
        return walk(try JSONSerialization.jsonObject(with: Data(contentsOf: url)))
    }

    @Test("2 ranks × 1 thread equal 1 process with --micro-batch 16: parameters after each step ≤ 1e-5 relative, metrics.json ≤ 1e-4",
          .enabled(if: MPIJob.mpirun != nil, "mpirun not found on PATH (install openmpi-bin)"))
    func equalsMicroBatchedSingleProcess() throws {
        let data = try MiniAGIQA3k(trainPrompts: 6, testPrompts: 3)
        defer { data.remove() }
        for epochs in [1, 2] {                // one step per epoch: the final model after `epochs` steps
            let single = data.directory.appendingPathComponent("single\(epochs)")
            let (s1, o1) = try MPIJob.run(MPIJob.binary, data.dataParallelArguments(out: single, epochs: epochs) + ["--micro-batch", "16"])
            #expect(s1 == 0, "single process: \(o1)")
            let ranks = data.directory.appendingPathComponent("mpi\(epochs)")
            let (s2, o2) = try MPIJob.run(MPIJob.mpirun!, MPIJob.mpiArguments(ranks: 2, data.dataParallelArguments(out: ranks, epochs: epochs)))
            #expect(s2 == 0, "mpirun: \(o2)")
            let model = "split_00/model_final.safetensors"
            let d = try Self.relativeDifference(single.appendingPathComponent(model), ranks.appendingPathComponent(model))
            #expect(d <= 1e-5, "parameters after step \(epochs) differ by \(d) (relative)")
            guard epochs == 2 else { continue }
            let a = try Self.numbers(single.appendingPathComponent("metrics.json"))
            let b = try Self.numbers(ranks.appendingPathComponent("metrics.json"))
            #expect(a.count == b.count && a.count > 10)
            for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-4 * max(1, abs(x)), "metrics.json: \(x) vs \(y)") }
        }
    }

    @Test("--freeze-trunk: 2 ranks share the feature cache's computation (each its share) and equal 1 process ≤ 1e-5",
          .enabled(if: MPIJob.mpirun != nil, "mpirun not found on PATH (install openmpi-bin)"))
    func frozenTrunkSharedCache() throws {
        let data = try MiniAGIQA3k(trainPrompts: 6, testPrompts: 3)
        defer { data.remove() }
        let args = { (out: URL) in data.dataParallelArguments(out: out, epochs: 1) + ["--freeze-trunk"] }
        let single = data.directory.appendingPathComponent("single"), ranks = data.directory.appendingPathComponent("mpi")
        let (s1, o1) = try MPIJob.run(MPIJob.binary, args(single) + ["--micro-batch", "16"])
        #expect(s1 == 0, "single process: \(o1)")
        let (s2, o2) = try MPIJob.run(MPIJob.mpirun!, MPIJob.mpiArguments(ranks: 2, args(ranks)))
        #expect(s2 == 0, "mpirun: \(o2)")
        // Rank 0 reports only the entries it computed: about half of what one process computes.
        func cached(_ text: String) -> Int? {
            guard let r = text.range(of: #"cached \d+ "#, options: .regularExpression) else { return nil }
            return Int(text[r].dropFirst("cached ".count).dropLast())
        }
        let all = try #require(cached(o1), "no cache report in: \(o1.suffix(2000))")
        let rank0 = try #require(cached(o2), "no cache report in: \(o2.suffix(2000))")
        #expect(rank0 > 0 && rank0 < all, "rank 0 computed \(rank0) of \(all) entries")
        func entries(_ run: URL) throws -> Int {
            let cache = run.appendingPathComponent("feature_cache")
            return try FileManager.default.subpathsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".safetensors") }.count
        }
        #expect(try entries(ranks) == entries(single))
        let model = "split_00/model_final.safetensors"
        let d = try Self.relativeDifference(single.appendingPathComponent(model), ranks.appendingPathComponent(model))
        #expect(d <= 1e-5, "parameters differ by \(d) (relative)")
    }

    @Test("a rank that hits a corrupt image ends the job within seconds, naming the file; the last checkpoint stays whole",
          .enabled(if: MPIJob.mpirun != nil, "mpirun not found on PATH (install openmpi-bin)"))
    func failingRankEndsTheJob() throws {
        let data = try MiniAGIQA3k(trainPrompts: 6, testPrompts: 3)
        defer { data.remove() }
        let out = data.directory.appendingPathComponent("run")
        let p = Process()
        p.executableURL = MPIJob.mpirun!
        p.arguments = MPIJob.mpiArguments(ranks: 2, data.dataParallelArguments(out: out, epochs: 1000) + ["--keep-training-state"])
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let state = out.appendingPathComponent("split_00/training_state.safetensors")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: state.path) && p.isRunning && Date() < deadline { usleep(20_000) }
        #expect(p.isRunning, "the job ended before an image could be corrupted")
        // Every training image is corrupted: whichever rank loads one next fails.
        let victims = try FileManager.default.contentsOfDirectory(atPath: data.images.path).sorted()
        for v in victims { try Data("not a png at all".utf8).write(to: data.images.appendingPathComponent(v)) }
        let corrupted = Date()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(corrupted)
        let text = String(decoding: output, as: UTF8.self)
        #expect(p.terminationStatus != 0)
        #expect(seconds < 30, "the job took \(seconds) s to end")
        #expect(victims.contains { text.contains($0) }, "no image named in: \(text.suffix(2000))")
        #expect(text.contains("rank "), "the failing rank is not named: \(text.suffix(2000))")
        // The last complete checkpoint is whole and loads; metrics.json parses.
        _ = try CheckpointLoader.load(state)
        _ = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json")))
    }
}
