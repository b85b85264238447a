import Foundation
import Testing
@testable import CLIP
import Tensor
import IQATestSupport

/// Scripts/fixtures_inference.py: CLIPScore of tiny_clip.safetensors computed with OpenAI's model.py and PIL.
struct CLIPScoreReference: Decodable {
    let tokens: [[Int32]]
    let png_cosine: [Double]
    let png_score: [Double]
    let pattern_cosine: [Double]
    let pattern_score: [Double]
}

@Suite("CLIPScore = 2.5 · max(cos, 0) against a torch reference")
struct CLIPScoreTests {
    let reference = try! JSONDecoder().decode(CLIPScoreReference.self, from: Data(contentsOf: fixtureURL("clipscore_reference.json")))

    @Test("preprocessed pattern images: cosine and score within 1e-5 of torch")
    func patterns() throws {
        let scorer = try CLIPScorer(model: CLIPModel.load(fixtureURL("tiny_clip.safetensors")))
        let r = try scorer.score(pixels: PatternImages.tensor(2, size: 64), tokens: reference.tokens)
        for i in 0..<2 {
            #expect(abs(Double(r[i].cosine) - reference.pattern_cosine[i]) <= 1e-5)
            #expect(abs(Double(r[i].score) - reference.pattern_score[i]) <= 1e-5)
        }
        #expect(r[0].score == 0 && r[0].cosine < 0, "negative cosine clamps to 0")
    }

    @Test("a PNG through CLIP preprocessing (resize 80×70 → crop 64): within 1e-5 of torch + PIL")
    func pngFile() throws {
        let scorer = try CLIPScorer(model: CLIPModel.load(fixtureURL("tiny_clip.safetensors")))
        let url = fixtureURL("clipscore_image.png")
        let pixels = try ImageBatch.load([url, url], size: scorer.resolution, mode: .clip)
        let r = try scorer.score(pixels: pixels, tokens: reference.tokens)
        for i in 0..<2 {
            #expect(abs(Double(r[i].cosine) - reference.png_cosine[i]) <= 1e-5)
            #expect(abs(Double(r[i].score) - reference.png_score[i]) <= 1e-5)
        }
    }

    @Test("the score is w · max(c, 0) and mismatched counts throw")
    func formulaAndErrors() throws {
        #expect(CLIPScorer.score(cosine: 0.3) == 2.5 * 0.3)
        #expect(CLIPScorer.score(cosine: -0.3) == 0)
        #expect(CLIPScorer.score(cosine: 0.3, weight: 1) == 0.3)
        let scorer = try CLIPScorer(model: CLIPModel.load(fixtureURL("tiny_clip.safetensors")))
        #expect(throws: CLIPError.self) { _ = try scorer.score(pixels: PatternImages.tensor(1, size: 64), tokens: reference.tokens) }
    }

    @Test("a missing image file fails naming the file")
    func badImage() throws {
        let scorer = try CLIPScorer(model: CLIPModel.load(fixtureURL("tiny_clip.safetensors")))
        let url = fixtureURL("tiny_clip_reference.json")
        #expect { _ = try scorer.score(files: [url], prompts: ["a"]) } throws: { $0.localizedDescription.contains(url.path) }
    }
}
