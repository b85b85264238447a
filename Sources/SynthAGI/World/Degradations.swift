import Foundation
import Tensor

/// Applies quality degradations to a rendered image, each scaled by its severity s ∈ [0, 1] (pixel lengths are
/// given at 64 px and scale with the width W):
///
/// - colour cast: a random hue direction c (zero-sum over RGB), pixel += s · (60 · c + 0.25 · pixel · c)
/// - blur: Gaussian, σ = (0.4 + 2 s) · W/64 px
/// - smear: motion blur of length (2 + 12 s) · W/64 px at a random angle inside a random band, plus a ghost:
///   a feathered patch copied to a shifted place with opacity 0.6 s
/// - noise: near-Gaussian (Irwin–Hall of 4), sd = 4 + 36 s (8-bit units), a quarter of the variance shared across channels
/// - blockiness: JPEG-like 8 × 8 DCT quantisation, quality 92 − 87 s (see ``BlockQuantizer``)
///
/// Degradations are applied in that fixed order whatever the order of the list.
///
/// ```swift
/// var rng = SeededGenerator(seed: 5)
/// let blurred = Degrader.apply([QualityDegradation(kind: .blur, severity: 0.8)], to: image, using: &rng)
/// ```
public enum Degrader {
    static let order: [QualityKind] = [.colourCast, .blur, .smear, .noise, .blockiness]

    public static func apply(_ degradations: [QualityDegradation], to image: SynthImage,
                             using rng: inout SeededGenerator) -> SynthImage {
        var canvas = Canvas(width: image.width, height: image.height)
        for i in 0..<image.pixels.count { canvas.data[i] = Float(image.pixels[i]) }
        apply(degradations, to: &canvas, using: &rng)
        return SynthImage(canvas: canvas)
    }

    static func apply(_ degradations: [QualityDegradation], to canvas: inout Canvas, using rng: inout SeededGenerator) {
        for kind in order {
            for d in degradations where d.kind == kind {
                let s = Float(min(1, max(0, d.severity)))
                switch kind {
                case .colourCast: colourCast(&canvas, severity: s, using: &rng)
                case .blur: blur(&canvas, sigma: blurSigma(severity: s, width: canvas.width))
                case .smear: smear(&canvas, severity: s, using: &rng)
                case .noise: noise(&canvas, sd: WorldConstants.noiseSD.base + WorldConstants.noiseSD.perSeverity * s, using: &rng)
                case .blockiness: BlockQuantizer.quantize(&canvas, severity: s)
                }
            }
        }
    }

    static func blurSigma(severity s: Float, width: Int) -> Float {
        (WorldConstants.blurSigma.base + WorldConstants.blurSigma.perSeverity * s) * Float(width) / WorldConstants.referenceWidth
    }

    static func colourCast(_ canvas: inout Canvas, severity s: Float, using rng: inout SeededGenerator) {
        let theta = rng.uniformF(0, 2 * Float.pi)
        let c = (0..<3).map { k in cosf(theta - 2 * Float.pi * Float(k) / 3) }
        let shift = c.map { s * WorldConstants.castShift * $0 }
        let gain = c.map { 1 + s * WorldConstants.castGain * $0 }
        canvas.data.withUnsafeMutableBufferPointer { p in
            for i in stride(from: 0, to: p.count, by: 3) {
                for k in 0..<3 { p[i + k] = p[i + k] * gain[k] + shift[k] }
            }
        }
    }

    /// Separable Gaussian blur with clamped edges.
    static func blur(_ canvas: inout Canvas, sigma: Float) {
        guard sigma > 0.05 else { return }
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-radius...radius).map { expf(-Float($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        let w = canvas.width, h = canvas.height
        var tmp = [Float](repeating: 0, count: canvas.data.count)
        canvas.data.withUnsafeMutableBufferPointer { src in
            tmp.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for k in -radius...radius {
                            let xx = min(w - 1, max(0, x + k))
                            let j = (y * w + xx) * 3, wk = kernel[k + radius]
                            r += src[j] * wk; g += src[j + 1] * wk; b += src[j + 2] * wk
                        }
                        let i = (y * w + x) * 3
                        dst[i] = r; dst[i + 1] = g; dst[i + 2] = b
                    }
                }
                for y in 0..<h {
                    for x in 0..<w {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for k in -radius...radius {
                            let yy = min(h - 1, max(0, y + k))
                            let j = (yy * w + x) * 3, wk = kernel[k + radius]
                            r += dst[j] * wk; g += dst[j + 1] * wk; b += dst[j + 2] * wk
                        }
                        let i = (y * w + x) * 3
                        src[i] = r; src[i + 1] = g; src[i + 2] = b
                    }
                }
            }
        }
    }

    /// Gaussian-like noise (Irwin–Hall normals): per pixel, a shared (luminance) part and a per-channel part, total sd `sd`.
    static func noise(_ canvas: inout Canvas, sd: Float, using rng: inout SeededGenerator) {
        let shared = sd * 0.5, own = sd * 0.866
        canvas.data.withUnsafeMutableBufferPointer { p in
            for i in stride(from: 0, to: p.count, by: 3) {
                let a = rng.fastNormal(), b = rng.fastNormal(), c = rng.fastNormal(), d = rng.fastNormal()
                let common = shared * a
                p[i] += common + own * b
                p[i + 1] += common + own * c
                p[i + 2] += common + own * d
            }
        }
    }

    /// Motion smear inside a random band, plus a ghosted patch.
    static func smear(_ canvas: inout Canvas, severity s: Float, using rng: inout SeededGenerator) {
        let w = canvas.width, h = canvas.height
        let scale = Float(w) / WorldConstants.referenceWidth
        let phi = rng.uniformF(0, Float.pi)
        let (dx, dy) = (cosf(phi), sinf(phi))
        let length = (WorldConstants.smearLength.base + WorldConstants.smearLength.perSeverity * s) * scale
        let taps = max(2, Int(length) + 1)
        let offsets: [(Int, Int)] = (0..<taps).map { i in
            let t = -length / 2 + length * Float(i) / Float(taps - 1)
            return (Int((t * dx).rounded()), Int((t * dy).rounded()))
        }
        let bandCentre = rng.uniformF(-0.3, 0.3), bandHalf = rng.uniformF(0.25, 0.5)
        // Ghost patch parameters (drawn up front so the draw count is fixed).
        let patch = Int(rng.uniformF(0.25, 0.4) * Float(w))
        let sx = rng.int(below: max(1, w - patch)), sy = rng.int(below: max(1, h - patch))
        let ga = rng.uniformF(0, 2 * Float.pi), gm = rng.uniformF(0.1, 0.25) * Float(w)
        let gx = Int((gm * cosf(ga)).rounded()), gy = Int((gm * sinf(ga)).rounded())
        let alpha = WorldConstants.ghostAlpha * s

        let source = canvas.data
        let inverseTaps = 1 / Float(taps)
        canvas.data.withUnsafeMutableBufferPointer { out in
            source.withUnsafeBufferPointer { src in
                for y in 0..<h {
                    for x in 0..<w {
                        let v = ((Float(x) + 0.5) / Float(w) - 0.5) * -dy + ((Float(y) + 0.5) / Float(h) - 0.5) * dx
                        let mask = min(1, max(0, (bandHalf - abs(v - bandCentre)) / 0.08))
                        if mask <= 0 { continue }
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (ox, oy) in offsets {
                            let xx = min(w - 1, max(0, x + ox)), yy = min(h - 1, max(0, y + oy))
                            let j = (yy * w + xx) * 3
                            r += src[j]; g += src[j + 1]; b += src[j + 2]
                        }
                        let i = (y * w + x) * 3
                        out[i] += (r * inverseTaps - out[i]) * mask
                        out[i + 1] += (g * inverseTaps - out[i + 1]) * mask
                        out[i + 2] += (b * inverseTaps - out[i + 2]) * mask
                    }
                }
            }
            guard patch > 2, alpha > 0 else { return }
            let smeared = Array(out)
            let feather = max(1, Float(patch) * 0.2)
            for py in 0..<patch {
                for px in 0..<patch {
                    let tx = sx + px + gx, ty = sy + py + gy
                    guard tx >= 0, ty >= 0, tx < w, ty < h else { continue }
                    let edge = Float(min(min(px, patch - 1 - px), min(py, patch - 1 - py))) + 0.5
                    let a = alpha * min(1, edge / feather)
                    let j = ((sy + py) * w + sx + px) * 3, i = (ty * w + tx) * 3
                    for k in 0..<3 { out[i + k] += (smeared[j + k] - out[i + k]) * a }
                }
            }
        }
    }
}
