import Archive
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes safetensors files atomically (temp file in the same folder, then `rename(2)`; on any error the temp
/// file is removed and the destination is untouched).
///
/// Header: `{"__metadata__": {…}, "name": {"dtype", "shape", "data_offsets"}, …}` in the given tensor order,
/// padded with spaces to a multiple of 8 bytes; data contiguous in the same order. Float32 values are stored as
/// F32, or rounded to nearest-even F16 / BF16 (``FloatConversion``).
///
/// ```swift
/// try SafetensorsWriter.write([("head.weight", shape: [2, 3], values: w)], dtype: .f16,
///                             metadata: ["format": "pt"], to: URL(fileURLWithPath: "head.safetensors"))
/// ```
public enum SafetensorsWriter {
    public static func write(_ tensors: [(String, shape: [Int], values: [Float])], dtype: DType = .f32,
                             metadata: [String: String] = [:], to url: URL) throws {
        let file = url.path
        func bad(_ message: String) -> CheckpointError { CheckpointError(file: file, kind: .write, message: message) }
        guard [.f32, .f16, .bf16].contains(dtype) else { throw bad("can write F32, F16 or BF16, not \(dtype.safetensorsName)") }
        var seen = Set<String>()
        var json = "{"
        if !metadata.isEmpty {
            json += "\"__metadata__\":{" + metadata.sorted { $0.key < $1.key }
                .map { "\(quote($0.key)):\(quote($0.value))" }.joined(separator: ",") + "}"
        }
        var offset = 0
        for (name, shape, values) in tensors {
            guard !name.isEmpty, name != "__metadata__" else { throw bad("invalid tensor name '\(name)'") }
            guard seen.insert(name).inserted else { throw bad("tensor name '\(name)' appears twice") }
            guard CheckpointTensor.elementCount(shape) == values.count else {
                throw bad("tensor '\(name)': shape \(shape) does not match its \(values.count) values")
            }
            let size = values.count * dtype.byteSize
            if json.count > 1 { json += "," }
            json += "\(quote(name)):{\"dtype\":\"\(dtype.safetensorsName)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}"
            offset += size
        }
        json += "}"
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        do {
            try AtomicFile.write(to: url, streaming: { handle in
                var length = UInt64(header.count).littleEndian
                try handle.write(contentsOf: Data(bytes: &length, count: 8))
                try handle.write(contentsOf: Data(header))
                for (_, _, values) in tensors { try handle.write(contentsOf: encode(values, dtype)) }
                try handle.synchronize()
            })
        } catch {
            throw bad("writing failed: \(AtomicFile.reason(error))")
        }
    }

    /// Values in `dtype`, little-endian.
    static func encode(_ values: [Float], _ dtype: DType) -> Data {
        switch dtype {
        case .f16, .bf16:
            var out = [UInt16](repeating: 0, count: values.count)
            let convert = dtype == .f16 ? FloatConversion.floatToHalf : FloatConversion.floatToBF16
            for i in values.indices { out[i] = convert(values[i]).littleEndian }
            return out.withUnsafeBytes { Data($0) }
        default:
            return values.withUnsafeBytes { Data($0) }   // every supported platform is little-endian
        }
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String { JSONText.quoted(s) }
}
