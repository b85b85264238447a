import CImageCodecsShim
import Archive
import Foundation

/// Decoding of JPEG / PNG / WebP files into `RGBImage` and PNG encoding, matching Pillow's
/// `Image.open(f).convert("RGB")`:
/// - JPEG: libjpeg defaults (islow IDCT, fancy upsampling); gray → R = G = B; CMYK / YCCK are taken as Adobe
///   (inverted) CMYK and converted like Pillow: with `c, k` the Pillow-polarity inks and `nk = 255 − k`,
///   `R = nk − (c·nk + 128 + ((c·nk + 128) >> 8)) >> 8` (i.e. `nk·(1 − c/255)` rounded). A truncated file
///   ("Premature end of JPEG file") is an error, never a grey-filled image.
/// - PNG: alpha and tRNS dropped (no compositing), palettes expanded, 1/2/4-bit gray scaled to 8 bits,
///   16-bit RGB / RGBA / gray+alpha keep the high byte, 16-bit gray is clipped to 255 (Pillow's mode "I;16" → "RGB").
/// - WebP: still images, lossy or lossless; alpha dropped. Animated WebP is rejected.
/// - Like `Image.open`, EXIF orientation is not applied and colour profiles / PNG gamma are ignored.
///
/// ```swift
/// let image = try ImageCodec.decode(contentsOf: URL(fileURLWithPath: "photo.jpg"))
/// try ImageCodec.writePNG(image, to: URL(fileURLWithPath: "copy.png"))
/// ```
public enum ImageCodec {
    /// Reads and decodes a file; the format is sniffed from its magic bytes, not its extension.
    public static func decode(contentsOf url: URL) throws -> RGBImage {
        if let problem = FileProblem.readProblem(url) { throw ImageError(file: url.path, kind: .unreadable, detail: problem) }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ImageError(file: url.path, kind: .unreadable, detail: "cannot read file (\(FileProblem.describe(error)))")
        }
        return try decode(data, name: url.path)
    }

    /// Decodes in-memory file bytes; `name` is used in error messages.
    public static func decode(_ data: Data, name: String) throws -> RGBImage {
        if data.isEmpty { throw ImageError(file: name, kind: .empty, detail: "empty file") }
        let format = ImageFormat.sniff(data)
        guard format.isDecodable else {
            throw ImageError(file: name, kind: .unsupportedFormat, detail: "unsupported format (\(format.rawValue))")
        }
        var decoded = ICDecoded()
        let status: Int32 = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            switch format {
            case .jpeg: return ic_jpeg_decode(bytes.baseAddress, bytes.count, &decoded)
            case .png: return ic_png_decode(bytes.baseAddress, bytes.count, &decoded)
            default: return ic_webp_decode(bytes.baseAddress, bytes.count, &decoded)
            }
        }
        defer { ic_free(decoded.pixels) }
        guard status == Int32(IC_STATUS_OK) else {
            let message = withUnsafeBytes(of: decoded.message) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            throw ImageError(file: name, kind: kind(of: status), detail: describe(format, status, message))
        }
        guard let base = decoded.pixels, decoded.width > 0, decoded.height > 0 else {
            throw ImageError(file: name, kind: .corrupt, detail: "\(format.rawValue) decoder returned no pixels")
        }
        let count = Int(decoded.width) * Int(decoded.height)
        let pixels: [UInt8]
        if decoded.layout == Int32(IC_LAYOUT_CMYK8) {
            pixels = adobeCMYKToRGB(UnsafeBufferPointer(start: base, count: count * 4))
        } else {
            pixels = Array(UnsafeBufferPointer(start: base, count: count * 3))
        }
        return RGBImage(uncheckedWidth: Int(decoded.width), height: Int(decoded.height), pixels: pixels)
    }

    /// Encodes as an 8-bit RGB PNG (non-interlaced, default zlib level).
    public static func encodePNG(_ image: RGBImage) throws -> Data {
        guard image.width > 0, image.height > 0, image.pixels.count == image.byteCount else {
            throw ImageError(file: nil, kind: .invalidArgument,
                             detail: "cannot encode a \(image.width)x\(image.height) image with \(image.pixels.count) bytes")
        }
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 200)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            ic_png_encode_rgb(pixels.baseAddress, Int32(image.width), Int32(image.height), &output, &size, &message, message.count)
        }
        defer { ic_free(output) }
        guard status == Int32(IC_STATUS_OK), let output else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImageError(file: nil, kind: .encodingFailed, detail: "PNG encoding failed: \(text)")
        }
        return Data(bytes: output, count: size)
    }

    /// Encodes as PNG and writes atomically (temporary file in the same folder, then rename).
    public static func writePNG(_ image: RGBImage, to url: URL) throws {
        let data: Data
        do {
            data = try encodePNG(image)
        } catch let error as ImageError {
            throw ImageError(file: url.path, kind: error.kind, detail: error.detail)
        }
        if let problem = FileProblem.writeProblem(url) { throw ImageError(file: url.path, kind: .writeFailed, detail: problem) }
        do {
            try AtomicFile.write(data, to: url)
        } catch {
            throw ImageError(file: url.path, kind: .writeFailed, detail: "cannot write PNG (\(AtomicFile.reason(error)))")
        }
    }

    // MARK: - Helpers

    private static func kind(of status: Int32) -> ImageError.Kind {
        switch status {
        case Int32(IC_STATUS_TRUNCATED): return .truncated
        case Int32(IC_STATUS_UNSUPPORTED): return .unsupportedFormat
        case Int32(IC_STATUS_TOO_LARGE): return .tooLarge
        default: return .corrupt
        }
    }

    private static func describe(_ format: ImageFormat, _ status: Int32, _ message: String) -> String {
        switch status {
        case Int32(IC_STATUS_TRUNCATED): return "truncated \(format.rawValue): \(message)"
        case Int32(IC_STATUS_UNSUPPORTED): return "unsupported \(format.rawValue): \(message)"
        case Int32(IC_STATUS_TOO_LARGE): return "\(format.rawValue) too large: \(message)"
        case Int32(IC_STATUS_NO_MEMORY): return "\(format.rawValue): \(message)"
        default: return "corrupt \(format.rawValue) data: \(message)"
        }
    }

    /// Pillow's CMYK → RGB on Adobe-polarity JPEG samples (stored value = 255 − ink).
    static func adobeCMYKToRGB(_ cmyk: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let count = cmyk.count / 4
        var out = [UInt8](repeating: 0, count: count * 3)
        out.withUnsafeMutableBufferPointer { dst in
            for i in 0..<count {
                let nk = Int(cmyk[4 * i + 3])  // 255 − k
                for c in 0..<3 {
                    let ink = 255 - Int(cmyk[4 * i + c])
                    let t = ink * nk + 128
                    dst[3 * i + c] = UInt8(clamping: nk - (((t >> 8) + t) >> 8))
                }
            }
        }
        return out
    }
}
