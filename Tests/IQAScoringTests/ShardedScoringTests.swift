import Foundation
import IQAData
import IQAScoring
import IQATestSupport
import Testing

/// The tiny trained model, its scorer and a CSV of `rows` rows cycling over the two fixture images with distinct
/// prompts, all in `scratch`: what every sharded-scoring test scores.
struct ScoringFixture {
    let modelURL: URL
    let scorer: Scorer
    let csv: URL
    let rows: Int
    let requests: [ScoringRequest]

    init(in scratch: ScratchFolder, rows: Int) throws {
        let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        for name in ["score_a.png", "score_b.png"] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: scratch.file(name))
        }
        var text = "image,prompt\n"
        for r in 0..<rows { text += (r % 2 == 0 ? "score_a.png" : "score_b.png") + ",\"prompt \(r), with a comma\"\n" }
        csv = scratch.file("list.csv")
        try text.write(to: csv, atomically: true, encoding: .utf8)
        self.rows = rows
        modelURL = try TrainerFixtures.modelFile(in: scratch.url)
        scorer = try Scorer(checkpoint: modelURL)
        requests = try BatchScorer.requests(csv: csv)
    }

    /// The job description of scoring this CSV in fp32 over `shards` shards.
    func job(shards: Int, batchSize: Int, format: ScoreOutputFormat) throws -> ScoreJob {
        try ScoreJob(model: modelURL, csv: csv, rows: rows, shards: shards, batchSize: batchSize, precision: "fp32",
                     outputs: scorer.outputNames, format: format)
    }
}

@Suite("Sharded scoring: parts with row numbers, merged byte for byte into the unsharded output", .serialized)
struct ShardedScoringTests {
    @Test("shards 0…2 of 3, merged, equal the unsharded CSV and JSON Lines byte for byte (batch 2, 7 rows)")
    func mergeEqualsUnsharded() throws {
        let scratch = try ScratchFolder("sharded-scoring")
        defer { scratch.remove() }
        let fixture = try ScoringFixture(in: scratch, rows: 7)
        let requests = fixture.requests
        let batch = BatchScorer(scorer: fixture.scorer, batchSize: 2)
        for format in ScoreOutputFormat.allCases {
            let whole = try batch.run(requests, format: format)
            let job = try fixture.job(shards: 3, batchSize: 2, format: format)
            let parts = (0..<3).map { scratch.file("part-\($0).\(format.rawValue).jsonl") }
            for (i, url) in parts.enumerated().reversed() {
                try ShardedScoring.writePart(batch, requests: requests, shard: try Shard(index: i, count: 3), job: job, to: url)
            }
            let merged = try ShardedScoring.merge(parts.shuffled())
            #expect(merged == whole, "\(format)")
            // The rows carry their 1-based CSV data row: shard 1 of 3 over 4 batches holds batch 1 = rows 3, 4.
            let lines = try String(contentsOf: parts[1], encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 3 && lines[1].hasPrefix("{\"row\": 3, \"image\": \"score_a.png\"") && lines[2].hasPrefix("{\"row\": 4,"))
            // The other format from the same parts is the other unsharded output.
            let other: ScoreOutputFormat = format == .csv ? .jsonl : .csv
            #expect(try ShardedScoring.merge(parts, format: other) == batch.run(requests, format: other))
        }
    }

    @Test("merge refuses a missing shard, a shard given twice, another job's part, a cut or edited part — naming the files")
    func mergeRefusals() throws {
        let scratch = try ScratchFolder("sharded-scoring")
        defer { scratch.remove() }
        let fixture = try ScoringFixture(in: scratch, rows: 5)
        let scorer = fixture.scorer, csv = fixture.csv, requests = fixture.requests
        func parts(_ batchSize: Int, prefix: String) throws -> [URL] {
            let job = try fixture.job(shards: 3, batchSize: batchSize, format: .csv)
            return try (0..<3).map { i in
                let url = scratch.file("\(prefix)-\(i).jsonl")
                try ShardedScoring.writePart(BatchScorer(scorer: scorer, batchSize: batchSize), requests: requests,
                                             shard: try Shard(index: i, count: 3), job: job, to: url)
                return url
            }
        }
        let p = try parts(1, prefix: "part"), q = try parts(2, prefix: "other")
        func refuses(_ files: [URL], _ mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(sourceLocation: sourceLocation) { _ = try ShardedScoring.merge(files) } throws: { error in
                let m = error.localizedDescription
                return mentions.allSatisfy { m.contains($0) } && error is ScoringError
            }
        }
        refuses([p[0], p[2]], ["1 of 3 shards missing", "shard 1"])
        refuses([p[0], p[1], p[1], p[2]], [p[1].path, "both shard 1/3"])
        refuses([p[0], q[1], p[2]], [p[0].path, q[1].path, "different jobs", "batchSize: 1 ≠ 2"])
        refuses([], ["no part files"])
        refuses([csv], [csv.path, "not a part"])

        let text = try String(contentsOf: p[1], encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        let cut = scratch.file("cut.jsonl")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(to: cut, atomically: true, encoding: .utf8)
        refuses([p[0], cut, p[2]], [cut.path, "holds 1 rows, its header says 2"])
        try String(text.dropLast()).write(to: cut, atomically: true, encoding: .utf8)
        refuses([p[0], cut, p[2]], [cut.path, "cut off"])
        lines[2] = lines[1]
        let repeated = scratch.file("repeated.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: repeated, atomically: true, encoding: .utf8)
        refuses([p[0], repeated, p[2]], [repeated.path, "line 3", "row 3 was expected"])
        lines[2] = lines[1].replacingOccurrences(of: "\"row\": 2", with: "\"row\": 3").replacingOccurrences(of: "\"quality\": ", with: "\"quality\": +")
        try (lines.joined(separator: "\n") + "\n").write(to: repeated, atomically: true, encoding: .utf8)
        refuses([p[0], repeated, p[2]], [repeated.path, "line 3", "not a score row"])
        #expect(try ShardedScoring.merge(p) == BatchScorer(scorer: scorer, batchSize: 1).run(requests, format: .csv))
    }

    @Test("row lines read back exactly: every Float prints and parses to the same bits; odd names round-trip")
    func rowLinesRoundTrip() {
        var rng = SystemRandomNumberGenerator()
        let names = ["quality", "alignment"]
        for _ in 0..<2_000 {
            let v = [Float(bitPattern: UInt32.random(in: 0..<0x7F80_0000, using: &rng)), -Float.random(in: 0..<1, using: &rng)]
            let line = ScorePartHeader.rowLine(row: 12, name: "a \"b\" \\ é,\n.png", names: names, values: v)
            let r = ScorePartHeader.parseRow(line.dropLast(), names: names)
            #expect(r?.row == 12 && r?.name == "a \"b\" \\ é,\n.png" && r?.values.map(\.bitPattern) == v.map(\.bitPattern))
        }
        let nan = ScorePartHeader.rowLine(row: 1, name: "x", names: ["score"], values: [.nan])
        #expect(nan == "{\"row\": 1, \"image\": \"x\", \"score\": null}\n" && ScorePartHeader.parseRow(nan.dropLast(), names: ["score"])?.values[0].isNaN == true)
        #expect(ScorePartHeader.parseRow("{\"row\": 0, \"image\": \"x\", \"score\": 1.0}", names: ["score"]) == nil)
        #expect(ScorePartHeader.parseRow("{\"row\": 1, \"image\": \"x\", \"score\": 1.00}", names: ["score"]) == nil)
        #expect(ScorePartHeader.parseRow("{\"row\": 1, \"image\": \"x\", \"other\": 1.0}", names: ["score"]) == nil)
    }
}
