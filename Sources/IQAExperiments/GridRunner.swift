import Foundation
import IQAData
import IQATraining

/// Runs an ``ExperimentGrid`` into a folder, one ordinary run directory per cell:
///
///     <out>/grid.json                      the grid as read (paths resolved)
///     <out>/<dataset>/splits.json          the dataset's splits, made once, shared by every variant
///     <out>/<dataset>/<variant>/           a `Trainer` run (run.json, split_XX/…, metrics.json) or a baseline run
///     <out>/tables/                        <dataset>.md / .csv / .png and tables.json (``GridTables``)
///
/// Rerunning the same command continues a killed grid: a cell whose every split has its `result.json` is never
/// touched again, a cell with a `run.json` resumes with ``Trainer/resume(directory:progress:threads:)`` (which
/// keeps its finished splits and continues the interrupted one from its last epoch), other cells start.
///
/// ```swift
/// let runner = GridRunner(grid: try ExperimentGrid.read(from: gridURL), output: URL(fileURLWithPath: "runs/table3"))
/// let tables = try runner.run()
/// print(tables.markdown())
/// ```
public final class GridRunner {
    public let grid: ExperimentGrid
    public let output: URL
    public var progress: ProgressReporter
    /// Passed to every trainer (tests stop a grid mid-way by throwing from it).
    public var afterStep: ((Trainer.StepEvent) throws -> Void)?
    /// Called with the dataset's and the variant's names before each unfinished cell starts or resumes; an error it
    /// throws ends ``run()`` there (`ipiqa experiment` stops so between cells on SIGINT / SIGTERM).
    public var beforeCell: ((_ dataset: String, _ variant: String) throws -> Void)?

    public init(grid: ExperimentGrid, output: URL, progress: ProgressReporter = ProgressReporter()) {
        self.grid = grid
        self.output = output
        self.progress = progress
    }

    public func datasetFolder(_ d: ExperimentGrid.DatasetEntry) -> URL { output.appendingPathComponent(ExperimentGrid.slug(d.name)) }

    public func cellFolder(_ d: ExperimentGrid.DatasetEntry, _ v: ExperimentGrid.Variant) -> URL {
        datasetFolder(d).appendingPathComponent(ExperimentGrid.slug(v.name))
    }

    /// Whether every split of the cell has its result.
    public func isFinished(_ cell: URL) -> Bool {
        let layout = RunLayout(cell)
        return (0..<grid.splits).allSatisfy { FileManager.default.fileExists(atPath: layout.result($0).path) }
    }

    /// Runs every unfinished cell, then writes and returns the tables.
    @discardableResult
    public func run() throws -> GridTables {
        try checkNames()
        // One grid writer per output folder (each cell's Trainer also locks its own run folder).
        let lock = try RunLock(directory: output)
        defer { withExtendedLifetime(lock) {} }
        for d in grid.datasets {
            let splits = try datasetSplits(d)
            for v in grid.variants {
                let cell = cellFolder(d, v)
                try checkCell(cell, dataset: d, variant: v)
                if isFinished(cell) {
                    progress.log("\(d.name) / \(v.name): finished, kept")
                    continue
                }
                try beforeCell?(d.name, v.name)
                progress.log("\(d.name) / \(v.name): \(FileManager.default.fileExists(atPath: RunLayout(cell).manifest.path) ? "resuming" : "starting") in \(cell.path)")
                if let job = baselineJob(d, v) {
                    try BaselineRunner(job: job, output: cell, splits: splits, progress: progress).run()
                    continue
                }
                let trainer: Trainer
                let config = cellConfiguration(d, v)
                if FileManager.default.fileExists(atPath: RunLayout(cell).manifest.path) {
                    trainer = try Trainer.resume(directory: cell, progress: progress)
                    guard trainer.splits == splits else {
                        throw ExperimentError.badCell(directory: cell.path, reason: "its splits.json differs from the dataset's (\(datasetFolder(d).appendingPathComponent("splits.json").path))")
                    }
                } else {
                    trainer = try Trainer(config: config, clip: URL(fileURLWithPath: v.clip), dataset: d.dataset,
                                          labels: d.labels.map { URL(fileURLWithPath: $0) }, root: URL(fileURLWithPath: d.root),
                                          csvColumns: d.csvColumns, splits: splits, output: cell, progress: progress)
                }
                trainer.afterStep = afterStep
                try trainer.run()
            }
        }
        let tables = try GridTables.collect(grid: grid, runner: self)
        try tables.write(to: output.appendingPathComponent("tables"))
        return tables
    }

    /// The dataset's splits: read from `<dataset>/splits.json`, or made once from the dataset's protocol and the
    /// grid's count and seed (as `ipiqa train` makes them) and stored there.
    public func datasetSplits(_ d: ExperimentGrid.DatasetEntry) throws -> [Split] {
        let file = datasetFolder(d).appendingPathComponent("splits.json")
        if FileManager.default.fileExists(atPath: file.path) {
            let splits = try SplitSet.read(from: file).splits
            guard splits.count == grid.splits else {
                throw ExperimentError.badCell(directory: datasetFolder(d).path, reason: "splits.json holds \(splits.count) splits, the grid asks for \(grid.splits)")
            }
            return splits
        }
        if let given = d.splitsFile {
            let splits = try SplitSet.read(from: URL(fileURLWithPath: given)).splits
            guard splits.count == grid.splits else {
                throw ExperimentError.badGrid(file: given, reason: "holds \(splits.count) splits, the grid asks for \(grid.splits) ('splits')")
            }
            try FileManager.default.createDirectory(at: datasetFolder(d), withIntermediateDirectories: true)
            try SplitSet(splits: splits).write(to: file)
            return splits
        }
        let dataset = try DatasetLoader.load(d.dataset, labels: d.labels.map { URL(fileURLWithPath: $0) }, root: URL(fileURLWithPath: d.root),
                                             csvColumns: d.dataset == .csv ? d.csvColumns : nil)
        let proto = d.splitProtocol ?? d.dataset.defaultProtocol
        var grouped = GroupedSplitConfiguration()
        if let c = grid.variants.compactMap(\.config).first { grouped = c.grouped }
        let splits = try SplitMaker.make(proto, dataset: dataset, kind: d.dataset, count: grid.splits,
                                         seed: Int(truncatingIfNeeded: grid.seed), grouped: grouped)
        try FileManager.default.createDirectory(at: datasetFolder(d), withIntermediateDirectories: true)
        try SplitSet(splits: splits).write(to: file)
        return splits
    }

    /// The job of a baseline cell (nil for a trained variant).
    func baselineJob(_ d: ExperimentGrid.DatasetEntry, _ v: ExperimentGrid.Variant) -> BaselineJob? {
        guard let method = v.baseline else { return nil }
        var job = BaselineJob(method: method, clip: v.clip, dataset: d.dataset, labels: d.labels, root: d.root, csvColumns: d.csvColumns)
        job.splitProtocol = d.splitProtocol
        job.splits = grid.splits
        job.seed = grid.seed
        return job
    }

    /// The training configuration of a trained cell: the variant's, with the dataset's protocol.
    func cellConfiguration(_ d: ExperimentGrid.DatasetEntry, _ v: ExperimentGrid.Variant) -> TrainingConfiguration {
        var config = v.config!
        config.splitProtocol = d.splitProtocol
        return config
    }

    /// A cell folder written by an earlier run must hold what the grid now asks for (an edited grid would otherwise
    /// reuse results of other settings): the same training configuration (thread count aside), CLIP file and data,
    /// or for a baseline the same job. One error names the folder and the difference.
    func checkCell(_ cell: URL, dataset d: ExperimentGrid.DatasetEntry, variant v: ExperimentGrid.Variant) throws {
        let layout = RunLayout(cell)
        let jobFile = cell.appendingPathComponent("baseline.json")
        let hasRun = FileManager.default.fileExists(atPath: layout.manifest.path)
        let hasJob = FileManager.default.fileExists(atPath: jobFile.path)
        func fail(_ reason: String) -> ExperimentError {
            .badCell(directory: cell.path, reason: reason + "; move the folder away (or rename the variant) to run it again")
        }
        if let job = baselineJob(d, v) {
            if hasRun { throw fail("it holds a training run, the grid asks for the baseline \(job.method.rawValue)") }
            if hasJob, try BaselineRunner.readJob(jobFile) != job { throw fail("its baseline.json holds another baseline job than variant '\(v.name)'") }
            return
        }
        if hasJob { throw fail("it holds a baseline, the grid asks for a training run") }
        guard hasRun else { return }
        let stored = try RunManifest.read(from: layout.manifest)
        var expected = cellConfiguration(d, v), found = stored.config
        expected.threads = nil
        found.threads = nil
        if found != expected { throw fail("its run.json holds other training settings than variant '\(v.name)' of the grid") }
        if stored.clip != v.clip { throw fail("its run.json uses CLIP \(stored.clip), the grid \(v.clip)") }
        if stored.dataset != d.dataset || stored.root != d.root || stored.labels != d.labels {
            throw fail("its run.json reads another dataset, labels or image folder than '\(d.name)' of the grid")
        }
    }

    /// Two names that map to one folder would share a run directory.
    func checkNames() throws {
        func clash(_ names: [String], _ what: String) throws {
            var seen: [String: String] = [:]
            for n in names {
                let s = ExperimentGrid.slug(n)
                if let other = seen[s] { throw ExperimentError.badGrid(file: grid.name, reason: "\(what) '\(other)' and '\(n)' share the folder name '\(s)'") }
                seen[s] = n
            }
        }
        try clash(grid.datasets.map(\.name) + ["tables"], "datasets")
        try clash(grid.variants.map(\.name), "variants")
    }
}
