import CLIPTokenizer
import Foundation
@testable import IPIQADemo
import Testing

/// One tokenizer for all tests (loading it takes ~0.1 s).
enum CLIPTokenizerBox {
    static let shared = try! CLIPTokenizer()
}

/// Log lines collected from the demo's progress callback (thread-safe).
final class LogLines: @unchecked Sendable {
    private var lines: [String] = []
    private let lock = NSLock()
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    func take() -> [String] { lock.lock(); defer { lock.unlock() }; let l = lines; lines = []; return l }
}

/// The demo's suites, run one test at a time: they set the global thread count and compare runs bit for bit.
@Suite("ipiqa demo and its training pieces (serialized)", .serialized)
struct DemoSuites {}
