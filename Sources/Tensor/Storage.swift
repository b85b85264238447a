import Foundation

/// A reference-counted, 64-byte aligned buffer of `Float`s: the memory behind every ``Tensor``.
///
/// Storage is never copied implicitly: tensors that share a storage see each other's writes. Kernels
/// allocate fresh storage for their outputs; only optimizers and explicitly named `…InPlace` helpers
/// write into existing storage. Large buffers come from and return to ``StoragePool`` (no page-fault cost on reuse).
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Bytes reserved (the pool's size class).
    private let reserved: Int

    /// Uninitialised storage of `count` floats.
    public init(uninitializedCount count: Int) {
        enginePrecondition(count >= 0, "Storage: negative element count \(count)")
        let (raw, reserved) = StoragePool.shared.allocate(bytes: max(count, 1) * MemoryLayout<Float>.stride)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.reserved = reserved
    }

    /// Zero-filled storage of `count` floats.
    public convenience init(zeroedCount count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit { StoragePool.shared.release(UnsafeMutableRawPointer(pointer), bytes: reserved) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}
