import Tensor

/// Adaptive average pooling of a channels-last feature map to another grid side, as PyTorch's
/// `adaptive_avg_pool2d` computes it: output cell `i` of an axis averages input cells `⌊i·n/m⌋ ..< ⌈(i+1)·n/m⌉`
/// (`n` input, `m` output cells; a cell is repeated when `m > n`). Written as one constant linear map
/// `P` `[m², n²]` (`P = A ⊗ A`, `A` the 1-D averaging matrix) over the flattened grid, so the forward and backward
/// passes are the engine's `permute` and `linear`:
///
///     y[b, :, :, c] = reshape(P · vec(x[b, :, :, c]))          x [B, n, n, C] → y [B, m, m, C]
///
/// IP-IQA's `paper+similarity` fusion uses it to bring the trunk's map at the model's resolution back to CLIP's
/// native grid (7 for RN50: the 224-px grid), where its frozen copy of CLIP's attention pool and positional embedding
/// were trained — what CLIPScore would see.
///
/// ```swift
/// let pool = NativeGridPooling(from: 16, to: 7)       // RN50 at 512 px → the 224-px grid
/// let native = pool(features)                         // [N, 16, 16, 2048] → [N, 7, 7, 2048]
/// ```
public struct NativeGridPooling: Sendable {
    public let inputGrid: Int, outputGrid: Int
    /// `[outputGrid², inputGrid²]`.
    public let matrix: Tensor

    public init(from inputGrid: Int, to outputGrid: Int) {
        precondition(inputGrid > 0 && outputGrid > 0, "NativeGridPooling: grids must be positive")
        self.inputGrid = inputGrid
        self.outputGrid = outputGrid
        let a = Self.averagingWeights(from: inputGrid, to: outputGrid)                     // [m][n]
        let n = inputGrid, m = outputGrid
        matrix = Tensor(uninitialized: [m * m, n * n])
        for i in 0..<m { for j in 0..<m { for y in 0..<n { for x in 0..<n {
            matrix.pointer[(i * m + j) * n * n + y * n + x] = a[i][y] * a[j][x]
        } } } }
    }

    /// The 1-D weights `A[i][k]` = 1 / window size where input cell `k` lies in output cell `i`'s window, else 0.
    public static func averagingWeights(from n: Int, to m: Int) -> [[Float]] {
        (0..<m).map { i in
            let start = (i * n) / m, end = ((i + 1) * n + m - 1) / m
            return (0..<n).map { k in (start..<end).contains(k) ? 1 / Float(end - start) : 0 }
        }
    }

    /// `[B, n, n, C]` → `[B, m, m, C]` (differentiable; the identity when the grids are equal).
    public func callAsFunction(_ x: Var) -> Var {
        guard inputGrid != outputGrid else { return x }
        let b = x.shape[0], c = x.shape[3], n = inputGrid, m = outputGrid
        let columns = permute(reshape(x, [b, n * n, c]), [0, 2, 1])                        // [B, C, n²]
        let pooled = linear(columns, Var(matrix))                                          // [B, C, m²]
        return reshape(permute(pooled, [0, 2, 1]), [b, m, m, c])
    }
}
