import CKernels
import Foundation

/// Arithmetic of the matrix products of a training run (convolutions and linear layers: the forward product and both
/// backward products), as PyTorch's autocast:
///
///     fp32: Y = X·Wᵀ, dX = dY·W, dW = dYᵀ·X in float32
///     bf16: the same products of bf16(·) inputs (round to nearest even) with float32 accumulation and float32 results
///     fp16: 16-bit IEEE inputs — needs AVX-512 FP16, which this engine has no training kernel for (refused)
///     auto: bf16 where the CPU has AVX-512 BF16 (vdpbf16ps), else fp32
///
/// Master weights, optimizer state, batch-norm statistics, losses and every reduction stay float32 in all modes. Set for
/// a scope with ``withTrainingPrecision(_:_:)`` (task-local, read when an op runs; the backward pass of an op uses the
/// precision its forward pass ran with).
///
/// ```swift
/// let active = try TrainingPrecision.auto.resolved()              // .bf16 on CPUs with AVX-512 BF16
/// let loss = withTrainingPrecision(active) { mseLoss(model(x), y) }
/// loss.backward()
/// ```
public enum TrainingPrecision: String, Codable, Sendable, CaseIterable {
    case fp32
    case bf16
    case fp16
    case auto

    /// The precision in effect for the current task's training ops; `.fp32` by default (only `.fp32` or `.bf16`).
    @TaskLocal public static var active: TrainingPrecision = .fp32

    /// The precision this CPU runs for the request: `auto` → `bf16` where AVX-512 BF16 runs at least 1.5× the fp32
    /// rate (``ArithmeticRates/worthwhileBF16SpeedUp``; on CPUs whose `vdpbf16ps` is slower than fp32 FMAs bf16 would only cost
    /// accuracy), else `fp32`; `bf16` without AVX-512 BF16 and `fp16` are refused with ``TrainingPrecisionError``.
    public func resolved() throws -> TrainingPrecision {
        switch self {
        case .fp32: return .fp32
        case .auto: return Self.hasBF16Kernels && (ArithmeticRates.bf16SpeedUp ?? 0) >= ArithmeticRates.worthwhileBF16SpeedUp ? .bf16 : .fp32
        case .bf16:
            guard Self.hasBF16Kernels else { throw TrainingPrecisionError.missingBF16 }
            return .bf16
        case .fp16:
            throw TrainingPrecisionError.fp16(cpuHasAVX512FP16: ipiqa_has_avx512fp16() != 0)
        }
    }

    /// Whether this CPU runs the bf16 training kernels (AVX-512 BF16).
    public static var hasBF16Kernels: Bool { ipiqa_has_avx512bf16() != 0 }
}

/// Why a requested ``TrainingPrecision`` cannot run here.
public enum TrainingPrecisionError: Error, LocalizedError, Equatable {
    case missingBF16
    case fp16(cpuHasAVX512FP16: Bool)

    public var errorDescription: String? {
        switch self {
        case .missingBF16:
            return "--precision bf16 needs a CPU with AVX-512 BF16 (vdpbf16ps); this one lacks it (use fp32 or auto)"
        case .fp16(let has):
            return has
                ? "--precision fp16: this CPU has AVX-512 FP16, but the engine has no fp16 training kernel yet (use bf16 or auto)"
                : "--precision fp16 needs a CPU with AVX-512 FP16 (fp16 products at twice the fp32 rate); this one lacks it (use bf16 or auto)"
        }
    }
}

/// Runs `body` with training GEMMs in `precision` (``TrainingPrecision/resolved()`` first: only `.fp32` and `.bf16` run).
public func withTrainingPrecision<T>(_ precision: TrainingPrecision, _ body: () throws -> T) rethrows -> T {
    precondition(precision == .fp32 || precision == .bf16, "withTrainingPrecision takes a resolved precision (fp32 or bf16)")
    return try TrainingPrecision.$active.withValue(precision) { try body() }
}
