import Foundation
import Testing
@testable import CLIP
import Tensor
import IQATestSupport

/// Scripts/fixtures_clipiqa.py: CLIP-IQA on tiny_clip.safetensors with OpenAI's model.py (attention pool without its
/// positional embedding), at the native grid, another grid and a non-square input.
struct CLIPIQAReference: Decodable {
    let tokens: [[Int32]]
    let values: [String: [Double]]
    let embeddings: [String: [[Double]]]

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        tokens = try c.decode([[Int32]].self, forKey: Key(stringValue: "tokens"))
        var values: [String: [Double]] = [:], embeddings: [String: [[Double]]] = [:]
        for key in c.allKeys where key.stringValue != "tokens" && key.stringValue != "logit_scale" {
            if key.stringValue.hasSuffix("_embedding") {
                embeddings[key.stringValue] = try c.decode([[Double]].self, forKey: key)
            } else {
                values[key.stringValue] = try c.decode([Double].self, forKey: key)
            }
        }
        self.values = values
        self.embeddings = embeddings
    }
}

@Suite("CLIP-IQA zero-shot score against a PyTorch re-implementation")
struct CLIPIQATests {
    let reference = try! JSONDecoder().decode(CLIPIQAReference.self, from: Data(contentsOf: fixtureURL("clipiqa_reference.json")))

    /// `[n, h, w, 3]`: the first `h` rows of ``PatternImages/tensor(_:size:)`` at side `w`.
    static func inputs(_ name: String) -> Tensor {
        switch name {
        case "native_64": return PatternImages.tensor(3, size: 64)
        case "grid3_96": return PatternImages.tensor(2, size: 96)
        default:
            let full = PatternImages.tensor(1, size: 96)
            let t = Tensor(uninitialized: [1, 64, 96, 3])
            for i in 0..<(64 * 96 * 3) { t.pointer[i] = full.pointer[i] }
            return t
        }
    }

    @Test("pooled embedding, cosine difference and softmax probabilities within 1e-5 of torch", arguments: ["native_64", "grid3_96", "nonsquare_64x96"])
    func parity(_ name: String) throws {
        let model = try CLIPModel.load(fixtureURL("tiny_clip.safetensors"))
        model.eval()
        let pixels = Self.inputs(name)
        let pooled = withoutGradients { model.visual.attnpool.forward(model.visual.trunk(Var(pixels)), positional: false).output.value }
        let d = pooled.shape[1]
        for (i, expected) in try #require(reference.embeddings[name + "_embedding"]).enumerated() {
            let row = (0..<d).map { Double(pooled.pointer[i * d + $0]) }
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for (a, b) in zip(row, expected) { #expect(abs(a / norm - b) <= 1e-5) }
        }
        let iqa = try CLIPIQAScorer(model: model, config: CLIPIQAConfiguration(resolution: 64))
        let scale1 = try iqa.score(pixels: pixels, antonymTokens: reference.tokens, logitScale: 1)
        for (a, b) in zip(scale1, try #require(reference.values[name + "_scale1"])) { #expect(abs(Double(a) - b) <= 1e-5) }
        let scale100 = try iqa.score(pixels: pixels, antonymTokens: reference.tokens, logitScale: 100)
        for (a, b) in zip(scale100, try #require(reference.values[name])) {
            // ≈ 1e-11 here: compare the log-odds, 100 · (c₊ − c₋), to 1e-5 · 100.
            #expect(abs(log(Double(a)) - log(b)) <= 1e-3)
        }
        // The cosine difference itself, from the probability at scale 1: logit(p) = c₊ − c₋.
        for (p, diff) in zip(scale1, try #require(reference.values[name + "_difference"])) {
            #expect(abs(log(Double(p) / (1 - Double(p))) - diff) <= 1e-5)
        }
    }

    @Test("with the positional embedding the native-grid embedding differs (the parity test can fail)")
    func positionalEmbeddingMatters() throws {
        let model = try CLIPModel.load(fixtureURL("tiny_clip.safetensors"))
        model.eval()
        let pixels = Self.inputs("native_64")
        let (with, without) = withoutGradients {
            let f = model.visual.trunk(Var(pixels))
            return (model.visual.attnpool.forward(f).output.value, model.visual.attnpool.forward(f, positional: false).output.value)
        }
        let gap = zip(with.array, without.array).map { abs($0 - $1) }.max() ?? 0
        #expect(gap > 1e-3)
    }

    @Test("softmax of the pair is σ(s (c₊ − c₋)); bad settings are refused")
    func formulaAndErrors() throws {
        #expect(abs(CLIPIQAScorer.probability(good: 0.3, bad: 0.28, logitScale: 100) - 1 / (1 + exp(-2.0))) < 1e-12)
        #expect(CLIPIQAScorer.probability(good: 0.2, bad: 0.2, logitScale: 100) == 0.5)
        let model = try CLIPModel.load(fixtureURL("tiny_clip.safetensors"))
        #expect(throws: CLIPError.self) { _ = try CLIPIQAScorer(model: model, config: CLIPIQAConfiguration(resolution: 50)) }
    }
}
