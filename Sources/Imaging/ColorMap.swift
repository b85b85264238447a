import Foundation

/// Colour maps for heat maps. `jet(t)` for t ∈ [0, 1] (clamped; NaN → 0):
/// `R = clamp(1.5 − |4t − 3|)`, `G = clamp(1.5 − |4t − 2|)`, `B = clamp(1.5 − |4t − 1|)`, blue → cyan → yellow → red.
///
/// ```swift
/// let hot = ColorMap.jet(0.9)   // orange-red
/// ```
public enum ColorMap {
    public static func jet(_ value: Double) -> RGBColor {
        let t = value.isNaN ? 0 : min(1, max(0, value))
        func channel(_ centre: Double) -> UInt8 {
            UInt8(clamping: Int((min(1, max(0, 1.5 - abs(4 * t - centre))) * 255).rounded()))
        }
        return RGBColor(channel(3), channel(2), channel(1))
    }
}
