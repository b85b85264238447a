import Foundation
import Tensor

/// Sums the gradients of a parameter list over the ranks of a job, in buckets (PyTorch DDP's reducer, Horovod's
/// tensor fusion): parameters are taken in REVERSE order (the order the backward pass finishes them), packed into
/// flat buffers of at most `bucketBytes` (default 25 MiB, DDP's default), and each bucket's non-blocking allreduce
/// starts as soon as it is packed, so the transfer of one bucket overlaps the packing of the next and the
/// unpacking of the previous ones.
///
///     g_p ← Σ_r g_p,r      for every parameter p (a missing gradient counts as 0)
///     g_p stays nil where NO rank has a gradient for p (the optimizer then skips p, as in one process)
///
/// With one rank it does nothing (the single-process path is the same code). Run it after the last micro-batch's
/// backward pass and before clipping and the optimizer step.
///
/// ```swift
/// let reducer = GradientReducer(parameters: optimizer.allParameters, communicator: world)
/// loss.backward()
/// try reducer.reduce()                       // identical gradients on every rank
/// optimizer.step()
/// ```
public final class GradientReducer {
    public let parameters: [Var]
    public let communicator: any Communicator
    /// Parameter indices of each bucket, in the order buckets are reduced.
    public let buckets: [[Int]]

    public static let defaultBucketBytes = 25 * 1024 * 1024

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

    /// Sums every parameter's gradient over the ranks (in place; see the type's description).
    public func reduce() throws {
        guard communicator.size > 1, !parameters.isEmpty else { return }
        // Which parameters have a gradient on some rank (a rank with an empty share has none).
        let present = UnsafeMutableBufferPointer<Float>.allocate(capacity: parameters.count)
        for (i, p) in parameters.enumerated() { present[i] = p.grad == nil ? 0 : 1 }
        var buffers: [UnsafeMutableBufferPointer<Float>] = [present]
        defer { for b in buffers { b.deallocate() } }
        let flags = try communicator.startAllreduceSum(present)
        var pending: [PendingReduction] = []
        for bucket in buckets {
            let total = bucket.reduce(0) { $0 + parameters[$1].value.count }
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: total)
            buffers.append(buffer)
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
        try flags.wait()
        let bucketBuffers = Array(buffers.dropFirst())
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
}
