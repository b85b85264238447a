import Foundation
import Hummingbird
import HummingbirdTesting
import IQAModel
import IQAScoring
@testable import IQAService
import IQATestSupport
import Imaging
import Testing

@Suite("ipiqa serve: batching, concurrency and shutdown")
struct ServiceConcurrencyTests {
    @Test("concurrent requests share forward passes (8 queued, max batch 4 → two passes of 4) and equal single requests")
    func batchedEqualsSingle() async throws {
        let f = try ServiceFixture("concurrent") { $0.maxBatch = 4; $0.maxWaitMilliseconds = 0 }
        defer { f.remove() }
        let prompts = (0..<8).map { "prompt number \($0 % 3) of a scene" }
        let expected = try (0..<8).map { try f.reference($0, prompt: prompts[$0]) }
        let batcher = f.service.batcher
        batcher.pause()
        try await f.application().test(.router) { client in
            let results = try await withThrowingTaskGroup(of: (Int, [Float], Int).self) { group in
                for i in 0..<8 {
                    group.addTask {
                        let r = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType,
                                                         body: Body.multipart(image: try f.png(i), prompt: prompts[i]))
                        return (i, values(r.object, ["quality", "alignment"]), r.status.code)
                    }
                }
                #expect(await eventually { batcher.queueDepth == 8 })
                batcher.resume()
                var out: [(Int, [Float], Int)] = []
                for try await r in group { out.append(r) }
                return out
            }
            #expect(results.count == 8)
            for (i, v, status) in results {
                #expect(status == 200)
                #expect(near(v, expected[i]), "request \(i): batched \(v) vs single \(expected[i])")
            }
            #expect(batcher.batchSizeCounts == [4: 2])
        }
    }

    @Test("the prompt feature cache is bounded and a cached prompt scores as a fresh one")
    func promptCache() async throws {
        let f = try ServiceFixture("cache") { $0.promptCacheSize = 2 }
        defer { f.remove() }
        let expected = try f.reference(3, prompt: "p0")
        try await f.application().test(.router) { client in
            for p in ["p0", "p1", "p2", "p0", "p0"] {
                let r = try await client.execute(uri: "/v1/score", method: .post, headers: Body.multipartType, body: Body.multipart(image: try f.png(3), prompt: p))
                if p == "p0" { #expect(near(values(r.object, ["quality", "alignment"]), expected)) }
            }
        }
        let cache = PromptFeatureCache(capacity: 2)
        let model = try IPIQACheckpoint.load(f.modelURL).model
        model.setMode(training: false)
        let rows: [[Int32]] = [[49406, 320, 49407], [49406, 321, 49407], [49406, 322, 49407]].map { $0 + Array(repeating: 0, count: 74) }
        let fresh = try model.textFeature(rows).value.array
        for r in rows { _ = try cache.features([r], model: model) }
        #expect(cache.count == 2)
        let again = try cache.features(rows, model: model).value.array
        #expect(near(again, fresh))
        #expect(cache.hits == 2 && cache.misses == 4, "hits \(cache.hits), misses \(cache.misses)")
    }

    @Test("graceful shutdown: the listener closes, requests in flight finish with 200, then stop() returns")
    func gracefulShutdown() async throws {
        let f = try ServiceFixture("shutdown") { $0.maxBatch = 4 }
        defer { f.scratch.remove() }
        let expected = try f.reference(5, prompt: "in flight")
        let server = try await f.service.start()
        let port = server.port
        let batcher = f.service.batcher
        batcher.pause()
        let inflight = (0..<3).map { _ in
            Task {
                try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(60))) { client in
                    try await client.post("/v1/score", headers: Body.multipartType, body: Body.multipart(image: try f.png(5), prompt: "in flight"))
                }
            }
        }
        #expect(await eventually { batcher.queueDepth == 3 })
        let stopping = Task { try await server.stop() }
        // The listener closes while the three requests still wait for the model.
        #expect(await eventually(tries: 500) { !canConnect(port: port) })
        batcher.resume()
        for task in inflight {
            let response = try await task.value
            #expect(response.status == .ok)
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body.map { Array($0.readableBytesView) } ?? []))) as? [String: Any] ?? [:]
            #expect(near(values(object, ["quality", "alignment"]), expected))
        }
        try await stopping.value
        #expect(batcher.isAccepting == false)
    }
}

/// Whether a TCP connection to 127.0.0.1:port succeeds now.
func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
