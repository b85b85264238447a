import Foundation

/// Signed distance functions of the six shapes in "unit" space: an object of radius 1 centred at the origin,
/// y pointing down (image convention). Negative inside. Multiplying by the radius in pixels gives pixel
/// distances, from which the renderer computes anti-aliased coverage clamp(0.5 − d, 0, 1).
///
/// - circle: |p| − 0.95
/// - square: box of half-size 0.8
/// - triangle: upward triangle (0, −1.05), (0.95, 0.6), (−0.95, 0.6)
/// - star: five points, outer radius 1.05, inner radius 0.45, pointing up
/// - cross: union of boxes 0.95 × 0.3 and 0.3 × 0.95
/// - ring: ||p| − 0.72| − 0.24
///
/// ```swift
/// ShapeSDF.distance(.circle, 0, 0)   // −0.95 (the centre is inside)
/// ```
public enum ShapeSDF {
    static let triangle: [SIMD2<Float>] = [SIMD2(0, -1.05), SIMD2(0.95, 0.6), SIMD2(-0.95, 0.6)]
    static let star: [SIMD2<Float>] = (0..<10).map { k in
        let angle = -Float.pi / 2 + Float(k) * Float.pi / 5
        let r: Float = k % 2 == 0 ? 1.05 : 0.45
        return SIMD2(r * cosf(angle), r * sinf(angle))
    }

    /// Signed distance from (x, y) to `shape` (unit space).
    @inline(__always)
    public static func distance(_ shape: ShapeKind, _ x: Float, _ y: Float) -> Float {
        switch shape {
        case .circle: return (x * x + y * y).squareRoot() - 0.95
        case .square: return box(x, y, 0.8, 0.8)
        case .triangle: return polygon(triangle, x, y)
        case .star: return polygon(star, x, y)
        case .cross: return min(box(x, y, 0.95, 0.3), box(x, y, 0.3, 0.95))
        case .ring: return abs((x * x + y * y).squareRoot() - 0.72) - 0.24
        }
    }

    /// Axis-aligned box of half-sizes (bx, by): exact signed distance.
    @inline(__always)
    static func box(_ x: Float, _ y: Float, _ bx: Float, _ by: Float) -> Float {
        let qx = abs(x) - bx, qy = abs(y) - by
        let ox = max(qx, 0), oy = max(qy, 0)
        return (ox * ox + oy * oy).squareRoot() + min(max(qx, qy), 0)
    }

    /// Closed polygon: exact distance to the nearest edge, sign from the even–odd crossing rule.
    @inline(__always)
    static func polygon(_ v: [SIMD2<Float>], _ x: Float, _ y: Float) -> Float {
        let p = SIMD2<Float>(x, y)
        var best = Float.greatestFiniteMagnitude
        var inside = false
        var j = v.count - 1
        for i in 0..<v.count {
            let a = v[j], b = v[i]
            let e = b - a, w = p - a
            let t = min(1, max(0, (w.x * e.x + w.y * e.y) / (e.x * e.x + e.y * e.y)))
            let dx = w.x - e.x * t, dy = w.y - e.y * t
            best = min(best, dx * dx + dy * dy)
            if (a.y > y) != (b.y > y) {
                let crossX = a.x + (y - a.y) / (b.y - a.y) * e.x
                if x < crossX { inside.toggle() }
            }
            j = i
        }
        let d = best.squareRoot()
        return inside ? -d : d
    }
}
