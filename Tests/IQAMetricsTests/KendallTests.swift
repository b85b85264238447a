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

    @Test("n = 100 000 takes under 0.2 s in release (5 s allowed in debug builds)")
    func performance() throws {
        var generator = SplitMix(seed: 42)
        let n = 100_000
        let a = (0..<n).map { _ in generator.nextDouble() }
        let b = a.map { (($0 + 0.3 * generator.nextDouble()) * 50).rounded() / 50 }   // continuous vs tied
        let clock = ContinuousClock()
        var tau = 0.0
        let elapsed = try clock.measure { tau = try Correlation.krcc(a, b) }
        #if DEBUG
        let limit = Duration.seconds(5)
        #else
        let limit = Duration.milliseconds(200)
        #endif
        #expect(elapsed < limit, "KRCC n=\(n) took \(elapsed)")
        #expect(tau > 0.5 && tau < 1)
        print("KRCC n=\(n): \(elapsed) (tau \(tau))")
    }
}
