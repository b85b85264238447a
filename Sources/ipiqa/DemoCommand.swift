import ArgumentParser
import Foundation
import IPIQADemo

/// `ipiqa demo`: the whole IP-IQA method on the embedded synthetic world SynthAGI, with cached artefacts; tables on
/// stdout, progress on stderr.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run IP-IQA end to end on the synthetic world SynthAGI (tiny CLIP, Image2Prompt, IP-IQA, baselines, ablations).",
        discussion: """
        Artefacts (world images, CLIP checkpoints, Image2Prompt checkpoint, features) are cached in --dir under keys \
        of their settings; a second run reuses them and prints the same tables. The default run takes about \
        5 minutes on 2 cores (release build, at most 10); --quick under a minute.
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

    @Option(name: .long, help: "Worker threads (default 2; part of every cache key).")
    var threads: Int?

    @Option(name: .long, help: "Number of grouped train/test splits.")
    var splits: Int?

    @Option(name: .long, help: "A JSON file with DemoConfiguration settings; missing keys keep the preset's (default or --quick) values.")
    var config: String?

    func run() throws {
        try CLI.run {
            var settings = quick ? DemoConfiguration.quick : DemoConfiguration.standard
            if let config {
                let url = URL(fileURLWithPath: config)
                guard let data = FileManager.default.contents(atPath: url.path) else {
                    throw ValidationError("cannot read --config \(config)")
                }
                let decoder = JSONDecoder()
                decoder.userInfo[DemoConfiguration.baseKey] = settings
                do { settings = try decoder.decode(DemoConfiguration.self, from: data) } catch {
                    throw ValidationError("--config \(config): \(error.localizedDescription)")
                }
            }
            if let seed { settings.seed = seed }
            if let threads { settings.threads = threads }
            if let splits { settings.splits = splits }
            let result = try DemoRunner.run(config: settings, directory: URL(fileURLWithPath: dir)) { CLI.note($0) }
            let out = json ? try DemoTable.json(result) : DemoTable.text(result)
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }
}
