import ArgumentParser
import IQAData
import IQAModel
import IQATraining
import Tensor

// Library enums read straight from the command line (their raw values are the flag values).
extension Precision: ExpressibleByArgument {}
extension DatasetKind: ExpressibleByArgument {}
extension SplitProtocol: ExpressibleByArgument {}
extension IPIQAConfiguration.QAToken: ExpressibleByArgument {}
extension IPIQAConfiguration.Head: ExpressibleByArgument {}
extension IPIQAConfiguration.Fusion: ExpressibleByArgument {}
extension TextExtras: ExpressibleByArgument {}
extension FeaturePrecision: ExpressibleByArgument {}
extension TrainingRecipe: ExpressibleByArgument {}
