import Foundation

extension Correlation {
    /// Kendall rank correlation tau-b, as `scipy.stats.kendalltau(a, b).statistic` (scipy's default):
    ///
    ///     τ_b = (C − D) / √(T − Tₐ) / √(T − T_b)
    ///
    /// with T = n(n−1)/2 pairs, Tₐ / T_b the pairs tied in a / b, C − D = T − Tₐ − T_b + Tₐ_b − 2D
    /// (Tₐ_b: pairs tied in both), D the discordant pairs. Knight's O(n log n) algorithm: dense-rank
    /// both inputs, order lexicographically by (a, b) with two counting sorts, then count D with a
    /// Fenwick tree over b's ranks — the same integer counts scipy gets, hence the same τ.
    /// Throws as the other metrics (n < 2, constant input, …). n = 100 000 takes a few ms.
    ///
    /// ```swift
    /// try Correlation.krcc([1, 2, 3, 4], [1, 3, 2, 4])   // 0.666…
    /// ```
    public static func krcc(_ a: [Double], _ b: [Double]) throws(MetricsError) -> Double {
        try krcc(a, b, names: .positional)
    }

    static func krcc(_ a: [Double], _ b: [Double], names: ArgumentNames) throws(MetricsError) -> Double {
        try validatePair(a, b, metric: "KRCC", names: names, minimum: 2, requireVariation: true)
        let n = a.count
        let (ra, distinctA) = denseRanks(a)
        let (rb, distinctB) = denseRanks(b)
        // Lexicographic order by (ra, rb): counting sort on rb, then a stable counting sort on ra.
        let byB = countingSortOrder(keys: rb, keyCount: distinctB, order: Array(0..<n))
        let order = countingSortOrder(keys: ra, keyCount: distinctA, order: byB)

        let discordant = countDiscordant(order: order, ra: ra, rb: rb, distinctB: distinctB)
        var jointTies = 0
        var runLength = 1
        for k in 1..<n {
            if ra[order[k]] == ra[order[k - 1]] && rb[order[k]] == rb[order[k - 1]] {
                runLength += 1
            } else {
                jointTies += runLength * (runLength - 1) / 2
                runLength = 1
            }
        }
        jointTies += runLength * (runLength - 1) / 2
        let tiesA = tiedPairs(ranks: ra, distinct: distinctA)
        let tiesB = tiedPairs(ranks: rb, distinct: distinctB)
        let total = n * (n - 1) / 2
        let concordantMinusDiscordant = total - tiesA - tiesB + jointTies - 2 * discordant
        let tau = Double(concordantMinusDiscordant) / Double(total - tiesA).squareRoot()
            / Double(total - tiesB).squareRoot()
        return min(1, max(-1, tau))
    }

    /// Stable counting sort of `order` by `keys[order[k]]` (keys in 0..<keyCount).
    static func countingSortOrder(keys: [Int], keyCount: Int, order: [Int]) -> [Int] {
        var start = [Int](repeating: 0, count: keyCount + 1)
        for index in order { start[keys[index] + 1] += 1 }
        for k in 0..<keyCount { start[k + 1] += start[k] }
        var result = [Int](repeating: 0, count: order.count)
        for index in order {
            let key = keys[index]
            result[start[key]] = index
            start[key] += 1
        }
        return result
    }

    /// Pairs (i, j) with a strictly smaller and b strictly larger at i than at j, counted over
    /// `order` (sorted by (ra, rb)) with a Fenwick tree of the b ranks seen in earlier a-groups.
    static func countDiscordant(order: [Int], ra: [Int], rb: [Int], distinctB: Int) -> Int {
        var tree = [Int](repeating: 0, count: distinctB + 1)
        var discordant = 0
        tree.withUnsafeMutableBufferPointer { tree in
            var groupStart = 0
            var inserted = 0
            while groupStart < order.count {
                var groupEnd = groupStart
                while groupEnd < order.count && ra[order[groupEnd]] == ra[order[groupStart]] {
                    // Earlier a-groups with b rank <= this one: prefix sum up to rb + 1 (1-based).
                    var index = rb[order[groupEnd]] + 1
                    var notGreater = 0
                    while index > 0 {
                        notGreater += tree[index]
                        index &= index - 1
                    }
                    discordant += inserted - notGreater
                    groupEnd += 1
                }
                for k in groupStart..<groupEnd {
                    var index = rb[order[k]] + 1
                    while index <= distinctB {
                        tree[index] += 1
                        index += index & -index
                    }
                }
                inserted += groupEnd - groupStart
                groupStart = groupEnd
            }
        }
        return discordant
    }

    /// Σ over tie groups of c(c − 1)/2.
    static func tiedPairs(ranks: [Int], distinct: Int) -> Int {
        var counts = [Int](repeating: 0, count: distinct)
        for r in ranks { counts[r] += 1 }
        return counts.reduce(0) { $0 + $1 * ($1 - 1) / 2 }
    }
}
