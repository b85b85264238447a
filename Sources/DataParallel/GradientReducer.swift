import Foundation
import Tensor

/// Sums the gradients of a parameter list over the ranks of a job, in buckets (PyTorch DDP's reducer, Horovod's
/// tensor fusion): parameters are taken in REVERSE order (the order the backward pass finishes them), packed into
/// flat buffers of at most `bucketBytes` (default 25 MiB, DDP's default), and each bucket's non-blocking allreduce
/// starts as soon as every gradient in it is final — during the backward pass when the trainer feeds
/// ``gradientReady(_:)`` from `Var.backward(onGradientReady:)`, so the transfer of late layers' gradients overlaps
/// the backward pass of earlier layers.
///
///     g_p ← Σ_r g_p,r      for every parameter p (a missing gradient counts as 0)
///     g_p stays nil where NO rank has a gradient for p (the optimizer then skips p, as in one process)
///
/// With one rank it does nothing (the single-process path is the same code). ``reduce()`` runs everything after the
/// backward pass; the overlapped form gives the same sums bit for bit (same buckets, same contents, same order).
///
/// ```swift
/// let reducer = GradientReducer(parameters: optimizer.allParameters, communicator: world)
/// reducer.beginStep()
/// loss.backward(onGradientReady: reducer.gradientReady)   // buckets start as their gradients become final
/// try reducer.finish()                                    // identical gradients on every rank
/// optimizer.step()
/// ```
public final class GradientReducer {
    public let parameters: [Var]
    public let communicator: any Communicator
    /// Parameter indices of each bucket, in the order buckets are reduced.
    public let buckets: [[Int]]

    public static let defaultBucketBytes = 25 * 1024 * 1024

    /// Whether ``gradientReady(_:)`` starts buckets during the backward pass (default). `false` ignores those reports,
    /// so ``finish()`` starts every bucket after the pass, as ``reduce()`` does: the same sums, without the overlap
    /// (what `ipiqa bench mpi --overlap off` measures against).
    public var overlapsBackward = true

    public init(parameters: [Var], communicator: any Communicator, bucketBytes: Int = GradientReducer.defaultBucketBytes) {
        let trainable = parameters.filter(\.requiresGrad)
        self.parameters = trainable
        self.communicator = communicator
        buckets = Self.plan(sizes: trainable.map { $0.value.count }, bucketBytes: bucketBytes)
    }

    /// Buckets over parameters with `sizes` (floats each): reverse order, a new bucket when the next parameter would
    /// exceed `bucketBytes` (a parameter larger than that gets a bucket of its own).
    public static func plan(sizes: [Int], bucketBytes: Int) -> [[Int]] {
        let limit = max(1, bucketBytes / MemoryLayout<Float>.size)
        var out: [[Int]] = [], current: [Int] = [], filled = 0
        for i in sizes.indices.reversed() {
            if !current.isEmpty && filled + sizes[i] > limit {
                out.append(current)
                current = []
                filled = 0
            }
            current.append(i)
            filled += sizes[i]
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Sums every parameter's gradient over the ranks (in place; see the type's description): ``beginStep()`` then
    /// ``finish()``, every bucket started after the backward pass.
    public func reduce() throws {
        beginStep()
        try finish()
    }

    // MARK: Overlap with the backward pass

    /// Per-step state of the incremental reduction.
    private var pending: [PendingReduction] = []
    private var bucketBuffers: [UnsafeMutableBufferPointer<Float>] = []
    private var waiting: [Int] = []            // per bucket: parameters not yet ready
    private var isReady: [Bool] = []
    private var failure: (any Error)?
    private lazy var indexOf: [ObjectIdentifier: Int] = Dictionary(uniqueKeysWithValues: parameters.enumerated().map { (ObjectIdentifier($1), $0) })
    private lazy var bucketOf: [Int] = {
        var out = [Int](repeating: 0, count: parameters.count)
        for (b, bucket) in buckets.enumerated() { for i in bucket { out[i] = b } }
        return out
    }()

    /// Starts a step's reduction: no bucket is started yet. Then ``gradientReady(_:)`` from the last micro-batch's
    /// backward pass (`loss.backward(onGradientReady: reducer.gradientReady)`), then ``finish()``.
    public func beginStep() {
        releaseBuffers()
        waiting = buckets.map(\.count)
        isReady = [Bool](repeating: false, count: parameters.count)
        failure = nil
    }

    /// `p`'s gradient is final for this step: once every parameter of the next bucket (plan order) is, that bucket
    /// is packed and its non-blocking allreduce started; started ones are polled, so the transfer advances while
    /// the backward pass goes on (Open MPI progresses non-blocking collectives only inside MPI calls). Buckets are
    /// started in plan order on every rank. Parameters not in the list are ignored.
    public func gradientReady(_ p: Var) {
        guard overlapsBackward, communicator.size > 1, failure == nil, let i = indexOf[ObjectIdentifier(p)], i < isReady.count, !isReady[i] else { return }
        isReady[i] = true
        waiting[bucketOf[i]] -= 1
        do {
            while pending.count < buckets.count && waiting[pending.count] == 0 { try startBucket(pending.count) }
            for r in pending { _ = try r.test() }
        } catch { failure = error }
    }

    /// Starts the buckets not started yet, sums the presence flags, waits, and writes the sums into the gradients
    /// (a parameter that no rank has a gradient for keeps `grad == nil`).
    public func finish() throws {
        defer { releaseBuffers() }
        if let failure { throw failure }
        guard communicator.size > 1, !parameters.isEmpty else { return }
        while pending.count < buckets.count { try startBucket(pending.count) }
        // Which parameters have a gradient on some rank (a rank with an empty share has none).
        var present = parameters.map { $0.grad == nil ? Float(0) : 1 }
        try communicator.allreduceSum(&present)
        for (b, bucket) in buckets.enumerated() {
            try pending[b].wait()
            var offset = 0
            for i in bucket {
                let p = parameters[i], n = p.value.count
                defer { offset += n }
                guard present[i] > 0 else { continue }
                // A fresh tensor: a gradient may share storage with another tensor of the graph.
                let summed = Tensor(uninitialized: p.value.shape)
                summed.pointer.update(from: bucketBuffers[b].baseAddress! + offset, count: n)
                p.grad = summed
            }
        }
    }

    /// Packs bucket `b` (a missing gradient as zeros) and starts its allreduce.
    private func startBucket(_ b: Int) throws {
        let bucket = buckets[b]
        let total = bucket.reduce(0) { $0 + parameters[$1].value.count }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: total)
        bucketBuffers.append(buffer)
        var offset = 0
        for i in bucket {
            let n = parameters[i].value.count
            if let g = parameters[i].grad {
                (buffer.baseAddress! + offset).update(from: g.pointer, count: n)
            } else {
                (buffer.baseAddress! + offset).initialize(repeating: 0, count: n)
            }
            offset += n
        }
        pending.append(try communicator.startAllreduceSum(buffer))
    }

    /// Frees the bucket buffers (after their reductions were waited for, or were never started).
    private func releaseBuffers() {
        for b in bucketBuffers { b.deallocate() }
        bucketBuffers = []
        pending = []
    }

    deinit { releaseBuffers() }
}
