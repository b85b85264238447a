import Foundation

/// A size-classed free list of large, 64-byte aligned buffers behind ``Storage``.
///
/// Fresh large allocations are `mmap`ed by malloc and zero-filled by the kernel page by page on first touch (one
/// page fault per 4 KiB), and unmapped again when freed: a 512-px batch would pay that for every activation of every
/// layer on every call. The pool keeps freed buffers of at least ``minimumBytes`` and hands them out again:
///
///     class(bytes) = bytes rounded up to a multiple of 2^(⌊log2 bytes⌋ − 3)   (≤ 12.5 % slack)
///     allocate: pop a buffer of class(bytes) if any, else posix_memalign(class(bytes))
///     release:  push it back unless the pool would exceed ``limitBytes`` (then free it)
///
/// A buffer returns to the pool only when its ``Storage`` is deallocated, i.e. when no tensor, view or recorded
/// backward closure references it any more, so reuse never aliases live data. Thread-safe (one mutex).
///
/// ```swift
/// StoragePool.shared.limitBytes = 512 << 20     // keep at most 512 MiB of idle buffers
/// StoragePool.shared.drain()                     // give every idle buffer back to the system
/// ```
public final class StoragePool: @unchecked Sendable {
    public static let shared = StoragePool()

    /// Buffers smaller than this bypass the pool (malloc's own free lists serve them well).
    public let minimumBytes = 256 << 10
    /// Most idle bytes kept (default 2 GiB or a quarter of physical memory, whichever is smaller); 0 disables pooling.
    public var limitBytes: Int {
        get { lock.lock(); defer { lock.unlock() }; return limit }
        set { lock.lock(); limit = max(0, newValue); lock.unlock(); trim() }
    }

    private var limit: Int = {
        if let s = ProcessInfo.processInfo.environment["IPIQA_POOL_LIMIT_MB"], let mb = Int(s), mb >= 0 { return mb << 20 }
        return min(2 << 30, Int(ProcessInfo.processInfo.physicalMemory / 4))
    }()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var idle = 0
    private let lock = NSLock()

    init() {}

    /// Idle bytes currently held.
    public var idleBytes: Int { lock.lock(); defer { lock.unlock() }; return idle }

    /// The allocation size of a request of `bytes` (its size class).
    static func sizeClass(_ bytes: Int) -> Int {
        let bits = Int.bitWidth - 1 - max(bytes, 1).leadingZeroBitCount
        let step = 1 << max(bits - 3, 6)
        return (bytes + step - 1) / step * step
    }

    /// A buffer of at least `bytes` bytes (aligned to 64) and the number of bytes actually reserved.
    func allocate(bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        guard bytes >= minimumBytes else { return (Self.systemAllocate(bytes), bytes) }
        let size = Self.sizeClass(bytes)
        lock.lock()
        if var list = free[size], let p = list.popLast() {
            free[size] = list.isEmpty ? nil : list
            idle -= size
            lock.unlock()
            return (p, size)
        }
        lock.unlock()
        return (Self.systemAllocate(size), size)
    }

    /// Returns a buffer obtained from ``allocate(bytes:)`` (with the size it reported).
    func release(_ p: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= minimumBytes else { Foundation.free(p); return }
        lock.lock()
        if idle + bytes <= limit {
            free[bytes, default: []].append(p)
            idle += bytes
            lock.unlock()
            return
        }
        lock.unlock()
        Foundation.free(p)
    }

    /// Frees every idle buffer.
    public func drain() {
        lock.lock()
        let lists = free
        free = [:]
        idle = 0
        lock.unlock()
        for (_, list) in lists { for p in list { Foundation.free(p) } }
    }

    /// Frees idle buffers (largest first) until the pool is within its limit.
    private func trim() {
        lock.lock()
        var victims: [UnsafeMutableRawPointer] = []
        for size in free.keys.sorted(by: >) where idle > limit {
            while idle > limit, var list = free[size], let p = list.popLast() {
                free[size] = list.isEmpty ? nil : list
                idle -= size
                victims.append(p)
            }
        }
        lock.unlock()
        for p in victims { Foundation.free(p) }
    }

    /// The last-resort guard of every tensor allocation. It is not reachable from input: every size that comes from a
    /// file, a flag or a request is checked before any tensor is made from it and refused as a typed error naming what
    /// asked — model metadata against ``CLIPConfiguration`` limits and the file's own tensors, `--resolution` and
    /// CLIP-IQA's resolution against 32…4096, images against the codecs' pixel limit, and every batch (train,
    /// evaluate, embed, score, serve, pretrain, baseline, bench-train) against this machine's memory through
    /// `CLIPConfiguration.checkMemory` (an image activation map or the text attention maps above an eighth of RAM; see
    /// docs/safety.md). What remains is the system itself running out of memory, which no error can recover from.
    private static func systemAllocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, max(bytes, 64)) == 0, let raw else {
            fatalError("Storage: cannot allocate \(bytes) bytes")
        }
        return raw
    }
}
