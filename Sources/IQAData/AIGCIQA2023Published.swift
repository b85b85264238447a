import Archive
import Foundation

/// The AIGCIQA2023 database read as its authors publish it (github.com/wangjiarui153/AIGCIQA2023 and the dataset
/// download it links):
///
/// | file | content |
/// |---|---|
/// | `DATA/MOS/mosz1.mat`, `mosz2.mat`, `mosz3.mat` | variable `MOSz`, 2400×1 `double`: quality, authenticity, correspondence |
/// | `pic-index.xlsx` | 2,400 rows, no header: generator, `PPP-k.png` (prompt `PPP` 000…099, image `k` 1…4) |
/// | `AIGCIQA2023_Prompts.xlsx` | 100 rows, no header: category, challenge, prompt |
/// | `Image/allimg/i.png` | image `i` (0…2399) |
///
/// Image `i.png` is row `i + 1` of `pic-index.xlsx` and MOS entry `i` (the order the authors' and the community's
/// loaders use: `MOSz[i]` with `allimg/{i}.png`, prompt `PPP`); its prompt is row `PPP + 1` of the prompt workbook.
/// Samples are `i.png`, that prompt, `[quality, authenticity, correspondence]`, grouped by prompt (the 24 images of
/// one prompt — 6 generators × 4 — never straddle a split).
///
/// `--labels` names the database folder (holding `DATA/MOS/`, or the `.mat` files themselves) or one of the `.mat`
/// files; the two workbooks (from the GitHub repository) are looked up in that folder and up to two folders above
/// the `.mat` files.
///
/// ```swift
/// let ds = try AIGCIQA2023Published.load(folder: URL(fileURLWithPath: "AIGCIQA2023"), root: nil, spec: .aigciqa2023)
/// ds.samples[0].image    // "0.png"
/// ```
public enum AIGCIQA2023Published {
    /// The MOS files, in the order of ``DatasetSpec/aigciqa2023``'s scores.
    public static let mosFiles = ["mosz1.mat", "mosz2.mat", "mosz3.mat"]
    /// The variable each MOS file holds.
    public static let mosVariable = "MOSz"
    public static let promptWorkbook = "AIGCIQA2023_Prompts.xlsx"
    public static let indexWorkbook = "pic-index.xlsx"

    /// Whether `labels` points at the published layout (a folder, or a `.mat` file) rather than a CSV.
    public static func isPublishedLayout(_ labels: URL) -> Bool {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: labels.path, isDirectory: &isFolder)
        return (exists && isFolder.boolValue) || labels.pathExtension.lowercased() == "mat"
    }

    /// Loads the database from `labels` (folder or `.mat` file); `root` is the image folder recorded in the dataset.
    public static func load(folder labels: URL, root: URL?, spec: DatasetSpec) throws -> Dataset {
        let mosFolder = try locateMOS(labels)
        let searched = unique([labels.pathExtension.lowercased() == "mat" ? mosFolder : labels, mosFolder, mosFolder.deletingLastPathComponent(),
                               mosFolder.deletingLastPathComponent().deletingLastPathComponent()])
        let prompts = try workbook(promptWorkbook, in: searched)
        let index = try workbook(indexWorkbook, in: searched)

        var scores: [[Double]] = []
        for name in mosFiles {
            let url = mosFolder.appendingPathComponent(name)
            let values = try MATFile.matrix(named: mosVariable, in: url).vector(file: url.path)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw DataError.badMAT(file: url.path, reason: "\(mosVariable)[\(bad)] is \(values[bad]), not a finite number")
            }
            if let first = scores.first, first.count != values.count {
                throw DataError.badMAT(file: url.path, reason: "\(values.count) values, but \(mosFolder.appendingPathComponent(mosFiles[0]).path) has \(first.count)")
            }
            scores.append(values)
        }
        let count = scores[0].count

        let promptTable = try XLSXReader.read(prompts)
        let promptRows = [TableRow(line: 1, fields: promptTable.header)] + promptTable.rows
        let indexTable = try XLSXReader.read(index)
        let indexRows = [TableRow(line: 1, fields: indexTable.header)] + indexTable.rows
        guard indexRows.count == count else {
            throw DataError.badRows(file: index.path, issues: [DataIssue(file: index.path, message:
                "\(indexRows.count) rows, but the MOS files hold \(count) values (one row per image, no header)")], total: 1)
        }

        var issues = IssueCollector(file: index.path)
        var samples: [Sample] = []
        samples.reserveCapacity(count)
        for (i, row) in indexRows.enumerated() {
            let name = row.fields.count > 1 ? row.fields[1].trimmingCharacters(in: .whitespaces) : ""
            guard let number = promptNumber(name) else {
                issues.add(line: row.line, column: "B", "'\(name)' is not an image name PPP-k.png")
                continue
            }
            guard number < promptRows.count else {
                issues.add(line: row.line, column: "B", "'\(name)' names prompt \(number), \(prompts.lastPathComponent) has \(promptRows.count) rows")
                continue
            }
            let promptRow = promptRows[number]
            let prompt = promptRow.fields.count > 2 ? promptRow.fields[2] : ""
            let trimmed = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else {
                issues.add(line: row.line, column: "B", "prompt \(number) (row \(promptRow.line) of \(prompts.lastPathComponent), column C) is empty")
                continue
            }
            samples.append(Sample(image: "\(i).png", prompt: prompt, scores: scores.map { $0[i] }, group: trimmed))
        }
        try issues.throwIfAny()

        var warnings: [DatasetWarning] = []
        if let expected = spec.expectedRows, expected != count {
            warnings.append(DatasetWarning(file: mosFolder.path, message: "\(count) images, expected \(expected) for \(spec.name)"))
        }
        let lines = samples.enumerated().map { (line: $0.offset + 1, sample: $0.element) }
        warnings += DatasetLoader.rangeWarnings(lines, spec: spec, file: mosFolder.path)
        return Dataset(name: spec.name, scoreNames: spec.scoreNames, samples: samples, root: root, warnings: warnings,
                       labelFile: mosFolder.path)
    }

    /// The folder holding `mosz1.mat` … : the `.mat` file's folder, or `labels/DATA/MOS`, `labels/MOS`, `labels`.
    static func locateMOS(_ labels: URL) throws -> URL {
        let fm = FileManager.default
        let candidates = labels.pathExtension.lowercased() == "mat"
            ? [labels.deletingLastPathComponent()]
            : [labels.appendingPathComponent("DATA/MOS"), labels.appendingPathComponent("MOS"), labels]
        guard let folder = candidates.first(where: { fm.fileExists(atPath: $0.appendingPathComponent(mosFiles[0]).path) }) else {
            throw DataError.unreadable(file: labels.path, reason: "no \(mosFiles[0]) in \(candidates.map(\.path).joined(separator: ", ")): "
                + "give the AIGCIQA2023 folder (with DATA/MOS/mosz1.mat … mosz3.mat) or a CSV label file")
        }
        for name in mosFiles.dropFirst() where !fm.fileExists(atPath: folder.appendingPathComponent(name).path) {
            throw DataError.unreadable(file: folder.appendingPathComponent(name).path, reason: "missing: the published layout has \(mosFiles.joined(separator: ", "))")
        }
        return folder
    }

    private static func workbook(_ name: String, in folders: [URL]) throws -> URL {
        if let found = folders.map({ $0.appendingPathComponent(name) }).first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            return found
        }
        throw DataError.unreadable(file: folders[0].appendingPathComponent(name).path, reason: "missing; looked in "
            + folders.map(\.path).joined(separator: ", ") + ". Copy \(promptWorkbook) and \(indexWorkbook) from "
            + "https://github.com/wangjiarui153/AIGCIQA2023 into the AIGCIQA2023 folder")
    }

    /// `PPP` of `PPP-k.png` (digits, a dash, digits, `.png`).
    static func promptNumber(_ name: String) -> Int? {
        guard name.lowercased().hasSuffix(".png") else { return nil }
        let parts = name.dropLast(4).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 6 && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        return Int(parts[0])
    }

    private static func unique(_ urls: [URL]) -> [URL] {
        var seen = Set<String>()
        return urls.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }
}
