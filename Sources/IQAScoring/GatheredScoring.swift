import DataParallel
import Foundation
import IQAData
import IQAModel

extension ShardedScoring {
    /// Batch scoring by every rank of a job (`mpirun -np N ipiqa score --csv …`), gathered on rank 0:
    ///
    ///     rank r scores   Shard(r, N).range(of: rows, unit: batch size)     (the rows of `--shard r/N`)
    ///     rank 0 merges   gather([part text of rank 0, …, part text of rank N−1])
    ///
    /// Each rank writes its share as part text in memory (``scorePart`` — the producer of `--shard` part files), the
    /// texts are gathered to rank 0 over the communicator (``Communicator/gather(_:root:)``), and rank 0 reads and
    /// checks them and puts them together as `--merge` does: the same bytes as one unsharded run with the same batch
    /// size, in `job.format`. The merge's checks also catch ranks that read different model or CSV files (one job per
    /// part). Returns the output text on rank 0 and nil on the other ranks; a rank that throws must end the job
    /// (``Communicator/abort(code:)``), or the others wait in the gather.
    ///
    /// ```swift
    /// let world = try World.communicator()
    /// let job = try ScoreJob(model: modelURL, csv: csvURL, rows: requests.count, shards: world.size, batchSize: 8,
    ///                        precision: "fp32", outputs: scorer.outputNames, format: .csv)
    /// if let text = try ShardedScoring.gathered(BatchScorer(scorer: scorer, batchSize: 8), requests: requests,
    ///                                           job: job, communicator: world) {
    ///     try ScoreLineWriter.write(text, to: outputURL)           // rank 0 only
    /// }
    /// ```
    public static func gathered(_ batch: BatchScorer, requests: [ScoringRequest], job: ScoreJob, communicator: any Communicator,
                                attention: AttentionHeadSelection? = nil, attentionDirectory: URL? = nil,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> String? {
        let shard = try Shard(index: communicator.rank, count: communicator.size)
        var text = ""
        _ = try scorePart(batch, requests: requests, shard: shard, job: job, attention: attention,
                          attentionDirectory: attentionDirectory, progress: progress) { text += $0 }
        guard let texts = try communicator.gather(Array(text.utf8), root: 0) else { return nil }
        let parts = try texts.enumerated().map { r, bytes in
            try parse(Data(bytes), source: "the rows of rank \(r) of \(communicator.size)")
        }
        return try merge(parts: parts, format: job.format)
    }
}
