import Foundation

/// Exact port of OpenAI CLIP's tokenizer: `SimpleTokenizer` (clip/simple_tokenizer.py) and `clip.tokenize`
/// (clip/clip.py), with the text cleaning it relies on (ftfy `fix_text`, `html.unescape`).
///
/// `encode(text)` = BPE ids of the pre-tokens of `lower(whitespace_clean(basic_clean(text)))`, where
/// `basic_clean(t) = strip(html.unescape(html.unescape(ftfy.fix_text(t))))` and `whitespace_clean` collapses
/// `\s+` to one space and strips. `tokenize` returns rows `[SOT] + encode(text) + [EOT]` zero-padded to
/// `contextLength`; an over-long row either throws or, with `truncate`, is cut to `contextLength` with EOT last.
///
/// Differences from the reference: none in output for the tested inputs; Unicode data is Python 3.11's / the
/// `regex` module's (bundled tables), except NFC (Foundation) and the case properties of the Final_Sigma rule
/// (Swift). The BPE cache is guarded by a lock; one instance may be shared across threads.
///
/// ```swift
/// let tokenizer = try CLIPTokenizer()
/// let ids = tokenizer.encode("a photo of a cat")          // [320, 1125, 539, 320, 2368]
/// let rows = try tokenizer.tokenize(["a photo of a cat"])  // [[49406, 320, 1125, 539, 320, 2368, 49407, 0, ...]]
/// tokenizer.decode(ids)                                      // "a photo of a cat "
/// ```
public final class CLIPTokenizer: @unchecked Sendable {
    private let bpe: BytePairEncoding
    private let classes: PythonCharacterClasses
    private let fixer: TextFixer
    private let preTokenizer: PreTokenizer
    private let lock = NSLock()
    private var cache: [[UInt8]: [Int32]] = [:]

    /// Id of `<|startoftext|>` (49406).
    public var sotToken: Int32 { bpe.startOfText }
    /// Id of `<|endoftext|>` (49407).
    public var eotToken: Int32 { bpe.endOfText }
    /// Number of ids (49408).
    public var vocabularySize: Int { bpe.tokenBytes.count }

    /// Loads the bundled `bpe_simple_vocab_16e6.txt.gz` and cleaning tables.
    public convenience init() throws {
        try self.init(vocabularyURL: BundledResources.url(CLIPVocabularyConstants.vocabularyFile))
    }

    /// Loads a gzipped CLIP BPE merges file.
    public init(vocabularyURL: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: vocabularyURL) } catch {
            throw TokenizerError.resourceCorrupt(file: vocabularyURL.path, line: nil, reason: "cannot read: \(error.localizedDescription)")
        }
        bpe = try BytePairEncoding(gzipped: data, file: vocabularyURL.lastPathComponent)
        classes = try PythonCharacterClasses.shared()
        fixer = try TextFixer()
        preTokenizer = PreTokenizer(classes: classes)
    }

    /// CLIP's cleaned, lower-cased text: `whitespace_clean(basic_clean(text)).lower()`.
    public func clean(_ text: String) -> String {
        String(String.UnicodeScalarView(cleanCodePoints(text).compactMap(Unicode.Scalar.init)))
    }

    /// ftfy `fix_text(text)` alone (the first step of cleaning).
    public func fixText(_ text: String) -> String { fixer.fixText(text) }

    /// Python `html.unescape(text)` alone.
    public func htmlUnescape(_ text: String) -> String {
        String(String.UnicodeScalarView(fixer.html.unescape(text.unicodeScalars.map(\.value)).compactMap(Unicode.Scalar.init)))
    }

    private func cleanCodePoints(_ text: String) -> [UInt32] {
        var t = fixer.fixText(text.unicodeScalars.map(\.value))
        t = fixer.html.unescape(fixer.html.unescape(t))
        t = classes.strip(t)
        t = classes.whitespaceClean(t)
        return classes.lower(t)
    }

    /// `SimpleTokenizer.encode(text)`: BPE ids without start/end tokens.
    public func encode(_ text: String) -> [Int32] {
        let cleaned = cleanCodePoints(text)
        var ids: [Int32] = []
        for range in preTokenizer.split(cleaned) {
            ids += encodeWord(UTF8Decoding.encode(Array(cleaned[range])))
        }
        return ids
    }

    private static let sotBytes = Array(CLIPVocabularyConstants.startOfText.utf8)
    private static let eotBytes = Array(CLIPVocabularyConstants.endOfText.utf8)

    private func encodeWord(_ word: [UInt8]) -> [Int32] {
        if word == Self.sotBytes { return [sotToken] }
        if word == Self.eotBytes { return [eotToken] }
        lock.lock()
        let hit = cache[word]
        lock.unlock()
        if let hit { return hit }
        let ids = bpe.encode(word: word)
        lock.lock()
        if cache.count >= CLIPVocabularyConstants.bpeCacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[word] = ids
        lock.unlock()
        return ids
    }

    /// `SimpleTokenizer.decode(tokens)`: bytes of the tokens, UTF-8 decoded with replacement, `</w>` → space.
    public func decode(_ tokens: [Int32]) throws -> String {
        var bytes: [UInt8] = []
        for (i, t) in tokens.enumerated() {
            guard t >= 0, Int(t) < bpe.tokenBytes.count else { throw TokenizerError.unknownTokenID(id: t, position: i) }
            bytes += bpe.tokenBytes[Int(t)]
        }
        let text = String(String.UnicodeScalarView(UTF8Decoding.replacing(bytes).compactMap(Unicode.Scalar.init)))
        return text.replacingOccurrences(of: CLIPVocabularyConstants.endOfWord, with: " ")
    }

    /// `clip.tokenize(texts, context_length, truncate)`: one row of `contextLength` ids per text, zero padded.
    public func tokenize(_ texts: [String], contextLength: Int = CLIPVocabularyConstants.defaultContextLength,
                         truncate: Bool = false) throws -> [[Int32]] {
        guard (1...CLIPVocabularyConstants.maxContextLength).contains(contextLength) else {
            throw TokenizerError.invalidContextLength(contextLength)
        }
        return try texts.map { text in
            var tokens = [sotToken] + encode(text) + [eotToken]
            if tokens.count > contextLength {
                guard truncate else {
                    throw TokenizerError.textTooLong(textPrefix: String(text.prefix(CLIPVocabularyConstants.errorTextPrefixLength)),
                                                     tokenCount: tokens.count, contextLength: contextLength)
                }
                tokens.removeLast(tokens.count - contextLength)
                tokens[contextLength - 1] = eotToken
            }
            return tokens + [Int32](repeating: 0, count: contextLength - tokens.count)
        }
    }
}
