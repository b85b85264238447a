import ArgumentParser
import Foundation
import IQAData
import IQAModel
import IQATraining

/// `ipiqa train`: fine-tune IP-IQA over repeated splits (``Trainer``); writes metrics.json, models, plots and a
/// resumable state.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train IP-IQA over repeated splits (default: the paper's [QA] token and fusion with the official training values) and report SRCC/PLCC/KRCC per output.",
        discussion: """
        Defaults: the paper's model with the official code's optimisation values (--recipe paper|official presets every \
        setting where the two differ): AdamW lr 1e-5 (constant; head ×10), weight decay 0, batch 32, 100 epochs, \
        512² squashed inputs, horizontal flips in training, MSE on the raw MOS. Values come from the defaults, then \
        --config FILE (JSON, TrainingConfiguration keys), then the flags given.
        Protocol: official for agiqa-1k/3k (no validation part: metrics.json reports the best TEST epoch, as the \
        official code does, and marks the honest validation-selected numbers null), grouped for csv (train/validation/\
        test by group; the epoch is chosen on validation).
        --micro-batch N accumulates gradients over N-image passes; BatchNorm then normalises per micro-batch.
        A killed run continues with --resume DIR (same numbers as an uninterrupted run with the same --threads).
        Data-parallel: `mpirun -np N ipiqa train …` splits each global batch among N ranks and sums their gradients \
        (rank 0 writes; docs/scaling.md); `mpirun -np 2 … --threads 1` gives the numbers of one process with \
        --micro-batch 16 (batch 32).
        Faster modes (not the paper's recipe; see docs/training-modes.md): --freeze-trunk trains on layer4 maps cached \
        once per image and orientation (--feature-cache DIR, F16); --freeze-kv also freezes the attention pools' key/value \
        projections and caches the projected keys/values. The exact [QA]-prefix text cache is on whenever the text path \
        is frozen (--no-text-cache turns it off). --text-extras official trains the text positional embedding and \
        text_projection, as the official code does through its freeze_module quirk.
        --init MODEL fine-tunes every split from a trained model file (an own one or an `ipiqa import`ed official \
        checkpoint) instead of CLIP plus new layers: its architecture is adopted (flags may change dropout; a flag that \
        changes the architecture is an error), --clip is then not needed, and an imported official model continues with \
        its text semantics (--qa-token table, --text-extras official) unless flags say otherwise.
        """)

    // Required unless --resume (or --print-config), so optional here; see validate().
    @Option(help: "CLIP ResNet checkpoint (RN50.pt, .bin or .safetensors).") var clip: String?
    @Option(help: DatasetOptions.datasetHelp) var dataset: DatasetKind?
    @Option(help: "Image folder.") var root: String?
    @Option(help: DatasetOptions.labelsHelp) var labels: String?
    @Option(help: "Run directory (created).") var out: String = "ipiqa-run"
    @Option(help: "JSON configuration file (any TrainingConfiguration keys).") var config: String?
    @Option(help: "Continue the run in this directory (other options but --threads are ignored).") var resume: String?
    @Option(name: .customLong("init"), help: "Start every split from this trained model file (own or `ipiqa import`ed) instead of --clip.") var initModel: String?
    @Option(help: "Train on the splits of this file (ipiqa splits output, e.g. a database's own split) instead of making them; --splits is its count.")
    var splitsFile: String?

    @OptionGroup var recipe: TrainingOptions
    @OptionGroup var threads: ThreadOptions
    @Flag(help: "Do not draw plots.") var noPlots = false
    @Flag(help: "Keep each split's resumable state (with optimizer moments) after it finished.") var keepTrainingState = false

    @OptionGroup var columns: CSVColumnOptions
    @Flag(help: "Print the resolved configuration as JSON and exit.") var printConfig = false

    private static let missingInputs = ValidationError("--clip (or --init MODEL), --dataset and --root are required (or --resume DIR)")

    func validate() throws {
        if resume != nil, initModel != nil { throw ValidationError("--init starts a new run; --resume continues one (it remembers its --init)") }
        guard resume == nil, !printConfig else { return }
        guard clip != nil || initModel != nil, dataset != nil, root != nil else { throw Self.missingInputs }
        try DatasetOptions.checkProtocol(recipe.splitProtocol, for: dataset)
    }

    func run() throws {
        try CLI.run {
            // Caught from the start: a signal before the first step ends the process at once (nothing is half-written).
            let stops = StopSignals(immediateMessage: "stopped before the first training step; nothing partial was written "
                                    + "(run the same command again, or continue with: ipiqa train --resume \(resume ?? out))")
            let progress = ProgressReporter()
            let trainer: Trainer
            if let resume {
                trainer = try Trainer.resume(directory: URL(fileURLWithPath: resume), progress: progress, threads: threads.threads)
            } else {
                var initial: (config: IPIQAConfiguration, textExtras: TextExtras?)?
                if let initModel {
                    let (model, metadata) = try IPIQACheckpoint.load(URL(fileURLWithPath: initModel))
                    initial = (model.config, metadata["text_extras"].flatMap(TextExtras.init(rawValue:)))
                }
                var c = try recipe.configuration(file: config.map { URL(fileURLWithPath: $0) }, threads: threads.threads,
                                                 plots: !noPlots, keepTrainingState: keepTrainingState, initial: initial)
                let given = try splitsFile.map { try SplitSet.read(from: URL(fileURLWithPath: $0)).splits }
                if let given { c.splits = given.count }
                if printConfig {
                    FileHandle.standardOutput.write(try c.jsonData() + Data("\n".utf8))
                    return
                }
                guard let source = clip ?? initModel, let dataset, let root else { throw Self.missingInputs }
                if clip != nil, initModel != nil { CLI.note("note: --init gives every weight; --clip is not used") }
                trainer = try Trainer(config: c, clip: URL(fileURLWithPath: initModel ?? source), dataset: dataset,
                                      labels: labels.map { URL(fileURLWithPath: $0) }, root: URL(fileURLWithPath: root),
                                      csvColumns: try columns.columns(for: dataset), splits: given, output: URL(fileURLWithPath: out),
                                      progress: progress, initModel: initModel.map { URL(fileURLWithPath: $0) })
            }
            let directory = trainer.layout.directory.path
            trainer.afterStep = { event in
                guard let sig = stops.check() else { return }
                let done = event.epoch - 1
                throw TrainingError.stopped(directory: directory, signal: StopSignals.name(sig),
                                            completedEpochs: "split \(event.split + 1), epoch \(event.epoch) abandoned after step \(event.step); "
                                                + "\(done) epoch\(done == 1 ? "" : "s") of this split kept")
            }
            let report: RunReport
            do { report = try trainer.run() } catch let e as TrainingError {
                guard case .stopped = e, let sig = stops.check() else { throw e }
                CLI.printError(e.errorDescription ?? "stopped")
                throw ExitCode(128 + sig)
            }
            guard trainer.communicator.isRoot else { return }
            CLI.note("wrote \(trainer.layout.metrics.path)")
            for s in report.splits {
                let (selection, picked) = s.headline
                CLI.note("split \(s.split): \(selection.rawValue) epoch \(picked?.epoch ?? 0): \(picked?.test.summaryLine ?? "n/a")")
            }
        }
    }
}
