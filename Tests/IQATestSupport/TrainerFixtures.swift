import CLIP
import Foundation
import IQAModel
import IQATraining
import NN
import Tensor

/// Small models and inputs shared by the IQA trainer tests.
public enum TrainerFixtures {
    /// A tiny CLIP (ModifiedResNet width 2 → 64 feature channels, text width 32, vocabulary 100).
    public static let tinyCLIP = CLIPConfiguration(embedDim: 16, imageResolution: 64, visionLayers: [1, 1, 1, 1], visionWidth: 2,
                                            vocabSize: 100, transformerWidth: 32, transformerLayers: 1)

    public static func model(_ configure: (inout IPIQAConfiguration) -> Void = { _ in }) throws -> IPIQAModel {
        var config = IPIQAConfiguration(outputs: 2)
        config.resolution = 64
        config.crossHeads = 4
        config.dropout = 0
        configure(&config)
        let model = try IPIQAModel(clip: CLIPModel(config: tinyCLIP, seed: 3), config: config)
        model.setMode(training: true)
        return model
    }

    /// Scripts/clip_reference.py `pattern_images`, channels-last.
    public static func patternImages(_ n: Int, _ size: Int) -> Tensor {
        let t = Tensor(uninitialized: [n, size, size, 3])
        for b in 0..<n { for y in 0..<size { for x in 0..<size { for c in 0..<3 {
            let idx = Double(y * size + x)
            let v = 1.5 * sin(0.1 * idx + 1.3 * Double(c) + 0.7 * Double(b)) + 0.25 * cos(0.037 * idx * Double(c + 1))
            t.pointer[((b * size + y) * size + x) * 3 + c] = Float(v)
        } } } }
        return t
    }

    public static let tokens: [[Int32]] = [[98, 17, 56, 3, 99], [98, 5, 60, 61, 62, 99], [98, 11, 99]].map { $0 + Array(repeating: 0, count: 77 - $0.count) }

    public static func batch(_ n: Int = 3, size: Int = 64) -> TrainingBatch {
        TrainingBatch(images: patternImages(n, size), tokens: Array(tokens.prefix(n)),
                      targets: Tensor(shape: [n, 2], values: (0..<(2 * n)).map { Float($0 % 5) + 0.5 }),
                      names: (0..<n).map { "img\($0).png" })
    }

    public static func snapshot(_ model: IPIQAModel, under prefix: String) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.namedParameters().filter { keyIsUnder($0.0, prefix: prefix) }.map { ($0.0, $0.1.value.array) })
    }
}
