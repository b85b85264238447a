import Foundation

/// How `preprocess` brings an image to `size × size`:
/// - `clip`: CLIP's transform — torchvision `Resize(size, BICUBIC)` on the PIL image (shorter side → `size`,
///   longer side → `int(size · long / short)`), then `CenterCrop(size)` (offset `round((L − size) / 2)`, Python's
///   round-half-to-even);
/// - `squash`: bicubic resize straight to `size × size`, aspect ratio ignored;
/// - `none`: the image must already be `size × size`.
///
/// ```swift
/// let mode = PreprocessMode(rawValue: "clip") ?? .clip
/// ```
public enum PreprocessMode: String, Codable, Sendable, CaseIterable {
    case clip, squash, none
}

/// Per-channel normalisation constants, `x_norm = (x / 255 − mean[c]) / std[c]` (float32 arithmetic).
///
/// ```swift
/// let mean = ImageNormalization.openAICLIPMean   // [0.48145466, 0.4578275, 0.40821073]
/// ```
public enum ImageNormalization {
    /// OpenAI CLIP's image mean (RGB), `OPENAI_CLIP_MEAN`.
    public static let openAICLIPMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    /// OpenAI CLIP's image standard deviation (RGB), `OPENAI_CLIP_STD`.
    public static let openAICLIPStd: [Float] = [0.26862954, 0.26130258, 0.27577711]
}

/// The geometric part of `preprocess`: the resized (and cropped) 8-bit `size × size` image.
///
/// ```swift
/// let cropped = try preprocessGeometry(image, size: 224, mode: .clip)
/// ```
public func preprocessGeometry(_ image: RGBImage, size: Int, mode: PreprocessMode) throws -> RGBImage {
    guard size > 0 else {
        throw ImageError(file: nil, kind: .invalidArgument, detail: "preprocess size must be positive, got \(size)")
    }
    guard image.width > 0, image.height > 0, image.pixels.count == image.byteCount else {
        throw ImageError(file: nil, kind: .invalidArgument,
                         detail: "cannot preprocess a \(image.width)x\(image.height) image with \(image.pixels.count) bytes")
    }
    switch mode {
    case .none:
        guard image.width == size, image.height == size else {
            throw ImageError(file: nil, kind: .invalidArgument,
                             detail: "preprocess mode 'none' needs a \(size)x\(size) image, got \(image.width)x\(image.height)")
        }
        return image
    case .squash:
        return resize(image, width: size, height: size, filter: .bicubic)
    case .clip:
        let (w, h) = (image.width, image.height)
        let short = min(w, h), long = max(w, h)
        // torchvision: int(size * long / short) in double precision.
        let newLong = Int(Double(size) * Double(long) / Double(short))
        let (rw, rh) = w <= h ? (size, newLong) : (newLong, size)
        let resized = resize(image, width: rw, height: rh, filter: .bicubic)
        return centerCrop(resized, size: size)
    }
}

/// torchvision `CenterCrop(size)` for an image at least `size` on both sides:
/// `top = round((h − size) / 2)`, `left = round((w − size) / 2)` with round-half-to-even.
func centerCrop(_ image: RGBImage, size: Int) -> RGBImage {
    let top = Int((Double(image.height - size) / 2.0).rounded(.toNearestOrEven))
    let left = Int((Double(image.width - size) / 2.0).rounded(.toNearestOrEven))
    var out = [UInt8](repeating: 0, count: size * size * 3)
    let source = image.pixels
    for y in 0..<size {
        let sy = y + top
        guard sy >= 0, sy < image.height else { continue }
        for x in 0..<size {
            let sx = x + left
            guard sx >= 0, sx < image.width else { continue }
            let s = (sy * image.width + sx) * 3, d = (y * size + x) * 3
            out[d] = source[s]
            out[d + 1] = source[s + 1]
            out[d + 2] = source[s + 2]
        }
    }
    return RGBImage(uncheckedWidth: size, height: size, pixels: out)
}

/// Decoded RGB → normalised float32 `[size, size, 3]` (channels-last, HWC) for the CLIP image encoder:
/// geometry per `mode` (see `PreprocessMode`), then `(v / 255 − mean[c]) / std[c]` with CLIP's constants,
/// computed in float32 exactly as torchvision's `ToTensor` + `Normalize`.
///
/// ```swift
/// let input = try preprocess(try ImageCodec.decode(contentsOf: url), size: 224, mode: .clip)  // 224·224·3 floats
/// ```
public func preprocess(_ image: RGBImage, size: Int, mode: PreprocessMode) throws -> [Float] {
    let geometry = try preprocessGeometry(image, size: size, mode: mode)
    return normalize(geometry, mean: ImageNormalization.openAICLIPMean, std: ImageNormalization.openAICLIPStd)
}

/// `(v / 255 − mean[c]) / std[c]` per byte, float32, HWC order.
public func normalize(_ image: RGBImage, mean: [Float], std: [Float]) -> [Float] {
    let m = (0..<3).map { $0 < mean.count ? mean[$0] : 0 }
    let s = (0..<3).map { $0 < std.count && std[$0] != 0 ? std[$0] : 1 }
    let pixels = image.validatedPixels
    var out = [Float](repeating: 0, count: pixels.count)
    for i in 0..<pixels.count {
        let c = i % 3
        out[i] = (Float(pixels[i]) / 255 - m[c]) / s[c]
    }
    return out
}
