import Foundation
import Testing
@testable import CLIPTokenizer

/// Exact agreement with OpenAI CLIP's `SimpleTokenizer` (and ftfy / html it calls), on the fixtures of
/// `Scripts/fixtures_tokenizer.py`. Tolerance: none — every id and every character must match.
@Suite("CLIP tokenizer matches the Python reference")
struct ReferenceParityTests {
    static let tokenizer: CLIPTokenizer? = try? CLIPTokenizer()

    @Test("encode() ids equal SimpleTokenizer.encode for every AGIQA-1k and AGIQA-3k prompt")
    func datasetPrompts() throws {
        let tokenizer = try #require(Self.tokenizer)
        let file = try TokenizerFixtures.load(TokenizerFixtures.DatasetFile.self, "tokenizer_datasets.json")
        #expect(file.items.count > 1000)
        var mismatches: [String] = []
        for item in file.items where tokenizer.encode(item.text) != item.ids {
            mismatches.append("\(item.text): \(tokenizer.encode(item.text)) != \(item.ids)")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(3))")
    }

    @Test("ftfy.fix_text is reproduced on non-ASCII, entity, mojibake, width, ligature and control-character texts")
    func fixText() throws {
        let tokenizer = try #require(Self.tokenizer)
        let file = try TokenizerFixtures.load(TokenizerFixtures.HandmadeFile.self, "tokenizer_handmade.json")
        var mismatches: [String] = []
        for item in file.items {
            let got = tokenizer.fixText(item.text)
            if got.unicodeScalars.elementsEqual(item.fixed.unicodeScalars) { continue }
            mismatches.append("\(TokenizerFixtures.scalars(item.text)) -> \(TokenizerFixtures.scalars(got)) "
                + "expected \(TokenizerFixtures.scalars(item.fixed))")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count)/\(file.items.count) differ: \(mismatches.prefix(5).joined(separator: "\n"))")
    }

    @Test("html.unescape is reproduced, including entities without semicolons and invalid numeric references")
    func htmlUnescape() throws {
        let tokenizer = try #require(Self.tokenizer)
        let file = try TokenizerFixtures.load(TokenizerFixtures.HandmadeFile.self, "tokenizer_handmade.json")
        var mismatches: [String] = []
        for item in file.items {
            let got = tokenizer.htmlUnescape(item.text)
            if !got.unicodeScalars.elementsEqual(item.unescaped.unicodeScalars) {
                mismatches.append("\(TokenizerFixtures.scalars(item.text)) -> \(TokenizerFixtures.scalars(got))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) differ: \(mismatches.prefix(5))")
    }

    @Test("cleaned text and encode() ids equal the reference on the hand-made and generated texts")
    func handmade() throws {
        let tokenizer = try #require(Self.tokenizer)
        let file = try TokenizerFixtures.load(TokenizerFixtures.HandmadeFile.self, "tokenizer_handmade.json")
        #expect(file.items.count >= 60)
        var cleanMismatches: [String] = [], idMismatches: [String] = []
        for item in file.items {
            let clean = tokenizer.clean(item.text)
            if !clean.unicodeScalars.elementsEqual(item.clean.unicodeScalars) {
                cleanMismatches.append("\(TokenizerFixtures.scalars(item.text)) -> \(TokenizerFixtures.scalars(clean)) "
                    + "expected \(TokenizerFixtures.scalars(item.clean))")
            }
            let ids = tokenizer.encode(item.text)
            if ids != item.ids { idMismatches.append("\(TokenizerFixtures.scalars(item.text)): \(ids) != \(item.ids)") }
        }
        #expect(cleanMismatches.isEmpty, "\(cleanMismatches.count) differ: \(cleanMismatches.prefix(5).joined(separator: "\n"))")
        #expect(idMismatches.isEmpty, "\(idMismatches.count) differ: \(idMismatches.prefix(5).joined(separator: "\n"))")
    }
}
