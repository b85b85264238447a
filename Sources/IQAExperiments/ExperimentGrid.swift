import Foundation
import IQAData
import IQATraining

/// A JSON experiment grid: variants × datasets, each cell evaluated over the same splits of its dataset.
///
///     {
///       "name": "table3",
///       "clip": "RN50.pt",                      // CLIP checkpoint of every trained variant (a variant may name another)
///       "splits": 10, "seed": 42,               // split count and seed, shared by every cell
///       "recipe": "paper",                      // optional preset under "base": paper or official (TrainingRecipe)
///       "base": {"epochs": 100},                // training settings of every variant (TrainingConfiguration keys)
///       "datasets": [{"name": "AGIQA-3k", "dataset": "agiqa-3k", "root": "AGIQA-3K"}],
///       "variants": [
///         {"name": "IP-IQA", "config": {}},
///         {"name": "w/o [QA]", "config": {"qaToken": "none"}},
///         {"name": "w/o Image2Prompt", "clip": "RN50-openai.pt"},
///         {"name": "CLIP-IQA", "baseline": "clip-iqa"}
///       ]
///     }
///
/// A dataset may also give `splitsFile` (a split file, e.g. the database's own split; its count must equal `splits`).
/// Relative paths are taken from the current directory (as every `ipiqa` path) and stored absolute in the cells. A dataset entry takes `dataset`, `root`, and optionally
/// `labels`, `csvColumns` and `protocol` (`official` / `grouped`; default as in `ipiqa train`). A variant is either a
/// training run (`config`: keys of ``TrainingConfiguration`` over `base`; optional `clip`) or a `baseline`
/// (``BaselineMethod``). Unknown keys anywhere are an error naming them.
///
/// ```swift
/// let grid = try ExperimentGrid.read(from: URL(fileURLWithPath: "grids/table3.json"))
/// ```
public struct ExperimentGrid: Sendable {
    public struct DatasetEntry: Sendable, Equatable {
        public var name: String
        public var dataset: DatasetKind
        public var root: String
        public var labels: String?
        public var csvColumns: CSVColumns?
        public var splitProtocol: SplitProtocol?
        /// The dataset's splits from a file (e.g. the database's own split, `ipiqa splits --train-labels …`).
        public var splitsFile: String?
    }

    public struct Variant: Sendable, Equatable {
        public var name: String
        /// Training settings over the grid's base (nil for a baseline).
        public var config: TrainingConfiguration?
        public var clip: String
        public var baseline: BaselineMethod?
    }

    public var name: String
    public var splits: Int
    public var seed: UInt64
    /// The preset under `base` (``TrainingRecipe``), nil: the defaults.
    public var recipe: TrainingRecipe?
    public var datasets: [DatasetEntry]
    public var variants: [Variant]

    public init(name: String, splits: Int, seed: UInt64, recipe: TrainingRecipe? = nil, datasets: [DatasetEntry], variants: [Variant]) {
        self.name = name
        self.splits = splits
        self.seed = seed
        self.recipe = recipe
        self.datasets = datasets
        self.variants = variants
    }

    /// Reads and checks a grid file (every problem names the file and the entry).
    public static func read(from url: URL) throws -> ExperimentGrid {
        let file = url.path
        func fail(_ reason: String) -> ExperimentError { .badGrid(file: file, reason: reason) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw fail("unreadable (\(error.localizedDescription))") }
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw fail("not a JSON object") }
        func path(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
        func checkKeys(_ object: [String: Any], _ known: Set<String>, _ where_: String) throws {
            let unknown = Set(object.keys).subtracting(known).sorted()
            if !unknown.isEmpty { throw fail("\(where_): unknown key\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")) (known: \(known.sorted().joined(separator: ", ")))") }
        }
        try checkKeys(top, ["name", "clip", "splits", "seed", "recipe", "base", "datasets", "variants"], "top level")
        var recipe: TrainingRecipe?
        if let r = top["recipe"] {
            guard let text = r as? String, let value = TrainingRecipe(rawValue: text) else { throw fail("'recipe' must be paper or official") }
            recipe = value
        }
        let name = top["name"] as? String ?? url.deletingPathExtension().lastPathComponent
        let splits = (top["splits"] as? Int) ?? TrainingDefaults.splits
        guard splits >= 1 else { throw fail("splits must be ≥ 1") }
        let seed = (top["seed"] as? Int).map { UInt64(truncatingIfNeeded: $0) } ?? TrainingDefaults.seed
        let clip = (top["clip"] as? String).map(path)
        var base: [String: Any] = [:]
        if let recipe, let preset = try? JSONSerialization.jsonObject(with: recipe.configuration.jsonData()) as? [String: Any] {
            for key in ["batchSize", "qaToken", "textExtras", "weightDecay", "duplicates"] where preset[key] != nil { base[key] = preset[key] }
        }
        for (key, value) in top["base"] as? [String: Any] ?? [:] { base[key] = value }
        if top["base"] != nil, top["base"] as? [String: Any] == nil { throw fail("'base' must be an object of training settings") }

        guard let datasetList = top["datasets"] as? [[String: Any]], !datasetList.isEmpty else { throw fail("'datasets' must be a non-empty list of objects") }
        var datasets: [DatasetEntry] = []
        for (i, d) in datasetList.enumerated() {
            let label = "datasets[\(i)]"
            try checkKeys(d, ["name", "dataset", "root", "labels", "csvColumns", "protocol", "splitsFile"], label)
            guard let kindText = d["dataset"] as? String, let kind = DatasetKind(rawValue: kindText) else {
                throw fail("\(label): 'dataset' must be one of \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let root = d["root"] as? String else { throw fail("\(label): 'root' (the image folder) is missing") }
            var columns: CSVColumns?
            if let c = d["csvColumns"] {
                do { columns = try JSONDecoder().decode(CSVColumns.self, from: JSONSerialization.data(withJSONObject: c)) } catch {
                    throw fail("\(label): 'csvColumns' must be {\"image\", \"prompt\", \"scores\": […]} (\(error))")
                }
            }
            var proto: SplitProtocol?
            if let p = d["protocol"] {
                guard let text = p as? String, let value = SplitProtocol(rawValue: text) else { throw fail("\(label): 'protocol' must be official or grouped") }
                proto = value
            }
            if proto == .official, !kind.hasOfficialSplits { throw fail("\(label): there is no official protocol for \(kind.rawValue)") }
            let entryName = d["name"] as? String ?? kindText
            if datasets.contains(where: { $0.name == entryName }) { throw fail("\(label): dataset name '\(entryName)' is used twice") }
            datasets.append(DatasetEntry(name: entryName, dataset: kind, root: path(root), labels: (d["labels"] as? String).map(path),
                                         csvColumns: columns, splitProtocol: proto, splitsFile: (d["splitsFile"] as? String).map(path)))
        }

        guard let variantList = top["variants"] as? [[String: Any]], !variantList.isEmpty else { throw fail("'variants' must be a non-empty list of objects") }
        var variants: [Variant] = []
        for (i, v) in variantList.enumerated() {
            guard let vname = v["name"] as? String, !vname.isEmpty else { throw fail("variants[\(i)]: 'name' is missing") }
            let label = "variant '\(vname)'"
            try checkKeys(v, ["name", "config", "clip", "baseline"], label)
            if variants.contains(where: { $0.name == vname }) { throw fail("\(label) is named twice") }
            guard let vclip = (v["clip"] as? String).map(path) ?? clip else { throw fail("\(label): no CLIP checkpoint ('clip' here or at the top level)") }
            if let b = v["baseline"] {
                guard let text = b as? String, let method = BaselineMethod(rawValue: text) else {
                    throw fail("\(label): 'baseline' must be one of \(BaselineMethod.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if v["config"] != nil { throw fail("\(label): a baseline takes no training 'config'") }
                variants.append(Variant(name: vname, config: nil, clip: vclip, baseline: method))
                continue
            }
            if v["config"] != nil, v["config"] as? [String: Any] == nil { throw fail("\(label): 'config' must be an object of training settings") }
            var merged = base
            for (key, value) in v["config"] as? [String: Any] ?? [:] { merged[key] = value }
            let unknown = Set(merged.keys).subtracting(TrainingConfiguration.knownKeys).sorted()
            if !unknown.isEmpty { throw fail("\(label): unknown training setting\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", "))") }
            for key in ["splits", "seed", "splitProtocol"] where merged[key] != nil {
                throw fail("\(label): '\(key)' is set by the grid (top-level 'splits' / 'seed', the dataset's 'protocol')")
            }
            var config: TrainingConfiguration
            do { config = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONSerialization.data(withJSONObject: merged)) } catch {
                throw fail("\(label): bad training settings (\(error))")
            }
            config.splits = splits
            config.seed = seed
            do { try config.validate() } catch { throw fail("\(label): \(error.localizedDescription)") }
            variants.append(Variant(name: vname, config: config, clip: vclip, baseline: nil))
        }
        return ExperimentGrid(name: name, splits: splits, seed: seed, recipe: recipe, datasets: datasets, variants: variants)
    }

    /// A file-system-safe folder name: letters, digits, `-`, `_`, `.`; everything else becomes `_`.
    public static func slug(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        let s = String(name.map { allowed.contains($0) ? $0 : "_" })
        return s.isEmpty || s.allSatisfy({ $0 == "." }) ? "_" : s
    }
}
