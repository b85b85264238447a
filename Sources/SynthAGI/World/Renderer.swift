import Foundation
import Tensor

/// How scenes are drawn. `natural`: flat colours on flat patterns (the tiny-CLIP pre-training look). `agi`: a
/// domain shift toward "generated" images: soft drop shadows, dark outlines, glossy shading with a specular
/// highlight, background grain and a vignette.
///
/// ```swift
/// SceneRenderer.image(scene, style: .natural, size: 64, using: &rng)
/// ```
public enum RenderStyle: String, CaseIterable, Codable, Sendable {
    case natural, agi
}

/// Draws a ``Scene`` onto a float canvas (0…255). Objects are anti-aliased analytically from their signed
/// distance d (pixels): coverage = clamp(0.5 − d, 0, 1). Layout jitter (anchor, radius, colour) comes from `rng`,
/// so two generators drawing one prompt differ slightly.
///
/// ```swift
/// var rng = SeededGenerator(seed: 1)
/// let image = SceneRenderer.image(scene, style: .agi, size: 64, using: &rng)
/// ```
public enum SceneRenderer {
    /// Renders `scene` to an 8-bit image.
    public static func image(_ scene: Scene, style: RenderStyle, size: Int, using rng: inout SeededGenerator) -> SynthImage {
        SynthImage(canvas: render(scene, style: style, size: size, using: &rng))
    }

    static func render(_ scene: Scene, style: RenderStyle, size: Int, using rng: inout SeededGenerator) -> Canvas {
        var canvas = Canvas(width: size, height: size)
        let textureSeed = rng.next()
        drawBackground(scene.background, style: style, textureSeed: textureSeed, into: &canvas)
        let w = Float(size)
        for group in scene.groups {
            let ax = (WorldConstants.gridAnchors[group.placement.column] + rng.uniformF(-1, 1) * WorldConstants.anchorJitter) * w
            let ay = (WorldConstants.gridAnchors[group.placement.row] + rng.uniformF(-1, 1) * WorldConstants.anchorJitter) * w
            let radiusFraction = WorldConstants.radiusByCount[min(max(group.count, 1), 4) - 1]
            let r = radiusFraction * w * (1 + rng.uniformF(-1, 1) * WorldConstants.radiusJitter)
            let base = group.colour.rgb
            let j = WorldConstants.colourJitter
            let colour = (base.0 + rng.uniformF(-j, j), base.1 + rng.uniformF(-j, j), base.2 + rng.uniformF(-j, j))
            let step = WorldConstants.groupSpacing * r
            for (ox, oy) in offsets(count: group.count) {
                drawObject(group.shape, cx: ax + ox * step, cy: ay + oy * step, radius: r, colour: colour,
                           style: style, into: &canvas)
            }
        }
        return canvas
    }

    /// Object centres of a group, in units of the spacing step.
    static func offsets(count: Int) -> [(Float, Float)] {
        switch count {
        case ...1: return [(0, 0)]
        case 2: return [(-1, 0), (1, 0)]
        case 3: return [(-1, 0.58), (1, 0.58), (0, -1.15)]
        case 4: return [(-1, -1), (1, -1), (-1, 1), (1, 1)]
        default:
            return (0..<count).map { k in
                let a = 2 * Float.pi * Float(k) / Float(count)
                return (1.6 * cosf(a), 1.6 * sinf(a))
            }
        }
    }

    static func drawBackground(_ bg: Background, style: RenderStyle, textureSeed: UInt64, into canvas: inout Canvas) {
        let width = canvas.width, height = canvas.height
        let w = Float(width)
        let (ca, sa) = (cosf(bg.angle), sinf(bg.angle))
        let base = bg.base, accent = bg.accent
        let period = max(bg.period * w, 2)
        let dotR = bg.dotRadius * w
        canvas.data.withUnsafeMutableBufferPointer { out in
            for y in 0..<height {
                for x in 0..<width {
                    let px = Float(x) + 0.5, py = Float(y) + 0.5
                    var t: Float
                    switch bg.kind {
                    case .plain:
                        t = 0
                    case .gradient:
                        t = min(1, max(0, 0.5 + ((px / w - 0.5) * ca + (py / w - 0.5) * sa)))
                    case .stripes:
                        let u = (px * ca + py * sa) / period
                        let f = u - u.rounded(.down)
                        t = min(1, max(0, 0.5 - (abs(f - 0.5) - 0.25) * period))
                    case .dots:
                        let cx = ((px / period).rounded(.down) + 0.5) * period
                        let cy = ((py / period).rounded(.down) + 0.5) * period
                        let d = ((px - cx) * (px - cx) + (py - cy) * (py - cy)).squareRoot() - dotR
                        t = min(1, max(0, 0.5 - d))
                    }
                    var r = base.r + (accent.r - base.r) * t
                    var g = base.g + (accent.g - base.g) * t
                    var b = base.b + (accent.b - base.b) * t
                    if style == .agi {
                        let grain = WorldConstants.agiTextureAmplitude * hashNoise(x, y, textureSeed)
                        let dx = px / w - 0.5, dy = py / w - 0.5
                        let v = 1 - WorldConstants.agiVignette * min(1, 2 * (dx * dx + dy * dy))
                        r = (r + grain) * v
                        g = (g + grain) * v
                        b = (b + grain) * v
                    }
                    let i = (y * width + x) * 3
                    out[i] = r
                    out[i + 1] = g
                    out[i + 2] = b
                }
            }
        }
    }

    /// Deterministic per-pixel value in [−1, 1).
    @inline(__always)
    static func hashNoise(_ x: Int, _ y: Int, _ seed: UInt64) -> Float {
        let h = mix64(seed ^ (UInt64(truncatingIfNeeded: x) << 32) ^ UInt64(truncatingIfNeeded: y))
        return Float(h >> 40) * (2.0 / 16_777_216.0) - 1
    }

    static func drawObject(_ shape: ShapeKind, cx: Float, cy: Float, radius r: Float, colour: (Float, Float, Float),
                           style: RenderStyle, into canvas: inout Canvas) {
        let width = canvas.width, height = canvas.height
        let agi = style == .agi
        let (sox, soy) = (WorldConstants.agiShadowOffset.0 * r, WorldConstants.agiShadowOffset.1 * r)
        let margin = 1.15 * r + 2 + (agi ? max(sox, soy) + WorldConstants.agiShadowSoftness * r : 0)
        let x0 = max(0, Int((cx - margin).rounded(.down))), x1 = min(width - 1, Int((cx + margin).rounded(.up)))
        let y0 = max(0, Int((cy - margin).rounded(.down))), y1 = min(height - 1, Int((cy + margin).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let inv = 1 / r
        let outline = WorldConstants.agiOutlineWidth * Float(width)
        let softness = WorldConstants.agiShadowSoftness * r
        canvas.data.withUnsafeMutableBufferPointer { out in
            for y in y0...y1 {
                for x in x0...x1 {
                    let px = Float(x) + 0.5, py = Float(y) + 0.5
                    let ux = (px - cx) * inv, uy = (py - cy) * inv
                    let d = ShapeSDF.distance(shape, ux, uy) * r
                    let i = (y * width + x) * 3
                    if !agi {
                        let a = min(1, max(0, 0.5 - d))
                        if a > 0 {
                            out[i] += (colour.0 - out[i]) * a
                            out[i + 1] += (colour.1 - out[i + 1]) * a
                            out[i + 2] += (colour.2 - out[i + 2]) * a
                        }
                        continue
                    }
                    // Soft shadow under the object.
                    let ds = ShapeSDF.distance(shape, (px - cx - sox) * inv, (py - cy - soy) * inv) * r
                    let shadow = WorldConstants.agiShadowStrength * min(1, max(0, 0.5 - ds / (2 * softness)))
                    if shadow > 0 {
                        let k = 1 - shadow
                        out[i] *= k
                        out[i + 1] *= k
                        out[i + 2] *= k
                    }
                    let outer = min(1, max(0, 0.5 - d))
                    if outer <= 0 { continue }
                    let dark = WorldConstants.agiOutlineDarkening
                    out[i] += (colour.0 * dark - out[i]) * outer
                    out[i + 1] += (colour.1 * dark - out[i + 1]) * outer
                    out[i + 2] += (colour.2 * dark - out[i + 2]) * outer
                    let inner = min(1, max(0, 0.5 - (d + outline)))
                    if inner <= 0 { continue }
                    // Glossy shading: lit from the top left, with a specular highlight.
                    let light = min(1.15, max(0.5, 0.78 + 0.28 * (-0.55 * ux - 0.65 * uy)))
                    let hx = ux + 0.35, hy = uy + 0.4
                    let highlight = WorldConstants.agiHighlightStrength * expf(-(hx * hx + hy * hy) / 0.06)
                    var fr = min(255, colour.0 * light), fg = min(255, colour.1 * light), fb = min(255, colour.2 * light)
                    fr += (255 - fr) * highlight
                    fg += (255 - fg) * highlight
                    fb += (255 - fb) * highlight
                    out[i] += (fr - out[i]) * inner
                    out[i + 1] += (fg - out[i + 1]) * inner
                    out[i + 2] += (fb - out[i + 2]) * inner
                }
            }
        }
    }
}
