import CLIP
import Foundation
@testable import Image2Prompt
@testable import IQAData
import NN
import Tensor
import Testing
import IQATestSupport

/// The shared tiny CLIP (``TrainerFixtures/tinyCLIP``: 64 px, vocabulary 100), random, in eval mode.
func smallCLIP(seed: UInt64 = 3) -> CLIPModel {
    let model = CLIPModel(config: TrainerFixtures.tinyCLIP, seed: seed)
    model.eval()
    return model
}

/// Word-hash tokenizer for the 100-id test vocabulary: start 98, words → 1…97, end 99, zero-padded to 77.
func toyTokenizer(_ texts: [String]) -> [[Int32]] {
    texts.map { text in
        let words = text.split(separator: " ").map { w in Int32(1 + Int(w.unicodeScalars.reduce(7) { ($0 * 31 + Int($1.value)) % 9973 }) % 97) }
        let row = [Int32(98)] + words.prefix(70) + [Int32(99)]
        return row + [Int32](repeating: 0, count: 77 - row.count)
    }
}

@Suite("Image2Prompt pre-training")
struct Image2PromptTests {
    @Test("text embeddings equal direct encodeText (abs. error ≤ 1e-5; batch shapes differ) and are computed once per distinct prompt")
    func textEmbeddings() throws {
        let clip = smallCLIP()
        let trainer = try Image2PromptTrainer(clip: clip, tokenize: toyTokenizer)
        let prompts = ["a red fox", "blue sky", "a red fox"]
        let cached = try trainer.textEmbeddings(prompts)
        let direct = try withoutGradients { try clip.encodeText(toyTokenizer(prompts)) }.value
        #expect(zip(cached.array, direct.array).allSatisfy { abs($0 - $1) <= 1e-5 })
        #expect(trainer.cachedPrompts == 2)
    }

    @Test("the filter's similarities equal direct CLIPModel encodes (abs. error ≤ 1e-5) and it keeps exactly the pairs ≥ threshold")
    func filterKeepsAboveThreshold() throws {
        let scratch = try ScratchFolder("filter")
        defer { scratch.remove() }
        let root = scratch.url
        try DiffusionDBCorpus.write(at: root, parts: 2, perPart: 4)
        let corpus = try PretrainCorpus.load(root)
        let clip = smallCLIP()
        let trainer = try Image2PromptTrainer(clip: clip, tokenize: toyTokenizer)

        let images = try ImageBatch.load(corpus.pairs.map(\.image), size: 64, mode: .clip)
        let (img, txt) = try withoutGradients {
            (clip.encodeImage(Var(images)).value, try clip.encodeText(toyTokenizer(corpus.pairs.map(\.prompt))).value)
        }
        let direct = (0..<corpus.pairs.count).map { i -> Float in
            let a = Array(img.array[(i * 16)..<(i * 16 + 16)]), b = Array(txt.array[(i * 16)..<(i * 16 + 16)])
            let dot = zip(a, b).map { $0 * $1 }.reduce(0, +)
            return dot / (a.map { $0 * $0 }.reduce(0, +).squareRoot() * b.map { $0 * $0 }.reduce(0, +).squareRoot())
        }
        // Halfway between two neighbouring similarities, so that rounding differences (≤ 1e-5) between the
        // filter's batched encodes and these cannot move a pair across the threshold.
        let sorted = direct.sorted()
        let threshold = (sorted[direct.count / 2 - 1] + sorted[direct.count / 2]) / 2
        try #require(sorted[direct.count / 2] - sorted[direct.count / 2 - 1] > 1e-4)
        let result = try trainer.filter(corpus.pairs, threshold: threshold)
        let scored = (result.kept + result.dropped).sorted { $0.pair.name < $1.pair.name }
        for (s, d) in zip(scored, direct) { #expect(abs(s.similarity - d) <= 1e-5) }
        let expectedKept = corpus.pairs.indices.filter { direct[$0] >= threshold }.map { corpus.pairs[$0].name }
        #expect(result.kept.map(\.pair.name) == expectedKept)
        #expect(result.kept.count == corpus.pairs.count - corpus.pairs.count / 2 && result.total == corpus.pairs.count)
        let csv = result.droppedCSV().split(separator: "\n")
        #expect(csv.count == result.dropped.count + 1 && csv[0] == "image,similarity,prompt")
        let everything = try trainer.filter(corpus.pairs, threshold: -2)
        #expect(everything.dropped.isEmpty)
    }

    @Test("a few AdamW steps on a tiny CLIP lower the Image2Prompt loss; only visual.* parameters change")
    func stepsLowerLoss() throws {
        let scratch = try ScratchFolder("steps")
        defer { scratch.remove() }
        let root = scratch.url
        try DiffusionDBCorpus.write(at: root, parts: 1, perPart: 6)
        let corpus = try PretrainCorpus.load(root)
        let clip = smallCLIP()
        let textBefore = clip.namedParameters().filter { !$0.0.hasPrefix("visual.") }.map { ($0.0, $0.1.value.array) }
        var config = Image2PromptConfiguration()
        config.learningRate = 1e-3
        let trainer = try Image2PromptTrainer(clip: clip, config: config, tokenize: toyTokenizer)
        let images = try ImageBatch.load(corpus.pairs.map(\.image), size: 64, mode: .clip)
        let prompts = corpus.pairs.map(\.prompt)
        let before = try trainer.loss(images: images, prompts: prompts)
        var losses: [Float] = []
        for _ in 0..<8 { losses.append(try trainer.trainStep(images: images, prompts: prompts)) }
        let after = try trainer.loss(images: images, prompts: prompts)
        #expect(losses.last! < losses.first!)
        #expect(after < before)
        for (name, values) in textBefore { #expect(clip.namedParameters().first { $0.0 == name }!.1.value.array == values, "\(name)") }
    }

    @Test("train() runs epochs with progress; the written checkpoint loads with CLIPModel.load and differs only in visual.*")
    func trainAndSave() throws {
        let scratch = try ScratchFolder("save")
        defer { scratch.remove() }
        let root = scratch.url
        try DiffusionDBCorpus.write(at: root, parts: 1, perPart: 5)
        let corpus = try PretrainCorpus.load(root)
        let clip = smallCLIP()
        let original = root.appendingPathComponent("start.safetensors")
        try clip.save(to: original)
        var config = Image2PromptConfiguration()
        config.learningRate = 1e-3; config.epochs = 2; config.batchSize = 2; config.resolution = 96; config.preprocess = .squash
        let trainer = try Image2PromptTrainer(clip: try CLIPModel.load(original), config: config, tokenize: toyTokenizer)
        var steps: [Image2PromptProgress] = []
        let report = try trainer.train(corpus.pairs) { steps.append($0) }
        #expect(report.steps == 6 && steps.count == 6 && report.epochLosses.count == 2)
        #expect(steps.map(\.step) == [1, 2, 3, 1, 2, 3] && steps.last!.epoch == 2)
        let out = root.appendingPathComponent("i2p.safetensors")
        try trainer.save(to: out)

        let before = try CLIPModel.load(original), after = try CLIPModel.load(out)
        #expect(after.config == before.config)
        #expect(after.visual.attnpool.positionalEmbedding.shape == before.visual.attnpool.positionalEmbedding.shape)
        let a = Dictionary(uniqueKeysWithValues: (before.namedParameters().map { ($0.0, $0.1.value.array) } + before.namedBuffers().map { ($0.0, $0.1.array) }))
        let b = Dictionary(uniqueKeysWithValues: (after.namedParameters().map { ($0.0, $0.1.value.array) } + after.namedBuffers().map { ($0.0, $0.1.array) }))
        #expect(Set(a.keys) == Set(b.keys))
        let changed = a.keys.filter { a[$0] != b[$0] }
        #expect(!changed.isEmpty && changed.allSatisfy { $0.hasPrefix("visual.") })
        #expect(changed.contains("visual.conv1.weight") && changed.contains("visual.attnpool.c_proj.weight"))
    }

    @Test("impossible settings are rejected with a message")
    func validation() throws {
        var config = Image2PromptConfiguration()
        config.batchSize = 0
        #expect(throws: Image2PromptError.self) { try Image2PromptTrainer(clip: smallCLIP(), config: config, tokenize: toyTokenizer) }
        config = Image2PromptConfiguration(); config.resolution = 100
        #expect(throws: Image2PromptError.self) { try Image2PromptTrainer(clip: smallCLIP(), config: config, tokenize: toyTokenizer) }
        let trainer = try Image2PromptTrainer(clip: smallCLIP(), tokenize: { _ in [] })
        #expect(throws: Image2PromptError.self) { try trainer.textEmbeddings(["x"]) }
    }
}
