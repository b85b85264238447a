import CKernels
import Foundation

/// A matrix product of a training op in the run's ``TrainingPrecision``:
///
///     C = op(A) · op(B)  (+ C when accumulate)        op(A) m×k, op(B) k×n, row-major, strides as in ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
///
/// `.fp32` is OpenBLAS sgemm; `.bf16` rounds every input to bf16 (nearest even) and accumulates in fp32 on the engine's
/// own kernel (`ipiqa_gemm_train_bf16`, Sources/CKernels/gemm_train16.c). Large bf16 products are split over the
/// workers: along the inner dimension when it dominates (weight gradients: `k` = pixels; each worker sums into its own
/// partial, added at the end), else along the rows or 32-column panels of `C`.
///
/// ```swift
/// trainingGEMM(.bf16, transA: true, m: cout, n: cin, k: pixels, a: dy, b: x, c: dw)   // dW = dYᵀ·X
/// ```
public func trainingGEMM(_ precision: TrainingPrecision, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                         a: UnsafePointer<Float>, lda: Int? = nil, b: UnsafePointer<Float>, ldb: Int? = nil,
                         accumulate: Bool = false, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    let la = lda ?? (transA ? m : k), lb = ldb ?? (transB ? k : n), lc = ldc ?? n
    guard precision == .bf16, TrainingPrecision.hasBF16Kernels else {
        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: la, b: b, ldb: lb, beta: accumulate ? 1 : 0,
              c: c, ldc: lc)
        return
    }
    if m == 0 || n == 0 { return }
    let workers = Threading.workers
    if workers == 1 || 2 * m * n * k < GEMMTuning.parallelFLOPs || Threading.isInsideParallelRegion {
        gemmBF16Serial(transA, transB, m, n, k, a, la, b, lb, c, lc, accumulate)
        return
    }
    if k >= 2 * max(m, n) && k / workers >= 512 {
        // Split the inner dimension: worker 0 into C, the others into partials summed at the end.
        let partials = (1..<workers).map { _ in Storage(uninitializedCount: m * n) }
        withExtendedLifetime(partials) {
            parallelTasks(workers) { p in
                let lo = k * p / workers, hi = k * (p + 1) / workers
                let ap = transA ? a + lo * la : a + lo, bp = transB ? b + lo : b + lo * lb
                if p == 0 { gemmBF16Serial(transA, transB, m, n, hi - lo, ap, la, bp, lb, c, lc, accumulate) }
                else { gemmBF16Serial(transA, transB, m, n, hi - lo, ap, la, bp, lb, partials[p - 1].pointer, n, false) }
            }
            let parts = partials.map { UncheckedSendable($0.pointer) }
            let cp = UncheckedSendable(c)
            parallelChunks(m, costPerItem: n * workers) { rows in
                for i in rows {
                    for q in parts { ipiqa_add(cp.value + i * lc, q.value + i * n, n, cp.value + i * lc) }
                }
            }
        }
        return
    }
    let alongRows = m >= n
    let granule = alongRows ? 12 : Int(IPIQA_NR)
    let extent = alongRows ? m : n
    let parts = min(workers, max(1, extent / granule))
    parallelTasks(parts) { p in
        let lo = extent * p / parts / granule * granule
        let hi = p == parts - 1 ? extent : extent * (p + 1) / parts / granule * granule
        if lo >= hi { return }
        if alongRows {
            gemmBF16Serial(transA, transB, hi - lo, n, k, transA ? a + lo : a + lo * la, la, b, lb, c + lo * lc, lc, accumulate)
        } else {
            gemmBF16Serial(transA, transB, m, hi - lo, k, a, la, transB ? b + lo * lb : b + lo, lb, c + lo, lc, accumulate)
        }
    }
}

/// One single-threaded bf16 training GEMM (see ``trainingGEMM(_:transA:transB:m:n:k:a:lda:b:ldb:accumulate:c:ldc:)``).
@inline(__always)
func gemmBF16Serial(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                    _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    let done = ipiqa_gemm_train_bf16(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda), b,
                                     Int32(ldb), c, Int32(ldc), accumulate ? 1 : 0)
    if done == 0 {  // no AVX-512 BF16 or out of memory for the packing buffers: the fp32 product
        sgemmSerial(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                    beta: accumulate ? 1 : 0, c: c, ldc: ldc)
    }
}
