import ArgumentParser
import Foundation
import IQAExperiments
import IQATraining

/// `ipiqa experiment --grid FILE`: variants × datasets × splits, each cell an ordinary run directory, then the tables.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run a grid of variants × datasets over shared splits (resumable) and write the paper-style tables.",
        discussion: """
        The grid is JSON (see docs/experiments.md; grids/table3.json reproduces the paper's Table 3 layout). Each cell \
        is a training run (`ipiqa train` semantics) or a baseline in OUT/<dataset>/<variant>/. Rerun the same command to \
        continue a stopped grid: finished cells are never retrained, an interrupted one resumes from its last epoch. \
        Tables: OUT/tables/<dataset>.md, .csv, .png and tables.json, with the honest selection (validation, else the \
        final epoch) and the official best-test-epoch selection side by side. --tables-only rewrites them from what is done. \
        SIGINT / SIGTERM during a training step finish that step and stop (exit 130 / 143); elsewhere they stop at once; \
        either way nothing partial is written and the same command continues.
        """)

    @Option(help: "Grid file (JSON).") var grid: String
    @Option(help: "Output folder (created; rerun to continue).") var out: String = "ipiqa-experiment"
    @Flag(help: "Do not train; write the tables from the finished splits.") var tablesOnly = false
    @OptionGroup var threads: ThreadOptions

    func run() throws {
        try CLI.run {
            let again = "ipiqa experiment --grid \(grid) --out \(out)"
            // No step running (loading, checking images, a baseline's CLIP pass): a signal ends the process at once;
            // every file is written atomically and a rerun redoes only what was not finished.
            let stops = StopSignals(immediateMessage: "stopped; finished cells and epochs are kept, nothing partial was written. Continue with: \(again)")
            threads.apply()
            let parsed = try ExperimentGrid.read(from: URL(fileURLWithPath: grid))
            let runner = GridRunner(grid: parsed, output: URL(fileURLWithPath: out))
            var cell = ""
            runner.beforeCell = { dataset, variant in
                cell = "\(dataset) / \(variant)"
                if let sig = stops.atBoundary() {
                    throw StoppedBySignal(signal: sig, message: "stopped by \(StopSignals.name(sig)) before cell \(cell); "
                        + "finished cells are kept, nothing partial was written. Continue with: \(again)")
                }
            }
            runner.afterStep = { event in
                guard let sig = stops.check() else { return }
                let kept = event.epoch - 1
                throw StoppedBySignal(signal: sig, message: "stopped by \(StopSignals.name(sig)) (cell \(cell): split \(event.split + 1), "
                    + "epoch \(event.epoch) abandoned after step \(event.step); \(kept) epoch\(kept == 1 ? "" : "s") of this split kept); "
                    + "finished cells are kept, nothing partial was written. Continue with: \(again)")
            }
            let tables: GridTables
            if tablesOnly {
                tables = try GridTables.collect(grid: parsed, runner: runner)
                try tables.write(to: runner.output.appendingPathComponent("tables"))
            } else {
                do { tables = try runner.run() } catch let stop as StoppedBySignal { throw StoppedBySignal.exit(stop) }
            }
            print(tables.markdown(), terminator: "")
            CLI.note("wrote \(runner.output.appendingPathComponent("tables").path)")
        }
    }
}
