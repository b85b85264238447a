import CLIP
import Foundation
import Testing
@testable import IQAModel
@testable import IQAScoring
import Tensor
import IQATestSupport

private func fixture(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
}

/// Width and height from a PNG's IHDR chunk (bytes 16–23, big-endian).
private func pngSize(_ url: URL) throws -> (Int, Int) {
    let b = [UInt8](try Data(contentsOf: url))
    guard b.count >= 24, b[1] == UInt8(ascii: "P"), b[2] == UInt8(ascii: "N"), b[3] == UInt8(ascii: "G") else { return (-1, -1) }
    func be(_ i: Int) -> Int { b[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
    return (be(16), be(20))
}

/// A scorer on the shared tiny IP-IQA model (real tokenizer vocabulary, 64 px, a 2×2 grid, 4 cross heads) saved in
/// `scratch` and loaded back from that file.
private func tinyScorer(in scratch: ScratchFolder, useText: Bool = true) throws -> Scorer {
    try Scorer(checkpoint: TrainerFixtures.modelFile(in: scratch.url, name: useText ? "tiny_ipiqa.safetensors" : "tiny_image_only.safetensors") {
        $0.useText = useText
    })
}

private func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
}

@Suite("Scoring images with a trained IP-IQA model file")
struct ScoringTests {
    let a = fixture("score_a.png"), b = fixture("score_b.png")

    @Test("one finite value per output name, in the configuration's order")
    func scoresShape() throws {
        let scratch = try ScratchFolder("scoring")
        defer { scratch.remove() }
        let scorer = try tinyScorer(in: scratch)
        #expect(scorer.outputNames == ["quality", "alignment"])
        let r = try scorer.score(files: [a, b], prompts: ["a red bicycle", "an astronaut riding a horse"])
        #expect(r.count == 2)
        #expect(r.allSatisfy { $0.values.count == 2 && $0.values.allSatisfy(\.isFinite) && $0.attention == nil })
        #expect(r[0].values != r[1].values)
    }

    @Test("scoring a batch gives each image's single-image scores (relative 1e-5)")
    func batchEqualsSingle() throws {
        let scratch = try ScratchFolder("scoring")
        defer { scratch.remove() }
        let scorer = try tinyScorer(in: scratch)
        let prompts = ["a red bicycle", "an astronaut riding a horse, highly detailed"]
        let both = try scorer.score(files: [a, b], prompts: prompts, attention: .mean)
        let first = try scorer.score(files: [a], prompts: [prompts[0]], attention: .mean)[0]
        let second = try scorer.score(files: [b], prompts: [prompts[1]], attention: .mean)[0]
        #expect(close(both[0].values, first.values) && close(both[1].values, second.values))
        #expect(close(both[0].attention!.weights, first.attention!.weights))
    }

    @Test("the loaded checkpoint scores exactly like the in-memory model's forward pass")
    func checkpointRoundTrip() throws {
        let scratch = try ScratchFolder("scoring")
        defer { scratch.remove() }
        let scorer = try tinyScorer(in: scratch)
        let again = try IPIQACheckpoint.load(scratch.file("tiny_ipiqa.safetensors")).model
        let pixels = try ImageBatch.load([a], size: 64, mode: .squash)
        let tokens = try scorer.tokenizer.tokenize(["a red bicycle"], truncate: true)
        let direct = try withoutGradients { try again.forward(Var(pixels), tokens: tokens).scores.value.array }
        #expect(try scorer.score(files: [a], prompts: ["a red bicycle"])[0].values == direct)
    }

    @Test("attention maps: the head mean is the mean of the single heads, spatial tokens only, grid = resolution / 32")
    func attentionMaps() throws {
        let scratch = try ScratchFolder("scoring")
        defer { scratch.remove() }
        let scorer = try tinyScorer(in: scratch)
        let mean = try scorer.score(files: [a], prompts: ["a cat"], attention: .mean)[0].attention!
        #expect(mean.grid == 2 && mean.weights.count == 4)
        let heads = try (0..<4).map { try scorer.score(files: [a], prompts: ["a cat"], attention: .head($0))[0].attention!.weights }
        let average = (0..<4).map { p in heads.map { $0[p] }.reduce(0, +) / 4 }
        #expect(close(mean.weights, average, tolerance: 1e-6))
        // Spatial probabilities of each head sum to 1 − P(mean token) < 1.
        for h in heads { #expect(h.reduce(0, +) < 1 && h.allSatisfy { $0 > 0 }) }
        #expect(throws: IPIQAError.self) { _ = try scorer.score(files: [a], prompts: ["a cat"], attention: .head(4)) }
    }

    @Test("batch mode: CSV rows → CSV / JSON Lines in input order, equal to single scores; overlays get the images' sizes")
    func batchMode() throws {
        let scratch = try ScratchFolder("scoring")
        defer { scratch.remove() }
        let scorer = try tinyScorer(in: scratch)
        let images = scratch.file("imgs")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: a, to: images.appendingPathComponent("a.png"))
        try FileManager.default.copyItem(at: b, to: images.appendingPathComponent("b.png"))
        let csv = scratch.file("list.csv")
        try "image,prompt\nimgs/b.png,\"a dog, running\"\nimgs/a.png,a cat\nimgs/b.png,a cat\n".write(to: csv, atomically: true, encoding: .utf8)
        let requests = try BatchScorer.requests(csv: csv)
        #expect(requests.map(\.name) == ["imgs/b.png", "imgs/a.png", "imgs/b.png"] && requests[0].prompt == "a dog, running")
        let maps = scratch.file("maps")
        var progress: [Int] = []
        let text = try BatchScorer(scorer: scorer, batchSize: 2).run(requests, format: .csv, attentionDirectory: maps) { done, _ in progress.append(done) }
        #expect(progress == [2, 3])
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4 && lines[0] == "image,quality,alignment")
        let single = try scorer.score(files: [b], prompts: ["a dog, running"])[0].values
        let row = lines[1].split(separator: ",").dropFirst().compactMap { Float(String($0)) }
        #expect(lines[1].hasPrefix("imgs/b.png,") && close(row, single))
        #expect(try pngSize(maps.appendingPathComponent("b-2.png")) == (32, 56))
        #expect(try pngSize(maps.appendingPathComponent("a.png")) == (48, 40))
        #expect(FileManager.default.fileExists(atPath: maps.appendingPathComponent("b-4.png").path))

        let jsonl = try BatchScorer(scorer: scorer, batchSize: 8).run(requests, format: .jsonl)
        let objects = try jsonl.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        #expect(objects.count == 3 && objects[0]["image"] as? String == "imgs/b.png")
        #expect(close([(objects[0]["quality"] as? Double).map(Float.init) ?? .nan], [single[0]]))
    }

    @Test("batch mode: missing images and short rows are reported with the CSV's name and line")
    func batchErrors() throws {
        let scratch = try ScratchFolder("scoring")
        defer { scratch.remove() }
        let csv = scratch.file("bad.csv")
        try "image,prompt\nnope.png,a cat\n".write(to: csv, atomically: true, encoding: .utf8)
        #expect { _ = try BatchScorer.requests(csv: csv) } throws: {
            let m = $0.localizedDescription
            return m.contains(csv.path) && m.contains(scratch.file("nope.png").path) && m.contains("line 2")
        }
        try "image,prompt\n,a cat\n".write(to: csv, atomically: true, encoding: .utf8)
        #expect { _ = try BatchScorer.requests(csv: csv) } throws: { $0.localizedDescription.contains("\(csv.path):2") }
    }

    @Test("an undecodable image fails naming the file")
    func badImage() throws {
        let scratch = try ScratchFolder("scoring")
        defer { scratch.remove() }
        let scorer = try tinyScorer(in: scratch)
        let bad = scratch.file("broken.png")
        try Data("not a png".utf8).write(to: bad)
        #expect { _ = try scorer.score(files: [a, bad], prompts: ["x", "y"]) } throws: { $0.localizedDescription.contains(bad.path) }
    }

    @Test("an image-only model scores without prompts and refuses attention maps")
    func imageOnly() throws {
        let scratch = try ScratchFolder("scoring")
        defer { scratch.remove() }
        let scorer = try tinyScorer(in: scratch, useText: false)
        #expect(!scorer.usesText)
        #expect(try scorer.score(files: [a, b], prompts: []).count == 2)
        #expect(throws: IPIQAError.imageOnlyModel(file: scorer.source)) { _ = try scorer.score(files: [a], prompts: [], attention: .mean) }
    }

    @Test("output lines: CSV fields quoted per RFC 4180, JSON strings escaped, keys in model order")
    func outputFormatting() {
        #expect(ScoreLineWriter.csvField("a,b") == "\"a,b\"" && ScoreLineWriter.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(ScoreLineWriter.csvField("plain.png") == "plain.png")
        #expect(ScoreLineWriter.jsonString("a\"b\\c\n\u{1}") == "\"a\\\"b\\\\c\\n\\u0001\"")
        #expect(ScoreLineWriter.jsonObject(names: ["quality", "alignment"], values: [0.5, .nan]) == "{\"quality\": 0.5, \"alignment\": null}")
        let w = ScoreLineWriter(names: ["score"], format: .csv)
        #expect(w.header == "image,score\n" && w.line(name: "x.png", values: [1.25]) == "x.png,1.25\n")
    }
}
