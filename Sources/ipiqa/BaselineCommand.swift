import ArgumentParser
import CLIP
import Foundation
import IQAData
import IQAExperiments
import IQATraining

extension BaselineMethod: ExpressibleByArgument {}

/// `ipiqa baseline`: CLIPScore (raw or logistic-mapped), CLIP-IQA or a ridge probe on CLIP features, scored on the
/// splits of `ipiqa train` and written as a run directory with the same `metrics.json` shape.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Score a baseline over the training splits: clipscore, clipscore-logistic, clip-iqa, ridge-image, ridge-image-text.",
        discussion: """
        The splits are those `ipiqa train` makes from the same --protocol, --splits and --seed, or a run's own \
        (--splits-file RUN/splits.json). Output: --out/metrics.json (the shape of a training run's), splits.json, \
        split_XX/result.json, baseline.json. Rerunning the command on the same --out keeps finished splits.
        clipscore: 2.5·max(cos, 0) predicts every output. clipscore-logistic: a 4-parameter logistic of the cosine per \
        output, fitted on the training part. clip-iqa: softmax(100·[cos(f,"Good photo."), cos(f,"Bad photo.")]) with the \
        attention pool's positional embedding left out (CLIP-IQA, AAAI 2023), images squashed to --clip-iqa-resolution. \
        ridge-*: ridge regression on L2-normalised CLIP embeddings (image, or image ⊕ prompt ⊕ image⊙prompt), λ per \
        output by grouped 5-fold cross-validation on the training part.
        """)

    @Option(help: "Method: \(BaselineMethod.allCases.map(\.rawValue).joined(separator: ", ")).") var method: BaselineMethod
    @OptionGroup var clip: CLIPCheckpointOptions
    @OptionGroup var data: DatasetOptions
    @Option(help: "Image folder.") var root: String
    @OptionGroup var columns: CSVColumnOptions
    @Option(help: "Run directory (created; rerun to continue).") var out: String = "ipiqa-baseline"
    @Option(help: "Use the splits of this file (a training run's splits.json) instead of making them.") var splitsFile: String?
    @Option(help: "Repeated splits (default 10).") var splits: Int = TrainingDefaults.splits
    @Option(help: "Seed of the splits (default 42, as ipiqa train).") var seed: UInt64 = TrainingDefaults.seed
    @Option(name: .customLong("protocol"), help: "Split protocol: official or grouped.") var splitProtocol: SplitProtocol?
    @Option(help: "Images per forward pass.") var batchSize: Int = 8
    @Option(help: "Input side of clipscore and the ridge features (default: the checkpoint's, CLIP preprocessing).") var resolution: Int?
    @Option(help: "Input side of clip-iqa (images squashed to it).") var clipIqaResolution: Int = 512
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        try DatasetOptions.checkProtocol(splitProtocol, for: data.dataset)
        if splits < 1 { throw ValidationError("--splits must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let resolution, let problem = CLIPConfiguration.resolutionProblem(resolution) { throw ValidationError("--resolution: \(problem)") }
        if let problem = CLIPConfiguration.resolutionProblem(clipIqaResolution) { throw ValidationError("--clip-iqa-resolution: \(problem)") }
    }

    func run() throws {
        try CLI.run {
            threads.apply()
            var job = BaselineJob(method: method, clip: clip.url.path, dataset: data.dataset, labels: data.labelsURL?.path,
                                  root: URL(fileURLWithPath: root).path, csvColumns: try columns.columns(for: data.dataset))
            job.splitProtocol = splitProtocol
            job.seed = seed
            job.batchSize = batchSize
            job.resolution = resolution
            job.clipIQA.resolution = clipIqaResolution
            var given: [Split]?
            if let splitsFile {
                given = try SplitSet.read(from: URL(fileURLWithPath: splitsFile)).splits
                job.splits = given!.count
            } else {
                job.splits = splits
            }
            let runner = try BaselineRunner(job: job, output: URL(fileURLWithPath: out), splits: given)
            let report = try runner.run()
            for s in report.splits { print("split \(s.split): \(s.history[0].test.summaryLine)") }
            if let summary = report.summary({ $0.finalEpoch }) {
                for name in report.outputs {
                    if let m = summary[name] {
                        print("\(name): SRCC \(m["srcc"]!) PLCC \(m["plcc"]!) KRCC \(m["krcc"]!) over \(report.splits.count) split(s)")
                    }
                }
            }
            CLI.note("wrote \(runner.layout.metrics.path)")
        }
    }
}
