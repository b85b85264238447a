import Tensor

/// Adaptive average pooling of a square channels-last map (a feature map or an image) to another side, as PyTorch's
/// `adaptive_avg_pool2d` computes it: output cell `i` of an axis averages input cells `⌊i·n/m⌋ ..< ⌈(i+1)·n/m⌉`
/// (`n` input, `m` output cells; a cell is repeated when `m > n`). It is separable: one constant 1-D averaging
/// matrix `A` `[m, n]` applied to the rows, then to the columns, so the forward and backward passes are the
/// engine's `permute` and `linear`:
///
///     y[b, :, :, c] = A · x[b, :, :, c] · Aᵀ          x [B, n, n, C] → y [B, m, m, C]
///
/// IP-IQA's `paper+similarity` fusion uses it to bring the model's input image back to CLIP's native resolution
/// (224 px for RN50), where its frozen attention pool and positional embedding were trained — what CLIPScore sees.
///
/// ```swift
/// let resize = NativeGridPooling(from: 512, to: 224)       // model input → CLIP's native resolution
/// let native = resize(images)                              // [N, 512, 512, 3] → [N, 224, 224, 3]
/// ```
public struct NativeGridPooling: Sendable {
    public let inputSide: Int, outputSide: Int
    /// The 1-D averaging matrix `A` `[outputSide, inputSide]`.
    public let weights: Tensor

    public init(from inputSide: Int, to outputSide: Int) {
        precondition(inputSide > 0 && outputSide > 0, "NativeGridPooling: sides must be positive")
        self.inputSide = inputSide
        self.outputSide = outputSide
        let a = Self.averagingWeights(from: inputSide, to: outputSide)
        weights = Tensor(shape: [outputSide, inputSide], values: a.flatMap { $0 })
    }

    /// The 1-D weights `A[i][k]` = 1 / window size where input cell `k` lies in output cell `i`'s window, else 0.
    public static func averagingWeights(from n: Int, to m: Int) -> [[Float]] {
        (0..<m).map { i in
            let start = (i * n) / m, end = ((i + 1) * n + m - 1) / m
            return (0..<n).map { k in (start..<end).contains(k) ? 1 / Float(end - start) : 0 }
        }
    }

    /// `[B, n, n, C]` → `[B, m, m, C]` (differentiable; the identity when the sides are equal).
    public func callAsFunction(_ x: Var) -> Var {
        guard inputSide != outputSide else { return x }
        let a = Var(weights)
        let rows = linear(permute(x, [0, 2, 3, 1]), a)            // [B, W, C, H] → [B, W, C, m]
        let both = linear(permute(rows, [0, 3, 2, 1]), a)         // [B, m, C, W] → [B, m, C, m]
        return permute(both, [0, 1, 3, 2])                        // [B, m, m, C]
    }
}
