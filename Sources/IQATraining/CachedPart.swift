import Foundation
import IQAModel
import Tensor

/// The cache entries of one split part (``LabeledImages``) in the orientations it needs: training items in both
/// orientations when flips are random (`0 < p < 1`; only the one used when `p` is 0 or 1), evaluation items
/// unflipped. The training augmentation is therefore unchanged by caching: a flipped draw reads the flipped entry.
///
/// ```swift
/// let part = try CachedPart.prepare(store, images: train, training: true, flipProbability: 0.5)
/// let input = try part.input([3, 7], flips: [false, true])      // ModelInput of 2 items
/// ```
public struct CachedPart: Sendable {
    public let reader: FeatureReader
    /// Entry file per item, unflipped / flipped (nil where that orientation was not prepared).
    public let plain: [URL?], flipped: [URL?]

    /// Computes the missing entries of `images` (progress: done, missing); with `share`, only that rank's share of
    /// them (see ``FeatureStore/prepare(_:batchSize:share:progress:)``: the part is complete after every rank's).
    public static func prepare(_ store: FeatureStore, images: LabeledImages, training: Bool, flipProbability: Double,
                               share: (rank: Int, ranks: Int) = (0, 1), progress: ((Int, Int) -> Void)? = nil) throws -> CachedPart {
        let wantPlain = !training || flipProbability < 1, wantFlipped = training && flipProbability > 0
        var items: [StoreItem] = []
        if wantPlain { items += images.urls.map { StoreItem(image: $0, flipped: false) } }
        if wantFlipped { items += images.urls.map { StoreItem(image: $0, flipped: true) } }
        let files = try store.prepare(items, share: share, progress: progress)
        let n = images.count
        let plain: [URL?] = wantPlain ? Array(files[0..<n]) : Array(repeating: nil, count: n)
        let flipped: [URL?] = wantFlipped ? Array(files[(wantPlain ? n : 0)...]) : Array(repeating: nil, count: n)
        return CachedPart(reader: store.reader, plain: plain, flipped: flipped)
    }

    /// The model input of items `indices`; `flips[j]` selects the mirrored entry of item `indices[j]`.
    public func input(_ indices: [Int], flips: [Bool]?) throws -> ModelInput {
        let files = try indices.enumerated().map { j, i -> URL in
            let mirrored = flips?[j] == true
            guard let f = (mirrored ? flipped : plain)[i] else {
                throw FeatureStoreError.badEntry(path: "item \(i)", reason: "the \(mirrored ? "flipped" : "unflipped") orientation was not prepared")
            }
            return f
        }
        return try reader.input(files)
    }
}

extension LabeledImages {
    /// Token rows and targets of items `indices` around a ready model input (no image is read).
    public func stepBatch(_ indices: [Int], input: ModelInput) -> StepBatch {
        let k = outputs
        let targets = Tensor(uninitialized: [indices.count, k])
        for (j, i) in indices.enumerated() { for o in 0..<k { targets.pointer[j * k + o] = Float(scores[i][o]) } }
        return StepBatch(input: input, tokens: tokens.isEmpty ? [] : indices.map { tokens[$0] }, targets: targets,
                         names: indices.map { names[$0] })
    }
}

/// Prefetches ``StepBatch``es (cached features or images) on a background thread; see ``Prefetcher``.
public typealias StepPrefetcher = Prefetcher<StepBatch>
