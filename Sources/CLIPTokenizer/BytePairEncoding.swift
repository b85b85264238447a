import Archive
import Foundation

/// Port of CLIP's byte-level BPE (openai/CLIP clip/simple_tokenizer.py: `bytes_to_unicode`, the vocabulary built
/// in `SimpleTokenizer.__init__`, and `bpe`).
///
/// Vocabulary: the 256 byte symbols in `bytes_to_unicode` order (printable bytes `!`...`~`, `¡`...`¬`, `®`...`ÿ`
/// first, the other 68 bytes after), the same with `</w>`, the first 48 894 merges of
/// `bpe_simple_vocab_16e6.txt.gz` (line 0 is a header) concatenated, then `<|startoftext|>`, `<|endoftext|>`.
/// BPE of a pre-token: its UTF-8 bytes as symbols, `</w>` on the last; repeatedly merge every occurrence (left to
/// right) of the adjacent pair with the lowest merge rank until no pair has a rank.
///
/// Differs from the reference in representation only: symbols are vocabulary ids (not strings) and the
/// bytes → unicode → string round trip is skipped (`byteSymbol[b]` is the id of `bytes_to_unicode()[b]`).
///
/// ```swift
/// let bpe = try BytePairEncoding(gzipped: data, file: "bpe_simple_vocab_16e6.txt.gz")
/// bpe.encode(word: Array("hello".utf8))   // [3306]
/// ```
struct BytePairEncoding: Sendable {
    /// `bytes_to_unicode()` keys in insertion order.
    static let byteOrder: [UInt8] = {
        var bs = Array(UInt8(ascii: "!")...UInt8(ascii: "~")) + Array(UInt8(0xA1)...UInt8(0xAC)) + Array(UInt8(0xAE)...UInt8(0xFF))
        let present = Set(bs)
        for b in 0...255 where !present.contains(UInt8(b)) { bs.append(UInt8(b)) }
        return bs
    }()

    /// Id of the symbol of byte `b` (add 256 for the `</w>` form).
    let byteSymbol: [Int32]
    /// (left id << 32 | right id) → (rank, id of the merged symbol).
    private let merges: [UInt64: (rank: Int32, merged: Int32)]
    /// UTF-8 bytes of each vocabulary entry as `decode` sees them (`</w>` kept as its four ASCII bytes).
    let tokenBytes: [[UInt8]]
    let startOfText: Int32
    let endOfText: Int32

    init(gzipped: Data, file: String) throws {
        let raw = [UInt8](try Inflate.gunzip(gzipped, file: file))
        guard UTF8Decoding.strict(raw) != nil else {
            throw TokenizerError.resourceCorrupt(file: file, line: nil, reason: "vocabulary is not UTF-8")
        }
        let lines = raw.split(separator: 0x0A, omittingEmptySubsequences: false)
        let count = CLIPVocabularyConstants.mergeCount
        guard lines.count > count else {
            throw TokenizerError.resourceCorrupt(file: file, line: lines.count,
                                                 reason: "expected a header and \(count) merge lines, found \(lines.count) lines")
        }
        // bytes_to_unicode: byte → code point (the unicode string the reference works on); symbols are kept as
        // the UTF-8 bytes of those strings.
        var byteChar = [UInt32](repeating: 0, count: 256)
        var n: UInt32 = 0
        let printable = Set(Self.byteOrder.prefix(188))
        for b in 0...255 {
            if printable.contains(UInt8(b)) { byteChar[b] = UInt32(b) } else { byteChar[b] = 256 + n; n += 1 }
        }
        var vocab: [[UInt8]] = Self.byteOrder.map { UTF8Decoding.encode([byteChar[Int($0)]]) }
        let endOfWord = Array(CLIPVocabularyConstants.endOfWord.utf8)
        vocab += vocab.map { $0 + endOfWord }
        // str.split(): the symbols never contain whitespace, so ASCII whitespace is all that can separate them.
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) || (0x1C...0x1F).contains(b) }
        var pairs: [([UInt8], [UInt8])] = []
        pairs.reserveCapacity(count)
        for i in 1...count {
            let parts = lines[i].split(whereSeparator: isSpace)
            guard parts.count == 2 else {
                throw TokenizerError.resourceCorrupt(file: file, line: i + 1,
                                                     reason: "merge line must hold two symbols: '\(String(decoding: lines[i], as: UTF8.self))'")
            }
            pairs.append((Array(parts[0]), Array(parts[1])))
            vocab.append(Array(parts[0]) + Array(parts[1]))
        }
        vocab += [Array(CLIPVocabularyConstants.startOfText.utf8), Array(CLIPVocabularyConstants.endOfText.utf8)]
        var encoder: [[UInt8]: Int32] = [:]
        encoder.reserveCapacity(vocab.count)
        for (i, s) in vocab.enumerated() { encoder[s] = Int32(i) }  // later duplicates win, as in dict(zip(...))
        var merges: [UInt64: (rank: Int32, merged: Int32)] = [:]
        merges.reserveCapacity(count)
        for (rank, (a, b)) in pairs.enumerated() {
            guard let ia = encoder[a], let ib = encoder[b], let m = encoder[a + b] else {
                throw TokenizerError.resourceCorrupt(file: file, line: rank + 2, reason: "merge on line \(rank + 2) uses unknown symbols")
            }
            merges[UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))] = (Int32(rank), m)
        }
        self.merges = merges
        var byteOfChar = [UInt8](repeating: 0x3F, count: 512)
        for b in 0...255 { byteOfChar[Int(byteChar[b])] = UInt8(b) }
        tokenBytes = vocab.map { s in
            UTF8Decoding.replacing(s).map { $0 < 512 ? byteOfChar[Int($0)] : 0x3F }
        }
        var symbol = [Int32](repeating: 0, count: 256)
        for (i, b) in Self.byteOrder.enumerated() { symbol[Int(b)] = Int32(i) }
        byteSymbol = symbol
        startOfText = Int32(vocab.count - 2)
        endOfText = Int32(vocab.count - 1)
    }

    /// BPE ids of one pre-token given as UTF-8 bytes (`SimpleTokenizer.bpe` + encoder lookup).
    func encode(word: [UInt8]) -> [Int32] {
        guard !word.isEmpty else { return [] }
        var symbols = word.map { byteSymbol[Int($0)] }
        symbols[symbols.count - 1] += 256
        while symbols.count > 1 {
            var best: (rank: Int32, merged: Int32, left: Int32, right: Int32)?
            for k in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(symbols[k])) << 32 | UInt64(UInt32(symbols[k + 1]))
                if let m = merges[key], m.rank < (best?.rank ?? .max) {
                    best = (m.rank, m.merged, symbols[k], symbols[k + 1])
                }
            }
            guard let pair = best else { break }
            var next = [Int32]()
            next.reserveCapacity(symbols.count)
            var k = 0
            while k < symbols.count {
                if k + 1 < symbols.count, symbols[k] == pair.left, symbols[k + 1] == pair.right {
                    next.append(pair.merged)
                    k += 2
                } else {
                    next.append(symbols[k])
                    k += 1
                }
            }
            symbols = next
        }
        return symbols
    }
}
