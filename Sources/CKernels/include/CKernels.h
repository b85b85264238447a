// Packed-weight GEMM kernels for inference: C[m×n] = A[m×k] · Wᵀ with W[n×k] packed once (fp32 or bf16).
// Own code (AVX-512 F / AVX-512 BF16 intrinsics, runtime-dispatched); see Sources/CKernels/gemm.c.
#ifndef IPIQA_CKERNELS_H
#define IPIQA_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Output channels per packed panel.
#define IPIQA_NR 32

/// 1 when the CPU runs the AVX-512F fp32 kernel, 0 otherwise.
int ipiqa_has_avx512f(void);
/// 1 when the CPU runs the AVX-512 BF16 kernel (vdpbf16ps), 0 otherwise.
int ipiqa_has_avx512bf16(void);

/// Floats needed by ipiqa_pack_f32 for an n×k weight: ceil(n/32)·32·k.
size_t ipiqa_packed_count_f32(int n, int k);
/// Packs W (n×k, row stride ldw) into panels of 32 rows, k-major: P[p][kk][j] = W[32p + j][kk] (0 past n).
void ipiqa_pack_f32(const float *w, int n, int k, int ldw, float *packed);
/// Most input channels ipiqa_conv_wgrad_f32 takes.
#define IPIQA_WGRAD_MAX_CIN 8192
/// Weight gradient of a convolution without im2col: dw [cout][kh][kw][cin] rows co0..<co1, input channels ci0..<ci1 of
/// every tap = Σ_p dy[p][co] · x_tap[p][ci] over all `pixels` output pixels (dy [pixels][cout]), overwriting that part of
/// dw. Both operands are packed in cache-sized blocks inside. cin ≤ IPIQA_WGRAD_MAX_CIN.
/// Single-threaded.
void ipiqa_conv_wgrad_f32(const float *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH,
                          int outW, long pixels, const float *dy, int cout, int co0, int co1, int ci0, int ci1,
                          float *dw);
/// The same packed layout for the n×k matrix Wᵀ, from w stored k×n (row stride ldw).
void ipiqa_pack_f32_t(const float *w, int n, int k, int ldw, float *packed);
/// Panels panel0..<panel1 of the packed n×k weight (n = cin, k = kh·kw·cout) W'[ci][i][j][co] = W[co][kh−1−i][kw−1−j][ci]
/// from W [cout][kh][kw][cin] (packed points at the whole packed matrix).
void ipiqa_pack_f32_flipped(const float *w, int cout, int kh, int kw, int cin, int panel0, int panel1, float *packed);
/// What the GEMM applies to each finished element of C before storing it (every part optional; NULL / 0 = absent):
/// c[i][j] = max?(c[i][j]·scale[j] + shift[j] + residual[i·ldr + j], 0). scale/shift/residual are addressed from the
/// same origin as C (column j, row i of this call).
typedef struct {
    const float *scale;
    const float *shift;
    const float *residual;
    int ldr;
    int relu;
} ipiqa_epilogue;

/// C (row stride ldc) = A (m×k, row stride lda) · Wᵀ from packed W, then the epilogue ep (may be NULL).
/// Single-threaded. Needs ipiqa_has_avx512f().
void ipiqa_gemm_f32(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc,
                    const ipiqa_epilogue *ep);
/// 1 when ipiqa_conv_f32 runs for this input channel count (AVX-512F, cin ≥ 16).
int ipiqa_conv_direct_supported(int cin);
/// Convolution of NHWC x ([·, h, w, cin], zero padding) with the fp32-packed weight [cout, kh, kw, cin] for output pixels
/// p0..<p1 (flattened n·outH·outW) and channels c0..<c1 (c0 a multiple of 32), without im2col; y points at output
/// (p0, c0), row stride ldy; then the epilogue ep (may be NULL, addressed from y's origin). Single-threaded.
void ipiqa_conv_f32(const float *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH, int outW,
                    long p0, long p1, const float *packed, int c0, int c1, float *y, int ldy, const ipiqa_epilogue *ep);

/// Even length of a bf16 row of k values: k rounded up to a multiple of 2.
int ipiqa_bf16_row(int k);
/// uint16 count needed by ipiqa_pack_bf16: ceil(n/32)·32·bf16_row(k).
size_t ipiqa_packed_count_bf16(int n, int k);
/// Packs W (n×k) as bf16 (round to nearest even) in pairs along k: P[p][kk/2][j][kk%2] (0 past n or k).
void ipiqa_pack_bf16(const float *w, int n, int k, int ldw, uint16_t *packed);
/// Converts A (m×k, row stride lda) to bf16 rows of bf16_row(k) values (round to nearest even, zero pad).
void ipiqa_convert_bf16(const float *a, int m, int k, int lda, uint16_t *out);
/// C (row stride ldc) = A_bf16 (m rows of bf16_row(k)) · Wᵀ with fp32 accumulation. Needs ipiqa_has_avx512bf16().
void ipiqa_gemm_bf16(int m, int n, int k, const uint16_t *a, const uint16_t *packed, float *c, int ldc,
                     const ipiqa_epilogue *ep);

/// Average pooling with kernel = stride = k (no padding, floor mode) of NHWC x [·, h, w, c] for the output rows
/// row0..<row1 (flattened image·outH + oh) into y [·, outH, outW, c]:
/// y = (Σ over the k×k window, in row-major order starting from 0) · (1/k²). Single-threaded.
void ipiqa_avgpool2d(const float *x, int h, int w, int c, int k, long row0, long row1, int outH, int outW, float *y);

// ---- Batch norm (training) and element-wise kernels (Sources/CKernels/norm.c): one chunk of channels-last rows
// (x[r·c + k]) on the calling thread; AVX-512 where the CPU has it, baseline otherwise.

/// Σ (x − pivot), Σ (x − pivot)² per channel added into sum / sumsq. scratch: 2·c floats.
void ipiqa_bn_sums(const float *x, int rows, int c, const float *pivot, double *sum, double *sumsq, float *scratch);
/// y = x·a + b (+ residual, may be NULL) (→ max(·, 0) when relu ≠ 0).
void ipiqa_bn_apply(const float *x, int rows, int c, const float *a, const float *b, const float *residual, int relu,
                    float *y);
/// Σ d and Σ d·(x − mean) per channel added into sumD / sumDX, d = dy (masked by y > 0 when y ≠ NULL); d is also
/// written to masked when that is not NULL. scratch: 2·c floats.
void ipiqa_bn_backward_sums(const float *dy, const float *x, const float *y, int rows, int c, const float *mean,
                            float *masked, double *sumD, double *sumDX, float *scratch);
/// dx = p·d + x·u + v per channel, d = dy (masked by y > 0 when y ≠ NULL).
void ipiqa_bn_backward_dx(const float *dy, const float *x, const float *y, int rows, int c, const float *p,
                          const float *u, const float *v, float *dx);
/// out = (y > 0 ? dy : 0) over n elements.
void ipiqa_relu_backward(const float *dy, const float *y, long n, float *out);
/// out = max(a + b, 0) over n elements.
void ipiqa_add_relu(const float *a, const float *b, long n, float *out);
/// out = a + b over n elements.
void ipiqa_add(const float *a, const float *b, long n, float *out);
/// One Adam/AdamW step over n parameters: decoupled ≠ 0 → p·decay first, else g + l2·p; then
/// m ← m + w1·(g − m), v ← v·b2 + w2·g², p ← p − step·m/(√v/bc2sqrt + eps).
void ipiqa_adam_update(float *p, const float *g, float *m, float *v, long n, int decoupled, float decay, float l2,
                       float w1, float b2, float w2, float step, float bc2sqrt, float eps);

/// CLIP's QuickGELU y = x·σ(1.702x) over n elements (vectorised exp: ≤ 2 ulp from expf).
void ipiqa_quick_gelu(const float *x, long n, float *y);
/// Its gradient: dx = dy·(s + 1.702·x·s·(1 − s)), s = σ(1.702x).
void ipiqa_quick_gelu_backward(const float *x, const float *dy, long n, float *dx);
/// y = eˣ over n elements (the same vectorised exp; y may be x).
void ipiqa_exp(const float *x, long n, float *y);

// ---- Fork-join pool (Sources/CKernels/pool.c) ----

/// A parallel loop body: called once per index.
typedef void (*ipiqa_task_fn)(void *ctx, long index);
/// Starts the pool once (later calls change nothing) with `threads` threads in all, the caller included; returns that
/// number.
int ipiqa_pool_start(int threads);
/// Runs fn(ctx, i) for i in 0..<count on the caller and the pool's workers and returns 1 when all are done; returns 0
/// without running anything when the pool is not started, busy with another thread's job, or called from inside a job.
int ipiqa_pool_run(long count, ipiqa_task_fn fn, void *ctx);
/// 1 on a pool worker, or on a caller while its job runs.
int ipiqa_pool_inside(void);

// ---- 16-bit inference (issue #18, inference parts): peak probes (Sources/CKernels/peak.c) and split-bf16 GEMM
// operands (Sources/CKernels/gemm_split.c) ----

/// 1 when the CPU has AVX-512 FP16 (vfmadd…ph), 0 otherwise.
int ipiqa_has_avx512fp16(void);
/// AMX-BF16 availability: 1 usable (CPU has AMX-TILE + AMX-BF16 and the OS granted the tile state), 0 the CPU lacks
/// it, −1 the CPU has it but the OS refused the tile state (arch_prctl ARCH_REQ_XCOMP_PERM).
int ipiqa_amx_status(void);
/// Peak probes: `iterations` rounds of 16 independent register multiply-adds of one kind; return the flops done.
/// Each needs its feature (ipiqa_has_avx512f / _avx512bf16 / _avx512fp16; AMX: ipiqa_amx_status() == 1, else 0).
double ipiqa_peak_fp32(long iterations);
double ipiqa_peak_bf16(long iterations);
double ipiqa_peak_fp16(long iterations);
double ipiqa_peak_amx_bf16(long iterations);

/// Split bf16 ("bf16×3"): x ≈ hi + lo with hi = bf16(x), lo = bf16(x − hi), so that
/// A·Wᵀ ≈ A_hi·W_hiᵀ + A_lo·W_hiᵀ + A_hi·W_loᵀ (relative error ≈ 2⁻¹⁶ instead of 2⁻⁸) with one bf16 GEMM over
/// k' = 3·bf16_row(k): A rows become [A_hi | A_lo | A_hi], W rows [W_hi | W_hi | W_lo].
/// uint16 count needed by ipiqa_pack_bf16x3: ceil(n/32)·32·3·bf16_row(k).
size_t ipiqa_packed_count_bf16x3(int n, int k);
/// Packs W (n×k) as [W_hi | W_hi | W_lo] rows in the ipiqa_pack_bf16 layout (k' = 3·bf16_row(k)).
void ipiqa_pack_bf16x3(const float *w, int n, int k, int ldw, uint16_t *packed);
/// Converts A (m×k) to rows [A_hi | A_lo | A_hi] of 3·bf16_row(k) values; then ipiqa_gemm_bf16(m, n, 3·bf16_row(k), …).
void ipiqa_convert_bf16x3(const float *a, int m, int k, int lda, uint16_t *out);

/// im2col of NHWC x for output pixels p0..<p1 straight into bf16 rows of bf16_row(kh·kw·cin) values (round to nearest
/// even, zero padding), the A operand of ipiqa_gemm_bf16. Needs ipiqa_has_avx512bf16().
void ipiqa_im2col_bf16(const float *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH, int outW,
                       long p0, long p1, uint16_t *out);

/// im2col of NHWC activations already in bf16 (cin even) for output pixels p0..<p1 into bf16 rows of kh·kw·cin
/// values (zero padding): the same rows ipiqa_im2col_bf16 gives for the fp32 activations they were rounded from.
void ipiqa_im2col_from_bf16(const uint16_t *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH,
                            int outW, long p0, long p1, uint16_t *out);
/// k-blocks ipiqa_gemm_bf16 splits an inner dimension of k values into (ipiqa_gemm_bf16_out16 needs a scratch when > 1).
int ipiqa_bf16_k_blocks(int k);
/// ipiqa_gemm_bf16 with the result (after the epilogue) rounded to bf16 (nearest even) and stored into c16 (row stride
/// ldc16): bit for bit the rounding of ipiqa_gemm_bf16's fp32 result. With more than one k-block the partial sums go
/// through `scratch` (m×n fp32, row stride ldscratch; may be NULL for one k-block). With c16 NULL it is ipiqa_gemm_bf16
/// into `scratch`.
void ipiqa_gemm_bf16_out16(int m, int n, int k, const uint16_t *a, const uint16_t *packed, float *scratch, int ldscratch,
                           uint16_t *c16, int ldc16, const ipiqa_epilogue *ep);

/// Whether ipiqa_conv_bf16_direct takes this convolution (AVX-512 BF16, cin even and ≤ 4096, ≤ 64 taps).
int ipiqa_conv_bf16_direct_supported(int cin, int kh, int kw);
/// The bf16 convolution of NHWC bf16 activations x (no im2col) for output pixels p0..<p1 and the first n output
/// channels of `packed` (ipiqa_pack_bf16 layout): bit for bit ipiqa_gemm_bf16 / ipiqa_gemm_bf16_out16 over the
/// im2col rows. Output fp32 into c (c16 NULL), or bf16 into c16 with c as the fp32 scratch of earlier k-blocks (NULL
/// with one k-block).
void ipiqa_conv_bf16_direct(const uint16_t *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH,
                            int outW, long p0, long p1, const uint16_t *packed, int n, float *c, int ldc, uint16_t *c16,
                            int ldc16, const ipiqa_epilogue *ep);

// ---- Mixed-precision training GEMMs (Sources/CKernels/gemm_train16.c) ----

/// out[i] = x[i] rounded to bf16 (nearest even) and widened back to fp32 (out may be x).
void ipiqa_round_bf16_f32(const float *x, long n, float *out);
/// C (m×n, row stride ldc) = op(A)·op(B) (+ C when accumulate ≠ 0) with every input rounded to bf16 (nearest even) and
/// fp32 accumulation. op(A) = A (m×k, row stride lda) or, transA ≠ 0, Aᵀ of A stored k×m; op(B) = B (k×n, row stride
/// ldb) or, transB ≠ 0, Bᵀ of B stored n×k. Single-threaded. Returns 0 (and writes nothing) without AVX-512 BF16.
int ipiqa_gemm_train_bf16(int transA, int transB, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                          float *c, int ldc, int accumulate);

#include "train16.h"

#endif
