import Foundation
import IQATraining
import Tensor

extension DemoRunner {
    /// The IP-IQA model `ipiqa serve --demo` serves: split 1's final model of the demo's figure variant (similarity
    /// fusion, else the paper's), `<directory>/runs/<variant>-<key>/split_00/model_final.safetensors`. Runs only the
    /// stages it needs — world, tiny CLIP, Image2Prompt, that variant's training — each read from the cache when an
    /// earlier `ipiqa demo` (same settings) left it there, so a fresh machine gets a working model and a machine that
    /// ran the demo gets the very model the demo measured.
    ///
    /// ```swift
    /// let model = try DemoRunner.servingModel(config: .quick, directory: URL(fileURLWithPath: "ipiqa-demo")) { print($0) }
    /// ```
    public static func servingModel(config: DemoConfiguration, directory: URL, log: @escaping (String) -> Void = { _ in }) throws -> URL {
        try config.validate()
        Threading.setThreads(config.threads)
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw DemoError.writeFailed(path: directory.path, reason: error.localizedDescription)
        }
        let run = try DemoRun(config: config, directory: directory, log: log)
        guard let variant = run.figureVariant else {
            throw DemoError.invalidSetting("serving needs the ip-iqa-similarity or ip-iqa-paper variant in 'variants'")
        }
        let data = try run.prepareIQASet()
        let clip = try run.pretrainCLIP()
        let i2p = try run.runImage2Prompt(baseCLIP: clip.url)
        Threading.setThreads(config.evaluationThreads)
        defer { Threading.setThreads(config.threads) }
        let (_, folder) = try run.train(variant, clip: variant.usesImage2Prompt ? i2p.url : clip.url, data: data)
        let model = RunLayout(folder).finalModel(0)
        guard FileManager.default.fileExists(atPath: model.path) else {
            throw DemoError.writeFailed(path: model.path, reason: "the demo run finished without this model file")
        }
        run.note("serve", "model \(model.path)")
        return model
    }
}
