import Foundation

/// The ranks of a data-parallel job and the collective operations the trainers need (a subset of MPI's, on the
/// whole job). Every rank calls the same collectives in the same order; a rank that fails ends the job
/// (``abort(code:)``) instead of leaving the others blocked.
///
///     allreduceSum:  x ← Σ_r x_r          (in place, the same result on every rank)
///     allgather:     out = x_0 ‖ x_1 ‖ … ‖ x_{N−1}   (variable lengths, rank order)
///     gather:        on the root [b_0, b_1, …, b_{N−1}]  (byte buffers of any lengths; nil on the other ranks)
///
/// ``SingleProcessCommunicator`` is the default (one rank: every collective is the identity), ``MPICommunicator``
/// runs under `mpirun`; ``World/communicator()`` picks one from the environment.
///
/// ```swift
/// let world = try World.communicator()
/// var loss = [localLoss]
/// try world.allreduceSum(&loss)              // the sum over ranks
/// if world.isRoot { try report.write(to: url) }
/// ```
public protocol Communicator: AnyObject, Sendable {
    /// This process's rank, 0..<size.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }
    /// Σ over ranks, in place.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// Σ over ranks, in place.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws
    /// Starts Σ over ranks in place; the buffer must stay valid and untouched until the returned reduction is waited for.
    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction
    /// The concatenation, in rank order, of every rank's `values` (lengths may differ).
    func allgather(_ values: [Double]) throws -> [Double]
    /// On rank `root`, every rank's `bytes` in rank order (lengths may differ, one rank's may be empty); nil on the
    /// other ranks.
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]?
    /// `bytes` of rank `root` on every rank.
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8]
    func barrier() throws
    /// Ends every rank of the job with exit code `code` (MPI_Abort); on a single process, `exit(code)`.
    func abort(code: Int32) -> Never
}

/// A started non-blocking reduction; ``wait()`` blocks until its buffer holds the result, ``test()`` only asks
/// (and lets MPI progress the transfer: Open MPI advances non-blocking collectives only inside MPI calls).
public struct PendingReduction: Sendable {
    let waitBody: @Sendable () throws -> Void
    let testBody: @Sendable () throws -> Bool
    public init(wait: @escaping @Sendable () throws -> Void, test: @escaping @Sendable () throws -> Bool = { true }) {
        waitBody = wait
        testBody = test
    }
    public func wait() throws { try waitBody() }
    /// Whether the reduction is complete (``wait()`` is still needed before the buffer is read or freed).
    public func test() throws -> Bool { try testBody() }
}

extension Communicator {
    /// Rank 0: the one rank that writes checkpoints, metrics, plots and progress.
    public var isRoot: Bool { rank == 0 }

    /// Σ over ranks of an array, in place.
    public func allreduceSum(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// Σ over ranks of an array, in place.
    public func allreduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }
}

/// The one-rank job: every collective is the identity. The single-process trainer runs the same code through it.
///
/// ```swift
/// let single = SingleProcessCommunicator()
/// var x: [Double] = [1, 2]; try single.allreduceSum(&x)   // unchanged
/// ```
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction { PendingReduction {} }
    public func allgather(_ values: [Double]) throws -> [Double] { values }
    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
        guard root == 0 else { throw CommunicatorError.badRoot(root, size: 1) }
        return [bytes]
    }
    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] { bytes }
    public func barrier() throws {}
    public func abort(code: Int32) -> Never { exit(code) }
}

/// Errors of the MPI binding, with the MPI library's own text.
public enum CommunicatorError: Error, LocalizedError, Equatable {
    /// An MPI call returned an error code.
    case mpi(call: String, code: Int32, message: String)
    /// The environment says the process was started by `mpirun`, but MPI could not be initialised.
    case initialization(String)
    /// A collective named a root rank outside `0..<size`.
    case badRoot(Int, size: Int)

    public var errorDescription: String? {
        switch self {
        case let .mpi(call, code, message): return "MPI error in \(call) (code \(code)): \(message)"
        case let .initialization(message): return "cannot start MPI: \(message)"
        case let .badRoot(root, size): return "root rank \(root) is not one of the job's ranks 0…\(size - 1)"
        }
    }
}
