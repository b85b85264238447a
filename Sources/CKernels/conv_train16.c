// Convolution pieces of the bf16 training path (own code; see include/train16.h): the weight gradient gathered straight
// from the input into the packed bf16 panels of gemm_train16.c's kernel (the fp32 engine's direct weight gradient,
// ipiqa_conv_wgrad_f32, does the same in fp32), and the flipped, transposed bf16 weight of the data gradient.
#include "CKernels.h"
#include "train16.h"
#include "train16_simd.h"
#include <string.h>

#define WG_KC 512  // pixels per k-block of ipiqa_t16_gemm (its T_KC)

typedef struct {
    const float *x;
    int h, w, cin, kh, kw, stride, pad, outH, outW, col0;
} wgrad_input;

// B rows k0..k0+kc (output pixels), columns j0..j0+nc (relative to col0) of im2col(x), gathered into panels. A panel of
// 32 columns lies in one tap (cin % 32 == 0): for each pixel it is 32 consecutive channels of one input position.
static T16_TARGET void pack_b_gather(const void *ctx, int k0, int kc, int j0, int nc, uint32_t *dst) {
    const wgrad_input *in = ctx;
    int ihs[WG_KC], iws[WG_KC];
    long bases[WG_KC];
    int plane = in->outH * in->outW;
    for (int q = 0; q < kc; q++) {
        long p = (long)k0 + q;
        int n = (int)(p / plane), rest = (int)(p % plane);
        ihs[q] = rest / in->outW * in->stride - in->pad;
        iws[q] = rest % in->outW * in->stride - in->pad;
        bases[q] = (long)n * in->h * in->w;
    }
    int kcp = (kc + 1) / 2, panels = (nc + T16_NR - 1) / T16_NR;
    for (int p = 0; p < panels; p++) {
        int col = in->col0 + j0 + p * T16_NR, tap = col / in->cin, c = col % in->cin;
        int i = tap / in->kw, j = tap % in->kw;
        uint32_t *d = dst + (size_t)p * kcp * T16_NR;
        for (int kp = 0; kp < kcp; kp++) {
            const float *r[2] = {0, 0};
            for (int s = 0; s < 2; s++) {
                int q = 2 * kp + s;
                if (q >= kc) break;
                int ih = ihs[q] + i, iw = iws[q] + j;
                if (ih >= 0 && ih < in->h && iw >= 0 && iw < in->w)
                    r[s] = in->x + ((size_t)bases[q] + (size_t)ih * in->w + iw) * in->cin + c;
            }
            _mm512_storeu_si512(d + (size_t)kp * T16_NR, t16_pairs_of_rows(r[0], r[1], 16));
            _mm512_storeu_si512(d + (size_t)kp * T16_NR + 16,
                                t16_pairs_of_rows(r[0] ? r[0] + 16 : 0, r[1] ? r[1] + 16 : 0, 16));
        }
    }
}

int ipiqa_conv_wgrad_bf16(const float *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH,
                          int outW, long pixels, const float *dy, int cout, int col0, int col1, float *dw) {
    int patch = kh * kw * cin;
    if (cin <= 0 || cin % 32 != 0 || col0 % 32 != 0 || col1 % 32 != 0 || col0 < 0 || col1 > patch || col0 >= col1)
        return 0;
    if (pixels > 0x7fffffffL) return 0;
    wgrad_input in = {x, h, w, cin, kh, kw, stride, pad, outH, outW, col0};
    // dW[:, col0..col1] = dYᵀ · im2col(x)[:, col0..col1]: A = dY stored pixels × cout (transposed operand).
    return ipiqa_t16_gemm(1, cout, col1 - col0, (int)pixels, dy, cout, pack_b_gather, &in, dw + col0, patch, 0);
}

// Row kk of the flipped weight's column ci0.. (k index kk = (i·kw + j)·cout + co) in W, or NULL past k.
static inline const float *flipped_row(const float *w, int cout, int kh, int kw, int cin, int kk, int k, int ci0) {
    if (kk >= k) return 0;
    int tap = kk / cout, co = kk % cout, i = tap / kw, j = tap % kw;
    return w + (((size_t)co * kh + (kh - 1 - i)) * kw + (kw - 1 - j)) * cin + ci0;
}

static T16_TARGET void pack_flipped(const float *w, int cout, int kh, int kw, int cin, int p0, int p1, uint32_t *dst) {
    int k = kh * kw * cout, kcp = (k + 1) / 2;
    for (int p = p0; p < p1; p++) {
        int ci0 = p * T16_NR, left = cin - ci0;
        uint32_t *d = dst + (size_t)p * kcp * T16_NR;
        for (int kp = 0; kp < kcp; kp++) {
            const float *r0 = flipped_row(w, cout, kh, kw, cin, 2 * kp, k, ci0);
            const float *r1 = flipped_row(w, cout, kh, kw, cin, 2 * kp + 1, k, ci0);
            _mm512_storeu_si512(d + (size_t)kp * T16_NR, t16_pairs_of_rows(r0, r1, left));
            _mm512_storeu_si512(d + (size_t)kp * T16_NR + 16,
                                t16_pairs_of_rows(r0 ? r0 + 16 : 0, r1 ? r1 + 16 : 0, left - 16));
        }
    }
}

void ipiqa_pack_bf16_flipped(const float *w, int cout, int kh, int kw, int cin, int p0, int p1, uint16_t *packed) {
    if (ipiqa_has_avx512bf16()) pack_flipped(w, cout, kh, kw, cin, p0, p1, (uint32_t *)packed);
}
