import Archive
import Foundation

/// Reader of DiffusionDB's layout (github poloclub/diffusiondb): `part-NNNNNN/` folders of images, each described by
/// `part-NNNNNN.json` = `{"<file name>": {"p": prompt, "se": seed, "c": cfg, "st": steps, "sa": sampler}, …}`.
/// Only `"p"` is read; an entry that is a plain string is taken as the prompt. The JSON may sit inside its part
/// folder (SynthAGI's writer) or next to it (DiffusionDB's unpacked zips).
enum DiffusionDBLayout {
    /// A corpus folder holding part folders, or a single part folder holding its own JSON.
    static func read(folder: URL, into collector: inout PairCollector) throws {
        let contents: [URL]
        do {
            contents = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: [.isDirectoryKey])
        } catch {
            throw PretrainCorpusError.unreadable(file: folder.path, reason: error.localizedDescription)
        }
        let parts = contents.filter { url in
            url.lastPathComponent.hasPrefix(PretrainCorpusLimits.partPrefix)
                && (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true
        }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        if parts.isEmpty {
            let own = folder.appendingPathComponent(folder.lastPathComponent + ".json")
            guard FileManager.default.fileExists(atPath: own.path) else {
                throw PretrainCorpusError.unsupportedLayout(path: folder.path,
                    reason: "not a DiffusionDB-style corpus: no part-NNNNNN/ folders and no \(folder.lastPathComponent).json")
            }
            try readPart(json: own, images: folder, namePrefix: "", into: &collector)
            return
        }
        for part in parts where !collector.isFull {
            let name = part.lastPathComponent
            let inside = part.appendingPathComponent(name + ".json"), beside = folder.appendingPathComponent(name + ".json")
            guard let json = [inside, beside].first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                throw PretrainCorpusError.unsupportedLayout(path: part.path, reason: "no \(name).json inside the part folder or next to it")
            }
            try readPart(json: json, images: part, namePrefix: name + "/", into: &collector)
        }
    }

    /// A part JSON given directly: images in the folder named after it next to it, else beside the JSON.
    static func read(partJSON url: URL, into collector: inout PairCollector) throws {
        let stem = url.deletingPathExtension().lastPathComponent
        let sibling = url.deletingLastPathComponent().appendingPathComponent(stem)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: sibling.path, isDirectory: &isDirectory), isDirectory.boolValue {
            try readPart(json: url, images: sibling, namePrefix: stem + "/", into: &collector)
        } else {
            try readPart(json: url, images: url.deletingLastPathComponent(), namePrefix: "", into: &collector)
        }
    }

    /// One part: entries sorted by file name.
    static func readPart(json: URL, images: URL, namePrefix: String, into collector: inout PairCollector) throws {
        let data: Data
        do { data = try Data(contentsOf: json) } catch {
            throw PretrainCorpusError.unreadable(file: json.path, reason: error.localizedDescription)
        }
        let entries = try decode(data, file: json.path)
        for name in entries.keys.sorted() where !collector.isFull {
            let entry = entries[name]!
            // Lines are looked up only for entries with a problem (a search through the file each).
            let bad = entry.prompt?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true
            let imageURL = images.appendingPathComponent(name)
            let line = bad || !FileManager.default.fileExists(atPath: imageURL.path) ? lineOfKey(name, in: data) : nil
            if let problem = entry.problem {
                collector.record(PretrainCorpusIssue(file: json.path, line: line, image: namePrefix + name, message: problem))
                continue
            }
            try collector.add(name: namePrefix + name, image: imageURL, prompt: entry.prompt, file: json.path, line: line)
        }
    }

    /// One JSON entry, decoded without ever failing: a problem is recorded instead.
    struct Entry: Decodable {
        var prompt: String?
        var problem: String?
        private enum Keys: String, CodingKey { case p }

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                prompt = text
                return
            }
            guard let c = try? decoder.container(keyedBy: Keys.self) else {
                problem = "entry is neither an object with \"p\" nor a string"
                return
            }
            if !c.contains(.p) { return }   // reported as "no prompt" by the collector
            if let p = try? c.decode(String.self, forKey: .p) { prompt = p } else { problem = "\"p\" is not a string" }
        }
    }

    /// The file-name → entry object, with syntax errors located by line and column.
    static func decode(_ data: Data, file: String) throws -> [String: Entry] {
        if let key = JSONText.duplicateKey(in: data) {
            throw PretrainCorpusError.badJSON(file: file, line: nil, column: nil, reason: "the key '\(key)' appears twice in one object")
        }
        do {
            return try JSONDecoder().decode([String: Entry].self, from: data)
        } catch DecodingError.typeMismatch {
            throw PretrainCorpusError.badJSON(file: file, line: nil, column: nil,
                                              reason: "the top level must be an object mapping file name → {\"p\": prompt, …}")
        } catch {
            // Foundation's decoder does not say where; its serializer does ("… around character N.").
            var reason = "syntax error"
            do { _ = try JSONSerialization.jsonObject(with: data) } catch let e as NSError {
                reason = (e.userInfo[NSDebugDescriptionErrorKey] as? String) ?? e.localizedDescription
            }
            let (line, column) = characterOffset(in: reason).map { location(ofOffset: $0, in: data) } ?? (nil, nil)
            throw PretrainCorpusError.badJSON(file: file, line: line, column: column, reason: reason)
        }
    }

    /// N of "… character N …" in a serializer message.
    static func characterOffset(in message: String) -> Int? {
        guard let range = message.range(of: "character ") else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }

    /// 1-based line and column of byte `offset`.
    static func location(ofOffset offset: Int, in data: Data) -> (Int?, Int?) {
        let end = min(max(offset, 0), data.count)
        var line = 1, lineStart = 0
        for i in 0..<end where data[data.startIndex + i] == UInt8(ascii: "\n") { line += 1; lineStart = i + 1 }
        return (line, end - lineStart + 1)
    }

    /// 1-based line of the first occurrence of `"key"` in the JSON text (nil when the key is escaped there).
    static func lineOfKey(_ key: String, in data: Data) -> Int? {
        guard let range = data.range(of: Data(("\"" + key + "\"").utf8)) else { return nil }
        return location(ofOffset: range.lowerBound - data.startIndex, in: data).0
    }
}
