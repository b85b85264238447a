import Foundation
import Testing
@testable import Checkpoints

/// What `Scripts/fixtures_checkpoints.py` recorded per tensor (values are float32 values printed as doubles).
struct ExpectedTensor: Decodable {
    let shape: [Int]
    let dtype: String
    let sum: Double
    let abssum: Double
    let first: [Double]
    let last: [Double]
}

struct ExpectedFile: Decodable {
    let keys: [String]
    let tensors: [String: ExpectedTensor]
}

enum Fixtures {
    /// A safetensors file `dir/name` from a raw header string and a data section (for malformed headers).
    static func safetensors(_ header: String, data: [UInt8], in dir: URL, name: String) throws -> URL {
        var bytes = [UInt8]()
        let h = Array(header.utf8)
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { bytes += $0 }
        bytes += h + data
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    static let folder: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static let expected: [String: ExpectedFile] = {
        let data = try! Data(contentsOf: url("expected.json"))
        return try! JSONDecoder().decode([String: ExpectedFile].self, from: data)
    }()

    /// PyTorch dtype names (`str(torch.float16)` without `torch.`) → ``DType``.
    static func dtype(_ torchName: String) -> DType? {
        ["float32": .f32, "float16": .f16, "bfloat16": .bf16, "float64": .f64, "int64": .i64, "int32": .i32,
         "uint8": .u8, "bool": .bool][torchName]
    }

    /// A fresh empty folder under the temp directory.
    static func scratchFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Checks `sd` against the recorded keys (in order), shapes, dtypes, first/last values (exact) and sums.
/// Sum tolerance: 1e-9 · (1 + Σ|x|) (only float64 summation order differs from PyTorch's); 1e-7 · (1 + Σ|x|) for
/// float64 tensors, whose values are rounded to Float32 here.
func expectMatches(_ sd: StateDict, _ expected: ExpectedFile, orderedKeys: Bool = true,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    if orderedKeys {
        #expect(sd.keys == expected.keys, sourceLocation: sourceLocation)
    } else {
        #expect(sd.keys.sorted() == expected.keys.sorted(), sourceLocation: sourceLocation)
    }
    for key in expected.keys {
        guard let e = expected.tensors[key], let t = sd.tensors[key] else {
            Issue.record("missing tensor '\(key)'", sourceLocation: sourceLocation)
            continue
        }
        #expect(t.shape == e.shape, "\(key) shape", sourceLocation: sourceLocation)
        #expect(t.dtype == Fixtures.dtype(e.dtype), "\(key) dtype \(e.dtype)", sourceLocation: sourceLocation)
        #expect(t.values.count == e.shape.reduce(1, *), "\(key) count", sourceLocation: sourceLocation)
        // Values are Float32: a float64 tensor's values are its doubles rounded to nearest float.
        let first = t.values.prefix(e.first.count).map(Double.init)
        let last = t.values.suffix(e.last.count).map(Double.init)
        #expect(first == e.first.map { Double(Float($0)) }, "\(key) first values", sourceLocation: sourceLocation)
        #expect(last == e.last.map { Double(Float($0)) }, "\(key) last values", sourceLocation: sourceLocation)
        let sum = t.values.reduce(0.0) { $0 + Double($1) }
        let tolerance = (e.dtype == "float64" ? 1e-7 : 1e-9) * (1 + e.abssum)
        #expect(abs(sum - e.sum) <= tolerance, "\(key) sum \(sum) vs \(e.sum)", sourceLocation: sourceLocation)
    }
}

/// Runs `body`, expecting a ``CheckpointError`` of `kind` whose message contains every string in `mentions`.
func expectCheckpointError(_ kind: CheckpointError.Kind, mentioning mentions: [String],
                           sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a \(kind) error, got success", sourceLocation: sourceLocation)
    } catch let e as CheckpointError {
        #expect(e.kind == kind, "kind \(e.kind) for: \(e.localizedDescription)", sourceLocation: sourceLocation)
        let text = e.localizedDescription
        for m in mentions {
            #expect(text.contains(m), "'\(text)' should mention '\(m)'", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected CheckpointError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}
