import Archive
import Foundation
import IQAData

/// Everything a run needs to be rebuilt from its directory (`run.json`): the configuration and where the CLIP
/// weights, labels and images are. `ipiqa train --resume DIR` reads it; paths are stored as given (absolute
/// paths resume from anywhere).
///
/// Layout of a run directory:
///
///     run.json, splits.json, metrics.json (rewritten after every epoch; "complete": true at the end)
///     split_00/ training_state.safetensors   resumable state, after every epoch (removed when the split is done
///                                             unless keepTrainingState)
///               result.json                  the split's history and selections, when the split is done
///               model_best.safetensors       IPIQACheckpoint of the headline-selected epoch (`ipiqa score --model`)
///               model_final.safetensors      IPIQACheckpoint after the last epoch
///               scatter_<output>.png, loss.png, srcc.png
///
/// ```swift
/// let manifest = try RunManifest.read(from: dir.appendingPathComponent("run.json"))
/// ```
public struct RunManifest: Codable, Sendable, Equatable {
    public static let formatTag = "ipiqa-run-v1"
    public var format = RunManifest.formatTag
    public var config: TrainingConfiguration
    public var clip: String
    public var dataset: DatasetKind
    /// nil: the bundled labels.
    public var labels: String?
    public var root: String
    public var csvColumns: CSVColumns?
    /// A trained model file every split starts from (`ipiqa train --init`; an own or an imported official model)
    /// instead of CLIP plus freshly initialised layers; nil: from ``clip``.
    public var initModel: String?

    public init(config: TrainingConfiguration, clip: String, dataset: DatasetKind, labels: String?, root: String, csvColumns: CSVColumns?,
                initModel: String? = nil) {
        self.config = config
        self.clip = clip
        self.initModel = initModel
        self.dataset = dataset
        self.labels = labels
        self.root = root
        self.csvColumns = csvColumns
    }

    public static func read(from url: URL) throws -> RunManifest {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.badResume(directory: url.deletingLastPathComponent().path, reason: "no readable run.json (\(FileProblem.describe(error)))")
        }
        do {
            let m = try JSONDecoder().decode(RunManifest.self, from: data)
            guard m.format == formatTag else { throw TrainingError.badResume(directory: url.path, reason: "format '\(m.format)', expected '\(formatTag)'") }
            return m
        } catch let e as TrainingError { throw e } catch {
            throw TrainingError.badResume(directory: url.deletingLastPathComponent().path, reason: "run.json is unreadable (\(error))")
        }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try AtomicWrite.data(try encoder.encode(self), to: url)
    }

    /// Loads the dataset the manifest names.
    public func loadDataset() throws -> Dataset {
        try DatasetLoader.load(dataset, labels: labels.map { URL(fileURLWithPath: $0) }, root: URL(fileURLWithPath: root),
                               csvColumns: dataset == .csv ? csvColumns : nil, duplicates: config.duplicates)
    }
}

/// Files of a run directory.
public struct RunLayout: Sendable {
    public let directory: URL
    public init(_ directory: URL) { self.directory = directory }

    public var manifest: URL { directory.appendingPathComponent("run.json") }
    public var splits: URL { directory.appendingPathComponent("splits.json") }
    public var metrics: URL { directory.appendingPathComponent("metrics.json") }
    public func splitDirectory(_ k: Int) -> URL { directory.appendingPathComponent(String(format: "split_%02d", k)) }
    public func trainingState(_ k: Int) -> URL { splitDirectory(k).appendingPathComponent("training_state.safetensors") }
    public func result(_ k: Int) -> URL { splitDirectory(k).appendingPathComponent("result.json") }
    public func bestModel(_ k: Int) -> URL { splitDirectory(k).appendingPathComponent("model_best.safetensors") }
    public func finalModel(_ k: Int) -> URL { splitDirectory(k).appendingPathComponent("model_final.safetensors") }
    public func file(_ k: Int, _ name: String) -> URL { splitDirectory(k).appendingPathComponent(name) }

    /// Deletes the temporary files of interrupted atomic writes (`.<name>.<pid>-<n>.partial…`, see `AtomicFile`) in the
    /// run folder and its split folders, and returns their relative paths. Call only while holding the ``RunLock``.
    @discardableResult
    public func removeStaleTemporaryFiles() -> [String] {
        let fm = FileManager.default
        var removed: [String] = []
        var folders = [""]
        folders += ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasPrefix("split_") }
        for folder in folders {
            let url = folder.isEmpty ? directory : directory.appendingPathComponent(folder)
            for name in (try? fm.contentsOfDirectory(atPath: url.path)) ?? [] where name.hasPrefix(".") && name.contains(".partial") {
                if (try? fm.removeItem(at: url.appendingPathComponent(name))) != nil { removed.append(folder.isEmpty ? name : folder + "/" + name) }
            }
        }
        return removed
    }

    /// Whether the run has completed at least one epoch (a resumable state, a finished split or metrics exist). A
    /// run folder without progress — a run that failed or was killed before its first epoch ended — may be replaced
    /// by a new run.
    public var holdsProgress: Bool {
        let fm = FileManager.default
        if fm.fileExists(atPath: metrics.path) { return true }
        let entries = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in entries where name.hasPrefix("split_") {
            let folder = directory.appendingPathComponent(name)
            for file in ["training_state.safetensors", "result.json", "model_final.safetensors", "model_best.safetensors"]
                where fm.fileExists(atPath: folder.appendingPathComponent(file).path) { return true }
        }
        return false
    }
}
