import CLIP
import Foundation
import IQA
import IQAData
import IQAMetrics
import Imaging
import Tensor

/// Predictions kept for the figures: `ip-iqa` on the first split's test images.
struct DemoFigureData {
    let images: [URL]
    let prompts: [String]
    let mos: [[Double]]
    let predictions: [[Double]]
    /// Cross-modality attention over the `g² + 1` tokens, for the first ``DemoConfig/figureImages`` test images.
    let attention: [[Float]]
}

extension DemoRun {
    func evaluate(data: DemoData, baseCLIP: URL, i2pCLIP: URL) throws -> (rows: [DemoRow], figures: DemoFigureData?) {
        let samples = data.dataset.samples
        let tokens = try tokenize(samples.map(\.prompt))
        let targets = samples.map(\.scores)
        let urls = data.imageURLs
        let cache = FeatureCache(directory: directory.appendingPathComponent("features"))
        var sets: [Bool: CachedFeatureSet] = [:]
        for useI2P in [false, true] where config.variants.contains(where: { $0.isTrained && $0.usesImage2Prompt == useI2P }) {
            let start = Date()
            let url = useI2P ? i2pCLIP : baseCLIP
            let clip = try CLIPModel.load(url)
            let before = cache.computedImages
            let maps = try cache.features(model: clip, images: urls, resolution: config.iqaResolution)
            sets[useI2P] = try CachedFeatureSet(features: maps, tokens: tokens, targets: targets)
            let computed = cache.computedImages - before
            note("features", "\(url.lastPathComponent): \(maps.shape) layer4 maps, "
                 + (computed > 0 ? "computed \(computed)" : "from cache"), since: start)
        }
        let splitRows = try data.splits.map { (train: try data.rows($0.train), test: try data.rows($0.test)) }

        var rows: [DemoRow] = []
        var figures: DemoFigureData?
        for variant in config.variants {
            let start = Date()
            var quality: [MetricSet] = [], alignment: [MetricSet] = []
            if variant == .clipscore {
                let scores = try clipScores(baseCLIP, urls: urls, tokens: tokens)
                for split in splitRows {
                    let p = split.test.map { scores[$0] }
                    quality.append(metrics(p, split.test.map { targets[$0][0] }))
                    alignment.append(metrics(p, split.test.map { targets[$0][1] }))
                }
            } else {
                guard let set = sets[variant.usesImage2Prompt] else { continue }
                for (s, split) in splitRows.enumerated() {
                    let clip = try CLIPModel.load(variant.usesImage2Prompt ? i2pCLIP : baseCLIP)
                    let seed = config.seed &+ UInt64(s)
                    let model = try IPIQAModel(clip: clip, config: variant.modelConfig(resolution: config.iqaResolution, crossHeads: config.crossHeads,
                                                                                        dropout: config.dropout, seed: seed))
                    var training = config.training
                    training.seed = seed
                    let trainer = try CachedFeatureTrainer(model: model, config: training)
                    try trainer.fit(set, rows: split.train)
                    let (pred, attention) = try trainer.predict(set, rows: split.test)
                    quality.append(metrics(pred.map { $0[0] }, split.test.map { targets[$0][0] }))
                    alignment.append(metrics(pred.map { $0[1] }, split.test.map { targets[$0][1] }))
                    if variant == .ipiqa && s == 0 {
                        let shown = min(config.figureImages, split.test.count)
                        figures = DemoFigureData(images: split.test.map { urls[$0] }, prompts: split.test.map { samples[$0].prompt },
                                                 mos: split.test.map { targets[$0] }, predictions: pred,
                                                 attention: Array((attention ?? []).prefix(shown)))
                    }
                }
            }
            let row = DemoRow(variant: variant, quality: DemoMetric(splits: quality), alignment: DemoMetric(splits: alignment))
            rows.append(row)
            note("evaluate", String(format: "%@: quality SRCC %.3f, alignment SRCC %.3f", variant.rawValue, row.quality.srcc, row.alignment.srcc),
                 since: start)
        }
        return (rows, figures)
    }

    /// SRCC/PLCC/KRCC of one split (all zero, with a note, when the prediction is constant).
    func metrics(_ prediction: [Double], _ target: [Double]) -> MetricSet {
        do { return try MetricSet.compute(prediction: prediction, target: target) } catch {
            note("evaluate", "metrics undefined (\(error.localizedDescription)); counted as 0")
            return MetricSet(n: prediction.count, srcc: 0, plcc: 0, krcc: 0, rmse: .nan)
        }
    }

    /// Zero-shot CLIPScore of every image: cosine of the tiny CLIP's image embedding (native resolution) and its
    /// prompt's text embedding (CLIPScore's `w · max(cos, 0)` is monotone in the cosine where it is positive).
    func clipScores(_ url: URL, urls: [URL], tokens: [[Int32]]) throws -> [Double] {
        let clip = try CLIPModel.load(url)
        let size = clip.config.imageResolution
        var out: [Double] = []
        for start in stride(from: 0, to: urls.count, by: 256) {
            let range = start..<min(start + 256, urls.count)
            let pixels = try ImageBatch.load(Array(urls[range]), size: size, mode: .squash)
            let (img, txt) = try withoutGradients {
                (l2Normalize(clip.encodeImage(Var(pixels))).value, l2Normalize(try clip.encodeText(Array(tokens[range]))).value)
            }
            let e = img.shape[1]
            for i in 0..<range.count {
                var dot: Float = 0
                for j in 0..<e { dot += img.pointer[i * e + j] * txt.pointer[i * e + j] }
                out.append(Double(dot))
            }
        }
        return out
    }
}
