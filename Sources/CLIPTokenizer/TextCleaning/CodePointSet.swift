/// A set of Unicode code points stored as sorted, disjoint closed ranges; membership is a binary search.
///
/// Built from the `[[lo, hi], ...]` lists of the generated resource tables.
///
/// ```swift
/// let digits = try CodePointSet(ranges: [[0x30, 0x39]], file: "x.json")
/// digits.contains(0x35)   // true
/// ```
struct CodePointSet: Sendable {
    private let lows: [UInt32]
    private let highs: [UInt32]

    init(ranges: [[UInt32]], file: String) throws {
        var lows: [UInt32] = [], highs: [UInt32] = []
        lows.reserveCapacity(ranges.count)
        highs.reserveCapacity(ranges.count)
        for (i, r) in ranges.enumerated() {
            guard r.count == 2, r[0] <= r[1], lows.isEmpty || r[0] > highs[highs.count - 1] else {
                throw TokenizerError.resourceCorrupt(file: file, line: nil,
                                                     reason: "range #\(i) \(r) is not an ascending [lo, hi] pair")
            }
            lows.append(r[0])
            highs.append(r[1])
        }
        self.lows = lows
        self.highs = highs
    }

    init(codePoints: [UInt32]) {
        var lows: [UInt32] = [], highs: [UInt32] = []
        for c in Set(codePoints).sorted() {
            if let last = highs.last, last &+ 1 == c { highs[highs.count - 1] = c } else { lows.append(c); highs.append(c) }
        }
        self.lows = lows
        self.highs = highs
    }

    @inline(__always)
    func contains(_ c: UInt32) -> Bool {
        var lo = 0, hi = lows.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if lows[mid] <= c { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 && c <= highs[lo - 1]
    }
}
