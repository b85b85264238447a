import CLIP
import Foundation
import IQAModel
import IQATestSupport
import Testing

@Suite("ipiqa import / export / score --clip / train --init: official PyTorch checkpoints through the binary", .serialized)
struct OfficialInteropCLITests {
    @Test("import, score the official file directly, export back, fine-tune with --init; bad input fails naming the file and writes nothing")
    func workflow() throws {
        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        // An official checkpoint (written by our exporter from a tiny model on the run's CLIP).
        var config = IPIQAConfiguration(outputs: 2)
        config.resolution = 64
        config.qaToken = .table
        config.dropout = 0
        let official = data.file("checkpoint_best.pth")
        try OfficialExport.write(try IPIQAModel(clip: CLIPModel.load(data.clip), config: config), format: .official, epoch: 4, to: official)

        let model = data.file("imported.safetensors")
        let (status, _, err) = try Binary.run(["import", "--official", official.path, "--clip", data.clip.path, "--out", model.path])
        #expect(status == 0 && err.contains("qa-token table") && err.contains("epoch 4"), "\(err)")

        let image = data.images.appendingPathComponent(data.names[0]).path
        let direct = try Binary.run(["score", "--model", official.path, "--clip", data.clip.path, "--image", image, "--prompt", "a red bicycle", "--json"])
        let viaFile = try Binary.run(["score", "--model", model.path, "--image", image, "--prompt", "a red bicycle", "--json"])
        #expect(direct.0 == 0 && viaFile.0 == 0 && direct.1 == viaFile.1 && direct.1.contains("alignment"), "\(direct) \(viaFile)")
        let hint = try Binary.run(["score", "--model", official.path, "--image", image, "--prompt", "a red bicycle"])
        #expect(hint.0 != 0 && hint.2.contains(official.path) && hint.2.contains("--clip"), "\(hint.2)")

        let back = data.file("back.pth")
        let exported = try Binary.run(["export", "--model", model.path, "--format", "official", "--out", back.path])
        #expect(exported.0 == 0, "\(exported.2)")
        #expect(try Data(contentsOf: back) == Data(contentsOf: official), "export of the import is the same file")

        let run = data.file("run")
        let trained = try Binary.run(["train", "--init", model.path, "--dataset", "agiqa-3k", "--labels", data.labels.path, "--root", data.images.path,
                                      "--epochs", "1", "--splits", "1", "--batch-size", "4", "--lr", "1e-4", "--threads", "1", "--out", run.path, "--no-plots"])
        #expect(trained.0 == 0, "\(trained.2)")
        let manifest = try String(contentsOf: run.appendingPathComponent("run.json"), encoding: .utf8)
        #expect(manifest.contains("\"initModel\"") && manifest.contains("\"textExtras\" : \"official\"") && manifest.contains("\"qaToken\" : \"table\""), "\(manifest)")

        // Bad input: another resolution than trained; a head that does not fit the dataset; a foreign file. Nothing written.
        let never = data.file("never.safetensors")
        let resolution = try Binary.run(["import", "--official", official.path, "--clip", data.clip.path, "--out", never.path, "--resolution", "512"])
        #expect(resolution.0 != 0 && resolution.2.contains(official.path) && resolution.2.contains("trained at 64 px"), "\(resolution.2)")
        let foreign = try Binary.run(["import", "--official", data.clip.path, "--clip", data.clip.path, "--out", never.path])
        #expect(foreign.0 != 0 && foreign.2.contains(data.clip.path) && foreign.2.contains("CLIP"), "\(foreign.2)")
        #expect(!FileManager.default.fileExists(atPath: never.path))
        let wrongHead = try Binary.run(["train", "--init", model.path, "--dataset", "agiqa-3k", "--labels", data.labels.path, "--root", data.images.path,
                                        "--head", "linear", "--out", data.file("run2").path])
        #expect(wrongHead.0 != 0 && wrongHead.2.contains(model.path) && wrongHead.2.contains("head"), "\(wrongHead.2)")
        #expect(!FileManager.default.fileExists(atPath: data.file("run2").path))
        // A one-output official checkpoint cannot evaluate the two-score AGIQA-3k.
        config.outputs = 1
        config.outputNames = ["score"]
        let single = data.file("single.pth")
        try OfficialExport.write(try IPIQAModel(clip: CLIPModel.load(data.clip), config: config), format: .official, to: single)
        let mismatch = try Binary.run(["evaluate", "--model", single.path, "--clip", data.clip.path, "--dataset", "agiqa-3k",
                                       "--labels", data.labels.path, "--root", data.images.path])
        #expect(mismatch.0 != 0 && mismatch.2.contains("single.pth") && mismatch.2.contains("the dataset has 2"), "\(mismatch.2)")
    }
}
