import Foundation

/// Tuning constants of the convolution kernels.
public enum ConvTuning {
    /// Target number of floats in one im2col tile (`tile pixels × kh·kw·Cin`). 2^20 floats = 4 MiB: large enough
    /// for an efficient GEMM (hundreds of rows), small enough to stay in the last-level cache between the
    /// im2col write and the GEMM read. Measured with `ipiqa bench conv --tile-elements` (3×3, 256→256, 8×56×56,
    /// 2 cores): 2^18 → 162, 2^19 → 200, 2^20 → 229, 2^21 → 221, 2^22 → 213 GFLOP/s forward.
    public static let tileElements = 1 << 20
}

/// Shapes of one convolution and the NHWC im2col / col2im kernels over tiles of output rows.
///
/// An output "row" is one `(n, oh)` pair (flattened `n·Ho + oh`) holding `Wo` pixels; a tile is a range of
/// such rows. The column matrix of a tile is `[tile pixels, kh·kw·Cin]` with columns ordered `(i, j, c)`
/// — the same order as a `[Cout, kh, kw, Cin]` weight row, so `Y_tile = cols · Wᵀ`. For a fixed pixel and
/// kernel row `i`, the `kw·Cin` columns read one contiguous run of `x` (clipped at the borders), so im2col is
/// a handful of `memcpy`s per pixel.
struct ConvGeometry: Sendable {
    let n, h, w, cin: Int
    let cout, kh, kw: Int
    let stride, padding: Int
    let outH, outW: Int
    /// Target floats per im2col tile (``ConvTuning/tileElements`` unless a test or benchmark overrides it).
    let tileElements: Int

    init(input: [Int], weight: [Int], stride: Int, padding: Int, tileElements: Int = ConvTuning.tileElements) {
        self.tileElements = max(1, tileElements)
        n = input[0]; h = input[1]; w = input[2]; cin = input[3]
        cout = weight[0]; kh = weight[1]; kw = weight[2]
        self.stride = stride; self.padding = padding
        outH = (h + 2 * padding - kh) / stride + 1
        outW = (w + 2 * padding - kw) / stride + 1
    }

    /// Columns of the im2col matrix: `kh · kw · Cin`.
    var patch: Int { kh * kw * cin }
    /// Output pixels `N · Ho · Wo` (rows of the output matrix).
    var pixels: Int { n * outH * outW }
    /// A 1×1, stride-1, unpadded convolution is a plain GEMM on `x` viewed as `[N·H·W, Cin]`.
    var isPointwise: Bool { kh == 1 && kw == 1 && stride == 1 && padding == 0 }
    /// Output rows per tile.
    var tileRows: Int { max(1, min(n * outH, tileElements / max(1, outW * patch))) }

    /// For stride 1, a square kernel and `padding < k` (not pointwise): the geometry of the transposed convolution
    /// that computes `dX` from `dY` — input `[N, Ho, Wo, Cout]`, weight `[Cin, k, k, Cout]`, padding `k − 1 − padding`,
    /// whose output is exactly `[N, H, W, Cin]`. Nil where that does not hold (then `dX` goes through col2im).
    var dataGradientGeometry: ConvGeometry? {
        guard stride == 1, kh == kw, padding < kh, !isPointwise else { return nil }
        let t = ConvGeometry(input: [n, outH, outW, cout], weight: [cin, kh, kw, cout], stride: 1,
                             padding: kh - 1 - padding, tileElements: tileElements)
        return t.outH == h && t.outW == w ? t : nil
    }

    /// `W'[ci, i, j, co] = W[co, kh−1−i, kw−1−j, ci]`: the weight of ``dataGradientGeometry``.
    func flippedTransposedWeight(_ wp: UnsafePointer<Float>) -> Tensor {
        let out = Tensor(uninitialized: [cin, kh, kw, cout])
        let op = out.pointer, g = self
        parallelChunks(cin, costPerItem: kh * kw * cout) { r in
            for ci in r {
                for i in 0..<g.kh {
                    for j in 0..<g.kw {
                        let dst = op + ((ci * g.kh + i) * g.kw + j) * g.cout
                        let src = wp + ((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * g.cin + ci
                        let step = g.kh * g.kw * g.cin
                        for co in 0..<g.cout { dst[co] = src[co * step] }
                    }
                }
            }
        }
        return out
    }

    /// The tiles: consecutive ranges of `tileRows` flattened output rows.
    func tiles() -> [Range<Int>] {
        let total = n * outH, step = tileRows
        return Swift.stride(from: 0, to: total, by: step).map { $0..<min(total, $0 + step) }
    }

    /// Writes the `[rows.count · Wo, patch]` column matrix of output rows `rows` into `cols` (zeros for taps
    /// in the padding). Parallel over pixels.
    func im2col(_ x: UnsafeMutablePointer<Float>, into cols: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let g = self
        let r0 = rows.lowerBound
        parallelChunks(rows.count * outW, costPerItem: patch) { range in
            for q in range {
                let row = r0 + q / g.outW, ow = q % g.outW
                let b = row / g.outH, oh = row % g.outH
                let dst = cols + q * g.patch
                let iw0 = ow * g.stride - g.padding
                let jLo = max(0, -iw0), jHi = min(g.kw, g.w - iw0)
                let run = g.kw * g.cin
                for i in 0..<g.kh {
                    let ih = oh * g.stride - g.padding + i
                    let d = dst + i * run
                    if ih < 0 || ih >= g.h || jHi <= jLo {
                        d.update(repeating: 0, count: run)
                        continue
                    }
                    if jLo > 0 { d.update(repeating: 0, count: jLo * g.cin) }
                    d.advanced(by: jLo * g.cin).update(from: x + ((b * g.h + ih) * g.w + iw0 + jLo) * g.cin,
                                                       count: (jHi - jLo) * g.cin)
                    if jHi < g.kw { d.advanced(by: jHi * g.cin).update(repeating: 0, count: (g.kw - jHi) * g.cin) }
                }
            }
        }
    }

    /// Adds the column-matrix gradient `dcols` of output rows `rows` back onto the input gradient `dx`
    /// (the transpose of ``im2col(_:into:rows:)``). Parallel over the input rows `(n, ih)` the tile touches;
    /// each input row gathers from every tap that reads it, so no two threads write the same memory.
    func col2im(_ dcols: UnsafeMutablePointer<Float>, into dx: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let g = self
        let r0 = rows.lowerBound, r1 = rows.upperBound
        // The (image, input row) pairs that the tile's output rows read.
        var items: [(b: Int, ih: Int)] = []
        for b in (r0 / outH)...((r1 - 1) / outH) {
            let ohLo = max(r0 - b * outH, 0), ohHi = min(r1 - b * outH, outH)
            let ihLo = max(0, ohLo * stride - padding), ihHi = min(h, (ohHi - 1) * stride - padding + kh)
            if ihLo < ihHi { for ih in ihLo..<ihHi { items.append((b, ih)) } }
        }
        items.withUnsafeBufferPointer { itemsBuf in
            let list = UncheckedSendable(itemsBuf)
            parallelChunks(itemsBuf.count, costPerItem: kh * outW * kw * cin) { range in
                for k in range {
                    let (b, ih) = list.value[k]
                    let ohLo = max(r0 - b * g.outH, 0), ohHi = min(r1 - b * g.outH, g.outH)
                    // oh with 0 ≤ ih + padding − oh·stride < kh.
                    let top = ih + g.padding
                    let first = max(ohLo, (top - g.kh + g.stride) / g.stride), last = min(ohHi - 1, top / g.stride)
                    if first > last { continue }
                    let dstRow = dx + (b * g.h + ih) * g.w * g.cin
                    for oh in first...last {
                        let i = top - oh * g.stride
                        let base = ((b * g.outH + oh) - r0) * g.outW
                        for ow in 0..<g.outW {
                            let iw0 = ow * g.stride - g.padding
                            let jLo = max(0, -iw0), jHi = min(g.kw, g.w - iw0)
                            if jHi <= jLo { continue }
                            let src = dcols + (base + ow) * g.patch + (i * g.kw + jLo) * g.cin
                            let dst = dstRow + (iw0 + jLo) * g.cin
                            for t in 0..<((jHi - jLo) * g.cin) { dst[t] += src[t] }
                        }
                    }
                }
            }
        }
    }
}
