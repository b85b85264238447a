import CLIP
import CLIPTokenizer
import Foundation
import Imaging
import IQAData
import IQAMetrics
import SynthAGI
import Tensor

/// Runs the whole IP-IQA method on the embedded synthetic world and measures it (the `ipiqa demo` command):
///
/// 1. SynthAGI: an AGIQA-3k-like set (prompts × generators, MOS from a documented formula) written in AGIQA-3k's
///    layout and read back with `DatasetLoader`; grouped 80/20 splits by prompt (`SplitMaker .grouped`).
/// 2. A tiny CLIP pre-trained contrastively on "natural" synthetic pairs (``ContrastivePretrainer``).
/// 3. Image2Prompt on an "AGI-style" corpus (DiffusionDB layout, similarity filter, `Image2PromptTrainer`).
/// 4. IP-IQA with the paper's fusion and with similarity features (beyond the paper), and the ablations, each an
///    ordinary `ipiqa train --freeze-trunk` run (`Trainer`, layer4 maps cached once per backbone), plus
///    the zero-shot CLIPScore baseline; SRCC/PLCC/KRCC mean ± std over the splits.
///
/// Every artefact is cached in `directory` under a key of its settings (``DemoKeys``) and written atomically;
/// a second run reuses them and gives the same numbers.
///
/// ```swift
/// let result = try DemoRunner.run(config: .quick, directory: URL(fileURLWithPath: "ipiqa-demo")) { print($0) }
/// print(DemoTable.text(result))
/// ```
public enum DemoRunner {
    public static func run(config: DemoConfiguration, directory: URL, log: @escaping (String) -> Void = { _ in }) throws -> DemoResult {
        try config.validate()
        Threading.setThreads(config.threads)
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw DemoError.writeFailed(path: directory.path, reason: error.localizedDescription)
        }
        let run = try DemoRun(config: config, directory: directory, log: log)
        return try run.execute()
    }
}

/// State of one demo run (stages in ``execute()``; stage code in the extensions).
final class DemoRun {
    let config: DemoConfiguration
    let directory: URL
    let keys: DemoKeys
    let world: SynthWorld
    let tokenizer: CLIPTokenizer
    let log: (String) -> Void
    let started = Date()

    init(config: DemoConfiguration, directory: URL, log: @escaping (String) -> Void) throws {
        self.config = config
        self.directory = directory
        self.log = log
        keys = DemoKeys(config, blasCore: BLASCoreOverride.coreName())
        world = try SynthWorld(seed: config.seed, config: config.world)
        tokenizer = try CLIPTokenizer()
    }

    /// Logs `message` with the stage name and the seconds since `since` (and since the start).
    func note(_ stage: String, _ message: String, since: Date? = nil) {
        var line = "[demo] \(stage): \(message)"
        if let since { line += String(format: " (%.1f s)", Date().timeIntervalSince(since)) }
        line += String(format: " [%.0f s]", Date().timeIntervalSince(started))
        log(line)
    }

    func tokenize(_ texts: [String]) throws -> [[Int32]] {
        try tokenizer.tokenize(texts, contextLength: DemoConstants.contextLength, truncate: true)
    }

    func execute() throws -> DemoResult {
        let data = try prepareIQASet()
        let clip = try pretrainCLIP()
        let i2p = try runImage2Prompt(baseCLIP: clip.url)
        let evaluation = try evaluate(data: data, baseCLIP: clip.url, i2pCLIP: i2p.url)
        var setup = DemoSetup(images: data.dataset.samples.count, prompts: config.prompts, generators: config.generators,
                              splits: data.splits.count, testImagesPerSplit: data.splits.first?.test.count ?? 0,
                              trainImagesPerSplit: data.splits.first?.train.count ?? 0, naturalPairs: config.naturalPairs,
                              contrastiveSteps: config.contrastive.steps, image2promptPairs: i2p.pairs, image2promptKept: i2p.kept,
                              iqaResolution: config.iqaResolution, epochs: config.training.epochs, retrievalTop1: clip.retrieval,
                              qualityCeiling: data.ceilings.quality, alignmentCeiling: data.ceilings.alignment)
        setup.featurePasses = evaluation.figures?.featurePasses ?? config.featurePasses.description
        var result = DemoResult(rows: evaluation.rows, verdict: DemoVerdict(rows: evaluation.rows), setup: setup)
        let figuresStart = Date()
        if let figures = evaluation.figures {
            let scatter = directory.appendingPathComponent(DemoConstants.scatterFile)
            let attention = directory.appendingPathComponent(DemoConstants.attentionFile)
            try DemoFigures.writeScatter(figures, to: scatter)
            try DemoFigures.writeAttention(figures, grid: config.iqaResolution / 32, to: attention)
            result.scatterPlot = scatter.path
            result.attentionFigure = attention.path
            note("figures", "\(scatter.lastPathComponent), \(attention.lastPathComponent)", since: figuresStart)
        }
        let resultURL = directory.appendingPathComponent(DemoConstants.resultFile)
        try DemoFiles.writeAtomically(Data(try DemoTable.json(result).utf8), to: resultURL)
        note("done", "total", since: started)
        return result
    }
}

/// Atomic file writes of the demo (temporary file in the same folder, then rename).
enum DemoFiles {
    static func writeAtomically(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch {
            throw DemoError.writeFailed(path: url.path, reason: error.localizedDescription)
        }
    }
}
