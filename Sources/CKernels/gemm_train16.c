// bf16 GEMMs for mixed-precision training (own code, AVX-512 BF16 intrinsics, runtime-dispatched by the caller):
//
//     C (m×n, row stride ldc) = op(A) · op(B)  (+ C when accumulate ≠ 0)
//     op(A) = A (m×k, row stride lda) or Aᵀ (A stored k×m);  op(B) = B (k×n) or Bᵀ (B stored n×k)
//
// Every input value is rounded to bf16 (round to nearest even) while it is packed; products and sums are fp32
// (vdpbf16ps). The three products of a training step map to: forward Y = X·Wᵀ (transB), input gradient dX = dY·W
// (no transpose), weight gradient dW = dYᵀ·X (transA). Goto/BLIS loop nest like gemm.c: for each n-block (≤ NC) → for
// each k-block (KC; op(B) packed once into 32-column panels of bf16 pairs, kept in L2) → for each m-block (MC; op(A)
// packed kp-major) → for each 12-row tile (L1) → for each 32-column panel: 12×32 microkernel in 24 zmm. Layouts in
// train16_simd.h. A transposed operand is packed through 16×16 in-register transposes (no scatter: vpscatterdd is
// microcoded and slow on AMD Zen 4).
#include "CKernels.h"
#include "train16_simd.h"
#include <stdlib.h>
#include <string.h>

#define T_MR 12
#define T_KC 512
#define T_MC 96
#define T_NC 384

static inline uint16_t round_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

void ipiqa_round_bf16_f32(const float *x, long n, float *out) {
    for (long i = 0; i < n; i++) {
        uint32_t u = (uint32_t)round_bf16(x[i]) << 16;
        memcpy(out + i, &u, 4);
    }
}


// Rows r0 … r0 + 15 of a row-major matrix (stride ld; rows at or past r0 + valid read as zero), values k0 … k0 + kc
// of each, as bf16 pairs transposed in registers: out[kp · stride + q] = pair kp of row r0 + q.
static T16_TARGET void pack_16_runs(const float *src, int ld, int r0, int valid, int k0, int kc, uint32_t *out,
                                    size_t stride) {
    for (int kk = 0; kk < kc; kk += 32) {
        int count = kc - kk < 32 ? kc - kk : 32, pairs = (count + 1) / 2;
        __m512i v[16];
        for (int q = 0; q < 16; q++)
            v[q] = q < valid ? t16_pairs_of_run(src + (size_t)(r0 + q) * ld + k0 + kk, count) : _mm512_setzero_si512();
        t16_transpose(v);
        for (int q = 0; q < pairs; q++) _mm512_storeu_si512(out + (size_t)(kk / 2 + q) * stride, v[q]);
    }
}
typedef struct { int transB; const float *b; int ldb; } matrix_b;

// op(B) rows k0..k0+kc, columns j0..j0+nc → panels (zero-padded to whole panels and an even kc).
static T16_TARGET void pack_b_matrix(const void *ctx, int k0, int kc, int j0, int nc, uint32_t *dst) {
    const matrix_b *mb = ctx;
    const float *b = mb->b;
    int ldb = mb->ldb, kcp = (kc + 1) / 2, panels = (nc + T16_NR - 1) / T16_NR;
    if (!mb->transB) {  // B stored k×n: two rows of B give 32 columns' pairs
        for (int kp = 0; kp < kcp; kp++) {
            const float *r0 = b + (size_t)(k0 + 2 * kp) * ldb + j0;
            const float *r1 = 2 * kp + 1 < kc ? r0 + ldb : 0;
            for (int p = 0; p < panels; p++) {
                uint32_t *d = dst + ((size_t)p * kcp + kp) * T16_NR;
                int left = nc - p * T16_NR;
                _mm512_storeu_si512(d, t16_pairs_of_rows(r0 + p * T16_NR, r1 ? r1 + p * T16_NR : 0, left));
                _mm512_storeu_si512(d + 16, t16_pairs_of_rows(r0 + p * T16_NR + 16, r1 ? r1 + p * T16_NR + 16 : 0, left - 16));
            }
        }
        return;
    }
    // B stored n×k: column j of op(B) is a contiguous run; 16 columns × 16 pairs transposed in registers.
    for (int j = 0; j < panels * T16_NR; j += 16)
        pack_16_runs(b, ldb, j0 + j, nc - j, k0, kc, dst + (size_t)(j / T16_NR) * kcp * T16_NR + (j % T16_NR), T16_NR);
}

// op(A) rows i0..i0+mc, k values k0..k0+kc → dst[kp][i] (mcp = mc rounded up to 16 per kp; zero past mc and kc).
static T16_TARGET void pack_a(int transA, const float *a, int lda, int i0, int mc, int k0, int kc, uint32_t *dst) {
    int kcp = (kc + 1) / 2, mcp = (mc + 15) & ~15;
    if (transA) {  // A stored k×m: two rows of A give 16 rows' pairs
        for (int kp = 0; kp < kcp; kp++) {
            const float *r0 = a + (size_t)(k0 + 2 * kp) * lda + i0;
            const float *r1 = 2 * kp + 1 < kc ? r0 + lda : 0;
            for (int i = 0; i < mcp; i += 16)
                _mm512_storeu_si512(dst + (size_t)kp * mcp + i, t16_pairs_of_rows(r0 + i, r1 ? r1 + i : 0, mc - i));
        }
        return;
    }
    // A stored m×k: 16 rows × 16 pairs transposed in registers.
    for (int i = 0; i < mcp; i += 16) pack_16_runs(a, lda, i0 + i, mc - i, k0, kc, dst + i, mcp);
}

#define KERNEL_T16(R)                                                                                                  \
    static T16_TARGET void kt16_##R(int kcp, const uint32_t *a, int mcp, const uint32_t *b, float *c, int ldc, int nr, \
                                    int accumulate) {                                                                  \
        __m512 c0[R], c1[R];                                                                                           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); } \
        for (int kp = 0; kp < kcp; kp++) {                                                                             \
            __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(b + (size_t)kp * T16_NR));                       \
            __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(b + (size_t)kp * T16_NR + 16));                  \
            const uint32_t *ak = a + (size_t)kp * mcp;                                                                 \
            _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                     \
                __m512bh av = (__m512bh)_mm512_set1_epi32((int)ak[r]);                                                 \
                c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);                                                               \
                c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);                                                               \
            }                                                                                                          \
        }                                                                                                              \
        __mmask16 m0 = t16_mask(nr), m1 = t16_mask(nr - 16);                                                           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                         \
            float *cr = c + (size_t)r * ldc;                                                                           \
            if (accumulate) {                                                                                          \
                c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));                                           \
                c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));                                      \
            }                                                                                                          \
            _mm512_mask_storeu_ps(cr, m0, c0[r]);                                                                      \
            _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);                                                                 \
        }                                                                                                              \
    }

KERNEL_T16(1) KERNEL_T16(2) KERNEL_T16(3) KERNEL_T16(4) KERNEL_T16(5) KERNEL_T16(6)
KERNEL_T16(7) KERNEL_T16(8) KERNEL_T16(9) KERNEL_T16(10) KERNEL_T16(11) KERNEL_T16(12)

typedef void (*kt16_fn)(int, const uint32_t *, int, const uint32_t *, float *, int, int, int);
static const kt16_fn kt16_table[T_MR + 1] = {0, kt16_1, kt16_2, kt16_3, kt16_4, kt16_5, kt16_6,
                                             kt16_7, kt16_8, kt16_9, kt16_10, kt16_11, kt16_12};

int ipiqa_t16_gemm(int transA, int m, int n, int k, const float *a, int lda, t16_pack_b_fn pack_b, const void *ctx,
                   float *c, int ldc, int accumulate) {
    if (m <= 0 || n <= 0) return 1;
    if (k <= 0) {
        if (!accumulate) for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof(float));
        return 1;
    }
    if (!ipiqa_has_avx512bf16()) return 0;
    // n-blocks of equal width (whole panels, at most T_NC): a 288-column product runs as 160 + 128, not 256 + 32.
    int blocks = (n + T_NC - 1) / T_NC;
    int ncb = ((n + blocks - 1) / blocks + T16_NR - 1) / T16_NR * T16_NR;
    uint32_t *bbuf = aligned_alloc(64, (size_t)T_NC * (T_KC / 2) * sizeof(uint32_t));
    uint32_t *abuf = aligned_alloc(64, (size_t)T_MC * (T_KC / 2) * sizeof(uint32_t));
    if (!bbuf || !abuf) { free(bbuf); free(abuf); return 0; }
    for (int jc = 0; jc < n; jc += ncb) {
        int nc = n - jc < ncb ? n - jc : ncb;
        for (int pc = 0; pc < k; pc += T_KC) {
            int kc = k - pc < T_KC ? k - pc : T_KC, kcp = (kc + 1) / 2;
            pack_b(ctx, pc, kc, jc, nc, bbuf);
            for (int ic = 0; ic < m; ic += T_MC) {
                int mc = m - ic < T_MC ? m - ic : T_MC, mcp = (mc + 15) & ~15;
                pack_a(transA, a, lda, ic, mc, pc, kc, abuf);
                for (int ir = 0; ir < mc; ir += T_MR) {
                    int mr = mc - ir < T_MR ? mc - ir : T_MR;
                    for (int jr = 0; jr < nc; jr += T16_NR) {
                        kt16_table[mr](kcp, abuf + ir, mcp, bbuf + (size_t)(jr / T16_NR) * kcp * T16_NR,
                                       c + (size_t)(ic + ir) * ldc + jc + jr, ldc, nc - jr, accumulate || pc > 0);
                    }
                }
            }
        }
    }
    free(bbuf);
    free(abuf);
    return 1;
}

int ipiqa_gemm_train_bf16(int transA, int transB, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                          float *c, int ldc, int accumulate) {
    matrix_b mb = {transB, b, ldb};
    return ipiqa_t16_gemm(transA, m, n, k, a, lda, pack_b_matrix, &mb, c, ldc, accumulate);
}

void ipiqa_pack_bf16_panels(const float *w, int n, int k, int p0, int p1, uint16_t *packed) {
    if (!ipiqa_has_avx512bf16() || p0 >= p1) return;
    // Panels of W (n×k) are the B panels of op(B) = Wᵀ (B stored n×k), packed over the whole k at once.
    int kcp = (k + 1) / 2, j0 = p0 * T16_NR, nc = (p1 * T16_NR < n ? p1 * T16_NR : n) - j0;
    matrix_b mb = {1, w, k};
    if (nc > 0) pack_b_matrix(&mb, 0, k, j0, nc, (uint32_t *)packed + (size_t)p0 * kcp * T16_NR);
}
