import ArgumentParser
import Foundation
import IPIQADemo

/// `ipiqa demo`: the whole IP-IQA method on the embedded synthetic world SynthAGI, with cached artefacts
/// (``DemoRunner``); tables on stdout, progress on stderr.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run IP-IQA end to end on the synthetic world SynthAGI (tiny CLIP, Image2Prompt, IP-IQA, baselines, ablations).",
        discussion: """
        Artefacts (world images, CLIP checkpoints, Image2Prompt checkpoint, features) are cached in --dir under keys \
        of their settings; a second run reuses them and prints the same tables. The default run takes about \
        5 minutes on 2 cores (release build, at most 10); --quick about half a minute.
        """
    )

    @Option(name: .long, help: "Cache and output folder.")
    var dir: String = "ipiqa-demo"

    @Flag(name: .long, help: "The quick run (smaller world, fewer steps and splits).")
    var quick = false

    @Flag(name: .long, help: "Print the results as JSON instead of tables.")
    var json = false

    @Option(name: .long, help: "World and training seed (default 42).")
    var seed: UInt64?

    // Not ThreadOptions: the demo's default is 2 (not all cores), part of its cache keys.
    @Option(name: .long, help: "Worker threads (default 2; part of every cache key).")
    var threads: Int?

    @Option(name: .long, help: "Number of grouped train/test splits.")
    var splits: Int?

    @Option(name: .long, help: "A JSON file with DemoConfiguration settings; missing keys keep the preset's (default or --quick) values.")
    var config: String?

    func validate() throws { _ = try settings() }

    /// The preset (default or --quick), then --config FILE, then --seed/--threads/--splits.
    func settings() throws -> DemoConfiguration {
        var settings = quick ? DemoConfiguration.quick : DemoConfiguration.standard
        if let config {
            guard let data = FileManager.default.contents(atPath: URL(fileURLWithPath: config).path) else {
                throw ValidationError("cannot read --config \(config)")
            }
            do { settings = try DemoConfiguration(json: data, base: settings) } catch {
                throw ValidationError("--config \(config): \(error.localizedDescription)")
            }
        }
        if let seed { settings.seed = seed }
        if let threads { settings.threads = threads }
        if let splits { settings.splits = splits }
        return settings
    }

    func run() throws {
        try CLI.run {
            let result = try DemoRunner.run(config: try settings(), directory: URL(fileURLWithPath: dir)) { CLI.note($0) }
            FileHandle.standardOutput.write(Data((json ? try DemoTable.json(result) : DemoTable.text(result)).utf8))
        }
    }
}
