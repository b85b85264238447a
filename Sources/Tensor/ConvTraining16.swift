import CKernels
import Foundation

/// The three products of ``conv2d(_:_:bias:stride:padding:)`` in bf16 (``TrainingPrecision/bf16``): inputs rounded to
/// bf16 (nearest even), fp32 accumulation and fp32 results, as PyTorch's autocast runs a convolution.
///
///     forward     Y  = im2col(X) · Wᵀ                  (fused blocks, weight packed as bf16 once per call)
///     data grad   dX = conv(dY, flip(W)ᵀ) (stride 1)  or  col2im(dY · W)   (pointwise: dY · W)
///     weight grad dW = dYᵀ · im2col(X)                 (gathered straight from X into bf16 panels; split by columns)
///
/// Everything around the products (bias, batch norm, the sums of the fallback's partial weight gradients) stays fp32.
///
/// ```swift
/// let y = withTrainingPrecision(.bf16) { conv2d(x, w, stride: 1, padding: 1) }   // backward runs in bf16 as well
/// ```
enum ConvBF16 {
    /// `conv(x, w) + shift` with `W` packed as bf16 for this call (``packedWeight(_:rows:k:)``) and the blocks of
    /// ``convolve(_:input:packed:shift:into:)``; nil where the CPU lacks AVX-512 BF16.
    static func forward(_ x: Tensor, weight w: Tensor, stride: Int, padding: Int, shift: Tensor?) -> Tensor? {
        guard TrainingPrecision.hasBF16Kernels else { return nil }
        let g = ConvGeometry(input: x.shape, weight: w.shape, stride: stride, padding: padding)
        let y = Tensor(uninitialized: [g.n, g.outH, g.outW, g.cout])
        let packed = packedWeight(w.pointer, rows: g.cout, k: g.patch)
        withExtendedLifetime((w, shift)) { convolve(g, input: x, packed: packed, shift: shift?.pointer, into: y) }
        return y
    }

    /// `W` (`rows × k`) packed as bf16 panels of 32 rows (the layout of `ipiqa_pack_bf16`), the panels split over the
    /// workers (`ipiqa_pack_bf16_panels`).
    static func packedWeight(_ w: UnsafePointer<Float>, rows: Int, k: Int) -> Storage {
        let halves = ipiqa_packed_count_bf16(Int32(rows), Int32(k))
        let packed = Storage(uninitializedCount: (halves + 1) / 2)
        let p16 = UnsafeMutableRawPointer(packed.pointer).bindMemory(to: UInt16.self, capacity: halves)
        let panels = (rows + PackedWeights.panel - 1) / PackedWeights.panel
        let parts = rows * k < 1 << 16 || Threading.isInsideParallelRegion ? 1 : min(panels, 2 * Threading.workers)
        parallelTasks(parts) { q in
            ipiqa_pack_bf16_panels(w, Int32(rows), Int32(k), Int32(panels * q / parts), Int32(panels * (q + 1) / parts), p16)
        }
        return packed
    }

    /// `y = conv(input, W) (+ shift per output channel)` for `W` packed as bf16 panels (n = `g.cout`, k = `g.patch`):
    /// blocks of output pixels and channels (``FusedConvPartition``), each gathering its input rows straight into bf16
    /// (`ipiqa_im2col_bf16`; pointwise: `ipiqa_convert_bf16`) and multiplying on `ipiqa_gemm_bf16`.
    static func convolve(_ g: ConvGeometry, input: Tensor, packed: Storage, shift: UnsafePointer<Float>?, into y: Tensor) {
        let k = g.patch, cout = g.cout, pixels = g.pixels, panel = PackedWeights.panel
        let row = Int(ipiqa_bf16_row(Int32(k)))
        let (rowBlocks, colBlocks) = FusedConvPartition.blocks(pixels: pixels, k: k, cout: cout, workers: Threading.workers)
        let panelsPerBlock = ((cout + panel - 1) / panel + colBlocks - 1) / colBlocks
        let xp = input.pointer, yp = y.pointer
        withExtendedLifetime((input, packed, y)) {
            let p16 = UnsafeRawPointer(packed.pointer).assumingMemoryBound(to: UInt16.self)
            parallelTasks(rowBlocks * colBlocks) { item in
                let rb = item / colBlocks, cb = item % colBlocks
                let p0 = pixels * rb / rowBlocks, p1 = pixels * (rb + 1) / rowBlocks
                let c0 = cb * panelsPerBlock * panel, c1 = min(cout, c0 + panelsPerBlock * panel)
                if p0 >= p1 || c0 >= c1 { return }
                let a = Storage(uninitializedCount: ((p1 - p0) * row + 1) / 2)
                let a16 = UnsafeMutableRawPointer(a.pointer).bindMemory(to: UInt16.self, capacity: (p1 - p0) * row)
                if g.isPointwise {
                    ipiqa_convert_bf16(xp + p0 * k, Int32(p1 - p0), Int32(k), Int32(k), a16)
                } else {
                    ipiqa_im2col_bf16(xp, Int32(g.h), Int32(g.w), Int32(g.cin), Int32(g.kh), Int32(g.kw), Int32(g.stride),
                                      Int32(g.padding), Int32(g.outH), Int32(g.outW), p0, p1, a16)
                }
                var e = ipiqa_epilogue(scale: nil, shift: shift.map { $0 + c0 }, residual: nil, ldr: 0, relu: 0)
                withUnsafePointer(to: &e) { ep in
                    ipiqa_gemm_bf16(Int32(p1 - p0), Int32(c1 - c0), Int32(k), a16, p16 + c0 * row, yp + p0 * cout + c0,
                                    Int32(cout), shift == nil ? nil : ep)
                }
                withExtendedLifetime(a) {}
            }
        }
    }

    /// `(dX, dW)`, each only when asked for.
    static func backward(_ g: ConvGeometry, x: Tensor, w: Tensor, dy: Tensor, needX: Bool, needW: Bool) -> (Tensor?, Tensor?) {
        let dw = needW ? weightGradient(g, x: x, dy: dy) : nil
        guard needX else { return (nil, dw) }
        if g.isPointwise {
            let dx = Tensor(uninitialized: x.shape)
            trainingGEMM(.bf16, m: g.pixels, n: g.cin, k: g.cout, a: dy.pointer, b: w.pointer, c: dx.pointer)
            return (dx, dw)
        }
        if let t = g.dataGradientGeometry {
            return (transposedConvolution(t, weight: w, dy: dy, shape: x.shape), dw)
        }
        let dx = Tensor(zeros: x.shape)  // col2im accumulates
        let dcols = Storage(uninitializedCount: g.tileRows * g.outW * g.patch)
        for tile in g.tiles() {
            let m = tile.count * g.outW, p0 = tile.lowerBound * g.outW
            trainingGEMM(.bf16, m: m, n: g.patch, k: g.cout, a: dy.pointer + p0 * g.cout, b: w.pointer, c: dcols.pointer)
            g.col2im(dcols.pointer, into: dx.pointer, rows: tile)
        }
        return (dx, dw)
    }

    /// `dX = conv(dY, W')` of a stride-1 convolution (`t` = its ``ConvGeometry/dataGradientGeometry``), with
    /// `W'[ci, i, j, co] = W[co, kh−1−i, kw−1−j, ci]` packed as bf16 straight from `W` (`ipiqa_pack_bf16_flipped`, the
    /// input-channel panels split over the workers), on the blocks of ``convolve(_:input:packed:shift:into:)``.
    static func transposedConvolution(_ t: ConvGeometry, weight w: Tensor, dy: Tensor, shape: [Int]) -> Tensor {
        let cin = t.cout, panels = (cin + PackedWeights.panel - 1) / PackedWeights.panel
        let halves = ipiqa_packed_count_bf16(Int32(cin), Int32(t.patch))
        let packed = Storage(uninitializedCount: (halves + 1) / 2)
        let p16 = UnsafeMutableRawPointer(packed.pointer).bindMemory(to: UInt16.self, capacity: halves)
        let (kh, kw, cout, wp) = (Int32(t.kh), Int32(t.kw), Int32(t.cin), w.pointer)
        let parts = Threading.isInsideParallelRegion ? 1 : min(panels, 2 * Threading.workers)
        withExtendedLifetime(w) {
            parallelTasks(parts) { q in
                ipiqa_pack_bf16_flipped(wp, cout, kh, kw, Int32(cin), Int32(panels * q / parts), Int32(panels * (q + 1) / parts), p16)
            }
        }
        let dx = Tensor(uninitialized: shape)
        convolve(t, input: dy, packed: packed, shift: nil, into: dx)
        return dx
    }

    /// `dW = dYᵀ · im2col(x)` in `W`'s shape. Pointwise: one product over all pixels. Input channels a multiple of 32:
    /// gathered straight from `x` (``directWeightGradient(_:x:dy:into:)``). Otherwise (the 3-channel stem): shares of
    /// the pixels per worker with im2col tiles of ≥ 512 pixels (one k-block of the kernel), partials summed in fp32.
    static func weightGradient(_ g: ConvGeometry, x: Tensor, dy: Tensor) -> Tensor {
        let dw = Tensor(uninitialized: [g.cout, g.kh, g.kw, g.cin])
        let pixels = g.pixels, patch = g.patch, cout = g.cout
        if g.isPointwise {
            trainingGEMM(.bf16, transA: true, m: cout, n: patch, k: pixels, a: dy.pointer, b: x.pointer, c: dw.pointer)
            return dw
        }
        if directWeightGradient(g, x: x, dy: dy, into: dw) { return dw }
        let workers = Threading.isInsideParallelRegion ? 1 : max(1, min(Threading.workers, pixels / 512))
        let tilePixels = max(512, min(4096, (1 << 21) / max(1, patch)))
        pixelShareWeightGradient(g, x: x, dy: dy, into: dw, workers: workers, tilePixels: tilePixels) { a, b, k, c, accumulate in
            // One worker: let the product itself use every worker; several: each runs its own serially.
            if workers == 1 {
                trainingGEMM(.bf16, transA: true, m: cout, n: patch, k: k, a: a, lda: cout, b: b, ldb: patch,
                             accumulate: accumulate, c: c, ldc: patch)
            } else {
                gemmBF16Serial(true, false, cout, patch, k, a, cout, b, patch, c, patch, accumulate)
            }
        }
        return dw
    }

    /// `dW` gathered straight from `x` into the kernel's packed bf16 panels (`ipiqa_conv_wgrad_bf16`: no im2col, no
    /// partial sums): the patch columns `(i, j, c)` are cut into tasks of whole 32-column panels (about 8 per task, a
    /// multiple of the workers in count), which the workers take as they finish, each writing its own columns of `dW`.
    /// False (nothing usable written) where the input channels are not a multiple of 32 or without AVX-512 BF16.
    static func directWeightGradient(_ g: ConvGeometry, x: Tensor, dy: Tensor, into dw: Tensor) -> Bool {
        guard g.cin % 32 == 0, g.pixels <= Int(Int32.max), TrainingPrecision.hasBF16Kernels else { return false }
        let panels = g.patch / 32, workers = Threading.isInsideParallelRegion ? 1 : Threading.workers
        let tasks = min(panels, workers * max(1, panels / (8 * workers)))
        let failed = UnsafeMutableBufferPointer<Bool>.allocate(capacity: tasks)
        failed.initialize(repeating: false)
        defer { failed.deallocate() }
        let xp = x.pointer, dyp = dy.pointer, dwp = dw.pointer
        withExtendedLifetime((x, dy, dw)) {
            parallelTasks(tasks) { q in
                let col0 = panels * q / tasks * 32, col1 = panels * (q + 1) / tasks * 32
                if col0 >= col1 { return }
                failed[q] = ipiqa_conv_wgrad_bf16(xp, Int32(g.h), Int32(g.w), Int32(g.cin), Int32(g.kh), Int32(g.kw),
                                                  Int32(g.stride), Int32(g.padding), Int32(g.outH), Int32(g.outW), g.pixels,
                                                  dyp, Int32(g.cout), Int32(col0), Int32(col1), dwp) == 0
            }
        }
        return !failed.contains(true)
    }
}
