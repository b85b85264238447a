import Foundation
import Testing
@testable import Checkpoints

@Suite("Bad and hostile files give clear errors naming the file, never a crash")
struct HostileInputTests {
    @Test("a pickle calling os.system is refused, naming the file, member and global")
    func disallowedGlobal() {
        let url = Fixtures.url("evil_global.pt")
        expectCheckpointError(.disallowedGlobal, mentioning: [url.path, "archive/data.pkl", "disallowed global 'os.system'", "offset 2"]) {
            _ = try CheckpointLoader.load(url)
        }
    }

    @Test("an unknown opcode is reported with its byte value and offset")
    func unknownOpcode() {
        let url = Fixtures.url("bad_opcode.pt")
        expectCheckpointError(.unknownOpcode, mentioning: [url.path, "archive/data.pkl", "unknown pickle opcode 0xff", "offset 2"]) {
            _ = try CheckpointLoader.load(url)
        }
    }

    @Test("a state-dict pickle cut in the middle is reported as truncated")
    func cutPickle() {
        let url = Fixtures.url("cut_pickle.pt")
        expectCheckpointError(.truncated, mentioning: [url.path, "archive/data.pkl", "truncated"]) {
            _ = try CheckpointLoader.load(url)
        }
    }

    @Test("a zip truncated at any of 40 points throws a CheckpointError naming the file")
    func truncatedZip() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = try Data(contentsOf: Fixtures.url("tiny_text_sd.pt"))
        let cut = dir.appendingPathComponent("cut.pt")
        for i in 1...40 {
            try full.prefix(full.count * i / 41).write(to: cut)
            do {
                _ = try CheckpointLoader.load(cut)
                Issue.record("cut at \(full.count * i / 41) loaded")
            } catch let e as CheckpointError {
                #expect(e.localizedDescription.hasPrefix(cut.path + ": "))
            }
        }
        try full.prefix(full.count / 2).write(to: cut)
        expectCheckpointError(.archive, mentioning: [cut.path, "truncated"]) { _ = try CheckpointLoader.load(cut) }
    }

    @Test("a flipped byte inside a tensor storage is caught by the CRC check")
    func corruptStorage() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var bytes = [UInt8](try Data(contentsOf: Fixtures.url("tiny_text_sd.pt")))
        // Storage "…/data/0": its payload follows the local header (30 bytes + name + extra field).
        let name = Array("/data/0".utf8)
        let nameEnd = try #require((0..<(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name }) + name.count
        let header = try #require((0..<nameEnd).last { bytes[$0] == 0x50 && bytes[$0 + 1] == 0x4B && bytes[$0 + 2] == 3 && bytes[$0 + 3] == 4 })
        let payload = header + 30 + Int(bytes[header + 26]) + Int(bytes[header + 27]) << 8 + Int(bytes[header + 28]) + Int(bytes[header + 29]) << 8
        bytes[payload + 5] ^= 0x55
        let url = dir.appendingPathComponent("flipped.pt")
        try Data(bytes).write(to: url)
        expectCheckpointError(.archive, mentioning: [url.path, "CRC"]) { _ = try CheckpointLoader.load(url) }
    }

    @Test("a missing file, a folder, an empty file, a legacy pickle and random bytes each get a clear error")
    func notCheckpoints() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.pt")
        expectCheckpointError(.fileNotFound, mentioning: [missing.path, "does not exist"]) { _ = try CheckpointLoader.load(missing) }
        expectCheckpointError(.unreadable, mentioning: [dir.path, "directory"]) { _ = try CheckpointLoader.load(dir) }
        let empty = dir.appendingPathComponent("empty.pt")
        try Data().write(to: empty)
        expectCheckpointError(.unknownFormat, mentioning: [empty.path, "empty"]) { _ = try CheckpointLoader.load(empty) }
        let legacy = dir.appendingPathComponent("legacy.pt")
        try Data([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC]).write(to: legacy)
        expectCheckpointError(.unsupported, mentioning: [legacy.path, "legacy"]) { _ = try CheckpointLoader.load(legacy) }
        let noise = dir.appendingPathComponent("noise.pt")
        try Data("hello, not a model".utf8).write(to: noise)
        expectCheckpointError(.unknownFormat, mentioning: [noise.path, "unrecognised"]) { _ = try CheckpointLoader.load(noise) }
    }


    @Test("safetensors with a bad length, bad JSON, bad dtype, wrong sizes, out-of-range, overlapping or gapped offsets")
    func badSafetensors() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let eight = [UInt8](repeating: 0, count: 8)
        let cases: [(String, [UInt8], String, [String])] = [
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, eight, "badjson", ["bad JSON header"]),
            (#"{"a":{"dtype":"F32","shape":[2]}}"#, eight, "nofield", ["missing field 'data_offsets'", "'a'"]),
            (#"{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}"#, eight, "dtype", ["tensor 'a'", "unsupported dtype 'Q7'"]),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, eight, "size", ["tensor 'a'", "needs 3 elements"]),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,999]}}"#, eight, "range", ["tensor 'a'", "outside the 8-byte data section"]),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, eight, "reversed", ["tensor 'a'", "invalid data_offsets"]),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, eight, "overlap", ["overlap"]),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, eight, "gap", ["tensor 'a'", "gap"]),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, eight, "short", ["cover 4 bytes", "has 8"]),
            (#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, eight, "negative", ["invalid shape"]),
        ]
        for (header, data, name, mentions) in cases {
            let url = try Fixtures.safetensors(header, data: data, in: dir, name: name + ".safetensors")
            expectCheckpointError(.safetensors, mentioning: [url.path] + mentions) { _ = try CheckpointLoader.load(url) }
        }
        // Header length pointing past the end of the file.
        let url = dir.appendingPathComponent("long.safetensors")
        var bytes = [UInt8]()
        withUnsafeBytes(of: UInt64(1_000).littleEndian) { bytes += $0 }
        bytes += Array("{}".utf8)
        try Data(bytes).write(to: url)
        expectCheckpointError(.safetensors, mentioning: [url.path, "header length 1000", "truncated"]) { _ = try CheckpointLoader.load(url) }
    }
}
