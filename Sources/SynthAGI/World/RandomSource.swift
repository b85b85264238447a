import Foundation
import Tensor

/// Named random streams of the world. Every image, prompt and rating draws from its own generator, seeded by
/// `deriveSeed(worldSeed, stream, index)`, so results never depend on thread count or on the order of work.
enum RandomStream: UInt64 {
    case prompt = 1, iqaImage = 2, corpusNatural = 3, corpusAgi = 4, mismatchNatural = 5, mismatchAgi = 6
}

/// SplitMix64 finaliser: a bijective 64-bit mix.
@inline(__always)
func mix64(_ value: UInt64) -> UInt64 {
    var z = value &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// Seed of item `index` of `stream` in the world with seed `seed`.
func deriveSeed(_ seed: UInt64, _ stream: RandomStream, _ index: Int) -> UInt64 {
    mix64(mix64(seed ^ 0x5EED_A61) ^ mix64(stream.rawValue &* 0x1000_0000_01B3) ^ mix64(UInt64(truncatingIfNeeded: index) &+ 0x1234_5678))
}

extension SeededGenerator {
    /// Uniform in [low, high).
    @inline(__always)
    mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * nextDouble() }

    /// Uniform in [low, high) as Float.
    @inline(__always)
    mutating func uniformF(_ low: Float, _ high: Float) -> Float { low + (high - low) * nextFloat() }

    /// Uniform integer in 0..<n (n ≥ 1), by a 64×64 → 128-bit multiply (independent of the standard library).
    @inline(__always)
    mutating func int(below n: Int) -> Int {
        Int(truncatingIfNeeded: UInt64(n).multipliedFullWidth(by: next()).high)
    }

    /// True with probability `p`.
    @inline(__always)
    mutating func bernoulli(_ p: Double) -> Bool { nextDouble() < p }

    /// Poisson(λ) by Knuth's product of uniforms (λ is small here).
    mutating func poisson(_ lambda: Double) -> Int {
        if lambda <= 0 { return 0 }
        let limit = Foundation.exp(-lambda)
        var k = 0
        var product = nextDouble()
        while product > limit && k < 1000 {
            k += 1
            product *= nextDouble()
        }
        return k
    }

    /// Index drawn with probabilities proportional to `weights` (non-negative, positive sum).
    mutating func weightedIndex(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = nextDouble() * total
        for (i, w) in weights.enumerated() {
            if u < w { return i }
            u -= w
        }
        return weights.count - 1
    }

    /// Two independent standard normals (Box–Muller in Float).
    @inline(__always)
    mutating func normalPair() -> (Float, Float) {
        var u1 = nextFloat()
        if u1 < 1e-7 { u1 = 1e-7 }
        let u2 = nextFloat()
        let r = (-2 * logf(u1)).squareRoot()
        let a = 2 * Float.pi * u2
        return (r * cosf(a), r * sinf(a))
    }

    /// Approximately standard normal from one 64-bit draw: (Σ of four 16-bit uniforms − 2) · √3 (Irwin–Hall,
    /// sd 1, bounded by ±3.46). Used for pixel noise, where speed matters more than tails.
    @inline(__always)
    mutating func fastNormal() -> Float {
        let x = next()
        let sum = Float(x & 0xFFFF) + Float((x >> 16) & 0xFFFF) + Float((x >> 32) & 0xFFFF) + Float(x >> 48)
        return (sum * (1 / 65_536.0) + 2 / 65_536.0 - 2) * 1.732_050_8
    }
}
