/// A value produced by the safe unpickler. Flat by design: containers live in a ``PickleHeap`` and are
/// referred to by index, so no value owns a deep chain of others (a hostile pickle nesting a million lists
/// cannot overflow the stack when freed), and cycles made through the memo are harmless.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// Index into ``PickleHeap/sequences`` (immutable once built).
    case tuple(Int)
    /// Index into ``PickleHeap/sequences`` (lists and sets).
    case list(Int)
    /// Index into ``PickleHeap/dicts`` (dict and OrderedDict).
    case dict(Int)
    /// Index into ``PickleHeap/objects`` (TorchScript `__torch__.*` module records).
    case object(Int)
    case global(PickleGlobal)
    case storage(StorageRef)
    case tensor(TensorRef)
    case device(String)

    /// A short type name for error messages.
    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .object: return "object"
        case .global(let g): return "global \(g.qualifiedName)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        case .device: return "device"
        }
    }
}

/// The only callables a checkpoint pickle may name. Resolving any other global is an error, and none of
/// these runs code: each is interpreted by the unpickler as a data constructor.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case rebuildParameterWithState
    case storageType(DType)
    case device
    /// A TorchScript class (`__torch__.model.CLIP`): instances are plain attribute records.
    case scriptClass(String)
    /// `torch.jit._pickle.build_{int,double,bool,tensor}list` / `build_genericlist`: identity on a list.
    case jitListBuilder(String)
    /// `torch.jit._pickle.restore_type_tag(value, type)`: identity on the value.
    case restoreTypeTag

    var qualifiedName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .storageType(let d): return "torch.\(d) storage"
        case .device: return "torch.device"
        case .scriptClass(let n): return n
        case .jitListBuilder(let n): return "torch.jit._pickle.\(n)"
        case .restoreTypeTag: return "torch.jit._pickle.restore_type_tag"
        }
    }

    /// The allow-list. Returns nil for anything else.
    static func resolve(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch", "device"): return .device
        case ("torch.jit._pickle", "restore_type_tag"): return .restoreTypeTag
        case ("torch.jit._pickle", "build_intlist"), ("torch.jit._pickle", "build_doublelist"),
             ("torch.jit._pickle", "build_boollist"), ("torch.jit._pickle", "build_tensorlist"),
             ("torch.jit._pickle", "build_genericlist"):
            return .jitListBuilder(name)
        case ("torch", _):
            return DType(torchStorageName: name).map { .storageType($0) }
        default:
            if module == "__torch__" || module.hasPrefix("__torch__.") { return .scriptClass("\(module).\(name)") }
            return nil
        }
    }
}

/// A storage named by a persistent id `('storage', torch.HalfStorage, '0', 'cpu', numel)`: zip member `data/<key>`.
struct StorageRef: Equatable {
    let key: String
    let dtype: DType
    let location: String
    /// Number of elements (not bytes).
    let count: Int
}

/// A tensor view from `_rebuild_tensor_v2(storage, offset, size, stride, …)`, in elements.
struct TensorRef: Equatable {
    let storage: StorageRef
    let offset: Int
    let shape: [Int]
    let stride: [Int]
}

/// A dict's entries in insertion order; string keys are indexed so that SETITEM replaces like Python.
struct PickleDict {
    var pairs: [(key: PickleValue, value: PickleValue)] = []
    var stringIndex: [String: Int] = [:]

    mutating func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let s) = key {
            if let i = stringIndex[s] { pairs[i].value = value; return }
            stringIndex[s] = pairs.count
        }
        pairs.append((key, value))
    }

    func value(forKey key: String) -> PickleValue? { stringIndex[key].map { pairs[$0].value } }
}

/// A TorchScript object: its class and the state BUILD gave it (a dict of attributes for modules).
struct PickleObject {
    let className: String
    var state: PickleValue?
}

/// Storage for the containers a pickle builds.
struct PickleHeap {
    var sequences: [[PickleValue]] = []
    var dicts: [PickleDict] = []
    var objects: [PickleObject] = []

    mutating func newSequence(_ items: [PickleValue]) -> Int { sequences.append(items); return sequences.count - 1 }
    mutating func newDict() -> Int { dicts.append(PickleDict()); return dicts.count - 1 }
    mutating func newObject(_ className: String) -> Int {
        objects.append(PickleObject(className: className, state: nil)); return objects.count - 1
    }
}
