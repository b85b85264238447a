import Foundation
import Hummingbird
import HummingbirdTesting
import IQAModel
import IQAScoring
@testable import IQAService
import IQATestSupport
import Imaging

/// A tiny saved IP-IQA model (64 px, real tokenizer vocabulary), pattern PNGs, the service over them, and request
/// builders shared by the service tests.
struct ServiceFixture {
    let scratch: ScratchFolder
    let modelURL: URL
    let images: [URL]
    let service: ScoringService

    init(_ tag: String, useText: Bool = true, configure: (inout ServeConfiguration) -> Void = { _ in }) throws {
        scratch = try ScratchFolder("serve-\(tag)")
        modelURL = try TrainerFixtures.modelFile(in: scratch.url, name: useText ? "tiny_ipiqa.safetensors" : "tiny_image_only.safetensors") {
            $0.useText = useText
        }
        images = try PatternImages.writePNGs(count: 8, to: scratch.file("images"), width: 40, height: 48)
        var config = ServeConfiguration()
        config.port = 0
        configure(&config)
        service = try ScoringService(modelFile: modelURL, configuration: config)
    }

    func remove() {
        service.shutdown()
        scratch.remove()
    }

    func png(_ i: Int) throws -> Data { try Data(contentsOf: images[i]) }

    /// What `ipiqa score --model M --image F --prompt P` computes (``Scorer/score(file:prompt:overlay:heads:)``
    /// after `setPrecision(.fp32)`, as ScoreCommand runs it).
    func reference(_ i: Int, prompt: String?) throws -> [Float] {
        let scorer = try Scorer(checkpoint: modelURL)
        scorer.model.clip.setPrecision(.fp32)
        return try scorer.score(file: images[i], prompt: prompt)
    }

    func application() -> some ApplicationProtocol { service.makeApplication() }
}

/// Request bodies.
enum Body {
    static let boundary = "test-boundary-7MA4YWxkTrZu0gW"
    static var multipartType: HTTPFields { [.contentType: "multipart/form-data; boundary=\(boundary)"] }
    static var jsonType: HTTPFields { [.contentType: "application/json"] }

    /// `multipart/form-data` with the given (name, filename?, bytes) parts in order.
    static func multipart(_ parts: [(name: String, filename: String?, data: Data)]) -> ByteBuffer {
        var b = ByteBuffer()
        for p in parts {
            b.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(p.name)\"")
            if let f = p.filename { b.writeString("; filename=\"\(f)\"\r\nContent-Type: application/octet-stream") }
            b.writeString("\r\n\r\n")
            b.writeBytes(p.data)
            b.writeString("\r\n")
        }
        b.writeString("--\(boundary)--\r\n")
        return b
    }

    static func multipart(image: Data, prompt: String?) -> ByteBuffer {
        var parts: [(name: String, filename: String?, data: Data)] = [("image", "a.png", image)]
        if let prompt { parts.append(("prompt", nil, Data(prompt.utf8))) }
        return multipart(parts)
    }

    static func json(_ object: Any) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
    }
}

extension TestResponse {
    /// The body parsed as a JSON object (empty when it is not one).
    var object: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any]) ?? [:] }
    var text: String { String(buffer: body) }
    /// `error.code` of an error response.
    var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String { ((object["error"] as? [String: Any])?["message"] as? String) ?? "" }
}

/// The scores of a response object in output order.
func values(_ object: [String: Any], _ names: [String]) -> [Float] {
    names.map { Float(($0 == "" ? nil : object[$0] as? Double) ?? .nan) }
}

func near(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
}

/// Waits (bounded: at most `tries` × 10 ms) until `condition` holds; false if it never does.
func eventually(tries: Int = 1000, _ condition: () -> Bool) async -> Bool {
    for _ in 0..<tries {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
