import Foundation
import Imaging
import IQAData
import SynthAGI

/// The AGIQA-3k-like set as the real code paths see it.
struct DemoData {
    let folder: URL
    let dataset: Dataset
    let splits: [Split]
    /// Index of each image name in `dataset.samples`.
    let index: [String: Int]
    /// corr(clean, observed) of each score over the set (from `world.json`).
    let ceilings: (quality: Double, alignment: Double)

    var imageURLs: [URL] { dataset.samples.map { folder.appendingPathComponent($0.image) } }
    func rows(_ names: [String]) throws -> [Int] {
        try names.map { name in
            guard let i = index[name] else { throw DemoError.stageFailed(stage: "splits", reason: "image \(name) is not in the dataset") }
            return i
        }
    }
}

extension DemoRun {
    /// Writes the IQA set (unless its completion marker is there), reads it back with `DatasetLoader` as AGIQA-3k,
    /// and makes grouped splits.
    func prepareIQASet() throws -> DemoData {
        let start = Date()
        let folder = directory.appendingPathComponent("agiqa-\(keys.iqaSet)")
        let complete = FileManager.default.fileExists(atPath: folder.appendingPathComponent(".synthagi-complete").path)
        if complete {
            note("world", "reusing \(folder.lastPathComponent)")
        } else {
            let set = try world.makeIQASet(prompts: config.prompts, generators: config.generators)
            try AGIQA3kWriter.write(set, to: folder) { image, url in try ImageCodec.writePNG(PixelTensor.rgbImage(image), to: url) }
            note("world", "wrote \(set.samples.count) images (\(config.prompts) prompts × \(config.generators) generators) to \(folder.lastPathComponent)", since: start)
        }
        let dataset = try DatasetLoader.load(.agiqa3k, labels: folder.appendingPathComponent("data.csv"), root: folder)
        try checkImagesExist(dataset, root: folder)
        var split = GroupedSplitConfiguration()
        split.trainFraction = config.trainFraction
        split.validationFraction = 0
        split.testFraction = 1 - config.trainFraction
        let splits = try SplitMaker.make(.grouped, dataset: dataset, kind: .agiqa3k, count: config.splits, seed: Int(config.seed % 1_000_000),
                                         grouped: split)
        let index = Dictionary(dataset.samples.enumerated().map { ($1.image, $0) }, uniquingKeysWith: { a, _ in a })
        let ceilings = try Self.ceilings(folder.appendingPathComponent("world.json"))
        note("data", "read \(dataset.samples.count) samples back as AGIQA-3k (\(dataset.warnings.count) warnings), "
             + "\(splits.count) grouped splits of \(splits[0].train.count) train / \(splits[0].test.count) test images", since: start)
        return DemoData(folder: folder, dataset: dataset, splits: splits, index: index, ceilings: ceilings)
    }

    private struct Manifest: Decodable {
        struct Image: Decodable { let scores: MOSScores }
        let images: [Image]
    }

    /// Noise ceilings from the world's manifest: Pearson correlation of clean and observed scores.
    static func ceilings(_ url: URL) throws -> (quality: Double, alignment: Double) {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw DemoError.stageFailed(stage: "world", reason: "cannot read \(url.path)")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw DemoError.stageFailed(stage: "world", reason: "\(url.path): \(error.localizedDescription)")
        }
        let s = manifest.images.map(\.scores)
        return (IQASetStatistics.pearson(s.map(\.cleanQuality), s.map(\.quality)),
                IQASetStatistics.pearson(s.map(\.cleanAlignment), s.map(\.alignment)))
    }
}
