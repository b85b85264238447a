import Dispatch
import Foundation
import Testing
@testable import Tensor

@Suite("Parallel loops on the engine's pool")
struct ParallelTests {
    @Test("every index runs exactly once, also when 8 threads start loops at the same time (busy pool → libdispatch)")
    func indicesOnceUnderContention() {
        let counts = (0..<8).map { _ in Storage(zeroedCount: 5000) }
        let pointers = counts.map { UncheckedSendable($0.pointer) }
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for _ in 0..<20 {
                let p = pointers[t].value
                parallelTasks(5000) { i in p[i] += 1 }
            }
        }
        for c in counts { #expect((0..<5000).allSatisfy { c.pointer[$0] == 20 }) }
    }

    @Test("a loop inside a loop body runs inline on that thread and is marked as inside a parallel region")
    func nestedRunsInline() {
        let out = Storage(zeroedCount: 64 * 64)
        let p = out.pointer
        var outerInside = true
        parallelTasks(64) { i in
            #expect(Threading.isInsideParallelRegion)
            parallelTasks(64) { j in p[i * 64 + j] = Float(i * 64 + j) }
        }
        outerInside = Threading.isInsideParallelRegion
        #expect(!outerInside)
        #expect((0..<(64 * 64)).allSatisfy { p[$0] == Float($0) })
    }

    @Test("parallelChunks covers 0..<count with disjoint ranges for many sizes")
    func chunksCover() {
        for count in [1, 2, 3, 17, 1000, 40_000, 100_003] {
            let seen = Storage(zeroedCount: count)
            let p = seen.pointer
            parallelChunks(count, costPerItem: 8) { r in for i in r { p[i] += 1 } }
            #expect((0..<count).allSatisfy { p[$0] == 1 })
        }
    }
}
