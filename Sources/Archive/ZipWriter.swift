import CZlib
import Foundation

/// Writes a zip archive of stored (uncompressed) members, one after another, to an open file — the container of
/// PyTorch's `torch.save`. Each member gets its CRC-32; sizes and offsets must fit the classic (non-ZIP64) format
/// (4 GiB), which every IP-IQA checkpoint does. Member data start on 64-byte boundaries (padding in the local
/// header's extra field), as PyTorch's own writer does, so readers may memory-map them.
///
/// ```swift
/// let zip = ZipWriter(handle: handle)
/// try zip.add("archive/version", Data("3\n".utf8))
/// try zip.finish()
/// ```
public final class ZipWriter {
    private let handle: FileHandle
    private var offset = 0
    private var central = Data()
    private var count = 0
    private let file: String

    /// `file` names the destination in error messages.
    public init(handle: FileHandle, file: String) {
        self.handle = handle
        self.file = file
    }

    /// Appends one stored member.
    public func add(_ name: String, _ data: Data) throws {
        let nameBytes = Array(name.utf8)
        guard !nameBytes.isEmpty, nameBytes.count <= Int(UInt16.max) else { throw ArchiveError.corrupt(file: file, reason: "bad member name '\(name)'") }
        let crc = data.withUnsafeBytes { b in UInt32(CZlib.crc32(0, b.bindMemory(to: UInt8.self).baseAddress, uInt(b.count))) }
        let headerSize = 30 + nameBytes.count
        // Extra field: id 0x4650 ('PF', PyTorch's padding id), then zeros up to the next 64-byte boundary.
        let pad = (64 - (offset + headerSize + 4) % 64) % 64
        let extraLength = 4 + pad
        guard data.count < Int(UInt32.max), offset + headerSize + extraLength + data.count < Int(UInt32.max) else {
            throw ArchiveError.unsupported(file: file, reason: "member '\(name)' would pass the 4 GiB limit of a non-ZIP64 archive")
        }
        var local = Data()
        local.le32(0x0403_4B50); local.le16(20); local.le16(0); local.le16(0); local.le16(0); local.le16(0x21)
        local.le32(crc); local.le32(UInt32(data.count)); local.le32(UInt32(data.count))
        local.le16(UInt16(nameBytes.count)); local.le16(UInt16(extraLength))
        local.append(contentsOf: nameBytes)
        local.le16(0x4650); local.le16(UInt16(pad)); local.append(Data(count: pad))
        try handle.write(contentsOf: local)
        try handle.write(contentsOf: data)

        central.le32(0x0201_4B50); central.le16(20); central.le16(20); central.le16(0); central.le16(0)
        central.le16(0); central.le16(0x21); central.le32(crc); central.le32(UInt32(data.count)); central.le32(UInt32(data.count))
        central.le16(UInt16(nameBytes.count)); central.le16(0); central.le16(0); central.le16(0); central.le16(0)
        central.le32(0); central.le32(UInt32(offset))
        central.append(contentsOf: nameBytes)
        offset += local.count + data.count
        count += 1
    }

    /// Writes the central directory and its end record.
    public func finish() throws {
        guard count < Int(UInt16.max), offset + central.count < Int(UInt32.max) else {
            throw ArchiveError.unsupported(file: file, reason: "too many members or bytes for a non-ZIP64 archive")
        }
        var end = Data()
        end.le32(0x0605_4B50); end.le16(0); end.le16(0); end.le16(UInt16(count)); end.le16(UInt16(count))
        end.le32(UInt32(central.count)); end.le32(UInt32(offset)); end.le16(0)
        try handle.write(contentsOf: central)
        try handle.write(contentsOf: end)
    }
}

extension Data {
    mutating func le16(_ v: UInt16) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func le32(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
}
