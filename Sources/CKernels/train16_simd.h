// Private helpers of the bf16 training kernels (gemm_train16.c, conv_train16.c); not part of the Swift module.
//
// Packed layouts shared by both files (uint32 = one bf16 pair along k, low half = the even k index):
//     B panels  dst[p][kp][j]      32 columns j per panel p, kcp = ⌈kc/2⌉ pairs, zero past n or k
//     A block   dst[kp][i]         mcp = mc rounded up to 16 rows per pair index (kp-major: the microkernel
//                                  broadcasts a[kp·mcp + r] for row r of its tile)
#ifndef IPIQA_TRAIN16_SIMD_H
#define IPIQA_TRAIN16_SIMD_H

#include <immintrin.h>
#include <stdint.h>

#define T16_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,evex512")))
#define T16_NR 32

static inline __mmask16 t16_mask(int count) {
    return count >= 16 ? (__mmask16)0xffff : (count <= 0 ? 0 : (__mmask16)((1u << count) - 1));
}

// 16 bf16 pairs (lo = r0[i], hi = r1[i]) of 16 consecutive values of two rows (masked: `count` valid, rest 0; a NULL
// row reads as zeros).
static T16_TARGET inline __m512i t16_pairs_of_rows(const float *r0, const float *r1, int count) {
    __mmask16 mk = t16_mask(count);
    __m512 v0 = r0 ? _mm512_maskz_loadu_ps(mk, r0) : _mm512_setzero_ps();
    __m512 v1 = r1 ? _mm512_maskz_loadu_ps(mk, r1) : _mm512_setzero_ps();
    __m512i u0 = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v0));
    __m512i u1 = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v1));
    return _mm512_or_si512(u0, _mm512_slli_epi32(u1, 16));
}

// 16 bf16 pairs of 32 consecutive values of one row (masked: `count` valid values, rest 0).
static T16_TARGET inline __m512i t16_pairs_of_run(const float *r, int count) {
    __m512 lo = _mm512_maskz_loadu_ps(t16_mask(count), r);
    __m512 hi = _mm512_maskz_loadu_ps(t16_mask(count - 16), r + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// In-register transpose of a 16×16 matrix of 32-bit lanes: r[i] lane j ↔ r[j] lane i.
static T16_TARGET inline void t16_transpose(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    // r[4g + q], 128-bit lane L = column 4L + q of rows 4g..4g+3: a 4×4 transpose of 128-bit lanes per q.
    for (int q = 0; q < 4; q++) {
        __m512i u0 = _mm512_shuffle_i32x4(r[q], r[4 + q], 0x44), u1 = _mm512_shuffle_i32x4(r[q], r[4 + q], 0xee);
        __m512i u2 = _mm512_shuffle_i32x4(r[8 + q], r[12 + q], 0x44), u3 = _mm512_shuffle_i32x4(r[8 + q], r[12 + q], 0xee);
        t[q] = _mm512_shuffle_i32x4(u0, u2, 0x88);
        t[4 + q] = _mm512_shuffle_i32x4(u0, u2, 0xdd);
        t[8 + q] = _mm512_shuffle_i32x4(u1, u3, 0x88);
        t[12 + q] = _mm512_shuffle_i32x4(u1, u3, 0xdd);
    }
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

// Packs the B block of one product (rows k0..k0+kc of op(B), columns j0..j0+nc) into `dst` (layout above).
typedef void (*t16_pack_b_fn)(const void *ctx, int k0, int kc, int j0, int nc, uint32_t *dst);

// C (m×n, row stride ldc) = op(A)·B (+ C when accumulate) on the 12×32 vdpbf16ps kernel, single-threaded: op(A) as in
// ipiqa_gemm_train_bf16, B supplied block by block by `pack_b` (so B can be gathered, e.g. from a convolution's input,
// instead of read from a matrix). Returns 0 without AVX-512 BF16 or when the packing buffers cannot be allocated.
int ipiqa_t16_gemm(int transA, int m, int n, int k, const float *a, int lda, t16_pack_b_fn pack_b, const void *ctx,
                   float *c, int ldc, int accumulate);

#endif
