// Average pooling with kernel = stride = k over channels-last rows (own code): the inference (and training forward)
// pass of avgPool2d. One output row (image, oh) per index; AVX-512 over channels where the CPU has it, the same
// additions in the same order in plain C otherwise: y = (((0 + x₀₀) + x₀₁) + …) · (1/k²).
#include "CKernels.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,evex512")))

// One output pixel: the k × k window whose top-left input pixel is `src` (input row stride w · c), all c channels.
static AVX512 void pixel_avx512(const float *src, int w, int c, int k, float *dst) {
    __m512 inv = _mm512_set1_ps(1.0f / (float)(k * k));
    for (int ch = 0; ch < c; ch += 16) {
        __mmask16 m = c - ch >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (c - ch)) - 1);
        __m512 acc = _mm512_setzero_ps();
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, src + ((size_t)i * w + j) * c + ch));
        }
        _mm512_mask_storeu_ps(dst + ch, m, _mm512_mul_ps(acc, inv));
    }
}

static void pixel_generic(const float *src, int w, int c, int k, float *dst) {
    float inv = 1.0f / (float)(k * k);
    for (int ch = 0; ch < c; ch++) {
        float acc = 0;
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) acc += src[((size_t)i * w + j) * c + ch];
        }
        dst[ch] = acc * inv;
    }
}

void ipiqa_avgpool2d(const float *x, int h, int w, int c, int k, long row0, long row1, int outH, int outW, float *y) {
    void (*pixel)(const float *, int, int, int, float *) = ipiqa_has_avx512f() ? pixel_avx512 : pixel_generic;
    for (long row = row0; row < row1; row++) {
        long b = row / outH;
        int i0 = (int)(row % outH) * k;
        for (int o = 0; o < outW; o++)
            pixel(x + (((size_t)b * h + i0) * w + (size_t)o * k) * c, w, c, k, y + ((size_t)row * outW + o) * c);
    }
}
