/// The plain part of a `torch.save` object — what `torch.load(weights_only=True)` would return, with each tensor
/// replaced by its shape — so callers can read a checkpoint's non-tensor entries (a training config, an epoch
/// number) next to its ``StateDict``.
///
///     {"model": {...}, "config": {"model": {"input_resolution": 512, ...}}, "epoch": 7}
///
/// Dict keys that are ints become their decimal text; sets read as lists; tuples as lists.
///
/// ```swift
/// let dict = try CheckpointLoader.load(url)
/// let resolution = dict.object?["config"]?["model"]?["input_resolution"]?.intValue
/// ```
public indirect enum PickledObject: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickledObject])
    /// Entries in insertion order.
    case dict([(key: String, value: PickledObject)])
    /// A tensor (its values are in the ``StateDict``, when it is part of the state dict).
    case tensor(shape: [Int])
    /// Anything else the safe unpickler accepts (a TorchScript record, a device, a storage), by kind.
    case other(String)

    public static func == (a: PickledObject, b: PickledObject) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.list(x), .list(y)): return x == y
        case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.tensor(x), .tensor(y)): return x == y
        case let (.other(x), .other(y)): return x == y
        default: return false
        }
    }

    /// The value under `key` of a dict (nil for other kinds or a missing key).
    public subscript(key: String) -> PickledObject? {
        guard case .dict(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .float(let f) where f.rounded() == f && abs(f) < 1e15: return Int(f)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .float(let f): return f
        case .string(let s): return Double(s)   // OmegaConf keeps YAML `1e-5` as a string
        default: return nil
        }
    }

    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var isNone: Bool { if case .none = self { return true } else { return false } }

    /// A short kind name for messages ("dict", "int", "tensor" …).
    public var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .list: return "list"
        case .dict: return "dict"
        case .tensor: return "tensor"
        case .other(let k): return k
        }
    }

    /// Converts an unpickled value; nesting deeper than ``CheckpointLimits/maxNesting`` or more than
    /// ``CheckpointLimits/maxVisits`` values (shared-substructure blow-up) is an error.
    static func from(_ value: PickleValue, heap: PickleHeap) throws(CollectError) -> PickledObject {
        var visits = 0
        return try from(value, heap: heap, depth: 0, visits: &visits)
    }

    private static func from(_ value: PickleValue, heap: PickleHeap, depth: Int, visits: inout Int) throws(CollectError) -> PickledObject {
        guard depth < CheckpointLimits.maxNesting else {
            throw CollectError(message: "containers nest deeper than \(CheckpointLimits.maxNesting) levels (cyclic or corrupt pickle)")
        }
        visits += 1
        guard visits <= CheckpointLimits.maxVisits else {
            throw CollectError(message: "more than \(CheckpointLimits.maxVisits) values to visit (cyclic or corrupt pickle)")
        }
        switch value {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let f): return .float(f)
        case .string(let s): return .string(s)
        case .bytes(let b): return .bytes(b)
        case .tuple(let i), .list(let i):
            var items: [PickledObject] = []
            for v in heap.sequences[i] { items.append(try from(v, heap: heap, depth: depth + 1, visits: &visits)) }
            return .list(items)
        case .dict(let d):
            var entries: [(key: String, value: PickledObject)] = []
            for (k, v) in heap.dicts[d].pairs {
                let key: String
                switch k {
                case .string(let s): key = s
                case .int(let i): key = String(i)
                default: key = "<\(k.kindName)>"
                }
                entries.append((key, try from(v, heap: heap, depth: depth + 1, visits: &visits)))
            }
            return .dict(entries)
        case .tensor(let t): return .tensor(shape: t.shape)
        default: return .other(value.kindName)
        }
    }
}
