/// Turns an unpickled checkpoint into `(dotted name, tensor view)` pairs, in pickle order.
///
/// - TorchScript: the root is a `__torch__` module record whose BUILD state is an attribute dict; submodules are
///   records too. Walking attribute dicts depth-first, joining names with `.`, yields exactly the keys of
///   `jit_module.state_dict()` (`visual.layer1.0.conv1.weight`): a module's own tensors, then its submodules',
///   in the class's attribute order.
/// - `torch.save`: the root is a dict (usually an OrderedDict state dict); a wrapper key from
///   ``KeyNormalization/wrapperKeys`` is unwrapped first; nested dicts are flattened with `.`.
///
/// Int dict keys become their decimal text; other keys and all non-tensor values (ints, bools, strings, lists,
/// tuples) are skipped. Nesting deeper than ``CheckpointLimits/maxNesting`` or more than
/// ``CheckpointLimits/maxVisits`` container visits (cycles, shared-substructure blow-up) is an error.
struct TensorCollector {
    let heap: PickleHeap
    let wrapperKeys: [String]
    private(set) var found: [(String, TensorRef)] = []
    private var visits = 0

    init(heap: PickleHeap, wrapperKeys: [String]) {
        self.heap = heap
        self.wrapperKeys = wrapperKeys
    }

    /// Collects from `root`; throws a message (the caller adds file and member).
    mutating func collect(_ root: PickleValue) throws(CollectError) -> [(String, TensorRef)] {
        var start = root
        if case .dict(let d) = root {
            for key in wrapperKeys {
                if let inner = heap.dicts[d].value(forKey: key), case .dict = inner { start = inner; break }
            }
        }
        switch start {
        case .tensor: throw CollectError(message: "the pickled object is a single tensor, not a state dict")
        case .dict, .object: try walk(start, prefix: "", depth: 0)
        default: throw CollectError(message: "the pickled object is a \(start.kindName), not a state dict or TorchScript module")
        }
        return found
    }

    private func attributes(_ v: PickleValue) -> PickleDict? {
        switch v {
        case .dict(let d): return heap.dicts[d]
        case .object(let o):
            if let state = heap.objects[o].state, case .dict(let d) = state { return heap.dicts[d] }
            return nil
        default: return nil
        }
    }

    private mutating func walk(_ v: PickleValue, prefix: String, depth: Int) throws(CollectError) {
        guard let dict = attributes(v) else { return }
        guard depth < CheckpointLimits.maxNesting else {
            throw CollectError(message: "containers nest deeper than \(CheckpointLimits.maxNesting) levels at '\(prefix)' (cyclic or corrupt pickle)")
        }
        visits += 1
        guard visits <= CheckpointLimits.maxVisits else {
            throw CollectError(message: "more than \(CheckpointLimits.maxVisits) containers to visit (cyclic or corrupt pickle)")
        }
        for (key, value) in dict.pairs {
            let name: String
            switch key {
            case .string(let s): name = s
            case .int(let i): name = String(i)
            default: continue
            }
            let full = prefix.isEmpty ? name : prefix + "." + name
            switch value {
            case .tensor(let t): found.append((full, t))
            case .dict, .object: try walk(value, prefix: full, depth: depth + 1)
            default: continue
            }
        }
    }
}

struct CollectError: Error {
    let message: String
}
