import Foundation
import Imaging
import Tensor

/// Deterministic test pictures: the "preprocessed" image tensors of the PyTorch reference scripts, and small
/// 8-bit images (distinct per index) written as PNG files for datasets and feature stores.
///
/// ```swift
/// let x = PatternImages.tensor(3, size: 64)                                   // [3, 64, 64, 3]
/// let urls = try PatternImages.writePNGs(["a.png", "b.png"], to: scratch.url)   // 40 × 48 RGB files, seeds 0, 1
/// ```
public enum PatternImages {
    /// Scripts/clip_reference.py `pattern_images`, channels-last `[n, size, size, 3]`:
    /// `x[b, y, x, c] = 1.5 sin(0.1 i + 1.3 c + 0.7 b) + 0.25 cos(0.037 i (c + 1))`, `i = y · size + x`.
    public static func tensor(_ n: Int, size: Int) -> Tensor {
        let t = Tensor(uninitialized: [n, size, size, 3])
        for b in 0..<n { for y in 0..<size { for x in 0..<size { for c in 0..<3 {
            let idx = Double(y * size + x)
            let v = 1.5 * sin(0.1 * idx + 1.3 * Double(c) + 0.7 * Double(b)) + 0.25 * cos(0.037 * idx * Double(c + 1))
            t.pointer[((b * size + y) * size + x) * 3 + c] = Float(v)
        } } } }
        return t
    }

    /// A smooth 8-bit RGB colour pattern that depends on `seed` (no two seeds alike):
    /// `v = 127.5 + 120 sin(0.09 x (c + 1) + 0.13 y ((seed mod 5) + 1) + 1.7 seed + c)`, rounded.
    public static func rgb(seed: Int, width: Int = 40, height: Int = 48) throws -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height { for x in 0..<width { for c in 0..<3 {
            let v = 127.5 + 120 * sin(0.09 * Double(x * (c + 1)) + 0.13 * Double(y) * Double(seed % 5 + 1) + 1.7 * Double(seed) + Double(c))
            pixels[(y * width + x) * 3 + c] = UInt8(max(0, min(255, v.rounded())))
        } } }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Writes ``rgb(seed:width:height:)`` as a PNG file.
    public static func writePNG(to url: URL, seed: Int, width: Int = 40, height: Int = 48) throws {
        try ImageCodec.writePNG(try rgb(seed: seed, width: width, height: height), to: url)
    }

    /// Writes picture `seed: k` as `folder/names[k]` (PNG) for every name; returns the files in order.
    @discardableResult
    public static func writePNGs(_ names: [String], to folder: URL, width: Int = 40, height: Int = 48) throws -> [URL] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try names.enumerated().map { i, name in
            let url = folder.appendingPathComponent(name)
            try writePNG(to: url, seed: i, width: width, height: height)
            return url
        }
    }

    /// `count` files `img0.png`, `img1.png`, … in `folder`.
    public static func writePNGs(count: Int, to folder: URL, width: Int = 40, height: Int = 48) throws -> [URL] {
        try writePNGs((0..<count).map { "img\($0).png" }, to: folder, width: width, height: height)
    }
}
