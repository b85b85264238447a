import ArgumentParser
import Benchmarks
import DataParallel
import Foundation

/// `ipiqa bench mpi`: the cost of data-parallel training (``MPIBenchmark``): one allreduce of a gradient-sized buffer
/// and whole training steps with the global batch split among the ranks. Compare
/// `mpirun -np 2 ipiqa bench mpi --threads 1` with `ipiqa bench mpi --threads 2` (docs/scaling.md); `--overlap off`
/// against `on` (with the gradient allreduce timed alone) gives the share of the allreduce the backward pass hides.
struct BenchMPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi",
        abstract: "Time an allreduce of the RN50 gradient and data-parallel training steps (run under mpirun, and alone for the baseline)."
    )

    @Option(help: "Floats in the timed allreduce (default: 51,000,000, the RN50 IP-IQA gradient).") var floats = MPIBenchmarkConfiguration().floats ?? 0
    @Option(help: "Timed allreduces (median reported).") var repeats = MPIBenchmarkConfiguration().repeats
    @Option(help: "Input side in pixels.") var resolution = MPIBenchmarkConfiguration().resolution
    @Option(help: "Global batch per step.") var batchSize = MPIBenchmarkConfiguration().batchSize
    @Option(help: "Images per forward/backward pass on each rank.") var microBatch = MPIBenchmarkConfiguration().microBatch
    @Option(help: "Timed training steps (median reported; 0: allreduce only).") var steps = MPIBenchmarkConfiguration().steps
    @Option(help: "on: gradient buckets start during the backward pass (as training does); off: all after it.") var overlap = "on"
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var output: BenchOutputOptions

    var benchmarkConfiguration: MPIBenchmarkConfiguration {
        var c = MPIBenchmarkConfiguration()
        c.floats = floats; c.repeats = repeats; c.resolution = resolution; c.batchSize = batchSize
        c.microBatch = microBatch; c.steps = steps; c.overlap = overlap == "on"
        return c
    }

    func validate() throws {
        guard ["on", "off"].contains(overlap) else { throw ValidationError("--overlap must be on or off, got '\(overlap)'") }
        do { try benchmarkConfiguration.validate() } catch { throw ValidationError(error.localizedDescription) }
    }

    func run() throws {
        try CLI.run {
            threads.apply()
            let world = try World.communicator()
            let result = try MPIBenchmark.run(benchmarkConfiguration, communicator: world) { if world.isRoot { CLI.note($0) } }
            guard world.isRoot else { return }
            if output.json { return try CLI.printJSON(result) }
            print(MPIBenchmark.table(result))
        }
    }
}
