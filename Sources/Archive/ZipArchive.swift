import CZlib
import Foundation

/// One member of a zip archive, as listed by its central directory.
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// 0 = stored, 8 = deflated.
    public let method: UInt16
    public let crc32: UInt32
    public let compressedSize: Int
    public let uncompressedSize: Int
    let localHeaderOffset: Int
}

/// A read-only zip archive (PKWARE APPNOTE), memory-mapped: the format of PyTorch's `torch.save`,
/// TorchScript archives and `.xlsx` workbooks.
///
/// Supports stored and deflated members and ZIP64 sizes/offsets (what PyTorch writes for large files).
/// Every offset is bounds-checked and every member's CRC-32 verified, so a truncated or corrupt file
/// gives an ``ArchiveError`` naming the file, never a crash.
///
/// ```swift
/// let zip = try ZipArchive(url: URL(fileURLWithPath: "RN50.pt"))
/// let pickle = try zip.data(named: "RN50/data.pkl")
/// ```
public struct ZipArchive: @unchecked Sendable {
    public let url: URL
    public let entries: [ZipEntry]
    private let data: Data
    private var fileName: String { url.path }

    public init(url: URL) throws {
        let data: Data
        if let problem = FileProblem.readProblem(url) { throw ArchiveError.unreadable(file: url.path, reason: problem) }
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ArchiveError.unreadable(file: url.path, reason: FileProblem.describe(error))
        }
        try self.init(data: data, url: url)
    }

    /// An archive held in memory; `url` is used only in error messages.
    public init(data: Data, url: URL) throws {
        self.url = url
        self.data = data
        self.entries = try data.withUnsafeBytes { raw in try ZipArchive.readDirectory(ByteReader(bytes: raw), file: url.path) }
    }

    /// The most a deflate stream can expand (1032:1), with a little slack.
    static let maxDeflateRatio = 1040

    public func entry(named name: String) -> ZipEntry? { entries.first { $0.name == name } }

    /// The uncompressed bytes of the member `name`.
    public func data(named name: String) throws -> Data {
        guard let e = entry(named: name) else { throw ArchiveError.missingEntry(file: fileName, entry: name) }
        return try data(for: e)
    }

    /// The most bytes one member may inflate to (4 GiB − 1: far above any checkpoint tensor or worksheet; larger
    /// claims come from corrupt or hostile files).
    public static let maxMemberSize = Int(UInt32.max)

    /// The uncompressed bytes of `entry`, CRC-checked. With `prefix` smaller than the member, only the first `prefix`
    /// bytes are inflated (what a tensor needs of a larger storage member); the CRC, which covers the whole member, is
    /// then not checked.
    public func data(for entry: ZipEntry, prefix: Int? = nil) throws -> Data {
        let file = fileName
        let partial = prefix.map { $0 >= 0 && $0 < entry.uncompressedSize } ?? false
        return try data.withUnsafeBytes { raw -> Data in
            let r = ByteReader(bytes: raw)
            let lh = entry.localHeaderOffset
            guard r.u32(lh) == 0x0403_4b50, let nameLen = r.u16(lh + 26), let extraLen = r.u16(lh + 28) else {
                throw ArchiveError.corrupt(file: file, reason: "bad local header for '\(entry.name)'")
            }
            let start = lh + 30 + Int(nameLen) + Int(extraLen)
            guard start >= 0, start <= raw.count, entry.compressedSize <= raw.count - start else {
                throw ArchiveError.corrupt(file: file, reason: "member '\(entry.name)' extends past the end of the file (truncated?)")
            }
            let payload = UnsafeRawBufferPointer(rebasing: raw[start..<(start + entry.compressedSize)])
            guard partial || entry.uncompressedSize <= ZipArchive.maxMemberSize else {
                throw ArchiveError.unsupported(file: file, reason: "member '\(entry.name)' declares \(entry.uncompressedSize) bytes, more than the limit of \(ZipArchive.maxMemberSize) for one member")
            }
            let out: Data
            switch entry.method {
            case 0:
                guard entry.compressedSize == entry.uncompressedSize else {
                    throw ArchiveError.corrupt(file: file, reason: "stored member '\(entry.name)' has inconsistent sizes")
                }
                out = partial ? Data(UnsafeRawBufferPointer(rebasing: payload[0..<prefix!])) : Data(payload)
            case 8:
                // Deflate cannot expand data more than ~1032:1; a larger claim is corrupt (and must not drive allocation).
                let (bound, overflow) = entry.compressedSize.multipliedReportingOverflow(by: ZipArchive.maxDeflateRatio)
                guard overflow || entry.uncompressedSize <= bound + 1024 else {
                    throw ArchiveError.corrupt(file: file, reason: "member '\(entry.name)' claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed")
                }
                out = try Inflate.raw(payload, expectedSize: entry.uncompressedSize, prefix: partial ? prefix : nil, file: file, what: entry.name)
            default:
                throw ArchiveError.unsupported(file: file, reason: "compression method \(entry.method) of '\(entry.name)'")
            }
            if partial { return out }
            guard ZipArchive.crc32(out) == entry.crc32 else {
                throw ArchiveError.corrupt(file: file, reason: "CRC mismatch in member '\(entry.name)'")
            }
            return out
        }
    }

    /// CRC-32 of `data`, in pieces that fit zlib's 32-bit length.
    static func crc32(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { b -> UInt32 in
            guard let base = b.bindMemory(to: UInt8.self).baseAddress else { return 0 }
            var crc: uLong = 0
            var done = 0
            while done < b.count {
                let n = min(b.count - done, Int(UInt32.max))
                crc = CZlib.crc32(crc, base + done, uInt(n))
                done += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    private static func readDirectory(_ r: ByteReader, file: String) throws -> [ZipEntry] {
        let n = r.bytes.count
        guard n >= 22 else { throw ArchiveError.notAZip(file: file) }
        // End of central directory: search backwards over the maximal comment length.
        var eocd = -1
        var i = n - 22
        let lowest = max(0, n - 22 - 65_535)
        while i >= lowest {
            if r.u32(i) == 0x0605_4b50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw ArchiveError.notAZip(file: file) }
        var count = Int(r.u16(eocd + 10)!)
        var cdSize = Int(r.u32(eocd + 12)!)
        var cdOffset = Int(r.u32(eocd + 16)!)
        // ZIP64 end-of-central-directory locator precedes the EOCD.
        if eocd >= 20, r.u32(eocd - 20) == 0x0706_4b50, let z64 = r.u64(eocd - 12) {
            let z = Int(clamping: z64)
            guard r.u32(z) == 0x0606_4b50, let c = r.u64(z + 32), let s = r.u64(z + 40), let o = r.u64(z + 48) else {
                throw ArchiveError.corrupt(file: file, reason: "bad ZIP64 end-of-central-directory record")
            }
            count = Int(clamping: c); cdSize = Int(clamping: s); cdOffset = Int(clamping: o)
        }
        guard cdOffset >= 0, cdSize >= 0, cdOffset <= n, cdSize <= n - cdOffset else {
            throw ArchiveError.corrupt(file: file, reason: "central directory lies outside the file (truncated?)")
        }
        // Every central-directory record takes at least 46 bytes: a larger count is a lie (never trust it for allocation).
        guard count >= 0, count <= cdSize / 46 else {
            throw ArchiveError.corrupt(file: file, reason: "central directory claims \(count) entries in \(cdSize) bytes")
        }
        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        var p = cdOffset
        for index in 0..<count {
            guard r.u32(p) == 0x0201_4b50, let method = r.u16(p + 10), let crc = r.u32(p + 16),
                  let csize32 = r.u32(p + 20), let usize32 = r.u32(p + 24), let nameLen = r.u16(p + 28),
                  let extraLen = r.u16(p + 30), let commentLen = r.u16(p + 32), let off32 = r.u32(p + 42),
                  p <= n - 46 - Int(nameLen) - Int(extraLen)
            else { throw ArchiveError.corrupt(file: file, reason: "bad central directory record #\(index)") }
            let nameBytes = UnsafeRawBufferPointer(rebasing: r.bytes[(p + 46)..<(p + 46 + Int(nameLen))])
            let name = String(decoding: nameBytes, as: UTF8.self)
            var csize = Int(csize32), usize = Int(usize32), offset = Int(off32)
            // ZIP64 extended information extra field (id 0x0001): present fields follow in fixed order.
            var e = p + 46 + Int(nameLen)
            let eEnd = e + Int(extraLen)
            while e + 4 <= eEnd {
                let id = r.u16(e)!, size = Int(r.u16(e + 2)!)
                if id == 0x0001 {
                    var q = e + 4
                    if usize32 == 0xFFFF_FFFF, let v = r.u64(q) { usize = Int(clamping: v); q += 8 }
                    if csize32 == 0xFFFF_FFFF, let v = r.u64(q) { csize = Int(clamping: v); q += 8 }
                    if off32 == 0xFFFF_FFFF, let v = r.u64(q) { offset = Int(clamping: v); q += 8 }
                }
                e += 4 + size
            }
            guard offset >= 0, offset < n, csize >= 0, usize >= 0 else {
                throw ArchiveError.corrupt(file: file, reason: "member '\(name)' has an out-of-range offset or size (truncated?)")
            }
            entries.append(ZipEntry(name: name, method: method, crc32: crc, compressedSize: csize,
                                    uncompressedSize: usize, localHeaderOffset: offset))
            p += 46 + Int(nameLen) + Int(extraLen) + Int(commentLen)
        }
        return entries
    }
}
