import CLIP
import Foundation
import Hummingbird
import IQAData
import IQAModel
import IQAScoring
import Imaging
import Logging
import ServiceLifecycle

/// `ipiqa serve`: a loaded IP-IQA model behind an HTTP API and a web page (Hummingbird 2), built to stay up.
///
///     GET  /                  the web page (embedded; no network needed)
///     POST /v1/score          one image + prompt → {"quality": x, "alignment": y, "model": {…}, "latency_ms": t}
///     POST /v1/score/batch    up to `maxBatchItems` → {"results": [ scores or {"error": …} per item ], …}
///     GET  /v1/model          what is loaded
///     GET  /healthz /readyz   alive; model loaded and queue not full
///     GET  /metrics           Prometheus text
///
/// Requests are decoded beside the model and grouped into forward passes by a ``ScoringBatcher``; every failure is
/// a JSON ``ServiceError``; SIGTERM / SIGINT stop accepting, let in-flight requests finish, then ``run()`` returns.
///
/// ```swift
/// let service = try ScoringService(scorer: Scorer(checkpoint: url), configuration: ServeConfiguration(), modelName: "m.safetensors")
/// try await service.run()
/// ```
public final class ScoringService: Sendable {
    public let configuration: ServeConfiguration
    public let model: ModelDescription
    public let metrics: ServiceMetrics
    public let batcher: ScoringBatcher

    /// Takes ownership of `scorer` (its model then runs on the batcher's thread only).
    public init(scorer: Scorer, configuration: ServeConfiguration, modelName: String, metadata: [String: String] = [:]) throws {
        try configuration.validate()
        // The largest batch the batcher may form must fit in memory: refused at start, not at the first busy moment.
        do {
            try scorer.model.clip.config.checkMemory(batch: min(configuration.maxBatch, configuration.maxQueue), resolution: scorer.resolution,
                                                     what: "--max-batch")
        } catch let e as CLIPError { throw ServiceError.configuration(e.localizedDescription) }
        self.configuration = configuration
        model = ModelDescription(scorer: scorer, name: modelName, metadata: metadata)
        let metrics = ServiceMetrics(maxBatch: configuration.maxBatch)
        self.metrics = metrics
        let scorerWithCache = Scorer(model: scorer.model, tokenizer: scorer.tokenizer, source: scorer.source,
                                     promptCacheCapacity: configuration.promptCacheSize)
        batcher = ScoringBatcher(scorer: scorerWithCache, maxBatch: configuration.maxBatch,
                                 maxWait: .milliseconds(configuration.maxWaitMilliseconds), maxQueue: configuration.maxQueue,
                                 retryAfter: configuration.retryAfterSeconds) { size, seconds in metrics.batch(size: size, seconds: seconds) }
    }

    /// Loads a model file and wraps it (fp32 inference kernels, as `ipiqa score` runs them).
    public convenience init(modelFile url: URL, configuration: ServeConfiguration) throws {
        let (model, metadata) = try IPIQACheckpoint.load(url)
        model.clip.setPrecision(.fp32)
        try self.init(scorer: try Scorer(model: model, source: url.path), configuration: configuration,
                      modelName: url.lastPathComponent, metadata: metadata)
    }

    /// The Hummingbird application: routes, middleware and the configured address. `onServerRunning` receives the
    /// bound port (useful with port 0).
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: ServiceRoutes(service: self).router(),
                    configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                            serverName: "ipiqa"),
                    onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? -1) })
    }

    /// Serves until SIGTERM or SIGINT, then finishes in-flight requests, stops the model thread and returns.
    public func run(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        do {
            try await makeApplication(onServerRunning: onServerRunning).runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            shutdown()
            throw error
        }
        shutdown()
    }

    /// Starts serving without signal handling (tests, benchmarks): returns once the server listens; the handle gives
    /// the bound port and stops it gracefully.
    public func start() async throws -> RunningServer {
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = makeApplication { port in portContinuation.yield(port) }
        var logger = Logger(label: "ipiqa-serve")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await task.value
            throw ServiceError.internalError("the server stopped before it listened")
        }
        return RunningServer(port: port, service: self, group: group, task: task)
    }

    /// Stops the batcher after the queued requests (call once the server has stopped).
    public func shutdown() {
        batcher.close()
        batcher.waitUntilFinished()
    }
}

/// A server started by ``ScoringService/start()``.
public struct RunningServer: Sendable {
    public let port: Int
    let service: ScoringService
    let group: ServiceGroup
    let task: Task<Void, Error>

    /// Graceful stop: no new connections, in-flight requests finish, then the model thread ends.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        await Task.detached { service.shutdown() }.value
    }
}

/// What `GET /v1/model` reports (and every score response repeats under `model`).
public struct ModelDescription: Sendable {
    public var name: String
    public var outputs: [String]
    public var resolution: Int
    public var fusion: String?
    public var usesPrompt: Bool
    public var crossHeads: Int
    /// The range of the scores the model was trained on, when its metadata names a known dataset (AGIQA: MOS 0…5).
    public var scoreRange: ClosedRange<Double>?
    public var dataset: String?

    public init(scorer: Scorer, name: String, metadata: [String: String]) {
        let config = scorer.model.config
        self.name = name
        outputs = config.outputNames
        resolution = config.resolution
        fusion = config.effectiveFusion?.rawValue
        usesPrompt = config.useText
        crossHeads = config.crossHeads
        dataset = metadata["dataset"]
        scoreRange = dataset.map { $0.lowercased().contains("agiqa") } == true ? AGIQAConstants.mosRange : nil
    }

    public var json: JSONValue {
        [
            "name": .string(name), "outputs": .array(outputs.map { .string($0) }), "resolution": .number(Double(resolution)),
            "fusion": fusion.map { .string($0) } ?? .null, "uses_prompt": .bool(usesPrompt),
            "score_range": scoreRange.map { .array([.number($0.lowerBound), .number($0.upperBound)]) } ?? .null,
            "dataset": dataset.map { .string($0) } ?? .null,
        ]
    }
}
