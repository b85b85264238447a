/// What REDUCE, NEWOBJ, BUILD and BINPERSID mean for the allow-listed globals. Each is a data constructor:
///
/// | callable | arguments | result |
/// |---|---|---|
/// | `collections.OrderedDict` | `()` or `([(k, v), …],)` | dict |
/// | `torch._utils._rebuild_tensor_v2` | `(storage, offset, size, stride, requires_grad, hooks[, metadata])` | tensor view |
/// | `torch._utils._rebuild_parameter[_with_state]` | `(tensor, requires_grad, hooks[, state])` | the tensor |
/// | `torch.device` | `("cpu"[, index])` | device |
/// | `torch.jit._pickle.build_*list` | `(list,)` | the list |
/// | `torch.jit._pickle.restore_type_tag` | `(value, type)` | the value |
/// | `__torch__.*` class (NEWOBJ only) | `()` | empty attribute record; BUILD sets its state |
///
/// Persistent ids must be `('storage', torch.<T>Storage, key, location, numel)`.
extension PickleMachine {
    func items(_ v: PickleValue) -> [PickleValue]? {
        switch v {
        case .tuple(let i), .list(let i): return heap.sequences[i]
        default: return nil
        }
    }

    private func int(_ v: PickleValue, _ what: String) throws -> Int {
        guard case .int(let i) = v else { throw fail("\(what) must be an int, got \(v.kindName)") }
        return i
    }

    private func intTuple(_ v: PickleValue, _ what: String) throws -> [Int] {
        guard let xs = items(v) else { throw fail("\(what) must be a tuple of ints, got \(v.kindName)") }
        guard xs.count <= CheckpointLimits.maxRank else { throw fail("\(what) has \(xs.count) dimensions (more than \(CheckpointLimits.maxRank))") }
        return try xs.map { try int($0, what) }
    }

    mutating func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard let parts = items(pid), parts.count == 5, case .string("storage") = parts[0] else {
            throw fail("persistent id is not a PyTorch ('storage', type, key, location, numel) tuple")
        }
        guard case .global(.storageType(let dtype)) = parts[1] else {
            throw fail("persistent storage type must be a torch.*Storage class, got \(parts[1].kindName)")
        }
        guard case .string(let key) = parts[2], case .string(let location) = parts[3] else {
            throw fail("persistent storage key and location must be strings")
        }
        let count = try int(parts[4], "storage element count")
        guard count >= 0 else { throw fail("storage '\(key)' has negative element count \(count)") }
        return .storage(StorageRef(key: key, dtype: dtype, location: location, count: count))
    }

    mutating func reduce(_ callable: PickleValue, _ argsValue: PickleValue) throws -> PickleValue {
        guard case .global(let g) = callable else { throw fail("REDUCE calls a \(callable.kindName), not an allowed global") }
        guard case .tuple = argsValue, let args = items(argsValue) else { throw fail("REDUCE arguments for \(g.qualifiedName) are a \(argsValue.kindName), not a tuple") }
        switch g {
        case .orderedDict:
            let d = heap.newDict()
            if let first = args.first {
                guard let pairs = items(first) else { throw fail("OrderedDict argument must be a list of pairs") }
                for p in pairs {
                    guard let kv = items(p), kv.count == 2 else { throw fail("OrderedDict item is not a (key, value) pair") }
                    heap.dicts[d].set(kv[0], kv[1])
                }
            }
            return .dict(d)
        case .rebuildTensorV2:
            guard args.count >= 4 else { throw fail("_rebuild_tensor_v2 needs at least 4 arguments, got \(args.count)") }
            guard case .storage(let storage) = args[0] else { throw fail("_rebuild_tensor_v2 argument 0 must be a storage, got \(args[0].kindName)") }
            let offset = try int(args[1], "storage offset")
            let shape = try intTuple(args[2], "tensor size")
            let stride = try intTuple(args[3], "tensor stride")
            guard shape.count == stride.count else { throw fail("tensor size \(shape) and stride \(stride) differ in rank") }
            return .tensor(TensorRef(storage: storage, offset: offset, shape: shape, stride: stride))
        case .rebuildParameter, .rebuildParameterWithState:
            guard let data = args.first, case .tensor = data else { throw fail("\(g.qualifiedName) needs a tensor argument") }
            return data
        case .device:
            guard let first = args.first, case .string(let name) = first else { throw fail("torch.device needs a string argument") }
            return .device(name)
        case .jitListBuilder:
            guard args.count == 1, case .list = args[0] else { throw fail("\(g.qualifiedName) needs one list argument") }
            return args[0]
        case .restoreTypeTag:
            guard let value = args.first else { throw fail("restore_type_tag needs a value") }
            return value
        case .storageType, .scriptClass:
            throw fail("REDUCE may not call \(g.qualifiedName)")
        }
    }

    mutating func newObject(_ cls: PickleValue, _ args: PickleValue) throws -> PickleValue {
        switch cls {
        case .global(.scriptClass(let name)): return .object(heap.newObject(name))
        case .global(.orderedDict): return .dict(heap.newDict())
        default: throw fail("NEWOBJ may not instantiate \(cls.kindName)")
        }
    }

    mutating func build(_ target: PickleValue, state: PickleValue) throws {
        switch target {
        case .object(let i): heap.objects[i].state = state
        case .dict, .tensor: break   // OrderedDict `_metadata` / tensor Python attributes: not needed
        default: throw fail("BUILD on a \(target.kindName)")
        }
    }
}
