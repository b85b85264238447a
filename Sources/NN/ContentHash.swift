import Foundation
import Tensor

/// A fast 64-bit content hash for cache keys (not cryptographic): bytes are consumed as little-endian 64-bit words,
///
///     h ← rotl((h ⊕ w) · 0x100000001B3, 29)       per word (tail bytes zero-padded into one word, length mixed in)
///     hex = SplitMix64 finaliser of h, 16 hex digits
///
/// so hashing RN50's trunk (≈ 94 MB of weights) takes a fraction of a second.
///
/// ```swift
/// var h = ContentHash()
/// h.add("layer1.0.conv1.weight"); h.add(tensor)
/// let key = h.hex                      // e.g. "3f9c0e…"
/// ```
public struct ContentHash: Sendable {
    private var state: UInt64 = 0x6A09_E667_F3BC_C908
    private var length: UInt64 = 0

    public init() {}

    public mutating func add(bytes: UnsafeRawBufferPointer) {
        let words = bytes.count / 8
        var h = state
        for i in 0..<words {
            let w = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
            h = ((h ^ w) &* 0x0000_0100_0000_01B3)
            h = (h << 29) | (h >> 35)
        }
        var tail: UInt64 = 0
        for j in (8 * words)..<bytes.count { tail |= UInt64(bytes[j]) << (8 * UInt64(j - 8 * words)) }
        h = ((h ^ tail ^ UInt64(bytes.count)) &* 0x0000_0100_0000_01B3)
        state = (h << 29) | (h >> 35)
        length &+= UInt64(bytes.count)
    }

    public mutating func add(_ data: Data) { data.withUnsafeBytes { add(bytes: $0) } }
    public mutating func add(_ s: String) { Array(s.utf8).withUnsafeBytes { add(bytes: $0) } }
    public mutating func add(_ t: Tensor) {
        add(t.shape.map(String.init).joined(separator: "x"))
        add(bytes: UnsafeRawBufferPointer(start: t.pointer, count: t.count * MemoryLayout<Float>.size))
    }

    /// Names, shapes and values of `module`'s parameters (and buffers) whose names pass `include`.
    public mutating func add(_ module: any Module, include: (String) -> Bool = { _ in true }) {
        for (name, v) in module.namedParameters() where include(name) { add(name); add(v.value) }
        for (name, t) in module.namedBuffers() where include(name) { add(name); add(t) }
    }

    /// The hash of an image tower's trunk: every parameter and buffer except the attention pool's (what the
    /// layer4 maps depend on).
    public static func trunk(of visual: any Module) -> ContentHash {
        var h = ContentHash()
        h.add(visual) { !keyIsUnder($0, prefix: "attnpool") }
        return h
    }

    /// 16 hex digits.
    public var hex: String {
        var z = state ^ length &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let s = String(z, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
