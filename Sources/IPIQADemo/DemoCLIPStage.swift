import CLIP
import Foundation
import Image2Prompt
import Imaging
import IQAData
import SynthAGI
import Tensor

extension DemoRun {
    /// The contrastively pre-trained tiny CLIP: loaded from `clip-<key>.safetensors`, or trained on an in-memory
    /// "natural" corpus and saved there. Returns the file and the held-out retrieval top-1.
    func pretrainCLIP() throws -> (url: URL, retrieval: Double) {
        let url = directory.appendingPathComponent("clip-\(keys.clip).safetensors")
        let start = Date()
        let heldOut = DemoConstants.retrievalPairs
        let spec = CorpusSpec(count: config.naturalPairs + heldOut, style: .natural)
        let checkPairs = try world.corpusPairs(spec, range: config.naturalPairs..<(config.naturalPairs + heldOut))
        let checkImages = try PixelTensor.make(checkPairs.map(\.image)), checkTokens = try tokenize(checkPairs.map(\.prompt))
        if FileManager.default.fileExists(atPath: url.path) {
            let clip = try CLIPModel.load(url)
            let r = try RetrievalCheck.topOne(clip: clip, images: checkImages, tokens: checkTokens)
            note("clip", "reusing \(url.lastPathComponent) (held-out retrieval top-1 \(String(format: "%.2f", r.imageToText)))")
            return (url, r.imageToText)
        }
        let pairs = try world.corpusPairs(spec, range: 0..<config.naturalPairs)
        let tokens = try tokenize(pairs.map(\.prompt))
        note("clip", "rendered \(pairs.count) natural pairs", since: start)
        let clip = CLIPModel(config: config.architecture.configuration, seed: config.contrastive.seed &+ config.seed)
        let before = try RetrievalCheck.topOne(clip: clip, images: checkImages, tokens: checkTokens)
        let trainer = try ContrastivePretrainer(clip: clip, config: config.contrastive)
        let trainStart = Date()
        var recent: [Float] = []
        let every = max(1, config.contrastive.steps / 6)
        try trainer.train(count: pairs.count, batch: { idx in
            (try PixelTensor.make(idx.map { pairs[$0].image }), idx.map { tokens[$0] })
        }, progress: { p in
            recent.append(p.loss)
            if p.step % every == 0 || p.step == p.steps {
                let mean = recent.reduce(0, +) / Float(recent.count)
                recent.removeAll()
                self.note("clip", String(format: "step %d/%d loss %.3f lr %.2e scale %.1f", p.step, p.steps, mean, p.learningRate, p.logitScale),
                          since: trainStart)
            }
        })
        do { try clip.save(to: url) } catch { throw DemoError.writeFailed(path: url.path, reason: error.localizedDescription) }
        let saved = try CLIPModel.load(url)
        let after = try RetrievalCheck.topOne(clip: saved, images: checkImages, tokens: checkTokens)
        note("clip", String(format: "trained %d steps × %d; held-out retrieval top-1 %.2f (untrained %.2f, chance %.3f); saved %@",
                            config.contrastive.steps, config.contrastive.batchSize, after.imageToText, before.imageToText,
                            1 / Double(heldOut), url.lastPathComponent), since: start)
        return (url, after.imageToText)
    }

    /// Image2Prompt on the AGI-style corpus (DiffusionDB layout): filter at the keep-fraction quantile of the
    /// starting model's similarities, train the image tower, save `clip-i2p-<key>.safetensors`.
    func runImage2Prompt(baseCLIP: URL) throws -> (url: URL, pairs: Int, kept: Int) {
        let url = directory.appendingPathComponent("clip-i2p-\(keys.image2prompt).safetensors")
        let infoURL = directory.appendingPathComponent("clip-i2p-\(keys.image2prompt).json")
        let start = Date()
        if FileManager.default.fileExists(atPath: url.path), let data = FileManager.default.contents(atPath: infoURL.path),
           let info = try? JSONDecoder().decode(I2PInfo.self, from: data) {
            note("image2prompt", "reusing \(url.lastPathComponent)")
            return (url, info.pairs, info.kept)
        }
        let folder = directory.appendingPathComponent("diffusiondb-\(keys.agiCorpus)")
        let spec = CorpusSpec(count: config.agiPairs, style: .agi, mismatchFraction: config.agiMismatch)
        if try DiffusionDBWriter.write(world: world, spec: spec, to: folder, writePNG: { image, u in
            try ImageCodec.writePNG(PixelTensor.rgbImage(image), to: u)
        }) != .skipped {
            note("image2prompt", "wrote \(spec.count) AGI-style pairs (\(Int(spec.mismatchFraction * 100)) % mismatched captions) to \(folder.lastPathComponent)", since: start)
        }
        let corpus = try PretrainCorpus.load(folder)
        let mismatched = Set(Self.mismatchedNames(folder))
        let trainer = try Image2PromptTrainer(clip: try CLIPModel.load(baseCLIP), config: config.image2prompt) { try self.tokenize($0) }
        let sims = try trainer.similarities(corpus.pairs)
        let sorted = sims.sorted()
        let cut = Int((Double(sorted.count) * (1 - config.image2promptKeepFraction)).rounded(.down))
        let threshold = sorted[min(max(cut, 0), sorted.count - 1)]
        let filtered = Image2PromptFilterResult(threshold: threshold, scored: zip(corpus.pairs, sims).map { .init(pair: $0, similarity: $1) })
        let droppedMismatched = filtered.dropped.filter { mismatched.contains($0.pair.name) }.count
        note("image2prompt", String(format: "filter at similarity %.3f keeps %d of %d pairs; drops %d of the %d mismatched captions",
                                    threshold, filtered.kept.count, filtered.total, droppedMismatched, mismatched.count), since: start)
        let trainStart = Date()
        var batchLosses: [Float] = []
        let report = try trainer.train(filtered.keptPairs) { batchLosses.append($0.loss) }
        try trainer.save(to: url)
        try DemoFiles.writeAtomically(try JSONEncoder().encode(I2PInfo(pairs: filtered.total, kept: filtered.kept.count)), to: infoURL)
        // Single batches are noisy (the last one may hold a few pairs): report the mean of the first and last ten.
        let window = max(1, min(10, batchLosses.count / 2))
        func mean(_ xs: ArraySlice<Float>) -> Double { xs.isEmpty ? 0 : xs.reduce(0.0) { $0 + Double($1) } / Double(xs.count) }
        note("image2prompt", String(format: "%d steps, mean batch loss %.3f (first %d) → %.3f (last %d); saved %@", report.steps,
                                    mean(batchLosses.prefix(window)), window, mean(batchLosses.suffix(window)), window,
                                    url.lastPathComponent), since: trainStart)
        return (url, filtered.total, filtered.kept.count)
    }

    private struct I2PInfo: Codable { let pairs: Int; let kept: Int }

    /// Names (`part-…/synth-….png`) of the corpus's mismatched pairs, from its `corpus.json`.
    static func mismatchedNames(_ folder: URL) -> [String] {
        struct Info: Decodable { let mismatched: [String] }
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("corpus.json").path),
              let info = try? JSONDecoder().decode(Info.self, from: data) else { return [] }
        return info.mismatched
    }
}
