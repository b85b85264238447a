import CLIP
import Foundation
import IQAModel
import IQATestSupport
import IQATraining
import Testing

@Suite("train --init: every split starts from a trained model file")
struct InitModelTests {
    @Test("The split's model holds the file's tensors exactly (architecture adopted); a run that needs another architecture is refused before anything is written")
    func initModel() throws {
        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        let file = try TrainerFixtures.modelFile(in: data.directory) { c in c.qaToken = .table; c.dropout = 0.3 }
        let (saved, _) = try IPIQACheckpoint.load(file)

        var config = MiniAGIQA3k.config()
        config.adoptArchitecture(of: saved.config, textExtras: .official)
        config.dropout = 0.1                                   // dropout may change
        let trainer = try Trainer(config: config, clip: file, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                  output: data.file("run"), initModel: file)
        #expect(trainer.manifest.initModel == file.path)
        let model = try trainer.makeModel()
        #expect(model.config.qaToken == .table && model.config.dropout == 0.1)
        let a = model.stateDict(), b = saved.stateDict()
        #expect(Set(a.keys) == Set(b.keys))
        let differing = a.keys.filter { key in a[key]!.array != b[key]?.array }
        #expect(differing.isEmpty, "\(differing)")
        #expect(model.clip.positionalEmbedding.requiresGrad && model.clip.tokenEmbedding.weight.requiresGrad)

        config.head = .linear
        #expect {
            _ = try Trainer(config: config, clip: file, dataset: .agiqa3k, labels: data.labels, root: data.images,
                            output: data.file("run2"), initModel: file)
        } throws: { error in
            let text = (error as? LocalizedError)?.errorDescription ?? ""
            return text.contains(file.path) && text.contains("head mlp in the file, linear asked")
        }
        #expect(!FileManager.default.fileExists(atPath: data.file("run2").path))
    }
}
