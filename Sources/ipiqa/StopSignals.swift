import ArgumentParser
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Clean stops for long runs: SIGINT (Ctrl-C) and SIGTERM are caught instead of killing the process. Once training
/// steps run, a signal lets the current step finish and the run then stops at that step boundary (``check()``
/// throws); everything on disk is whole, because every file is written atomically, and the last finished epoch's
/// state is what `--resume` continues from. Before the first step nothing needs finishing, so the process exits at
/// once. A second signal always exits at once. Exit status is 128 + the signal number (130, 143), as shells expect.
final class StopSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var stepping = false
    private var sources: [any DispatchSourceSignal] = []
    private let immediateMessage: String

    /// Starts catching SIGINT and SIGTERM. `immediateMessage` is printed when a signal ends the process at once.
    init(immediateMessage: String) {
        self.immediateMessage = immediateMessage
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.receive(sig) }
            source.resume()
            sources.append(source)
        }
    }

    static func name(_ sig: Int32) -> String { sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal \(sig)" }

    private func receive(_ sig: Int32) {
        lock.lock()
        let again = received != nil
        if !again { received = sig }
        let finishStep = stepping && !again
        lock.unlock()
        if finishStep {
            Self.say("\n\(Self.name(sig)): finishing the current step, then stopping (send it again to stop at once)\n")
            return
        }
        Self.say("\n\(Self.name(sig)): \(immediateMessage)\n")
        _exit(128 + sig)
    }

    /// Marks that training steps are running (a signal now waits for the step to end) and returns the signal
    /// received so far, if any.
    func check() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        stepping = true
        return received
    }

    /// Marks a boundary between units of work with nothing to finish (between grid cells, before a baseline): returns
    /// the signal received so far, if any, and until the next ``check()`` a signal ends the process at once.
    func atBoundary() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        stepping = false
        return received
    }

    private static func say(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// A run stopped at a step boundary by a signal: `message` says what was kept and how to continue; the command exits
/// with 128 + `signal`.
struct StoppedBySignal: LocalizedError {
    let signal: Int32
    let message: String

    var errorDescription: String? { message }

    /// Prints the message and turns the stop into the exit status shells expect (130 for SIGINT, 143 for SIGTERM).
    static func exit(_ stop: StoppedBySignal) -> ExitCode {
        CLI.printError(stop.message)
        return ExitCode(128 + stop.signal)
    }
}
