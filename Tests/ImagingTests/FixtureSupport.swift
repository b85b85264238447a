import Foundation
@testable import Imaging

/// Shared helpers for the Imaging tests: fixture loading, the procedural source image, hashing.
enum Fixtures {
    static var root: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw ImageError(file: "Fixtures", kind: .unreadable, detail: "fixture folder missing from the test bundle")
            }
            return url
        }
    }

    static func url(_ relative: String) throws -> URL { try root.appendingPathComponent(relative) }

    static func data(_ relative: String) throws -> Data { try Data(contentsOf: url(relative)) }

    static func json<T: Decodable>(_ relative: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: data(relative))
    }
}

/// The procedural image of Scripts/fixtures_imaging.py:
/// v(x, y, c) = (3x² + 5y² + 7xy + 85c + 11·(x xor y) + ((x·y·c) mod 13)·17) mod 256.
func proceduralImage(width: Int, height: Int) throws -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<3 {
                let v = 3 * x * x + 5 * y * y + 7 * x * y + 85 * c + 11 * (x ^ y) + ((x * y * c) % 13) * 17
                pixels[(y * width + x) * 3 + c] = UInt8(v % 256)
            }
        }
    }
    return try RGBImage(width: width, height: height, pixels: pixels)
}

/// FNV-1a 64-bit hash as lowercase hex (same as the fixture script).
func fnv1a64<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// Largest absolute per-byte difference (Int.max when the sizes differ).
func maxAbsDiff(_ a: [UInt8], _ b: [UInt8]) -> Int {
    guard a.count == b.count else { return Int.max }
    var worst = 0
    for i in 0..<a.count { worst = max(worst, abs(Int(a[i]) - Int(b[i]))) }
    return worst
}

/// Reads little-endian float32 values.
func readFloats(_ data: Data) -> [Float] {
    var out = [Float](repeating: 0, count: data.count / 4)
    _ = out.withUnsafeMutableBytes { data.copyBytes(to: $0) }
    return out
}
