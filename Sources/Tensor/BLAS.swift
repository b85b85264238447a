import CBLAS

/// Row-major single-precision GEMM: `C = alpha · op(A) · op(B) + beta · C`, through OpenBLAS.
///
/// `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`; `lda`, `ldb`, `ldc` are the row strides of the
/// matrices as stored (defaults: packed). Products of at least ``GEMMTuning/parallelFLOPs`` are split into one block
/// of rows (or, for few rows, of columns) per worker, each a single-threaded OpenBLAS call (see ``Threading``).
@inline(__always)
public func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
    b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    if m == 0 || n == 0 { return }
    let la = lda ?? (transA ? m : k)
    let lb = ldb ?? (transB ? k : n)
    let lc = ldc ?? n
    if k == 0 {
        if beta == 0 { for i in 0..<m { (c + i * lc).update(repeating: 0, count: n) } }
        else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * lc + j] *= beta } } }
        return
    }
    let workers = Threading.workers
    let flops = 2 * m * n * k
    if workers == 1 || flops < GEMMTuning.parallelFLOPs || Threading.isInsideParallelRegion {
        sgemmSerial(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: la, b: b, ldb: lb,
                    beta: beta, c: c, ldc: lc)
        return
    }
    // Split the rows when each worker still gets a tall block; otherwise split the columns.
    let alongRows = m >= GEMMTuning.minimumRowsPerBlock * workers || m >= n
    let extent = alongRows ? m : n
    let parts = min(workers, max(1, extent / GEMMTuning.granule))
    parallelTasks(parts) { p in
        let lo = extent * p / parts / GEMMTuning.granule * GEMMTuning.granule
        let hi = p == parts - 1 ? extent : extent * (p + 1) / parts / GEMMTuning.granule * GEMMTuning.granule
        if lo >= hi { return }
        if alongRows {
            sgemmSerial(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                        a: transA ? a + lo : a + lo * la, lda: la, b: b, ldb: lb, beta: beta, c: c + lo * lc, ldc: lc)
        } else {
            sgemmSerial(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: la,
                        b: transB ? b + lo * lb : b + lo, ldb: lb, beta: beta, c: c + lo, ldc: lc)
        }
    }
}

/// One single-threaded OpenBLAS call (explicit strides).
@inline(__always)
public func sgemmSerial(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    _ = Threading.workers  // makes sure OpenBLAS was switched to one thread
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Tuning constants of the GEMM wrapper.
public enum GEMMTuning {
    /// Products below this many FLOPs run on the calling thread (fan-out costs ~10–20 µs).
    public static let parallelFLOPs = 4_000_000
    /// Block boundaries are multiples of this (OpenBLAS's SkylakeX kernel works on 16-row / 16-column panels).
    public static let granule = 16
    /// A row split needs at least this many rows per worker (else, with fewer rows than columns, columns are split).
    public static let minimumRowsPerBlock = 128
}
