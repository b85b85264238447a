import Foundation

/// A reference-counted, 64-byte aligned buffer of `Float`s: the memory behind every ``Tensor``.
///
/// Storage is never copied implicitly: tensors that share a storage see each other's writes. Kernels
/// allocate fresh storage for their outputs; only optimizers and explicitly named `…InPlace` helpers
/// write into existing storage.
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Uninitialised storage of `count` floats.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "Storage: negative element count \(count)")
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("Storage: cannot allocate \(bytes) bytes")
        }
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    /// Zero-filled storage of `count` floats.
    public convenience init(zeroedCount count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit { free(pointer) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}
