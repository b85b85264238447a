import NN
import Tensor

/// BatchNorm running statistics of a data-parallel step, updated ONCE per step from the statistics of all its
/// micro-batches on all ranks, so the result does not depend on which rank ran which micro-batch:
///
///     S = Σ_j (n_j / n) · s_j            (s_j: micro-batch j's batch mean, or its unbiased variance, per channel;
///                                          n_j its images, n the global batch; the sum runs over every rank)
///     running ← (1 − momentum) · running + momentum · S
///
/// With the whole global batch in one micro-batch on one rank this is exactly PyTorch's update (and the step then
/// leaves the layers' own in-place update alone). PyTorch DDP without SyncBatchNorm instead lets every rank update
/// its buffers from its local batch and broadcasts rank 0's buffers at the next forward, so the running statistics
/// follow rank 0's shard only; here they follow every image of the step. The forward pass still normalises each
/// micro-batch with its own statistics (as DDP does per rank), so a different micro-batch SIZE changes the numbers
/// in any case; a different placement of the same micro-batches on ranks does not.
///
/// How: before each micro-batch the running buffers of the training-mode layers are zeroed, so the layer's own
/// update leaves `momentum · s_j` in them; that is read back, weighted, and summed over ranks in one allreduce
/// (together with any `extras`, e.g. the step's loss).
///
/// ```swift
/// let stats = BatchNormStepStatistics(model)
/// for part in microBatches { stats.beforeMicroBatch(); forwardBackward(part); stats.afterMicroBatch(weight: w) }
/// var loss = [localLoss]
/// try stats.finishStep(communicator: world, extras: &loss)
/// ```
public final class BatchNormStepStatistics {
    let layers: [BatchNorm2d]
    private var saved: [[Float]] = []
    private var sums: [Double]

    /// The training-mode BatchNorm layers of `model` (eval-mode ones use, and keep, their running statistics).
    public init(_ model: any Module) {
        layers = model.namedModules().compactMap { $0.1 as? BatchNorm2d }.filter(\.isTraining)
        sums = [Double](repeating: 0, count: layers.reduce(0) { $0 + 2 * $1.runningMean.count })
        saved = layers.map { Array(UnsafeBufferPointer(start: $0.runningMean.pointer, count: $0.runningMean.count))
            + Array(UnsafeBufferPointer(start: $0.runningVar.pointer, count: $0.runningVar.count)) }
    }

    /// Zeroes the running buffers before a micro-batch's forward pass.
    public func beforeMicroBatch() {
        for l in layers {
            l.runningMean.pointer.update(repeating: 0, count: l.runningMean.count)
            l.runningVar.pointer.update(repeating: 0, count: l.runningVar.count)
        }
    }

    /// Adds `weight · s_j` of the micro-batch just run (its forward pass left `momentum · s_j` in the buffers).
    public func afterMicroBatch(weight: Double) {
        var o = 0
        for l in layers {
            let m = Double(l.momentum), c = l.runningMean.count
            guard m > 0 else { o += 2 * c; continue }
            for k in 0..<c { sums[o + k] += weight * Double(l.runningMean.pointer[k]) / m }
            for k in 0..<c { sums[o + c + k] += weight * Double(l.runningVar.pointer[k]) / m }
            o += 2 * c
        }
    }

    /// Sums the weighted statistics (and `extras`, in place) over the ranks and applies the one update.
    public func finishStep(communicator: any Communicator, extras: inout [Double]) throws {
        var all = sums + extras
        try communicator.allreduceSum(&all)
        extras = Array(all[sums.count...])
        var o = 0
        for (l, before) in zip(layers, saved) {
            let m = Double(l.momentum), c = l.runningMean.count
            for k in 0..<c {
                l.runningMean.pointer[k] = Float((1 - m) * Double(before[k]) + m * all[o + k])
                l.runningVar.pointer[k] = Float((1 - m) * Double(before[c + k]) + m * all[o + c + k])
            }
            o += 2 * c
        }
    }
}
