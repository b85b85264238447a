import Foundation
import Testing
@testable import IQAData

/// Reference streams: numpy 2.x `RandomState(seed)._bit_generator.random_raw()` and `.permutation(20)`;
/// CPython 3.11 `random.seed(n)`, `getrandbits(32)` and `random().hex()` (Scripts/fixtures_splits.py).
/// Tolerance: exact (bit-identical integers and doubles).
struct PRNGStreams: Decodable {
    struct NumpyCase: Decodable { let seed: UInt32; let raw32: [UInt32]; let permutation20: [Int] }
    struct PythonCase: Decodable { let seed: String; let raw32: [UInt32]; let randomHex: [String] }
    let numpy: [NumpyCase]
    let python: [PythonCase]
}

@Suite("Reference random streams")
struct RandomStreamTests {
    @Test("MT19937 init_genrand and numpy's legacy permutation equal numpy exactly")
    func numpyStreams() throws {
        let ref = try Fixtures.json(PRNGStreams.self, "prng_streams.json")
        #expect(ref.numpy.count == 5)
        for c in ref.numpy {
            var mt = MersenneTwister(seed: c.seed)
            #expect((0..<c.raw32.count).map { _ in mt.next() } == c.raw32, "seed \(c.seed)")
            var rs = NumpyRandomState(seed: c.seed)
            #expect(rs.permutation(20) == c.permutation20, "seed \(c.seed)")
        }
        var rs = NumpyRandomState(seed: 42)
        #expect(rs.permutation(10) == [8, 1, 5, 0, 7, 2, 9, 4, 3, 6])
        #expect(throws: DataError.self) { _ = try NumpyRandomState(checkedSeed: -1) }
    }

    @Test("CPython seeding (init_by_array over 32-bit chunks of |n|) and random() equal CPython bit for bit")
    func pythonStreams() throws {
        let ref = try Fixtures.json(PRNGStreams.self, "prng_streams.json")
        #expect(ref.python.count == 7)
        for c in ref.python {
            var r: PythonRandom
            if let n = Int(c.seed) {
                r = PythonRandom(seed: n)
            } else {
                #expect(c.seed == "1180591620717411303427")
                r = PythonRandom(key: [3, 0, 64])          // 2**70 + 3
            }
            var copy = r
            #expect((0..<c.raw32.count).map { _ in copy.next32() } == c.raw32, "seed \(c.seed)")
            let got = (0..<c.randomHex.count).map { _ in r.random() }
            let want = c.randomHex.map { pythonHexDouble($0) }
            #expect(got == want, "seed \(c.seed)")
        }
        var r = PythonRandom(seed: 42)
        #expect(r.random() == 0.6394267984578837)
    }

    /// Parses Python's `float.hex()` form "0x1.4762f307200c5p-1".
    private func pythonHexDouble(_ s: String) -> Double {
        Double(s) ?? .nan   // Swift's Double(String) accepts hexadecimal floating-point literals.
    }
}
