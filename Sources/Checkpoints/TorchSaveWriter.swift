import Archive
import Foundation

/// A value that ``TorchSaveWriter`` can write: only what `torch.load(weights_only=True)` accepts — plain
/// containers, numbers, strings and tensors (float32 or int64).
///
/// ```swift
/// let sd: TorchSaveValue = .orderedDict([("head.weight", .floatTensor(shape: [2, 4], values: w))])
/// try TorchSaveWriter.write(.dict([("model", sd), ("epoch", .int(3))]), to: url)
/// ```
public indirect enum TorchSaveValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([TorchSaveValue])
    case tuple([TorchSaveValue])
    case dict([(String, TorchSaveValue)])
    /// `collections.OrderedDict` (what `state_dict()` returns).
    case orderedDict([(String, TorchSaveValue)])
    case floatTensor(shape: [Int], values: [Float])
    case longTensor(shape: [Int], values: [Int64])
}

/// Writes `torch.save`-format files (the PyTorch ≥ 1.6 zip: `archive/data.pkl`, `archive/data/<n>`,
/// `archive/byteorder`, `archive/version`) that `torch.load(..., weights_only=True)` and ``CheckpointLoader`` read.
/// The pickle (protocol 2) names only `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and the
/// `torch.FloatStorage` / `torch.LongStorage` classes; each tensor gets its own contiguous storage. The file is
/// written atomically (temp file, then rename).
///
/// ```swift
/// try TorchSaveWriter.write(.dict([("model", .orderedDict(tensors)), ("epoch", .int(0))]), to: url)
/// ```
public enum TorchSaveWriter {
    public static func write(_ value: TorchSaveValue, to url: URL) throws {
        let file = url.path
        var pickle = PickleEncoder()
        do { try pickle.encode(value, depth: 0) } catch {
            throw CheckpointError(file: file, kind: .write, message: error.message)
        }
        pickle.bytes.append(0x2E)   // STOP
        do {
            try AtomicFile.write(to: url, streaming: { handle in
                let zip = ZipWriter(handle: handle, file: file)
                try zip.add("archive/data.pkl", Data(pickle.bytes))
                try zip.add("archive/byteorder", Data("little".utf8))
                for (i, storage) in pickle.storages.enumerated() { try zip.add("archive/data/\(i)", storage) }
                try zip.add("archive/version", Data("3\n".utf8))
                try zip.finish()
                try handle.synchronize()
            })
        } catch {
            throw CheckpointError(file: file, kind: .write, message: "writing failed: \(AtomicFile.reason(error))")
        }
    }
}

/// Protocol-2 pickle encoding of a ``TorchSaveValue``; tensor bytes are collected in `storages`.
struct PickleEncoder {
    struct Failure: Error { let message: String }

    var bytes: [UInt8] = [0x80, 0x02]
    var storages: [Data] = []

    mutating func encode(_ value: TorchSaveValue, depth: Int) throws(Failure) {
        guard depth < CheckpointLimits.maxNesting else { throw Failure(message: "values nest deeper than \(CheckpointLimits.maxNesting) levels") }
        switch value {
        case .none: bytes.append(0x4E)
        case .bool(let b): bytes.append(b ? 0x88 : 0x89)
        case .int(let i): int(i)
        case .float(let f):
            bytes.append(0x47)
            withUnsafeBytes(of: f.bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
        case .string(let s): string(s)
        case .list(let items):
            bytes.append(0x5D)                        // EMPTY_LIST
            if !items.isEmpty {
                bytes.append(0x28)                    // MARK
                for item in items { try encode(item, depth: depth + 1) }
                bytes.append(0x65)                    // APPENDS
            }
        case .tuple(let items):
            bytes.append(0x28)
            for item in items { try encode(item, depth: depth + 1) }
            bytes.append(0x74)                        // TUPLE
        case .dict(let entries):
            bytes.append(0x7D)                        // EMPTY_DICT
            try setItems(entries, depth: depth)
        case .orderedDict(let entries):
            global("collections", "OrderedDict")
            bytes.append(0x29); bytes.append(0x52)    // EMPTY_TUPLE, REDUCE
            try setItems(entries, depth: depth)
        case let .floatTensor(shape, values):
            try tensor(shape: shape, count: values.count, storage: "FloatStorage",
                       data: values.withUnsafeBytes { Data($0) })
        case let .longTensor(shape, values):
            try tensor(shape: shape, count: values.count, storage: "LongStorage",
                       data: values.map(\.littleEndian).withUnsafeBytes { Data($0) })
        }
    }

    private mutating func setItems(_ entries: [(String, TorchSaveValue)], depth: Int) throws(Failure) {
        guard !entries.isEmpty else { return }
        var seen = Set<String>()
        bytes.append(0x28)
        for (key, value) in entries {
            guard seen.insert(key).inserted else { throw Failure(message: "key '\(key)' appears twice in one dict") }
            string(key)
            try encode(value, depth: depth + 1)
        }
        bytes.append(0x75)                            // SETITEMS
    }

    /// `_rebuild_tensor_v2(storage, 0, shape, contiguous strides, False, OrderedDict())`.
    private mutating func tensor(shape: [Int], count: Int, storage: String, data: Data) throws(Failure) {
        guard CheckpointTensor.elementCount(shape) == count else {
            throw Failure(message: "a tensor of shape \(shape) cannot hold \(count) values")
        }
        var strides = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * max(shape[i + 1], 1) }
        let key = storages.count
        storages.append(data)
        global("torch._utils", "_rebuild_tensor_v2")
        bytes.append(0x28)                            // MARK (arguments)
        bytes.append(0x28)                            // MARK (persistent id)
        string("storage"); global("torch", storage); string(String(key)); string("cpu"); int(count)
        bytes.append(0x74); bytes.append(0x51)        // TUPLE, BINPERSID
        int(0)
        bytes.append(0x28); for d in shape { int(d) }; bytes.append(0x74)
        bytes.append(0x28); for s in strides { int(s) }; bytes.append(0x74)
        bytes.append(0x89)                            // requires_grad False
        global("collections", "OrderedDict"); bytes.append(0x29); bytes.append(0x52)
        bytes.append(0x74); bytes.append(0x52)        // TUPLE, REDUCE
    }

    private mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63)
        bytes.append(contentsOf: Array((module + "\n" + name + "\n").utf8))
    }

    private mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes.append(0x58)
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: utf8)
    }

    private mutating func int(_ i: Int) {
        if i >= 0 && i < 256 {
            bytes.append(0x4B); bytes.append(UInt8(i))
        } else if i >= Int(Int32.min) && i <= Int(Int32.max) {
            bytes.append(0x4A)
            withUnsafeBytes(of: Int32(i).littleEndian) { bytes.append(contentsOf: $0) }
        } else {
            bytes.append(0x8A); bytes.append(8)       // LONG1, 8 bytes two's complement
            withUnsafeBytes(of: Int64(i).littleEndian) { bytes.append(contentsOf: $0) }
        }
    }
}
