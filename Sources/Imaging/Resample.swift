import Foundation

// Port of Pillow's src/libImaging/Resample.c (ImagingResample for 8-bit images) and, for `.nearest`,
// of Geometry.c's ImagingScaleAffine as reached from Image.resize(NEAREST).
// (Pillow 13.0 sources, including its vertical-first pass order; `.legacy` gives Pillow 7–12's order).
// Differences: works on packed 3-byte RGB instead of Pillow's 4-byte pixels (same arithmetic), no `box`
// argument (always the whole image), parallel over output rows.

/// Resampling kernels of `resize`, with Pillow's definitions:
/// - `bicubic`: Keys cubic, a = −0.5, support 2 (`(a+2)|x|³ − (a+3)|x|² + 1` for |x| < 1,
///   `a(|x|³ − 5|x|² + 8|x| − 4)` for 1 ≤ |x| < 2);
/// - `bilinear`: triangle `1 − |x|`, support 1;
/// - `nearest`: source pixel `floor((i + 0.5)·in/out)` (accumulated as Pillow does).
///
/// ```swift
/// let small = resize(image, width: 224, height: 224, filter: .bilinear)
/// ```
public enum ResampleFilter: String, Sendable, Codable, CaseIterable {
    case bicubic, bilinear, nearest

    var support: Double {
        switch self {
        case .bicubic: return 2
        case .bilinear: return 1
        case .nearest: return 0.5
        }
    }

    func weight(_ value: Double) -> Double {
        let x = abs(value)
        switch self {
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .nearest:
            return value > -0.5 && value <= 0.5 ? 1 : 0
        }
    }
}

/// Fixed-point precision of Pillow's 8-bit resampler: 32 − 8 − 2 bits.
let resamplePrecisionBits: Int32 = 32 - 8 - 2

/// Per-output-pixel source window and fixed-point weights along one axis.
struct ResampleCoefficients {
    var start: [Int]      // first source index per output index
    var length: [Int]     // number of taps per output index
    var weights: [Int32]  // row-major [outSize, taps], PRECISION_BITS fixed point
    var taps: Int

    /// Pillow's precompute_coeffs + normalize_coeffs_8bpc for a whole-axis box `[0, inSize)`.
    init(inSize: Int, outSize: Int, filter: ResampleFilter) {
        let scale = Double(Float(inSize)) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = filter.support * filterScale
        taps = Int(support.rounded(.up)) * 2 + 1
        start = [Int](repeating: 0, count: outSize)
        length = [Int](repeating: 0, count: outSize)
        weights = [Int32](repeating: 0, count: outSize * taps)
        var k = [Double](repeating: 0, count: taps)
        let invScale = 1.0 / filterScale
        let one = Double(1 << resamplePrecisionBits)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            var xmin = Int(center - support + 0.5)  // C cast: truncation toward zero
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var sum = 0.0
            for x in 0..<max(0, xmax) {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * invScale)
                k[x] = w
                sum += w
            }
            for x in 0..<max(0, xmax) {
                let w = sum != 0 ? k[x] / sum : k[x]
                weights[xx * taps + x] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
            }
            start[xx] = xmin
            length[xx] = max(0, xmax)
        }
    }
}

@inline(__always)
private func clip8(_ accumulator: Int32) -> UInt8 {
    let v = accumulator >> resamplePrecisionBits
    return v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
}

/// Which of the two separable passes runs first (the intermediate image is rounded to 8 bits, so the order
/// changes results by a few levels).
/// - `pillow13`: Pillow ≥ 13 — vertical first iff the height shrinks by more than twice as many pixels as the
///   width does (`inH − outH > 0 && inH − outH > 2·(inW − outW)`), otherwise horizontal first;
/// - `legacy`: Pillow 7 … 12 — always horizontal first.
///
/// ```swift
/// let old = resize(image, width: 300, height: 2, passOrder: .legacy)
/// ```
public enum ResamplePassOrder: String, Sendable, Codable, CaseIterable {
    case pillow13, legacy

    func horizontalFirst(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int) -> Bool {
        switch self {
        case .legacy: return true
        case .pillow13:
            let dy = inHeight - outHeight, dx = inWidth - outWidth
            return !(dy > 0 && dy > dx * 2)
        }
    }
}

/// Resizes like Pillow's `Image.resize((width, height), filter)` on an "RGB" image (reducing_gap=None):
/// bit-exact for all three filters. Bicubic/bilinear are separable with antialiasing (the kernel widens by the
/// downscale factor), each pass rounding to 8 bits: `out = clip8((2^21 + Σ k_i·in_i) >> 22)`,
/// `k_i = round(2^22 · w_i / Σw)`; the pass order follows `passOrder` (default: Pillow 13, the reference here).
/// Same size returns a copy; a non-positive target size or an empty source returns a 0×0 image.
///
/// ```swift
/// let thumb = resize(image, width: 224, height: 168)   // bicubic, same bytes as PIL
/// ```
public func resize(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter = .bicubic,
                   passOrder: ResamplePassOrder = .pillow13) -> RGBImage {
    guard width > 0, height > 0, image.width > 0, image.height > 0 else {
        return RGBImage(width: 0, height: 0)
    }
    let source = image.validatedPixels
    if width == image.width && height == image.height {
        return RGBImage(uncheckedWidth: width, height: height, pixels: source)
    }
    if filter == .nearest { return resizeNearest(source, image.width, image.height, width, height) }

    let needHorizontal = width != image.width, needVertical = height != image.height
    let vertical = ResampleCoefficients(inSize: image.height, outSize: height, filter: filter)
    let horizontal = ResampleCoefficients(inSize: image.width, outSize: width, filter: filter)
    var current = source
    if passOrder.horizontalFirst(inWidth: image.width, inHeight: image.height, outWidth: width, outHeight: height) {
        var currentHeight = image.height
        var verticalStart = vertical.start
        if needHorizontal {
            // Only the source rows the vertical pass reads are resampled horizontally.
            let firstRow = vertical.start[0]
            let lastRow = vertical.start[height - 1] + vertical.length[height - 1]
            current = resampleHorizontal(current, inWidth: image.width, rows: firstRow..<lastRow, outWidth: width, horizontal)
            currentHeight = lastRow - firstRow
            verticalStart = vertical.start.map { $0 - firstRow }
        }
        if needVertical {
            current = resampleVertical(current, width: width, inHeight: currentHeight, outHeight: height,
                                       vertical, start: verticalStart)
        }
    } else {
        if needVertical {
            current = resampleVertical(current, width: image.width, inHeight: image.height, outHeight: height,
                                       vertical, start: vertical.start)
        }
        if needHorizontal {
            current = resampleHorizontal(current, inWidth: image.width, rows: 0..<height, outWidth: width, horizontal)
        }
    }
    return RGBImage(uncheckedWidth: width, height: height, pixels: current)
}

private func resampleHorizontal(_ source: [UInt8], inWidth: Int, rows: Range<Int>, outWidth: Int,
                                _ c: ResampleCoefficients) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: rows.count * outWidth * 3)
    let taps = c.taps
    source.withUnsafeBufferPointer { src in
        c.weights.withUnsafeBufferPointer { kk in
            out.withUnsafeMutableBufferPointer { dst in
                let shared = ImagingUncheckedSendable((src.baseAddress!, kk.baseAddress!, dst.baseAddress!))
                imagingParallelChunks(rows.count, costPerItem: outWidth * taps * 3) { range in
                    let (src, kk, dst) = shared.value
                    let half: Int32 = 1 << (resamplePrecisionBits - 1)
                    for yy in range {
                        let inRow = src + (yy + rows.lowerBound) * inWidth * 3
                        let outRow = dst + yy * outWidth * 3
                        for xx in 0..<outWidth {
                            let k = kk + xx * taps
                            let p = inRow + c.start[xx] * 3
                            var s0 = half, s1 = half, s2 = half
                            for x in 0..<c.length[xx] {
                                let w = k[x]
                                s0 &+= Int32(p[3 * x]) &* w
                                s1 &+= Int32(p[3 * x + 1]) &* w
                                s2 &+= Int32(p[3 * x + 2]) &* w
                            }
                            outRow[3 * xx] = clip8(s0)
                            outRow[3 * xx + 1] = clip8(s1)
                            outRow[3 * xx + 2] = clip8(s2)
                        }
                    }
                }
            }
        }
    }
    return out
}

private func resampleVertical(_ source: [UInt8], width: Int, inHeight: Int, outHeight: Int,
                              _ c: ResampleCoefficients, start: [Int]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: outHeight * width * 3)
    let taps = c.taps
    let rowBytes = width * 3
    source.withUnsafeBufferPointer { src in
        c.weights.withUnsafeBufferPointer { kk in
            out.withUnsafeMutableBufferPointer { dst in
                let shared = ImagingUncheckedSendable((src.baseAddress!, kk.baseAddress!, dst.baseAddress!))
                imagingParallelChunks(outHeight, costPerItem: rowBytes * taps) { range in
                    let (src, kk, dst) = shared.value
                    let half: Int32 = 1 << (resamplePrecisionBits - 1)
                    var acc = [Int32](repeating: 0, count: rowBytes)
                    acc.withUnsafeMutableBufferPointer { accBuffer in
                        let acc = accBuffer.baseAddress!
                        for yy in range {
                            let k = kk + yy * taps
                            for i in 0..<rowBytes { acc[i] = half }
                            let first = start[yy]
                            for y in 0..<c.length[yy] {
                                let w = k[y]
                                let row = src + (first + y) * rowBytes
                                for i in 0..<rowBytes { acc[i] &+= Int32(row[i]) &* w }
                            }
                            let outRow = dst + yy * rowBytes
                            for i in 0..<rowBytes { outRow[i] = clip8(acc[i]) }
                        }
                    }
                }
            }
        }
    }
    return out
}

/// Pillow's Image.resize(NEAREST): affine scale with accumulated source coordinates.
private func resizeNearest(_ source: [UInt8], _ inWidth: Int, _ inHeight: Int, _ outWidth: Int, _ outHeight: Int) -> RGBImage {
    func table(_ inSize: Int, _ outSize: Int) -> [Int] {
        let step = Double(Float(inSize)) / Double(outSize)
        var position = step * 0.5
        var result = [Int](repeating: -1, count: outSize)
        for i in 0..<outSize {
            let index = position < 0 ? -1 : Int(position)
            result[i] = index < inSize ? index : -1
            position += step
        }
        return result
    }
    let xs = table(inWidth, outWidth), ys = table(inHeight, outHeight)
    var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
    for y in 0..<outHeight where ys[y] >= 0 {
        for x in 0..<outWidth where xs[x] >= 0 {
            let s = (ys[y] * inWidth + xs[x]) * 3, d = (y * outWidth + x) * 3
            out[d] = source[s]
            out[d + 1] = source[s + 1]
            out[d + 2] = source[s + 2]
        }
    }
    return RGBImage(uncheckedWidth: outWidth, height: outHeight, pixels: out)
}
