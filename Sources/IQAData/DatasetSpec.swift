import Foundation

/// The datasets the loader knows: AGIQA-1k and AGIQA-3k (label files bundled), AIGCIQA2023 and AIGIQA-20K (the user
/// gives the label file with `--labels`), and `csv`: any label table (CSV or `.xlsx`) whose columns the user names.
public enum DatasetKind: String, CaseIterable, Codable, Sendable {
    case agiqa1k = "agiqa-1k"
    case agiqa3k = "agiqa-3k"
    case aigciqa2023
    case aigiqa20k = "aigiqa-20k"
    case csv

    /// Whether the official IP-IQA split protocol exists (AGIQA-1k/3k); the others default to grouped-by-prompt splits.
    public var hasOfficialSplits: Bool { self == .agiqa1k || self == .agiqa3k }

    /// The protocol used when none is chosen: official for AGIQA-1k/3k, grouped otherwise.
    public var defaultProtocol: SplitProtocol { hasOfficialSplits ? .official : .grouped }
}

/// How a sample's group — the unit no split may cut through — is derived.
///
/// - `prompt`: the prompt text (trimmed). Default for generic tables.
/// - `agiqa1kObjectCode`: AGIQA-1k's generator-independent (main object, second object) code, exactly as the
///   official IP-IQA split computes it: for `{gen}_{a}_{b}_{place}_{style}.jpg`, `code = (a, b)`, and for
///   `dreamStudio` names `a += 1 if a > 5`, `b += 5`; the group is `"a_b"`. It is coarser than the prompt (one
///   code covers both generators and all places and styles, 180 codes for 720 prompts), so no near-identical
///   prompt leaks across splits.
/// - `trailingNumber`: the digits after the last `_` of the file name without extension, as written
///   (AGIQA-3k's prompt id, `AttnGAN_normal_042.jpg` → `"042"`).
public enum GroupRule: String, Codable, Sendable {
    case prompt
    case agiqa1kObjectCode
    case trailingNumber

    /// The group of one sample; throws a message (the loader adds file and line) when the name does not fit.
    public func group(image: String, prompt: String) throws -> String {
        switch self {
        case .prompt:
            return prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        case .agiqa1kObjectCode:
            let code = try AGIQA1kCode(imageName: image)
            return code.key
        case .trailingNumber:
            let stem = ImageName.stem(image)
            guard let last = stem.split(separator: "_", omittingEmptySubsequences: false).last,
                  !last.isEmpty, last.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw DataError.badImageName(file: "", name: image, reason: "no number after the last '_'")
            }
            return String(last)
        }
    }
}

/// What to do with several rows for the same image.
///
/// AGIQA-1k lists `dreamStudio_8_9_1_1.jpg` twice (sheet rows 1080 and 1081, MOS 0.4414 and 2.0841) and has
/// no row for `dreamStudio_8_5_0_0.jpg`. The official IP-IQA code (`pd.read_excel` + `iloc`) keeps both rows —
/// one image with two labels, always in the same split. This loader keeps the FIRST row by default (file
/// order decides, as for the split's first-row-of-a-code rule) and warns with both values; `keepAll`
/// reproduces the official 1,080 rows. (The older `AIGC_all.csv` of the same repository scores the typo'd
/// `dreamStudio_8_9_1_.jpg` 2.045, which by the linear fit between the two files, residual σ ≈ 0.46, predicts
/// ≈1.94 — closer to the second value; so `keepLast` is a defensible alternative. No source settles it.)
public enum DuplicatePolicy: String, Codable, Sendable {
    case keepFirst
    case keepLast
    case keepAll
}

/// Label-file format: by extension (`.xlsx` → workbook, anything else → CSV), or forced.
public enum LabelFormat: String, Codable, Sendable {
    case auto
    case csv
    case xlsx
}

/// Columns of a generic label table: the image column, the prompt column, one or more score columns, and
/// optional names for the scores (default: the column names).
///
/// ```swift
/// let cols = CSVColumns(image: "name", prompt: "prompt", scores: ["mos_quality", "mos_align"])
/// ```
public struct CSVColumns: Codable, Sendable, Equatable {
    public var image: String = "image"
    public var prompt: String = "prompt"
    public var scores: [String] = ["mos"]
    public var scoreNames: [String]? = nil

    public init(image: String = "image", prompt: String = "prompt", scores: [String] = ["mos"], scoreNames: [String]? = nil) {
        self.image = image
        self.prompt = prompt
        self.scores = scores
        self.scoreNames = scoreNames
    }

    /// Reads a column declaration (JSON keys `image`, `prompt`, `scores`, `scoreNames`; absent keys take the defaults,
    /// unknown keys are an error), the way to declare another CSV database:
    ///
    ///     {"image": "file", "prompt": "caption", "scores": ["mos_q", "mos_a"], "scoreNames": ["quality", "alignment"]}
    public static func read(from url: URL) throws -> CSVColumns {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw DataError.unreadable(file: url.path, reason: error.localizedDescription) }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw DataError.unreadable(file: url.path, reason: "not a JSON object")
        }
        let unknown = Set(object.keys).subtracting(["image", "prompt", "scores", "scoreNames"]).sorted()
        if !unknown.isEmpty { throw DataError.unreadable(file: url.path, reason: "unknown key\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")) (known: image, prompt, scores, scoreNames)") }
        let columns: CSVColumns
        do { columns = try JSONDecoder().decode(CSVColumns.self, from: data) } catch {
            throw DataError.unreadable(file: url.path, reason: "bad column declaration (\(error))")
        }
        if columns.scores.isEmpty { throw DataError.unreadable(file: url.path, reason: "'scores' must name at least one column") }
        if let names = columns.scoreNames, names.count != columns.scores.count {
            throw DataError.unreadable(file: url.path, reason: "\(columns.scores.count) score columns but \(names.count) score names")
        }
        return columns
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CSVColumns()
        image = try c.decodeIfPresent(String.self, forKey: .image) ?? d.image
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt) ?? d.prompt
        scores = try c.decodeIfPresent([String].self, forKey: .scores) ?? d.scores
        scoreNames = try c.decodeIfPresent([String].self, forKey: .scoreNames)
    }
}

/// A dataset as a declarative table entry (in the spirit of pyiqa's dataset configs): where the labels are,
/// which columns hold image / prompt / scores, what the scores are called and their range, how samples are
/// grouped and how duplicates are treated.
///
/// ```swift
/// var spec = DatasetSpec.agiqa1k
/// spec.duplicates = .keepAll                   // the official 1,080 rows
/// let ds = try DatasetLoader.load(spec: spec)
/// ```
public struct DatasetSpec: Codable, Sendable, Equatable {
    public var name: String
    /// Label file inside the bundled `Resources` folder, or nil (then a label file must be given).
    public var bundledLabels: String?
    public var format: LabelFormat = .auto
    /// Sheet of an `.xlsx` label file (nil: the first sheet).
    public var sheet: String?
    public var imageColumn: String
    public var promptColumn: String
    public var scoreColumns: [String]
    public var scoreNames: [String]
    /// Declared score range; values outside it give a warning.
    public var scoreMin: Double?
    public var scoreMax: Double?
    public var group: GroupRule = .prompt
    public var duplicates: DuplicatePolicy = .keepFirst
    /// Images known to exist without a label row: a warning if they are (still) unlabelled.
    public var knownUnlabelled: [String] = []
    /// Data rows the label file should have; a warning if it differs.
    public var expectedRows: Int?

    public init(name: String, bundledLabels: String? = nil, format: LabelFormat = .auto, sheet: String? = nil, imageColumn: String,
                promptColumn: String, scoreColumns: [String], scoreNames: [String]? = nil, scoreMin: Double? = nil,
                scoreMax: Double? = nil, group: GroupRule = .prompt, duplicates: DuplicatePolicy = .keepFirst,
                knownUnlabelled: [String] = [], expectedRows: Int? = nil) {
        self.name = name
        self.bundledLabels = bundledLabels
        self.format = format
        self.sheet = sheet
        self.imageColumn = imageColumn
        self.promptColumn = promptColumn
        self.scoreColumns = scoreColumns
        self.scoreNames = scoreNames ?? scoreColumns
        self.scoreMin = scoreMin
        self.scoreMax = scoreMax
        self.group = group
        self.duplicates = duplicates
        self.knownUnlabelled = knownUnlabelled
        self.expectedRows = expectedRows
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let scoreColumns = try c.decode([String].self, forKey: .scoreColumns)
        self.init(name: try c.decode(String.self, forKey: .name),
                  bundledLabels: try c.decodeIfPresent(String.self, forKey: .bundledLabels),
                  format: try c.decodeIfPresent(LabelFormat.self, forKey: .format) ?? .auto,
                  sheet: try c.decodeIfPresent(String.self, forKey: .sheet),
                  imageColumn: try c.decode(String.self, forKey: .imageColumn),
                  promptColumn: try c.decode(String.self, forKey: .promptColumn),
                  scoreColumns: scoreColumns,
                  scoreNames: try c.decodeIfPresent([String].self, forKey: .scoreNames),
                  scoreMin: try c.decodeIfPresent(Double.self, forKey: .scoreMin),
                  scoreMax: try c.decodeIfPresent(Double.self, forKey: .scoreMax),
                  group: try c.decodeIfPresent(GroupRule.self, forKey: .group) ?? .prompt,
                  duplicates: try c.decodeIfPresent(DuplicatePolicy.self, forKey: .duplicates) ?? .keepFirst,
                  knownUnlabelled: try c.decodeIfPresent([String].self, forKey: .knownUnlabelled) ?? [],
                  expectedRows: try c.decodeIfPresent(Int.self, forKey: .expectedRows))
    }

    /// AGIQA-1k: `AIGC_MOS_Zscore.xlsx` (Image, Prompt, MOS), one coupled score, grouped by object code.
    public static let agiqa1k = DatasetSpec(
        name: DatasetKind.agiqa1k.rawValue, bundledLabels: AGIQAConstants.agiqa1kLabels, format: .auto,
        imageColumn: "Image", promptColumn: "Prompt", scoreColumns: ["MOS"], scoreNames: ["score"],
        scoreMin: AGIQAConstants.mosRange.lowerBound, scoreMax: AGIQAConstants.mosRange.upperBound,
        group: .agiqa1kObjectCode, duplicates: .keepFirst,
        knownUnlabelled: [AGIQAConstants.agiqa1kUnlabelled], expectedRows: AGIQAConstants.agiqa1kRows)

    /// AGIQA-3k: `data.csv`, scores [quality, alignment], grouped by the prompt id at the end of the name.
    public static let agiqa3k = DatasetSpec(
        name: DatasetKind.agiqa3k.rawValue, bundledLabels: AGIQAConstants.agiqa3kLabels, format: .auto,
        imageColumn: "name", promptColumn: "prompt", scoreColumns: ["mos_quality", "mos_align"],
        scoreNames: ["quality", "alignment"],
        scoreMin: AGIQAConstants.mosRange.lowerBound, scoreMax: AGIQAConstants.mosRange.upperBound,
        group: .trailingNumber, duplicates: .keepFirst, expectedRows: AGIQAConstants.agiqa3kRows)

    /// AIGCIQA2023 (Wang et al., 2023: 2,400 images of 6 generators for 100 prompts, three MOS, 0–100), grouped by
    /// prompt. Read as published — `DATA/MOS/mosz1.mat` … `mosz3.mat`, `pic-index.xlsx` and
    /// `AIGCIQA2023_Prompts.xlsx` (``AIGCIQA2023Published``) — when the label path is a folder or a `.mat` file, else as
    /// a CSV `name,prompt,mos_quality,mos_authenticity,mos_correspondence` (the columns below).
    public static let aigciqa2023 = DatasetSpec(
        name: DatasetKind.aigciqa2023.rawValue, imageColumn: "name", promptColumn: "prompt",
        scoreColumns: ["mos_quality", "mos_authenticity", "mos_correspondence"], scoreNames: ["quality", "authenticity", "correspondence"],
        scoreMin: 0, scoreMax: 100, group: .prompt, duplicates: .keepFirst, expectedRows: 2400)

    /// AIGIQA-20K (NTIRE 2024 AIGC quality track 1): `name,prompt,mos` (its `info_train.csv` / `info_val.csv`), one
    /// score, grouped by prompt. No range is declared (none is documented with the files).
    public static let aigiqa20k = DatasetSpec(
        name: DatasetKind.aigiqa20k.rawValue, imageColumn: "name", promptColumn: "prompt", scoreColumns: ["mos"],
        scoreNames: ["quality"], group: .prompt, duplicates: .keepFirst)

    /// A generic table with user-named columns, grouped by prompt.
    public static func csv(_ columns: CSVColumns, name: String = DatasetKind.csv.rawValue) -> DatasetSpec {
        DatasetSpec(name: name, imageColumn: columns.image, promptColumn: columns.prompt, scoreColumns: columns.scores,
                    scoreNames: columns.scoreNames, group: .prompt)
    }

    /// The spec of `kind`; `.csv` needs `csvColumns`.
    public static func spec(for kind: DatasetKind, csvColumns: CSVColumns? = nil) throws -> DatasetSpec {
        switch kind {
        case .agiqa1k: return .agiqa1k
        case .agiqa3k: return .agiqa3k
        case .aigciqa2023: return .aigciqa2023
        case .aigiqa20k: return .aigiqa20k
        case .csv:
            guard let csvColumns else {
                throw DataError.invalidArgument("dataset 'csv' needs its columns: image, prompt and at least one score column")
            }
            return .csv(csvColumns)
        }
    }
}
