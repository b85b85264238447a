import Foundation
import Hummingbird
import HummingbirdTesting
import IQAModel
import IQAScoring
@testable import IQAService
import IQATestSupport
import Imaging
import Testing

/// Every route through Hummingbird's router test client: answers, shapes, and parity with `ipiqa score`.
@Suite("ipiqa serve: routes")
struct ServiceRouteTests {
    @Test("GET /healthz, /readyz, /v1/model and / answer; the page is embedded and self-contained")
    func operatorRoutes() async throws {
        let f = try ServiceFixture("routes")
        defer { f.remove() }
        try await f.application().test(.router) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok && health.object["status"] as? String == "ok")
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok && ready.object["status"] as? String == "ready")
            let model = try await client.execute(uri: "/v1/model", method: .get)
            let m = try #require(model.object["model"] as? [String: Any])
            #expect(m["name"] as? String == "tiny_ipiqa.safetensors")
            #expect(m["outputs"] as? [String] == ["quality", "alignment"])
            #expect(m["resolution"] as? Int == 64)
            #expect(m["uses_prompt"] as? Bool == true)
            #expect(m["fusion"] as? String == "paper")
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            for id in ["id=\"file\"", "id=\"prompt\"", "id=\"score\"", "id=\"scores\"", "id=\"overlay\"", "id=\"history\"", "viewport"] {
                #expect(page.text.contains(id), "page lacks \(id)")
            }
            #expect(!page.text.contains("http://") && !page.text.contains("https://"), "the page must not load anything from the network")
        }
    }

    @Test("POST /v1/score, multipart and JSON base64, equals `ipiqa score` on the same file and prompt (≤ 1e-5)")
    func scoreParity() async throws {
        let f = try ServiceFixture("parity")
        defer { f.remove() }
        let prompt = "a red bicycle leaning on a wall"
        let expected = try f.reference(2, prompt: prompt)
        try await f.application().test(.router) { client in
            let multipart = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType,
                                                     body: Body.multipart(image: try f.png(2), prompt: prompt))
            #expect(multipart.status == .ok, "\(multipart.text)")
            #expect(near(values(multipart.object, ["quality", "alignment"]), expected), "\(multipart.text) vs \(expected)")
            #expect((multipart.object["model"] as? [String: Any])?["name"] as? String == "tiny_ipiqa.safetensors")
            #expect(multipart.object["latency_ms"] is Double || multipart.object["latency_ms"] is Int)
            #expect(multipart.object["attention_png"] == nil)

            let json = try await client.execute(uri: "/v1/score", method: .post, headers: Body.jsonType,
                                                body: try Body.json(["image": try f.png(2).base64EncodedString(), "prompt": prompt]))
            #expect(json.status == .ok, "\(json.text)")
            #expect(near(values(json.object, ["quality", "alignment"]), expected))
            let dataURL = try await client.execute(uri: "/v1/score", method: .post, headers: Body.jsonType,
                                                   body: try Body.json(["image": "data:image/png;base64," + (try f.png(2).base64EncodedString()), "prompt": prompt]))
            #expect(near(values(dataURL.object, ["quality", "alignment"]), expected))
        }
    }

    @Test("?attention=1 adds the overlay as a base64 PNG of the image's size; ?head=N picks one head")
    func attentionOverlay() async throws {
        let f = try ServiceFixture("attention")
        defer { f.remove() }
        try await f.application().test(.router) { client in
            for query in ["attention=1", "attention=1&head=2"] {
                let r = try await client.execute(uri: "/v1/score?\(query)", method: .post, headers: Body.multipartType,
                                                 body: Body.multipart(image: try f.png(1), prompt: "a cat"))
                #expect(r.status == .ok, "\(r.text)")
                let b64 = try #require(r.object["attention_png"] as? String)
                let png = try ImageCodec.decode(try #require(Data(base64Encoded: b64)), name: "overlay")
                #expect(png.width == 40 && png.height == 48)
            }
            let bad = try await client.execute(uri: "/v1/score?attention=1&head=99", method: .post, headers: Body.multipartType,
                                               body: Body.multipart(image: try f.png(1), prompt: "a cat"))
            #expect(bad.status == .badRequest && bad.errorMessage.contains("head"))
        }
    }

    @Test("POST /v1/score/batch: one result or one error per item, in order; each equals the single request")
    func batchRoute() async throws {
        let f = try ServiceFixture("batch")
        defer { f.remove() }
        let prompts = ["a lighthouse at dusk", "two dogs", "a bowl of fruit"]
        let expected = try (0..<3).map { try f.reference($0, prompt: prompts[$0]) }
        try await f.application().test(.router) { client in
            var items: [[String: Any]] = try (0..<3).map { ["image": try f.png($0).base64EncodedString(), "prompt": prompts[$0]] }
            items.insert(["image": Data("not an image at all".utf8).base64EncodedString(), "prompt": "x"], at: 1)
            let r = try await client.execute(uri: "/v1/score/batch", method: .post, headers: Body.jsonType, body: try Body.json(["items": items]))
            #expect(r.status == .ok, "\(r.text)")
            let results = try #require(r.object["results"] as? [[String: Any]])
            #expect(results.count == 4)
            #expect(near(values(results[0], ["quality", "alignment"]), expected[0]), "\(r.text.prefix(600))")
            #expect(((results[1]["error"] as? [String: Any])?["code"] as? String) == "bad_image")
            #expect(((results[1]["error"] as? [String: Any])?["message"] as? String)?.contains("items[1].image") == true)
            #expect(near(values(results[2], ["quality", "alignment"]), expected[1]))
            #expect(near(values(results[3], ["quality", "alignment"]), expected[2]))

            let parts: [(name: String, filename: String?, data: Data)] = try [
                ("image", "0.png", f.png(0)), ("prompt", nil, Data(prompts[0].utf8)), ("image", "1.png", f.png(1)), ("prompt", nil, Data(prompts[1].utf8)),
            ]
            let m = try await client.execute(uri: "/v1/score/batch", method: .post, headers: Body.multipartType, body: Body.multipart(parts))
            let mr = try #require(m.object["results"] as? [[String: Any]])
            #expect(mr.count == 2 && near(values(mr[1], ["quality", "alignment"]), expected[1]))
        }
    }

    @Test("an image-only model needs no prompt and refuses attention (422)")
    func imageOnlyModel() async throws {
        let f = try ServiceFixture("image-only", useText: false)
        defer { f.remove() }
        let expected = try f.reference(0, prompt: nil)
        try await f.application().test(.router) { client in
            let r = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType, body: Body.multipart(image: try f.png(0), prompt: nil))
            #expect(r.status == .ok && near(values(r.object, ["quality", "alignment"]), expected), "\(r.text)")
            let a = try await client.execute(uri: "/v1/score?attention=1", method: .post, headers: Body.multipartType,
                                             body: Body.multipart(image: try f.png(0), prompt: nil))
            #expect(a.status == .unprocessableContent && a.errorCode == "unprocessable")
        }
    }

    @Test("GET /metrics: Prometheus text with requests by route and status, latency, batch sizes, queue depth, images scored")
    func metrics() async throws {
        let f = try ServiceFixture("metrics")
        defer { f.remove() }
        try await f.application().test(.router) { client in
            _ = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType, body: Body.multipart(image: try f.png(0), prompt: "a"))
            _ = try await client.execute(uri: "/v1/score", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "x"))
            _ = try await client.execute(uri: "/nowhere", method: .get)
            let m = try await client.execute(uri: "/metrics", method: .get)
            #expect(m.status == .ok && m.headers[.contentType]?.hasPrefix("text/plain") == true)
            for line in [#"ipiqa_http_requests_total{route="/v1/score",status="200"} 1"#,
                         #"ipiqa_http_requests_total{route="/v1/score",status="415"} 1"#,
                         #"ipiqa_http_requests_total{route="other",status="404"} 1"#,
                         "ipiqa_http_request_duration_seconds_bucket", "ipiqa_batch_size_bucket", "ipiqa_batch_size_count 1",
                         "ipiqa_queue_depth 0", "ipiqa_images_scored_total 1"] {
                #expect(m.text.contains(line), "metrics lack '\(line)':\n\(m.text)")
            }
        }
    }
}
