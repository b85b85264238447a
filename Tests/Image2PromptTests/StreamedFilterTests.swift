import CLIP
import Foundation
@testable import Image2Prompt
@testable import IQAData
import IQATestSupport
import Testing

/// A filter folder over `corpus` with batches of 2 and chunks of 2 batches (4 pairs), the CLIP file's checksum.
private func filterRun(_ folder: URL, corpus: URL, clipFile: URL, batchSize: Int = 2) throws -> SimilarityFilterRun {
    let identity = try FilterIdentity(clip: clipFile, corpus: corpus, options: .init(), batchSize: batchSize, chunkBatches: 2)
    return SimilarityFilterRun(folder: folder, identity: identity)
}

private func files(_ folder: URL) throws -> [String: Data] {
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("chunk-") || $0.hasPrefix("kept.") }
    return try Dictionary(uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: folder.appendingPathComponent($0))) })
}

@Suite("Image2Prompt at corpus scale: streamed corpus, sharded resumable similarity filter, kept list read per batch", .serialized)
struct StreamedFilterTests {
    @Test("streaming the corpus gives load()'s pairs in load()'s order, with 0-based indices")
    func streamEqualsLoad() throws {
        let scratch = try ScratchFolder("i2p-stream")
        defer { scratch.remove() }
        try DiffusionDBCorpus.write(at: scratch.url, parts: 3, perPart: 3, jsonInside: false)
        let loaded = try PretrainCorpus.load(scratch.url)
        var streamed: [PretrainPair] = []
        let (count, skipped) = try PretrainCorpus.stream(scratch.url) { i, pair in
            #expect(i == streamed.count)
            streamed.append(pair)
        }
        #expect(streamed == loaded.pairs && count == 9 && skipped.isEmpty)
        var limited = 0
        try PretrainCorpus.stream(scratch.url, options: .init(maxPairs: 4)) { _, _ in limited += 1 }
        #expect(limited == 4)
    }

    @Test("shards 0…2 of 3 write the unsharded run's chunk files byte for byte; the kept list is the in-memory filter's")
    func shardedEqualsUnsharded() throws {
        let scratch = try ScratchFolder("i2p-shards")
        defer { scratch.remove() }
        let corpusURL = scratch.file("corpus")
        try DiffusionDBCorpus.write(at: corpusURL, parts: 3, perPart: 5)        // 15 pairs: 4 chunks of 4
        let clipFile = scratch.file("clip.safetensors")
        try smallCLIP().save(to: clipFile)
        var config = Image2PromptConfiguration()
        config.batchSize = 2
        let trainer = try Image2PromptTrainer(clip: try CLIPModel.load(clipFile), config: config, tokenize: toyTokenizer)

        let whole = try filterRun(scratch.file("whole"), corpus: corpusURL, clipFile: clipFile)
        let report = try whole.run { try trainer.similarities($0) }
        #expect(report.pairs == 15 && report.chunks == 4 && report.chunksScored == 4)
        let sharded = try filterRun(scratch.file("sharded"), corpus: corpusURL, clipFile: clipFile)
        for i in [2, 0, 1] {
            let r = try sharded.run(shard: try Shard(index: i, count: 3)) { try trainer.similarities($0) }
            #expect(r.chunksScored == (i == 0 ? 2 : 1))
        }
        let corpus = try PretrainCorpus.load(corpusURL)
        let memory = try trainer.filter(corpus.pairs, threshold: 0)
        let sims = (memory.kept + memory.dropped).map(\.similarity).sorted()
        let threshold = (sims[7] + sims[8]) / 2
        let a = try whole.finish(threshold: threshold, dropped: scratch.file("whole-dropped.csv"))
        let b = try sharded.finish(threshold: threshold, dropped: scratch.file("sharded-dropped.csv"))
        #expect(a == b && a.pairs == 15 && a.kept == 7 && a.dropped == 8)
        #expect(try files(scratch.file("whole")) == files(scratch.file("sharded")))
        #expect(try Data(contentsOf: scratch.file("whole-dropped.csv")) == Data(contentsOf: scratch.file("sharded-dropped.csv")))

        // Same batches as the in-memory filter, so the same similarities bit for bit and the same kept pairs.
        let reference = Image2PromptFilterResult(threshold: threshold, scored: memory.kept + memory.dropped)
        let kept = try KeptPairs(folder: scratch.file("whole"))
        let entries = try (0..<kept.count).map { try kept.entry($0) }
        let expected = reference.kept.sorted { $0.pair.name < $1.pair.name }
        #expect(entries.map(\.pair) == expected.map(\.pair))
        #expect(entries.map(\.similarity.bitPattern) == expected.map(\.similarity.bitPattern))
        #expect(try kept.pairs(at: [3, 0, 3]) == [entries[3].pair, entries[0].pair, entries[3].pair])
        #expect(throws: Image2PromptError.self) { _ = try kept.entry(kept.count) }
        let csv = try String(contentsOf: scratch.file("whole-dropped.csv"), encoding: .utf8)
        #expect(csv == Image2PromptFilterResult(threshold: threshold, scored: reference.dropped.sorted { $0.pair.name < $1.pair.name }).droppedCSV())
    }

    @Test("a rerun scores only the missing chunks; finish names missing chunks; another model's folder is refused")
    func resumeAndRefusals() throws {
        let scratch = try ScratchFolder("i2p-resume")
        defer { scratch.remove() }
        let corpusURL = scratch.file("corpus")
        try DiffusionDBCorpus.write(at: corpusURL, parts: 2, perPart: 5)        // 10 pairs: chunks of 4, 4, 2
        let clipFile = scratch.file("clip.safetensors")
        try smallCLIP().save(to: clipFile)
        var calls = 0
        let fake: ([PretrainPair]) throws -> [Float] = { batch in
            calls += batch.count
            return batch.map { Float($0.prompt.split(separator: " ").last.flatMap { Int($0) } ?? 0) / 10 }
        }
        let run = try filterRun(scratch.file("f"), corpus: corpusURL, clipFile: clipFile)
        try run.run(shard: try Shard(index: 1, count: 2), similarities: fake)         // chunk 1 only
        #expect(calls == 4)
        #expect { try run.finish(threshold: 0.5, dropped: scratch.file("d.csv")) } throws: {
            $0.localizedDescription.contains("2 of 3 chunks not scored yet (chunk 0, 2") && $0.localizedDescription.contains("k mod N")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.file("d.csv").path))
        let report = try run.run(similarities: fake)
        #expect(calls == 10 && report.chunksScored == 2 && report.chunksFound == 1)
        let summary = try run.finish(threshold: 0.5, dropped: scratch.file("d.csv"))
        #expect(summary.kept == 5 && summary.dropped == 5)
        #expect(try KeptPairs(folder: scratch.file("f")).pairs(at: [0]).first?.prompt == "prompt 5")

        let other = scratch.file("other.safetensors")
        try smallCLIP(seed: 9).save(to: other)
        let mismatched = try filterRun(scratch.file("f"), corpus: corpusURL, clipFile: other)
        #expect { try mismatched.run(similarities: fake) } throws: { $0.localizedDescription.contains("another CLIP checkpoint") }
        #expect { _ = try KeptPairs(folder: scratch.file("nothing")) } throws: { $0.localizedDescription.contains("kept.tsv") }
    }

    @Test("training from the kept list on disk takes the same steps and losses as training from the array")
    func trainFromKeptList() throws {
        let scratch = try ScratchFolder("i2p-train-kept")
        defer { scratch.remove() }
        let corpusURL = scratch.file("corpus")
        try DiffusionDBCorpus.write(at: corpusURL, parts: 1, perPart: 5)
        let clipFile = scratch.file("clip.safetensors")
        try smallCLIP().save(to: clipFile)
        var config = Image2PromptConfiguration()
        config.learningRate = 1e-3; config.epochs = 2; config.batchSize = 2; config.preprocess = .squash
        let run = try filterRun(scratch.file("f"), corpus: corpusURL, clipFile: clipFile)
        try run.run { $0.map { _ in 1 } }
        try run.finish(threshold: 0.35, dropped: scratch.file("d.csv"))
        let fromDisk = try Image2PromptTrainer(clip: try CLIPModel.load(clipFile), config: config, tokenize: toyTokenizer)
            .train(try KeptPairs(folder: scratch.file("f")))
        let fromArray = try Image2PromptTrainer(clip: try CLIPModel.load(clipFile), config: config, tokenize: toyTokenizer)
            .train(try PretrainCorpus.load(corpusURL).pairs)
        #expect(fromDisk.steps == 6 && fromDisk.epochLosses == fromArray.epochLosses && fromDisk.lastLoss == fromArray.lastLoss)
    }

    @Test("the pipeline: two filter shards, then one run that finds every chunk, writes kept and dropped lists, trains and saves")
    func pipelineShardsThenRun() throws {
        let scratch = try ScratchFolder("i2p-pipeline")
        defer { scratch.remove() }
        let corpusURL = scratch.file("corpus")
        try DiffusionDBCorpus.write(at: corpusURL, parts: 2, perPart: 3)
        let clipFile = scratch.file("clip.safetensors")
        try TrainerFixtures.saveCLIP(to: clipFile)
        var pipeline = Image2PromptPipeline(clip: clipFile, corpus: corpusURL, output: scratch.file("i2p.safetensors"))
        pipeline.configuration.batchSize = 2
        pipeline.configuration.threshold = -2
        let reports = try (0..<2).map { try pipeline.filterShard(try Shard(index: $0, count: 2)) }
        #expect(reports.map(\.chunksScored) == [1, 0] && reports.allSatisfy { $0.pairs == 6 && $0.chunks == 1 })
        var lines: [String] = []
        let summary = try pipeline.run { lines.append($0) }
        #expect(summary.pairs == 6 && summary.kept == 6 && summary.dropped == 0 && summary.training.steps == 3)
        #expect(lines.contains { $0.contains("0 chunks scored, 1 found") })
        #expect(FileManager.default.fileExists(atPath: scratch.file("i2p.safetensors").path))
        #expect(try String(contentsOf: pipeline.defaultDroppedList, encoding: .utf8) == "image,similarity,prompt\n")
        #expect(try KeptPairs(folder: pipeline.defaultFilterFolder).count == 6)
    }
}
