import CZlib
import Foundation

/// CRC-32 (zlib's, the ZIP / PNG polynomial) of a whole file, read in 4 MiB pieces so memory stays flat for files of
/// any size. Used to tell whether two processes worked from the same model or list (e.g. the parts of a sharded
/// scoring run), not as a cryptographic hash.
///
///     crc = crc32(…crc32(crc32(0, piece₀), piece₁)…, pieceₖ)
///
/// ```swift
/// let crc = try FileChecksum.crc32(of: URL(fileURLWithPath: "model.safetensors"))
/// print(FileChecksum.hex(crc))        // "1c291ca3"
/// ```
public enum FileChecksum {
    /// Bytes read per `read(2)`.
    static let piece = 4 << 20

    /// CRC-32 of the file's bytes; throws ``AtomicFile/Failure`` with the reason in words when it cannot be read.
    public static func crc32(of url: URL) throws -> UInt32 {
        if let problem = FileProblem.readProblem(url) { throw AtomicFile.Failure(reason: problem) }
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw AtomicFile.Failure(reason: FileProblem.posixReason(errno)) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: piece)
        var crc: uLong = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, piece) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFile.Failure(reason: FileProblem.posixReason(errno))
            }
            if n == 0 { break }
            crc = buffer.withUnsafeBufferPointer { CZlib.crc32(crc, $0.baseAddress, uInt(n)) }
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// Eight lower-case hex digits.
    public static func hex(_ crc: UInt32) -> String {
        let digits = String(crc, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
