import Foundation
import IQATestSupport
import Testing

/// `mpirun -np 2 ipiqa score --csv …` (no --shard): every rank scores its share, rank 0 gathers and writes.
@Suite("mpirun -np 2 ipiqa score --csv: rank 0 gathers exactly the one-process output", .serialized)
struct ShardedScoringGatherCLITests {
    /// `mpirun` on PATH, or nil.
    static let mpirun: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    /// Runs `executable args` with launcher variables removed from the environment: (status, stdout, stderr, seconds).
    private func run(_ executable: URL, _ args: [String], environment: [String: String] = [:]) throws -> (Int32, String, String, Double) {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("OMPI_") || key.hasPrefix("PMI_") || key.hasPrefix("PMIX_") || key.hasPrefix("SLURM_"))
        }
        env.merge(environment) { $1 }
        p.environment = env
        // stderr into a file, so that neither stream can fill its pipe while the other is read.
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("ipiqa-gather-\(UUID().uuidString).err")
        guard FileManager.default.createFile(atPath: errFile.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        defer { try? FileManager.default.removeItem(at: errFile) }
        let out = Pipe(), err = try FileHandle(forWritingTo: errFile)
        p.standardOutput = out
        p.standardError = err
        let start = Date()
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try err.close()
        let e = try Data(contentsOf: errFile)
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), Date().timeIntervalSince(start))
    }

    private func mpi(_ args: [String]) -> [String] {
        ["--allow-run-as-root", "--oversubscribe", "-np", "2", Binary.url.path] + args
    }

    /// The fixture model, 3 pattern images and a CSV of 8 rows (4 batches of 2: rows 1–4 are rank 0's, 5–8 rank 1's).
    private func job(_ scratch: ScratchFolder, images: (Int) -> String? = { _ in nil }) throws -> [String] {
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        _ = try PatternImages.writePNGs(count: 3, to: scratch.url)
        let files = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).filter { $0.hasSuffix(".png") }.sorted()
        let csv = scratch.file("list.csv")
        try ("image,prompt\n" + (0..<8).map { "\(images($0) ?? files[$0 % files.count]),prompt number \($0)\n" }.joined())
            .write(to: csv, atomically: true, encoding: .utf8)
        return ["score", "--model", model.path, "--csv", csv.path, "--batch-size", "2", "--threads", "1"]
    }

    @Test("2 ranks write the one-process CSV and JSON Lines byte for byte; without --output only rank 0 prints them",
          .enabled(if: mpirun != nil, "mpirun not found on PATH (install openmpi-bin)"))
    func gatheredEqualsOneProcess() throws {
        let scratch = try ScratchFolder("cli-gathered-score")
        defer { scratch.remove() }
        let common = try job(scratch)
        for format in ["csv", "jsonl"] {
            let whole = scratch.file("whole.\(format)"), gathered = scratch.file("gathered.\(format)")
            let (s0, _, e0, _) = try run(Binary.url, common + ["--format", format, "--output", whole.path])
            #expect(s0 == 0, "\(e0)")
            let (s1, o1, e1, _) = try run(Self.mpirun!, mpi(common + ["--format", format, "--output", gathered.path]))
            #expect(s1 == 0 && o1.isEmpty, "\(o1)\n\(e1)")
            let expected = try Data(contentsOf: whole)
            #expect(try Data(contentsOf: gathered) == expected, "\(format)")
            #expect(e1.contains("rank 0 of 2: scored") && !e1.contains("rank 1"), "\(e1)")
            let (s2, o2, e2, _) = try run(Self.mpirun!, mpi(common + ["--format", format]))
            #expect(s2 == 0 && Data(o2.utf8) == expected, "\(e2)")
        }
    }

    @Test("a corrupt image in rank 1's share ends the job within seconds, naming the file and the rank; no output is written",
          .enabled(if: mpirun != nil, "mpirun not found on PATH (install openmpi-bin)"))
    func failingRankWritesNothing() throws {
        let scratch = try ScratchFolder("cli-gathered-score-bad")
        defer { scratch.remove() }
        let common = try job(scratch) { $0 == 6 ? "broken-image.png" : nil }
        try Data("not a png at all".utf8).write(to: scratch.file("broken-image.png"))
        let out = scratch.file("scores.csv")
        let (status, _, err, seconds) = try run(Self.mpirun!, mpi(common + ["--output", out.path]))
        #expect(status != 0)
        #expect(seconds < 30, "the job took \(seconds) s to end")
        #expect(err.contains("error: rank 1 of 2: ") && err.contains("broken-image.png"), "\(err.suffix(2000))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).allSatisfy { !$0.contains("scores") })
    }

    @Test("--image under mpirun with several processes is refused before any MPI starts, naming --csv")
    func singleImageRefused() throws {
        let (status, _, err, _) = try run(Binary.url, ["score", "--model", "m.safetensors", "--image", "a.png", "--prompt", "p"],
                                          environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"])
        #expect(status != 0 && err.contains("--image") && err.contains("mpirun") && err.contains("--csv"), "\(err)")
    }

    @Test("--merge under mpirun with several processes is refused (they would all write one file)")
    func mergeRefused() throws {
        let (status, _, err, _) = try run(Binary.url, ["score", "--merge", "part-0.jsonl", "--output", "out.csv"],
                                          environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0"])
        #expect(status != 0 && err.contains("--merge") && err.contains("without mpirun"), "\(err)")
    }
}
