import Foundation
import Testing
@testable import IQAData

/// The level-5 MAT-file reader against files written by scipy.io.savemat (Scripts/fixtures_matfile.py; values exact,
/// they are stored and read as IEEE doubles or integers), and its refusals of hostile or unsupported files.
@Suite("MAT-file reader")
struct MATFileTests {
    static let mos = [10.5, 20.25, 30.0, 47.125, 99.0]

    static func mat(_ name: String) throws -> URL { try Fixtures.url("MAT/" + name) }

    static func message(_ body: () throws -> Void) throws -> String {
        try Fixtures.dataError(body).localizedDescription
    }

    @Test("uncompressed and compressed files give the same variables, values exact", arguments: ["plain.mat", "compressed.mat"])
    func readsSavemat(_ name: String) throws {
        let variables = try MATFile.read(Self.mat(name))
        #expect(variables.map(\.name) == ["MOSz", "counts", "label"])
        let mos = try MATFile.matrix(named: "MOSz", in: Self.mat(name))
        #expect(mos.dimensions == [5, 1])
        #expect(mos.className == "double")
        #expect(try mos.vector(file: name) == Self.mos)
        let counts = try MATFile.matrix(named: "counts", in: Self.mat(name))
        #expect(counts.dimensions == [2, 3])
        #expect(counts.className == "int16")
        #expect(counts.values == [1, 4, -2, 5, 3, -6])   // column-major
        #expect(variables[2] == .other(name: "label", kind: "character array"))
    }

    @Test("every stored numeric type converts to Double")
    func numericTypes() throws {
        let url = try Self.mat("typed.mat")
        #expect(try MATFile.matrix(named: "u8", in: url).values == [1, 3, 2, 250])
        #expect(try MATFile.matrix(named: "f32", in: url).values == [0.25, 0.75, 0.5, 62.5])
        #expect(try MATFile.matrix(named: "i32", in: url).values == [-1, -3, -2, -250])
        #expect(try MATFile.matrix(named: "i64", in: url).values == [1e9, 3e9, 2e9, 250e9])
        #expect(try MATFile.matrix(named: "u16", in: url).values == [1, 3, 2, 250])
    }

    @Test("a big-endian file (mark 'MI') reads the same numbers")
    func bigEndian() throws {
        #expect(try MATFile.matrix(named: "MOSz", in: Self.mat("bigendian.mat")).values == [1.5, -2.0, 3.25])
    }

    @Test("a cell array, a complex array, a matrix and a missing name are refused by name")
    func wrongKinds() throws {
        let cell = try Self.mat("cell.mat")
        #expect(try Self.message { _ = try MATFile.matrix(named: "MOSz", in: cell) }.contains("variable 'MOSz' is a cell array, not a numeric matrix"))
        #expect(try Self.message { _ = try MATFile.matrix(named: "z", in: cell) }.contains("complex double array"))
        #expect(try Self.message { _ = try MATFile.matrix(named: "mos", in: cell) }.contains("no variable 'mos' (the file holds 'MOSz', 'z')"))
        let plain = try Self.mat("plain.mat")
        #expect(try Self.message { _ = try MATFile.matrix(named: "counts", in: plain).vector(file: plain.path) }.contains("2×3 matrix, not a vector"))
    }

    @Test("every truncation of an uncompressed and a compressed file is an error naming the file, never a crash",
          arguments: ["plain.mat", "compressed.mat", "typed.mat", "bigendian.mat"])
    func truncations(_ name: String) throws {
        let data = try Data(contentsOf: Self.mat(name))
        let whole = try MATFile.parse(data, file: name)
        for cut in 0..<data.count {
            // A cut exactly between two variables leaves a shorter valid file; no cut may leave a partial variable.
            guard let variables = try? MATFile.parse(data.prefix(cut), file: "cut.mat") else { continue }
            #expect(cut >= 128 && variables == Array(whole.prefix(variables.count)) && variables.count < whole.count,
                    "prefix of \(cut) bytes of \(name) accepted with \(variables.count) variables")
        }
        let e = try Fixtures.dataError { _ = try MATFile.parse(data.prefix(data.count - 9), file: "cut.mat") }
        #expect(e.localizedDescription.hasPrefix("cut.mat: not a readable MAT-file: "))
    }

    @Test("200 random byte flips of each fixture are refused or read, never a crash")
    func flips() throws {
        var rng = SystemRandomNumberGenerator()
        for name in ["plain.mat", "compressed.mat", "typed.mat"] {
            let data = try Data(contentsOf: Self.mat(name))
            for _ in 0..<200 {
                var copy = data
                let at = Int.random(in: 128..<copy.count, using: &rng)
                copy[at] = UInt8.random(in: 0...255, using: &rng)
                _ = try? MATFile.parse(copy, file: "flip.mat")
            }
        }
    }

    @Test("MAT v7.3 (HDF5), MATLAB 4 and non-MAT files are refused with what to do")
    func unsupportedFormats() throws {
        var v73 = Data("MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".utf8)
        v73.append(Data(repeating: 0x20, count: 128 - v73.count))
        v73.append(Data(repeating: 0, count: 512 - v73.count))
        v73.append(contentsOf: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A])
        let hdf5 = try Self.message { _ = try MATFile.parse(v73, file: "mosz1.mat") }
        #expect(hdf5.contains("mosz1.mat: not a readable MAT-file: a MATLAB 7.3 MAT-file (an HDF5 container)"))
        #expect(hdf5.contains("'-v7'"))
        let v4 = try Self.message { _ = try MATFile.parse(Data(repeating: 0, count: 200), file: "old.mat") }
        #expect(v4.contains("no 'IM'/'MI' endian mark"))
        #expect(try Self.message { _ = try MATFile.parse(Data("MATLAB".utf8), file: "short.mat") }.contains("shorter than the 128-byte header"))
    }

    @Test("dimensions claiming more values than the limit, or than the bytes hold, are refused before any allocation")
    func hostileSizes() throws {
        var data = try Data(contentsOf: Self.mat("plain.mat"))
        // plain.mat's first matrix: tag at 128, flags 136..<152, dimensions tag at 152, values at 160 (5, 1).
        data.replaceSubrange(160..<168, with: [0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(try Self.message { _ = try MATFile.parse(data, file: "huge.mat") }.contains("hold more than \(MATFile.maxValues) values"))
        data.replaceSubrange(160..<168, with: [6, 0, 0, 0, 1, 0, 0, 0])
        #expect(try Self.message { _ = try MATFile.parse(data, file: "six.mat") }.contains("'MOSz' holds 5 values (40 bytes), its dimensions 6×1 say 6"))
        var claim = try Data(contentsOf: Self.mat("plain.mat"))
        claim.replaceSubrange(132..<136, with: [0xF0, 0xFF, 0xFF, 0x7F])
        #expect(try Self.message { _ = try MATFile.parse(claim, file: "claim.mat") }.contains("offset 128: truncated: an element of type 14 claims 2147483632 bytes"))
    }

    @Test("a directory or missing file is an unreadable-file error")
    func notAFile() throws {
        let e = try Fixtures.dataError { _ = try MATFile.read(Self.mat("aigciqa2023")) }
        guard case .unreadable = e else { Issue.record("got \(e)"); return }
    }
}
