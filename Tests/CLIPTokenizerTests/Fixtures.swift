import Foundation
@testable import CLIPTokenizer

/// Loading of the JSON fixtures written by `Scripts/fixtures_tokenizer.py`.
enum TokenizerFixtures {
    struct DatasetFile: Decodable {
        let source: String
        let items: [DatasetItem]
    }

    /// `[text, ids]` pairs.
    struct DatasetItem: Decodable {
        let text: String
        let ids: [Int32]
        init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            text = try c.decode(String.self)
            ids = try c.decode([Int32].self)
        }
    }

    struct HandmadeFile: Decodable {
        let source: String
        let items: [HandmadeItem]
    }

    struct HandmadeItem: Decodable {
        /// Input text.
        let text: String
        /// `ftfy.fix_text(text)`.
        let fixed: String
        /// `html.unescape(text)`.
        let unescaped: String
        /// `whitespace_clean(basic_clean(text)).lower()`.
        let clean: String
        /// `SimpleTokenizer.encode(text)`.
        let ids: [Int32]
    }

    struct TokenizeFile: Decodable {
        let items: [TokenizeItem]
    }

    struct TokenizeItem: Decodable {
        let text: String
        let contextLength: Int
        let truncate: Bool
        /// The row without its zero padding, or nil when `clip.tokenize` raised.
        let row: [Int32]?
        let error: String?
    }

    static func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: folder.appendingPathComponent(name)))
    }

    /// Scalars of a string in `U+XXXX` form, for readable failure messages.
    static func scalars(_ s: String) -> String {
        s.unicodeScalars.map { $0.value < 0x80 && $0.value >= 0x20 ? String($0) : String(format: "<U+%04X>", $0.value) }.joined()
    }
}
