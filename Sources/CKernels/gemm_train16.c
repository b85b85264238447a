// bf16 GEMMs for mixed-precision training (own code, AVX-512 BF16 intrinsics, runtime-dispatched by the caller):
//
//     C (m×n, row stride ldc) = op(A) · op(B)  (+ C when accumulate ≠ 0)
//     op(A) = A (m×k, row stride lda) or Aᵀ (A stored k×m);  op(B) = B (k×n) or Bᵀ (B stored n×k)
//
// Every input value is rounded to bf16 (round to nearest even) while it is packed; products and sums are fp32
// (vdpbf16ps). The three products of a training step map to: forward Y = X·Wᵀ (transB), input gradient dX = dY·W
// (no transpose), weight gradient dW = dYᵀ·X (transA). Goto/BLIS loop nest like gemm.c: for each n-block (NC) → for
// each k-block (KC; op(B) packed once into 32-column panels of bf16 pairs, kept in L2) → for each m-block (MC; op(A)
// packed into rows of bf16 pairs) → for each 12-row tile (L1) → for each 32-column panel: 12×32 microkernel in 24 zmm.
#include "CKernels.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define T_MR 12
#define T_NR 32
#define T_KC 512
#define T_MC 96
#define T_NC 256

#define T16_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,evex512")))

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

static inline __mmask16 mask16(int count) {
    return count >= 16 ? (__mmask16)0xffff : (count <= 0 ? 0 : (__mmask16)((1u << count) - 1));
}

// 16 bf16 pairs (lo = row r0, hi = row r1) from 16 consecutive values of two rows (masked: `count` valid, rest 0).
static T16_TARGET inline __m512i pairs_of_rows(const float *r0, const float *r1, int count) {
    __mmask16 mk = mask16(count);
    __m512 v0 = _mm512_maskz_loadu_ps(mk, r0);
    __m512 v1 = r1 ? _mm512_maskz_loadu_ps(mk, r1) : _mm512_setzero_ps();
    __m512i u0 = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v0));
    __m512i u1 = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v1));
    return _mm512_or_si512(u0, _mm512_slli_epi32(u1, 16));
}

// 16 bf16 pairs of 32 consecutive values of one row (masked: `count` valid values, rest 0).
static T16_TARGET inline __m512i pairs_of_run(const float *r, int count) {
    __m512 lo = _mm512_maskz_loadu_ps(mask16(count), r);
    __m512 hi = _mm512_maskz_loadu_ps(mask16(count - 16), r + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// op(B) rows k0..k0+kc, columns j0..j0+nc → panels dst[p][kp][j] (uint32 = bf16 pair along k), zero-padded to whole
// panels and an even kc.
static T16_TARGET void pack_b(int transB, const float *b, int ldb, int k0, int kc, int j0, int nc, uint32_t *dst) {
    int kcp = (kc + 1) / 2, panels = (nc + T_NR - 1) / T_NR;
    if (!transB) {  // B stored k×n: two rows of B give 32 columns' pairs
        for (int kp = 0; kp < kcp; kp++) {
            const float *r0 = b + (size_t)(k0 + 2 * kp) * ldb + j0;
            const float *r1 = 2 * kp + 1 < kc ? r0 + ldb : 0;
            for (int p = 0; p < panels; p++) {
                uint32_t *d = dst + ((size_t)p * kcp + kp) * T_NR;
                int left = nc - p * T_NR;
                _mm512_storeu_si512(d, pairs_of_rows(r0 + p * T_NR, r1 ? r1 + p * T_NR : 0, left));
                _mm512_storeu_si512(d + 16, pairs_of_rows(r0 + p * T_NR + 16, r1 ? r1 + p * T_NR + 16 : 0, left - 16));
            }
        }
        return;
    }
    // B stored n×k: each column of op(B) is a contiguous run of k values; scatter its pairs into the panel.
    __m512i lane = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                      _mm512_set1_epi32(T_NR));
    for (int j = 0; j < panels * T_NR; j++) {
        uint32_t *d = dst + (size_t)(j / T_NR) * kcp * T_NR + (j % T_NR);
        if (j >= nc) {
            for (int kp = 0; kp < kcp; kp++) d[(size_t)kp * T_NR] = 0;
            continue;
        }
        const float *src = b + (size_t)(j0 + j) * ldb + k0;
        for (int kk = 0; kk < kc; kk += 32) {
            int count = kc - kk < 32 ? kc - kk : 32;
            __m512i v = pairs_of_run(src + kk, count);
            __mmask16 mk = mask16((count + 1) / 2);
            _mm512_mask_i32scatter_epi32(d + (size_t)(kk / 2) * T_NR, mk, lane, v, 4);
        }
    }
}

// op(A) rows i0..i0+mc, k values k0..k0+kc → dst[i][kp] (rows of kcp bf16 pairs, the last pair zero-padded).
static T16_TARGET void pack_a(int transA, const float *a, int lda, int i0, int mc, int k0, int kc, uint32_t *dst) {
    int kcp = (kc + 1) / 2;
    if (!transA) {  // A stored m×k: rows are contiguous runs
        for (int i = 0; i < mc; i++) {
            const float *src = a + (size_t)(i0 + i) * lda + k0;
            uint32_t *d = dst + (size_t)i * kcp;
            int kk = 0;
            for (; kk + 32 <= kc; kk += 32) _mm512_storeu_si512(d + kk / 2, pairs_of_run(src + kk, 32));
            if (kk < kc) {
                int count = kc - kk;
                _mm512_mask_storeu_epi32(d + kk / 2, mask16((count + 1) / 2), pairs_of_run(src + kk, count));
            }
        }
        return;
    }
    // A stored k×m: two rows of A give 16 rows' pairs, scattered with stride kcp.
    __m512i lane = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                      _mm512_set1_epi32(kcp));
    for (int kp = 0; kp < kcp; kp++) {
        const float *r0 = a + (size_t)(k0 + 2 * kp) * lda + i0;
        const float *r1 = 2 * kp + 1 < kc ? r0 + lda : 0;
        for (int i = 0; i < mc; i += 16) {
            __m512i v = pairs_of_rows(r0 + i, r1 ? r1 + i : 0, mc - i);
            _mm512_mask_i32scatter_epi32(dst + (size_t)i * kcp + kp, mask16(mc - i), lane, v, 4);
        }
    }
}

#define KERNEL_T16(R)                                                                                                  \
    static T16_TARGET void kt16_##R(int kcp, const uint32_t *a, const uint32_t *b, float *c, int ldc, int nr,          \
                                    int accumulate) {                                                                  \
        __m512 c0[R], c1[R];                                                                                           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); } \
        for (int kp = 0; kp < kcp; kp++) {                                                                             \
            __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(b + (size_t)kp * T_NR));                         \
            __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(b + (size_t)kp * T_NR + 16));                    \
            _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                     \
                __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[(size_t)r * kcp + kp]);                               \
                c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);                                                               \
                c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);                                                               \
            }                                                                                                          \
        }                                                                                                              \
        __mmask16 m0 = mask16(nr), m1 = mask16(nr - 16);                                                               \
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

typedef void (*kt16_fn)(int, const uint32_t *, const uint32_t *, float *, int, int, int);
static const kt16_fn kt16_table[T_MR + 1] = {0, kt16_1, kt16_2, kt16_3, kt16_4, kt16_5, kt16_6,
                                             kt16_7, kt16_8, kt16_9, kt16_10, kt16_11, kt16_12};

int ipiqa_gemm_train_bf16(int transA, int transB, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                          float *c, int ldc, int accumulate) {
    if (m <= 0 || n <= 0) return 1;
    if (k <= 0) {
        if (!accumulate) for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof(float));
        return 1;
    }
    if (!ipiqa_has_avx512bf16()) return 0;
    uint32_t *bbuf = aligned_alloc(64, (size_t)T_NC * (T_KC / 2) * sizeof(uint32_t));
    uint32_t *abuf = aligned_alloc(64, (size_t)T_MC * (T_KC / 2) * sizeof(uint32_t));
    if (!bbuf || !abuf) { free(bbuf); free(abuf); return 0; }
    for (int jc = 0; jc < n; jc += T_NC) {
        int nc = n - jc < T_NC ? n - jc : T_NC;
        for (int pc = 0; pc < k; pc += T_KC) {
            int kc = k - pc < T_KC ? k - pc : T_KC, kcp = (kc + 1) / 2;
            pack_b(transB, b, ldb, pc, kc, jc, nc, bbuf);
            for (int ic = 0; ic < m; ic += T_MC) {
                int mc = m - ic < T_MC ? m - ic : T_MC;
                pack_a(transA, a, lda, ic, mc, pc, kc, abuf);
                for (int ir = 0; ir < mc; ir += T_MR) {
                    int mr = mc - ir < T_MR ? mc - ir : T_MR;
                    for (int jr = 0; jr < nc; jr += T_NR) {
                        kt16_table[mr](kcp, abuf + (size_t)ir * kcp, bbuf + (size_t)(jr / T_NR) * kcp * T_NR,
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
