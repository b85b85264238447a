import Foundation
import IQATestSupport
import Testing

/// `ipiqa serve` as a process: it prints its port, answers like `ipiqa score`, and exits 0 on SIGTERM.
@Suite("ipiqa serve through the binary", .serialized)
struct ServeCLITests {
    @Test("serve --port 0 answers /healthz and /v1/score (= ipiqa score --json), then SIGTERM → exit 0")
    func serveAndTerminate() throws {
        let scratch = try ScratchFolder("serve-cli")
        defer { scratch.remove() }
        let model = try TrainerFixtures.modelFile(in: scratch.url)
        let image = try PatternImages.writePNGs(count: 1, to: scratch.file("images"))[0]
        let (status, scoreOut, scoreErr) = try Binary.run(["score", "--model", model.path, "--image", image.path, "--prompt", "a lamp", "--json"])
        #expect(status == 0, "\(scoreErr)")
        let expected = try JSONSerialization.jsonObject(with: Data(scoreOut.utf8)) as? [String: Double] ?? [:]

        let server = try Binary.start(["serve", "--model", model.path, "--port", "0", "--threads", "1"])
        defer { if server.isRunning { server.terminate() }; server.waitUntilExit() }
        let stderr = (server.standardError as! Pipe).fileHandleForReading
        var log = ""
        var port: Int?
        while port == nil {
            let chunk = stderr.availableData
            if chunk.isEmpty { break }                       // the process ended
            log += String(decoding: chunk, as: UTF8.self)
            if let r = log.range(of: "http://127.0.0.1:") {
                port = Int(log[r.upperBound...].prefix { $0.isNumber })
            }
        }
        let p = try #require(port, "no port announced: \(log)")
        #expect(try RawHTTP.request(port: p, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").contains("\"ok\""))
        let body = try JSONSerialization.data(withJSONObject: ["image": try Data(contentsOf: image).base64EncodedString(), "prompt": "a lamp"])
        let answer = try RawHTTP.request(port: p, "POST /v1/score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n", body: body)
        let json = try #require(answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) })
        let served = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
        for name in ["quality", "alignment"] {
            let a = try #require(served[name] as? Double), b = try #require(expected[name])
            #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "\(name): served \(a), ipiqa score \(b)")
        }
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationReason == .exit && server.terminationStatus == 0)
        log += String(decoding: stderr.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("stopped"), "\(log)")
    }
}

/// One HTTP/1.1 exchange over a plain socket to 127.0.0.1 (the CLI tests have no HTTP client); returns the raw answer.
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func request(port: Int, _ head: String, body: Data = Data()) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "cannot connect to 127.0.0.1:\(port)") }
        let bytes = [UInt8](head.utf8) + [UInt8](body)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure(description: "send failed") }
            sent += n
        }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
