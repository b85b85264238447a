import AsyncHTTPClient
import Foundation
import IQAScoring
@testable import IQAService
import IQATestSupport
import Testing

/// Debian's chromium and chromium-driver (installed by Scripts/install-deps.sh); nil with the reason when absent.
enum Browser {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var missing: String? {
        if chromium == nil { return "chromium is not installed (apt-get install chromium chromium-driver; Scripts/install-deps.sh does)" }
        if driver == nil { return "chromedriver is not installed (apt-get install chromium-driver)" }
        return nil
    }
}

/// The page in a real headless browser: open `/`, pick an image, type the prompt, press Score, read the scores
/// from the page and see the overlay and the history entry. Skipped, with the reason printed, where chromium or
/// chromedriver is missing.
@Suite("ipiqa serve: the web page in headless chromium")
struct WebPageBrowserTests {
    @Test("upload, prompt, Score → the page shows the service's scores (= ipiqa score) and the attention overlay",
          .enabled(if: Browser.missing == nil, Comment(rawValue: "skipped: " + (Browser.missing ?? ""))))
    func pageScoresAnImage() async throws {
        let f = try ServiceFixture("browser")
        defer { f.scratch.remove() }
        let prompt = "a small red boat"
        let expected = try f.reference(4, prompt: prompt)
        let server = try await f.service.start()
        let driver = try WebDriver.launch()
        defer { driver.stop() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var session: String?
        do {
            WebDriver.step("starting a headless chromium session")
            let id = try await driver.newSession(http)
            session = id
            try await drive(driver, http, id, port: server.port, image: f.images[4], prompt: prompt, expected: expected)
        } catch {
            if let session { try? await driver.call(http, "DELETE", "/session/\(session)", nil) }
            try? await http.shutdown()
            try? await server.stop()
            throw error
        }
        if let session { try? await driver.call(http, "DELETE", "/session/\(session)", nil) }
        try await http.shutdown()
        try await server.stop()
    }

    private func drive(_ driver: WebDriver, _ http: HTTPClient, _ session: String, port: Int, image: URL, prompt: String,
                       expected: [Float]) async throws {
        do {
            WebDriver.step("opening the page")
            try await driver.call(http, "POST", "/session/\(session)/url", ["url": "http://127.0.0.1:\(port)/"])
            let modelLoaded = try await driver.poll(http, session, "return document.getElementById('model').textContent.includes('tiny_ipiqa')")
            #expect(modelLoaded, "the page did not load the model description")
            WebDriver.step("choosing the image")
            let file = try await driver.element(http, session, "#file")
            try await driver.call(http, "POST", "/session/\(session)/element/\(file)/value", ["text": image.path])
            let promptBox = try await driver.element(http, session, "#prompt")
            try await driver.call(http, "POST", "/session/\(session)/element/\(promptBox)/value", ["text": prompt])
            let button = try await driver.element(http, session, "#score")
            let enabled = try await driver.poll(http, session, "return !document.getElementById('score').disabled")
            #expect(enabled, "the Score button stayed disabled")
            WebDriver.step("pressing Score")
            try await driver.call(http, "POST", "/session/\(session)/element/\(button)/click", [:])
            let shown = try await driver.poll(http, session, "return document.querySelectorAll('#scores .score').length === 2")
            let status = try await driver.script(http, session, "return document.getElementById('status').textContent") as? String ?? ""
            #expect(shown, "no scores appeared; status: \(status)")
            let pairs = try await driver.script(http, session,
                "return Array.from(document.querySelectorAll('#scores .score')).map(d => [d.dataset.name, Number(d.dataset.value)])") as? [[Any]] ?? []
            let names = pairs.compactMap { $0.first as? String }
            let shownValues = pairs.compactMap { ($0.last as? Double).map(Float.init) }
            #expect(names == ["quality", "alignment"])
            #expect(near(shownValues, expected), "page shows \(shownValues), ipiqa score gives \(expected)")
            let overlay = try await driver.poll(http, session, "const o = document.getElementById('overlay'); return o.complete && o.naturalWidth === 40 && o.style.display !== 'none'")
            #expect(overlay, "the attention overlay did not appear")
            let history = try await driver.script(http, session, "return document.querySelectorAll('#history li').length") as? Int
            #expect(history == 1)
        }
    }
}

/// A chromedriver process and the few W3C WebDriver commands the test needs.
struct WebDriver {
    let process: Process
    let port: Int

    static func launch() throws -> WebDriver {
        let port = 20_000 + Int(ProcessInfo.processInfo.processIdentifier % 20_000)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Browser.driver!)
        p.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return WebDriver(process: p, port: port)
    }

    /// Ends chromedriver (SIGTERM, then SIGKILL after ~5 s); it ends the browsers it started.
    func stop() {
        if process.isRunning { process.terminate() }
        for _ in 0..<50 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Progress on stderr (unbuffered), so a slow step shows where it is.
    static func step(_ message: String) { FileHandle.standardError.write(Data("browser test: \(message)\n".utf8)) }

    /// Sends a command; returns the `value` of the answer. Retries the connection while the driver starts (bounded).
    @discardableResult
    func call(_ http: HTTPClient, _ method: String, _ path: String, _ body: [String: Any]?) async throws -> Any? {
        var lastError: Error?
        for _ in 0..<50 {
            do {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                request.method = .RAW(value: method)
                if let body {
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(Array(try JSONSerialization.data(withJSONObject: body)))
                }
                let response = try await http.execute(request, timeout: .seconds(30))
                let data = Data((try await response.body.collect(upTo: 16 << 20)).readableBytesView)
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
                if response.status.code >= 300 { throw Failure(description: "WebDriver \(method) \(path): HTTP \(response.status.code) \(String(decoding: data.prefix(500), as: UTF8.self))") }
                return object?["value"]
            } catch let e as Failure { throw e } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw Failure(description: "chromedriver on port \(port) did not answer: \(String(describing: lastError))")
    }

    func newSession(_ http: HTTPClient) async throws -> String {
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": ["binary": Browser.chromium!, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=390,844"]],
        ]]]
        let value = try await call(http, "POST", "/session", capabilities) as? [String: Any]
        guard let id = value?["sessionId"] as? String else { throw Failure(description: "no session id in \(String(describing: value))") }
        return id
    }

    func element(_ http: HTTPClient, _ session: String, _ css: String) async throws -> String {
        let value = try await call(http, "POST", "/session/\(session)/element", ["using": "css selector", "value": css]) as? [String: Any]
        guard let id = value?.values.first as? String else { throw Failure(description: "no element \(css)") }
        return id
    }

    func script(_ http: HTTPClient, _ session: String, _ source: String) async throws -> Any? {
        try await call(http, "POST", "/session/\(session)/execute/sync", ["script": source, "args": [Any]()])
    }

    /// Evaluates `source` until it returns true (at most 150 × 100 ms); the last answer.
    func poll(_ http: HTTPClient, _ session: String, _ source: String) async throws -> Bool {
        for _ in 0..<150 {
            if try await script(http, session, source) as? Bool == true { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
