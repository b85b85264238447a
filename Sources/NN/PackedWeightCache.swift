import Foundation
import Tensor

/// A layer's weight packed for the engine's own GEMM kernels (``PackedWeights``), built on first use and rebuilt when
/// the weight tensor is replaced, after any parameter write that bumps ``ParameterGeneration`` (optimizer steps,
/// `loadStateDict`, `assign`, `fill`), or when the requested precision changes. Thread-safe.
///
/// ```swift
/// let cache = PackedWeightCache()
/// if let packed = cache.packed(weight.value, precision: .fp32) { y = packed.matmul(x) }
/// ```
public final class PackedWeightCache: @unchecked Sendable {
    private var entry: (generation: Int, source: Storage, packed: PackedWeights)?
    private let lock = NSLock()

    public init() {}

    /// `weight` packed in `precision`, or nil when the CPU lacks those kernels.
    public func packed(_ weight: Tensor, precision: Precision) -> PackedWeights? {
        guard PackedWeights.isSupported(precision) else { return nil }
        let generation = ParameterGeneration.current
        lock.lock()
        defer { lock.unlock() }
        if let e = entry, e.generation == generation, e.source === weight.storage, e.packed.precision == precision {
            return e.packed
        }
        guard let packed = PackedWeights(weight: weight, precision: precision) else { return nil }
        entry = (generation, weight.storage, packed)
        return packed
    }

    /// Frees the packed copy.
    public func clear() { lock.lock(); entry = nil; lock.unlock() }
}
