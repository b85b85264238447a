import DataParallel
import Foundation
import Tensor
import TensorTestSupport
import Testing

/// Two identical ranks in one process: every sum doubles its buffer. Records each bucket's contents when its
/// reduction starts, so the overlapped and the after-backward reducer can be compared bucket by bucket.
private final class MirroredPair: Communicator, @unchecked Sendable {
    var started: [[Float]] = []
    var tests = 0
    var rank: Int { 0 }
    var size: Int { 2 }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws { for i in values.indices { values[i] *= 2 } }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws { for i in values.indices { values[i] *= 2 } }
    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        started.append(Array(values))
        nonisolated(unsafe) let buffer = values
        return PendingReduction(wait: { for i in buffer.indices { buffer[i] *= 2 } }, test: { [self] in tests += 1; return false })
    }
    func allgather(_ values: [Double]) throws -> [Double] { values + values }
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? { [bytes, bytes] }
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] { bytes }
    func barrier() throws {}
    func abort(code: Int32) -> Never { exit(code) }
}

@Suite("GradientReducer overlapped with the backward pass: same buckets and sums as after it")
struct GradientOverlapTests {
    /// A 3-layer net: parameters w1, b1, w2, w3 (w3 used twice), an unused parameter u; loss of 4 rows.
    private func parameters() -> [Var] {
        let shapes = [[5, 4], [5], [6, 5], [3, 6], [7]]
        return shapes.enumerated().map { k, s in
            let n = s.reduce(1, *)
            return Var(Tensor(shape: s, values: (0..<n).map { Float(sin(Double($0 * 7 + k))) * 0.5 }), requiresGrad: true)
        }
    }

    private func loss(_ p: [Var]) -> Var {
        let x = Var(Tensor(shape: [4, 4], values: (0..<16).map { Float(cos(Double($0))) }))
        let h = relu(linear(relu(linear(x, p[0], bias: p[1])), p[2]))
        let y = add(linear(h, p[3]), linear(scale(h, 0.5), p[3]))
        return mseLoss(y, Var(Tensor(zeros: [4, 3])))
    }

    private func values(_ t: Tensor?) -> [Float]? { t.map { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) } }

    @Test("every trainable leaf fires once with its final gradient; buckets start during backward; sums bit-identical")
    func overlapMatchesReduce() throws { try ThreadCountLock.exclusive { try overlapMatchesReduceLocked() } }

    private func overlapMatchesReduceLocked() throws {
        // After the backward pass (today's path).
        let plain = parameters(), plainPair = MirroredPair()
        let after = GradientReducer(parameters: plain, communicator: plainPair, bucketBytes: 4 * 40)
        loss(plain).backward()
        let local = plain.map { values($0.grad) }
        try after.reduce()

        // Overlapped.
        let overlapped = parameters(), pair = MirroredPair()
        let reducer = GradientReducer(parameters: overlapped, communicator: pair, bucketBytes: 4 * 40)
        #expect(reducer.buckets.count >= 3)
        reducer.beginStep()
        var fired: [Int: [Float]] = [:]
        loss(overlapped).backward { leaf in
            let i = overlapped.firstIndex { $0 === leaf }!
            #expect(fired[i] == nil)
            fired[i] = self.values(leaf.grad)
            reducer.gradientReady(leaf)
        }
        // Every used parameter fired once, with the gradient a plain backward pass ends with; the unused one did not.
        #expect(fired.keys.sorted() == [0, 1, 2, 3])
        for i in 0..<4 { #expect(fired[i] == local[i]) }
        // The buckets holding only used parameters started during the pass, and were polled.
        let unusedBucket = reducer.buckets.firstIndex { $0.contains(4) }!
        #expect(unusedBucket == 0)   // the last parameter comes first in the plan …
        #expect(pair.started.isEmpty) // … so nothing may start before it is known: it is not, until finish()
        try reducer.finish()
        #expect(pair.started == plainPair.started)
        for (a, b) in zip(plain, overlapped) { #expect(values(a.grad) == values(b.grad)) }
        #expect(overlapped[4].grad == nil)
        #expect(values(overlapped[0].grad) == local[0]!.map { $0 * 2 })
    }

    @Test("with every parameter used, all buckets start (and are polled) before the backward pass returns")
    func bucketsStartDuringBackward() throws { try ThreadCountLock.exclusive { try bucketsStartDuringBackwardLocked() } }

    private func bucketsStartDuringBackwardLocked() throws {
        let p = Array(parameters().prefix(4)), pair = MirroredPair()
        let reducer = GradientReducer(parameters: p, communicator: pair, bucketBytes: 4 * 40)
        reducer.beginStep()
        var startedWhenFired: [Int] = []
        loss(p).backward { leaf in
            reducer.gradientReady(leaf)
            startedWhenFired.append(pair.started.count)
        }
        #expect(startedWhenFired.first! >= 1)   // the first bucket (w3, the last layer) starts with the first gradient
        #expect(pair.started.count == reducer.buckets.count)
        #expect(pair.tests > 0)
        let beforeFinish = pair.started
        try reducer.finish()
        #expect(pair.started == beforeFinish)
        // The same as the after-backward reducer.
        let q = Array(parameters().prefix(4)), plainPair = MirroredPair()
        loss(q).backward()
        try GradientReducer(parameters: q, communicator: plainPair, bucketBytes: 4 * 40).reduce()
        #expect(plainPair.started == pair.started)
        for (a, b) in zip(p, q) { #expect(values(a.grad) == values(b.grad)) }
    }

    @Test("overlapsBackward = false (bench mpi --overlap off): nothing starts during the pass; the same buckets and sums after it")
    func overlapOff() throws { try ThreadCountLock.exclusive { try overlapOffLocked() } }

    private func overlapOffLocked() throws {
        let p = Array(parameters().prefix(4)), pair = MirroredPair()
        let reducer = GradientReducer(parameters: p, communicator: pair, bucketBytes: 4 * 40)
        reducer.overlapsBackward = false
        reducer.beginStep()
        var reports = 0
        loss(p).backward { leaf in
            reducer.gradientReady(leaf)
            reports += 1
        }
        #expect(reports == 4)
        #expect(pair.started.isEmpty && pair.tests == 0)
        try reducer.finish()
        #expect(pair.started.count == reducer.buckets.count)
        let q = Array(parameters().prefix(4)), plainPair = MirroredPair()
        loss(q).backward()
        try GradientReducer(parameters: q, communicator: plainPair, bucketBytes: 4 * 40).reduce()
        #expect(plainPair.started == pair.started)
        for (a, b) in zip(p, q) { #expect(values(a.grad) == values(b.grad)) }
    }
}
