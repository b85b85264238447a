import Foundation

extension Correlation {
    /// Average ranks, exactly `scipy.stats.rankdata(x, method="average")`: ranks start at 1 and the
    /// members of a tie group occupying sorted positions i…j (1-based) all get (i + j) / 2, which is
    /// exact in Double. If any value is NaN every rank is NaN (scipy's `nan_policy="propagate"`).
    ///
    /// ```swift
    /// Correlation.ranks([10, 20, 10, 30])   // [1.5, 3.0, 1.5, 4.0]
    /// ```
    public static func ranks(_ x: [Double]) -> [Double] {
        if x.contains(where: { $0.isNaN }) { return [Double](repeating: .nan, count: x.count) }
        let order = sortedOrder(x)
        var result = [Double](repeating: 0, count: x.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && x[order[end + 1]] == x[order[start]] { end += 1 }
            let rank = Double(start + end + 2) / 2
            for k in start...end { result[order[k]] = rank }
            start = end + 1
        }
        return result
    }

    /// Dense ranks 0, 1, 2, … (equal values share a rank) and the number of distinct values.
    static func denseRanks(_ x: [Double]) -> (ranks: [Int], distinct: Int) {
        let order = sortedOrder(x)
        var result = [Int](repeating: 0, count: x.count)
        var rank = -1
        var previous = -Double.infinity
        for (k, index) in order.enumerated() {
            let value = x[index]
            if k == 0 || value != previous { rank += 1 }
            result[index] = rank
            previous = value
        }
        return (result, rank + 1)
    }

    /// Indices that sort `x` ascending (NaN-free input).
    static func sortedOrder(_ x: [Double]) -> [Int] {
        var order = Array(0..<x.count)
        x.withUnsafeBufferPointer { values in
            order.sort { values[$0] < values[$1] }
        }
        return order
    }
}
