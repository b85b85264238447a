import Foundation

/// Locates the files of `Sources/CLIPTokenizer/Resources` (copied as a folder into the module bundle).
enum BundledResources {
    static func url(_ name: String) throws -> URL {
        guard let folder = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw TokenizerError.resourceMissing(name: "Resources")
        }
        let url = folder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else { throw TokenizerError.resourceMissing(name: name) }
        return url
    }

    static func data(_ name: String) throws -> Data {
        let url = try url(name)
        do { return try Data(contentsOf: url) } catch {
            throw TokenizerError.resourceCorrupt(file: name, line: nil, reason: "cannot read: \(error.localizedDescription)")
        }
    }

    /// Decodes a JSON resource into `T`, naming the file and the failing key path on error.
    static func json<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let data = try data(name)
        do { return try JSONDecoder().decode(T.self, from: data) } catch let DecodingError.keyNotFound(key, context) {
            throw TokenizerError.resourceCorrupt(file: name, line: nil,
                                                 reason: "missing key '\(key.stringValue)' at \(path(context))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw TokenizerError.resourceCorrupt(file: name, line: nil, reason: "wrong type at \(path(context))")
        } catch {
            throw TokenizerError.resourceCorrupt(file: name, line: nil, reason: "invalid JSON: \(error)")
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
