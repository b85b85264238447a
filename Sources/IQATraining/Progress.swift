import Foundation

/// Progress of a long loop on stderr: a redrawn bar with rate and ETA on a terminal, plain lines at most every
/// `interval` seconds otherwise (logs, pipes), or nothing.
///
///     rate = done / elapsed,   ETA = (total − done) / rate
///
/// ```swift
/// let progress = ProgressReporter()                 // bar on a TTY, lines otherwise
/// progress.start(label: "split 1/10 epoch 3/100", total: 74, unit: "batches")
/// progress.update(done: 10, detail: "loss 0.2345")
/// progress.finish(detail: "loss 0.2011")
/// progress.log("epoch 3: test quality SRCC 0.81")
/// ```
public final class ProgressReporter: @unchecked Sendable {
    public enum Style: Sendable { case bar, lines, silent }

    public let style: Style
    public let interval: Double
    private let write: @Sendable (String) -> Void
    private var label = "", unit = "", total = 0
    private var startTime = Date(), lastPrint = Date.distantPast
    private var barShown = false
    private var printedDone = -1

    /// `style` nil: a bar when stderr is a terminal, lines otherwise. `write` receives the text (default: stderr).
    public init(style: Style? = nil, interval: Double = TrainingDefaults.progressInterval,
                write: (@Sendable (String) -> Void)? = nil) {
        self.style = style ?? (isatty(STDERR_FILENO) != 0 ? .bar : .lines)
        self.interval = interval
        self.write = write ?? { FileHandle.standardError.write(Data($0.utf8)) }
    }

    public func start(label: String, total: Int, unit: String) {
        self.label = label
        self.total = total
        self.unit = unit
        startTime = Date()
        lastPrint = startTime
        printedDone = -1
    }

    public func update(done: Int, detail: String = "") {
        let now = Date()
        switch style {
        case .silent: return
        case .bar:
            guard now.timeIntervalSince(lastPrint) >= 0.2 || done == total else { return }
            write("\r\u{1B}[2K" + line(done: done, now: now, detail: detail, bar: true))
            barShown = true
        case .lines:
            guard now.timeIntervalSince(lastPrint) >= interval || done == total else { return }
            write(line(done: done, now: now, detail: detail, bar: false) + "\n")
        }
        lastPrint = now
        printedDone = done
    }

    /// Marks the loop complete (prints its last state).
    public func finish(detail: String = "") {
        if printedDone != total {
            lastPrint = .distantPast
            update(done: total, detail: detail)
        }
        if style == .bar, barShown { write("\n"); barShown = false }
    }

    /// A log line that never collides with the bar.
    public func log(_ message: String) {
        guard style != .silent else { return }
        if barShown { write("\r\u{1B}[2K"); barShown = false }
        write(message + "\n")
    }

    func line(done: Int, now: Date, detail: String, bar: Bool) -> String {
        let elapsed = max(now.timeIntervalSince(startTime), 1e-9)
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : .nan
        var s = label + " "
        if bar {
            let width = 24
            let filled = total > 0 ? min(width, done * width / total) : 0
            s += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
        }
        s += "\(done)/\(total) \(unit) " + String(format: "%.2f", rate) + " \(unit)/s"
        s += " elapsed " + Self.clock(elapsed) + " ETA " + (eta.isFinite ? Self.clock(eta) : "?")
        if !detail.isEmpty { s += " " + detail }
        return s
    }

    /// `h:mm:ss` or `m:ss`.
    public static func clock(_ seconds: Double) -> String {
        let t = Int(max(0, seconds).rounded())
        let h = t / 3600, m = (t % 3600) / 60, s = t % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}
