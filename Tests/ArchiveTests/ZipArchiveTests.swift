import Foundation
import Testing
@testable import Archive

/// Builds small stored (method 0) zips in memory, with knobs to corrupt specific fields.
struct ZipBuilder {
    var members: [(name: String, data: [UInt8])] = []
    /// Overrides for the end-of-central-directory record.
    var eocdCount: UInt16?
    var eocdOffset: UInt32?
    var centralCompressedSize: UInt32?
    var zip64LocatorOffset: UInt64?

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
        }
        return ~c
    }

    func build() -> [UInt8] {
        var out: [UInt8] = []
        func u16(_ v: UInt16, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32, _ a: inout [UInt8]) { for i in 0..<4 { a.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
        func u64(_ v: UInt64, _ a: inout [UInt8]) { for i in 0..<8 { a.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
        var central: [UInt8] = []
        for m in members {
            let offset = UInt32(out.count), crc = ZipBuilder.crc32(m.data), name = Array(m.name.utf8)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(UInt32(m.data.count), &out); u32(UInt32(m.data.count), &out)
            u16(UInt16(name.count), &out); u16(0, &out); out += name + m.data
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0, &central); u32(crc, &central)
            u32(centralCompressedSize ?? UInt32(m.data.count), &central); u32(UInt32(m.data.count), &central)
            u16(UInt16(name.count), &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(offset, &central); central += name
        }
        let cdOffset = UInt32(out.count)
        out += central
        if let z = zip64LocatorOffset {
            u32(0x0706_4B50, &out); u32(0, &out); u64(z, &out); u32(1, &out)
        }
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out)
        u16(eocdCount ?? UInt16(members.count), &out); u16(eocdCount ?? UInt16(members.count), &out)
        u32(UInt32(central.count), &out); u32(eocdOffset ?? cdOffset, &out); u16(0, &out)
        return out
    }
}

@Suite("ZipArchive")
struct ZipArchiveTests {
    let url = URL(fileURLWithPath: "/virtual/test.zip")

    private func open(_ bytes: [UInt8]) throws -> ZipArchive { try ZipArchive(data: Data(bytes), url: url) }

    @Test("stored members read back byte for byte with their CRC-32 checked")
    func roundTrip() throws {
        var b = ZipBuilder()
        b.members = [("a/data.pkl", Array("hello".utf8)), ("a/data/0", [0, 1, 2, 3, 255]), ("empty", [])]
        let zip = try open(b.build())
        #expect(zip.entries.map(\.name) == ["a/data.pkl", "a/data/0", "empty"])
        #expect(try zip.data(named: "a/data/0") == Data([0, 1, 2, 3, 255]))
        #expect(try zip.data(named: "empty") == Data())
        #expect(ZipBuilder.crc32(Array("123456789".utf8)) == 0xCBF4_3926)   // the standard check value
        #expect(throws: ArchiveError.missingEntry(file: url.path, entry: "nope")) { _ = try zip.data(named: "nope") }
    }

    @Test("a flipped payload byte is a CRC mismatch naming the member")
    func crcMismatch() throws {
        var b = ZipBuilder()
        b.members = [("m", [1, 2, 3, 4])]
        var bytes = b.build()
        bytes[30 + 1 + 2] ^= 0xFF
        #expect(throws: ArchiveError.corrupt(file: url.path, reason: "CRC mismatch in member 'm'")) { _ = try open(bytes).data(named: "m") }
    }

    @Test("every truncation of a zip throws an ArchiveError, none crashes")
    func truncations() throws {
        var b = ZipBuilder()
        b.members = [("x", Array(repeating: 7, count: 100)), ("y", [1])]
        let bytes = b.build()
        for n in 0..<bytes.count {
            #expect(throws: ArchiveError.self) {
                let z = try open(Array(bytes.prefix(n)))
                for e in z.entries { _ = try z.data(for: e) }
            }
        }
    }

    @Test("lying sizes, counts and offsets (including ZIP64 values near Int.max) are errors, not traps")
    func hostileDirectory() throws {
        var b = ZipBuilder()
        b.members = [("x", [1, 2, 3])]
        b.eocdCount = 0xFFFF                                   // claims 65 535 entries in 49 bytes
        #expect(throws: ArchiveError.self) { _ = try open(b.build()) }
        b.eocdCount = nil
        b.eocdOffset = 0xFFFF_FFF0                             // central directory far past the end
        #expect(throws: ArchiveError.self) { _ = try open(b.build()) }
        b.eocdOffset = nil
        b.zip64LocatorOffset = UInt64.max - 3                  // ZIP64 record "at" Int.max
        #expect(throws: ArchiveError.self) { _ = try open(b.build()) }
        b.zip64LocatorOffset = nil
        b.centralCompressedSize = 0xFFFF_FFF0                  // member extends far past the end
        #expect(throws: ArchiveError.self) { _ = try open(b.build()).data(named: "x") }
        #expect(throws: ArchiveError.notAZip(file: url.path)) { _ = try open(Array("not a zip at all, definitely".utf8)) }
    }
}
