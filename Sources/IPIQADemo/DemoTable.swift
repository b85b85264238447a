import Foundation

/// Text and JSON renderings of a ``DemoResult``, shaped like the paper's tables: Table 1/2 (baselines vs IP-IQA on
/// quality and alignment), Table 3 (ablations), then the verdict line.
///
/// ```swift
/// print(DemoTable.text(result))          // tables for people
/// print(try DemoTable.json(result))      // {"ip-iqa-paper": {"quality": {"srcc": …}, …}, …, "verdict": {…}, "setup": {…}}
/// ```
public enum DemoTable {
    /// Rows of Table 1/2 and Table 3, in print order.
    public static let mainRows: [DemoVariant] = [.clipscore, .imageOnly, .paper, .similarity]
    public static let ablationRows: [DemoVariant] = [.similarity, .paper, .similarityNoI2P, .imageOnly, .similarityNoQA, .similarityLinear]

    /// "0.612 ± 0.021"
    static func cell(_ mean: Double, _ std: Double) -> String { String(format: "%.3f ± %.3f", mean, std) }

    static func pad(_ s: String, _ width: Int) -> String {
        let n = s.count
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }

    static func table(title: String, rows: [DemoRow], labels: [DemoVariant: String]) -> [String] {
        let nameWidth = max(32, (rows.map { (labels[$0.variant] ?? $0.variant.label).count }.max() ?? 0) + 2)
        let w = 15
        var lines = [title]
        lines.append(pad("", nameWidth) + "| " + pad("Quality", 3 * w) + "| Alignment")
        lines.append(pad("Method", nameWidth) + "| " + ["SRCC", "PLCC", "KRCC"].map { pad($0, w) }.joined()
                     + "| " + ["SRCC", "PLCC", "KRCC"].map { pad($0, w) }.joined())
        lines.append(String(repeating: "-", count: nameWidth + 4 + 6 * w))
        for r in rows {
            let q = [cell(r.quality.srcc, r.quality.srccStd), cell(r.quality.plcc, r.quality.plccStd), cell(r.quality.krcc, r.quality.krccStd)]
            let a = [cell(r.alignment.srcc, r.alignment.srccStd), cell(r.alignment.plcc, r.alignment.plccStd),
                     cell(r.alignment.krcc, r.alignment.krccStd)]
            lines.append(pad(labels[r.variant] ?? r.variant.label, nameWidth) + "| " + q.map { pad($0, w) }.joined()
                         + "| " + a.map { pad($0, w) }.joined())
        }
        return lines
    }

    /// The human-readable report.
    public static func text(_ result: DemoResult) -> String {
        let s = result.setup
        var lines: [String] = []
        lines.append("SynthAGI-3k: \(s.images) images (\(s.prompts) prompts × \(s.generators) generators), \(s.splits) grouped splits "
                     + "by prompt (\(s.trainImagesPerSplit) train / \(s.testImagesPerSplit) test images); test metrics, mean ± std over splits.")
        lines.append(String(format: "Tiny CLIP: %d natural pairs, %d contrastive steps, held-out retrieval top-1 %.2f; Image2Prompt on %d of %d "
                            + "AGI-style pairs; IP-IQA at %d px (frozen trunk, cached features), %d epochs.",
                            s.naturalPairs, s.contrastiveSteps, s.retrievalTop1, s.image2promptKept, s.image2promptPairs,
                            s.iqaResolution, s.epochs))
        lines.append(String(format: "Noise ceiling (corr. of clean and observed MOS): quality %.3f, alignment %.3f.", s.qualityCeiling, s.alignmentCeiling))
        if let passes = s.featurePasses { lines.append("Trunk feature passes: \(passes).") }
        lines.append("")
        let main = mainRows.compactMap { result.row($0) }
        if !main.isEmpty { lines += table(title: "Table 1/2 — baselines vs IP-IQA", rows: main, labels: [:]) }
        let ablations = ablationRows.compactMap { result.row($0) }
        if ablations.count > 1 {
            lines.append("")
            let labels: [DemoVariant: String] = [.similarity: "IP-IQA + similarity (full)", .paper: "− similarity (= paper's fusion)",
                                                 .similarityNoI2P: "− Image2Prompt", .imageOnly: "− prompt (image-only)",
                                                 .similarityNoQA: "− [QA] token", .similarityLinear: "linear head instead of MLP"]
            lines += table(title: "Table 3 — ablations of IP-IQA + similarity features (fusion beyond the paper)", rows: ablations,
                           labels: labels)
        }
        lines.append("")
        lines.append(result.verdict?.line ?? "Verdict: not measured (the image-only variant and an IP-IQA variant are needed).")
        if let p = result.scatterPlot { lines.append("Scatter plot: \(p)") }
        if let p = result.attentionFigure { lines.append("Attention maps: \(p)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Machine-readable report: one key per variant (`"ip-iqa-paper"`, `"ip-iqa-similarity"`, `"image-only"`, …) → `{"quality": {…}, "alignment": {…}}`,
    /// plus `"verdict"` and `"setup"` (sorted keys, pretty-printed).
    public static func json(_ result: DemoResult) throws -> String {
        struct Scores: Encodable { let quality: DemoMetric; let alignment: DemoMetric }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        struct Document: Encodable {
            let result: DemoResult
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: Key.self)
                for r in result.rows { try c.encode(Scores(quality: r.quality, alignment: r.alignment), forKey: Key(stringValue: r.variant.rawValue)) }
                try c.encodeIfPresent(result.verdict, forKey: Key(stringValue: "verdict"))
                try c.encode(result.setup, forKey: Key(stringValue: "setup"))
                try c.encodeIfPresent(result.scatterPlot, forKey: Key(stringValue: "scatter_plot"))
                try c.encodeIfPresent(result.attentionFigure, forKey: Key(stringValue: "attention_figure"))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(Document(result: result)), as: UTF8.self) + "\n"
    }
}
