import Foundation
import IQAModel
import Tensor

/// One step's batch in any mode: the model input, token rows (empty for the image-only model), targets `[n, k]`.
///
/// ```swift
/// let batch = StepBatch(trainingBatch)                  // images
/// let part = batch.slice(0..<8)                         // a micro-batch
/// ```
public struct StepBatch: Sendable {
    public let input: ModelInput
    public let tokens: [[Int32]]
    public let targets: Tensor
    public let names: [String]

    public init(input: ModelInput, tokens: [[Int32]], targets: Tensor, names: [String]) {
        self.input = input
        self.tokens = tokens
        self.targets = targets
        self.names = names
    }

    /// The image batch of the full pipeline.
    public init(_ batch: TrainingBatch) {
        self.init(input: .images(batch.images), tokens: batch.tokens, targets: batch.targets, names: batch.names)
    }

    public var count: Int { names.count }

    public func slice(_ range: Range<Int>) -> StepBatch {
        StepBatch(input: input.slice(range), tokens: tokens.isEmpty ? [] : Array(tokens[range]),
                  targets: targets.slice(rows: range), names: Array(names[range]))
    }
}
