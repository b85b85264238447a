import CKernels
import Foundation

/// What a fused inference convolution applies to each output element before storing it (per output channel `c`):
///
///     y = max?( conv(x, W)[p, c] · scale[c] + shift[c] + residual[p, c], 0 )
///
/// Every part is optional (`scale` nil = 1, `shift` nil = 0, `residual` nil = 0, `relu` false = no clamp). An eval-mode
/// batch norm folds into `scale = γ/√(σ²+ε)`, `shift = β − μ·scale` (+ `scale · bias` for a convolution bias).
///
/// ```swift
/// let e = ConvEpilogue(scale: a, shift: b, residual: identity, relu: true)   // a ResNet block's last conv + BN + add + ReLU
/// ```
public struct ConvEpilogue: @unchecked Sendable {
    public var scale: Tensor?
    public var shift: Tensor?
    public var residual: Tensor?
    public var relu: Bool

    public init(scale: Tensor? = nil, shift: Tensor? = nil, residual: Tensor? = nil, relu: Bool = false) {
        self.scale = scale; self.shift = shift; self.residual = residual; self.relu = relu
    }
}

/// Tuning of ``conv2dFused(_:weight:stride:padding:epilogue:)``.
public enum FusedConvTuning {
    /// Target floats of one block's im2col rows plus output rows (`rows · (kh·kw·Cin + Cout)`): 2^20 floats = 4 MiB,
    /// so a block's output is still in cache when the epilogue rewrites it, while OpenBLAS's per-call weight packing
    /// stays small next to the block's GEMM. Measured (RN50 224, batch 8, process CPU ms): 2^18 → 882, 2^20 → 826,
    /// 2^22 → 906. Override with the environment variable IPIQA_FUSED_BLOCK_FLOATS.
    nonisolated(unsafe) public static var blockFloats: Int = {
        if let s = ProcessInfo.processInfo.environment["IPIQA_FUSED_BLOCK_FLOATS"], let v = Int(s), v > 0 { return v }
        return 1 << 20
    }()

    /// Whether fp32 convolutions with a kernel larger than 1×1 (and ≥ 16 input channels) run on the direct kernel,
    /// which reads the input through per-pixel row pointers instead of an im2col copy (`ipiqa_conv_f32`). Default on;
    /// `IPIQA_CONV_IM2COL=1` switches back to im2col + GEMM (for comparisons).
    nonisolated(unsafe) public static var direct: Bool = ProcessInfo.processInfo.environment["IPIQA_CONV_IM2COL"] != "1"
}

/// Inference-only convolution (no autodiff) with a fused per-channel epilogue (``ConvEpilogue``): `x` `[N, H, W, Cin]`,
/// `w` `[Cout, kh, kw, Cin]` → `[N, Ho, Wo, Cout]`, same geometry and zero padding as
/// ``conv2d(_:_:bias:stride:padding:)``.
///
/// The output pixels are cut into blocks (and, when there are too few pixels to keep every worker busy, the output
/// channels too); each block runs on one worker from start to end — im2col into a private buffer (not for 1×1 stride-1
/// convolutions), a single-threaded GEMM, then the epilogue while the block is still in cache. No barrier between
/// the steps, no second pass over the output.
///
/// ```swift
/// let y = conv2dFused(x, weight: w, stride: 1, padding: 1, epilogue: ConvEpilogue(scale: a, shift: b, relu: true))
/// ```
public func conv2dFused(_ x: Tensor, weight w: Tensor, packed: PackedWeights? = nil, stride: Int = 1, padding: Int = 0,
                        epilogue: ConvEpilogue) -> Tensor {
    conv2dFused(x, weight: w, packed: packed, stride: stride, padding: padding, epilogue: epilogue, into: nil)
}

/// ``conv2dFused(_:weight:packed:stride:padding:epilogue:)`` writing into `output` (fresh when nil).
func conv2dFused(_ x: Tensor, weight w: Tensor, packed: PackedWeights?, stride: Int, padding: Int,
                 epilogue: ConvEpilogue, into output: Tensor?) -> Tensor {
    conv2dFused(x, weightShape: w.shape, weight: w, packed: packed, stride: stride, padding: padding, epilogue: epilogue,
                into: output)
}

/// The fused convolution for a weight of shape `weightShape` given as a tensor, as packed weights, or both (`weight` is
/// needed where there is no `packed`: OpenBLAS fp32, or bf16 packing per call).
func conv2dFused(_ x: Tensor, weightShape wShape: [Int], weight w: Tensor?, packed: PackedWeights?, stride: Int,
                 padding: Int, epilogue: ConvEpilogue, into output: Tensor?) -> Tensor {
    checkShape(x.rank == 4 && wShape.count == 4 && x.shape[3] == wShape[3], "conv2dFused", x.shape, wShape)
    checkShape(stride >= 1 && padding >= 0, "conv2dFused (stride \(stride), padding \(padding))", x.shape, wShape)
    checkShape(w != nil || packed != nil, "conv2dFused (needs the weight or its packed form)", x.shape, wShape)
    let g = ConvGeometry(input: x.shape, weight: wShape, stride: stride, padding: padding)
    checkShape(g.outH >= 1 && g.outW >= 1, "conv2dFused (kernel larger than padded input)", x.shape, wShape)
    for t in [epilogue.scale, epilogue.shift].compactMap({ $0 }) {
        checkShape(t.count == g.cout, "conv2dFused epilogue (per-channel vector)", t.shape, wShape)
    }
    let y = output ?? Tensor(uninitialized: [g.n, g.outH, g.outW, g.cout])
    checkShape(y.shape == [g.n, g.outH, g.outW, g.cout], "conv2dFused output", y.shape, wShape)
    if let r = epilogue.residual { checkShape(r.shape == y.shape, "conv2dFused residual", r.shape, y.shape) }

    let pixels = g.pixels, k = g.patch, cout = g.cout
    let (rowBlocks, colBlocks) = FusedConvPartition.blocks(pixels: pixels, k: k, cout: cout, workers: Threading.workers)
    // Balanced row blocks (sizes differ by at most one row); column blocks start on a packed panel boundary.
    let colsPerBlock = ((cout + colBlocks - 1) / colBlocks + PackedWeights.panel - 1) / PackedWeights.panel * PackedWeights.panel
    // bf16 without pre-packed weights: pack for this call. Packed weights must match this weight's shape.
    let kernel = packed ?? (Precision.current != .fp32 ? w.flatMap { PackedWeights(weight: $0, precision: Precision.current) } : nil)
    if let p = kernel { checkShape(p.n == g.cout && p.k == g.patch, "conv2dFused packed weights", [p.n, p.k], wShape) }
    // Without a kernel the weight tensor is there (checked above: packed == nil → w != nil).
    let xp = x.pointer, yp = y.pointer, wp = w?.pointer
    let sp = epilogue.scale?.pointer, hp = epilogue.shift?.pointer, rp = epilogue.residual?.pointer
    let relu = epilogue.relu
    let pointwise = g.isPointwise
    let blocks = rowBlocks * colBlocks
    // Column blocks share one im2col of all rows (written in parallel first) instead of each redoing it; not needed
    // where each block reads the input itself (1×1, the fp32 direct kernel, or one column block).
    let ownsGather = pointwise || colBlocks == 1 || kernel.map { $0.convolvesDirectly(g) } == true
    let shared: Storage? = ownsGather ? nil : Storage(uninitializedCount: pixels * k)
    if let shared {
        let cp = shared.pointer
        parallelChunks(pixels, costPerItem: k) { r in g.im2col(xp, into: cp + r.lowerBound * k, pixels: r) }
    }
    // Keep the tensors alive until every block is done.
    withExtendedLifetime((x, w, epilogue, kernel, shared)) {
        parallelTasks(blocks) { item in
            let rb = item / colBlocks, cb = item % colBlocks
            let p0 = pixels * rb / rowBlocks, p1 = pixels * (rb + 1) / rowBlocks
            let c0 = cb * colsPerBlock, c1 = min(cout, c0 + colsPerBlock)
            if p0 >= p1 || c0 >= c1 { return }
            let rows = p1 - p0, cols = c1 - c0
            let out = yp + p0 * cout + c0
            if let kernel {
                kernel.convolveBlock(g, x: xp, pixels: p0..<p1, columns: c0..<c1, out: out, ldy: cout,
                                     scale: sp, shift: hp, residual: rp.map { $0 + p0 * cout + c0 }, ldr: cout, relu: relu,
                                     im2col: shared.map { $0.pointer + p0 * k })
                return
            }
            // No packed kernel (no AVX-512F): OpenBLAS on an im2col block.
            guard let wp else { return }
            let scratch: Storage?
            let a: UnsafeMutablePointer<Float>
            if pointwise {
                scratch = nil
                a = xp + p0 * k
            } else if let shared {
                scratch = nil
                a = shared.pointer + p0 * k
            } else {
                let s = Storage(uninitializedCount: rows * k)
                g.im2col(xp, into: s.pointer, pixels: p0..<p1)
                scratch = s
                a = s.pointer
            }
            sgemmSerial(transA: false, transB: true, m: rows, n: cols, k: k, a: a, lda: k, b: wp + c0 * k, ldb: k,
                        c: out, ldc: cout)
            applyEpilogue(out, rows: rows, cols: cols, ldc: cout, channel0: c0, scale: sp, shift: hp,
                          residual: rp.map { $0 + p0 * cout + c0 }, relu: relu)
            withExtendedLifetime(scratch) {}
        }
    }
    return y
}

/// Calls `body` with the kernel epilogue (nil when there is nothing to apply). `scale` and `shift` point at the block's
/// first channel, `residual` at the block's first element (row stride `ldr`).
@inline(__always)
func withEpilogue(_ scale: UnsafeMutablePointer<Float>?, _ shift: UnsafeMutablePointer<Float>?,
                  _ residual: UnsafeMutablePointer<Float>?, _ relu: Bool, ldr: Int,
                  _ body: (UnsafePointer<ipiqa_epilogue>?) -> Void) {
    if scale == nil && shift == nil && residual == nil && !relu { body(nil); return }
    var e = ipiqa_epilogue(scale: scale.map { UnsafePointer($0) }, shift: shift.map { UnsafePointer($0) },
                           residual: residual.map { UnsafePointer($0) }, ldr: Int32(ldr), relu: relu ? 1 : 0)
    body(&e)
}

/// Activations a fused convolution block reads or writes (NHWC rows of channels): fp32, or bf16 (nearest-even
/// rounding) where the only consumer is a bf16 convolution.
enum BlockData {
    case fp32(UnsafeMutablePointer<Float>)
    case bf16(UnsafeMutablePointer<UInt16>)
}

extension PackedWeights {
    /// Whether ``convolveBlock(_:x:pixels:columns:out:ldy:scale:shift:residual:ldr:relu:im2col:)`` reads geometry
    /// `g`'s input straight through the fp32 direct kernel (kernels with taps, ≥ 16 input channels), without im2col.
    func convolvesDirectly(_ g: ConvGeometry) -> Bool {
        FusedConvTuning.direct && !g.isPointwise && precision == .fp32 && ipiqa_conv_direct_supported(Int32(g.cin)) != 0
    }

    /// ``convolveBlock(_:x:pixels:columns:out:ldy:scale:shift:residual:ldr:relu:im2col:)`` where the input or the
    /// output is bf16 activations (``BlockData``; this weight must be bf16, channel counts even). A bf16 output holds
    /// the nearest-even rounding of the fp32 result, bit for bit; a bf16 input gives the same result as the fp32
    /// activations it was rounded from. A block that only feeds a bf16 convolution can so skip the fp32 round trip
    /// and the rounding of every patch value at each tap.
    func convolveBlock(_ g: ConvGeometry, input: BlockData, pixels: Range<Int>, columns: Range<Int>, output: BlockData,
                       ldy: Int, scale: UnsafeMutablePointer<Float>?, shift: UnsafeMutablePointer<Float>?,
                       residual: UnsafeMutablePointer<Float>?, ldr: Int, relu: Bool) {
        if case .fp32(let x) = input, case .fp32(let out) = output {
            convolveBlock(g, x: x, pixels: pixels, columns: columns, out: out, ldy: ldy, scale: scale, shift: shift,
                          residual: residual, ldr: ldr, relu: relu)
            return
        }
        precondition(precision == .bf16, "bf16 activations need a bf16 weight")
        let k = g.patch, rows = pixels.count, c0 = columns.lowerBound
        let row = Int(ipiqa_bf16_row(Int32(k)))
        if case .bf16(let x16) = input, !g.isPointwise,
           ipiqa_conv_bf16_direct_supported(Int32(g.cin), Int32(g.kh), Int32(g.kw)) != 0 {
            // Straight from the bf16 map: no im2col.
            withEpilogue(scale.map { $0 + c0 }, shift.map { $0 + c0 }, residual, relu, ldr: ldr) { e in
                withBF16Output(output, rows: rows, columns: columns, ldy: ldy) { weights, c, ldc, c16 in
                    ipiqa_conv_bf16_direct(x16, Int32(g.h), Int32(g.w), Int32(g.cin), Int32(g.kh), Int32(g.kw),
                                           Int32(g.stride), Int32(g.padding), Int32(g.outH), Int32(g.outW),
                                           pixels.lowerBound, pixels.upperBound, weights, Int32(columns.count), c,
                                           Int32(ldc), c16, Int32(ldy), e)
                }
            }
            return
        }
        // A in bf16 rows: the input itself (1×1 over bf16 activations), or gathered / rounded into a scratch.
        var scratch: Storage?
        let a: UnsafePointer<UInt16>
        switch input {
        case .bf16(let x16) where g.isPointwise:
            precondition(k % 2 == 0, "bf16 activations need an even channel count")
            a = UnsafePointer(x16 + pixels.lowerBound * k)
        default:
            let s16 = Storage(uninitializedCount: (rows * row + 1) / 2)
            let ab = UnsafeMutableRawPointer(s16.pointer).bindMemory(to: UInt16.self, capacity: rows * row)
            switch input {
            case .bf16(let x16):
                ipiqa_im2col_from_bf16(x16, Int32(g.h), Int32(g.w), Int32(g.cin), Int32(g.kh), Int32(g.kw), Int32(g.stride),
                                       Int32(g.padding), Int32(g.outH), Int32(g.outW), pixels.lowerBound, pixels.upperBound, ab)
            case .fp32(let x) where g.isPointwise:
                ipiqa_convert_bf16(x + pixels.lowerBound * k, Int32(rows), Int32(k), Int32(k), ab)
            case .fp32(let x):
                ipiqa_im2col_bf16(x, Int32(g.h), Int32(g.w), Int32(g.cin), Int32(g.kh), Int32(g.kw), Int32(g.stride),
                                  Int32(g.padding), Int32(g.outH), Int32(g.outW), pixels.lowerBound, pixels.upperBound, ab)
            }
            scratch = s16
            a = UnsafePointer(ab)
        }
        withEpilogue(scale.map { $0 + c0 }, shift.map { $0 + c0 }, residual, relu, ldr: ldr) { e in
            withBF16Output(output, rows: rows, columns: columns, ldy: ldy) { weights, c, ldc, c16 in
                ipiqa_gemm_bf16_out16(Int32(rows), Int32(columns.count), Int32(k), a, weights, c, Int32(ldc), c16,
                                      Int32(ldy), e)
            }
        }
        withExtendedLifetime(scratch) {}
    }

    /// Calls `body(weights, c, ldc, c16)` for a bf16 kernel writing `rows × columns` of `output`: this bf16 weight's
    /// panels from `columns.lowerBound`, and either the fp32 output (`c`, `ldc` = `ldy`, `c16` nil) or the bf16 output
    /// `c16` with `c` an fp32 scratch for the partial sums of all but the last k-block (nil with one k-block).
    private func withBF16Output(_ output: BlockData, rows: Int, columns: Range<Int>, ldy: Int,
                                _ body: (UnsafePointer<UInt16>, UnsafeMutablePointer<Float>?, Int,
                                         UnsafeMutablePointer<UInt16>?) -> Void) {
        let row = Int(ipiqa_bf16_row(Int32(k)))
        UnsafeMutableRawPointer(storage.pointer).withMemoryRebound(to: UInt16.self, capacity: 1) { pb in
            let weights = UnsafePointer(pb + columns.lowerBound / Self.panel * Self.panel * row)
            switch output {
            case .fp32(let out):
                body(weights, out, ldy, nil)
            case .bf16(let out16):
                let partials = ipiqa_bf16_k_blocks(Int32(k)) > 1 ? Storage(uninitializedCount: rows * columns.count) : nil
                body(weights, partials?.pointer, columns.count, out16)
                withExtendedLifetime(partials) {}
            }
        }
    }

    /// One block of a fused convolution with this packed weight, on the calling thread: output pixels `pixels` of
    /// geometry `g` (flattened `(n, oh, ow)`), channels `columns` (starting on a ``panel`` boundary), written to `out`
    /// (pointing at `(pixels.lowerBound, columns.lowerBound)`, row stride `ldy`). `scale`/`shift` are per channel of
    /// the whole output (nil: 1 / 0); `residual` points at the block's first element (row stride `ldr`).
    ///
    /// How the patches reach the kernel: 1×1 stride-1 convolutions read `x` as the GEMM's A; fp32 runs the direct
    /// kernel; bf16 gathers the block's patches straight into bf16 rows; otherwise the block's rows of `im2col`
    /// (when the caller shares one) or a private im2col.
    func convolveBlock(_ g: ConvGeometry, x: UnsafeMutablePointer<Float>, pixels: Range<Int>, columns: Range<Int>,
                       out: UnsafeMutablePointer<Float>, ldy: Int, scale: UnsafeMutablePointer<Float>?,
                       shift: UnsafeMutablePointer<Float>?, residual: UnsafeMutablePointer<Float>?, ldr: Int, relu: Bool,
                       im2col shared: UnsafeMutablePointer<Float>? = nil) {
        let k = g.patch, rows = pixels.count, c0 = columns.lowerBound
        let sp = scale.map { $0 + c0 }, hp = shift.map { $0 + c0 }
        if convolvesDirectly(g) {
            withEpilogue(sp, hp, residual, relu, ldr: ldr) { e in
                convolve(g, x: x, pixels: pixels, columns: columns, y: out, ldy: ldy, epilogue: e)
            }
            return
        }
        if g.isPointwise {
            withEpilogue(sp, hp, residual, relu, ldr: ldr) { e in
                gemm(m: rows, a: x + pixels.lowerBound * k, lda: k, c: out, ldc: ldy, columns: columns, epilogue: e)
            }
            return
        }
        if precision == .bf16 && shared == nil {
            // Gather the patches straight into bf16 (no fp32 im2col, no second pass).
            let row = Int(ipiqa_bf16_row(Int32(k)))
            let s16 = Storage(uninitializedCount: (rows * row + 1) / 2)
            UnsafeMutableRawPointer(s16.pointer).withMemoryRebound(to: UInt16.self, capacity: rows * row) { ab in
                ipiqa_im2col_bf16(x, Int32(g.h), Int32(g.w), Int32(g.cin), Int32(g.kh), Int32(g.kw), Int32(g.stride),
                                  Int32(g.padding), Int32(g.outH), Int32(g.outW), pixels.lowerBound, pixels.upperBound, ab)
                withEpilogue(sp, hp, residual, relu, ldr: ldr) { e in
                    gemm(m: rows, bf16Rows: ab, c: out, ldc: ldy, columns: columns, epilogue: e)
                }
            }
            return
        }
        let scratch: Storage? = shared == nil ? Storage(uninitializedCount: rows * k) : nil
        let a = shared ?? scratch!.pointer
        if let scratch { g.im2col(x, into: scratch.pointer, pixels: pixels) }
        withEpilogue(sp, hp, residual, relu, ldr: ldr) { e in
            gemm(m: rows, a: a, lda: k, c: out, ldc: ldy, columns: columns, epilogue: e)
        }
        withExtendedLifetime(scratch) {}
    }
}

/// How ``conv2dFused(_:weight:packed:stride:padding:epilogue:)`` cuts its output into blocks, one worker each.
enum FusedConvPartition {
    /// `(rowBlocks, colBlocks)` for an output of `pixels × cout` with inner dimension `k` on `workers` workers.
    ///
    /// - Few pixels (fewer than 4 register tiles of 12 rows per worker) and enough channels: one block of rows, the
    ///   channels cut into `2 × workers` blocks (whole 32-channel panels; `workers` when there are fewer than 4 panels
    ///   per worker) that share one im2col. At 224 px, batch 1, layer4 has 49 pixels: blocks of all 49 rows beat row
    ///   blocks of 16, 16, 16 and 1.
    /// - Otherwise: row blocks of at most ``FusedConvTuning/blockFloats`` floats (`rows · (k + cout)`), at least
    ///   `4 × workers` of them while each keeps ≥ 48 rows (the workers take blocks as they finish, which evens out a
    ///   worker that started late), their count a multiple of the workers and their sizes equal (±1 row). Layer3 at
    ///   224 px batch 1 (196 pixels) had been cut 64/64/64/4: one worker did 128 rows while the other did 68.
    static func blocks(pixels: Int, k: Int, cout: Int, workers: Int) -> (rows: Int, cols: Int) {
        let workers = max(1, workers)
        let maxRows = max(16, FusedConvTuning.blockFloats / max(1, k + cout))
        if workers == 1 { return ((pixels + maxRows - 1) / maxRows, 1) }
        let panels = (cout + PackedWeights.panel - 1) / PackedWeights.panel
        if pixels < workers * 48 && panels >= workers {
            return (1, panels >= 4 * workers ? 2 * workers : workers)
        }
        var rowBlocks = max(workers, (pixels + maxRows - 1) / maxRows, min(4 * workers, pixels / 48))
        rowBlocks = (rowBlocks + workers - 1) / workers * workers
        return (min(rowBlocks, max(1, pixels)), 1)
    }
}

/// The epilogue over one `rows × cols` block of the output (row stride `ldc`), channels `channel0 ..< channel0 + cols`.
@inline(__always)
func applyEpilogue(_ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ldc: Int, channel0: Int,
                   scale: UnsafeMutablePointer<Float>?, shift: UnsafeMutablePointer<Float>?,
                   residual: UnsafeMutablePointer<Float>?, relu: Bool) {
    let one = [Float](repeating: 1, count: cols), zero = [Float](repeating: 0, count: cols)
    one.withUnsafeBufferPointer { oneBuf in
        zero.withUnsafeBufferPointer { zeroBuf in
            let s = scale.map { UnsafePointer($0 + channel0) } ?? oneBuf.baseAddress!
            let h = shift.map { UnsafePointer($0 + channel0) } ?? zeroBuf.baseAddress!
            if scale == nil && shift == nil && residual == nil && !relu { return }
            for r in 0..<rows {
                let o = out + r * ldc
                if let residual {
                    let q = residual + r * ldc
                    if relu { for j in 0..<cols { o[j] = max(o[j] * s[j] + h[j] + q[j], 0) } }
                    else { for j in 0..<cols { o[j] = o[j] * s[j] + h[j] + q[j] } }
                } else {
                    if relu { for j in 0..<cols { o[j] = max(o[j] * s[j] + h[j], 0) } }
                    else { for j in 0..<cols { o[j] = o[j] * s[j] + h[j] } }
                }
            }
        }
    }
}

extension ConvGeometry {
    /// im2col of the output pixels `pixels` (flattened `(n, oh, ow)`) into `cols` `[pixels.count, patch]`, on the
    /// calling thread.
    func im2col(_ x: UnsafeMutablePointer<Float>, into cols: UnsafeMutablePointer<Float>, pixels: Range<Int>) {
        let run = kw * cin
        for q in pixels {
            let ow = q % outW, row = q / outW
            let b = row / outH, oh = row % outH
            let dst = cols + (q - pixels.lowerBound) * patch
            let iw0 = ow * stride - padding
            let jLo = max(0, -iw0), jHi = min(kw, w - iw0)
            for i in 0..<kh {
                let ih = oh * stride - padding + i
                let d = dst + i * run
                if ih < 0 || ih >= h || jHi <= jLo {
                    d.update(repeating: 0, count: run)
                    continue
                }
                if jLo > 0 { d.update(repeating: 0, count: jLo * cin) }
                d.advanced(by: jLo * cin).update(from: x + ((b * h + ih) * w + iw0 + jLo) * cin, count: (jHi - jLo) * cin)
                if jHi < kw { d.advanced(by: jHi * cin).update(repeating: 0, count: (kw - jHi) * cin) }
            }
        }
    }
}
