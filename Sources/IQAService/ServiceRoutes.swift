import Foundation
import Hummingbird
import IQAModel
import IQAScoring
import Imaging
import NIOCore

/// The routes of ``ScoringService``, grouped by concern: the page, the scoring API, and the operator's endpoints.
/// Middleware, outermost first: metrics (route, status, latency) → errors as JSON → bearer token → routes.
struct ServiceRoutes: Sendable {
    let service: ScoringService
    var configuration: ServeConfiguration { service.configuration }

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: service.metrics, batcher: service.batcher))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: BearerTokenMiddleware(key: configuration.apiKey))

        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: WebPage.html)))
        }
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            guard service.batcher.isAccepting else {
                throw ServiceError.queueFull(depth: service.batcher.queueDepth, retryAfter: configuration.retryAfterSeconds)
            }
            return json(["status": "ready", "model": service.model.json, "queue_depth": .number(Double(service.batcher.queueDepth))])
        }
        router.get("/metrics") { _, _ in
            service.metrics.setQueueDepth(service.batcher.queueDepth)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: service.metrics.text())))
        }
        router.get("/v1/model") { _, _ in
            json(["model": service.model.json, "max_batch": .number(Double(configuration.maxBatch)),
                  "max_batch_items": .number(Double(configuration.maxBatchItems)),
                  "max_body_bytes": .number(Double(configuration.maxBodyBytes)), "max_pixels": .number(Double(configuration.maxPixels))])
        }
        router.post("/v1/score") { request, _ in try await score(request, batch: false) }
        router.post("/v1/score/batch") { request, _ in try await score(request, batch: true) }
        return router
    }

    // MARK: Scoring

    /// Query options of the scoring routes: `attention=1|true` (overlay as a base64 PNG), `head=N` (one head
    /// instead of the mean).
    struct Options: Sendable {
        var attention: AttentionHeadSelection?

        init(_ request: Request, model: ModelDescription) throws {
            let query = request.uri.queryParameters
            let flag = query["attention"].map { String($0).lowercased() }
            switch flag {
            case nil, "0", "false", "no": attention = nil
            case "1", "true", "yes": attention = .mean
            default: throw ServiceError.badRequest("query 'attention' must be 0 or 1, got '\(flag ?? "")'")
            }
            if let h = query["head"] {
                guard let head = Int(h), head >= 0, head < model.crossHeads else {
                    throw ServiceError.badRequest("query 'head' must be an integer in 0…\(model.crossHeads - 1), got '\(h)'")
                }
                if attention != nil { attention = .head(head) }
            }
            if attention != nil, !model.usesPrompt {
                throw ServiceError.unprocessable("this model is image-only: it has no cross-modality attention to draw")
            }
        }
    }

    private func score(_ request: Request, batch: Bool) async throws -> Response {
        let start = ContinuousClock.now
        let options = try Options(request, model: service.model)
        let body = try await collect(request)
        let inputs = try ScoreInput.parse(body, contentType: request.headers[.contentType], batch: batch)
        if batch {
            guard !inputs.isEmpty else { throw ServiceError.badRequest("the batch has no items") }
            guard inputs.count <= configuration.maxBatchItems else {
                throw ServiceError.unprocessable("the batch has \(inputs.count) items; at most \(configuration.maxBatchItems) per request")
            }
            let results = await withTaskGroup(of: IndexedResult.self) { group in
                for index in inputs.indices {
                    let item = inputs[index]
                    group.addTask { [index, item] in
                        do { return IndexedResult(index: index, value: try await scoreWithTimeout(item, options: options)) } catch {
                            return IndexedResult(index: index, value: ["error": ServiceErrors.wrap(error).json])
                        }
                    }
                }
                var answered: [IndexedResult] = []
                for await result in group { answered.append(result) }
                return answered.sorted { $0.index < $1.index }.map(\.value)
            }
            return json(["results": .array(results), "model": service.model.json, "latency_ms": milliseconds(since: start)])
        }
        guard case let .object(pairs) = try await scoreWithTimeout(inputs[0], options: options) else {
            throw ServiceError.internalError("unexpected result shape")
        }
        return json(.object(pairs + [("model", service.model.json), ("latency_ms", milliseconds(since: start))]))
    }

    /// The body, refused with 413 past `maxBodyBytes` (from `Content-Length` before reading, or while reading).
    private func collect(_ request: Request) async throws -> ByteBuffer {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw ServiceError.bodyTooLarge(limit: limit, got: length)
        }
        do { return try await request.body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw ServiceError.bodyTooLarge(limit: limit, got: nil)
        }
    }

    /// One item: decode and preprocess (off the model's thread), queue for the model, draw the overlay — all
    /// within the request timeout (504 past it; a request still queued then leaves the queue).
    private func scoreWithTimeout(_ input: ScoreInput, options: Options) async throws -> JSONValue {
        let timeout = configuration.requestTimeoutSeconds
        return try await withThrowingTaskGroup(of: JSONValue?.self) { group in
            group.addTask { try await scoreItem(input, options: options) }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw ServiceError.timeout(seconds: timeout) }
            return value
        }
    }

    private func scoreItem(_ input: ScoreInput, options: Options) async throws -> JSONValue {
        let model = service.model
        if model.usesPrompt, input.prompt == nil {
            throw ServiceError.missingPrompt("this model reads prompts: send a 'prompt' field with \(input.label)")
        }
        let maxPixels = configuration.maxPixels
        let (image, pixels) = try await Blocking.run { try ImageInput.prepare(input, resolution: model.resolution, maxPixels: maxPixels) }
        let result = try await service.batcher.score(pixels: pixels, prompt: input.prompt ?? "", attention: options.attention)
        var pairs: [(String, JSONValue)] = zip(model.outputs, result.values).map { ($0, .float($1)) }
        if let map = result.attention {
            let png = try await Blocking.run { try ImageInput.overlayPNG(map, on: image) }
            pairs.append(("attention_png", .string(png.base64EncodedString())))
        }
        return .object(pairs)
    }

    /// One batch item's answer and its position in the request.
    struct IndexedResult: Sendable {
        var index: Int
        var value: JSONValue
    }

    private func milliseconds(since start: ContinuousClock.Instant) -> JSONValue {
        let (s, atto) = (ContinuousClock.now - start).components
        return .number(((Double(s) * 1000 + Double(atto) * 1e-15) * 1000).rounded() / 1000)
    }
}

/// A JSON response with status 200.
func json(_ value: JSONValue) -> Response {
    Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
             body: ResponseBody(byteBuffer: ByteBuffer(string: value.text)))
}

/// Image work of a request, done off the model's thread: header check, decoding, preprocessing, overlays.
enum ImageInput {
    /// The decoded image and its preprocessed pixels; 413 past `maxPixels` (read from the header, before decoding),
    /// 400 for an unreadable image (the message names the field and the problem).
    static func prepare(_ input: ScoreInput, resolution: Int, maxPixels: Int) throws -> (RGBImage, [Float]) {
        if let size = ImageHeader.dimensions(input.image), size.width * size.height > maxPixels {
            throw ServiceError.tooManyPixels(width: size.width, height: size.height, limit: maxPixels)
        }
        let image: RGBImage
        do { image = try ImageCodec.decode(input.image, name: input.label) } catch let e as ImageError {
            if e.kind == .tooLarge { throw ServiceError.unprocessable(e.localizedDescription) }
            throw ServiceError.badImage(e.localizedDescription)
        }
        if image.width * image.height > maxPixels {
            throw ServiceError.tooManyPixels(width: image.width, height: image.height, limit: maxPixels)
        }
        return (image, try Scorer.preprocess(image, resolution: resolution))
    }

    /// Longest side of the image under an attention overlay.
    static let overlaySide = 512

    /// The attention map over the image (scaled so its longest side is at most ``overlaySide``), as PNG bytes.
    static func overlayPNG(_ map: AttentionMap, on image: RGBImage) throws -> Data {
        let scale = min(1, Double(overlaySide) / Double(max(image.width, image.height)))
        let base = scale < 1
            ? resize(image, width: max(1, Int((Double(image.width) * scale).rounded())), height: max(1, Int((Double(image.height) * scale).rounded())))
            : image
        return try ImageCodec.encodePNG(map.overlay(on: base))
    }
}

/// Runs blocking work (decoding, PNG encoding) on a dispatch queue, not on Swift's cooperative pool.
enum Blocking {
    static let queue = DispatchQueue(label: "ipiqa-serve-images", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
