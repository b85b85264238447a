import Foundation
import Testing
@testable import IQAMetrics

/// Straightforward O(n²) tau-b from the definition (reference for Knight's algorithm).
private func bruteForceTauB(_ a: [Double], _ b: [Double]) -> Double {
    var concordant = 0, discordant = 0, tiedA = 0, tiedB = 0
    for i in 0..<a.count {
        for j in (i + 1)..<a.count {
            let da = a[i] - a[j], db = b[i] - b[j]
            if da == 0 { tiedA += 1 }
            if db == 0 { tiedB += 1 }
            if da * db > 0 { concordant += 1 } else if da * db < 0 { discordant += 1 }
        }
    }
    let total = a.count * (a.count - 1) / 2
    return Double(concordant - discordant) / (Double(total - tiedA) * Double(total - tiedB)).squareRoot()
}

@Suite("Kendall tau-b (Knight's O(n log n) algorithm)")
struct KendallTests {
    @Test("equals the O(n²) definition to 1e-12 on random vectors with heavy ties on both sides",
          arguments: [2, 3, 7, 50, 333])
    func matchesBruteForce(n: Int) throws {
        var generator = SplitMix(seed: UInt64(n))
        for levels in [2, 5, 1000] {
            let a = (0..<n).map { _ in Double(generator.next() % UInt64(levels)) }
            let b = a.map { $0 + Double(generator.next() % 3) }
            guard Set(a).count > 1 && Set(b).count > 1 else { continue }
            #expect(abs(try Correlation.krcc(a, b) - bruteForceTauB(a, b)) <= 1e-12)
        }
    }

    @Test("perfect agreement gives 1, perfect reversal −1, even with ties shared by both sides")
    func extremes() throws {
        let a: [Double] = [1, 2, 2, 3, 5, 5, 5]
        #expect(try Correlation.krcc(a, a) == 1)
        #expect(try Correlation.krcc(a, a.map { -$0 }) == -1)
    }

    @Test("n = 100 000 with a known number of discordant and tied pairs (jointly shuffled): tau-b equals the closed form to 1e-12")
    func largeClosedForm() throws {
        // b = a = 0…n−1, then k disjoint adjacent swaps (one discordant pair each) and m ties of adjacent values (one
        // pair tied in b each), in separate blocks of four: C = N − k − m, D = k, ties only in b.
        let n = 100_000, k = 9_000, m = 11_000
        var a = (0..<n).map(Double.init), b = a
        for j in 0..<k { b.swapAt(4 * j, 4 * j + 1) }
        for j in 0..<m { b[4 * j + 3] = b[4 * j + 2] }
        var generator = SplitMix(seed: 42)
        for i in stride(from: n - 1, to: 0, by: -1) {
            let r = Int(generator.next() % UInt64(i + 1))
            a.swapAt(i, r)
            b.swapAt(i, r)
        }
        let total = Double(n) * Double(n - 1) / 2
        let expected = (total - Double(k + m) - Double(k)) / (total * (total - Double(m))).squareRoot()
        #expect(abs(try Correlation.krcc(a, b) - expected) <= 1e-12)
    }
}
