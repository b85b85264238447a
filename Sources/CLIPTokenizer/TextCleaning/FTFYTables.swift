/// The data of ftfy 6.x (Apache-2.0) that the port needs, generated into `Resources/ftfy_tables.json` by
/// `Scripts/fixtures_tokenizer.py`: the single-byte encodings ftfy tries (`chardata.CHARMAP_ENCODINGS`, with its
/// "sloppy" variants), strict windows-1252, the ligature / character-width / control-character maps, and its
/// regexes flattened to `AlternationPattern` alternatives.
///
/// ```swift
/// let tables = try FTFYTables.shared()
/// tables.charmaps[0].name   // "latin-1"
/// ```
final class FTFYTables: Sendable {
    struct Atom: Decodable, Sendable {
        let kind: String
        let ranges: [[UInt32]]?
        let negated: Bool?
        let categories: [String]?
    }

    struct Charmap: Decodable {
        let name: String
        /// Decoded code points of bytes 0x80...0xFF.
        let high: [UInt32]
        /// Decoded code point of byte 0x1A (U+FFFD in the sloppy codecs).
        let substitute: UInt32
    }

    struct Mapping: Decodable {
        let from: UInt32
        let to: [UInt32]
    }

    struct File: Decodable {
        let source: String
        let charmaps: [Charmap]
        let strictWindows1252: [Int]
        let ligatures, widthMap: [Mapping]
        let controlChars: [UInt32]
        let badness, alteredUTF8, lossyUTF8: [[Atom]]
        let utf8FirstOf2, utf8FirstOf3, utf8FirstOf4, utf8Continuation, utf8ContinuationStrict: Atom
    }

    static let fileName = "ftfy_tables.json"
    private static let loaded: Result<FTFYTables, TokenizerError> = {
        do {
            let file = try BundledResources.json(File.self, fileName)
            return .success(try FTFYTables(file: file, classes: PythonCharacterClasses.shared()))
        } catch {
            return .failure(error as? TokenizerError ?? .resourceCorrupt(file: fileName, line: nil, reason: "\(error)"))
        }
    }()

    /// The shared instance, loaded on first use.
    static func shared() throws -> FTFYTables { try loaded.get() }

    let charmaps: [SingleByteCodec]
    let sloppyWindows1252: SingleByteCodec
    /// windows-1252 without the sloppy extension: bytes 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined (nil).
    let strictWindows1252High: [UInt32?]
    let ligatures: [UInt32: [UInt32]]
    let widthMap: [UInt32: [UInt32]]
    let controlChars: Set<UInt32>
    let badness, alteredUTF8, lossyUTF8: AlternationPattern
    let utf8FirstOf2, utf8FirstOf3, utf8FirstOf4, utf8Continuation, utf8ContinuationStrict: AlternationPattern.Atom

    init(file: File, classes: PythonCharacterClasses) throws {
        let name = Self.fileName
        charmaps = try file.charmaps.map { try SingleByteCodec(name: $0.name, high: $0.high, substitute: $0.substitute, file: name) }
        guard let sloppy = charmaps.first(where: { $0.name == "sloppy-windows-1252" }),
              charmaps.contains(where: { $0.name == "latin-1" })
        else {
            throw TokenizerError.resourceCorrupt(file: name, line: nil, reason: "charmaps lack latin-1 or sloppy-windows-1252")
        }
        sloppyWindows1252 = sloppy
        guard file.strictWindows1252.count == 128 else {
            throw TokenizerError.resourceCorrupt(file: name, line: nil, reason: "strictWindows1252 must have 128 entries")
        }
        strictWindows1252High = file.strictWindows1252.map { $0 < 0 ? nil : UInt32($0) }
        ligatures = Dictionary(file.ligatures.map { ($0.from, $0.to) }, uniquingKeysWith: { _, b in b })
        widthMap = Dictionary(file.widthMap.map { ($0.from, $0.to) }, uniquingKeysWith: { _, b in b })
        controlChars = Set(file.controlChars)
        badness = try AlternationPattern(spec: file.badness, file: name, classes: classes)
        alteredUTF8 = try AlternationPattern(spec: file.alteredUTF8, file: name, classes: classes)
        lossyUTF8 = try AlternationPattern(spec: file.lossyUTF8, file: name, classes: classes)
        utf8FirstOf2 = try .init(spec: file.utf8FirstOf2, file: name, classes: classes)
        utf8FirstOf3 = try .init(spec: file.utf8FirstOf3, file: name, classes: classes)
        utf8FirstOf4 = try .init(spec: file.utf8FirstOf4, file: name, classes: classes)
        utf8Continuation = try .init(spec: file.utf8Continuation, file: name, classes: classes)
        utf8ContinuationStrict = try .init(spec: file.utf8ContinuationStrict, file: name, classes: classes)
    }
}
