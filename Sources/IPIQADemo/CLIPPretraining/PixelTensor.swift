import Foundation
import Imaging
import SynthAGI
import Tensor

/// Stacks same-size 8-bit images into CLIP's input, channels-last `[N, H, W, 3]`:
/// `x = (byte / 255 − mean_c) / std_c` with OpenAI's CLIP mean and std (what `preprocess(…, mode: .none)` gives for
/// an image already at the model's size, without the per-image allocations).
///
/// ```swift
/// let x = try PixelTensor.make(pairs.map(\.image))   // [N, 64, 64, 3]
/// ```
public enum PixelTensor {
    public static func make(_ images: [SynthImage]) throws -> Tensor {
        guard let first = images.first else { throw DemoError.invalidSetting("PixelTensor: no images") }
        let w = first.width, h = first.height, per = w * h * 3
        guard images.allSatisfy({ $0.width == w && $0.height == h && $0.pixels.count == per }) else {
            throw DemoError.invalidSetting("PixelTensor: images of different sizes in one batch")
        }
        let out = Tensor(uninitialized: [images.count, h, w, 3])
        let mean = ImageNormalization.openAICLIPMean, std = ImageNormalization.openAICLIPStd
        let scale = (0..<3).map { 1 / (255 * std[$0]) }, shift = (0..<3).map { -mean[$0] / std[$0] }
        let dst = UncheckedSendable(out.pointer)
        parallelFor(images.count, costPerItem: per) { i in
            images[i].pixels.withUnsafeBufferPointer { src in
                let o = dst.value + i * per
                var k = 0
                while k < per {
                    o[k] = Float(src[k]) * scale[0] + shift[0]
                    o[k + 1] = Float(src[k + 1]) * scale[1] + shift[1]
                    o[k + 2] = Float(src[k + 2]) * scale[2] + shift[2]
                    k += 3
                }
            }
        }
        return out
    }

    /// Converts a world image to Imaging's image type.
    public static func rgbImage(_ image: SynthImage) throws -> RGBImage {
        try RGBImage(width: image.width, height: image.height, pixels: image.pixels)
    }
}
