import Foundation
import IQAData
import Testing

@Suite("Shard: i/N parsing, contiguous blocks of whole units, and the launcher's environment")
struct ShardTests {
    @Test("shards 0…N−1 cover 0..<total exactly once, in order, in whole units, balanced within one unit")
    func blocksCoverOnce() throws {
        for total in [0, 1, 2, 7, 10, 33, 100] {
            for unit in [1, 2, 4, 8] {
                for n in [1, 2, 3, 5, 16] {
                    let ranges = try (0..<n).map { try Shard(index: $0, count: n).range(of: total, unit: unit) }
                    #expect(ranges.flatMap { Array($0) } == Array(0..<total), "total \(total) unit \(unit) N \(n)")
                    for r in ranges where !r.isEmpty { #expect(r.lowerBound % unit == 0) }
                    let units = ranges.map { ($0.count + unit - 1) / unit }
                    #expect((units.max() ?? 0) - (units.min() ?? 0) <= 1, "total \(total) unit \(unit) N \(n): \(units)")
                }
            }
        }
        #expect(try Shard(parsing: "1/3").range(of: 10) == 3..<6)
        #expect(try Shard(parsing: "1/3").range(of: 10, unit: 4) == 4..<8)
        #expect(try Shard(parsing: "2/3").range(of: 10, unit: 4) == 8..<10)
    }

    @Test("'i/N' parses with a 0-based index; out-of-range, absurd and malformed values are refused with the reason")
    func parsing() throws {
        #expect(try Shard(parsing: "0/1") == Shard.whole)
        #expect(try Shard(parsing: " 3 / 4 ") == Shard(index: 3, count: 4))
        for bad in ["4/4", "-1/4", "1/0", "0/-2", "0/2000000", "1", "a/b", "1/2/3", "", "/", "99999999999999999999/2"] {
            #expect(throws: ShardError.self, "'\(bad)'") { _ = try Shard(parsing: bad) }
        }
        #expect { _ = try Shard(parsing: "4/4") } throws: { $0.localizedDescription.contains("0-based") && $0.localizedDescription.contains("4/4") }
    }

    @Test("the environment: Open MPI, PMI, Slurm arrays (from their minimum id), srun tasks; conflicts and gaps refused")
    func environment() throws {
        #expect(try Shard.fromEnvironment(["OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "4"]).shard == Shard(index: 2, count: 4))
        #expect(try Shard.fromEnvironment(["PMI_RANK": "0", "PMI_SIZE": "3"]).launcher.contains("PMI"))
        // Open MPI wins over a surrounding Slurm allocation's variables.
        let nested = ["OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2", "SLURM_PROCID": "0", "SLURM_NTASKS": "1"]
        #expect(try Shard.fromEnvironment(nested).shard == Shard(index: 1, count: 2))
        let array = ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "7",
                     "SLURM_PROCID": "0", "SLURM_NTASKS": "1"]
        #expect(try Shard.fromEnvironment(array).shard == Shard(index: 5, count: 8))
        let fromOne = ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "4"]
        #expect(try Shard.fromEnvironment(fromOne).shard == Shard(index: 0, count: 4))
        #expect(try Shard.fromEnvironment(["SLURM_PROCID": "3", "SLURM_NTASKS": "4"]).shard == Shard(index: 3, count: 4))

        let refused: [([String: String], String)] = [
            ([:], "OMPI_COMM_WORLD_RANK"),
            (["OMPI_COMM_WORLD_RANK": "4", "OMPI_COMM_WORLD_SIZE": "4"], "4/4"),
            (["PMI_RANK": "x", "PMI_SIZE": "2"], "PMI_RANK"),
            (["PMI_RANK": "0"], "PMI_SIZE is not set"),
            (["SLURM_ARRAY_TASK_ID": "20", "SLURM_ARRAY_TASK_COUNT": "11", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "20"], "contiguous"),
            (["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2"], "STEP"),
            (["SLURM_ARRAY_TASK_ID": "0"], "SLURM_ARRAY_TASK_COUNT"),
        ]
        for (env, mention) in refused {
            #expect { _ = try Shard.fromEnvironment(env) } throws: { $0.localizedDescription.contains(mention) }
        }
    }
}
