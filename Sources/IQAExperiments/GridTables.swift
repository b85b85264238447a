import Foundation
import IQAMetrics
import IQATraining
import Imaging

/// The grid's results in the paper's layout: one table per dataset, a row per variant, for each output SRCC / PLCC /
/// KRCC as mean ± std (ddof 0) over the finished splits, under two selections, side by side and labelled:
///
/// - **honest**: the epoch chosen on the validation part where the protocol has one, otherwise the final epoch
///   (nothing of the test part is used to choose);
/// - **official (best test epoch)**: the epoch maximising `agg = Σ (SRCC + PLCC + KRCC)` on the TEST part, which is
///   what the official IP-IQA code reports (optimistic).
///
/// Baselines have one "epoch", so both selections agree for them. A cell with fewer finished splits than the grid
/// asks for is marked `(k/n splits)`.
///
/// ```swift
/// let tables = try GridTables.collect(grid: grid, runner: runner)
/// try tables.write(to: out.appendingPathComponent("tables"))     // <dataset>.md / .csv / .png, tables.json
/// ```
public struct GridTables: Codable, Sendable, Equatable {
    public enum Selection: String, Codable, Sendable, CaseIterable {
        case honest
        case official = "official-best-test-epoch"

        public var label: String {
            switch self {
            case .honest: return "honest (validation-selected, else final epoch)"
            case .official: return "official (best test epoch, optimistic)"
            }
        }
    }

    public struct Cell: Codable, Sendable, Equatable {
        public var variant: String
        /// `train` or the baseline method.
        public var kind: String
        public var finishedSplits: Int
        /// selection → output → metric (`srcc`, `plcc`, `krcc`) → summary over splits.
        public var metrics: [String: [String: [String: Summary]]]
        /// The honest selection's rule as it applied: `validation` or `final epoch`.
        public var honestRule: String
    }

    public struct Table: Codable, Sendable, Equatable {
        public var dataset: String
        public var outputs: [String]
        public var splits: Int
        public var cells: [Cell]
    }

    public var grid: String
    /// The grid's ``TrainingRecipe`` ("default" without one).
    public var recipe: String
    public var tables: [Table]

    public static let metricNames = ["srcc", "plcc", "krcc"]

    /// Reads every cell's finished splits (`split_XX/result.json`).
    public static func collect(grid: ExperimentGrid, runner: GridRunner) throws -> GridTables {
        var tables: [Table] = []
        for d in grid.datasets {
            var outputs: [String] = []
            var cells: [Cell] = []
            for v in grid.variants {
                let layout = RunLayout(runner.cellFolder(d, v))
                var results: [SplitResult] = []
                for k in 0..<grid.splits {
                    let url = layout.result(k)
                    guard FileManager.default.fileExists(atPath: url.path) else { continue }
                    do { results.append(try JSONDecoder().decode(SplitResult.self, from: Data(contentsOf: url))) } catch {
                        throw ExperimentError.badCell(directory: url.path, reason: "unreadable split result (\(error))")
                    }
                }
                if outputs.isEmpty, let first = results.first?.history.first { outputs = first.test.names }
                let honest = results.compactMap { $0.validationCount != nil ? $0.validationSelected : $0.finalEpoch }
                let official = results.compactMap(\.bestTestEpoch)
                let rule = results.isEmpty ? "-" : (results.allSatisfy { $0.validationCount != nil } ? "validation" : "final epoch")
                cells.append(Cell(variant: v.name, kind: v.baseline?.rawValue ?? "train", finishedSplits: results.count,
                                  metrics: [Selection.honest.rawValue: summarise(honest), Selection.official.rawValue: summarise(official)],
                                  honestRule: rule))
            }
            tables.append(Table(dataset: d.name, outputs: outputs, splits: grid.splits, cells: cells))
        }
        return GridTables(grid: grid.name, recipe: grid.recipe?.rawValue ?? "default", tables: tables)
    }

    static func summarise(_ chosen: [SelectedEpoch]) -> [String: [String: Summary]] {
        var out: [String: [String: Summary]] = [:]
        guard let names = chosen.first?.test.names else { return out }
        for name in names {
            let sets = chosen.compactMap { $0.test[name] }
            guard !sets.isEmpty else { continue }
            out[name] = ["srcc": Summary(values: sets.map(\.srcc)), "plcc": Summary(values: sets.map(\.plcc)),
                         "krcc": Summary(values: sets.map(\.krcc))]
        }
        return out
    }

    static func format(_ s: Summary?) -> String {
        guard let s else { return "–" }
        return String(format: "%.4f ± %.4f", s.mean, s.std)
    }

    /// One Markdown table per dataset; columns: variant, then per selection and output SRCC / PLCC / KRCC.
    public func markdown(_ table: Table) -> String {
        var lines = ["## \(table.dataset) (\(grid), recipe \(recipe), mean ± std over \(table.splits) split\(table.splits == 1 ? "" : "s"))", ""]
        var header = ["Variant"], rule = ["---"]
        for sel in Selection.allCases { for o in table.outputs { for m in Self.metricNames {
            header.append("\(sel == .honest ? "honest" : "official") \(o) \(m.uppercased())")
            rule.append("---:")
        } } }
        lines.append("| " + header.joined(separator: " | ") + " |")
        lines.append("| " + rule.joined(separator: " | ") + " |")
        for c in table.cells {
            var row = [c.variant + (c.finishedSplits < table.splits ? " (\(c.finishedSplits)/\(table.splits) splits)" : "")]
            for sel in Selection.allCases { for o in table.outputs { for m in Self.metricNames {
                row.append(Self.format(c.metrics[sel.rawValue]?[o]?[m]))
            } } }
            lines.append("| " + row.joined(separator: " | ") + " |")
        }
        lines.append("")
        lines.append("honest = \(Selection.honest.label); official = \(Selection.official.label). "
                     + "Baselines have a single predictor, so both selections coincide for them.")
        return lines.joined(separator: "\n") + "\n"
    }

    /// All tables as Markdown.
    public func markdown() -> String { tables.map(markdown).joined(separator: "\n") }

    /// CSV, one row per (variant, selection, output): mean and std of each metric.
    public func csv(_ table: Table) -> String {
        func q(_ s: String) -> String { s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        var out = "dataset,variant,kind,selection,output,finished_splits,srcc_mean,srcc_std,plcc_mean,plcc_std,krcc_mean,krcc_std\n"
        for c in table.cells { for sel in Selection.allCases { for o in table.outputs {
            let m = c.metrics[sel.rawValue]?[o]
            let values = Self.metricNames.flatMap { name -> [String] in
                guard let s = m?[name] else { return ["", ""] }
                return [String(format: "%.6f", s.mean), String(format: "%.6f", s.std)]
            }
            out += ([q(table.dataset), q(c.variant), c.kind, sel.rawValue, q(o), String(c.finishedSplits)] + values).joined(separator: ",") + "\n"
        } } }
        return out
    }

    /// SRCC of every output under both selections, variant by variant (x = the variant's row number in the table).
    public func plot(_ table: Table) -> RGBImage {
        var series: [(name: String, values: [Double])] = []
        for sel in Selection.allCases { for o in table.outputs {
            series.append(("\(sel == .honest ? "HONEST" : "OFFICIAL") \(o.uppercased()) SRCC",
                           table.cells.map { $0.metrics[sel.rawValue]?[o]?["srcc"]?.mean ?? .nan }))
        } }
        return Plot.lines(series: series, title: "\(table.dataset.uppercased()) SRCC BY VARIANT", xLabel: "VARIANT (TABLE ROW)", yLabel: "SRCC", size: 560)
    }

    /// Sorted-key JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Writes `<dataset>.md`, `<dataset>.csv`, `<dataset>.png` per table and `tables.json`, each atomically.
    public func write(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for t in tables {
            let stem = ExperimentGrid.slug(t.dataset)
            try AtomicWrite.data(Data(markdown(t).utf8), to: folder.appendingPathComponent(stem + ".md"))
            try AtomicWrite.data(Data(csv(t).utf8), to: folder.appendingPathComponent(stem + ".csv"))
            if t.cells.contains(where: { $0.finishedSplits > 0 }) {
                try AtomicWrite.data(try ImageCodec.encodePNG(plot(t)), to: folder.appendingPathComponent(stem + ".png"))
            }
        }
        try AtomicWrite.data(try jsonData(), to: folder.appendingPathComponent("tables.json"))
    }
}
