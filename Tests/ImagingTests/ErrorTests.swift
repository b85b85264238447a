import Foundation
import Testing
@testable import Imaging

@Suite("bad input gives a clean ImageError naming the file, never a crash or a grey image")
struct ErrorTests {
    @Test("corrupt, truncated and unsupported files throw with the expected kind and the file name",
          arguments: [
              ("truncated.jpg", ImageError.Kind.truncated, "JPEG"),
              ("header_only.jpg", .truncated, "JPEG"),
              ("truncated_progressive.jpg", .truncated, "JPEG"),
              ("truncated.png", .truncated, "PNG"),
              ("bad_crc.png", .corrupt, "PNG"),
              ("truncated.webp", .truncated, "WebP"),
              ("image.gif", .unsupportedFormat, "unsupported format (GIF)"),
              ("image.bmp", .unsupportedFormat, "unsupported format (BMP)"),
              ("empty.jpg", .empty, "empty file"),
              ("random.bin", .unsupportedFormat, "unsupported format (unknown)"),
          ])
    func badFile(name: String, kind: ImageError.Kind, fragment: String) throws {
        let url = try Fixtures.url("bad/\(name)")
        do {
            let image = try ImageCodec.decode(contentsOf: url)
            Issue.record("\(name) decoded to \(image.width)x\(image.height) instead of failing")
        } catch let error as ImageError {
            let message = error.localizedDescription
            print("\(name): \(message)")
            #expect(error.kind == kind, "\(name): \(message)")
            #expect(message.contains(name), "message must name the file: \(message)")
            #expect(message.contains(fragment), "message must describe the problem: \(message)")
        }
    }

    @Test("a missing file is reported as unreadable with its path")
    func missingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/dir/photo.jpg")
        #expect(throws: ImageError.self) { try ImageCodec.decode(contentsOf: url) }
        do { _ = try ImageCodec.decode(contentsOf: url) } catch let error as ImageError {
            #expect(error.kind == .unreadable)
            #expect(error.localizedDescription.contains("/nonexistent/dir/photo.jpg"))
        } catch { Issue.record("unexpected error \(error)") }
    }

    @Test("every prefix of a JPEG, PNG and WebP either decodes or throws (no crash, no exit)")
    func everyPrefixIsSafe() throws {
        for name in ["decode/odd_size.jpg", "decode/progressive.jpg", "decode/rgb8.png", "decode/lossy.webp"] {
            let data = try Fixtures.data(name)
            for length in stride(from: 0, to: data.count, by: max(1, data.count / 97)) {
                _ = try? ImageCodec.decode(data.prefix(length), name: name)
            }
        }
    }

    @Test("randomly corrupted JPEG, PNG and WebP bytes either decode or throw (fixed-seed fuzz, 4×150 mutations)")
    func bitFlipsAreSafe() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for name in ["decode/baseline420.jpg", "decode/progressive.jpg", "decode/palette.png", "decode/lossless.webp"] {
            let original = [UInt8](try Fixtures.data(name))
            for _ in 0..<150 {
                var bytes = original
                for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
                if let image = try? ImageCodec.decode(Data(bytes), name: name) {
                    #expect(image.pixels.count == image.width * image.height * 3)
                }
            }
        }
    }

    @Test("RGBImage rejects a pixel buffer of the wrong length")
    func wrongBuffer() {
        #expect(throws: ImageError.self) { try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]) }
        #expect(throws: ImageError.self) { try RGBImage(width: -1, height: 2, pixels: []) }
    }
}
