/// A single-byte character map (Python `charmap` codec), as ftfy uses them to undo mojibake.
///
/// Bytes 0x00...0x7F decode to themselves except 0x1A, which decodes to `substitute` (U+FFFD in ftfy's
/// "sloppy" codecs, whose otherwise-undefined bytes decode to the Latin-1 code point of the same value).
/// `encode` returns nil exactly when ftfy's `possible_encoding(text, name)` is false.
///
/// ```swift
/// let latin1 = try SingleByteCodec(name: "latin-1", high: Array(0x80...0xFF), substitute: 0x1A, file: "t.json")
/// latin1.encode([0xC3, 0xA9])   // [0xC3, 0xA9]
/// ```
struct SingleByteCodec: Sendable {
    let name: String
    let isSloppy: Bool
    private let decodeTable: [UInt32]
    private let encodeTable: [UInt32: UInt8]

    init(name: String, high: [UInt32], substitute: UInt32, file: String) throws {
        guard high.count == 128 else {
            throw TokenizerError.resourceCorrupt(file: file, line: nil, reason: "charmap '\(name)' needs 128 high entries")
        }
        self.name = name
        isSloppy = name.hasPrefix("sloppy-")
        var table = (0..<128).map { UInt32($0) }
        table[0x1A] = substitute
        table += high
        decodeTable = table
        var enc: [UInt32: UInt8] = [:]
        for (byte, c) in table.enumerated() {
            guard enc[c] == nil else {
                throw TokenizerError.resourceCorrupt(file: file, line: nil, reason: "charmap '\(name)' maps two bytes to U+\(c)")
            }
            enc[c] = UInt8(byte)
        }
        encodeTable = enc
    }

    /// `text.encode(name)`, or nil when some code point has no byte.
    func encode(_ text: [UInt32]) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(text.count)
        for c in text {
            if c < 0x80 && c != 0x1A {
                out.append(UInt8(c))
            } else if let b = encodeTable[c] {
                out.append(b)
            } else {
                return nil
            }
        }
        return out
    }

    func decode(_ byte: UInt8) -> UInt32 { decodeTable[Int(byte)] }
}
