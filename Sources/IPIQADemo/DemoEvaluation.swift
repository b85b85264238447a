import CLIP
import Foundation
import IQAData
import IQAMetrics
import IQAModel
import IQATraining
import Imaging
import Tensor

/// Predictions kept for the figures: one IP-IQA variant on the first split's test images.
struct DemoFigureData {
    /// The arithmetic of the model's trunk passes (the frozen trunk of training's feature cache: the same plan).
    let featurePasses: String
    /// Which model the figures show (upper case for the bitmap font), e.g. "IP-IQA + SIMILARITY (BEYOND PAPER)".
    let title: String
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
    /// Trains and measures every variant: CLIPScore zero-shot, and each trained variant as an ordinary `ipiqa train`
    /// run (``Trainer`` with `--freeze-trunk`, the demo's splits) in `runs/<variant>-<key>/`. A finished run is read
    /// back instead of retrained; the trunk maps are cached once per backbone in `features/` and shared.
    func evaluate(data: DemoData, baseCLIP: URL, i2pCLIP: URL) throws -> (rows: [DemoRow], figures: DemoFigureData?) {
        let samples = data.dataset.samples
        let targets = samples.map(\.scores)
        Threading.setThreads(config.evaluationThreads)
        defer { Threading.setThreads(config.threads) }
        let splitRows = try data.splits.map { (train: try data.rows($0.train), test: try data.rows($0.test)) }

        var rows: [DemoRow] = []
        var figures: DemoFigureData?
        for variant in config.variants {
            let start = Date()
            var quality: [MetricSet] = [], alignment: [MetricSet] = []
            if variant == .clipscore {
                let scores = try zeroShotCosines(baseCLIP, urls: data.imageURLs, tokens: try tokenize(samples.map(\.prompt)))
                for split in splitRows {
                    let p = split.test.map { scores[$0] }
                    quality.append(metrics(p, split.test.map { targets[$0][0] }))
                    alignment.append(metrics(p, split.test.map { targets[$0][1] }))
                }
            } else {
                let clip = variant.usesImage2Prompt ? i2pCLIP : baseCLIP
                let (report, run) = try train(variant, clip: clip, data: data)
                for result in report.splits {
                    guard let last = result.history.last else { continue }
                    quality.append(last.test.sets[0] ?? MetricSet(n: result.testCount, srcc: 0, plcc: 0, krcc: 0, rmse: .nan))
                    alignment.append(last.test.sets[1] ?? MetricSet(n: result.testCount, srcc: 0, plcc: 0, krcc: 0, rmse: .nan))
                }
                if variant == figureVariant {
                    figures = try figureData(variant, model: RunLayout(run).finalModel(0), data: data, test: splitRows[0].test)
                }
            }
            let row = DemoRow(variant: variant, quality: DemoMetric(splits: quality), alignment: DemoMetric(splits: alignment))
            rows.append(row)
            note("evaluate", String(format: "%@: quality SRCC %.3f, alignment SRCC %.3f", variant.rawValue, row.quality.srcc, row.alignment.srcc),
                 since: start)
        }
        return (rows, figures)
    }

    /// The variant the figures show: the best-scoring fusion the run has (similarity, else the paper's).
    var figureVariant: DemoVariant? { [.similarity, .paper].first { config.variants.contains($0) } }

    /// One variant's training run: resumed or read back when its folder exists, else started.
    func train(_ variant: DemoVariant, clip: URL, data: DemoData) throws -> (RunReport, URL) {
        let training = config.trainingConfiguration(for: variant)
        // The feature passes' plan (chosen on this CPU for this backbone's trunk) decides the cached inputs: part of the key.
        let passes = try FeaturePass(clip: CLIPModel.load(clip), request: config.featurePasses, resolution: config.iqaResolution).chosen
        let key = DemoKeys.hash(["variant": variant.rawValue, "training": DemoKeys.json(training), "clip": clip.lastPathComponent,
                                 "data": data.folder.lastPathComponent, "version": "\(DemoConstants.cacheVersion)", "passes": passes])
        let folder = directory.appendingPathComponent("runs").appendingPathComponent("\(variant.rawValue)-\(key)")
        var runConfiguration = training
        runConfiguration.featureCache = directory.appendingPathComponent("features").path
        let progress = ProgressReporter(style: .silent)
        let layout = RunLayout(folder)
        let finished = (0..<data.splits.count).compactMap { try? JSONDecoder().decode(SplitResult.self, from: Data(contentsOf: layout.result($0))) }
        if finished.count == data.splits.count {
            note("train", "\(variant.rawValue): reusing the finished run \(folder.lastPathComponent)")
            return (RunReport(dataset: data.dataset.name, splitProtocol: "grouped", outputs: data.dataset.scoreNames, splits: finished,
                              complete: true), folder)
        }
        let trainer: Trainer
        if FileManager.default.fileExists(atPath: layout.manifest.path) {
            trainer = try Trainer.resume(directory: folder, progress: progress)
        } else {
            trainer = try Trainer(config: runConfiguration, clip: clip, dataset: .agiqa3k, labels: data.folder.appendingPathComponent("data.csv"),
                                  root: data.folder, splits: data.splits, output: folder, progress: progress)
        }
        return (try trainer.run(), folder)
    }

    /// Test predictions and head-averaged cross-modality attention of split 1's final model.
    func figureData(_ variant: DemoVariant, model url: URL, data: DemoData, test: [Int]) throws -> DemoFigureData {
        let model = try IPIQACheckpoint.load(url).model
        let pass = try FeaturePass(clip: model.clip, request: config.featurePasses, resolution: model.config.resolution)
        let samples = data.dataset.samples, urls = data.imageURLs
        let g = config.generators
        let shown = (0..<config.figureImages).map { $0 * g + $0 % g }.filter { $0 < test.count }
        var predictions: [[Double]] = [], attention: [[Float]] = []
        let k = model.config.outputs
        for start in stride(from: 0, to: test.count, by: 256) {
            let batch = Array(test[start..<min(start + 256, test.count)])
            let pixels = try ImageBatch.load(batch.map { urls[$0] }, size: model.config.resolution, mode: .squash)
            let tokens = try tokenize(batch.map { samples[$0].prompt })
            let (scores, weights) = try pass.run { try withoutGradients { try model.forward(Var(pixels), tokens: tokens) } }
            for i in 0..<batch.count { predictions.append((0..<k).map { Double(scores.value.pointer[i * k + $0]) }) }
            guard let w = weights else { continue }
            for i in shown where i >= start && i < start + batch.count {          // `shown` is increasing
                let heads = w.shape[1], tokens = w.shape[3]
                var row = [Float](repeating: 0, count: tokens)
                for h in 0..<heads { for t in 0..<tokens { row[t] += w.pointer[((i - start) * heads + h) * tokens + t] / Float(heads) } }
                attention.append(row)
            }
        }
        return DemoFigureData(featurePasses: pass.summary, title: variant.label.uppercased(), images: test.map { urls[$0] }, prompts: test.map { samples[$0].prompt },
                              mos: test.map { samples[$0].scores }, predictions: predictions, shown: shown, attention: attention)
    }

    /// SRCC/PLCC/KRCC of one split (all zero, with a note, when the prediction is constant).
    func metrics(_ prediction: [Double], _ target: [Double]) -> MetricSet {
        do { return try MetricSet.compute(prediction: prediction, target: target) } catch {
            note("evaluate", "metrics undefined (\(error.localizedDescription)); counted as 0")
            return MetricSet(n: prediction.count, srcc: 0, plcc: 0, krcc: 0, rmse: .nan)
        }
    }

    /// Zero-shot CLIPScore of every image with its prompt under a frozen CLIP: the cosine of the unit image embedding
    /// (native resolution) and the unit text embedding (CLIPScore's `w · max(cos, 0)` is monotone in it where positive).
    func zeroShotCosines(_ url: URL, urls: [URL], tokens: [[Int32]]) throws -> [Double] {
        let clip = try CLIPModel.load(url)
        let pass = try FeaturePass(clip: clip, request: config.featurePasses, resolution: clip.config.imageResolution)
        var out: [Double] = []
        for start in stride(from: 0, to: urls.count, by: 256) {
            let range = start..<min(start + 256, urls.count)
            let pixels = try ImageBatch.load(Array(urls[range]), size: clip.config.imageResolution, mode: .squash)
            let s = try pass.run {
                try withoutGradients {
                    IPIQAModel.similarityFeatures(image: clip.encodeImage(Var(pixels)), text: try clip.encodeText(Array(tokens[range]))).value
                }
            }
            let d = s.shape[1]
            out += (0..<range.count).map { Double(s.pointer[$0 * d + d - 1]) }
        }
        return out
    }
}
