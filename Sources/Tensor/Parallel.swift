import Dispatch
import Foundation
import CBLAS

/// Threading for the engine: OpenBLAS threads for GEMM, `concurrentPerform` for everything else.
public enum Threading {
    /// Number of worker threads for non-BLAS kernels (defaults to the number of online CPUs).
    nonisolated(unsafe) public private(set) static var workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Sets the worker count for both OpenBLAS and the engine's own parallel loops.
    public static func setThreads(_ n: Int) {
        workers = max(1, n)
        openblas_set_num_threads(Int32(workers))
    }
}

/// Runs `body(range)` over `0..<count` split into contiguous chunks, in parallel when the work is large
/// enough (`count * costPerItem` ≥ ~32k operations). Chunks never overlap, so disjoint writes are safe.
@inline(__always)
public func parallelChunks(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let workers = Threading.workers
    if workers == 1 || count == 1 || count * costPerItem < 32_768 {
        body(0..<count)
        return
    }
    let chunks = min(count, workers * 4)
    withoutActuallyEscaping(body) { body in
        let task = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = count * c / chunks, hi = count * (c + 1) / chunks
            if lo < hi { task.value(lo..<hi) }
        }
    }
}

/// Carries a value across a `@Sendable` boundary. The engine's kernels write disjoint ranges of
/// their own buffers, which is what makes this sound.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}

/// Runs `body(i)` for every `i` in `0..<count`, in parallel chunks.
@inline(__always)
public func parallelFor(_ count: Int, costPerItem: Int = 1, _ body: (Int) -> Void) {
    parallelChunks(count, costPerItem: costPerItem) { r in for i in r { body(i) } }
}
