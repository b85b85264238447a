import CLIP
import Foundation
import Tensor

/// Analytic floating-point operation counts of the CLIP / IP-IQA networks, from their shapes.
///
/// Only the products are counted, each multiply–accumulate as 2 FLOPs:
///
///     conv       2 · N · Ho · Wo · Cout · kh · kw · Cin
///     linear     2 · rows · in · out
///     attention  2 · 2 · B · Lq · Lk · D          (scores Q·Kᵀ and the weighted sum P·V, all heads; no causal halving)
///
/// Batch norm, activations, pooling, softmax and element-wise work are not counted (< 1 % of the total here).
/// A training step counts `3 ×` the forward FLOPs of the trained parts (forward, input gradient, weight gradient)
/// plus `2 ×` those of the frozen text encoder that the [QA] token back-propagates through (forward + input gradient).
/// `Scripts/bench_pytorch.py` uses the same formulas, so the GFLOP/s of both engines are comparable. The counts are
/// the model's as PyTorch evaluates it: attention pools project all `g² + 1` tokens to keys and values. The engine
/// folds those projections into the single query (`singleQueryAttention`) and does less work than counted (at 512 px
/// about 7 % of an RN50 forward), so its GFLOP/s are PyTorch-equivalent rates: time saved counts as speed.
///
/// ```swift
/// let gflop = ModelFLOPs.visual(.rn50, resolution: 224, batch: 1) / 1e9   // ≈ 11.6
/// ```
public enum ModelFLOPs {
    /// `ModifiedResNet` trunk (stem + 4 stages) at `resolution × resolution`.
    public static func trunk(_ c: CLIPConfiguration, resolution: Int, batch: Int) -> Double {
        func conv(_ size: Int, _ cin: Int, _ cout: Int, _ k: Int) -> Double {
            2 * Double(batch * size * size) * Double(cout) * Double(k * k * cin)
        }
        let w = c.visionWidth
        var s = resolution / 2
        var total = conv(s, 3, w / 2, 3) + conv(s, w / 2, w / 2, 3) + conv(s, w / 2, w, 3)
        s /= 2
        var inplanes = w
        for (i, blocks) in c.visionLayers.enumerated() {
            let planes = w << i
            for b in 0..<max(blocks, 1) {
                let stride = (b == 0 && i > 0) ? 2 : 1
                let out = s / stride
                total += conv(s, inplanes, planes, 1) + conv(s, planes, planes, 3) + conv(out, planes, planes * 4, 1)
                if b == 0 && (stride > 1 || inplanes != planes * 4) { total += conv(out, inplanes, planes * 4, 1) }
                inplanes = planes * 4
                s = out
            }
        }
        return total
    }

    /// One-query attention pooling over the `g² + 1` tokens of a `g × g`, `channels`-wide map (CLIP's `AttentionPool2d`
    /// with `queryDim = channels`; IP-IQA's cross-modal pool with `queryDim` = the text embedding size).
    public static func attentionPool(grid: Int, channels: Int, queryDim: Int, outputDim: Int, batch: Int) -> Double {
        let l = Double(grid * grid + 1), n = Double(batch), c = Double(channels)
        return 2 * n * Double(queryDim) * c + 2 * 2 * n * l * c * c + 2 * 2 * n * l * c + 2 * n * c * Double(outputDim)
    }

    /// Full image encoder (trunk + attention pool).
    public static func visual(_ c: CLIPConfiguration, resolution: Int, batch: Int) -> Double {
        trunk(c, resolution: resolution, batch: batch)
            + attentionPool(grid: resolution / 32, channels: c.featureChannels, queryDim: c.featureChannels,
                            outputDim: c.embedDim, batch: batch)
    }

    /// Text Transformer over `length` tokens per prompt plus the final projection of the end-of-text token.
    public static func text(_ c: CLIPConfiguration, batch: Int, length: Int) -> Double {
        let rows = Double(batch * length), d = Double(c.transformerWidth)
        let perLayer = 2 * rows * d * 3 * d + 2 * 2 * Double(batch) * Double(length * length) * d
            + 2 * rows * d * d + 2 * 2 * rows * d * 4 * d
        return Double(c.transformerLayers) * perLayer + 2 * Double(batch) * d * Double(c.embedDim)
    }

    /// One IP-IQA training step (full fine-tune of the visual tower, cross-modal pool, head and [QA] token).
    public static func ipiqaTrainStep(_ c: CLIPConfiguration, resolution: Int, batch: Int, textLength: Int,
                                      outputs: Int, mlpHead: Bool = true) -> Double {
        let grid = resolution / 32, e = Double(c.embedDim), n = Double(batch)
        let cross = attentionPool(grid: grid, channels: c.featureChannels, queryDim: c.embedDim, outputDim: c.embedDim, batch: batch)
        let head = mlpHead ? 2 * n * (2 * e) * (2 * e) + 2 * n * (2 * e) * Double(outputs) : 2 * n * (2 * e) * Double(outputs)
        let trained = visual(c, resolution: resolution, batch: batch) + cross + head
        return 3 * trained + 2 * text(c, batch: batch, length: textLength)
    }
}
