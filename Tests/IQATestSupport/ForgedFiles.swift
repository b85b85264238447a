import Checkpoints
import Foundation

/// Rewrites a safetensors file (an IP-IQA model or a CLIP checkpoint) with edited metadata JSON or tensor values, as a
/// careless or hostile producer would: the hostile-input tests' way to make files no honest writer makes.
///
/// ```swift
/// let bad = try ForgedFile.rewrite(model, to: scratch.file("bad.safetensors")) { $0.json("ipiqa_config") { $0["crossHeads"] = 0 } }
/// ```
public struct ForgedFile {
    public var metadata: [String: String]
    public var tensors: [(String, shape: [Int], values: [Float])]

    /// Edits the JSON object stored as text under metadata `key`.
    public mutating func json(_ key: String, _ edit: (inout [String: Any]) -> Void) {
        guard let text = metadata[key], let data = text.data(using: .utf8),
              var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return }
        edit(&object)
        metadata[key] = String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
    }

    /// Sets element `index` of tensor `name` (no effect if absent).
    public mutating func set(_ name: String, index: Int = 0, to value: Float) {
        guard let i = tensors.firstIndex(where: { $0.0 == name }) else { return }
        tensors[i].values[index] = value
    }

    /// Reads `source`, applies `edit`, writes the result to `destination` (F32), returns `destination`.
    @discardableResult
    public static func rewrite(_ source: URL, to destination: URL, _ edit: (inout ForgedFile) -> Void) throws -> URL {
        let dict = try CheckpointLoader.load(source)
        var file = ForgedFile(metadata: dict.metadata,
                              tensors: dict.loadOrder.compactMap { k in dict.tensors[k].map { (k, shape: $0.shape, values: $0.values) } })
        edit(&file)
        try SafetensorsWriter.write(file.tensors, dtype: .f32, metadata: file.metadata, to: destination)
        return destination
    }
}
