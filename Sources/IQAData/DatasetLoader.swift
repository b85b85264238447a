import Archive
import Foundation

/// Loads a ``Dataset`` from a label table described by a ``DatasetSpec``.
///
/// Rows become ``Sample``s in file order. Every bad row — empty image name, empty prompt, a score that is not a
/// finite number, a name the group rule cannot parse, and for CSV a wrong field count or broken quoting — is
/// collected and thrown together as one ``DataError/badRows(file:issues:total:)`` with line numbers. Duplicates
/// follow ``DatasetSpec/duplicates``; scores outside the declared range, known unlabelled images and an
/// unexpected row count become ``Dataset/warnings``.
///
/// ```swift
/// let oneK = try DatasetLoader.load(.agiqa1k)                       // bundled labels, 1,079 samples
/// let own  = try DatasetLoader.load(.csv, labels: URL(fileURLWithPath: "mine.csv"),
///                                   csvColumns: CSVColumns(image: "file", prompt: "text", scores: ["mos"]))
/// ```
public enum DatasetLoader {
    /// Loads dataset `kind`. `labels` nil → the bundled label file (AGIQA-1k/3k); `root` is the image folder
    /// recorded in the dataset (not checked here: see ``checkImagesExist(_:root:)``).
    /// `duplicates` replaces the spec's policy for several rows of one image (nil: the spec's, keep the first).
    public static func load(_ kind: DatasetKind, labels: URL? = nil, root: URL? = nil,
                            csvColumns: CSVColumns? = nil, duplicates: DuplicatePolicy? = nil) throws -> Dataset {
        var spec = try DatasetSpec.spec(for: kind, csvColumns: csvColumns)
        if let duplicates { spec.duplicates = duplicates }
        return try load(spec: spec, labels: labels, root: root)
    }

    /// Loads the dataset `spec` describes from `labels` (nil → the spec's bundled file). For `aigciqa2023`, a folder or
    /// a `.mat` file is read in the published layout (``AIGCIQA2023Published``), anything else as a CSV.
    public static func load(spec: DatasetSpec, labels: URL? = nil, root: URL? = nil) throws -> Dataset {
        let url: URL
        if let labels {
            url = labels
        } else if let bundled = spec.bundledLabels {
            url = try bundledResource(bundled)
        } else {
            throw DataError.missingLabels(dataset: spec.name)
        }
        if spec.name == DatasetKind.aigciqa2023.rawValue, labels != nil, AIGCIQA2023Published.isPublishedLayout(url) {
            return try AIGCIQA2023Published.load(folder: url, root: root, spec: spec)
        }
        guard !spec.scoreColumns.isEmpty else {
            throw DataError.invalidArgument("\(spec.name): at least one score column is needed")
        }
        guard spec.scoreNames.count == spec.scoreColumns.count else {
            throw DataError.invalidArgument("\(spec.name): \(spec.scoreColumns.count) score columns but \(spec.scoreNames.count) score names")
        }

        var issues = IssueCollector(file: url.path)
        let table = try readTable(url, format: spec.format, sheet: spec.sheet, issues: &issues)
        let imageColumn = try table.columnIndex(spec.imageColumn)
        let promptColumn = try table.columnIndex(spec.promptColumn)
        let scoreColumns = try table.columnIndices(spec.scoreColumns)

        var rows: [(line: Int, sample: Sample)] = []
        rows.reserveCapacity(table.rows.count)
        for row in table.rows {
            func field(_ i: Int) -> String { i < row.fields.count ? row.fields[i] : "" }
            let before = issues.total
            let image = field(imageColumn).trimmingCharacters(in: .whitespacesAndNewlines)
            if image.isEmpty { issues.add(line: row.line, column: spec.imageColumn, "empty image name") }
            let prompt = field(promptColumn)
            if prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                issues.add(line: row.line, column: spec.promptColumn, "empty prompt")
            }
            var scores: [Double] = []
            for (name, column) in zip(spec.scoreColumns, scoreColumns) {
                let text = field(column).trimmingCharacters(in: .whitespaces)
                if let v = Double(text), v.isFinite { scores.append(v) } else {
                    issues.add(line: row.line, column: name, text.isEmpty ? "missing score" : "'\(text)' is not a number")
                }
            }
            var group = ""
            if !image.isEmpty {
                do { group = try spec.group.group(image: image, prompt: prompt) } catch let DataError.badImageName(_, name, reason) {
                    issues.add(line: row.line, column: spec.imageColumn, "image name '\(name)': \(reason) (group rule \(spec.group.rawValue))")
                }
            }
            if issues.total == before {
                rows.append((row.line, Sample(image: image, prompt: prompt, scores: scores, group: group)))
            }
        }
        try issues.throwIfAny()
        guard !rows.isEmpty else { throw DataError.noRows(file: url.path) }

        var warnings: [DatasetWarning] = []
        if let first = table.literalQuoteLines.first {
            let lines = table.literalQuoteLines
            warnings.append(DatasetWarning(file: url.path, line: first, message:
                "\(lines.count) row\(lines.count == 1 ? "" : "s") hold\(lines.count == 1 ? "s" : "") quotes inside unquoted fields (lines "
                + lines.prefix(5).map(String.init).joined(separator: ", ") + (lines.count > 5 ? ", …" : "")
                + "); read as literal text, as Python's csv module and pandas read them"))
        }
        let samples = resolveDuplicates(rows, policy: spec.duplicates, file: url.path, warnings: &warnings)
        warnings += rangeWarnings(rows, spec: spec, file: url.path)
        let labelled = Set(samples.map(\.image))
        for name in spec.knownUnlabelled where !labelled.contains(name) {
            warnings.append(DatasetWarning(file: url.path, message: "no label row for image '\(name)' (a known gap of \(spec.name)); it is left out"))
        }
        if let expected = spec.expectedRows, expected != table.rows.count {
            warnings.append(DatasetWarning(file: url.path, message: "\(table.rows.count) data rows, expected \(expected) for \(spec.name)"))
        }
        return Dataset(name: spec.name, scoreNames: spec.scoreNames, samples: samples, root: root, warnings: warnings,
                       labelFile: url.path)
    }

    /// A file in the bundled `Resources` folder, e.g. "AGIQA-3k/data.csv".
    public static func bundledResource(_ relative: String) throws -> URL {
        guard let base = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw DataError.unreadable(file: "Resources/" + relative, reason: "the IQAData resource bundle is missing")
        }
        let url = base.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DataError.unreadable(file: url.path, reason: "no such bundled file")
        }
        return url
    }

    /// Reads a label table as CSV or `.xlsx` (`sheet`, or the first sheet).
    public static func readTable(_ url: URL, format: LabelFormat = .auto, sheet: String? = nil) throws -> LabelTable {
        var issues = IssueCollector(file: url.path)
        let table = try readTable(url, format: format, sheet: sheet, issues: &issues)
        try issues.throwIfAny()
        return table
    }

    static func readTable(_ url: URL, format: LabelFormat, sheet: String?, issues: inout IssueCollector) throws -> LabelTable {
        let isXLSX = format == .xlsx || (format == .auto && url.pathExtension.lowercased() == "xlsx")
        if isXLSX { return try XLSXReader.read(url, sheet: sheet) }
        let data: Data
        if let problem = FileProblem.readProblem(url, regularFileOnly: false) { throw DataError.unreadable(file: url.path, reason: problem) }
        do { data = try Data(contentsOf: url) } catch {
            throw DataError.unreadable(file: url.path, reason: FileProblem.describe(error))
        }
        let table = CSVParser.parse(data, file: url.path, issues: &issues)
        if table.header.isEmpty { throw DataError.badRows(file: url.path, issues: [DataIssue(file: url.path, message: "the file is empty (no header row)")], total: 1) }
        return table
    }

    private static func resolveDuplicates(_ rows: [(line: Int, sample: Sample)], policy: DuplicatePolicy, file: String,
                                          warnings: inout [DatasetWarning]) -> [Sample] {
        var lines: [String: [Int]] = [:]
        for (i, r) in rows.enumerated() { lines[r.sample.image, default: []].append(i) }
        var keep = [Bool](repeating: true, count: rows.count)
        for (name, indices) in lines.sorted(by: { $0.value[0] < $1.value[0] }) where indices.count > 1 {
            let described = indices.map { "row \(rows[$0].line) \(rows[$0].sample.scores.map { String($0) }.joined(separator: "/"))" }
                .joined(separator: ", ")
            let action: String
            switch policy {
            case .keepFirst:
                for i in indices.dropFirst() { keep[i] = false }
                action = "keeping the first"
            case .keepLast:
                for i in indices.dropLast() { keep[i] = false }
                action = "keeping the last"
            case .keepAll:
                action = "keeping all"
            }
            warnings.append(DatasetWarning(file: file, line: rows[indices[0]].line,
                                           message: "image '\(name)' has \(indices.count) rows (\(described)); \(action)"))
        }
        return zip(rows, keep).filter(\.1).map(\.0.sample)
    }

    static func rangeWarnings(_ rows: [(line: Int, sample: Sample)], spec: DatasetSpec, file: String) -> [DatasetWarning] {
        let lo = spec.scoreMin ?? -Double.infinity, hi = spec.scoreMax ?? Double.infinity
        var out: [DatasetWarning] = []
        for (k, name) in spec.scoreNames.enumerated() {
            let bad = rows.filter { $0.sample.scores[k] < lo || $0.sample.scores[k] > hi }
            guard !bad.isEmpty else { continue }
            let shown = bad.prefix(5).map { "row \($0.line): \($0.sample.scores[k])" }.joined(separator: ", ")
            out.append(DatasetWarning(file: file, line: bad[0].line,
                                      message: "\(bad.count) '\(name)' score\(bad.count == 1 ? "" : "s") outside [\(lo), \(hi)] (\(shown)\(bad.count > 5 ? ", …" : ""))"))
        }
        return out
    }
}
