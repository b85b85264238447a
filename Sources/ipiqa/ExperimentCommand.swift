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
        final epoch) and the official best-test-epoch selection side by side. --tables-only rewrites them from what is done.
        """)

    @Option(help: "Grid file (JSON).") var grid: String
    @Option(help: "Output folder (created; rerun to continue).") var out: String = "ipiqa-experiment"
    @Flag(help: "Do not train; write the tables from the finished splits.") var tablesOnly = false
    @OptionGroup var threads: ThreadOptions

    func run() throws {
        try CLI.run {
            threads.apply()
            let parsed = try ExperimentGrid.read(from: URL(fileURLWithPath: grid))
            let runner = GridRunner(grid: parsed, output: URL(fileURLWithPath: out))
            let tables: GridTables
            if tablesOnly {
                tables = try GridTables.collect(grid: parsed, runner: runner)
                try tables.write(to: runner.output.appendingPathComponent("tables"))
            } else {
                tables = try runner.run()
            }
            print(tables.markdown(), terminator: "")
            CLI.note("wrote \(runner.output.appendingPathComponent("tables").path)")
        }
    }
}
