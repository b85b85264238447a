import Foundation

/// Settings of `ipiqa serve`: where it listens, how requests are grouped into forward passes, and the limits that
/// keep it up. Every limit answers with a JSON error (``ServiceError``) rather than a dropped connection.
///
/// ```swift
/// var config = ServeConfiguration()          // 127.0.0.1:8080, batches of up to 8 within 10 ms
/// config.maxBatch = 16; config.apiKey = "s3cret"
/// try config.validate()
/// ```
public struct ServeConfiguration: Codable, Sendable, Equatable {
    /// Address to bind: loopback unless the operator says otherwise.
    public var host = "127.0.0.1"
    /// Port (0: any free port, reported by the server once running).
    public var port = 8080
    /// Most images in one forward pass.
    public var maxBatch = 8
    /// How long the first request of a batch waits for others (milliseconds).
    public var maxWaitMilliseconds = 10
    /// Requests waiting for the model beyond which new ones get 503 with `Retry-After`.
    public var maxQueue = 64
    /// Request bodies above this get 413 (bytes; default 32 MB).
    public var maxBodyBytes = 32 * 1024 * 1024
    /// Images that declare more pixels than this get 413 before decoding (decompression bombs).
    public var maxPixels = 40_000_000
    /// Items of one `/v1/score/batch` request.
    public var maxBatchItems = 32
    /// A request not answered within this many seconds gets 504.
    public var requestTimeoutSeconds = 30.0
    /// Distinct prompts whose text features are kept (least recently used leave first).
    public var promptCacheSize = 1024
    /// Seconds a client should wait after a 503 (`Retry-After`).
    public var retryAfterSeconds = 1
    /// When set, every route but `/healthz` and `/readyz` needs `Authorization: Bearer <key>`.
    public var apiKey: String?

    public init() {}

    /// Checks every value; the message names the setting and its value.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ServiceError.configuration(message) } }
        try check(!host.isEmpty, "host must not be empty")
        try check((0...65535).contains(port), "port must be in 0…65535, got \(port)")
        try check(maxBatch >= 1, "max batch must be at least 1, got \(maxBatch)")
        try check(maxWaitMilliseconds >= 0, "max wait must be ≥ 0 ms, got \(maxWaitMilliseconds)")
        try check(maxQueue >= 1, "max queue must be at least 1, got \(maxQueue)")
        try check(maxBodyBytes >= 1024, "max body must be at least 1024 bytes, got \(maxBodyBytes)")
        try check(maxPixels >= 1, "max pixels must be positive, got \(maxPixels)")
        try check(maxBatchItems >= 1, "max batch items must be at least 1, got \(maxBatchItems)")
        try check(requestTimeoutSeconds > 0, "request timeout must be positive, got \(requestTimeoutSeconds) s")
        try check(promptCacheSize >= 0, "prompt cache size must be ≥ 0, got \(promptCacheSize)")
        try check(retryAfterSeconds >= 1, "retry-after must be at least 1 s, got \(retryAfterSeconds)")
        if let apiKey { try check(!apiKey.isEmpty, "the API key is empty") }
    }

    /// Whether the server answers only this machine.
    public var isLoopback: Bool { host == "127.0.0.1" || host == "::1" || host == "localhost" }
}
