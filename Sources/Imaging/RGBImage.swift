import Foundation

/// An 8-bit RGB raster, rows top to bottom, pixels interleaved `R, G, B` (`pixels.count == width * height * 3`).
///
/// Byte of channel `c` at `(x, y)`: `pixels[(y * width + x) * 3 + c]`.
///
/// ```swift
/// let image = try RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 0, 0, 255])
/// let grey = RGBImage(width: 64, height: 48, fill: (128, 128, 128))
/// ```
/// `pixels` is mutable for in-place drawing; functions that read it treat missing bytes (if the array was
/// shortened by hand) as zero instead of crashing.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    /// Wraps interleaved RGB bytes; throws unless `pixels.count == width * height * 3` and both sizes are ≥ 0.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width >= 0, height >= 0, width.multipliedReportingOverflow(by: height).overflow == false else {
            throw ImageError(file: nil, kind: .invalidArgument, detail: "invalid image size \(width)x\(height)")
        }
        guard pixels.count == width * height * 3 else {
            throw ImageError(file: nil, kind: .invalidArgument,
                             detail: "\(width)x\(height) RGB needs \(width * height * 3) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A `width × height` image filled with one colour (negative sizes become 0).
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        let w = max(0, width), h = max(0, height)
        self.width = w
        self.height = h
        var bytes = [UInt8](repeating: 0, count: w * h * 3)
        if fill != (0, 0, 0) {
            for i in stride(from: 0, to: bytes.count, by: 3) {
                bytes[i] = fill.0
                bytes[i + 1] = fill.1
                bytes[i + 2] = fill.2
            }
        }
        self.pixels = bytes
    }

    /// Internal unchecked initialiser for producers that size `pixels` themselves.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Number of bytes a well-formed image holds.
    public var byteCount: Int { width * height * 3 }

    /// `pixels` padded with zeros / cut to exactly `byteCount` bytes (a no-op copy-on-write for valid images).
    var validatedPixels: [UInt8] {
        if pixels.count == byteCount { return pixels }
        var fixed = Array(pixels.prefix(byteCount))
        fixed.append(contentsOf: [UInt8](repeating: 0, count: byteCount - fixed.count))
        return fixed
    }

    /// The RGB triple at `(x, y)`; `nil` outside the image.
    public func pixel(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8)? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let i = (y * width + x) * 3
        guard i + 2 < pixels.count else { return nil }
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// Mirror image left ↔ right (`out(x, y) = in(width − 1 − x, y)`), e.g. for test-time / train-time augmentation.
///
/// ```swift
/// let mirrored = horizontalFlip(image)
/// ```
public func horizontalFlip(_ image: RGBImage) -> RGBImage {
    let source = image.validatedPixels
    let w = image.width, h = image.height
    var out = [UInt8](repeating: 0, count: source.count)
    source.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for y in 0..<h {
                let row = y * w * 3
                for x in 0..<w {
                    let s = row + (w - 1 - x) * 3, d = row + x * 3
                    dst[d] = src[s]
                    dst[d + 1] = src[s + 1]
                    dst[d + 2] = src[s + 2]
                }
            }
        }
    }
    return RGBImage(uncheckedWidth: w, height: h, pixels: out)
}
