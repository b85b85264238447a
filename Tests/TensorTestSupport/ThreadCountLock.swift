import Foundation

/// One process-wide lock for tests that change the engine's global worker count (`Threading.setThreads`) or that
/// compare two runs bit for bit (whose numbers depend on that count). Swift Testing runs suites of all test targets
/// concurrently in one process; holding this lock keeps such a test from seeing another test's thread count.
///
/// ```swift
/// try ThreadCountLock.exclusive { Threading.setThreads(1); … }
/// ```
public enum ThreadCountLock {
    private static let lock = NSRecursiveLock()

    public static func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
