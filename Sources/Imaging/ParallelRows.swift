import Dispatch
import Foundation

/// Runs `body(range)` over `0..<count` in contiguous, non-overlapping chunks, in parallel when the work is
/// large enough (`count * costPerItem` ≥ 32k). Imaging does not depend on Tensor, hence its own copy.
func imagingParallelChunks(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    if workers == 1 || count == 1 || count * costPerItem < 32_768 {
        body(0..<count)
        return
    }
    let chunks = min(count, workers * 4)
    withoutActuallyEscaping(body) { body in
        let task = ImagingUncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = count * c / chunks, hi = count * (c + 1) / chunks
            if lo < hi { task.value(lo..<hi) }
        }
    }
}

/// Carries a closure / pointer across a `@Sendable` boundary; sound because chunks write disjoint rows.
struct ImagingUncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
