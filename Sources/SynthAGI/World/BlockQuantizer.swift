import Foundation

/// JPEG-like blockiness: the image is converted to YCbCr (JFIF), each 8 × 8 block of each channel goes through
/// an orthonormal 2-D DCT, coefficients are rounded to multiples of the JPEG Annex K tables scaled for quality
/// Q = 92 − 87 s (libjpeg's rule: scale = 5000/Q below 50, else 200 − 2Q; step = clamp(⌊(base·scale + 50)/100⌋, 1, 255)),
/// then inverted. No chroma subsampling, no entropy coding. Partial edge blocks use clamped edge pixels.
///
/// ```swift
/// BlockQuantizer.quantize(&canvas, severity: 0.7)
/// ```
enum BlockQuantizer {
    /// JPEG Annex K luminance quantisation table (row-major, vertical frequency first).
    static let luma: [Float] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ]
    /// JPEG Annex K chrominance quantisation table.
    static let chroma: [Float] = [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    ]
    /// Orthonormal DCT-II basis: basis[u·8 + x] = a(u) · cos((2x + 1) u π / 16).
    static let basis: [Float] = (0..<64).map { k in
        let u = k / 8, x = k % 8
        let a: Double = u == 0 ? (1.0 / 8).squareRoot() : (2.0 / 8).squareRoot()
        return Float(a * cos(Double(2 * x + 1) * Double(u) * Double.pi / 16))
    }

    /// Quantisation steps for JPEG quality `quality` (1…100).
    static func table(_ base: [Float], quality: Float) -> [Float] {
        let q = min(100, max(1, quality))
        let scale = q < 50 ? 5000 / q : 200 - 2 * q
        return base.map { min(255, max(1, ((($0 * scale) + 50) / 100).rounded(.down))) }
    }

    static func quantize(_ canvas: inout Canvas, severity s: Float) {
        let quality = WorldConstants.jpegQuality.atZero + (WorldConstants.jpegQuality.atOne - WorldConstants.jpegQuality.atZero) * s
        let steps = table(luma, quality: quality) + table(chroma, quality: quality) + table(chroma, quality: quality)
        let w = canvas.width, h = canvas.height, n = w * h
        var planes = [Float](repeating: 0, count: 3 * n)   // Y − 128, Cb, Cr planes back to back
        var block = [Float](repeating: 0, count: 64), tmp = [Float](repeating: 0, count: 64)
        canvas.data.withUnsafeMutableBufferPointer { rgb in
            planes.withUnsafeMutableBufferPointer { pl in
                for p in 0..<n {
                    let r = min(255, max(0, rgb[p * 3])), g = min(255, max(0, rgb[p * 3 + 1])), b = min(255, max(0, rgb[p * 3 + 2]))
                    pl[p] = 0.299 * r + 0.587 * g + 0.114 * b - 128
                    pl[n + p] = -0.168736 * r - 0.331264 * g + 0.5 * b
                    pl[2 * n + p] = 0.5 * r - 0.418688 * g - 0.081312 * b
                }
                for c in 0..<3 {
                    let plane = pl.baseAddress! + c * n
                    for by in stride(from: 0, to: h, by: 8) {
                        for bx in stride(from: 0, to: w, by: 8) {
                            for y in 0..<8 {
                                for x in 0..<8 { block[y * 8 + x] = plane[min(h - 1, by + y) * w + min(w - 1, bx + x)] }
                            }
                            transform(&block, &tmp, inverse: false)
                            for k in 0..<64 {
                                let q = steps[c * 64 + k]
                                block[k] = (block[k] / q).rounded() * q
                            }
                            transform(&block, &tmp, inverse: true)
                            for y in 0..<8 where by + y < h {
                                for x in 0..<8 where bx + x < w { plane[(by + y) * w + bx + x] = block[y * 8 + x] }
                            }
                        }
                    }
                }
                for p in 0..<n {
                    let yv = pl[p] + 128, cb = pl[n + p], cr = pl[2 * n + p]
                    rgb[p * 3] = yv + 1.402 * cr
                    rgb[p * 3 + 1] = yv - 0.344136 * cb - 0.714136 * cr
                    rgb[p * 3 + 2] = yv + 1.772 * cb
                }
            }
        }
    }

    /// Forward (B ← C B Cᵀ) or inverse (B ← Cᵀ B C) 2-D DCT of an 8 × 8 block, in place.
    static func transform(_ block: inout [Float], _ tmp: inout [Float], inverse: Bool) {
        basis.withUnsafeBufferPointer { c in
            block.withUnsafeMutableBufferPointer { b in
                tmp.withUnsafeMutableBufferPointer { t in
                    // Rows: t = B · Cᵀ (forward) or B · C (inverse).
                    for y in 0..<8 {
                        for u in 0..<8 {
                            var sum: Float = 0
                            for x in 0..<8 { sum += b[y * 8 + x] * (inverse ? c[x * 8 + u] : c[u * 8 + x]) }
                            t[y * 8 + u] = sum
                        }
                    }
                    // Columns: B = C · t (forward) or Cᵀ · t (inverse).
                    for v in 0..<8 {
                        for u in 0..<8 {
                            var sum: Float = 0
                            for y in 0..<8 { sum += (inverse ? c[y * 8 + v] : c[v * 8 + y]) * t[y * 8 + u] }
                            b[v * 8 + u] = sum
                        }
                    }
                }
            }
        }
    }
}
