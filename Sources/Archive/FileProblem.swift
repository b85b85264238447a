import Foundation

/// Plain-words reasons for file-system failures, for messages that name the file and say what is wrong with it
/// ("is a folder, not a file", "permission denied", "no space left on the device") instead of Foundation's error
/// domains and codes. Readers check a path with ``readProblem(_:regularFileOnly:)`` before opening it; writers check
/// their destination with ``writeProblem(_:)`` before doing any work.
///
/// ```swift
/// if let problem = FileProblem.readProblem(url) { throw MyError.unreadable(file: url.path, reason: problem) }
/// do { data = try Data(contentsOf: url) } catch { throw MyError.unreadable(file: url.path, reason: FileProblem.describe(error)) }
/// ```
public enum FileProblem {
    /// Why `url` cannot be read as a file, or nil when it can be opened: it does not exist, is a folder, or (with
    /// `regularFileOnly`) is a device, pipe or socket (`/dev/null`, `/dev/zero` …).
    public static func readProblem(_ url: URL, regularFileOnly: Bool = true) -> String? {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return posixReason(errno) }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR { return "is a folder, not a file" }
        if regularFileOnly && type != S_IFREG { return "is not a regular file (a device, pipe or socket)" }
        return nil
    }

    /// Why a file cannot be written at `url`, or nil when it looks writable: the path is a folder, its folder does
    /// not exist or is not a folder, or the folder (or an existing file) is not writable by this process.
    public static func writeProblem(_ url: URL) -> String? {
        var info = stat()
        if stat(url.path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { return "is a folder; give a file name" }
            if access(url.path, W_OK) != 0 { return "cannot be overwritten (" + posixReason(errno) + ")" }
        }
        let folder = url.deletingLastPathComponent()
        var folderInfo = stat()
        guard stat(folder.path, &folderInfo) == 0 else { return "its folder \(folder.path) does not exist" }
        guard folderInfo.st_mode & S_IFMT == S_IFDIR else { return "\(folder.path) is not a folder" }
        if access(folder.path, W_OK) != 0 { return "its folder \(folder.path) is not writable (" + posixReason(errno) + ")" }
        return nil
    }

    /// The reason of a Foundation or POSIX file error in words, without error domains or codes.
    public static func describe(_ error: any Error) -> String {
        if let failure = error as? AtomicFile.Failure { return failure.reason }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return posixReason(Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return posixReason(Int32(underlying.code))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or folder"
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
            case NSFileWriteOutOfSpaceError: return "no space left on the device"
            case NSFileWriteFileExistsError: return "a file with that name already exists"
            case NSFileWriteVolumeReadOnlyError: return "the file system is read-only"
            case NSFileReadTooLargeError: return "the file is too large to read"
            case NSFileReadCorruptFileError, NSFileReadInapplicableStringEncodingError: return "the content cannot be read as expected"
            case NSFileReadUnknownError: return "read failed (is it a folder, a device or unreadable?)"
            case NSFileWriteUnknownError: return "write failed (is the destination a folder or unwritable?)"
            default: break
            }
        }
        return ns.localizedDescription
    }

    /// `strerror` in lower case ("no such file or directory", "permission denied").
    public static func posixReason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
