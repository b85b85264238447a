import Foundation

/// Arithmetic precision of inference GEMMs (convolutions and linear layers run without gradient recording).
///
///     fp32:   C = A · B in float32
///     bf16:   C = bf16(A) · bf16(B) with float32 accumulation (round-to-nearest-even inputs), C in float32;
///             each operand carries 8 significant bits (relative rounding 2⁻⁹)
///     bf16x3: split operands x = hi + lo (hi = bf16(x), lo = bf16(x − hi)) and
///             C = A_hi·B_hi + A_lo·B_hi + A_hi·B_lo, float32 accumulation: ≈ 16 significant bits per operand
///             (relative error ≈ 2⁻¹⁶) at three times the bf16 work — for the layers that lose most in plain bf16
///
/// Training (any op recording a backward pass) ignores this setting: it runs in fp32 unless ``TrainingPrecision`` (`ipiqa train --precision`) asks for bf16. Set for a scope with ``withPrecision(_:_:)``
/// (task-local, like ``withoutGradients(_:)``), or per model (e.g. `CLIPModel.setPrecision`; `CLIPModel.choosePrecision`
/// picks one per stage from a calibration pass).
///
/// ```swift
/// let embedding = withoutGradients { withPrecision(.bf16) { clip.encodeImage(images) } }
/// ```
public enum Precision: String, Codable, Sendable, CaseIterable {
    case fp32
    case bf16
    case bf16x3

    /// The precision in effect for the current task (``withPrecision(_:_:)``); `.fp32` by default.
    @TaskLocal public static var current: Precision = .fp32

    /// Work per multiply-add relative to bf16 on a CPU whose bf16 dot-product instruction retires twice the fp32 FMA
    /// rate (AVX-512 BF16: one vdpbf16ps does two products per lane): fp32 2, bf16 1, bf16x3 3. Used to compare plans.
    public var relativeCost: Double {
        switch self {
        case .fp32: return 2
        case .bf16: return 1
        case .bf16x3: return 3
        }
    }
}

/// Runs `body` with inference GEMMs in `precision` (only where no gradient is recorded).
public func withPrecision<T>(_ precision: Precision, _ body: () throws -> T) rethrows -> T {
    try Precision.$current.withValue(precision) { try body() }
}
