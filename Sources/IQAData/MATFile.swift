import Archive
import Foundation

/// One numeric variable of a MAT-file: its name, its dimensions in MATLAB order (rows first) and its values in
/// MATLAB's column-major order, converted to `Double` whatever the stored type (MATLAB stores a `double` array in the
/// smallest integer type that holds its values, so a `double` variable may arrive as `uint8`).
///
/// Element `(i, j)` of a 2-D matrix is `values[i + j · dimensions[0]]`.
///
/// ```swift
/// let mos = try MATFile.matrix(named: "MOSz", in: URL(fileURLWithPath: "DATA/MOS/mosz1.mat"))
/// mos.dimensions      // [2400, 1]
/// try mos.vector()    // 2,400 values
/// ```
public struct MATMatrix: Sendable, Equatable {
    public let name: String
    public let dimensions: [Int]
    public let values: [Double]
    /// The MATLAB class it was saved as ("double", "int16", …).
    public let className: String

    public init(name: String, dimensions: [Int], values: [Double], className: String) {
        self.name = name
        self.dimensions = dimensions
        self.values = values
        self.className = className
    }

    /// The values of a vector (every dimension but one is 1: `N×1`, `1×N`, `1×1×N`); a matrix is an error.
    public func vector(file: String) throws -> [Double] {
        guard dimensions.filter({ $0 != 1 }).count <= 1 else {
            throw DataError.badMAT(file: file, reason: "variable '\(name)' is a \(dimensions.map(String.init).joined(separator: "×")) matrix, not a vector")
        }
        return values
    }
}

/// A variable of a MAT-file: a numeric matrix (read), or anything else (named with its kind, its content skipped).
public enum MATVariable: Sendable, Equatable {
    case numeric(MATMatrix)
    case other(name: String, kind: String)

    public var name: String {
        switch self {
        case let .numeric(m): return m.name
        case let .other(name, _): return name
        }
    }
}

/// Reads the numeric matrices of a MATLAB level-5 MAT-file (MATLAB's default up to v7; `scipy.io.savemat` writes it),
/// after the MathWorks "MAT-File Format" document: a 128-byte header (text, subsystem offset, version `0x0100`, the
/// endian mark `IM`/`MI` at byte 126), then tagged data elements. Each tag is a type and a byte count (8 bytes), or a
/// *small element* packing type, count ≤ 4 and data in 8 bytes. A variable is an `miMATRIX` (14) element holding
/// sub-elements: array flags (class, complex bit), dimensions (`int32`), name (`int8`), real part (any numeric
/// type). `miCOMPRESSED` (15) elements hold a zlib stream of further elements, inflated through the bounded
/// ``Archive/Inflate/zlib(_:limit:file:what:)``.
///
/// Hardened like the other parsers of untrusted input: every offset and count is checked against the bytes that hold
/// it, sizes are limited (``maxFileSize``, ``maxInflatedSize`` over the whole file, ``maxValues``, ``maxDimensions``),
/// compressed elements inside compressed elements are refused, and every error names the file and the byte offset.
/// MAT v7.3 files (HDF5 containers) and MATLAB 4 files are refused with an explanation of how to re-save them.
/// Cells, structures, sparse, character and complex arrays are listed as ``MATVariable/other(name:kind:)``.
///
/// ```swift
/// for v in try MATFile.read(URL(fileURLWithPath: "mosz1.mat")) { print(v.name) }   // MOSz
/// ```
public enum MATFile {
    /// The largest MAT-file read (AIGCIQA2023's MOS files are about 20 KB).
    public static let maxFileSize = 256 << 20
    /// The most bytes all compressed elements of one file may inflate to, together.
    public static let maxInflatedSize = 256 << 20
    /// The most values one matrix may hold.
    public static let maxValues = 1 << 25
    /// The most dimensions one array may have.
    public static let maxDimensions = 32
    /// The most variables one file may hold.
    public static let maxVariables = 65_536

    /// Reads every variable of the file at `url`.
    public static func read(_ url: URL) throws -> [MATVariable] {
        if let problem = FileProblem.readProblem(url, regularFileOnly: true) {
            throw DataError.unreadable(file: url.path, reason: problem)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard size <= maxFileSize else {
            throw DataError.badMAT(file: url.path, reason: "\(size) bytes, more than the \(maxFileSize)-byte limit of a label file")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw DataError.unreadable(file: url.path, reason: FileProblem.describe(error)) }
        return try parse(data, file: url.path)
    }

    /// The numeric variable `name` of the file at `url`; its absence or another kind is an error listing what is there.
    public static func matrix(named name: String, in url: URL) throws -> MATMatrix {
        let variables = try read(url)
        guard let found = variables.first(where: { $0.name == name }) else {
            let names = variables.map { "'\($0.name)'" }.joined(separator: ", ")
            throw DataError.badMAT(file: url.path, reason: "no variable '\(name)' (the file holds \(names.isEmpty ? "no variables" : names))")
        }
        switch found {
        case let .numeric(m): return m
        case let .other(_, kind): throw DataError.badMAT(file: url.path, reason: "variable '\(name)' is a \(kind), not a numeric matrix")
        }
    }

    /// Parses MAT-file bytes; `file` names the file in errors.
    public static func parse(_ data: Data, file: String) throws -> [MATVariable] {
        let bytes = [UInt8](data)
        let endian = try header(bytes, file: file)
        var parser = MATElementParser(file: file, bigEndian: endian)
        try parser.elements(MATBytes(bytes: bytes, bigEndian: endian), from: 128, compressed: false, context: "")
        return parser.variables
    }

    /// Checks the 128-byte header; returns whether the file is big-endian.
    private static func header(_ b: [UInt8], file: String) throws -> Bool {
        let hdf5: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        let text = String(decoding: b.prefix(116), as: UTF8.self)
        if text.hasPrefix("MATLAB 7.3") || Array(b.prefix(8)) == hdf5 || (b.count >= 520 && Array(b[512..<520]) == hdf5) {
            throw DataError.badMAT(file: file, reason: "a MATLAB 7.3 MAT-file (an HDF5 container), which this reader does not read. "
                + "Re-save it as a level-5 MAT-file: in MATLAB `s = load(F); save(F, '-struct', 's', '-v7')`, or in Python "
                + "`scipy.io.savemat(F, {k: h5py.File(F)[k][()].T for k in ('MOSz',)})`")
        }
        guard b.count >= 128 else {
            throw DataError.badMAT(file: file, reason: "\(b.count) bytes, shorter than the 128-byte header of a level-5 MAT-file")
        }
        let bigEndian: Bool
        switch (b[126], b[127]) {
        case (0x49, 0x4D): bigEndian = false      // "IM"
        case (0x4D, 0x49): bigEndian = true       // "MI"
        default:
            throw DataError.badMAT(file: file, reason: "no 'IM'/'MI' endian mark at byte 126: not a level-5 MAT-file "
                + "(MATLAB 4 files and other formats are not read; re-save with MATLAB's save -v7 or scipy.io.savemat)")
        }
        let version = bigEndian ? (UInt16(b[124]) << 8 | UInt16(b[125])) : (UInt16(b[125]) << 8 | UInt16(b[124]))
        guard version == 0x0100 else {
            throw DataError.badMAT(file: file, reason: "header version 0x\(String(version, radix: 16)), expected 0x100 (a level-5 MAT-file)")
        }
        return bigEndian
    }
}
