import CLIP
import CLIPTokenizer
import Foundation
import Imaging
import IQAData
import IQAModel
import NN
import Tensor

/// The model a split starts from: CLIP plus new layers, or every weight of an `--init` model file.
extension Trainer {
    /// A fresh model for a split: the CLIP checkpoint (strictly verified) plus the new layers (seeded), or with
    /// ``RunManifest/initModel`` every weight of that model file (``initialModel(_:)``).
    public func makeModel(split: Int = 0) throws -> IPIQAModel {
        if let initModel = manifest.initModel { return try initialModel(initModel) }
        let clip = try CLIPModel.load(URL(fileURLWithPath: manifest.clip))
        if let tokenizer, clip.config.vocabSize < tokenizer.vocabularySize {
            throw TrainingError.badCheckpoint(file: manifest.clip, reason: "its text vocabulary has \(clip.config.vocabSize) tokens; the CLIP tokenizer needs \(tokenizer.vocabularySize) (train image-only with --image-only)")
        }
        var modelConfig = config.modelConfiguration(outputNames: dataset.scoreNames)
        modelConfig.seed = TrainingSeeds.newLayerSeed(seed: config.seed, split: split, stream: config.initStream)
        let model = try IPIQAModel(clip: clip, config: modelConfig)
        TrainingModes.apply(config, to: model)
        return model
    }

    /// The model of `ipiqa train --init FILE`: rebuilt with this run's model configuration (which must keep the
    /// file's architecture: resolution, prompt use, [QA] semantics, fusion, head, cross heads, outputs; dropout and
    /// names may change) and loaded with every tensor of the file, strictly.
    func initialModel(_ path: String) throws -> IPIQAModel {
        let (trained, _) = try IPIQACheckpoint.load(URL(fileURLWithPath: path))
        let wanted = config.modelConfiguration(outputNames: dataset.scoreNames)
        try Self.checkInitial(trained.config, wanted: wanted, path: path, dataset: dataset)
        if let tokenizer, trained.clip.config.vocabSize < tokenizer.vocabularySize {
            throw TrainingError.badCheckpoint(file: path, reason: "its text vocabulary has \(trained.clip.config.vocabSize) tokens; the CLIP tokenizer needs \(tokenizer.vocabularySize)")
        }
        let model = try withoutInitialization { try IPIQAModel(clip: CLIPModel(config: trained.clip.config), config: wanted) }
        try model.loadStateDict(trained.stateDict(), strict: true, source: path)
        TrainingModes.apply(config, to: model)
        return model
    }

    /// Whether a model of configuration `have` can start a run that wants `wanted` (architecture equal).
    static func checkInitial(_ have: IPIQAConfiguration, wanted: IPIQAConfiguration, path: String, dataset: Dataset) throws {
        var differences: [String] = []
        func check<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { differences.append("\(name) \(b) in the file, \(a) asked") } }
        check("outputs", wanted.outputs, have.outputs)
        check("resolution", wanted.resolution, have.resolution)
        check("useText", wanted.useText, have.useText)
        check("qaToken", wanted.qaToken, have.qaToken)
        check("fusion", wanted.fusion, have.fusion)
        check("head", wanted.head, have.head)
        check("crossHeads", wanted.crossHeads, have.crossHeads)
        guard differences.isEmpty else {
            throw TrainingError.badCheckpoint(file: path, reason: "--init model does not fit this run (dataset \(dataset.name), \(dataset.scoreNames.count) score(s)): "
                + differences.joined(separator: "; "))
        }
    }
}
