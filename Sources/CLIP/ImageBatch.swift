import Foundation
import Imaging
import Tensor

/// Turns image files into the model's input: decode (JPEG/PNG/WebP), resize (PIL-exact bicubic), optional horizontal
/// flip, CLIP mean/std normalisation, stacked channels-last `[N, size, size, 3]`. Files are decoded in parallel;
/// the first failure (in file order) is thrown, naming the file.
///
/// ```swift
/// let x = try ImageBatch.load([url1, url2], size: 512, mode: .squash)    // IP-IQA's preprocessing
/// ```
public enum ImageBatch {
    /// Preprocessed pixels of decoded images, stacked.
    public static func tensor(_ images: [RGBImage], size: Int, mode: PreprocessMode, flips: [Bool]? = nil) throws -> Tensor {
        let out = Tensor(uninitialized: [images.count, size, size, 3])
        let per = size * size * 3
        try forEachInParallel(images.count) { i in
            let image = flips?[i] == true ? horizontalFlip(images[i]) : images[i]
            let pixels = try preprocess(image, size: size, mode: mode)
            pixels.withUnsafeBufferPointer { (out.pointer + i * per).update(from: $0.baseAddress!, count: per) }
        }
        return out
    }

    /// Decodes and preprocesses image files, stacked `[N, size, size, 3]`; `flips[i]` mirrors image `i`.
    public static func load(_ urls: [URL], size: Int, mode: PreprocessMode, flips: [Bool]? = nil) throws -> Tensor {
        let out = Tensor(uninitialized: [urls.count, size, size, 3])
        let per = size * size * 3
        try forEachInParallel(urls.count) { i in
            var image = try ImageCodec.decode(contentsOf: urls[i])
            if flips?[i] == true { image = horizontalFlip(image) }
            let pixels: [Float]
            do { pixels = try preprocess(image, size: size, mode: mode) } catch let e as ImageError {
                throw ImageError(file: urls[i].path, kind: e.kind, detail: e.detail)
            }
            pixels.withUnsafeBufferPointer { (out.pointer + i * per).update(from: $0.baseAddress!, count: per) }
        }
        return out
    }

    /// Runs `body(i)` for `0..<count` on both cores; rethrows the error of the lowest failing index.
    static func forEachInParallel(_ count: Int, _ body: (Int) throws -> Void) throws {
        let errors = ErrorSlots(count)
        parallelFor(count, costPerItem: 1 << 20) { i in
            do { try body(i) } catch { errors.set(i, error) }
        }
        if let e = errors.first { throw e }
    }
}

/// One error slot per index, written from parallel workers (distinct indices, so no two writers share a slot).
private final class ErrorSlots: @unchecked Sendable {
    private var slots: [Error?]
    init(_ n: Int) { slots = Array(repeating: nil, count: n) }
    func set(_ i: Int, _ e: Error) { slots.withUnsafeMutableBufferPointer { $0[i] = e } }
    var first: Error? { slots.lazy.compactMap { $0 }.first }
}
