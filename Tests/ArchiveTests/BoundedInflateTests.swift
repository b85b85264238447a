import CZlib
import Foundation
import Testing
@testable import Archive

/// One-member zips with a deflated (or stored) member whose central directory can claim any sizes, with ZIP64 extra
/// fields when a size does not fit 32 bits.
private struct DeflateZip {
    var name = "archive/data/0"
    var payload: [UInt8]
    var method: UInt16 = 8
    var crc: UInt32
    var compressedSize: UInt64
    var uncompressedSize: UInt64

    init(content: [UInt8], payload: [UInt8]? = nil, uncompressedSize: UInt64? = nil) {
        self.payload = payload ?? DeflateZip.deflate(content)
        crc = ZipBuilder.crc32(content)
        compressedSize = UInt64(self.payload.count)
        self.uncompressedSize = uncompressedSize ?? UInt64(content.count)
    }

    /// A raw deflate stream of `bytes` (no zlib header), as zip members hold.
    static func deflate(_ bytes: [UInt8], finish: Bool = true) -> [UInt8] {
        var stream = z_stream()
        _ = deflateInit2_(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(&stream) }
        var input = bytes
        var out = [UInt8](repeating: 0, count: bytes.count + 1024)
        let produced = input.withUnsafeMutableBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o -> Int in
                stream.next_in = i.baseAddress
                stream.avail_in = uInt(i.count)
                stream.next_out = o.baseAddress
                stream.avail_out = uInt(o.count)
                _ = CZlib.deflate(&stream, finish ? Z_FINISH : Z_SYNC_FLUSH)
                return o.count - Int(stream.avail_out)
            }
        }
        return Array(out.prefix(produced))
    }

    func build() -> [UInt8] {
        var out: [UInt8] = []
        func u16(_ v: UInt16, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32, _ a: inout [UInt8]) { for i in 0..<4 { a.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
        func u64(_ v: UInt64, _ a: inout [UInt8]) { for i in 0..<8 { a.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
        let nameBytes = Array(name.utf8)
        let big = compressedSize >= 0xFFFF_FFFF || uncompressedSize >= 0xFFFF_FFFF
        var extra: [UInt8] = []
        if big { u16(0x0001, &extra); u16(16, &extra); u64(uncompressedSize, &extra); u64(compressedSize, &extra) }
        let c32 = big ? 0xFFFF_FFFF : UInt32(compressedSize), u32v = big ? 0xFFFF_FFFF : UInt32(uncompressedSize)
        u32(0x0403_4B50, &out); u16(45, &out); u16(0, &out); u16(method, &out); u16(0, &out); u16(0, &out)
        u32(crc, &out); u32(c32, &out); u32(u32v, &out); u16(UInt16(nameBytes.count), &out); u16(UInt16(extra.count), &out)
        out += nameBytes + extra + payload
        let cdOffset = UInt32(out.count)
        var central: [UInt8] = []
        u32(0x0201_4B50, &central); u16(45, &central); u16(45, &central); u16(0, &central); u16(method, &central)
        u16(0, &central); u16(0, &central); u32(crc, &central); u32(c32, &central); u32(u32v, &central)
        u16(UInt16(nameBytes.count), &central); u16(UInt16(extra.count), &central); u16(0, &central); u16(0, &central)
        u16(0, &central); u32(0, &central); u32(0, &central); central += nameBytes + extra
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(1, &out); u16(1, &out)
        u32(UInt32(central.count), &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }

    func archive() throws -> ZipArchive { try ZipArchive(data: Data(build()), url: URL(fileURLWithPath: "/virtual/hostile.zip")) }
}

@Suite("Bounded decompression")
struct BoundedInflateTests {
    let content: [UInt8] = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 5) }

    @Test("a deflated member reads back byte for byte (CRC checked)")
    func roundTrip() throws {
        let zip = try DeflateZip(content: content).archive()
        #expect(try zip.data(for: zip.entries[0]) == Data(content))
    }

    @Test("a member that inflates past its declared size is an error, not a bigger buffer")
    func pastDeclaredSize() throws {
        let zip = try DeflateZip(content: content, uncompressedSize: 1000).archive()
        #expect { try zip.data(for: zip.entries[0]) } throws: { "\($0)".contains("more than its declared 1000 bytes") }
    }

    @Test("a member that ends short of its declared size is an error")
    func shortOfDeclaredSize() throws {
        let zip = try DeflateZip(content: content, uncompressedSize: 50_000).archive()
        #expect { try zip.data(for: zip.entries[0]) } throws: { "\($0)".contains("expected 50000") }
    }

    @Test("a ZIP64 member claiming 5 GiB is refused before any allocation (size limit), naming the member")
    func zip64FiveGiB() throws {
        // 5.2 MB of compressed bytes keep the claim within deflate's ratio, so the size limit is what refuses it.
        var z = DeflateZip(content: [], payload: [UInt8](repeating: 0x55, count: 5_300_000), uncompressedSize: 5 << 30)
        z.crc = 0
        let zip = try z.archive()
        #expect(zip.entries[0].uncompressedSize == 5 << 30)
        #expect { try zip.data(for: zip.entries[0]) } throws: { error in
            let text = (error as? LocalizedError)?.errorDescription ?? ""
            return text.contains("hostile.zip") && text.contains("archive/data/0") && text.contains("5368709120") && text.contains("limit")
        }
    }

    @Test("a claim beyond deflate's 1032:1 ratio is refused before inflating")
    func ratioBound() throws {
        let zip = try DeflateZip(content: content, payload: DeflateZip.deflate([UInt8](repeating: 0, count: 64)), uncompressedSize: 1 << 30).archive()
        #expect { try zip.data(for: zip.entries[0]) } throws: { "\($0)".contains("claims 1073741824 bytes") }
    }

    @Test("with a prefix only that many bytes are inflated: a member corrupt after the prefix still gives the prefix")
    func prefixOnly() throws {
        let head = Array(content.prefix(4096))
        // A flushed deflate block holding the first 4096 bytes, then garbage that is not deflate data at all.
        let payload = DeflateZip.deflate(head, finish: false) + [UInt8](repeating: 0xFF, count: 4096)
        let zip = try DeflateZip(content: content, payload: payload, uncompressedSize: UInt64(content.count)).archive()
        #expect(try zip.data(for: zip.entries[0], prefix: 4096) == Data(head))
        #expect(throws: ArchiveError.self) { try zip.data(for: zip.entries[0]) }
    }

    @Test("gzip output is bounded (a declared-size-free stream stops at the limit)")
    func gzipLimit() throws {
        #expect(Inflate.maxGzipOutput == 1 << 30)
        // A truncated gzip stream is an error naming the file.
        #expect { try Inflate.gunzip(Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0x4B]), file: "v.gz") } throws: { "\($0)".contains("v.gz") }
    }
}
