import Foundation
import Testing
@testable import Tensor

/// A PyTorch fixture written by `Scripts/fixtures_nn.py` (`Tests/NNTests/Fixtures/<file>`): named float32 tensors.
/// (TensorTests reads the kernel fixtures of the same script with its own copy of this reader: the two test targets
/// share no code, so that TensorTests depends on Tensor alone.)
struct NNFixture {
    private struct Entry: Decodable {
        let shape: [Int]
        let data: [Float]
    }

    struct MissingKey: Error, CustomStringConvertible {
        let file: String, key: String
        var description: String { "\(file): no tensor named \(key)" }
    }

    let file: String
    let tensors: [String: Tensor]

    init(_ file: String) throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let entries = try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: dir.appendingPathComponent(file)))
        self.file = file
        self.tensors = entries.mapValues { Tensor(shape: $0.shape, values: $0.data) }
    }

    func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw MissingKey(file: file, key: key) }
        return t.copy()
    }

    /// A leaf holding a fresh copy of tensor `key`.
    func leaf(_ key: String, requiresGrad: Bool = true) throws -> Var {
        Var(try tensor(key), requiresGrad: requiresGrad)
    }
}

/// ‖a − b‖₂ / ‖b‖₂ (b the reference; infinity when the element counts differ).
func relativeL2(_ a: Tensor, _ b: Tensor) -> Double {
    guard a.count == b.count else { return .infinity }
    var num = 0.0, den = 0.0
    for i in 0..<a.count {
        let d = Double(a.pointer[i]) - Double(b.pointer[i])
        num += d * d
        den += Double(b.pointer[i]) * Double(b.pointer[i])
    }
    return (num / max(den, 1e-30)).squareRoot()
}

/// Largest |a − b| (infinity when the element counts differ).
func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Double {
    guard a.count == b.count else { return .infinity }
    var m = 0.0
    for i in 0..<a.count { m = max(m, abs(Double(a.pointer[i]) - Double(b.pointer[i]))) }
    return m
}

/// Tolerance for layer outputs and gradients against PyTorch (relative L2 error).
let kernelTolerance = 1e-5
/// Tolerance of `gradientCheck` (float32 central differences).
let gradTolerance = 1e-2
