import Archive
import Foundation

/// Bounds-checked reads of a MAT-file's bytes in the file's byte order (every read returns nil past the end).
struct MATBytes {
    let bytes: [UInt8]
    let bigEndian: Bool

    var count: Int { bytes.count }

    func unsigned(_ at: Int, _ width: Int) -> UInt64? {
        guard at >= 0, width <= 8, at <= bytes.count - width else { return nil }
        var v: UInt64 = 0
        for i in 0..<width {
            let byte = UInt64(bytes[at + (bigEndian ? i : width - 1 - i)])
            v = v << 8 | byte
        }
        return v
    }

    func u32(_ at: Int) -> UInt32? { unsigned(at, 4).map { UInt32($0) } }
}

/// Walks the data elements of a level-5 MAT-file (see ``MATFile``) and collects its variables.
struct MATElementParser {
    let file: String
    let bigEndian: Bool
    private(set) var variables: [MATVariable] = []
    private var inflated = 0

    init(file: String, bigEndian: Bool) {
        self.file = file
        self.bigEndian = bigEndian
    }

    /// Data types of the format (MAT-File Format, table 1-1) and the bytes of one value of the numeric ones.
    static let miINT8: UInt32 = 1, miUINT32: UInt32 = 6, miINT32: UInt32 = 5, miMATRIX: UInt32 = 14, miCOMPRESSED: UInt32 = 15
    static let numericWidth: [UInt32: Int] = [1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8]
    /// MATLAB array classes (table 1-3); 6…15 are numeric.
    static let classNames: [UInt32: String] = [
        1: "cell array", 2: "structure", 3: "object", 4: "character array", 5: "sparse array", 6: "double", 7: "single",
        8: "int8", 9: "uint8", 10: "int16", 11: "uint16", 12: "int32", 13: "uint32", 14: "int64", 15: "uint64",
    ]

    private func fail(_ context: String, _ offset: Int, _ reason: String) -> DataError {
        .badMAT(file: file, reason: "\(context)offset \(offset): \(reason)")
    }

    /// One tag: the element's type, where its data starts, its byte count, and where the next element starts.
    private func tag(_ b: MATBytes, at: Int, padded: Bool, context: String) throws -> (type: UInt32, data: Int, size: Int, next: Int) {
        guard let first = b.u32(at), let second = b.u32(at + 4) else {
            throw fail(context, at, "truncated: a data element's 8-byte tag runs past the end (\(b.count) bytes)")
        }
        if first >> 16 != 0 {   // small data element: count in the high half, type in the low half, data in the next 4 bytes
            let size = Int(first >> 16)
            guard size <= 4 else { throw fail(context, at, "a small data element claims \(size) bytes (at most 4 fit)") }
            return (first & 0xFFFF, at + 4, size, at + 8)
        }
        let size = Int(second), data = at + 8
        guard size <= b.count - data else {
            throw fail(context, at, "truncated: an element of type \(first) claims \(size) bytes, only \(b.count - data) follow")
        }
        let end = data + size
        return (first, data, size, padded ? min(end + (8 - end % 8) % 8, b.count) : end)
    }

    /// Reads the elements of `b` from `start` to its end (the top level of the file, or an inflated stream).
    mutating func elements(_ b: MATBytes, from start: Int, compressed: Bool, context: String) throws {
        var at = start
        while at < b.count {
            if b.count - at < 8, b.bytes[at...].allSatisfy({ $0 == 0 }) { return }   // trailing padding
            let t = try tag(b, at: at, padded: false, context: context)
            switch t.type {
            case Self.miCOMPRESSED:
                guard !compressed else { throw fail(context, at, "a compressed element inside a compressed element") }
                let budget = MATFile.maxInflatedSize - inflated
                let packed = Data(b.bytes[t.data..<(t.data + t.size)])
                let plain: Data
                do {
                    plain = try Inflate.zlib(packed, limit: max(budget, 0), file: file, what: "the compressed element at offset \(at)")
                } catch let e as ArchiveError {
                    throw DataError.badMAT(file: file, reason: e.localizedDescription.replacingOccurrences(of: file + ": ", with: ""))
                }
                inflated += plain.count
                try elements(MATBytes(bytes: [UInt8](plain), bigEndian: bigEndian), from: 0, compressed: true,
                             context: "\(context)compressed element at offset \(at), ")
            case Self.miMATRIX:
                if t.size > 0 { variables.append(try matrix(b, t.data, t.size, context: context)) }
            default:
                throw fail(context, at, "a top-level element of type \(t.type); a MAT-file holds only matrices (14) and compressed elements (15)")
            }
            guard variables.count <= MATFile.maxVariables else {
                throw fail(context, at, "more than \(MATFile.maxVariables) variables")
            }
            at = t.next
        }
    }

    /// One `miMATRIX` element's content: flags, dimensions, name, and for numeric classes the real part.
    private func matrix(_ b: MATBytes, _ start: Int, _ size: Int, context: String) throws -> MATVariable {
        let body = MATBytes(bytes: Array(b.bytes[start..<(start + size)]), bigEndian: bigEndian)
        let context = "\(context)matrix at offset \(start - 8), "

        let flags = try tag(body, at: 0, padded: true, context: context)
        guard flags.type == Self.miUINT32, flags.size == 8, let word = body.u32(flags.data) else {
            throw fail(context, 0, "array flags must be 8 bytes of uint32 (type \(flags.type), \(flags.size) bytes)")
        }
        let classCode = word & 0xFF, complex = word & 0x800 != 0

        let dims = try tag(body, at: flags.next, padded: true, context: context)
        guard dims.type == Self.miINT32, dims.size % 4 == 0, (2...(4 * MATFile.maxDimensions)).contains(dims.size) else {
            throw fail(context, flags.next, "dimensions must be 2…\(MATFile.maxDimensions) int32 values (type \(dims.type), \(dims.size) bytes)")
        }
        var dimensions: [Int] = []
        var count = 1
        for k in 0..<(dims.size / 4) {
            guard let raw = body.u32(dims.data + 4 * k) else { throw fail(context, dims.data, "truncated dimensions") }
            let d = Int(Int32(bitPattern: raw))
            guard d >= 0 else { throw fail(context, dims.data + 4 * k, "negative dimension \(d)") }
            dimensions.append(d)
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= MATFile.maxValues else {
                throw fail(context, dims.data, "dimensions \(dimensions.map(String.init).joined(separator: "×"))… hold more than \(MATFile.maxValues) values")
            }
            count = product
        }

        let nameTag = try tag(body, at: dims.next, padded: true, context: context)
        guard nameTag.type == Self.miINT8 || nameTag.type == 2, nameTag.size <= 4096 else {
            throw fail(context, dims.next, "the array name must be int8 text of at most 4096 bytes (type \(nameTag.type), \(nameTag.size) bytes)")
        }
        let name = String(decoding: body.bytes[nameTag.data..<(nameTag.data + nameTag.size)], as: UTF8.self)

        guard let className = Self.classNames[classCode] else {
            throw fail(context, 0, "unknown array class \(classCode) of variable '\(name)'")
        }
        guard (6...15).contains(classCode) else { return .other(name: name, kind: className) }
        if complex { return .other(name: name, kind: "complex \(className) array") }

        let real = try tag(body, at: nameTag.next, padded: true, context: context)
        guard let width = Self.numericWidth[real.type] else {
            throw fail(context, nameTag.next, "the values of '\(name)' have type \(real.type), not a numeric type")
        }
        guard real.size == count * width else {
            throw fail(context, nameTag.next, "'\(name)' holds \(real.size / width) values (\(real.size) bytes), its dimensions \(dimensions.map(String.init).joined(separator: "×")) say \(count)")
        }
        var values: [Double] = []
        values.reserveCapacity(count)
        for k in 0..<count {
            guard let raw = body.unsigned(real.data + k * width, width) else { throw fail(context, real.data, "truncated values") }
            values.append(Self.value(raw, type: real.type))
        }
        return .numeric(MATMatrix(name: name, dimensions: dimensions, values: values, className: className))
    }

    /// One stored value of numeric data type `type`, its `width` bytes already assembled in `raw`.
    private static func value(_ raw: UInt64, type: UInt32) -> Double {
        switch type {
        case 1: return Double(Int8(truncatingIfNeeded: raw))
        case 3: return Double(Int16(truncatingIfNeeded: raw))
        case 5: return Double(Int32(truncatingIfNeeded: raw))
        case 7: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
        case 9: return Double(bitPattern: raw)
        case 12: return Double(Int64(bitPattern: raw))
        default: return Double(raw)   // unsigned types 2, 4, 6, 13
        }
    }
}
