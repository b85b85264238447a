import Foundation

/// One share of a job split over `count` processes: shard `index` of `count`, 0-based (`0/4 … 3/4`).
///
/// The share is a contiguous, balanced block of whole units (batches, say): with `U = ⌈total / unit⌉` units,
///
///     shard i takes units [⌊i·U/N⌋, ⌊(i+1)·U/N⌋)   →   items [start·unit, min(end·unit, total))
///
/// so the shards in index order cover `0..<total` exactly once, each gets ⌊U/N⌋ or ⌈U/N⌉ units, and every item
/// lands in the same unit (the same batch) as in the unsharded run — which is what makes merged shard outputs
/// byte-identical to the unsharded output. A shard may be empty when `N > U`.
///
/// The shard can be given as text (`"2/8"`) or read from the launcher's environment (``fromEnvironment(_:)``):
/// Open MPI, MPICH / Intel MPI (PMI), Slurm job arrays and `srun` tasks.
///
/// ```swift
/// let shard = try Shard(parsing: "1/3")
/// shard.range(of: 10)                       // 3..<6  (units of 1)
/// shard.range(of: 10, unit: 4)              // 4..<8  (batches of 4: [0,4) [4,8) [8,10))
/// let auto = try Shard.fromEnvironment(ProcessInfo.processInfo.environment)
/// ```
public struct Shard: Codable, Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The most shards accepted (a larger count is a typo, not a cluster).
    public static let maxCount = 1_000_000
    /// The whole job as one shard.
    public static let whole = Shard(checkedIndex: 0, count: 1)

    /// A shard; throws unless `0 ≤ index < count ≤ maxCount`.
    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= Self.maxCount else {
            throw ShardError.invalid("\(index)/\(count)", reason: "the shard count must be between 1 and \(Self.maxCount)")
        }
        guard index >= 0, index < count else {
            throw ShardError.invalid("\(index)/\(count)", reason: "the shard index is 0-based and must be below the count (0…\(count - 1))")
        }
        self.index = index
        self.count = count
    }

    private init(checkedIndex: Int, count: Int) {
        index = checkedIndex
        self.count = count
    }

    /// Parses `"i/N"` (0-based `i`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw ShardError.invalid(text, reason: "expected INDEX/COUNT with a 0-based index, e.g. 0/4")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// This shard's items of `0..<total`, in blocks of whole `unit`s (see the type's formula).
    public func range(of total: Int, unit: Int = 1) -> Range<Int> {
        precondition(total >= 0 && unit >= 1, "range(of: \(total), unit: \(unit))")
        let units = (total + unit - 1) / unit
        let first = index * units / count, last = (index + 1) * units / count
        return min(first * unit, total)..<min(last * unit, total)
    }

    /// The launcher variables read by ``fromEnvironment(_:)``, in the order they are tried.
    public static let environmentSources: [(rank: String, size: String, launcher: String)] = [
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "Open MPI"),
        ("PMI_RANK", "PMI_SIZE", "MPICH / Intel MPI (PMI)"),
        ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "Slurm job array"),
        ("SLURM_PROCID", "SLURM_NTASKS", "Slurm tasks (srun)"),
    ]

    /// The shard of this process from its launcher's environment: the first of ``environmentSources`` whose rank
    /// variable is set. A Slurm array's task id counts from `SLURM_ARRAY_TASK_MIN` (so `--array=1-8` works) and the
    /// array must be contiguous with step 1; its count is `SLURM_ARRAY_TASK_COUNT` or `MAX − MIN + 1`.
    /// Returns the shard and the launcher's name; throws when none is set or the values do not make a shard.
    public static func fromEnvironment(_ env: [String: String]) throws -> (shard: Shard, launcher: String) {
        for (rankKey, sizeKey, launcher) in environmentSources {
            guard let rankText = env[rankKey] else { continue }
            func number(_ key: String, _ text: String?) throws -> Int {
                guard let text, let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
                    throw ShardError.environment("\(launcher): \(key) is " + (text.map { "'\($0)', not a whole number" } ?? "not set")
                                                 + " (while \(rankKey)=\(rankText))")
                }
                return n
            }
            var rank = try number(rankKey, rankText)
            let size: Int
            if rankKey == "SLURM_ARRAY_TASK_ID" {
                let minimum = try env["SLURM_ARRAY_TASK_MIN"].map { try number("SLURM_ARRAY_TASK_MIN", $0) } ?? 0
                if let step = env["SLURM_ARRAY_TASK_STEP"], try number("SLURM_ARRAY_TASK_STEP", step) != 1 {
                    throw ShardError.environment("Slurm job array: SLURM_ARRAY_TASK_STEP=\(step); use a contiguous array with step 1 (e.g. --array=0-7)")
                }
                let span = try env["SLURM_ARRAY_TASK_MAX"].map { try number("SLURM_ARRAY_TASK_MAX", $0) - minimum + 1 }
                let counted = try env[sizeKey].map { try number(sizeKey, $0) }
                guard let n = counted ?? span else {
                    throw ShardError.environment("Slurm job array: neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is set")
                }
                if let span, span != n {
                    throw ShardError.environment("Slurm job array: ids \(minimum)…\(minimum + span - 1) for \(n) tasks; use a contiguous array (e.g. --array=0-\(n - 1))")
                }
                rank -= minimum
                size = n
            } else {
                size = try number(sizeKey, env[sizeKey])
            }
            do { return (try Shard(index: rank, count: size), launcher) } catch let ShardError.invalid(_, reason) {
                throw ShardError.environment("\(launcher): \(rankKey)/\(sizeKey) give shard \(rank)/\(size): \(reason)")
            }
        }
        throw ShardError.environment("no launcher rank found in the environment (looked for "
                                     + environmentSources.map(\.rank).joined(separator: ", ") + "); give the shard as INDEX/COUNT")
    }
}

/// A shard that cannot be parsed or detected.
public enum ShardError: LocalizedError, Equatable {
    case invalid(String, reason: String)
    case environment(String)

    public var errorDescription: String? {
        switch self {
        case let .invalid(text, reason): return "shard '\(text)': \(reason)"
        case let .environment(message): return "shard from the environment: \(message)"
        }
    }
}
