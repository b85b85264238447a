import DataParallel
import Foundation
import IQAData
import IQAScoring
import IQATestSupport
import Testing

/// Ranks of one job run one after another in this process: a non-root rank's `gather` leaves its bytes in the
/// shared mailbox and returns nil; the root, run last, receives every rank's bytes in rank order.
private final class SequentialRanks: Communicator, @unchecked Sendable {
    final class Mailbox { var bytes: [Int: [UInt8]] = [:] }
    let rank: Int
    let size: Int
    let mailbox: Mailbox
    init(rank: Int, size: Int, mailbox: Mailbox) {
        self.rank = rank
        self.size = size
        self.mailbox = mailbox
    }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws { Issue.record("not a collective of scoring") }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws { Issue.record("not a collective of scoring") }
    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction { PendingReduction {} }
    func allgather(_ values: [Double]) throws -> [Double] { values }
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
        mailbox.bytes[rank] = bytes
        guard rank == root else { return nil }
        return try (0..<size).map { r in
            guard let b = mailbox.bytes[r] else { throw CommunicatorError.badRoot(r, size: size) }
            return b
        }
    }
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] { bytes }
    func barrier() throws {}
    func abort(code: Int32) -> Never { exit(code) }
}

@Suite("Sharded scoring gathered on rank 0 (mpirun without --shard): the unsharded output byte for byte", .serialized)
struct ShardedScoringGatherTests {
    @Test("1 rank (SingleProcessCommunicator) and 3 ranks (batch 2, 7 rows) gather into the unsharded CSV and JSON Lines")
    func gatheredEqualsUnsharded() throws {
        let scratch = try ScratchFolder("gathered-scoring")
        defer { scratch.remove() }
        let fixture = try ScoringFixture(in: scratch, rows: 7)
        let requests = fixture.requests
        let batch = BatchScorer(scorer: fixture.scorer, batchSize: 2)
        for format in ScoreOutputFormat.allCases {
            let whole = try batch.run(requests, format: format)
            for size in [1, 3] {
                let job = try fixture.job(shards: size, batchSize: 2, format: format)
                let mailbox = SequentialRanks.Mailbox()
                var scored: [Int: Int] = [:]
                for rank in (0..<size).reversed() {
                    let world: any Communicator = size == 1 ? SingleProcessCommunicator() : SequentialRanks(rank: rank, size: size, mailbox: mailbox)
                    let text = try ShardedScoring.gathered(batch, requests: requests, job: job, communicator: world) { _, total in scored[rank] = total }
                    if rank == 0 {
                        #expect(text == whole, "\(format), \(size) rank(s)")
                    } else {
                        #expect(text == nil, "rank \(rank) returned output")
                    }
                }
                // Each rank scored only its share: 4 batches of 2 over 3 ranks → 2, 2 and 3 rows (the last batch holds 1).
                if size == 3 { #expect(scored == [0: 2, 1: 2, 2: 3], "\(scored)") }
            }
        }
        // Ranks that read different CSVs (another job) are refused by rank 0, naming the ranks' rows.
        let mailbox = SequentialRanks.Mailbox()
        for rank in [1, 0] {
            var job = try fixture.job(shards: 2, batchSize: 2, format: .csv)
            if rank == 1 { job.csvCRC32 = "00000000" }
            let world = SequentialRanks(rank: rank, size: 2, mailbox: mailbox)
            if rank == 0 {
                do {
                    _ = try ShardedScoring.gathered(batch, requests: requests, job: job, communicator: world)
                    Issue.record("rank 0 merged the rows of two different jobs")
                } catch let error as ScoringError {
                    let text = error.localizedDescription
                    #expect(text.contains("rank 1 of 2") && text.contains("csvCRC32"), "\(text)")
                }
            } else {
                _ = try ShardedScoring.gathered(batch, requests: requests, job: job, communicator: world)
            }
        }
    }
}
