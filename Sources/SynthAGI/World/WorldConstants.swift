/// Named constants of the synthetic world (layout, palette ranges, style and degradation strengths), in one place.
/// Lengths are fractions of the image width unless stated otherwise.
///
/// ```swift
/// WorldConstants.maxObjects   // 4
/// ```
public enum WorldConstants {
    // Scenes
    /// At most this many objects in a prompt.
    public static let maxObjects = 4
    /// Grid anchors (fractions of width/height) of placement columns/rows 0, 1, 2.
    static let gridAnchors: [Float] = [0.2, 0.5, 0.8]
    /// Object radius by group count (1…4), as a fraction of the width.
    static let radiusByCount: [Float] = [0.12, 0.095, 0.085, 0.08]
    /// Random ± factor on object radius.
    static let radiusJitter: Float = 0.1
    /// Random ± jitter of a group anchor (fraction of width).
    static let anchorJitter: Float = 0.03
    /// Centre spacing of objects inside a group, in radii.
    static let groupSpacing: Float = 1.12
    /// Random ± per-channel jitter on object colours (8-bit units).
    static let colourJitter: Float = 8

    // Backgrounds (neutral mid-tones)
    static let backgroundGrey: ClosedRange<Float> = 100...160
    static let backgroundTint: Float = 10
    static let backgroundContrast: ClosedRange<Float> = 25...45
    static let stripePeriod: ClosedRange<Float> = 0.10...0.18
    static let dotSpacing: ClosedRange<Float> = 0.12...0.18
    static let dotRadius: ClosedRange<Float> = 0.025...0.04

    // "agi" style
    static let agiShadowOffset: (Float, Float) = (0.18, 0.22)   // in radii
    static let agiShadowSoftness: Float = 0.35                  // in radii
    static let agiShadowStrength: Float = 0.45
    static let agiOutlineWidth: Float = 1.1 / 64                // fraction of width
    static let agiOutlineDarkening: Float = 0.3
    static let agiHighlightStrength: Float = 0.55
    static let agiTextureAmplitude: Float = 5
    static let agiVignette: Float = 0.18

    // Degradation strengths at severity 1
    static let blurSigma: (base: Float, perSeverity: Float) = (0.4, 2.0)          // pixels at 64 px, scaled by width/64
    static let noiseSD: (base: Float, perSeverity: Float) = (4, 36)               // 8-bit units
    static let jpegQuality: (atZero: Float, atOne: Float) = (92, 5)
    static let castShift: Float = 60
    static let castGain: Float = 0.25
    static let smearLength: (base: Float, perSeverity: Float) = (2, 12)           // pixels at 64 px
    static let ghostAlpha: Float = 0.6

    /// Reference width for pixel-denominated strengths.
    static let referenceWidth: Float = 64
}
