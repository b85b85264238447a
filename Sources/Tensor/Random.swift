import Foundation

/// Seeded pseudo-random numbers (SplitMix64 seeding a xoshiro256** stream): the engine's only source of
/// randomness, so that the same seed and thread count give the same numbers.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Standard normal (Box–Muller).
    public mutating func nextNormal() -> Float {
        var u1 = nextDouble()
        while u1 <= 1e-300 { u1 = nextDouble() }
        let u2 = nextDouble()
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

/// Skips random initialisation of new parameters while a checkpoint is about to overwrite them all: inside
/// ``withoutInitialization(_:)`` the `Tensor.randn/uniform/…` initialisers return zeros without drawing numbers
/// (loading an RN50 checkpoint otherwise spends most of its time drawing 100M normals it then discards).
public enum ParameterInitialization {
    @TaskLocal public static var isSkipped = false
}

/// Runs `body` (typically a model constructor followed by a strict `loadStateDict`) without random initialisation.
public func withoutInitialization<T>(_ body: () throws -> T) rethrows -> T {
    try ParameterInitialization.$isSkipped.withValue(true) { try body() }
}

extension Tensor {
    /// Normal(mean, std) entries from `rng`.
    public static func randn(_ shape: [Int], mean: Float = 0, std: Float = 1, using rng: inout SeededGenerator) -> Tensor {
        if ParameterInitialization.isSkipped { return Tensor(zeros: shape) }
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.pointer[i] = mean + std * rng.nextNormal() }
        return t
    }

    /// Uniform[low, high) entries from `rng`.
    public static func uniform(_ shape: [Int], low: Float, high: Float, using rng: inout SeededGenerator) -> Tensor {
        if ParameterInitialization.isSkipped { return Tensor(zeros: shape) }
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.pointer[i] = low + (high - low) * rng.nextFloat() }
        return t
    }

    /// Kaiming-uniform as PyTorch's default for Linear/Conv weights: U(−b, b), b = 1/√fanIn · √(6/(1+5))·… =
    /// `1/√fanIn` (a = √5 gives bound = √(6/((1+5)·fanIn)) = 1/√fanIn).
    public static func kaimingUniform(_ shape: [Int], fanIn: Int, using rng: inout SeededGenerator) -> Tensor {
        let bound = 1 / Float(fanIn).squareRoot()
        return uniform(shape, low: -bound, high: bound, using: &rng)
    }

    /// Kaiming-normal (fan-in, ReLU gain): N(0, 2/fanIn).
    public static func kaimingNormal(_ shape: [Int], fanIn: Int, using rng: inout SeededGenerator) -> Tensor {
        randn(shape, std: (2 / Float(fanIn)).squareRoot(), using: &rng)
    }
}
