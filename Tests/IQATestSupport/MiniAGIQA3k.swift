import Foundation
import IQAData
import IQATraining
import Imaging

/// A throwaway AGIQA-3k-shaped folder: a subset of the REAL bundled `data.csv` (the first prompts of both parts of
/// official split 0, so that `--splits 1` has train and test images), small pattern PNGs under those names, and a
/// tiny random CLIP checkpoint (``TrainerFixtures/tinyCLIPForTokenizer``).
///
/// ```swift
/// let data = try MiniAGIQA3k()
/// defer { data.remove() }
/// let report = try Trainer(config: MiniAGIQA3k.config(), clip: data.clip, dataset: .agiqa3k, labels: data.labels,
///                          root: data.images, output: data.file("run")).run()
/// ```
public struct MiniAGIQA3k: Sendable {
    public let scratch: ScratchFolder
    public let images: URL, labels: URL, clip: URL
    /// The image names, in `data.csv` order.
    public let names: [String]

    public var directory: URL { scratch.url }
    public func file(_ path: String) -> URL { scratch.file(path) }

    public init(trainPrompts: Int = 4, testPrompts: Int = 2) throws {
        scratch = try ScratchFolder("agiqa3k")
        images = scratch.file("images")
        labels = scratch.file("data.csv")
        clip = scratch.file("tiny_clip.safetensors")

        let full = try DatasetLoader.load(.agiqa3k)
        let split = try OfficialSplits.agiqa3k(full, count: 1, seed: 42)[0]
        func firstGroups(_ names: [String], _ count: Int) -> Set<String> {
            var out: [String] = []
            for g in full.samples(named: names).map(\.group) where !out.contains(g) {
                out.append(g)
                if out.count == count { break }
            }
            return Set(out)
        }
        let keep = firstGroups(split.train, trainPrompts).union(firstGroups(split.test, testPrompts))
        let keepNames = Set(full.samples.filter { keep.contains($0.group) }.map(\.image))
        let source = try String(contentsOf: DatasetLoader.bundledResource(AGIQAConstants.agiqa3kLabels), encoding: .utf8)
        var lines = source.split(whereSeparator: \.isNewline).map(String.init)
        let header = lines.removeFirst()
        let chosen = lines.filter { keepNames.contains(String($0.prefix { $0 != "," })) }
        try ([header] + chosen).joined(separator: "\n").appending("\n").write(to: labels, atomically: true, encoding: .utf8)
        names = chosen.map { String($0.prefix { $0 != "," }) }
        try PatternImages.writePNGs(names, to: images)
        try TrainerFixtures.saveCLIP(to: clip)
    }

    /// A fast training configuration: 1 split, 64 px, batches of 8, 4 cross heads, 2 threads.
    public static func config(epochs: Int = 1) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.epochs = epochs
        c.splits = 1
        c.resolution = 64
        c.batchSize = 8
        c.evalBatchSize = 16
        c.crossHeads = 4
        c.learningRate = 1e-4
        c.threads = 2
        return c
    }

    public func remove() { scratch.remove() }
}
