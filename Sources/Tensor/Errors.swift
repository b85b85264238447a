import Foundation

/// Errors raised by tensor operations on bad input (shape mismatches, bad arguments).
public enum TensorError: LocalizedError, Equatable {
    /// `operation` received operands whose shapes do not fit together.
    case shapeMismatch(operation: String, lhs: [Int], rhs: [Int])
    /// `operation` received an argument it cannot use.
    case invalidArgument(operation: String, message: String)

    public var errorDescription: String? {
        switch self {
        case let .shapeMismatch(op, a, b): return "\(op): shape mismatch between \(a) and \(b)"
        case let .invalidArgument(op, message): return "\(op): \(message)"
        }
    }
}

/// Fails with a message naming the operation and both shapes (also in `-Ounchecked` builds). Used for programmer errors inside kernels
/// (shapes that the calling layer already validated); user-facing paths throw ``TensorError`` instead.
@inline(__always)
public func checkShape(_ condition: Bool, _ op: @autoclosure () -> String, _ a: @autoclosure () -> [Int], _ b: @autoclosure () -> [Int]) {
    if !condition { fatalError(TensorError.shapeMismatch(operation: op(), lhs: a(), rhs: b()).errorDescription!) }
}

/// `precondition` that stays in `-Ounchecked` builds (the engine's setting, see `Package.swift`), where the standard
/// one is removed and a failed check would become undefined behaviour instead of a stop with a message.
@inline(__always)
public func enginePrecondition(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}
