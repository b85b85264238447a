import Archive
import Foundation

/// Reads safetensors files (huggingface/safetensors format spec; written from the spec, no code copied).
///
/// Layout: `u64 little-endian N`, an `N`-byte UTF-8 JSON object
/// `{"name": {"dtype": "F16", "shape": [2, 3], "data_offsets": [begin, end]}, …, "__metadata__": {str: str}}`,
/// then the data section; offsets are relative to it. Validation is as strict as the reference implementation:
/// known dtype, non-negative shape, `end − begin == numel · size`, tensors sorted by offset tile the data section
/// exactly (no gap, no overlap, nothing past or short of its end). Keys are returned in data-offset order.
enum SafetensorsReader {
    struct Entry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    struct Header: Decodable {
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]

        struct AnyKey: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try c.decode([String: String].self, forKey: key)
                } else {
                    entries[key.stringValue] = try c.decode(Entry.self, forKey: key)
                }
            }
        }
    }

    static func load(_ data: Data, url: URL, normalization: KeyNormalization) throws -> StateDict {
        let file = url.path
        func bad(_ message: String) -> CheckpointError { CheckpointError(file: file, kind: .safetensors, message: message) }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= UInt64(CheckpointLimits.maxSafetensorsHeader) else { throw bad("header length \(n) exceeds the \(CheckpointLimits.maxSafetensorsHeader)-byte limit") }
        guard n <= UInt64(data.count - 8) else { throw bad("header length \(n) runs past the end of the \(data.count)-byte file (truncated?)") }
        let headerEnd = 8 + Int(n)
        let header: Header
        let headerBytes = data.subdata(in: 8..<headerEnd)
        if let key = JSONText.duplicateKey(in: headerBytes) {
            throw bad("the JSON header has the key '\(key)' twice in one object (readers disagree on which one counts)")
        }
        do { header = try JSONDecoder().decode(Header.self, from: headerBytes) } catch {
            throw bad("bad JSON header: \(describe(error))")
        }
        let dataSize = data.count - headerEnd

        var layout: [(name: String, entry: Entry, dtype: DType, count: Int)] = []
        for (name, e) in header.entries {
            guard let dtype = DType(safetensorsName: e.dtype) else { throw bad("tensor '\(name)': unsupported dtype '\(e.dtype)'") }
            guard e.shape.count <= CheckpointLimits.maxRank, e.shape.allSatisfy({ $0 >= 0 }) else { throw bad("tensor '\(name)': invalid shape \(e.shape)") }
            guard e.data_offsets.count == 2 else { throw bad("tensor '\(name)': data_offsets must be [begin, end], got \(e.data_offsets)") }
            let (begin, end) = (e.data_offsets[0], e.data_offsets[1])
            guard begin >= 0, begin <= end else { throw bad("tensor '\(name)': invalid data_offsets [\(begin), \(end)]") }
            guard end <= dataSize else { throw bad("tensor '\(name)': data_offsets [\(begin), \(end)] lie outside the \(dataSize)-byte data section") }
            guard let count = CheckpointTensor.elementCount(e.shape) else { throw bad("tensor '\(name)': shape \(e.shape) overflows") }
            guard count <= (end - begin) / dtype.byteSize, count * dtype.byteSize == end - begin else {
                throw bad("tensor '\(name)': shape \(e.shape) of \(e.dtype) needs \(count) elements but data_offsets [\(begin), \(end)] hold \(end - begin) bytes")
            }
            layout.append((name, e, dtype, count))
        }
        layout.sort { ($0.entry.data_offsets[0], $0.entry.data_offsets[1], $0.name) < ($1.entry.data_offsets[0], $1.entry.data_offsets[1], $1.name) }
        var cursor = 0
        for t in layout {
            let (begin, end) = (t.entry.data_offsets[0], t.entry.data_offsets[1])
            if begin < cursor { throw bad("tensor '\(t.name)': data_offsets [\(begin), \(end)] overlap the previous tensor (which ends at \(cursor))") }
            if begin > cursor { throw bad("tensor '\(t.name)': gap in the data section before offset \(begin) (previous tensor ends at \(cursor))") }
            cursor = end
        }
        if cursor != dataSize { throw bad("tensors cover \(cursor) bytes but the data section has \(dataSize)") }

        let normalised = try normalization.apply(layout.map { ($0.name, $0) }, file: file)
        var tensors: [String: CheckpointTensor] = [:]
        tensors.reserveCapacity(layout.count)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + headerEnd
            for (key, t) in normalised {
                let values = [Float](unsafeUninitializedCapacity: t.count) { out, initialized in
                    if t.count > 0 { FloatConversion.convert(base + t.entry.data_offsets[0], dtype: t.dtype, count: t.count, into: out.baseAddress!) }
                    initialized = t.count
                }
                tensors[key] = CheckpointTensor(shape: t.entry.shape, dtype: t.dtype, values: values)
            }
        }
        return StateDict(source: url, format: .safetensors, tensors: tensors, loadOrder: normalised.map(\.0), metadata: header.metadata)
    }

    /// A DecodingError as "at key 'x.dtype': expected String" rather than Foundation's long dump.
    static func describe(_ error: Error) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.isEmpty ? "" : " at '\(c.codingPath.map(\.stringValue).joined(separator: "."))'"
        }
        switch error as? DecodingError {
        case .typeMismatch(_, let c)?: return "wrong type\(path(c)): \(c.debugDescription)"
        case .valueNotFound(_, let c)?: return "missing value\(path(c)): \(c.debugDescription)"
        case .keyNotFound(let k, let c)?: return "missing field '\(k.stringValue)'\(path(c))"
        case .dataCorrupted(let c)?: return "invalid JSON\(path(c)): \(c.debugDescription)"
        default: return error.localizedDescription
        }
    }
}
