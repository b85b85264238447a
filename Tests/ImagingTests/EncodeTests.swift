import Foundation
import Testing
@testable import Imaging

@Suite("PNG encoding")
struct EncodeTests {
    @Test("encodePNG → decode is lossless")
    func roundTrip() throws {
        let image = try proceduralImage(width: 37, height: 23)
        let data = try ImageCodec.encodePNG(image)
        #expect(ImageFormat.sniff(data) == .png)
        let back = try ImageCodec.decode(data, name: "roundtrip.png")
        #expect(back == image)
    }

    @Test("writePNG writes atomically (no temporary left behind) and the file decodes back")
    func writeFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("out.png")
        let image = RGBImage(width: 5, height: 3, fill: (10, 200, 30))
        try ImageCodec.writePNG(image, to: url)
        #expect(try ImageCodec.decode(contentsOf: url) == image)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.png"])
    }

    @Test("encoding an empty or inconsistent image throws, writing into a missing folder names the path")
    func invalid() throws {
        #expect(throws: ImageError.self) { try ImageCodec.encodePNG(RGBImage(width: 0, height: 0)) }
        var broken = RGBImage(width: 2, height: 2)
        broken.pixels.removeLast()
        #expect(throws: ImageError.self) { try ImageCodec.encodePNG(broken) }
        do {
            try ImageCodec.writePNG(RGBImage(width: 1, height: 1), to: URL(fileURLWithPath: "/nonexistent/x/y.png"))
            Issue.record("write into a missing folder succeeded")
        } catch let error as ImageError {
            #expect(error.kind == .writeFailed)
            #expect(error.localizedDescription.contains("/nonexistent/x/y.png"))
        }
    }

    @Test("horizontalFlip mirrors columns and is an involution")
    func flip() throws {
        let image = try proceduralImage(width: 7, height: 3)
        let flipped = horizontalFlip(image)
        #expect(flipped.pixel(x: 0, y: 1)! == image.pixel(x: 6, y: 1)!)
        #expect(horizontalFlip(flipped) == image)
    }
}
