import CKernels
import Foundation

/// 2-D convolution (cross-correlation, PyTorch `F.conv2d` with `groups = 1`, zero padding) on channels-last maps.
///
/// `x` `[N, H, W, Cin]`, `w` `[Cout, kh, kw, Cin]`, `bias` `[Cout]` → `y` `[N, Ho, Wo, Cout]` with
/// `Ho = ⌊(H + 2·padding − kh) / stride⌋ + 1` (likewise `Wo`) and
///
///     y[n, oh, ow, o] = b[o] + Σ_{i, j, c} w[o, i, j, c] · x[n, oh·stride − padding + i, ow·stride − padding + j, c]
///
/// (taps outside the image read zero). Implementation: a 1×1 stride-1 unpadded convolution is one GEMM on the
/// `[N·H·W, Cin]` view of `x`; everything else goes through tiled NHWC im2col + GEMM (see ``ConvGeometry``).
/// Backward: `dX` by GEMM + col2im, `dW` by `dYᵀ · cols`, `db = Σ dY`, each only if that input requires a gradient.
/// Under ``TrainingPrecision/bf16`` the three products take bf16 inputs with fp32 accumulation (``ConvBF16``).
///
/// ```swift
/// let x = Var(Tensor.randn([1, 32, 32, 3], using: &rng))
/// let w = Var(Tensor.kaimingUniform([16, 3, 3, 3], fanIn: 27, using: &rng), requiresGrad: true)
/// let y = conv2d(x, w, stride: 2, padding: 1)      // [1, 16, 16, 16]
/// ```
public func conv2d(_ x: Var, _ w: Var, bias: Var? = nil, stride: Int = 1, padding: Int = 0) -> Var {
    conv2d(x, w, bias: bias, stride: stride, padding: padding, tileElements: ConvTuning.tileElements)
}

/// ``conv2d(_:_:bias:stride:padding:)`` with an explicit im2col tile size (tests force many small tiles; the
/// benchmark tunes it).
public func conv2d(_ x: Var, _ w: Var, bias: Var?, stride: Int, padding: Int, tileElements: Int) -> Var {
    checkShape(x.value.rank == 4 && w.value.rank == 4 && x.shape[3] == w.shape[3], "conv2d", x.shape, w.shape)
    checkShape(stride >= 1 && padding >= 0, "conv2d (stride \(stride), padding \(padding))", x.shape, w.shape)
    let g = ConvGeometry(input: x.shape, weight: w.shape, stride: stride, padding: padding, tileElements: tileElements)
    checkShape(g.outH >= 1 && g.outW >= 1, "conv2d (kernel larger than padded input)", x.shape, w.shape)
    if let bias { checkShape(bias.value.count == g.cout, "conv2d bias", bias.shape, w.shape) }

    let xv = x.value, wv = w.value
    // The run's training precision (the backward pass uses the one the forward pass ran with).
    let bf16 = TrainingPrecision.active == .bf16 && tileElements == ConvTuning.tileElements
    let y: Tensor
    if bf16, let y16 = ConvBF16.forward(xv, weight: wv, stride: stride, padding: padding, shift: bias?.value) {
        y = y16
    } else if tileElements == ConvTuning.tileElements {
        // Per-worker blocks (im2col → GEMM → bias) with the weight packed once for this call.
        y = conv2dFused(xv, weight: wv, packed: packedForCall(wv, pixels: g.pixels), stride: stride, padding: padding,
                        epilogue: ConvEpilogue(shift: bias?.value))
    } else {
        y = Tensor(uninitialized: [g.n, g.outH, g.outW, g.cout])
        // Output rows start as the bias (then GEMM accumulates with beta = 1), or are overwritten (beta = 0).
        let beta: Float = bias == nil ? 0 : 1
        func fillBias(pixels: Range<Int>) {
            guard let bias else { return }
            let bp = bias.value.pointer, yp = y.pointer, cout = g.cout
            parallelChunks(pixels.count, costPerItem: cout) { r in
                for p in r { (yp + (pixels.lowerBound + p) * cout).update(from: bp, count: cout) }
            }
        }
        if g.isPointwise {
            fillBias(pixels: 0..<g.pixels)
            sgemm(transB: true, m: g.pixels, n: g.cout, k: g.cin, a: xv.pointer, b: wv.pointer, beta: beta, c: y.pointer)
        } else {
            convTiles(g, x: xv.pointer, w: wv.pointer, y: y.pointer, beta: beta, beforeTile: fillBias)
        }
    }

    let parents = bias.map { [x, w, $0] } ?? [x, w]
    return makeResult(y, parents) { dy in
        let needX = x.requiresGrad, needW = w.requiresGrad
        if needX || needW {
            let (dx, dw) = bf16 ? ConvBF16.backward(g, x: xv, w: wv, dy: dy, needX: needX, needW: needW)
                : convBackward(g, x: xv, w: wv, dy: dy, needX: needX, needW: needW)
            if let dx { x.accumulate(dx) }
            if let dw { w.accumulate(dw) }
        }
        if let bias, bias.requiresGrad {
            bias.accumulate(sumRows(dy, rows: g.pixels, cols: g.cout))
        }
    }
}

/// `y = conv(x, w)` (no bias) for a non-pointwise geometry: per tile of output rows, im2col then one GEMM
/// `Y_tile = beta · Y_tile + cols · Wᵀ`; `beforeTile(pixels)` runs first (e.g. to write the bias rows).
func convTiles(_ g: ConvGeometry, x: UnsafeMutablePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
               beta: Float, beforeTile: (Range<Int>) -> Void = { _ in }) {
    let cols = Storage(uninitializedCount: g.tileRows * g.outW * g.patch)
    for tile in g.tiles() {
        g.im2col(x, into: cols.pointer, rows: tile)
        let m = tile.count * g.outW, p0 = tile.lowerBound * g.outW
        beforeTile(p0..<(p0 + m))
        sgemm(transB: true, m: m, n: g.cout, k: g.patch, a: cols.pointer, b: w, beta: beta, c: y + p0 * g.cout)
    }
}

/// The data and weight gradients of ``conv2d(_:_:bias:stride:padding:)`` (each only when asked for).
/// - `dW = dYᵀ · im2col(x)`: see ``convWeightGradient(_:x:dy:)``.
/// - `dX`, pointwise: `dY · W`, on the packed-weight kernel with `Wᵀ` packed straight from `W` (OpenBLAS for few pixels,
///   CPUs without AVX-512F, or overridden tiles). Stride 1 with a square kernel and `padding < k`: the transposed
///   convolution `conv(dY, flip(W)ᵀ, padding: k − 1 − padding)` through the fused forward blocks, its weight packed
///   straight from `W`. Otherwise `col2im(dY · W)` per tile, added into a zero-filled `dX`.
func convBackward(_ g: ConvGeometry, x: Tensor, w: Tensor, dy: Tensor, needX: Bool, needW: Bool) -> (Tensor?, Tensor?) {
    let dw = needW ? convWeightGradient(g, x: x, dy: dy) : nil
    guard needX else { return (nil, dw) }
    let defaultTiles = g.tileElements == ConvTuning.tileElements
    if g.isPointwise {
        if defaultTiles && g.pixels >= 64, let packed = PackedWeights(fp32Of: w, layout: .transposed) {
            return (packed.matmul(dy), dw)
        }
        let dx = Tensor(uninitialized: x.shape)
        sgemm(m: g.pixels, n: g.cin, k: g.cout, a: dy.pointer, b: w.pointer, c: dx.pointer)
        return (dx, dw)
    }
    if let t = g.dataGradientGeometry {
        let dx = Tensor(uninitialized: x.shape)
        if defaultTiles && t.pixels >= 64, let packed = PackedWeights(fp32Of: w, layout: .flippedTransposed) {
            _ = conv2dFused(dy, weightShape: [g.cin, g.kh, g.kw, g.cout], weight: nil, packed: packed, stride: 1,
                            padding: t.padding, epilogue: ConvEpilogue(), into: dx)
            return (dx, dw)
        }
        let flipped = g.flippedTransposedWeight(w.pointer)
        if defaultTiles {
            _ = conv2dFused(dy, weight: flipped, packed: packedForCall(flipped, pixels: t.pixels), stride: 1,
                            padding: t.padding, epilogue: ConvEpilogue(), into: dx)
        } else {
            convTiles(t, x: dy.pointer, w: flipped.pointer, y: dx.pointer, beta: 0)
        }
        return (dx, dw)
    }
    let dx = Tensor(zeros: x.shape)  // col2im accumulates
    let dcols = Storage(uninitializedCount: g.tileRows * g.outW * g.patch)
    for tile in g.tiles() {
        let m = tile.count * g.outW, p0 = tile.lowerBound * g.outW
        sgemm(m: m, n: g.patch, k: g.cout, a: dy.pointer + p0 * g.cout, b: w.pointer, c: dcols.pointer)
        g.col2im(dcols.pointer, into: dx.pointer, rows: tile)
    }
    return (dx, dw)
}

/// `dW = dYᵀ · im2col(x)` (`[Cout, kh·kw·Cin]`, returned in `W`'s shape).
///
/// When every worker gets at least `max(Cout, 256)` output pixels, the pixels are split over the workers: each runs
/// im2col on its own tiles and single-threaded GEMMs into its own partial `dW`, and the partials are summed once at
/// the end. That keeps the im2col parallel and each GEMM large, and no two workers pack the same operand (a split of
/// `dW`'s rows makes both pack all of the columns). Otherwise (few pixels: layer4, batch 1): tile by tile, each
/// GEMM split over the workers by ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
func convWeightGradient(_ g: ConvGeometry, x: Tensor, dy: Tensor) -> Tensor {
    if let dw = directWeightGradient(g, x: x, dy: dy) { return dw }
    let dw = Tensor(uninitialized: [g.cout, g.kh, g.kw, g.cin])
    let workers = Threading.workers, pixels = g.pixels, patch = g.patch, cout = g.cout
    let split = g.tileElements == ConvTuning.tileElements && workers > 1 && !Threading.isInsideParallelRegion
        && pixels / workers >= max(cout, 256)
    if !split {
        if g.isPointwise {
            sgemm(transA: true, m: cout, n: g.cin, k: pixels, a: dy.pointer, b: x.pointer, c: dw.pointer)
            return dw
        }
        let cols = Storage(uninitializedCount: g.tileRows * g.outW * patch)
        for (k, tile) in g.tiles().enumerated() {
            let m = tile.count * g.outW, p0 = tile.lowerBound * g.outW
            g.im2col(x.pointer, into: cols.pointer, rows: tile)
            sgemm(transA: true, m: cout, n: patch, k: m, a: dy.pointer + p0 * cout, b: cols.pointer,
                  beta: k == 0 ? 0 : 1, c: dw.pointer)
        }
        return dw
    }
    let tilePixels = max(16, ConvTuning.tileElements / 2 / max(1, patch))
    pixelShareWeightGradient(g, x: x, dy: dy, into: dw, workers: workers, tilePixels: tilePixels) { a, b, k, c, accumulate in
        sgemmSerial(transA: true, transB: false, m: cout, n: patch, k: k, a: a, lda: cout, b: b, ldb: patch,
                    beta: accumulate ? 1 : 0, c: c, ldc: patch)
    }
    return dw
}

/// `dW = dYᵀ · im2col(x)` (`[Cout, kh·kw·Cin]`) with the output pixels shared out: worker `q` of `workers` takes a
/// contiguous range of pixels, im2col's it in tiles of `tilePixels` (pointwise: reads `x` itself, one product) and sums
/// `product(dY rows, cols, pixels, out, accumulate)` — `out (+)= dY_tileᵀ · cols` with `dY` rows of `Cout` and `cols`
/// rows of `patch` — into its own fp32 partial (worker 0 into `dw`); the partials are added into `dw` at the end, in
/// parallel over the elements. Shared by the fp32 (``convWeightGradient(_:x:dy:)``) and bf16 (``ConvBF16``) paths.
func pixelShareWeightGradient(_ g: ConvGeometry, x: Tensor, dy: Tensor, into dw: Tensor, workers: Int, tilePixels: Int,
                              product: (UnsafePointer<Float>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Bool) -> Void) {
    let pixels = g.pixels, patch = g.patch, cout = g.cout, workers = max(1, workers)
    let partials = (1..<workers).map { _ in Storage(uninitializedCount: cout * patch) }
    let xp = x.pointer, dyp = dy.pointer, dwp = dw.pointer
    withExtendedLifetime((x, dy, partials)) {
        parallelTasks(workers) { part in
            let lo = pixels * part / workers, hi = pixels * (part + 1) / workers
            let out = part == 0 ? dwp : partials[part - 1].pointer
            if lo >= hi { out.update(repeating: 0, count: cout * patch); return }
            if g.isPointwise {
                product(dyp + lo * cout, xp + lo * patch, hi - lo, out, false)
                return
            }
            let cols = Storage(uninitializedCount: min(tilePixels, hi - lo) * patch)
            var t0 = lo
            while t0 < hi {
                let t1 = min(hi, t0 + tilePixels)
                g.im2col(xp, into: cols.pointer, pixels: t0..<t1)
                product(dyp + t0 * cout, cols.pointer, t1 - t0, out, t0 != lo)
                t0 = t1
            }
        }
        // dw += Σ partials, in parallel over the elements.
        let parts = partials.map { UncheckedSendable($0.pointer) }
        parallelChunks(cout * patch, costPerItem: workers) { r in
            for p in parts {
                ipiqa_add(dwp + r.lowerBound, p.value + r.lowerBound, r.count, dwp + r.lowerBound)
            }
        }
    }
}

/// `dW` on the engine's own kernel, straight from the input (no im2col; `ipiqa_conv_wgrad_f32`, which packs `dY` and
/// the input in cache-sized blocks itself and writes `dW`'s `[Cout, kh, kw, Cin]` directly), or nil where that does not
/// apply (no AVX-512F, fewer than 16 or more than 8192 input channels, few pixels, overridden tiles, or
/// `FusedConvTuning.direct` off). The workers split the channels whose split duplicates less memory traffic: the input
/// channels in 32-channel panels (each worker reads all of `dY`) when `Cout ≤ Cin`, else the output channels (each
/// worker reads all of `x`); both write disjoint parts of `dW`.
func directWeightGradient(_ g: ConvGeometry, x: Tensor, dy: Tensor) -> Tensor? {
    guard FusedConvTuning.direct, g.tileElements == ConvTuning.tileElements, g.cin >= 16,
          g.cin <= Int(IPIQA_WGRAD_MAX_CIN), g.pixels >= 64, ipiqa_has_avx512f() != 0 else { return nil }
    let pixels = g.pixels, cout = g.cout, cin = g.cin
    let dw = Tensor(uninitialized: [g.cout, g.kh, g.kw, g.cin])
    let xp = x.pointer, dyp = dy.pointer, dwp = dw.pointer
    let panels = (cin + PackedWeights.panel - 1) / PackedWeights.panel
    let workers = Threading.workers
    let alongInputs = panels >= workers && (cout <= cin || cout < 12 * workers)
    let parts = alongInputs ? min(workers, panels) : max(1, min(workers, cout / 12))
    withExtendedLifetime((x, dy)) {
        parallelTasks(parts) { t in
            var (ci0, ci1, co0, co1) = (0, cin, 0, cout)
            if alongInputs {
                ci0 = min(cin, panels * t / parts * PackedWeights.panel)
                ci1 = min(cin, panels * (t + 1) / parts * PackedWeights.panel)
            } else {
                co0 = cout * t / parts
                co1 = cout * (t + 1) / parts
            }
            ipiqa_conv_wgrad_f32(xp, Int32(g.h), Int32(g.w), Int32(cin), Int32(g.kh), Int32(g.kw), Int32(g.stride),
                                 Int32(g.padding), Int32(g.outH), Int32(g.outW), pixels, dyp, Int32(cout), Int32(co0),
                                 Int32(co1), Int32(ci0), Int32(ci1), dwp)
        }
    }
    return dw
}

/// fp32 packed weights for one convolution call when the CPU has the kernels and the call is large enough for the
/// packing (one pass over `W`) to pay off against OpenBLAS's per-block packing.
func packedForCall(_ w: Tensor, pixels: Int) -> PackedWeights? {
    pixels >= 64 ? PackedWeights(weight: w, precision: .fp32) : nil
}
