import Foundation

/// MT19937, the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), with both seeding routines of the
/// reference implementation `mt19937ar.c`:
///
/// - `init(seed:)` = `init_genrand(s)`: `mt[0] = s`, `mt[i] = 1812433253·(mt[i−1] ⊕ (mt[i−1] ≫ 30)) + i`.
///   This is what numpy's legacy `RandomState(seed)` / `np.random.seed(seed)` does for an integer seed
///   (`_legacy_seeding` → `mt19937_seed`), verified against numpy.
/// - `init(key:)` = `init_by_array(key)`: `init_genrand(19650218)` then two mixing passes over the key.
///   This is what CPython's `random.seed(n)` does, with the key = 32-bit little-endian chunks of |n|.
///
/// Written from the published algorithm (not a copy of either implementation's source).
///
/// ```swift
/// var mt = MersenneTwister(seed: 42)
/// mt.next()   // 1608637542, as numpy.random.RandomState(42)._bit_generator.random_raw()
/// ```
public struct MersenneTwister: Sendable {
    static let n = 624, m = 397
    static let matrixA: UInt32 = 0x9908_B0DF, upperMask: UInt32 = 0x8000_0000, lowerMask: UInt32 = 0x7FFF_FFFF

    private var state: [UInt32]
    private var index: Int

    /// `init_genrand(seed)`.
    public init(seed: UInt32) {
        state = MersenneTwister.genrandState(seed)
        index = MersenneTwister.n
    }

    /// `init_by_array(key)`; an empty key is treated as `[0]` (as CPython does for seed 0).
    public init(key: [UInt32]) {
        let key = key.isEmpty ? [0] : key
        let n = MersenneTwister.n
        var mt = MersenneTwister.genrandState(19_650_218)
        var i = 1, j = 0
        for _ in 0..<max(n, key.count) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(truncatingIfNeeded: j)
            i += 1; j += 1
            if i >= n { mt[0] = mt[n - 1]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<(n - 1) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= n { mt[0] = mt[n - 1]; i = 1 }
        }
        mt[0] = 0x8000_0000
        state = mt
        index = n
    }

    private static func genrandState(_ seed: UInt32) -> [UInt32] {
        var mt = [UInt32](repeating: 0, count: n)
        mt[0] = seed
        for i in 1..<n { mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i) }
        return mt
    }

    /// The next tempered 32-bit output (`genrand_int32`).
    public mutating func next() -> UInt32 {
        if index >= MersenneTwister.n { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        let n = MersenneTwister.n, m = MersenneTwister.m
        state.withUnsafeMutableBufferPointer { mt in
            for k in 0..<n {
                let y = (mt[k] & MersenneTwister.upperMask) | (mt[(k + 1) % n] & MersenneTwister.lowerMask)
                mt[k] = mt[(k + m) % n] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : MersenneTwister.matrixA)
            }
        }
        index = 0
    }
}
