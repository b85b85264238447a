import Foundation
import Testing
@testable import CLIPTokenizer

/// `clip.tokenize` semantics: padding, the too-long error, truncation with EOT forced last; vocabulary facts.
@Suite("clip.tokenize rows")
struct TokenizeTests {
    static let tokenizer: CLIPTokenizer? = try? CLIPTokenizer()

    @Test("vocabulary has 49408 ids with <|startoftext|> = 49406 and <|endoftext|> = 49407")
    func vocabulary() throws {
        let t = try CLIPTokenizer()  // surfaces any bundled-resource error
        #expect(t.vocabularySize == CLIPVocabularyConstants.vocabularySize)
        #expect(t.sotToken == 49406)
        #expect(t.eotToken == 49407)
        #expect(t.encode("<|startoftext|>a photo<|endoftext|>") == [49406, 320, 1125, 49407])
    }

    @Test("rows equal clip.tokenize (unpadded part, zero padding) or raise where it raises")
    func referenceRows() throws {
        let t = try #require(Self.tokenizer)
        let file = try TokenizerFixtures.load(TokenizerFixtures.TokenizeFile.self, "tokenizer_tokenize.json")
        for item in file.items {
            if let row = item.row {
                let got = try t.tokenize([item.text], contextLength: item.contextLength, truncate: item.truncate)
                #expect(got.count == 1)
                #expect(got[0] == row + [Int32](repeating: 0, count: item.contextLength - row.count),
                        "context \(item.contextLength) truncate \(item.truncate): \(item.text.prefix(40))")
            } else {
                #expect(throws: TokenizerError.self) {
                    try t.tokenize([item.text], contextLength: item.contextLength, truncate: item.truncate)
                }
            }
        }
    }

    @Test("a too-long text without truncate throws textTooLong naming the text prefix and its length")
    func tooLong() throws {
        let t = try #require(Self.tokenizer)
        let text = String(repeating: "a photo of a cat ", count: 30)
        do {
            _ = try t.tokenize(["short", text])
            Issue.record("expected textTooLong")
        } catch let TokenizerError.textTooLong(prefix, count, context) {
            #expect(text.hasPrefix(prefix) && !prefix.isEmpty)
            #expect(count == 30 * 5 + 2)
            #expect(context == 77)
            let message = TokenizerError.textTooLong(textPrefix: prefix, tokenCount: count, contextLength: context).localizedDescription
            #expect(message.contains("a photo of a cat") && message.contains("77"))
        }
    }

    @Test("truncate cuts to the context length and forces <|endoftext|> last")
    func truncateForcesEOT() throws {
        let t = try #require(Self.tokenizer)
        let text = String(repeating: "a photo of a cat ", count: 30)
        let full = [t.sotToken] + t.encode(text) + [t.eotToken]
        for context in [77, 16, 2, 1] {
            let row = try t.tokenize([text], contextLength: context, truncate: true)[0]
            #expect(row.count == context)
            #expect(row.last == t.eotToken)
            #expect(Array(row.dropLast()) == Array(full.prefix(context - 1)))
        }
        #expect(throws: TokenizerError.invalidContextLength(0)) { try t.tokenize(["x"], contextLength: 0) }
    }

    @Test("short texts are zero padded after <|endoftext|>")
    func padding() throws {
        let t = try #require(Self.tokenizer)
        let row = try t.tokenize(["a photo of a cat"])[0]
        #expect(Array(row.prefix(7)) == [49406, 320, 1125, 539, 320, 2368, 49407])
        #expect(row.count == 77 && row.dropFirst(7).allSatisfy { $0 == 0 })
    }

    @Test("decode inverts encode up to cleaning, maps </w> to spaces and rejects unknown ids")
    func decode() throws {
        let t = try #require(Self.tokenizer)
        #expect(try t.decode(t.encode("A Photo of a CAT!")) == "a photo of a cat ! ")
        #expect(try t.decode(t.encode("東京の夜景 😀")) == "東京の夜景 😀 ")
        #expect(throws: TokenizerError.unknownTokenID(id: 49408, position: 1)) { try t.decode([320, 49408]) }
    }

    @Test("corrupt resource data is a typed error naming the file and line, not a crash")
    func corruptResources() {
        #expect(throws: TokenizerError.resourceCorrupt(file: HTMLEntities.fileName, line: 2,
                                                       reason: "expected 'name<TAB>HEX[ HEX]'")) {
            try HTMLEntities(tsv: Data("amp;\t26\nbroken line\n".utf8))
        }
        #expect(throws: (any Error).self) { try BytePairEncoding(gzipped: Data("not gzip".utf8), file: "v.gz") }
        #expect(throws: TokenizerError.self) {
            try CLIPTokenizer(vocabularyURL: URL(fileURLWithPath: "/nonexistent/bpe.txt.gz"))
        }
    }
}
