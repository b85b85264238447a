import Foundation

/// CPython's `random.Random` for what the official AGIQA-1k split uses: `seed(n)` for an integer n and
/// `random()`. `seed(n)` = MT19937 `init_by_array` over the 32-bit little-endian chunks of |n| (seed 0 → key
/// `[0]`); `random()` = (a·2²⁶ + b) / 2⁵³ with a = next() ≫ 5 and b = next() ≫ 6 (`random_random` in
/// `_randommodule.c`).
///
/// ```swift
/// var r = PythonRandom(seed: 42)
/// r.random()   // 0.6394267984578837, as `random.seed(42); random.random()`
/// ```
public struct PythonRandom: Sendable {
    public private(set) var twister: MersenneTwister

    /// `random.seed(seed)` for a Python int in Int's range.
    public init(seed: Int) {
        var magnitude = seed.magnitude
        var key: [UInt32] = []
        while magnitude > 0 {
            key.append(UInt32(truncatingIfNeeded: magnitude))
            magnitude >>= 32
        }
        self.init(key: key)
    }

    /// Seeding from explicit 32-bit chunks of |n| (least significant first), for seeds beyond Int.
    public init(key: [UInt32]) {
        twister = MersenneTwister(key: key)
    }

    /// `random.random()`: uniform in [0, 1) with 53 random bits.
    public mutating func random() -> Double {
        let a = Double(twister.next() >> 5), b = Double(twister.next() >> 6)
        return (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `random.getrandbits(32)`.
    public mutating func next32() -> UInt32 { twister.next() }
}

/// numpy's legacy `RandomState` for what the official AGIQA-3k split uses: `np.random.seed(seed)` for an
/// integer seed in 0…2³²−1 (`init_genrand`) and `permutation(n)` = `arange(n)` + legacy `shuffle`: Fisher–Yates
/// from i = n−1 down to 1, swapping x[i] and x[j] with j = `random_interval(i)` — draw 32-bit outputs (64-bit
/// ones, hi·2³² + lo, if i > 2³²−1), mask them with the smallest all-ones mask ≥ i, reject while > i.
///
/// ```swift
/// var rs = NumpyRandomState(seed: 42)
/// rs.permutation(10)   // [8, 1, 5, 0, 7, 2, 9, 4, 3, 6], as np.random.RandomState(42).permutation(10)
/// ```
public struct NumpyRandomState: Sendable {
    public private(set) var twister: MersenneTwister

    public init(seed: UInt32) {
        twister = MersenneTwister(seed: seed)
    }

    /// `np.random.seed(seed)` accepts 0…2³²−1; anything else is an error (numpy raises ValueError).
    public init(checkedSeed seed: Int) throws {
        guard seed >= 0, seed <= Int(UInt32.max) else {
            throw DataError.invalidArgument("seed \(seed): numpy's RandomState needs a seed between 0 and 2**32 - 1")
        }
        self.init(seed: UInt32(seed))
    }

    /// `random_interval(max)`: uniform in 0…max by masked rejection.
    public mutating func randomInterval(_ max: UInt64) -> UInt64 {
        if max == 0 { return 0 }
        var mask = max
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4
        mask |= mask >> 8; mask |= mask >> 16; mask |= mask >> 32
        if max <= 0xFFFF_FFFF {
            while true {
                let v = UInt64(twister.next()) & mask
                if v <= max { return v }
            }
        }
        while true {
            let hi = UInt64(twister.next()), lo = UInt64(twister.next())
            let v = ((hi << 32) | lo) & mask
            if v <= max { return v }
        }
    }

    /// Legacy `shuffle` of a 1-D array.
    public mutating func shuffle<T>(_ x: inout [T]) {
        guard x.count > 1 else { return }
        for i in stride(from: x.count - 1, through: 1, by: -1) {
            let j = Int(randomInterval(UInt64(i)))
            x.swapAt(i, j)
        }
    }

    /// `permutation(n)`: a shuffled `0..<n`.
    public mutating func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<max(n, 0))
        shuffle(&a)
        return a
    }
}
