import CBLAS
import CKernels
import Dispatch
import Foundation

/// Threading for the engine: one pool of workers (`DispatchQueue.concurrentPerform`) for everything, GEMMs included.
///
/// OpenBLAS itself runs single-threaded: ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` splits a large
/// product into one block per worker. That keeps OpenBLAS's own threads (which spin after every call) from competing
/// with the engine's workers for the cores, and lets fused kernels run GEMM and epilogue per block without a barrier.
public enum Threading {
    /// Number of worker threads (defaults to the number of online CPUs).
    nonisolated(unsafe) public private(set) static var workers: Int = {
        openblas_set_num_threads(1)
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Sets the worker count for the engine's parallel loops and GEMMs (OpenBLAS stays single-threaded).
    public static func setThreads(_ n: Int) {
        _ = workers
        workers = max(1, n)
        openblas_set_num_threads(1)
    }

    /// Whether the calling thread is already running one chunk of a parallel loop (nested loops then run inline).
    public static var isInsideParallelRegion: Bool { ipiqa_pool_inside() != 0 || pthread_getspecific(regionKey) != nil }

    /// Threads of the engine's fork-join pool (`Sources/CKernels/pool.c`), started on first use with ``workers``
    /// threads (the caller included). Its workers spin for ~100 µs after a loop before they sleep, so back-to-back
    /// loops (one per convolution, batch norm, …) do not pay a thread wake-up each.
    static let poolThreads: Int = Int(ipiqa_pool_start(Int32(workers)))

    static let regionKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

/// Runs `body(range)` over `0..<count` split into contiguous chunks, in parallel when the work is large
/// enough (`count * costPerItem` ≥ ~32k operations). Chunks never overlap, so disjoint writes are safe.
/// Inside another parallel loop's chunk the body runs inline (no nested fan-out).
@inline(__always)
public func parallelChunks(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let workers = Threading.workers
    if workers == 1 || count == 1 || count * costPerItem < 32_768 || Threading.isInsideParallelRegion {
        body(0..<count)
        return
    }
    let chunks = min(count, workers * 4)
    parallelTasks(chunks) { c in
        let lo = count * c / chunks, hi = count * (c + 1) / chunks
        if lo < hi { body(lo..<hi) }
    }
}

/// Runs `body(i)` for `i` in `0..<count` on the worker pool, one call per index (no size threshold: callers decide
/// that the items are worth a thread each). Marks the workers as inside a parallel region.
public func parallelTasks(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || Threading.isInsideParallelRegion { for i in 0..<count { body(i) }; return }
    // The engine's pool when it has exactly the configured worker count and is free; otherwise (another thread's
    // loop is running on it, or `setThreads` changed the count) libdispatch.
    if Threading.poolThreads == Threading.workers && Threading.workers > 1 {
        let ran = withoutActuallyEscaping(body) { body -> Bool in
            let box = PoolTask(body)
            return withExtendedLifetime(box) {
                ipiqa_pool_run(count, { ctx, index in
                    Unmanaged<PoolTask>.fromOpaque(ctx!).takeUnretainedValue().body(Int(index))
                }, Unmanaged.passUnretained(box).toOpaque()) != 0
            }
        }
        if ran { return }
    }
    withoutActuallyEscaping(body) { body in
        let task = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            let key = Threading.regionKey
            let outer = pthread_getspecific(key)
            pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
            task.value(i)
            pthread_setspecific(key, outer)
        }
    }
}

/// A loop body handed to the C pool as an opaque context.
private final class PoolTask {
    let body: (Int) -> Void
    init(_ body: @escaping (Int) -> Void) { self.body = body }
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
