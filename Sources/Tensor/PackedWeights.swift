import CKernels
import Foundation

/// A weight matrix `W` `[n, k]` (a convolution's `[Cout, kh, kw, Cin]` flattened to `[Cout, kh·kw·Cin]`) repacked once
/// for the engine's own AVX-512 GEMM microkernels (`Sources/CKernels/gemm.c`), in fp32 or bf16:
///
///     fp32: P[p][kk][j] = W[32p + j][kk]                          (panels of 32 output channels, k-major)
///     bf16: P[p][kk/2][j][kk%2] = bf16_rne(W[32p + j][kk])         (pairs along k for vdpbf16ps)
///     bf16x3: the bf16 layout of the rows [W_hi | W_hi | W_lo]          (k' = 3·⌈k/2⌉·2; see ``Precision/bf16x3``)
///
/// Products then run as `C = A · Wᵀ` with no per-call packing of `W`. Packing needs AVX-512F (bf16: AVX-512 BF16);
/// ``init(weight:precision:)`` returns nil on other CPUs and callers fall back to OpenBLAS.
///
/// ```swift
/// let packed = PackedWeights(weight: conv.weight.value, precision: .bf16)
/// let y = conv2dFused(x, weight: conv.weight.value, packed: packed, epilogue: ConvEpilogue())
/// ```
public final class PackedWeights: @unchecked Sendable {
    public let precision: Precision
    /// Output channels (rows of `W`).
    public let n: Int
    /// Inner dimension (columns of `W`).
    public let k: Int
    /// The storage `W` was packed from (kept to detect a replaced weight tensor).
    public let source: Storage
    let storage: Storage

    /// Whether this CPU runs the packed kernels of `precision`.
    public static func isSupported(_ precision: Precision) -> Bool {
        precision == .fp32 ? ipiqa_has_avx512f() != 0 : ipiqa_has_avx512bf16() != 0  // bf16x3 runs on the bf16 kernel
    }

    /// Packs `weight` (rank ≥ 2; the leading dimension is `n`, the rest flatten to `k`); nil where unsupported.
    public init?(weight: Tensor, precision: Precision) {
        guard weight.rank >= 2, Self.isSupported(precision) else { return nil }
        self.precision = precision
        n = weight.shape[0]
        k = weight.count / max(n, 1)
        source = weight.storage
        let (n32, k32) = (Int32(n), Int32(k))
        switch precision {
        case .fp32:
            storage = Storage(uninitializedCount: ipiqa_packed_count_f32(n32, k32))
            let (wp, pp, n, k) = (weight.pointer, storage.pointer, n, k)
            Self.inParallel(panels: (n + Self.panel - 1) / Self.panel, floats: n * k) { p0, p1 in
                ipiqa_pack_f32(wp + p0 * Self.panel * k, Int32(min(n, p1 * Self.panel) - p0 * Self.panel), Int32(k),
                               Int32(k), pp + p0 * Self.panel * k)
            }
        case .bf16:
            let halves = ipiqa_packed_count_bf16(n32, k32)
            storage = Storage(uninitializedCount: (halves + 1) / 2)
            UnsafeMutableRawPointer(storage.pointer).withMemoryRebound(to: UInt16.self, capacity: halves) {
                ipiqa_pack_bf16(weight.pointer, n32, k32, k32, $0)
            }
        case .bf16x3:
            let halves = ipiqa_packed_count_bf16x3(n32, k32)
            storage = Storage(uninitializedCount: (halves + 1) / 2)
            UnsafeMutableRawPointer(storage.pointer).withMemoryRebound(to: UInt16.self, capacity: halves) {
                ipiqa_pack_bf16x3(weight.pointer, n32, k32, k32, $0)
            }
        }
    }

    /// How a fp32 weight is laid out when packing with ``init(fp32Of:layout:)``.
    public enum Layout: Sendable {
        /// `weight` is `[k, n]` (any rank ≥ 2: the first dimension is `k`); packs its transpose. For `dX = dY · W`
        /// of a 1×1 convolution (`W` `[Cout, Cin]`: n = Cin, k = Cout) or a linear layer.
        case transposed
        /// `weight` is a convolution's `[Cout, kh, kw, Cin]`; packs `W'[ci, i, j, co] = W[co, kh−1−i, kw−1−j, ci]`
        /// (n = Cin, k = kh·kw·Cout), the weight of the transposed convolution that gives a stride-1 convolution's
        /// input gradient.
        case flippedTransposed
    }

    /// Packs a derived fp32 weight (see ``Layout``) straight from `weight`, without materialising it; nil without
    /// AVX-512F.
    public init?(fp32Of weight: Tensor, layout: Layout) {
        guard weight.rank >= 2, Self.isSupported(.fp32) else { return nil }
        precision = .fp32
        source = weight.storage
        switch layout {
        case .transposed:
            k = weight.shape[0]
            n = weight.count / max(k, 1)
            storage = Storage(uninitializedCount: ipiqa_packed_count_f32(Int32(n), Int32(k)))
            let (wp, pp, n, k) = (weight.pointer, storage.pointer, n, k)
            Self.inParallel(panels: (n + Self.panel - 1) / Self.panel, floats: n * k) { p0, p1 in
                ipiqa_pack_f32_t(wp + p0 * Self.panel, Int32(min(n, p1 * Self.panel) - p0 * Self.panel), Int32(k),
                                 Int32(n), pp + p0 * Self.panel * k)
            }
        case .flippedTransposed:
            guard weight.rank == 4 else { return nil }
            let (cout, kh, kw, cin) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
            n = cin
            k = kh * kw * cout
            storage = Storage(uninitializedCount: ipiqa_packed_count_f32(Int32(n), Int32(k)))
            let (wp, pp) = (weight.pointer, storage.pointer)
            Self.inParallel(panels: (cin + Self.panel - 1) / Self.panel, floats: n * k) { p0, p1 in
                ipiqa_pack_f32_flipped(wp, Int32(cout), Int32(kh), Int32(kw), Int32(cin), Int32(p0), Int32(p1), pp)
            }
        }
    }

    /// Runs `body(firstPanel, endPanel)` over `0..<panels` in contiguous ranges, in parallel for weights of at least
    /// 256 k floats (packing is one pass over memory; done serially it leaves the other cores idle).
    private static func inParallel(panels: Int, floats: Int, _ body: (Int, Int) -> Void) {
        let parts = floats >= 1 << 18 ? min(panels, 2 * Threading.workers) : 1
        if parts <= 1 { body(0, panels); return }
        parallelTasks(parts) { t in
            let p0 = panels * t / parts, p1 = panels * (t + 1) / parts
            if p0 < p1 { body(p0, p1) }
        }
    }

    /// Output channels per packed panel (column blocks must start at a multiple of this).
    public static let panel = Int(IPIQA_NR)

    /// `C[m × cols]` (row stride `ldc`, `c` pointing at column `columns.lowerBound`) `= A[m × k] · W[columns]ᵀ` on the
    /// calling thread; `A` (fp32, row stride `lda`) is converted to bf16 first for `.bf16`. `columns.lowerBound` must be
    /// a multiple of ``panel``. `epilogue` (addressed from the same origin as `c`) is applied to each element before
    /// it is stored.
    func gemm(m: Int, a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int, columns: Range<Int>? = nil,
              epilogue: UnsafePointer<ipiqa_epilogue>? = nil) {
        let cols = columns ?? 0..<n
        let firstPanel = cols.lowerBound / Self.panel
        switch precision {
        case .fp32:
            ipiqa_gemm_f32(Int32(m), Int32(cols.count), Int32(k), a, Int32(lda), storage.pointer + firstPanel * Self.panel * k,
                           c, Int32(ldc), epilogue)
        case .bf16:
            let row = Int(ipiqa_bf16_row(Int32(k)))
            let scratch = Storage(uninitializedCount: (m * row + 1) / 2)
            UnsafeMutableRawPointer(scratch.pointer).withMemoryRebound(to: UInt16.self, capacity: m * row) { ab in
                ipiqa_convert_bf16(a, Int32(m), Int32(k), Int32(lda), ab)
                UnsafeMutableRawPointer(storage.pointer).withMemoryRebound(to: UInt16.self, capacity: 1) { pb in
                    ipiqa_gemm_bf16(Int32(m), Int32(cols.count), Int32(k), ab, pb + firstPanel * Self.panel * row, c, Int32(ldc),
                                    epilogue)
                }
            }
        case .bf16x3:
            // One bf16 GEMM over the three concatenated segments [hi | lo | hi] · [hi | hi | lo].
            let row = 3 * Int(ipiqa_bf16_row(Int32(k)))
            let scratch = Storage(uninitializedCount: (m * row + 1) / 2)
            UnsafeMutableRawPointer(scratch.pointer).withMemoryRebound(to: UInt16.self, capacity: m * row) { ab in
                ipiqa_convert_bf16x3(a, Int32(m), Int32(k), Int32(lda), ab)
                UnsafeMutableRawPointer(storage.pointer).withMemoryRebound(to: UInt16.self, capacity: 1) { pb in
                    ipiqa_gemm_bf16(Int32(m), Int32(cols.count), Int32(row), ab, pb + firstPanel * Self.panel * row, c,
                                    Int32(ldc), epilogue)
                }
            }
        }
    }

    /// ``gemm(m:a:lda:c:ldc:columns:epilogue:)`` for a bf16 weight with `A` already in bf16 rows of
    /// `ipiqa_bf16_row(k)` values (e.g. from `ipiqa_im2col_bf16`).
    func gemm(m: Int, bf16Rows a: UnsafePointer<UInt16>, c: UnsafeMutablePointer<Float>, ldc: Int, columns: Range<Int>,
              epilogue: UnsafePointer<ipiqa_epilogue>?) {
        precondition(precision == .bf16, "PackedWeights.gemm(bf16Rows:) needs bf16 weights")
        let row = Int(ipiqa_bf16_row(Int32(k))), firstPanel = columns.lowerBound / Self.panel
        UnsafeMutableRawPointer(storage.pointer).withMemoryRebound(to: UInt16.self, capacity: 1) { pb in
            ipiqa_gemm_bf16(Int32(m), Int32(columns.count), Int32(k), a, pb + firstPanel * Self.panel * row, c, Int32(ldc),
                            epilogue)
        }
    }

    /// The convolution of geometry `g` (`W` = this packed fp32 weight) for output pixels `pixels` and channels
    /// `columns` straight from the NHWC input `x` (no im2col), on the calling thread: `y` points at output
    /// `(pixels.lowerBound, columns.lowerBound)` with row stride `ldy`; `epilogue` as in ``gemm(m:a:lda:c:ldc:columns:epilogue:)``.
    func convolve(_ g: ConvGeometry, x: UnsafePointer<Float>, pixels: Range<Int>, columns: Range<Int>,
                  y: UnsafeMutablePointer<Float>, ldy: Int, epilogue: UnsafePointer<ipiqa_epilogue>?) {
        ipiqa_conv_f32(x, Int32(g.h), Int32(g.w), Int32(g.cin), Int32(g.kh), Int32(g.kw), Int32(g.stride), Int32(g.padding),
                       Int32(g.outH), Int32(g.outW), pixels.lowerBound, pixels.upperBound, storage.pointer,
                       Int32(columns.lowerBound), Int32(columns.upperBound), y, Int32(ldy), epilogue)
    }

    /// `C = A · Wᵀ` for a whole `[m, k]` matrix (any leading shape, last dimension `k`), split over the workers like
    /// a convolution's output (``FusedConvPartition``: few rows → the output channels are split instead). When
    /// `bias` (`[n]`) is given it is added to every row.
    public func matmul(_ a: Tensor, bias: Tensor? = nil) -> Tensor {
        let m = a.count / max(k, 1)
        checkShape(a.shape.last == k || (a.rank >= 2 && m * k == a.count), "PackedWeights.matmul", a.shape, [n, k])
        if let bias { checkShape(bias.count == n, "PackedWeights.matmul bias", bias.shape, [n, k]) }
        let out = Tensor(uninitialized: Array(a.shape.dropLast()) + [n])
        let ap = a.pointer, cp = out.pointer, bp = bias?.pointer
        let (rowBlocks, colBlocks) = FusedConvPartition.blocks(pixels: m, k: k, cout: n, workers: Threading.workers)
        let colsPerBlock = ((n + colBlocks - 1) / colBlocks + Self.panel - 1) / Self.panel * Self.panel
        withExtendedLifetime((a, bias)) {
            parallelTasks(rowBlocks * colBlocks) { item in
                let rb = item / colBlocks, cb = item % colBlocks
                let lo = m * rb / rowBlocks, hi = m * (rb + 1) / rowBlocks
                let c0 = cb * colsPerBlock, c1 = min(self.n, c0 + colsPerBlock)
                if lo >= hi || c0 >= c1 { return }
                let c = cp + lo * self.n + c0
                self.gemm(m: hi - lo, a: ap + lo * self.k, lda: self.k, c: c, ldc: self.n, columns: c0..<c1)
                if let bp {
                    for r in 0..<(hi - lo) {
                        let row = c + r * self.n
                        for j in 0..<(c1 - c0) { row[j] += bp[c0 + j] }
                    }
                }
            }
        }
        return out
    }
}

/// A process-wide counter of parameter writes: bumped by optimizer steps, `loadStateDict`, ``Tensor/assign(_:)`` and
/// ``Tensor/fill(_:)``. Caches derived from parameters (packed weights) compare it to decide whether to rebuild.
/// Code that writes parameters through raw pointers must call ``bump()`` itself.
public enum ParameterGeneration {
    nonisolated(unsafe) private static var value = 0
    private static let lock = NSLock()

    public static var current: Int { lock.lock(); defer { lock.unlock() }; return value }

    public static func bump() { lock.lock(); value &+= 1; lock.unlock() }
}
