import CKernels
import Foundation

/// The three products of ``conv2d(_:_:bias:stride:padding:)`` in bf16 (``TrainingPrecision/bf16``): inputs rounded to
/// bf16 (nearest even), fp32 accumulation and fp32 results, as PyTorch's autocast runs a convolution.
///
///     forward     Y  = im2col(X) · Wᵀ                  (fused blocks, weight packed as bf16 once per call)
///     data grad   dX = conv(dY, flip(W)ᵀ) (stride 1)  or  col2im(dY · W)   (pointwise: dY · W)
///     weight grad dW = dYᵀ · im2col(X)                 (pixels split over the workers, partials summed in fp32)
///
/// Everything around the products (im2col, bias, batch norm, the sums of partial weight gradients) stays fp32.
///
/// ```swift
/// let y = withTrainingPrecision(.bf16) { conv2d(x, w, stride: 1, padding: 1) }   // backward runs in bf16 as well
/// ```
enum ConvBF16 {
    /// `conv(x, w)` (no bias) with the bf16 packed-weight kernel; nil where the CPU lacks AVX-512 BF16.
    static func forward(_ x: Tensor, weight w: Tensor, stride: Int, padding: Int, shift: Tensor?) -> Tensor? {
        guard let packed = PackedWeights(weight: w, precision: .bf16) else { return nil }
        return conv2dFused(x, weight: w, packed: packed, stride: stride, padding: padding, epilogue: ConvEpilogue(shift: shift))
    }

    /// `(dX, dW)`, each only when asked for.
    static func backward(_ g: ConvGeometry, x: Tensor, w: Tensor, dy: Tensor, needX: Bool, needW: Bool) -> (Tensor?, Tensor?) {
        let dw = needW ? weightGradient(g, x: x, dy: dy) : nil
        guard needX else { return (nil, dw) }
        let dx: Tensor
        if g.isPointwise {
            dx = Tensor(uninitialized: x.shape)
            trainingGEMM(.bf16, m: g.pixels, n: g.cin, k: g.cout, a: dy.pointer, b: w.pointer, c: dx.pointer)
        } else if let t = g.dataGradientGeometry, let packed = PackedWeights(weight: g.flippedTransposedWeight(w.pointer),
                                                                              precision: .bf16) {
            dx = Tensor(uninitialized: x.shape)
            _ = conv2dFused(dy, weightShape: [g.cin, g.kh, g.kw, g.cout], weight: nil, packed: packed, stride: 1,
                            padding: t.padding, epilogue: ConvEpilogue(), into: dx)
        } else {
            dx = Tensor(zeros: x.shape)  // col2im accumulates
            let dcols = Storage(uninitializedCount: g.tileRows * g.outW * g.patch)
            for tile in g.tiles() {
                let m = tile.count * g.outW, p0 = tile.lowerBound * g.outW
                trainingGEMM(.bf16, m: m, n: g.patch, k: g.cout, a: dy.pointer + p0 * g.cout, b: w.pointer, c: dcols.pointer)
                g.col2im(dcols.pointer, into: dx.pointer, rows: tile)
            }
        }
        return (dx, dw)
    }

    /// `dW = dYᵀ · im2col(x)` in `W`'s shape. Pointwise: one product over all pixels. Otherwise each worker takes a
    /// contiguous range of pixels, im2col's it in tiles of ≥ 512 pixels (one k-block of the kernel) and accumulates
    /// into its own fp32 partial; the partials are summed at the end.
    static func weightGradient(_ g: ConvGeometry, x: Tensor, dy: Tensor) -> Tensor {
        let dw = Tensor(uninitialized: [g.cout, g.kh, g.kw, g.cin])
        let pixels = g.pixels, patch = g.patch, cout = g.cout
        if g.isPointwise {
            trainingGEMM(.bf16, transA: true, m: cout, n: patch, k: pixels, a: dy.pointer, b: x.pointer, c: dw.pointer)
            return dw
        }
        let workers = Threading.isInsideParallelRegion ? 1 : max(1, min(Threading.workers, pixels / 512))
        let tilePixels = max(512, min(4096, (1 << 21) / max(1, patch)))
        let partials = (1..<workers).map { _ in Storage(uninitializedCount: cout * patch) }
        let xp = x.pointer, dyp = dy.pointer, dwp = dw.pointer
        withExtendedLifetime((x, dy, partials)) {
            parallelTasks(workers) { part in
                let lo = pixels * part / workers, hi = pixels * (part + 1) / workers
                let out = part == 0 ? dwp : partials[part - 1].pointer
                if lo >= hi { out.update(repeating: 0, count: cout * patch); return }
                let cols = Storage(uninitializedCount: min(tilePixels, hi - lo) * patch)
                var t0 = lo
                while t0 < hi {
                    let t1 = min(hi, t0 + tilePixels)
                    g.im2col(xp, into: cols.pointer, pixels: t0..<t1)
                    // One worker: let the product itself use every worker; several: each runs its own serially.
                    if workers == 1 {
                        trainingGEMM(.bf16, transA: true, m: cout, n: patch, k: t1 - t0, a: dyp + t0 * cout, lda: cout,
                                     b: cols.pointer, ldb: patch, accumulate: t0 != lo, c: out, ldc: patch)
                    } else {
                        gemmBF16Serial(true, false, cout, patch, t1 - t0, dyp + t0 * cout, cout, cols.pointer, patch, out,
                                       patch, t0 != lo)
                    }
                    t0 = t1
                }
            }
            let parts = partials.map { UncheckedSendable($0.pointer) }
            parallelChunks(cout * patch, costPerItem: workers) { r in
                for p in parts { ipiqa_add(dwp + r.lowerBound, p.value + r.lowerBound, r.count, dwp + r.lowerBound) }
            }
        }
        return dw
    }
}
