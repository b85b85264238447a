import Foundation

/// Limits on how much an error message lists.
public enum DataLimits {
    /// Bad rows kept (and printed) in one ``DataError/badRows(file:issues:total:)``.
    public static let maxReportedIssues = 20
    /// Names printed in one ``DataError/missingImages(root:names:)`` message (the error keeps them all).
    public static let maxListedNames = 20
}

/// Constants of the two AGIQA databases and of the official IP-IQA split code.
public enum AGIQAConstants {
    /// Bundled label files, relative to the target's `Resources` folder.
    public static let agiqa1kLabels = "AGIQA-1k/AIGC_MOS_Zscore.xlsx"
    public static let agiqa3kLabels = "AGIQA-3k/data.csv"
    /// Rows of the AGIQA-1k sheet (the duplicate included) and AGIQA-3k CSV, and AGIQA-3k's prompts.
    public static let agiqa1kRows = 1080
    public static let agiqa3kRows = 2982
    public static let agiqa3kPrompts = 300
    /// MOS range of both databases.
    public static let mosRange: ClosedRange<Double> = 0...5
    /// The image listed twice in AGIQA-1k's sheet (rows 1080 and 1081, MOS 0.4414 and 2.0841).
    public static let agiqa1kDuplicate = "dreamStudio_8_9_1_1.jpg"
    /// The image of AGIQA-1k that the sheet does not label.
    public static let agiqa1kUnlabelled = "dreamStudio_8_5_0_0.jpg"
    /// Fraction of codes / prompts that the official code puts in the training set.
    public static let officialTrainFraction = 0.8
    /// `int(0.8 * 300)` prompts in each official AGIQA-3k training set.
    public static let agiqa3kOfficialTrainPrompts = 240
    /// The seed of the official scripts (`--seed 42`).
    public static let officialSeed = 42
    /// Splits of the official k-fold evaluation (`--num_cv 10`).
    public static let officialSplitCount = 10
}
