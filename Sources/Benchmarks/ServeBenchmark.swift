import AsyncHTTPClient
import CLIP
import CLIPTokenizer
import Foundation
import Imaging
import IQAModel
import IQAScoring
import IQAService
import NIOCore
import Tensor

/// Settings of `ipiqa bench serve`: the model (a file, or random weights of CLIP RN50's size at `resolution`), the
/// server's batching, and the load: `clients` concurrent loopback clients sending `requests` multipart requests
/// in all, cycling over `images` distinct PNGs (`imageSide` px squares) and `prompts` distinct prompts.
public struct ServeBenchmarkConfiguration: Codable, Sendable, Equatable {
    public var modelFile: String?
    public var resolution = 224
    public var maxBatch = 8
    public var maxWaitMilliseconds = 10
    public var clients = 16
    public var requests = 2000
    public var images = 32
    public var imageSide = 256
    public var prompts = 16
    /// Request after which the "middle" RSS is read (growth is measured from there to the end).
    public var rssCheckpoint = 500
    /// Timed forward passes of the direct batch throughput (median).
    public var forwardRepeats = 3

    public init() {}

    public func validate() throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw ModelBenchmarkError(message: "serve: " + m) } }
        try check(clients >= 1 && requests >= clients, "need clients ≥ 1 and requests ≥ clients (got \(clients), \(requests))")
        try check(images >= 1 && prompts >= 1 && imageSide >= 8, "need images ≥ 1, prompts ≥ 1, image side ≥ 8")
        try check((32...1024).contains(resolution) && resolution % 32 == 0, "resolution must be a multiple of 32 in 32…1024")
        try check(maxBatch >= 1 && maxWaitMilliseconds >= 0 && forwardRepeats >= 1, "bad batching settings")
        try check(rssCheckpoint >= 0 && rssCheckpoint < requests, "the RSS checkpoint must come before the last request")
    }
}

/// What `ipiqa bench serve` measured.
public struct ServeBenchmarkResult: Codable, Sendable {
    public var requests: Int
    public var clients: Int
    public var maxBatch: Int
    public var seconds: Double
    public var requestsPerSecond: Double
    public var p50Ms: Double
    public var p95Ms: Double
    public var p99Ms: Double
    public var errors: Int
    public var errorSamples: [String]
    /// Forward passes by images per pass.
    public var batchSizes: [String: Int]
    /// Images/s of `Scorer.score(pixels:)` on ready batches of `maxBatch` (the model alone; `ipiqa bench`'s forward):
    /// the larger of a measurement before and one after the load (shared machines drift; the larger is the stricter
    /// reference).
    public var forwardImagesPerSecond: Double
    /// The two forward measurements, before and after the load.
    public var forwardBeforeAfter: [Double]
    /// requestsPerSecond / forwardImagesPerSecond.
    public var servedFraction: Double
    public var rssStartMB: Double
    public var rssCheckpoint: Int
    public var rssAtCheckpointMB: Double
    public var rssEndMB: Double
    /// (end − checkpoint) / checkpoint.
    public var rssGrowth: Double
}

/// `ipiqa bench serve`: a ``ScoringService`` in this process on 127.0.0.1 (any free port), loaded by concurrent
/// AsyncHTTPClient clients over loopback — the whole path: HTTP, multipart parsing, PNG decoding, resizing, the
/// batcher and the model. RSS is this process's (server and clients together).
///
/// ```swift
/// var config = ServeBenchmarkConfiguration(); config.requests = 200
/// let result = try await ServeBenchmark.run(config)
/// ```
public enum ServeBenchmark {
    public static func run(_ config: ServeBenchmarkConfiguration, log: @escaping @Sendable (String) -> Void = { _ in }) async throws -> ServeBenchmarkResult {
        try config.validate()
        let rssStart = megabytes(MemoryStats.currentResidentBytes())
        let (scorer, name) = try makeScorer(config)
        let forward = try forwardThroughput(scorer, config: config)
        log(String(format: "bench serve: direct forward %.2f images/s at batch %d", forward, config.maxBatch))

        var serve = ServeConfiguration()
        serve.port = 0
        serve.maxBatch = config.maxBatch
        serve.maxWaitMilliseconds = config.maxWaitMilliseconds
        serve.maxQueue = max(64, config.clients * 2)
        serve.requestTimeoutSeconds = 600
        let service = try ScoringService(scorer: scorer, configuration: serve, modelName: name)
        let server = try await service.start()
        let bodies = try makeBodies(config)
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: config.clients)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        let state = LoadState(total: config.requests, checkpoint: config.rssCheckpoint)
        let url = "http://127.0.0.1:\(server.port)/v1/score"
        let start = ContinuousClock.now
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<config.clients {
                    group.addTask {
                        while let i = state.take() {
                            let body = bodies[i % bodies.count]
                            var request = HTTPClientRequest(url: url)
                            request.method = .POST
                            request.headers.add(name: "Content-Type", value: body.contentType)
                            request.body = .bytes(body.bytes)
                            let t0 = ContinuousClock.now
                            var failure: String?
                            do {
                                let response = try await client.execute(request, timeout: .seconds(600))
                                let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                                if response.status != .ok { failure = "HTTP \(response.status.code): \(text.prefix(200))" }
                            } catch { failure = "\(error)" }
                            state.done(i, milliseconds: milliseconds(ContinuousClock.now - t0), failure: failure)
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            try? await client.shutdown()
            try? await server.stop()
            throw error
        }
        let seconds = milliseconds(ContinuousClock.now - start) / 1000
        try await client.shutdown()
        let counts = service.batcher.batchSizeCounts
        try await server.stop()
        let rssEnd = megabytes(MemoryStats.currentResidentBytes())
        let forwardAfter = try forwardThroughput(scorer, config: config)
        log(String(format: "bench serve: direct forward after the load %.2f images/s", forwardAfter))
        let reference = max(forward, forwardAfter)
        let latencies = state.latencies.sorted()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)] }
        let rps = Double(config.requests) / seconds
        let middle = state.rssAtCheckpoint ?? rssEnd
        return ServeBenchmarkResult(
            requests: config.requests, clients: config.clients, maxBatch: config.maxBatch, seconds: seconds, requestsPerSecond: rps,
            p50Ms: percentile(0.50), p95Ms: percentile(0.95), p99Ms: percentile(0.99), errors: state.failures.count,
            errorSamples: Array(state.failures.prefix(5)),
            batchSizes: Dictionary(uniqueKeysWithValues: counts.map { (String($0.key), $0.value) }),
            forwardImagesPerSecond: reference, forwardBeforeAfter: [forward, forwardAfter], servedFraction: rps / reference, rssStartMB: rssStart, rssCheckpoint: config.rssCheckpoint, rssAtCheckpointMB: middle,
            rssEndMB: rssEnd, rssGrowth: (rssEnd - middle) / middle)
    }

    /// A table of the result.
    public static func table(_ r: ServeBenchmarkResult) -> String {
        let mix = r.batchSizes.sorted { Int($0.key)! < Int($1.key)! }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        return [
            String(format: "requests          %d (%d clients, max batch %d) in %.1f s", r.requests, r.clients, r.maxBatch, r.seconds),
            String(format: "throughput        %.2f requests/s (direct batch-%d forward %.2f images/s, the larger of %.2f before and %.2f after: %.0f %%)",
                   r.requestsPerSecond, r.maxBatch, r.forwardImagesPerSecond, r.forwardBeforeAfter[0], r.forwardBeforeAfter[1], 100 * r.servedFraction),
            String(format: "latency           p50 %.0f ms, p95 %.0f ms, p99 %.0f ms", r.p50Ms, r.p95Ms, r.p99Ms),
            "batch sizes       \(mix)  (size×passes)",
            "errors            \(r.errors)" + (r.errorSamples.isEmpty ? "" : ": " + r.errorSamples.joined(separator: "; ")),
            String(format: "RSS               start %.0f MB, after request %d %.0f MB, end %.0f MB (growth %+.1f %%)",
                   r.rssStartMB, r.rssCheckpoint, r.rssAtCheckpointMB, r.rssEndMB, 100 * r.rssGrowth),
        ].joined(separator: "\n") + "\n"
    }

    static func makeScorer(_ config: ServeBenchmarkConfiguration) throws -> (Scorer, String) {
        if let file = config.modelFile {
            let url = URL(fileURLWithPath: file)
            let (model, _) = try IPIQACheckpoint.load(url)
            model.clip.setPrecision(.fp32)
            return (try Scorer(model: model, source: file), url.lastPathComponent)
        }
        var iq = IPIQAConfiguration(outputs: 2)
        iq.resolution = config.resolution
        let model = try IPIQAModel(clip: CLIPModel(config: .rn50, seed: 1), config: iq)
        model.clip.setPrecision(.fp32)
        return (try Scorer(model: model), "random RN50 IP-IQA at \(config.resolution) px")
    }

    /// Median images/s of the model alone on ready `[maxBatch, R, R, 3]` pixels (one untimed warm-up pass).
    static func forwardThroughput(_ scorer: Scorer, config: ServeBenchmarkConfiguration) throws -> Double {
        var rng = SeededGenerator(seed: 3)
        let n = config.maxBatch, r = scorer.resolution
        let pixels = Tensor.randn([n, r, r, 3], using: &rng)
        let prompts = (0..<n).map { "a benchmark prompt number \($0 % config.prompts)" }
        var times: [Double] = []
        for round in 0...config.forwardRepeats {
            let t0 = ContinuousClock.now
            _ = try scorer.score(pixels: pixels, prompts: scorer.usesText ? prompts : [])
            if round > 0 { times.append(milliseconds(ContinuousClock.now - t0)) }
        }
        return Double(n) / (times.sorted()[times.count / 2] / 1000)
    }

    struct Body: Sendable {
        var bytes: ByteBuffer
        var contentType: String
    }

    /// Multipart bodies: `images` smooth pattern PNGs, each with one of `prompts` prompts.
    static func makeBodies(_ config: ServeBenchmarkConfiguration) throws -> [Body] {
        let boundary = "ipiqa-bench-boundary"
        return try (0..<config.images).map { k in
            let side = config.imageSide
            var pixels = [UInt8](repeating: 0, count: side * side * 3)
            for y in 0..<side { for x in 0..<side { for c in 0..<3 {
                let v = 127.5 + 120 * sin(0.05 * Double(x * (c + 1)) + 0.07 * Double(y) * Double(k % 5 + 1) + 1.3 * Double(k) + Double(c))
                pixels[(y * side + x) * 3 + c] = UInt8(max(0, min(255, v.rounded())))
            } } }
            let png = try ImageCodec.encodePNG(try RGBImage(width: side, height: side, pixels: pixels))
            var buffer = ByteBuffer()
            buffer.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n")
            buffer.writeString("a benchmark prompt number \(k % config.prompts)\r\n")
            buffer.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\(k).png\"\r\nContent-Type: image/png\r\n\r\n")
            buffer.writeBytes(png)
            buffer.writeString("\r\n--\(boundary)--\r\n")
            return Body(bytes: buffer, contentType: "multipart/form-data; boundary=\(boundary)")
        }
    }

    static func milliseconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) * 1000 + Double(atto) * 1e-15
    }

    static func megabytes(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }
}

/// Hands out request indices to the clients and collects latencies, failures and the RSS at the checkpoint.
private final class LoadState: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private let checkpoint: Int
    private var next = 0
    private var finished = 0
    private(set) var latencies: [Double] = []
    private(set) var failures: [String] = []
    private(set) var rssAtCheckpoint: Double?

    init(total: Int, checkpoint: Int) {
        self.total = total
        self.checkpoint = checkpoint
        latencies.reserveCapacity(total)
    }

    func take() -> Int? {
        lock.withLock {
            guard next < total else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func done(_ i: Int, milliseconds: Double, failure: String?) {
        let reachedCheckpoint: Bool = lock.withLock {
            latencies.append(milliseconds)
            if let failure { failures.append(failure) }
            finished += 1
            return finished == checkpoint
        }
        if reachedCheckpoint {
            let rss = ServeBenchmark.megabytes(MemoryStats.currentResidentBytes())
            lock.withLock { rssAtCheckpoint = rss }
        }
    }
}
