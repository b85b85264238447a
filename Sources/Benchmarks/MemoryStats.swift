import Foundation
import Tensor

/// Resident-memory readings of this process (Linux `/proc/self/status`; zero where unavailable).
///
///     peak = VmHWM (the resident-set high-water mark), current = VmRSS
///
/// ```swift
/// MemoryStats.resetPeak()
/// runCase()
/// let mb = Double(MemoryStats.peakResidentBytes()) / 1_048_576
/// ```
public enum MemoryStats {
    /// Peak resident set size since the process started or since the last ``resetPeak()``, in bytes.
    public static func peakResidentBytes() -> Int {
        if let kb = statusField("VmHWM:") { return kb * 1024 }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    /// Current resident set size in bytes.
    public static func currentResidentBytes() -> Int { (statusField("VmRSS:") ?? 0) * 1024 }

    /// Resets the high-water mark to the current resident size (writes `5` to `/proc/self/clear_refs`, Linux ≥ 4.0).
    /// Returns false where that is not possible (the peak then covers the whole process lifetime).
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// The number (kB) after `field` in `/proc/self/status`.
    private static func statusField(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return nil }
        return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
    }
}
