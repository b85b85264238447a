import Foundation
import Testing
@testable import Imaging

private struct ResizeFixture: Decodable {
    struct Case: Decodable, CustomTestStringConvertible {
        let srcWidth: Int, srcHeight: Int, dstWidth: Int, dstHeight: Int
        let filter: String
        let fnv1a64: String
        let samples: [[Double]]
        var testDescription: String { "\(srcWidth)x\(srcHeight)→\(dstWidth)x\(dstHeight) \(filter)" }
    }
    let cases: [Case]
}

@Suite("resize equals Pillow's Image.resize bit for bit")
struct ResizeTests {
    @Test("bicubic / bilinear / nearest outputs hash-equal to PIL for up-, down- and one-axis scaling (tolerance 0)")
    func matchesPillow() throws {
        let fixture = try Fixtures.json("resize.json", as: ResizeFixture.self)
        #expect(fixture.cases.count >= 10)
        for c in fixture.cases {
            guard let filter = ResampleFilter(rawValue: c.filter) else {
                Issue.record("unknown filter \(c.filter)")
                continue
            }
            let source = try proceduralImage(width: c.srcWidth, height: c.srcHeight)
            let out = resize(source, width: c.dstWidth, height: c.dstHeight, filter: filter)
            #expect(out.width == c.dstWidth && out.height == c.dstHeight)
            for sample in c.samples {
                let index = Int(sample[0])
                #expect(Double(out.pixels[index]) == sample[1], "\(c.testDescription) byte \(index) of \(out.pixels.count)")
            }
            #expect(fnv1a64(out.pixels) == c.fnv1a64, "\(c.testDescription): hash differs from PIL")
        }
    }

    @Test("same size returns an identical copy; non-positive sizes give an empty image instead of crashing")
    func edgeCases() throws {
        let image = try proceduralImage(width: 9, height: 4)
        #expect(resize(image, width: 9, height: 4) == image)
        let empty = resize(image, width: 0, height: 5)
        #expect(empty.width == 0 && empty.pixels.isEmpty)
        #expect(resize(RGBImage(width: 0, height: 0), width: 3, height: 3).width == 0)
    }

    @Test("a constant image stays constant under every filter (weights sum to one)")
    func constantPreserved() {
        let grey = RGBImage(width: 13, height: 7, fill: (77, 128, 250))
        for filter in ResampleFilter.allCases {
            for (w, h) in [(5, 3), (40, 21), (13, 2)] {
                let out = resize(grey, width: w, height: h, filter: filter)
                #expect(out == RGBImage(width: w, height: h, fill: (77, 128, 250)), "\(filter) \(w)x\(h)")
            }
        }
    }
}

@Suite("resize pass order")
struct ResizePassOrderTests {
    @Test("legacy (always horizontal first) equals Pillow 13 whenever Pillow 13 also runs horizontal first, and differs for a tall-to-flat resize")
    func legacyOrder() throws {
        let source = try proceduralImage(width: 7, height: 5)
        // 5 → 2 rows shrinks by 3 > 2·(7 − 300): Pillow 13 runs the vertical pass first.
        #expect(resize(source, width: 300, height: 2, passOrder: .legacy) != resize(source, width: 300, height: 2))
        let wide = try proceduralImage(width: 64, height: 48)
        #expect(resize(wide, width: 37, height: 29, passOrder: .legacy) == resize(wide, width: 37, height: 29))
        #expect(ResamplePassOrder.pillow13.horizontalFirst(inWidth: 37, inHeight: 53, outWidth: 40, outHeight: 40) == false)
        #expect(ResamplePassOrder.pillow13.horizontalFirst(inWidth: 1024, inHeight: 768, outWidth: 512, outHeight: 512))
    }
}
