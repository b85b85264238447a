import Foundation
import Testing
@testable import IQAMetrics

@Suite("Average ranks against scipy.stats.rankdata")
struct RankTests {
    @Test("ranks equal scipy.stats.rankdata(method='average') exactly", arguments: Fixtures.correlationCases.filter { $0.ranksA != nil })
    func matchesRankdata(_ c: Fixtures.CorrelationCase) {
        #expect(Correlation.ranks(c.a) == c.ranksA!)
        #expect(Correlation.ranks(c.b) == c.ranksB!)
    }

    @Test("tie groups share the mean of their positions; ranks sum to n(n+1)/2")
    func tiesAverage() {
        #expect(Correlation.ranks([10, 20, 10, 30]) == [1.5, 3, 1.5, 4])
        #expect(Correlation.ranks([3, 3, 3]) == [2, 2, 2])
        #expect(Correlation.ranks([]) == [])
        var generator = SplitMix(seed: 7)
        let x = (0..<1001).map { _ in Double(generator.next() % 6) }
        let rankSum: Double = Correlation.ranks(x).reduce(0, +)
        #expect(rankSum == Double(1001 * 1002 / 2))
    }

    @Test("a NaN anywhere makes every rank NaN (scipy's nan_policy='propagate')")
    func nanPropagates() {
        let ranks = Correlation.ranks([1, .nan, 2])
        #expect(ranks.allSatisfy { $0.isNaN })
    }
}

/// Small deterministic generator for tests (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
