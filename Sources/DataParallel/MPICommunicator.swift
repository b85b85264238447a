import CMPIShim
import Foundation

/// ``Communicator`` over MPI_COMM_WORLD (Open MPI, through the C wrappers of `CMPIShim`). MPI is initialised with
/// `MPI_THREAD_SERIALIZED` (only the training thread calls MPI), errors are returned (`MPI_ERRORS_RETURN`) and
/// turned into ``CommunicatorError``; MPI_Finalize runs at exit.
///
/// ```swift
/// // mpirun -np 2 ipiqa train …
/// let world = try MPICommunicator()
/// print(world.rank, world.size)              // 0 2 / 1 2
/// ```
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int

    /// Open MPI settings applied before `MPI_Init` unless the user set them (environment or mpirun's `--mca`):
    /// `btl_tcp_progress_thread = 1` moves TCP transfers forward while the backward pass computes (between MPI calls);
    /// measured on an emulated 1 Gbit/s link it doubled the share of the allreduce hidden behind the backward pass
    /// (docs/scaling.md). Other transports ignore it.
    public static let defaultMCA = ["OMPI_MCA_btl_tcp_progress_thread": "1"]

    public init() throws {
        for (key, value) in Self.defaultMCA { setenv(key, value, 0) }
        try Self.check(ipiqa_mpi_init(), "MPI_Init_thread")
        var r: Int32 = 0, s: Int32 = 0
        try Self.check(ipiqa_mpi_rank(&r), "MPI_Comm_rank")
        try Self.check(ipiqa_mpi_size(&s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    static func check(_ code: Int32, _ call: String) throws {
        guard code != 0 else { return }
        var buffer = [CChar](repeating: 0, count: 512)
        ipiqa_mpi_error_string(code, &buffer, Int32(buffer.count))
        let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw CommunicatorError.mpi(call: call, code: code, message: message)
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        try Self.check(ipiqa_mpi_allreduce_sum_f32(base, Int64(values.count)), "MPI_Allreduce")
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        try Self.check(ipiqa_mpi_allreduce_sum_f64(base, Int64(values.count)), "MPI_Allreduce")
    }

    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        guard let base = values.baseAddress, !values.isEmpty else { return PendingReduction {} }
        guard values.count <= Int(Int32.max) else {
            try allreduceSum(values)
            return PendingReduction {}
        }
        var request: Int64 = -1
        try Self.check(ipiqa_mpi_iallreduce_sum_f32(base, Int64(values.count), &request), "MPI_Iallreduce")
        let handle = request
        return PendingReduction(wait: { try MPICommunicator.check(ipiqa_mpi_wait(handle), "MPI_Wait") }, test: {
            var done: Int32 = 0
            try MPICommunicator.check(ipiqa_mpi_test(handle, &done), "MPI_Test")
            return done != 0
        })
    }

    public func allgather(_ values: [Double]) throws -> [Double] {
        var counts = [Double](repeating: 0, count: size)
        counts[rank] = Double(values.count)
        try allreduceSum(&counts)
        let n = counts.map { Int32($0) }
        var displs = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { displs[r] = displs[r - 1] + n[r - 1] }
        var out = [Double](repeating: 0, count: Int(n.reduce(0, +)))
        try values.withUnsafeBufferPointer { mine in
            try out.withUnsafeMutableBufferPointer { o in
                try Self.check(ipiqa_mpi_allgatherv_f64(mine.baseAddress, Int32(values.count), o.baseAddress, n, displs), "MPI_Allgatherv")
            }
        }
        return out
    }

    /// Every rank's length first (MPI_Allgather, so that all ranks agree on the rounds of a total above 2 GiB), then
    /// the bytes (MPI_Gatherv) into one buffer on the root, cut back into the ranks' buffers.
    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
        guard (0..<size).contains(root) else { throw CommunicatorError.badRoot(root, size: size) }
        var counts = [Int64](repeating: 0, count: size)
        try Self.check(ipiqa_mpi_allgather_i64(Int64(bytes.count), &counts), "MPI_Allgather")
        var out = [UInt8](repeating: 0, count: rank == root ? Int(counts.reduce(0, +)) : 0)
        try bytes.withUnsafeBytes { mine in
            try out.withUnsafeMutableBytes { o in
                try Self.check(ipiqa_mpi_gatherv_bytes(mine.baseAddress, Int64(mine.count), o.baseAddress, counts, Int32(root)), "MPI_Gatherv")
            }
        }
        guard rank == root else { return nil }
        var start = 0
        return counts.map { n in
            defer { start += Int(n) }
            return Array(out[start..<(start + Int(n))])
        }
    }

    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        var length = [Double(rank == root ? bytes.count : 0)]
        try allreduceSum(&length)
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try out.withUnsafeMutableBytes { try Self.check(ipiqa_mpi_bcast_bytes($0.baseAddress, Int64($0.count), Int32(root)), "MPI_Bcast") }
        return out
    }

    public func barrier() throws { try Self.check(ipiqa_mpi_barrier(), "MPI_Barrier") }

    public func abort(code: Int32) -> Never {
        ipiqa_mpi_abort(code)
        exit(code)
    }

    /// Seconds on MPI's clock (MPI_Wtime).
    public static var wallTime: Double { ipiqa_mpi_wtime() }
}

/// The process's job: an ``MPICommunicator`` when `mpirun` / `srun` started it (Open MPI's `OMPI_COMM_WORLD_SIZE`,
/// or PMI's `PMI_SIZE` / `PMIX_RANK`), else a ``SingleProcessCommunicator``, so a plain `ipiqa train` never needs
/// MPI. Made once per process.
///
/// ```swift
/// let world = try World.communicator()
/// if world.size > 1 { print("rank \(world.rank) of \(world.size)") }
/// ```
public enum World {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: (any Communicator)?

    /// Whether the environment says an MPI launcher started this process.
    public static func launchedByMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains { environment[$0] != nil }
    }

    /// How many processes the MPI launcher started (`OMPI_COMM_WORLD_SIZE`, or PMI's `PMI_SIZE`), read without
    /// initialising MPI; nil when neither says.
    public static func launchedSize(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"].lazy.compactMap { environment[$0].flatMap { Int($0) } }.first
    }

    /// The process-wide communicator (MPI initialised on first use when launched by MPI).
    public static func communicator() throws -> any Communicator {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let c: any Communicator
        if launchedByMPI() {
            do { c = try MPICommunicator() } catch { throw CommunicatorError.initialization(error.localizedDescription) }
        } else {
            c = SingleProcessCommunicator()
        }
        made = c
        return c
    }

    /// The communicator if one was made, without making one (error paths: abort the job only if it is one).
    public static var existing: (any Communicator)? {
        lock.lock()
        defer { lock.unlock() }
        return made
    }
}
