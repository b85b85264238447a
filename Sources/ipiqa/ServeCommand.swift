import ArgumentParser
import Foundation
import IPIQADemo
import IQAModel
import IQAScoring
import IQAService
import Tensor

/// `ipiqa serve`: a trained or imported IP-IQA model behind an HTTP API and a web page (``ScoringService``).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a trained IP-IQA model over HTTP: JSON API under /v1, a web page at /, metrics at /metrics.",
        discussion: """
        POST /v1/score takes multipart/form-data (image file, prompt) or JSON (image as base64, prompt) and answers \
        {"quality": x, "alignment": y, "model": {…}, "latency_ms": t}; ?attention=1 adds the attention overlay as a \
        base64 PNG. POST /v1/score/batch scores several; GET /v1/model, /healthz, /readyz, /metrics. Concurrent \
        requests share forward passes (--max-batch, --max-wait-ms). Binds 127.0.0.1 unless --host says otherwise. \
        With --api-key-file or IPIQA_API_KEY, requests need "Authorization: Bearer <key>". SIGTERM / SIGINT stop \
        accepting, finish the requests in flight and exit 0. --demo serves the model `ipiqa demo` trains (running \
        the missing demo stages first).
        """)

    @Option(help: "Trained IP-IQA model file to serve.")
    var model: String?

    @Flag(help: "Serve the model trained by `ipiqa demo` (runs the missing cached demo stages first).")
    var demo = false

    @Option(help: "--demo: the demo's cache folder.")
    var demoDir: String = "ipiqa-demo"

    @Flag(help: "--demo: the quick demo's model (smaller world, fewer steps).")
    var quick = false

    @Option(help: "Address to bind (default loopback only).")
    var host: String = ServeConfiguration().host

    @Option(help: "Port (0: any free port).")
    var port: Int = ServeConfiguration().port

    @Option(help: "Most images per forward pass.")
    var maxBatch: Int = ServeConfiguration().maxBatch

    @Option(help: "Milliseconds the first request of a batch waits for others.")
    var maxWaitMs: Int = ServeConfiguration().maxWaitMilliseconds

    @Option(help: "Requests waiting for the model beyond which new ones get 503 with Retry-After.")
    var maxQueue: Int = ServeConfiguration().maxQueue

    @Option(help: "Largest request body in MB (413 beyond).")
    var maxBodyMb: Int = ServeConfiguration().maxBodyBytes / (1024 * 1024)

    @Option(help: "Most pixels an image may declare (413 beyond; checked before decoding).")
    var maxPixels: Int = ServeConfiguration().maxPixels

    @Option(help: "Most items in one /v1/score/batch request.")
    var maxBatchItems: Int = ServeConfiguration().maxBatchItems

    @Option(help: "Seconds before an unanswered request gets 504.")
    var timeout: Double = ServeConfiguration().requestTimeoutSeconds

    @Option(help: "Distinct prompts whose text features are cached.")
    var promptCache: Int = ServeConfiguration().promptCacheSize

    @Option(help: "File holding the API key (else IPIQA_API_KEY; neither: no key needed).")
    var apiKeyFile: String?

    @OptionGroup var threads: ThreadOptions
    @OptionGroup var precision: PrecisionOptions

    func validate() throws {
        guard (model == nil) != !demo else { throw ValidationError("give either --model FILE or --demo") }
        guard maxBodyMb >= 1 else { throw ValidationError("--max-body-mb must be at least 1") }
        do { try serveConfiguration(apiKey: nil).validate() } catch { throw ValidationError(error.localizedDescription) }
    }

    func serveConfiguration(apiKey: String?) -> ServeConfiguration {
        var c = ServeConfiguration()
        c.host = host
        c.port = port
        c.maxBatch = maxBatch
        c.maxWaitMilliseconds = maxWaitMs
        c.maxQueue = maxQueue
        c.maxBodyBytes = maxBodyMb * 1024 * 1024
        c.maxPixels = maxPixels
        c.maxBatchItems = maxBatchItems
        c.requestTimeoutSeconds = timeout
        c.promptCacheSize = promptCache
        c.apiKey = apiKey
        return c
    }

    /// The key from --api-key-file (trailing newline dropped), else IPIQA_API_KEY.
    func apiKey() throws -> String? {
        if let apiKeyFile {
            guard let text = try? String(contentsOfFile: apiKeyFile, encoding: .utf8) else {
                throw ValidationError("cannot read --api-key-file \(apiKeyFile)")
            }
            let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw ValidationError("--api-key-file \(apiKeyFile) is empty") }
            return key
        }
        return ProcessInfo.processInfo.environment["IPIQA_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func run() throws {
        try CLI.run {
            let config = serveConfiguration(apiKey: try apiKey())
            let url: URL
            if let model { url = URL(fileURLWithPath: model) } else {
                url = try DemoRunner.servingModel(config: quick ? .quick : .standard, directory: URL(fileURLWithPath: demoDir)) { CLI.note($0) }
            }
            threads.apply()
            let (loaded, metadata) = try IPIQACheckpoint.load(url)
            try precision.apply(to: loaded.clip, resolution: loaded.config.resolution, target: .trunk)
            let service = try ScoringService(scorer: try Scorer(model: loaded, source: url.path), configuration: config,
                                             modelName: url.lastPathComponent, metadata: metadata)
            if !config.isLoopback { CLI.note("note: listening on \(config.host), reachable from other machines" + (config.apiKey == nil ? " without an API key" : "")) }
            let host = config.host
            try AsyncBridge.run {
                try await service.run { port in
                    CLI.note("serving \(url.lastPathComponent) at http://\(host):\(port)/ (Ctrl-C to stop)")
                }
            }
            CLI.note("stopped")
        }
    }
}

/// Runs async work from a synchronous command: the work runs on Swift's global executor while the main thread
/// waits (the server's threads are NIO's and the model's own, so nothing needs the main thread).
enum AsyncBridge {
    static func run(_ body: @escaping @Sendable () async throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let box = ErrorBox()
        Task.detached {
            do { try await body() } catch { box.error = error }
            done.signal()
        }
        done.wait()
        if let error = box.error { throw error }
    }

    private final class ErrorBox: @unchecked Sendable { var error: Error? }
}
