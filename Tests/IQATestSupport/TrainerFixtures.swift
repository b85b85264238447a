import CLIP
import Foundation
import IQAModel
import IQATraining
import NN
import Tensor

/// The tiny CLIP and IP-IQA models, token rows and batches shared by the model, training, scoring and CLI tests.
///
/// ```swift
/// let model = try TrainerFixtures.model { $0.fusion = .paperSimilarity }    // training mode, 64 px, 4 cross heads
/// let batch = TrainerFixtures.batch()                                         // 3 pattern images, prompts, targets
/// let file = try TrainerFixtures.modelFile(in: scratch.url)                   // a saved IP-IQA model for `Scorer`
/// ```
public enum TrainerFixtures {
    /// A tiny CLIP: ModifiedResNet width 2 (64 feature channels), 64 px, embedding 16, one text layer of width 32,
    /// a 100-id vocabulary (start 98, end-of-text 99; use ``tokens``).
    public static let tinyCLIP = CLIPConfiguration(embedDim: 16, imageResolution: 64, visionLayers: [1, 1, 1, 1], visionWidth: 2,
                                                   vocabSize: 100, transformerWidth: 32, transformerLayers: 1)

    /// ``tinyCLIP`` with the real 49408-id vocabulary, so that the bundled CLIP tokenizer's ids fit (files scored or
    /// trained from prompts).
    public static var tinyCLIPForTokenizer: CLIPConfiguration {
        var c = tinyCLIP
        c.vocabSize = 49408
        return c
    }

    /// The tiny IP-IQA model on ``tinyCLIP`` (seed 3): two outputs, 64 px, 4 cross heads, no dropout, training mode.
    public static func model(clip: CLIPConfiguration = tinyCLIP, _ configure: (inout IPIQAConfiguration) -> Void = { _ in }) throws -> IPIQAModel {
        var config = IPIQAConfiguration(outputs: 2)
        config.resolution = 64
        config.crossHeads = 4
        config.dropout = 0
        configure(&config)
        let model = try IPIQAModel(clip: CLIPModel(config: clip, seed: 3), config: config)
        model.setMode(training: true)
        return model
    }

    /// A tiny IP-IQA model on ``tinyCLIPForTokenizer`` saved with `IPIQACheckpoint.save` as `folder/name`.
    public static func modelFile(in folder: URL, name: String = "tiny_ipiqa.safetensors",
                                 _ configure: (inout IPIQAConfiguration) -> Void = { _ in }) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try IPIQACheckpoint.save(try model(clip: tinyCLIPForTokenizer, configure), to: url)
        return url
    }

    /// A random tiny CLIP checkpoint (``tinyCLIPForTokenizer``) saved as safetensors, as `ipiqa train --clip` reads it.
    public static func saveCLIP(to url: URL, seed: UInt64 = 5) throws {
        try CLIPModel(config: tinyCLIPForTokenizer, seed: seed).save(to: url)
    }

    /// Three zero-padded token rows of the 100-id vocabulary (start 98, end-of-text 99), of different lengths.
    public static let tokens: [[Int32]] = [[98, 17, 56, 3, 99], [98, 5, 60, 61, 62, 99], [98, 11, 99]].map { $0 + Array(repeating: 0, count: 77 - $0.count) }

    /// `n ≤ 3` pattern images (``PatternImages/tensor(_:size:)``) with ``tokens`` and targets `(i mod 5) + 0.5` for two outputs.
    public static func batch(_ n: Int = 3, size: Int = 64) -> TrainingBatch {
        TrainingBatch(images: PatternImages.tensor(n, size: size), tokens: Array(tokens.prefix(n)),
                      targets: Tensor(shape: [n, 2], values: (0..<(2 * n)).map { Float($0 % 5) + 0.5 }),
                      names: (0..<n).map { "img\($0).png" })
    }

    /// Values of the parameters under `prefix` (whole components), by name.
    public static func snapshot(_ model: IPIQAModel, under prefix: String) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.namedParameters().filter { keyIsUnder($0.0, prefix: prefix) }.map { ($0.0, $0.1.value.array) })
    }
}
