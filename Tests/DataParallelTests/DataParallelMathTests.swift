import DataParallel
import Foundation
import NN
import Tensor
import Testing

@Suite("Data-parallel arithmetic with one rank: shares, micro-batches, buckets, BatchNorm step statistics")
struct DataParallelMathTests {
    @Test("shares tile the batch contiguously and differ in size by at most one")
    func sharesTile() {
        for n in [0, 1, 5, 31, 32, 33] {
            for size in 1...5 {
                let ranges = BatchShares.ranges(count: n, size: size)
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == n)
                for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
                let counts = ranges.map(\.count)
                #expect(counts.max()! - counts.min()! <= 1 && counts == counts.sorted(by: >))
            }
        }
        #expect(BatchShares.range(count: 32, rank: 1, size: 3) == 11..<22)
        #expect(BatchShares.microBatches(of: 11..<22, size: 8) == [11..<19, 19..<22])
        #expect(BatchShares.microBatches(of: 5..<5, size: 8).isEmpty)
    }

    @Test("2 ranks × micro-batches of 16 are the same micro-batches as 1 process with micro-batches of 16")
    func sameMicroBatches() {
        let single = BatchShares.microBatches(of: 0..<32, size: 16)
        let ranks = BatchShares.ranges(count: 32, size: 2).flatMap { BatchShares.microBatches(of: $0, size: 32) }
        #expect(single == ranks)
    }

    @Test("buckets run in reverse parameter order, respect the byte limit, and cover every parameter once")
    func bucketPlan() {
        let sizes = [10, 300, 20, 5, 1000, 7]
        let plan = GradientReducer.plan(sizes: sizes, bucketBytes: 4 * 320)
        #expect(plan.flatMap { $0 } == Array(sizes.indices.reversed()))
        #expect(plan == [[5], [4], [3, 2], [1, 0]])
        for b in plan where b.count > 1 { #expect(b.reduce(0) { $0 + sizes[$1] } <= 320) }
    }

    @Test("with one rank the reducer leaves gradients (and missing ones) exactly as they are")
    func singleRankReducer() throws {
        let a = Var(Tensor(shape: [3], values: [1, 2, 3]), requiresGrad: true)
        let b = Var(Tensor(shape: [2], values: [4, 5]), requiresGrad: true)
        a.grad = Tensor(shape: [3], values: [0.5, -1, 2])
        let reducer = GradientReducer(parameters: [a, b], communicator: SingleProcessCommunicator(), bucketBytes: 8)
        try reducer.reduce()
        #expect(Array(UnsafeBufferPointer(start: a.grad!.pointer, count: 3)) == [0.5, -1, 2])
        #expect(b.grad == nil)
        #expect(try SingleProcessCommunicator().allgather([1, 2]) == [1, 2])
    }

    @Test("BatchNorm step statistics: one update from the weighted micro-batch statistics (1e-6 relative)")
    func batchNormStepRule() throws {
        let bn = BatchNorm2d(2)
        bn.runningMean.pointer.update(from: [0.5, -0.25], count: 2)
        bn.runningVar.pointer.update(from: [2, 0.5], count: 2)
        let r0 = ([0.5, -0.25] as [Double], [2.0, 0.5])
        // Two micro-batches [rows, 2] with known statistics (rows are images × pixels; here 1×1×rows).
        let parts: [[Float]] = [[1, 2, 3, 5, -1, 0], [4, 0, 2, 2]]
        let stats = BatchNormStepStatistics(bn)
        var expectedMean = [0.0, 0.0], expectedVar = [0.0, 0.0]
        let n = Double(parts.reduce(0) { $0 + $1.count / 2 })
        for values in parts {
            stats.beforeMicroBatch()
            let rows = values.count / 2
            _ = bn(Var(Tensor(shape: [rows, 1, 1, 2], values: values)))
            let w = Double(rows) / n
            stats.afterMicroBatch(weight: w)
            for c in 0..<2 {
                let col = (0..<rows).map { Double(values[$0 * 2 + c]) }
                let mu = col.reduce(0, +) / Double(rows)
                let v = col.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(rows - 1)
                expectedMean[c] += w * mu
                expectedVar[c] += w * v
            }
        }
        var loss = [0.25]
        try stats.finishStep(communicator: SingleProcessCommunicator(), extras: &loss)
        #expect(loss == [0.25])
        for c in 0..<2 {
            let m = 0.9 * r0.0[c] + 0.1 * expectedMean[c], v = 0.9 * r0.1[c] + 0.1 * expectedVar[c]
            #expect(abs(Double(bn.runningMean.pointer[c]) - m) <= 1e-6 * max(1, abs(m)))
            #expect(abs(Double(bn.runningVar.pointer[c]) - v) <= 1e-6 * max(1, abs(v)))
        }
    }

    @Test("plain processes are not taken for MPI ranks; mpirun / srun environments are")
    func launchDetection() {
        #expect(!World.launchedByMPI([:]))
        #expect(World.launchedByMPI(["OMPI_COMM_WORLD_SIZE": "2"]))
        #expect(World.launchedByMPI(["PMI_SIZE": "4"]))
    }

    @Test("launcher size read without MPI: Open MPI's, then PMI's; none in a plain process")
    func launchedSize() {
        #expect(World.launchedSize([:]) == nil)
        #expect(World.launchedSize(["OMPI_COMM_WORLD_SIZE": "3", "PMI_SIZE": "5"]) == 3)
        #expect(World.launchedSize(["PMI_SIZE": "4"]) == 4)
    }

    @Test("gather with one rank: the root gets [its own bytes] (empty ones too), any other root is refused")
    func singleRankGather() throws {
        let single = SingleProcessCommunicator()
        let bytes: [UInt8] = Array("row 1\nrow 2\n".utf8) + [0, 255]
        #expect(try single.gather(bytes, root: 0) == [bytes])
        #expect(try single.gather([], root: 0) == [[]])
        #expect(throws: CommunicatorError.badRoot(1, size: 1)) { try single.gather(bytes, root: 1) }
    }
}
