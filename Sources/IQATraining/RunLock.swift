import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a run folder, so that one process at a time writes a run: `flock(LOCK_EX | LOCK_NB)` on
/// `<folder>/.lock`, which holds the owner's process id. The kernel drops the lock when the process ends (even by
/// `kill -9`), so a stale lock file never blocks anyone; a second writer gets ``TrainingError/runLocked(directory:pid:)``
/// naming the owner.
///
/// ```swift
/// let lock = try RunLock(directory: runFolder)   // creates the folder if needed; held until `lock` is released
/// ```
public final class RunLock: @unchecked Sendable {
    public static let fileName = ".lock"
    public let directory: URL
    private let descriptor: Int32

    /// Takes the lock (creating `directory` if needed) or throws, naming the process that holds it.
    public init(directory: URL) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.runFolderUnusable(directory: directory.path, reason: RunLock.describe(error))
        }
        let path = directory.appendingPathComponent(RunLock.fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TrainingError.runFolderUnusable(directory: directory.path, reason: "cannot open \(RunLock.fileName): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = RunLock.readPID(fd)
            close(fd)
            if code == EWOULDBLOCK { throw TrainingError.runLocked(directory: directory.path, pid: holder) }
            throw TrainingError.runFolderUnusable(directory: directory.path, reason: "cannot lock \(RunLock.fileName): \(String(cString: strerror(code)))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func describe(_ error: any Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        return ns.localizedDescription
    }
}
