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
    /// Indices (into the arrays above) of the images in the attention figure: one per prompt, generators rotating.
    let shown: [Int]
    /// Cross-modality attention over the `g² + 1` tokens of each shown image.
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
        var similarity: [Bool: Tensor] = [:]
        for useI2P in [false, true] where config.variants.contains(where: { $0.isTrained && $0.usesImage2Prompt == useI2P }) {
            let start = Date()
            let url = useI2P ? i2pCLIP : baseCLIP
            let clip = try CLIPModel.load(url)
            let before = cache.computedImages
            let maps = try cache.features(model: clip, images: urls, resolution: config.iqaResolution)
            sets[useI2P] = try CachedFeatureSet(features: maps, tokens: tokens, targets: targets)
            if config.variants.contains(where: { $0.usesSimilarityFeatures && $0.usesImage2Prompt == useI2P }) {
                similarity[useI2P] = try similarityInputs(url, urls: urls, tokens: tokens)
            }
            let computed = cache.computedImages - before
            note("features", "\(url.lastPathComponent): \(maps.shape) layer4 maps, "
                 + (computed > 0 ? "computed \(computed)" : "from cache"), since: start)
        }
        Threading.setThreads(config.evaluationThreads)
        defer { Threading.setThreads(config.threads) }
        let splitRows = try data.splits.map { (train: try data.rows($0.train), test: try data.rows($0.test)) }

        var rows: [DemoRow] = []
        var figures: DemoFigureData?
        for variant in config.variants {
            let start = Date()
            var quality: [MetricSet] = [], alignment: [MetricSet] = []
            if variant == .clipscore {
                let sim = try similarity[false] ?? similarityInputs(baseCLIP, urls: urls, tokens: tokens)
                let e = sim.shape[1]
                let scores = (0..<urls.count).map { Double(sim.pointer[$0 * e + e - 1]) }
                for split in splitRows {
                    let p = split.test.map { scores[$0] }
                    quality.append(metrics(p, split.test.map { targets[$0][0] }))
                    alignment.append(metrics(p, split.test.map { targets[$0][1] }))
                }
            } else {
                guard var set = sets[variant.usesImage2Prompt] else { continue }
                for (s, split) in splitRows.enumerated() {
                    let clip = try CLIPModel.load(variant.usesImage2Prompt ? i2pCLIP : baseCLIP)
                    let seed = config.seed &+ UInt64(s)
                    let model = try IPIQAModel(clip: clip, config: variant.modelConfig(resolution: config.iqaResolution, crossHeads: config.crossHeads,
                                                                                        dropout: config.dropout, seed: seed))
                    var training = config.training
                    training.seed = seed
                    var extraInputs = 0
                    if variant.usesSimilarityFeatures, let sim = similarity[variant.usesImage2Prompt] {
                        set = try set.with(extra: Self.standardized(sim, rows: split.train))
                        extraInputs = sim.shape[1]
                    }
                    let trainer = try CachedFeatureTrainer(model: model, config: training, extraInputs: extraInputs)
                    try trainer.fit(set, rows: split.train)
                    let (pred, attention) = try trainer.predict(set, rows: split.test)
                    quality.append(metrics(pred.map { $0[0] }, split.test.map { targets[$0][0] }))
                    alignment.append(metrics(pred.map { $0[1] }, split.test.map { targets[$0][1] }))
                    if variant == .ipiqa && s == 0 {
                        let g = config.generators
                        let shown = (0..<config.figureImages).map { $0 * g + $0 % g }.filter { $0 < split.test.count }
                        figures = DemoFigureData(images: split.test.map { urls[$0] }, prompts: split.test.map { samples[$0].prompt },
                                                 mos: split.test.map { targets[$0] }, predictions: pred, shown: shown,
                                                 attention: attention.map { a in shown.map { a[$0] } } ?? [])
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

    /// CLIPScore-style interaction features of every image with its prompt under a (frozen) CLIP: unit image
    /// embedding (native resolution) ⊙ unit text embedding (plain end-of-text feature), and their cosine in the last
    /// column — `[N, E + 1]`. The last column alone is the zero-shot CLIPScore baseline (CLIPScore's
    /// `w · max(cos, 0)` is monotone in the cosine where it is positive).
    func similarityInputs(_ url: URL, urls: [URL], tokens: [[Int32]]) throws -> Tensor {
        let clip = try CLIPModel.load(url)
        let size = clip.config.imageResolution, e = clip.config.embedDim
        let out = Tensor(uninitialized: [urls.count, e + 1])
        for start in stride(from: 0, to: urls.count, by: 256) {
            let range = start..<min(start + 256, urls.count)
            let pixels = try ImageBatch.load(Array(urls[range]), size: size, mode: .squash)
            let (img, txt) = try withoutGradients {
                (l2Normalize(clip.encodeImage(Var(pixels))).value, l2Normalize(try clip.encodeText(Array(tokens[range]))).value)
            }
            for i in 0..<range.count {
                var dot: Float = 0
                let o = out.pointer + (range.lowerBound + i) * (e + 1)
                for j in 0..<e {
                    o[j] = img.pointer[i * e + j] * txt.pointer[i * e + j]
                    dot += o[j]
                }
                o[e] = dot
            }
        }
        return out
    }

    /// Columns standardised with the mean and standard deviation of the training rows (sd floor 1e-6).
    static func standardized(_ x: Tensor, rows: [Int]) -> Tensor {
        let n = x.shape[0], d = x.shape[1]
        let out = Tensor(uninitialized: x.shape)
        for j in 0..<d {
            var mean = 0.0, sq = 0.0
            for r in rows { mean += Double(x.pointer[r * d + j]) }
            mean /= Double(max(rows.count, 1))
            for r in rows { let v = Double(x.pointer[r * d + j]) - mean; sq += v * v }
            let sd = max((sq / Double(max(rows.count, 1))).squareRoot(), 1e-6)
            for i in 0..<n { out.pointer[i * d + j] = Float((Double(x.pointer[i * d + j]) - mean) / sd) }
        }
        return out
    }
}
