import Foundation

/// Which container a checkpoint came in.
public enum CheckpointFormat: String, Sendable, Codable {
    /// A TorchScript archive (`torch.jit.save`, e.g. OpenAI's `RN50.pt`): module tree in `data.pkl`.
    case torchScript
    /// A `torch.save` zip (PyTorch ≥ 1.6) of a (possibly wrapped) state dict.
    case torchZip
    /// A safetensors file.
    case safetensors
}

/// One tensor of a checkpoint, converted to Float32, row-major (contiguous), with the dtype the file stored.
///
/// `values.count == shape.reduce(1, *)`; a 0-dim tensor has `shape == []` and one value.
///
/// ```swift
/// let w = dict.tensors["visual.conv1.weight"]!   // shape [Cout, Cin, kh, kw] as PyTorch stores it
/// ```
public struct CheckpointTensor: Sendable, Equatable {
    public let shape: [Int]
    public let dtype: DType
    public let values: [Float]

    public init(shape: [Int], dtype: DType, values: [Float]) {
        self.shape = shape
        self.dtype = dtype
        self.values = values
    }

    /// Number of elements (product of `shape`).
    public var count: Int { values.count }

    /// The product of `shape`; nil for a negative dimension or an overflowing product.
    static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }
}

/// The named tensors of a checkpoint, with keys normalised (see ``KeyNormalization``) and in file order.
///
/// Non-tensor entries (ints, bools, strings, optimizer lists) are left out; every tensor is kept, including
/// buffers such as `num_batches_tracked` or OpenAI's `input_resolution`.
///
/// ```swift
/// let sd = try CheckpointLoader.load(URL(fileURLWithPath: "RN50.pt"))
/// for key in sd.keys { print(key, sd.tensors[key]!.shape) }
/// ```
public struct StateDict: Sendable {
    public let source: URL
    public let format: CheckpointFormat
    public var tensors: [String: CheckpointTensor]
    /// safetensors `__metadata__` (empty for PyTorch files).
    public var metadata: [String: String]
    /// Keys in the order the file lists them.
    public let loadOrder: [String]
    /// The whole pickled object of a `torch.save` file, tensors shown by shape (nil for TorchScript archives and
    /// safetensors): what a wrapper such as `{"model": …, "config": …, "epoch": …}` holds besides the state dict.
    public var object: PickledObject?

    public init(source: URL, format: CheckpointFormat, tensors: [String: CheckpointTensor],
                loadOrder: [String], metadata: [String: String] = [:]) {
        self.source = source
        self.format = format
        self.tensors = tensors
        self.loadOrder = loadOrder
        self.metadata = metadata
    }

    /// Current keys: those of `loadOrder` still present, then any added since, sorted.
    public var keys: [String] {
        let ordered = loadOrder.filter { tensors[$0] != nil }
        let known = Set(loadOrder)
        return ordered + tensors.keys.filter { !known.contains($0) }.sorted()
    }

    public subscript(key: String) -> CheckpointTensor? { tensors[key] }

    /// Total number of elements over all tensors.
    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }
}
