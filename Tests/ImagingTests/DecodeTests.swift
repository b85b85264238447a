import Foundation
import Testing
@testable import Imaging

/// Decodes `decode/<name>` and compares with Pillow's `convert("RGB")` bytes stored next to it.
private func compareWithPillow(_ name: String) throws -> (image: RGBImage, maxDiff: Int) {
    let image = try ImageCodec.decode(contentsOf: Fixtures.url("decode/\(name)"))
    let expected = [UInt8](try Fixtures.data("decode/\(name).rgb"))
    #expect(image.pixels.count == expected.count, "\(name): size \(image.width)x\(image.height)")
    return (image, maxAbsDiff(image.pixels, expected))
}

@Suite("JPEG / PNG / WebP decoding matches Pillow's convert(\"RGB\")")
struct DecodeTests {
    @Test("JPEG baseline (4:2:0, 4:2:2, 4:4:4), progressive, odd size, gray, CMYK and YCCK decode within ±2 of Pillow",
          arguments: ["baseline420.jpg", "baseline422.jpg", "baseline444.jpg", "progressive.jpg", "odd_size.jpg",
                      "gray.jpg", "cmyk.jpg", "ycck.jpg"])
    func jpeg(name: String) throws {
        let (image, diff) = try compareWithPillow(name)
        print("JPEG \(name) \(image.width)x\(image.height): max |Δ| = \(diff)")
        #expect(diff <= 2, "\(name): max diff \(diff)")
    }

    @Test("PNG 8/16-bit, palette (+tRNS), gray 1/2/4/8/16, gray+alpha, RGBA, Adam7-interlaced decode exactly as Pillow",
          arguments: ["rgb8.png", "rgba8.png", "gray8.png", "gray_alpha8.png", "palette.png", "palette_trns.png",
                      "rgb16.png", "rgba16.png", "gray16.png", "gray_alpha16.png", "gray1.png", "gray2.png",
                      "gray4.png", "palette4_trns.png", "gray8_trns.png", "interlaced_rgb8.png", "interlaced_rgba16.png"])
    func png(name: String) throws {
        let (_, diff) = try compareWithPillow(name)
        #expect(diff == 0, "\(name): max diff \(diff)")
    }

    @Test("WebP lossless decodes exactly, lossy within ±2 of Pillow (alpha dropped)",
          arguments: ["lossless.webp", "lossless_alpha.webp", "lossy.webp", "lossy_alpha.webp"])
    func webp(name: String) throws {
        let (image, diff) = try compareWithPillow(name)
        print("WebP \(name) \(image.width)x\(image.height): max |Δ| = \(diff)")
        #expect(diff <= (name.hasPrefix("lossless") ? 0 : 2), "\(name): max diff \(diff)")
    }

    @Test("the format is sniffed from magic bytes, not the file name")
    func sniffIgnoresExtension() throws {
        let data = try Fixtures.data("decode/rgb8.png")
        let image = try ImageCodec.decode(data, name: "misnamed.jpg")
        #expect(image.width == 40 && image.height == 30)
        #expect(ImageFormat.sniff(data) == .png)
        #expect(ImageFormat.sniff(try Fixtures.data("decode/lossy.webp")) == .webp)
        #expect(ImageFormat.sniff(try Fixtures.data("decode/gray.jpg")) == .jpeg)
    }
}
