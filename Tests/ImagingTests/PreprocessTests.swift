import Foundation
import Testing
@testable import Imaging

private struct PreprocessFixture: Decodable {
    struct Case: Decodable {
        let srcWidth: Int, srcHeight: Int, size: Int
        let mode: String
        let geometryFnv1a64: String
        let samples: [[Double]]
        let floats: String?
    }
    let cases: [Case]
}

@Suite("CLIP / squash preprocessing equals PIL resize + torchvision crop + numpy normalisation")
struct PreprocessTests {
    @Test("clip, squash and none match the Python reference: geometry bit-exact, floats within 1e-6")
    func matchesReference() throws {
        let fixture = try Fixtures.json("preprocess.json", as: PreprocessFixture.self)
        for c in fixture.cases {
            let label = "\(c.mode) \(c.srcWidth)x\(c.srcHeight)→\(c.size)"
            guard let mode = PreprocessMode(rawValue: c.mode) else {
                Issue.record("unknown mode \(c.mode)")
                continue
            }
            let source = try proceduralImage(width: c.srcWidth, height: c.srcHeight)
            let geometry = try preprocessGeometry(source, size: c.size, mode: mode)
            #expect(fnv1a64(geometry.pixels) == c.geometryFnv1a64, "\(label): geometry differs")
            let floats = try preprocess(source, size: c.size, mode: mode)
            #expect(floats.count == c.size * c.size * 3)
            var worst: Float = 0
            for sample in c.samples { worst = max(worst, abs(floats[Int(sample[0])] - Float(sample[1]))) }
            if let name = c.floats {
                let expected = readFloats(try Fixtures.data(name))
                #expect(expected.count == floats.count)
                for i in 0..<min(expected.count, floats.count) { worst = max(worst, abs(floats[i] - expected[i])) }
            }
            #expect(worst <= 1e-6, "\(label): max |Δ| = \(worst)")
        }
    }

    @Test("mode none rejects an image of the wrong size; invalid sizes throw")
    func rejectsBadInput() throws {
        let image = try proceduralImage(width: 30, height: 20)
        #expect(throws: ImageError.self) { try preprocess(image, size: 32, mode: .none) }
        #expect(throws: ImageError.self) { try preprocess(image, size: 0, mode: .clip) }
        #expect(throws: ImageError.self) { try preprocess(RGBImage(width: 0, height: 0), size: 8, mode: .squash) }
    }

    @Test("CLIP constants are OpenAI's and PreprocessMode round-trips through Codable")
    func constants() throws {
        #expect(ImageNormalization.openAICLIPMean == [0.48145466, 0.4578275, 0.40821073])
        #expect(ImageNormalization.openAICLIPStd == [0.26862954, 0.26130258, 0.27577711])
        let encoded = try JSONEncoder().encode([PreprocessMode.clip, .squash, .none])
        #expect(try JSONDecoder().decode([PreprocessMode].self, from: encoded) == [.clip, .squash, .none])
    }
}
