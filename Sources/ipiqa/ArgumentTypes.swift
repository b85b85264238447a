import ArgumentParser
import CLIP
import IQAData
import IQAModel
import IQATraining
import Tensor

// Library enums read straight from the command line (their raw values are the flag values).
extension Precision: ExpressibleByArgument {}
extension TrainingPrecision: ExpressibleByArgument {}
extension DatasetKind: ExpressibleByArgument {}
extension SplitProtocol: ExpressibleByArgument {}
extension IPIQAConfiguration.QAToken: ExpressibleByArgument {}
extension IPIQAConfiguration.Head: ExpressibleByArgument {}
extension IPIQAConfiguration.Fusion: ExpressibleByArgument {}
extension TextExtras: ExpressibleByArgument {}
extension FeaturePrecision: ExpressibleByArgument {}
extension PrecisionRequest: ExpressibleByArgument {
    public static var allValueStrings: [String] { PrecisionRequest.allArguments }
}
extension TrainingRecipe: ExpressibleByArgument {}
extension InitStream: ExpressibleByArgument {}

/// `keep-first`, `keep-last`, `keep-all` on the command line (the JSON spelling `keepAll` is accepted too).
extension DuplicatePolicy: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "keep-first", "keepFirst": self = .keepFirst
        case "keep-last", "keepLast": self = .keepLast
        case "keep-all", "keepAll": self = .keepAll
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["keep-first", "keep-last", "keep-all"] }
}
