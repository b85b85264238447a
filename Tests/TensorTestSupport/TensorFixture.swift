import Foundation
import Tensor

/// A PyTorch fixture written by `Scripts/fixtures_nn.py` (or another `fixtures_*.py`): a JSON object of named float32
/// tensors `{"name": {"shape": [...], "data": [...]}}`. Each test target reads its own `Fixtures` folder
/// (`NNFixture("nn_softmax.json", in: folder)`; the test targets wrap that in a one-line `init(_:)` over `Bundle.module`).
///
/// ```swift
/// let f = try NNFixture("nn_softmax.json", in: fixtures)
/// let x = try f.leaf("x")                        // a fresh Var that requires a gradient
/// #expect(relativeL2(y.value, try f.tensor("y")) <= kernelTolerance)
/// ```
public struct NNFixture {
    private struct Entry: Decodable {
        let shape: [Int]
        let data: [Float]
    }

    public struct MissingKey: Error, CustomStringConvertible {
        public let file: String, key: String
        public var description: String { "\(file): no tensor named \(key)" }
    }

    public let file: String
    public let tensors: [String: Tensor]

    public init(_ file: String, in directory: URL) throws {
        let data = try Data(contentsOf: directory.appendingPathComponent(file))
        let entries = try JSONDecoder().decode([String: Entry].self, from: data)
        self.file = file
        self.tensors = entries.mapValues { Tensor(shape: $0.shape, values: $0.data) }
    }

    /// A fresh copy of tensor `key`.
    public func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw MissingKey(file: file, key: key) }
        return t.copy()
    }

    /// A leaf holding a fresh copy of tensor `key`.
    public func leaf(_ key: String, requiresGrad: Bool = true) throws -> Var {
        Var(try tensor(key), requiresGrad: requiresGrad)
    }
}

/// The `Fixtures` folder copied into a test bundle (`Bundle.module` of the test target), or an error naming it.
public func fixturesFolder(of bundle: Bundle) throws -> URL {
    guard let url = bundle.url(forResource: "Fixtures", withExtension: nil) else {
        throw NNFixture.MissingKey(file: bundle.bundlePath, key: "Fixtures (resource folder)")
    }
    return url
}
