import Foundation
import Hummingbird
import HummingbirdTesting
import IQAModel
import IQAScoring
@testable import IQAService
import IQATestSupport
import Imaging
import Testing

/// Every refusal is a JSON error with the right status and a message that names the problem; none takes the
/// server down (each test scores a good request afterwards).
@Suite("ipiqa serve: errors")
struct ServiceErrorTests {
    /// A good request still succeeds.
    static func stillServes(_ client: some TestClientProtocol, _ f: ServiceFixture) async throws {
        let r = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType, body: Body.multipart(image: try f.png(0), prompt: "ok"))
        #expect(r.status == .ok, "after an error the server must still score: \(r.text)")
    }

    @Test("400: corrupt or unsupported image, missing prompt, missing image, bad base64, bad JSON, bad query")
    func badRequests() async throws {
        let f = try ServiceFixture("bad")
        defer { f.remove() }
        try await f.application().test(.router) { client in
            var truncated = try f.png(0)
            truncated = truncated.prefix(truncated.count / 2)
            let gif = Data("GIF89a".utf8) + Data(repeating: 0, count: 64)
            let cases: [(String, HTTPFields, ByteBuffer, String, String)] = [
                ("/v1/score", Body.multipartType, Body.multipart(image: truncated, prompt: "p"), "bad_image", "PNG"),
                ("/v1/score", Body.multipartType, Body.multipart(image: gif, prompt: "p"), "bad_image", "unsupported format (GIF)"),
                ("/v1/score", Body.multipartType, Body.multipart(image: try f.png(0), prompt: nil), "missing_prompt", "prompt"),
                ("/v1/score", Body.multipartType, Body.multipart([("prompt", nil, Data("p".utf8))]), "bad_request", "'image'"),
                ("/v1/score", Body.jsonType, try Body.json(["image": "%%%not base64%%%", "prompt": "p"]), "bad_request", "base64"),
                ("/v1/score", Body.jsonType, ByteBuffer(string: "{\"image\": 3"), "bad_request", "JSON"),
                ("/v1/score", Body.jsonType, try Body.json(["prompt": "p"]), "bad_request", "'image'"),
                ("/v1/score?attention=maybe", Body.multipartType, Body.multipart(image: try f.png(0), prompt: "p"), "bad_request", "attention"),
                ("/v1/score/batch", Body.jsonType, try Body.json(["items": [[String: Any]]()]), "bad_request", "no items"),
                ("/v1/score", [.contentType: "multipart/form-data"], Body.multipart(image: try f.png(0), prompt: "p"), "bad_request", "boundary"),
            ]
            for (uri, headers, body, code, fragment) in cases {
                let r = try await client.execute(uri: uri, method: .post, headers: headers, body: body)
                #expect(r.status == .badRequest, "\(code): \(r.text)")
                #expect(r.errorCode == code, "\(r.text)")
                #expect(r.errorMessage.contains(fragment), "message should name '\(fragment)': \(r.errorMessage)")
                #expect(r.headers[.contentType]?.hasPrefix("application/json") == true)
            }
            try await Self.stillServes(client, f)
        }
    }

    @Test("415: a body that is neither multipart/form-data nor JSON, or no content type")
    func unsupportedMediaType() async throws {
        let f = try ServiceFixture("415")
        defer { f.remove() }
        try await f.application().test(.router) { client in
            for headers: HTTPFields in [[.contentType: "image/png"], [:]] {
                let r = try await client.execute(uri: "/v1/score", method: .post, headers: headers, body: ByteBuffer(bytes: try f.png(0)))
                #expect(r.status == .unsupportedMediaType && r.errorCode == "unsupported_media_type", "\(r.text)")
                #expect(r.errorMessage.contains("multipart/form-data"))
            }
            try await Self.stillServes(client, f)
        }
    }

    @Test("413: a body above --max-body, an image declaring more pixels than --max-pixels (before decoding)")
    func tooLarge() async throws {
        let f = try ServiceFixture("413") { $0.maxBodyBytes = 8 * 1024; $0.maxPixels = 40 * 48 }
        defer { f.remove() }
        try await f.application().test(.router) { client in
            let big = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType,
                                               body: Body.multipart(image: Data(repeating: 7, count: 20_000), prompt: "p"))
            #expect(big.status == .contentTooLarge && big.errorCode == "body_too_large", "\(big.text)")
            #expect(big.errorMessage.contains("8192"))
            // A 4000×4000 PNG header in a tiny file: refused from its header.
            var bomb = try ImageCodec.encodePNG(try PatternImages.rgb(seed: 1, width: 4, height: 4))
            bomb.replaceSubrange(16..<24, with: [0, 0, 0x0F, 0xA0, 0, 0, 0x0F, 0xA0])
            let b = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType, body: Body.multipart(image: bomb, prompt: "p"))
            #expect(b.status == .contentTooLarge && b.errorCode == "too_many_pixels", "\(b.text)")
            #expect(b.errorMessage.contains("4000×4000"))
            let over = try PatternImages.rgb(seed: 2, width: 41, height: 48)
            let o = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType,
                                             body: Body.multipart(image: try ImageCodec.encodePNG(over), prompt: "p"))
            #expect(o.status == .contentTooLarge && o.errorMessage.contains("41×48"))
            try await Self.stillServes(client, f)
        }
    }

    @Test("422: more batch items than --max-batch-items")
    func tooManyItems() async throws {
        let f = try ServiceFixture("422") { $0.maxBatchItems = 2 }
        defer { f.remove() }
        try await f.application().test(.router) { client in
            let item: [String: Any] = ["image": try f.png(0).base64EncodedString(), "prompt": "p"]
            let r = try await client.execute(uri: "/v1/score/batch", method: .post, headers: Body.jsonType, body: try Body.json(["items": [item, item, item]]))
            #expect(r.status == .unprocessableContent && r.errorMessage.contains("at most 2"), "\(r.text)")
        }
    }

    @Test("401 without the bearer token (health probes and the page stay open); 200 with it")
    func bearerToken() async throws {
        let f = try ServiceFixture("401") { $0.apiKey = "s3cret-key" }
        defer { f.remove() }
        try await f.application().test(.router) { client in
            for uri in ["/v1/model", "/metrics"] {
                let r = try await client.execute(uri: uri, method: .get)
                #expect(r.status == .unauthorized && r.errorCode == "unauthorized" && r.headers[.wwwAuthenticate] == "Bearer")
            }
            let wrong = try await client.execute(uri: "/v1/score", method: .post, headers: [.contentType: Body.multipartType[.contentType]!, .authorization: "Bearer s3cret-kez"],
                                                 body: Body.multipart(image: try f.png(0), prompt: "p"))
            #expect(wrong.status == .unauthorized)
            for uri in ["/healthz", "/readyz", "/"] {
                let open = try await client.execute(uri: uri, method: .get)
                #expect(open.status == .ok, "\(uri) must stay open")
            }
            let right = try await client.execute(uri: "/v1/score", method: .post, headers: [.contentType: Body.multipartType[.contentType]!, .authorization: "Bearer s3cret-key"],
                                                 body: Body.multipart(image: try f.png(0), prompt: "p"))
            #expect(right.status == .ok, "\(right.text)")
        }
    }

    @Test("404: unknown routes answer JSON naming the path")
    func notFound() async throws {
        let f = try ServiceFixture("404")
        defer { f.remove() }
        try await f.application().test(.router) { client in
            let r = try await client.execute(uri: "/v2/score", method: .get)
            #expect(r.status == .notFound && r.errorCode == "not_found" && r.errorMessage.contains("/v2/score"), "\(r.text)")
        }
    }

    @Test("503 with Retry-After when the queue is full (and /readyz says not ready); the queued request still finishes")
    func queueFull() async throws {
        let f = try ServiceFixture("503") { $0.maxQueue = 1; $0.maxBatch = 1; $0.retryAfterSeconds = 2 }
        defer { f.remove() }
        let batcher = f.service.batcher
        batcher.pause()
        try await f.application().test(.router) { client in
            let first = Task { try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType, body: Body.multipart(image: try f.png(0), prompt: "p")) }
            #expect(await eventually { batcher.queueDepth == 1 })
            let refused = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType, body: Body.multipart(image: try f.png(1), prompt: "p"))
            #expect(refused.status == .serviceUnavailable && refused.errorCode == "queue_full", "\(refused.text)")
            #expect(refused.headers[.retryAfter] == "2")
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            batcher.resume()
            let done = try await first.value
            #expect(done.status == .ok, "\(done.text)")
            let readyAgain = try await client.execute(uri: "/readyz", method: .get)
            #expect(readyAgain.status == .ok)
        }
    }

    @Test("504 past the request timeout; the timed-out request leaves the queue")
    func timeout() async throws {
        // The paused batcher makes the first request time out; 3 s leaves the follow-up request room on a loaded machine.
        let f = try ServiceFixture("504") { $0.requestTimeoutSeconds = 3 }
        defer { f.remove() }
        let batcher = f.service.batcher
        batcher.pause()
        try await f.application().test(.router) { client in
            let r = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType, body: Body.multipart(image: try f.png(0), prompt: "p"))
            #expect(r.status == .gatewayTimeout && r.errorCode == "timeout", "\(r.text)")
            #expect(batcher.queueDepth == 0)
            batcher.resume()
            try await Self.stillServes(client, f)
        }
    }
}
