// Split-bf16 operands (own code): x = hi + lo + O(2⁻¹⁶·|x|) with hi = bf16_rne(x), lo = bf16_rne(x − hi).
// The product A·Wᵀ ≈ A_hi·W_hiᵀ + A_lo·W_hiᵀ + A_hi·W_loᵀ (the dropped A_lo·W_loᵀ is ≈ 2⁻¹⁶ relative) runs as one
// plain bf16 GEMM (ipiqa_gemm_bf16, fp32 accumulation) over three concatenated k segments, so the tuned vdpbf16ps
// microkernel serves it unchanged: A rows [A_hi | A_lo | A_hi] against W rows [W_hi | W_hi | W_lo].
#include "CKernels.h"
#include <string.h>

static inline uint16_t split_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float split_widen(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/// hi = bf16(x), lo = bf16(x − hi) (lo = 0 where x is not finite).
static inline void split(float x, uint16_t *hi, uint16_t *lo) {
    *hi = split_round(x);
    float rest = x - split_widen(*hi);
    *lo = (rest == rest && rest - rest == 0) ? split_round(rest) : 0;
}

size_t ipiqa_packed_count_bf16x3(int n, int k) { return ipiqa_packed_count_bf16(n, 3 * ipiqa_bf16_row(k)); }

void ipiqa_pack_bf16x3(const float *w, int n, int k, int ldw, uint16_t *packed) {
    int k2 = ipiqa_bf16_row(k), k3 = 3 * k2, panels = (n + IPIQA_NR - 1) / IPIQA_NR;
    memset(packed, 0, ipiqa_packed_count_bf16x3(n, k) * sizeof(uint16_t));
    for (int p = 0; p < panels; p++) {
        uint16_t *dst = packed + (size_t)p * IPIQA_NR * k3;
        for (int j = 0; j < IPIQA_NR && p * IPIQA_NR + j < n; j++) {
            const float *src = w + (size_t)(p * IPIQA_NR + j) * ldw;
            for (int kk = 0; kk < k; kk++) {
                uint16_t hi, lo;
                split(src[kk], &hi, &lo);
                int segs[3] = {kk, k2 + kk, 2 * k2 + kk};
                uint16_t vals[3] = {hi, hi, lo};
                for (int s = 0; s < 3; s++) {
                    int q = segs[s];
                    dst[(size_t)(q / 2) * IPIQA_NR * 2 + (size_t)j * 2 + (q & 1)] = vals[s];
                }
            }
        }
    }
}

void ipiqa_convert_bf16x3(const float *a, int m, int k, int lda, uint16_t *out) {
    int k2 = ipiqa_bf16_row(k), k3 = 3 * k2;
    for (int i = 0; i < m; i++) {
        const float *src = a + (size_t)i * lda;
        uint16_t *dst = out + (size_t)i * k3;
        for (int kk = 0; kk < k; kk++) {
            uint16_t hi, lo;
            split(src[kk], &hi, &lo);
            dst[kk] = hi;
            dst[k2 + kk] = lo;
            dst[2 * k2 + kk] = hi;
        }
        if (k2 > k) { dst[k] = 0; dst[k2 + k] = 0; dst[2 * k2 + k] = 0; }
    }
}

// ---------------- im2col straight into bf16 ----------------
// The bf16 GEMM needs A in bf16; gathering the convolution's patches and rounding them in one pass halves the bytes
// written and saves the separate fp32 im2col buffer and its conversion pass (11–32 % of the GEMM's time on RN50's
// 3×3 layers when done apart).
#include <immintrin.h>

static __attribute__((target("avx512f,avx512vl,avx512bw,avx512bf16,evex512"))) void
round_run(const float *src, int count, uint16_t *dst) {
    int c = 0;
    for (; c + 32 <= count; c += 32) {
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + c + 16), _mm512_loadu_ps(src + c));
        _mm512_storeu_si512((void *)(dst + c), (__m512i)v);
    }
    for (; c + 16 <= count; c += 16) {
        __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + c));
        _mm256_storeu_si256((__m256i *)(dst + c), (__m256i)v);
    }
    if (c < count) {
        __mmask16 m = (__mmask16)((1u << (count - c)) - 1);
        __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + c));
        _mm256_mask_storeu_epi16(dst + c, m, (__m256i)v);
    }
}

// Copies `count` bf16 values: runs of a few hundred bytes, where a libc memcpy call costs more than the copy.
static __attribute__((target("avx512f,avx512bw,evex512"))) void copy_run16(const uint16_t *src, int count, uint16_t *dst) {
    int c = 0;
    for (; c + 32 <= count; c += 32) _mm512_storeu_si512((void *)(dst + c), _mm512_loadu_si512((const void *)(src + c)));
    if (c < count) {
        __mmask32 m = (__mmask32)((1ull << (count - c)) - 1);
        _mm512_mask_storeu_epi16(dst + c, m, _mm512_maskz_loadu_epi16(m, src + c));
    }
}

// The patches of output pixels p0..<p1 as bf16 rows: x is fp32 (each in-image run rounded, `x16` NULL) or already
// bf16 (`x` NULL; each run copied).
static void im2col16(const float *x, const uint16_t *x16, int h, int w, int cin, int kh, int kw, int stride, int pad,
                     int outH, int outW, long p0, long p1, uint16_t *out) {
    int k = kh * kw * cin, k2 = ipiqa_bf16_row(k);
    for (long q = p0; q < p1; q++) {
        int ow = (int)(q % outW);
        long row = q / outW;
        int b = (int)(row / outH), oh = (int)(row % outH);
        uint16_t *dst = out + (size_t)(q - p0) * k2;
        int iw0 = ow * stride - pad;
        // The taps jLo..<jHi of a kernel row inside the image are one contiguous run of the NHWC input.
        int jLo = iw0 < 0 ? -iw0 : 0, jHi = w - iw0 < kw ? w - iw0 : kw;
        for (int i = 0; i < kh; i++) {
            int ih = oh * stride - pad + i;
            uint16_t *d = dst + (size_t)i * kw * cin;
            if (ih < 0 || ih >= h || jHi <= jLo) { memset(d, 0, (size_t)kw * cin * 2); continue; }
            if (jLo > 0) memset(d, 0, (size_t)jLo * cin * 2);
            size_t src = (((size_t)b * h + ih) * w + iw0 + jLo) * cin;
            if (x16) copy_run16(x16 + src, (jHi - jLo) * cin, d + (size_t)jLo * cin);
            else round_run(x + src, (jHi - jLo) * cin, d + (size_t)jLo * cin);
            if (jHi < kw) memset(d + (size_t)jHi * cin, 0, (size_t)(kw - jHi) * cin * 2);
        }
        if (k2 > k) dst[k] = 0;
    }
}

void ipiqa_im2col_bf16(const float *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH, int outW,
                       long p0, long p1, uint16_t *out) {
    im2col16(x, 0, h, w, cin, kh, kw, stride, pad, outH, outW, p0, p1, out);
}

void ipiqa_im2col_from_bf16(const uint16_t *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH,
                            int outW, long p0, long p1, uint16_t *out) {
    im2col16(0, x, h, w, cin, kh, kw, stride, pad, outH, outW, p0, p1, out);
}
