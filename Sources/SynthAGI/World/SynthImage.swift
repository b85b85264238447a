/// An 8-bit RGB image, interleaved row-major: the byte of channel `c` at pixel (x, y) is
/// `pixels[(y · width + x) · 3 + c]`. The world's own output type; the CLI converts it to Imaging's `RGBImage`.
///
/// ```swift
/// let image = SynthImage(width: 2, height: 1, pixels: [255, 0, 0, 0, 0, 255])
/// let (r, g, b) = image.pixel(x: 1, y: 0)   // (0, 0, 255)
/// ```
public struct SynthImage: Sendable, Equatable, Hashable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The (r, g, b) bytes at (x, y); (0, 0, 0) outside the image.
    public func pixel(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        guard x >= 0, y >= 0, x < width, y < height else { return (0, 0, 0) }
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Builds an image from a float canvas in 0…255 (rounded and clamped).
    init(canvas: Canvas) {
        width = canvas.width
        height = canvas.height
        var bytes = [UInt8](repeating: 0, count: canvas.data.count)
        for i in 0..<bytes.count {
            let v = canvas.data[i].rounded()
            bytes[i] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
        }
        pixels = bytes
    }
}

/// A float RGB working buffer in 0…255 (interleaved like ``SynthImage``), where rendering and degradations happen.
struct Canvas {
    let width: Int
    let height: Int
    var data: [Float]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        data = [Float](repeating: 0, count: width * height * 3)
    }
}
