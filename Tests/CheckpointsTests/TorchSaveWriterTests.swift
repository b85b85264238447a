import Archive
import Foundation
import Testing
@testable import Checkpoints

@Suite("torch.save writer: tensors and plain containers, read back by our loader")
struct TorchSaveWriterTests {
    @Test("A written checkpoint reads back: every tensor's shape and values, and the plain object with ints, floats, strings, None, bools, lists, tuples and nested dicts")
    func roundTrip() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("checkpoint_best.pth")
        let w = (0..<6).map { Float($0) * 0.25 - 0.5 }
        let conv = (0..<(2 * 3 * 2 * 2)).map { Float($0).squareRoot() }
        let config: TorchSaveValue = .dict([("model", .dict([("input_resolution", .int(512)), ("output_dim", .none), ("qa_token", .bool(true)),
                                                             ("dropout_rate", .float(0.5)), ("base_ckpt", .string("cache/ckpt/RN50 é.pt"))])),
                                            ("run", .dict([("big", .int(5_000_000_000)), ("neg", .int(-7)), ("betas", .tuple([.float(0.9), .float(0.999)])),
                                                           ("list", .list([.int(1), .string("a"), .list([])]))]))])
        try TorchSaveWriter.write(.dict([
            ("model", .orderedDict([("head.weight", .floatTensor(shape: [2, 3], values: w)), ("conv.weight", .floatTensor(shape: [2, 3, 2, 2], values: conv)),
                                    ("bn.num_batches_tracked", .longTensor(shape: [], values: [12])), ("empty", .floatTensor(shape: [0, 4], values: []))])),
            ("config", config), ("scaler", .none), ("epoch", .int(9)),
        ]), to: url)

        let back = try CheckpointLoader.load(url)
        #expect(back.format == .torchZip)
        #expect(back.keys == ["head.weight", "conv.weight", "bn.num_batches_tracked", "empty"])
        #expect(back.tensors["head.weight"] == CheckpointTensor(shape: [2, 3], dtype: .f32, values: w))
        #expect(back.tensors["conv.weight"] == CheckpointTensor(shape: [2, 3, 2, 2], dtype: .f32, values: conv))
        #expect(back.tensors["bn.num_batches_tracked"] == CheckpointTensor(shape: [], dtype: .i64, values: [12]))
        #expect(back.tensors["empty"]?.shape == [0, 4])
        let object = try #require(back.object)
        #expect(object["epoch"] == .int(9) && object["scaler"] == PickledObject.none)
        #expect(object["model"]?["head.weight"] == .tensor(shape: [2, 3]))
        #expect(object["config"]?["model"]?["base_ckpt"]?.stringValue == "cache/ckpt/RN50 é.pt")
        #expect(object["config"]?["model"]?["output_dim"]?.isNone == true)
        #expect(object["config"]?["model"]?["qa_token"]?.boolValue == true)
        #expect(object["config"]?["model"]?["dropout_rate"]?.doubleValue == 0.5)
        #expect(object["config"]?["run"]?["big"] == .int(5_000_000_000) && object["config"]?["run"]?["neg"] == .int(-7))
        #expect(object["config"]?["run"]?["betas"] == .list([.float(0.9), .float(0.999)]))
        #expect(object["config"]?["run"]?["list"] == .list([.int(1), .string("a"), .list([])]))
        // Members: data.pkl, byteorder, one storage per tensor, version.
        let names = try ZipArchive(url: url).entries.map(\.name)
        #expect(names == ["archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/data/1", "archive/data/2", "archive/data/3", "archive/version"])
    }

    @Test("Inconsistent values are refused with the file named, and nothing is written")
    func refused() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.pth")
        let cases: [(TorchSaveValue, String)] = [
            (.orderedDict([("a", .floatTensor(shape: [2, 2], values: [1, 2, 3]))]), "shape [2, 2] cannot hold 3 values"),
            (.dict([("a", .int(1)), ("a", .int(2))]), "'a' appears twice"),
        ]
        for (value, message) in cases {
            do {
                try TorchSaveWriter.write(value, to: url)
                Issue.record("no error for \(message)")
            } catch let e as CheckpointError {
                #expect(e.file == url.path && e.kind == .write && e.message.contains(message), "\(e)")
            }
            #expect(!FileManager.default.fileExists(atPath: url.path))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "no temporary file left")
        }
    }
}
