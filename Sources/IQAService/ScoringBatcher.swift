import Foundation
import IQAModel
import IQAScoring
import Tensor

/// Groups concurrent scoring requests into forward passes: requests queue here (bounded: a full queue refuses
/// at once), and one model thread takes up to `maxBatch` of them — waiting at most `maxWait` after the first
/// for others to arrive — stacks their preprocessed pixels and runs ``Scorer/score(pixels:prompts:attention:)``
/// once. Decoding and preprocessing happen in the request handlers, beside the model, never on its thread.
///
///     request → decode + preprocess (handler) → queue (≤ maxQueue) → [model thread: ≤ maxBatch per pass] → result
///
/// The model runs on its own thread, not on Swift's cooperative pool, so a seconds-long forward pass never
/// starves the HTTP handlers. A request cancelled while queued (timeout, client gone) leaves the queue; one
/// cancelled during its pass just drops the result. ``close()`` lets the queued requests finish, then stops.
///
/// ```swift
/// let batcher = ScoringBatcher(scorer: scorer, maxBatch: 8, maxWait: .milliseconds(10), maxQueue: 64)
/// let score = try await batcher.score(pixels: Scorer.preprocess(image, resolution: scorer.resolution), prompt: "a cat")
/// batcher.close()
/// ```
public final class ScoringBatcher: @unchecked Sendable {
    /// Called on the model thread after each pass with its size and duration (metrics).
    public typealias BatchObserver = @Sendable (_ size: Int, _ seconds: Double) -> Void

    public let maxBatch: Int
    public let maxWait: TimeInterval
    public let maxQueue: Int
    public let retryAfter: Int

    // Touched only on the model thread.
    private let scorer: Scorer
    private let observer: BatchObserver

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var closed = false
    private var paused = false
    private var running = 0
    private var finished = false
    private var passes = 0
    private var sizes: [Int: Int] = [:]

    public init(scorer: Scorer, maxBatch: Int, maxWait: Duration, maxQueue: Int, retryAfter: Int = 1,
                observer: @escaping BatchObserver = { _, _ in }) {
        self.scorer = scorer
        self.maxBatch = max(1, maxBatch)
        let (seconds, attoseconds) = maxWait.components
        self.maxWait = Double(seconds) + Double(attoseconds) * 1e-18
        self.maxQueue = max(1, maxQueue)
        self.retryAfter = retryAfter
        self.observer = observer
        let thread = Thread { [self] in loop() }
        thread.name = "ipiqa-model"
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Requests waiting for the model (not counting the pass running now).
    public var queueDepth: Int { condition.withLock { queue.count } }
    /// Requests in the pass running now.
    public var inPass: Int { condition.withLock { running } }
    /// Forward passes run so far.
    public var passCount: Int { condition.withLock { passes } }
    /// Forward passes by number of images.
    public var batchSizeCounts: [Int: Int] { condition.withLock { sizes } }
    /// Whether a new request would be queued (not full, not closed).
    public var isAccepting: Bool { condition.withLock { !closed && queue.count < maxQueue } }

    /// Scores one preprocessed image (`[R·R·3]`, ``Scorer/preprocess(_:resolution:)``) with its prompt (ignored by
    /// an image-only model); `attention` adds the cross-modality map. Throws ``ServiceError/queueFull(depth:retryAfter:)``
    /// at once when the queue is full, ``ServiceError/shuttingDown`` after ``close()``, `CancellationError` when
    /// the calling task is cancelled while the request waits.
    public func score(pixels: [Float], prompt: String, attention: AttentionHeadSelection? = nil) async throws -> ImageScore {
        let job = Job(pixels: pixels, prompt: prompt, attention: attention)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ImageScore, Error>) in
                job.attach(continuation)
                condition.lock()
                if closed {
                    condition.unlock()
                    job.finish(.failure(ServiceError.shuttingDown))
                } else if queue.count >= maxQueue {
                    let depth = queue.count
                    condition.unlock()
                    job.finish(.failure(ServiceError.queueFull(depth: depth, retryAfter: retryAfter)))
                } else {
                    queue.append(job)
                    condition.broadcast()
                    condition.unlock()
                }
            }
        } onCancel: {
            condition.withLock { queue.removeAll { $0 === job } }
            job.finish(.failure(CancellationError()))
        }
    }

    /// Holds the model thread before its next pass: requests queue (and the queue fills) until ``resume()``.
    /// For maintenance and for tests that need requests provably waiting (queue full, timeouts, shutdown).
    public func pause() { condition.withLock { paused = true } }

    /// Lets the model thread run again.
    public func resume() {
        condition.withLock {
            paused = false
            condition.broadcast()
        }
    }

    /// Stops taking requests; the queued ones are still scored, then the model thread ends. Returns at once.
    public func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    /// Blocks until the model thread has ended (after ``close()``).
    public func waitUntilFinished() {
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while let batch = nextBatch() {
            if batch.isEmpty { continue }
            // Counted before the results are delivered, so a client that has its answer sees its pass counted.
            condition.withLock { passes += 1; sizes[batch.count, default: 0] += 1 }
            run(batch) { seconds in observer(batch.count, seconds) }
            condition.withLock { running = 0 }
        }
        condition.withLock { finished = true; condition.broadcast() }
    }

    /// Waits for a first request, then up to `maxWait` for the batch to fill; nil once closed and drained.
    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while (queue.isEmpty || paused) && !closed { condition.wait() }
        if queue.isEmpty { return nil }
        let deadline = queue[0].enqueued.addingTimeInterval(maxWait)
        while queue.count < maxBatch && !closed && Date() < deadline {
            _ = condition.wait(until: deadline)
            if queue.isEmpty { break }              // every waiting request was cancelled
        }
        if queue.isEmpty { return closed ? nil : [] }
        let batch = Array(queue.prefix(maxBatch))
        queue.removeFirst(batch.count)
        running = batch.count
        return batch
    }

    /// Runs one pass; `timed(seconds)` is called after the forward pass, before the results are delivered.
    private func run(_ jobs: [Job], timed: (Double) -> Void) {
        let live = jobs.filter { !$0.isFinished }
        guard !live.isEmpty else { return }
        let start = Date()
        let r = scorer.resolution, per = r * r * 3
        do {
            let pixels = Tensor(uninitialized: [live.count, r, r, 3])
            for (i, job) in live.enumerated() {
                guard job.pixels.count == per else {
                    throw ServiceError.internalError("pixels of \(job.pixels.count) values, expected \(per)")
                }
                job.pixels.withUnsafeBufferPointer { (pixels.pointer + i * per).update(from: $0.baseAddress!, count: per) }
            }
            let wantMaps = live.contains { $0.attention != nil }
            let heads = live.compactMap(\.attention).first
            let results = try scorer.score(pixels: pixels, prompts: scorer.usesText ? live.map(\.prompt) : [],
                                           attention: wantMaps ? heads : nil)
            timed(Date().timeIntervalSince(start))
            for (job, result) in zip(live, results) {
                var r = result
                if job.attention == nil { r.attention = nil }
                job.finish(.success(r))
            }
        } catch {
            let failure = (error as? ServiceError) ?? ServiceError.internalError(error.localizedDescription)
            for job in live { job.finish(.failure(failure)) }
        }
    }
}

/// One queued request: its inputs and a continuation resumed exactly once (result, failure or cancellation).
private final class Job: @unchecked Sendable {
    let pixels: [Float]
    let prompt: String
    let attention: AttentionHeadSelection?
    let enqueued = Date()
    private let lock = NSLock()
    private var continuation: CheckedContinuation<ImageScore, Error>?
    private var pending: Result<ImageScore, Error>?
    private var done = false

    init(pixels: [Float], prompt: String, attention: AttentionHeadSelection?) {
        self.pixels = pixels
        self.prompt = prompt
        self.attention = attention
    }

    var isFinished: Bool { lock.withLock { done } }

    /// Sets the continuation; a result that arrived first (cancellation before attach) is delivered now.
    func attach(_ c: CheckedContinuation<ImageScore, Error>) {
        let early: Result<ImageScore, Error>? = lock.withLock {
            if let pending { self.pending = nil; return pending }
            continuation = c
            return nil
        }
        if let early { c.resume(with: early) }
    }

    /// Delivers the outcome once; later calls are ignored.
    func finish(_ result: Result<ImageScore, Error>) {
        let c: CheckedContinuation<ImageScore, Error>? = lock.withLock {
            if done { return nil }
            done = true
            if let continuation { self.continuation = nil; return continuation }
            pending = result
            return nil
        }
        c?.resume(with: result)
    }
}
