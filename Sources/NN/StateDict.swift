import Foundation
import Tensor

/// A state dict that does not fit a module: every missing, unexpected and mis-shaped key at once, e.g.
/// `state dict from model.pt does not fit the model: missing 1 key(s): ln.weight [4]; unexpected 1 key(s): ghost [3];
/// 1 key(s) with the wrong shape: fc.weight expected [4, 4] found [4, 5]`.
public struct StateDictError: LocalizedError, Equatable, Sendable {
    /// A key and the shape involved (expected shape for missing keys, given shape for unexpected ones).
    public struct Entry: Equatable, Sendable {
        public var key: String
        public var shape: [Int]
        public init(key: String, shape: [Int]) { self.key = key; self.shape = shape }
    }
    /// A key present on both sides with different shapes.
    public struct Mismatch: Equatable, Sendable {
        public var key: String
        public var expected: [Int]
        public var found: [Int]
        public init(key: String, expected: [Int], found: [Int]) { self.key = key; self.expected = expected; self.found = found }
    }

    public var missing: [Entry]
    public var unexpected: [Entry]
    public var mismatched: [Mismatch]
    /// Keys whose values include NaN or ±infinity (a weight that is not a number makes every score meaningless).
    public var nonFinite: [String] = []
    /// Where the tensors came from (a file name), if known.
    public var source: String?

    public init(missing: [Entry], unexpected: [Entry], mismatched: [Mismatch], nonFinite: [String] = [], source: String?) {
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched
        self.nonFinite = nonFinite
        self.source = source
    }

    public var errorDescription: String? {
        var parts: [String] = []
        if !missing.isEmpty {
            parts.append("missing \(missing.count) key(s): " + missing.map { "\($0.key) \($0.shape)" }.joined(separator: ", "))
        }
        if !unexpected.isEmpty {
            parts.append("unexpected \(unexpected.count) key(s): " + unexpected.map { "\($0.key) \($0.shape)" }.joined(separator: ", "))
        }
        if !mismatched.isEmpty {
            parts.append("\(mismatched.count) key(s) with the wrong shape: "
                + mismatched.map { "\($0.key) expected \($0.expected) found \($0.found)" }.joined(separator: ", "))
        }
        if !nonFinite.isEmpty {
            parts.append("\(nonFinite.count) tensor(s) with NaN or infinite values: " + nonFinite.joined(separator: ", "))
        }
        return "state dict\(source.map { " from \($0)" } ?? "") does not fit the model: " + parts.joined(separator: "; ")
    }
}

extension Tensor {
    /// Whether every value is finite (no NaN, no ±infinity).
    public var allFinite: Bool {
        let p = pointer
        var ok = true
        for i in 0..<count where !p[i].isFinite { ok = false; break }
        return ok
    }
}

extension Module {
    /// Copies of every parameter and buffer by full dotted name (PyTorch `state_dict()`).
    ///
    /// ```swift
    /// let tensors = model.stateDict()   // ["visual.conv1.weight": …, "visual.bn1.running_mean": …]
    /// ```
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in namedParameters() { out[k] = v.value.copy() }
        for (k, t) in namedBuffers() { out[k] = t.copy() }
        return out
    }

    /// Copies `tensors` into the parameters and buffers (in place, so optimizers and views stay attached).
    ///
    /// Nothing is written unless the whole dict fits. With `strict`, missing and unexpected keys are errors;
    /// shapes must always match and every value must be finite (no NaN, no ±infinity). All problems are reported
    /// together in one ``StateDictError``.
    ///
    /// ```swift
    /// try model.loadStateDict(tensors, strict: true)
    /// ```
    public func loadStateDict(_ tensors: [String: Tensor], strict: Bool = true, source: String? = nil) throws {
        var targets: [(String, Tensor)] = namedParameters().map { ($0.0, $0.1.value) }
        targets += namedBuffers()
        var missing: [StateDictError.Entry] = []
        var mismatched: [StateDictError.Mismatch] = []
        var nonFinite: [String] = []
        var known = Set<String>()
        for (key, target) in targets {
            known.insert(key)
            guard let given = tensors[key] else {
                missing.append(.init(key: key, shape: target.shape))
                continue
            }
            if given.shape != target.shape {
                mismatched.append(.init(key: key, expected: target.shape, found: given.shape))
            } else if !given.allFinite {
                nonFinite.append(key)
            }
        }
        let unexpected = tensors.keys.filter { !known.contains($0) }.sorted()
            .map { StateDictError.Entry(key: $0, shape: tensors[$0]!.shape) }
        if !mismatched.isEmpty || !nonFinite.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty)) {
            throw StateDictError(missing: strict ? missing : [], unexpected: strict ? unexpected : [],
                                 mismatched: mismatched, nonFinite: nonFinite.sorted(), source: source)
        }
        for (key, target) in targets {
            if let given = tensors[key] { target.assign(given) }
        }
    }
}
