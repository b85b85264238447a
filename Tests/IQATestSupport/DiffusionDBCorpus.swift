import Foundation

/// A tiny pre-training corpus in DiffusionDB's layout: `part-00000k/` folders of PNG images (``PatternImages``,
/// 72 × 64, seed = the image's global index), each described by `part-00000k.json`
/// (`{"0003.png": {"p": "prompt 3", "se": 3, "c": 7.0, "st": 50, "sa": "k_lms"}, …}`) inside the folder or beside it.
///
/// ```swift
/// let prompts = try DiffusionDBCorpus.write(at: scratch.url, parts: 2, perPart: 4)   // ["part-000001/0000.png": "prompt 0", …]
/// let corpus = try PretrainCorpus.load(scratch.url)
/// ```
public enum DiffusionDBCorpus {
    /// Writes `parts` parts of `perPart` images; returns each image's relative path → prompt ("prompt <global index>").
    @discardableResult
    public static func write(at root: URL, parts: Int = 2, perPart: Int = 3, jsonInside: Bool = true) throws -> [String: String] {
        var all: [String: String] = [:]
        for k in 1...parts {
            let part = String(format: "part-%06d", k)
            let folder = root.appendingPathComponent(part)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var entries: [String] = []
            for i in 0..<perPart {
                let index = (k - 1) * perPart + i
                let name = String(format: "%04d.png", index)
                try PatternImages.writePNG(to: folder.appendingPathComponent(name), seed: index, width: 72, height: 64)
                entries.append("  \"\(name)\": {\"p\": \"prompt \(index)\", \"se\": \(index), \"c\": 7.0, \"st\": 50, \"sa\": \"k_lms\"}")
                all[part + "/" + name] = "prompt \(index)"
            }
            let json = "{\n" + entries.joined(separator: ",\n") + "\n}\n"
            try Data(json.utf8).write(to: (jsonInside ? folder : root).appendingPathComponent(part + ".json"))
        }
        return all
    }
}
