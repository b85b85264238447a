import Foundation

/// Arithmetic precision of inference GEMMs (convolutions and linear layers run without gradient recording).
///
///     fp32: C = A · B in float32 (OpenBLAS sgemm)
///     bf16: C = bf16(A) · bf16(B) with float32 accumulation (round-to-nearest-even inputs), C in float32
///
/// Training (any op recording a backward pass) always runs in fp32. Set for a scope with ``withPrecision(_:_:)``
/// (task-local, like ``withoutGradients(_:)``), or per model (e.g. `CLIPModel.precision`).
///
/// ```swift
/// let embedding = withoutGradients { withPrecision(.bf16) { clip.encodeImage(images) } }
/// ```
public enum Precision: String, Codable, Sendable, CaseIterable {
    case fp32
    case bf16

    /// The precision in effect for the current task (``withPrecision(_:_:)``); `.fp32` by default.
    @TaskLocal public static var current: Precision = .fp32
}

/// Runs `body` with inference GEMMs in `precision` (only where no gradient is recorded).
public func withPrecision<T>(_ precision: Precision, _ body: () throws -> T) rethrows -> T {
    try Precision.$current.withValue(precision) { try body() }
}
