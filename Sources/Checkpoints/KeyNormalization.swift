/// Key-normalisation rules, as data: which top-level wrapper keys to unwrap and which key prefixes to strip.
///
/// Rules, applied in order:
/// 1. if the top-level pickled object is a dict holding a key from `wrapperKeys` (first match wins) whose value is
///    a dict, only that dict is read (`{"epoch": 3, "state_dict": {...}}` → the inner dict);
/// 2. every key starting with one of `strippedPrefixes` loses it (`module.visual.conv1.weight` →
///    `visual.conv1.weight`, from `DataParallel`); two keys becoming equal is an error.
///
/// ```swift
/// var rules = KeyNormalization.standard
/// rules.strippedPrefixes.append("_orig_mod.")      // torch.compile wrappers
/// let sd = try CheckpointLoader.load(url, normalization: rules)
/// ```
public struct KeyNormalization: Sendable, Codable, Equatable {
    public var wrapperKeys: [String]
    public var strippedPrefixes: [String]

    public init(wrapperKeys: [String] = ["state_dict", "model"], strippedPrefixes: [String] = ["module."]) {
        self.wrapperKeys = wrapperKeys
        self.strippedPrefixes = strippedPrefixes
    }

    /// `state_dict` / `model` wrappers, `module.` prefix.
    public static let standard = KeyNormalization()
    /// Keys exactly as stored.
    public static let none = KeyNormalization(wrapperKeys: [], strippedPrefixes: [])

    /// The key with the first matching prefix removed.
    public func normalise(_ key: String) -> String {
        for p in strippedPrefixes where !p.isEmpty && key.hasPrefix(p) {
            return String(key.dropFirst(p.count))
        }
        return key
    }

    /// Normalises `pairs` in order; throws on a collision (naming both original keys).
    func apply<T>(_ pairs: [(String, T)], file: String) throws -> [(String, T)] {
        var seen: [String: String] = [:]
        var out: [(String, T)] = []
        out.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            let n = normalise(key)
            if let other = seen[n] {
                throw CheckpointError(file: file, kind: .duplicateKey,
                                      message: "keys '\(other)' and '\(key)' both normalise to '\(n)'")
            }
            seen[n] = key
            out.append((n, value))
        }
        return out
    }
}
