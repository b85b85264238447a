import Foundation
import Imaging
import Tensor

/// Which heads of the cross-modality attention make a map: their mean `(1/H) Σ_h P_h`, or one head (0-based).
///
/// ```swift
/// let selection: AttentionHeadSelection = head.map { .head($0) } ?? .mean
/// ```
public enum AttentionHeadSelection: Sendable, Equatable {
    case mean
    case head(Int)
}

/// Where the prompt's query looks in the image: the cross-modality attention probabilities of one image over the
/// spatial tokens of the layer4 grid (`g × g`, row-major), token 0 (the mean token) dropped:
///
///     A[p] = (1/H) Σ_h P[h, 0, 1 + p]      (or P[h*, 0, 1 + p] for one head),   p = 0 … g² − 1
///
/// The values are not renormalised after dropping token 0 (the overlay min–max normalises them anyway).
///
/// ```swift
/// let (scores, weights) = try model.forward(images, tokens: tokens)
/// let map = try AttentionMap(crossWeights: weights!, index: 0, heads: .mean)
/// try ImageCodec.writePNG(map.overlay(on: image), to: url)
/// ```
public struct AttentionMap: Sendable, Equatable {
    /// Side of the token grid (16 for 512-px inputs).
    public let grid: Int
    /// `grid²` weights, row-major.
    public let weights: [Float]

    public init(grid: Int, weights: [Float]) throws {
        guard grid > 0, weights.count == grid * grid else {
            throw IPIQAError.badAttention("attention map needs \(grid)×\(grid) weights, got \(weights.count)")
        }
        self.grid = grid
        self.weights = weights
    }

    /// The map of image `index` from attention probabilities `[N, heads, 1, g² + 1]`.
    public init(crossWeights: Tensor, index: Int, heads selection: AttentionHeadSelection) throws {
        let s = crossWeights.shape
        guard s.count == 4, s[2] == 1, index >= 0, index < s[0] else {
            throw IPIQAError.badAttention("cross-attention weights of shape \(s) have no map for image \(index)")
        }
        let heads = s[1], tokens = s[3]
        let g = Int(Double(tokens - 1).squareRoot().rounded())
        guard g > 0, g * g + 1 == tokens else {
            throw IPIQAError.badAttention("cross-attention over \(tokens) tokens is not a square grid + mean token")
        }
        let chosen: [Int]
        switch selection {
        case .mean: chosen = Array(0..<heads)
        case let .head(h):
            guard h >= 0, h < heads else {
                throw IPIQAError.badAttention("head \(h) does not exist: the cross-attention has heads 0…\(heads - 1)")
            }
            chosen = [h]
        }
        let base = crossWeights.pointer + index * heads * tokens
        var out = [Float](repeating: 0, count: g * g)
        for h in chosen {
            let row = base + h * tokens + 1
            for p in 0..<(g * g) { out[p] += row[p] }
        }
        let scale = 1 / Float(chosen.count)
        try self.init(grid: g, weights: out.map { $0 * scale })
    }

    /// The map as a jet heat map blended 50/50 over `image` (bilinearly upsampled to the image's size; the grid
    /// spans the whole image, as IP-IQA squashes images to the input square).
    public func overlay(on image: RGBImage) -> RGBImage {
        Plot.attentionOverlay(image, weights: weights, gridWidth: grid, gridHeight: grid)
    }
}
