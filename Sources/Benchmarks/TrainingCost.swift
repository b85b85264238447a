import CLIP
import Foundation
import Tensor

/// Analytic floating-point operation counts (1 multiply-add = 2 FLOP) of IP-IQA training at a resolution, for the
/// bounds reported beside measured times (docs/training-modes.md):
///
///     trunk forward      Σ over convolutions 2 · H_out · W_out · C_in · C_out · k²       (RN50 at 512 px: ≈ 56 GFLOP)
///     trunk training     ≈ 3 × forward (forward, input gradient, weight gradient)
///     pool k/v training  per pool 3 × (2 projections × 2 · T · C²)  (forward, weight and input gradients),
///                        T = (R/32)² + 1 tokens of C channels       (RN50 at 512 px, two pools: ≈ 26 GFLOP per image)
///     frozen-k/v step    per pool 2 × (2 · T · C²) for `W_k P`, `W_v P` and 2 × (2 · T · C²) for `dP`, once per step
///
/// ```swift
/// let cost = TrainingCost(config: .rn50, resolution: 512, pools: 2)
/// cost.trunkForward / 1e9            // ≈ 56
/// ```
public struct TrainingCost: Codable, Sendable, Equatable {
    /// FLOP of one image through the trunk (stem + layer1–4), forward only.
    public let trunkForward: Double
    /// FLOP per image of the trainable key/value projections of all pools (forward + backward).
    public let kvTrainingPerImage: Double
    /// FLOP per step (shared by the batch) of the positional key/value terms with frozen projections (forward + backward).
    public let frozenKVPerStep: Double

    public init(config: CLIPConfiguration, resolution: Int, pools: Int) {
        var flop = 0.0
        func conv(_ side: Int, _ cin: Int, _ cout: Int, _ k: Int) { flop += 2 * Double(side * side * cin * cout * k * k) }
        let w = config.visionWidth
        var side = resolution / 2
        conv(side, 3, w / 2, 3)
        conv(side, w / 2, w / 2, 3)
        conv(side, w / 2, w, 3)
        side /= 2
        var inplanes = w
        for (i, blocks) in config.visionLayers.enumerated() {
            let planes = w << i, stride = i == 0 ? 1 : 2
            for b in 0..<max(blocks, 1) {
                let s = b == 0 ? stride : 1
                conv(side, inplanes, planes, 1)
                conv(side, planes, planes, 3)
                let outSide = side / s
                conv(outSide, planes, planes * 4, 1)
                if b == 0 && (s > 1 || inplanes != planes * 4) { conv(outSide, inplanes, planes * 4, 1) }
                side = outSide
                inplanes = planes * 4
            }
        }
        trunkForward = flop
        let tokens = Double((resolution / 32) * (resolution / 32) + 1), c = Double(config.featureChannels)
        let projection = 2 * tokens * c * c
        kvTrainingPerImage = Double(pools) * 3 * 2 * projection
        frozenKVPerStep = Double(pools) * 2 * 2 * projection
    }

    /// FLOP of the trunk per image in training (forward, input gradient, weight gradient).
    public var trunkTraining: Double { 3 * trunkForward }
}
