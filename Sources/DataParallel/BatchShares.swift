/// How a global batch (or an evaluation set) is divided among ranks: contiguous shares, as equal as possible
/// (the first `n mod N` ranks take one more item), in rank order, so rank 0 holds the first items.
///
///     share(r) = [r·q + min(r, ρ), (r+1)·q + min(r+1, ρ))     with q = ⌊n/N⌋, ρ = n mod N
///
/// Within a share, micro-batches of at most `m` items each; micro-batch `j` of the share starts at global offset
/// `share.lowerBound + j·m` (which keys its dropout masks). Its loss weight is `n_j / n` with `n` the GLOBAL batch
/// size, so that the gradients summed over ranks equal the single-process accumulated gradient
/// `∇ Σ_j (n_j/n)·L_j`.
///
/// ```swift
/// BatchShares.range(count: 32, rank: 1, size: 3)          // 11..<22
/// BatchShares.microBatches(of: 11..<22, size: 8)          // [11..<19, 19..<22]
/// ```
public enum BatchShares {
    /// Rank `rank`'s contiguous part of `count` items among `size` ranks.
    public static func range(count: Int, rank: Int, size: Int) -> Range<Int> {
        precondition(size >= 1 && (0..<size).contains(rank) && count >= 0, "bad share request")
        let q = count / size, extra = count % size
        let lo = rank * q + min(rank, extra)
        return lo..<(lo + q + (rank < extra ? 1 : 0))
    }

    /// Every rank's share, in rank order (they tile `0..<count`).
    public static func ranges(count: Int, size: Int) -> [Range<Int>] {
        (0..<size).map { range(count: count, rank: $0, size: size) }
    }

    /// Consecutive micro-batches of at most `size` items covering `share`.
    public static func microBatches(of share: Range<Int>, size: Int) -> [Range<Int>] {
        let m = max(1, size)
        return stride(from: share.lowerBound, to: share.upperBound, by: m).map { $0..<min($0 + m, share.upperBound) }
    }
}
