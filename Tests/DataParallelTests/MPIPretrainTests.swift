import Checkpoints
import Foundation
import IQATestSupport
import Testing

/// `mpirun -np 2 ipiqa pretrain` against one process with the same global batches cut into the ranks' shares as
/// micro-batches (`--micro-batch`): the same micro-batches, so the same gradients, BatchNorm statistics and steps.
@Suite("mpirun -np 2 ipiqa pretrain against one process", .serialized)
struct MPIPretrainTests {
    /// 10 image–prompt pairs (a CSV corpus), a tiny CLIP checkpoint.
    struct Corpus {
        let scratch: ScratchFolder
        let csv: URL, clip: URL

        init() throws {
            scratch = try ScratchFolder("mpi-pretrain")
            let names = (0..<10).map { "p\($0).png" }
            _ = try PatternImages.writePNGs(names, to: scratch.url)
            csv = scratch.file("corpus.csv")
            try (["image,prompt"] + names.enumerated().map { "\($0.element),a photo number \($0.offset) of \($0.offset % 3) things" })
                .joined(separator: "\n").appending("\n").write(to: csv, atomically: true, encoding: .utf8)
            clip = scratch.file("clip.safetensors")
            try TrainerFixtures.saveCLIP(to: clip)
        }

        /// 2 epochs of 2 global batches of 5 (shares of 3 and 2 on 2 ranks), 64 px, batch norm training, 1 thread.
        func arguments(out: URL) -> [String] {
            ["pretrain", "--clip", clip.path, "--corpus", csv.path, "--out", out.path, "--threshold=-2", "--epochs", "2",
             "--batch-size", "5", "--resolution", "64", "--lr", "1e-3", "--seed", "7", "--threads", "1"]
        }
    }

    /// The per-step losses of the progress lines (`… loss 0.1234 …`).
    static func loggedLosses(_ text: String) -> [Double] {
        text.split(separator: "\n").compactMap { line in
            guard line.contains(" step "), let r = line.range(of: #"loss -?[0-9.]+"#, options: .regularExpression) else { return nil }
            return Double(line[r].dropFirst("loss ".count))
        }
    }

    /// The attention pool's key bias adds the same `q·b_k` to every logit of its one query, which the softmax
    /// ignores: its gradient is exactly 0 in exact arithmetic and rounding noise (~1e-10) in floats, which AdamW's
    /// normalisation `m / (√v + ε)` turns into steps of up to the learning rate in the noise's direction. Any change
    /// of summation order (micro-batches vs ranks) changes that noise, so this one tensor is not compared.
    static let noiseDriven: Set<String> = ["visual.attnpool.k_proj.bias"]

    /// The tensor of two checkpoints that differs most (|a − b| / max(|a|∞, 1e-3)), and by how much, over every
    /// tensor but ``noiseDriven``.
    static func worstTensor(_ a: URL, _ b: URL) throws -> (name: String, difference: Double) {
        let x = try CheckpointLoader.load(a).tensors, y = try CheckpointLoader.load(b).tensors
        #expect(Set(x.keys) == Set(y.keys))
        var worst = ("", 0.0)
        for (name, t) in x where !noiseDriven.contains(name) {
            guard let u = y[name] else { continue }
            #expect(t.values.count == u.values.count, "\(name)")
            let scale = max(t.values.map { abs(Double($0)) }.max() ?? 0, 1e-3)
            let d = zip(t.values, u.values).map { abs(Double($0) - Double($1)) }.max() ?? 0
            if d / scale > worst.1 { worst = (name, d / scale) }
        }
        return worst
    }

    /// Every number of the one-line JSON summary on stdout (the last line that is a JSON object), `seconds` left out.
    static func summaryNumbers(_ text: String, scratch: URL) throws -> [Double] {
        let line = try #require(text.split(separator: "\n").last { $0.hasPrefix("{") && $0.hasSuffix("}") }, "no summary in \(text)")
        try Data(line.utf8).write(to: scratch)
        return try MPITrainingTests.numbers(scratch)
    }

    @Test("2 ranks × 1 thread equal 1 process with --micro-batch 3: checkpoint ≤ 1e-5 relative, logged losses ≤ 1e-4",
          .enabled(if: MPIJob.mpirun != nil, "mpirun not found on PATH (install openmpi-bin)"))
    func equalsMicroBatchedSingleProcess() throws {
        let corpus = try Corpus()
        defer { corpus.scratch.remove() }
        let single = corpus.scratch.file("single.safetensors"), ranks = corpus.scratch.file("mpi.safetensors")
        let (s1, o1) = try MPIJob.run(MPIJob.binary, corpus.arguments(out: single) + ["--micro-batch", "3"])
        try #require(s1 == 0, "single process: \(o1)")
        let (s2, o2) = try MPIJob.run(MPIJob.mpirun!, MPIJob.mpiArguments(ranks: 2, corpus.arguments(out: ranks)))
        try #require(s2 == 0, "mpirun: \(o2)")

        let worst = try Self.worstTensor(single, ranks)
        #expect(worst.difference <= 1e-5, "parameters after 4 steps differ by \(worst.difference) (relative) in \(worst.name)")
        // The starting checkpoint is not the result (the run trained).
        #expect(try Self.worstTensor(corpus.clip, single).difference > 1e-4)

        let a = Self.loggedLosses(o1), b = Self.loggedLosses(o2)
        #expect(a.count == 4 && b.count == 4, "step lines: \(o1.suffix(1500)) / \(o2.suffix(1500))")
        // Printed with 4 decimals: equal values may round one unit apart.
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1.0001e-4, "logged loss \(x) vs \(y)") }
        let p = try Self.summaryNumbers(o1, scratch: corpus.scratch.file("single.json"))
        let q = try Self.summaryNumbers(o2, scratch: corpus.scratch.file("mpi.json"))
        #expect(p.count == q.count && p.count >= 5, "\(p) / \(q)")
        for (x, y) in zip(p, q) { #expect(abs(x - y) <= 1e-4 * max(1, abs(x)), "summary: \(x) vs \(y)") }
    }
}
