// Packed-weight GEMM microkernels (own code). Layout and loop nest follow the classic Goto/BLIS scheme:
//   for each k-block (KC) → for each n-block (NC channels, packed weights stay in L2)
//     → for each 12-row tile of A (stays in L1 across the n-block) → for each 32-channel panel: microkernel.
// The microkernel keeps a 12×32 tile of C in 24 zmm registers; per k step it loads 2 zmm of packed weights and
// broadcasts 12 values of A (fp32: 24 FMAs; bf16: 24 vdpbf16ps, each two k steps).
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

#define MR 12
#define NR IPIQA_NR
#define KC 256
#define NC 256

#define F32_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,evex512")))
#define BF16_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,evex512")))

int ipiqa_has_avx512f(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    }
    return cached;
}

int ipiqa_has_avx512bf16(void) {
    static int cached = -1;
    if (cached < 0) cached = ipiqa_has_avx512f() && __builtin_cpu_supports("avx512bf16");
    return cached;
}

static inline uint16_t bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline __mmask16 lane_mask(int count) { return count >= 16 ? (__mmask16)0xffff : (count <= 0 ? 0 : (__mmask16)((1u << count) - 1)); }

// ---------------- fp32 ----------------

size_t ipiqa_packed_count_f32(int n, int k) { return (size_t)((n + NR - 1) / NR) * NR * (size_t)k; }

void ipiqa_pack_f32(const float *w, int n, int k, int ldw, float *packed) {
    int panels = (n + NR - 1) / NR;
    for (int p = 0; p < panels; p++) {
        float *dst = packed + (size_t)p * NR * k;
        for (int j = 0; j < NR; j++) {
            int row = p * NR + j;
            if (row < n) {
                const float *src = w + (size_t)row * ldw;
                for (int kk = 0; kk < k; kk++) dst[(size_t)kk * NR + j] = src[kk];
            } else {
                for (int kk = 0; kk < k; kk++) dst[(size_t)kk * NR + j] = 0;
            }
        }
    }
}

// Packs Wᵀ where w is stored k×n (row stride ldw): packed[p][kk][j] = w[kk·ldw + 32p + j] (0 past n). Contiguous
// 32-float copies: the layout for dX = dY · W of a 1×1 convolution or a linear layer.
void ipiqa_pack_f32_t(const float *w, int n, int k, int ldw, float *packed) {
    int panels = (n + NR - 1) / NR;
    for (int p = 0; p < panels; p++) {
        float *dst = packed + (size_t)p * NR * k;
        int width = n - p * NR < NR ? n - p * NR : NR;
        for (int kk = 0; kk < k; kk++) {
            const float *src = w + (size_t)kk * ldw + (size_t)p * NR;
            float *d = dst + (size_t)kk * NR;
            memcpy(d, src, (size_t)width * sizeof(float));
            for (int j = width; j < NR; j++) d[j] = 0;
        }
    }
}

// Packs the weight of the transposed convolution that computes a stride-1 convolution's input gradient,
// W'[ci][i][j][co] = W[co][kh−1−i][kw−1−j][ci], straight from W [cout][kh][kw][cin] (n = cin rows of W',
// k = kh·kw·cout). For fixed (i, j, co) the 32 values of a panel are contiguous in W.
void ipiqa_pack_f32_flipped(const float *w, int cout, int kh, int kw, int cin, int panel0, int panel1, float *packed) {
    size_t k = (size_t)kh * kw * cout;
    for (int p = panel0; p < panel1; p++) {
        float *dst = packed + (size_t)p * NR * k;
        int width = cin - p * NR < NR ? cin - p * NR : NR;
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                int tap = (kh - 1 - i) * kw + (kw - 1 - j);
                for (int co = 0; co < cout; co++) {
                    const float *src = w + ((size_t)co * kh * kw + tap) * cin + (size_t)p * NR;
                    float *d = dst + (((size_t)i * kw + j) * cout + co) * NR;
                    memcpy(d, src, (size_t)width * sizeof(float));
                    for (int jj = width; jj < NR; jj++) d[jj] = 0;
                }
            }
        }
    }
}

// The fused epilogue on a finished R×32 tile held in registers (rows `row…`, columns `col…` of the whole output):
// v·scale[col] + shift[col] + residual[row][col], then max(·, 0) — each part optional.
static F32_TARGET inline __attribute__((always_inline)) void epilogue_tile(__m512 *c0, __m512 *c1, int R,
                                                                           const ipiqa_epilogue *ep, int col, int row,
                                                                           __mmask16 m0, __mmask16 m1) {
    __m512 s0 = _mm512_set1_ps(1), s1 = s0, h0 = _mm512_setzero_ps(), h1 = h0;
    if (ep->scale) { s0 = _mm512_maskz_loadu_ps(m0, ep->scale + col); s1 = _mm512_maskz_loadu_ps(m1, ep->scale + col + 16); }
    if (ep->shift) { h0 = _mm512_maskz_loadu_ps(m0, ep->shift + col); h1 = _mm512_maskz_loadu_ps(m1, ep->shift + col + 16); }
    __m512 zero = _mm512_setzero_ps();
    for (int r = 0; r < R; r++) {
        __m512 v0 = _mm512_fmadd_ps(c0[r], s0, h0), v1 = _mm512_fmadd_ps(c1[r], s1, h1);
        if (ep->residual) {
            const float *q = ep->residual + (size_t)(row + r) * ep->ldr + col;
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, q));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, q + 16));
        }
        if (ep->relu) { v0 = _mm512_max_ps(v0, zero); v1 = _mm512_max_ps(v1, zero); }
        c0[r] = v0; c1[r] = v1;
    }
}

// Finishes an R×32 register tile: adds what C already holds (accumulate), applies the epilogue (ep ≠ NULL) and stores
// the nr valid columns. Shared by every microkernel.
static F32_TARGET inline __attribute__((always_inline)) void finish_tile(__m512 *c0, __m512 *c1, int R, float *c, int ldc,
                                                                         int nr, int accumulate,
                                                                         const ipiqa_epilogue *ep, int col, int row) {
    __mmask16 m0 = lane_mask(nr), m1 = lane_mask(nr - 16);
    if (accumulate) {
        for (int r = 0; r < R; r++) {
            float *cr = c + (size_t)r * ldc;
            c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));
            c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
        }
    }
    if (ep) epilogue_tile(c0, c1, R, ep, col, row, m0, m1);
    for (int r = 0; r < R; r++) {
        float *cr = c + (size_t)r * ldc;
        _mm512_mask_storeu_ps(cr, m0, c0[r]);
        _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
    }
}

#define KERNEL_F32(R)                                                                                                  \
    static F32_TARGET void kf32_##R(int kc, const float *a, int lda, const float *b, float *c, int ldc, int nr,        \
                                    int accumulate, const ipiqa_epilogue *ep, int col, int row) {                      \
        __m512 c0[R], c1[R];                                                                                           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); } \
        for (int kk = 0; kk < kc; kk++) {                                                                              \
            __m512 b0 = _mm512_load_ps(b + (size_t)kk * NR), b1 = _mm512_load_ps(b + (size_t)kk * NR + 16);            \
            _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                     \
                __m512 av = _mm512_set1_ps(a[(size_t)r * lda + kk]);                                                   \
                c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);                                                                \
                c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);                                                                \
            }                                                                                                          \
        }                                                                                                              \
        finish_tile(c0, c1, R, c, ldc, nr, accumulate, ep, col, row);                                                  \
    }

KERNEL_F32(1) KERNEL_F32(2) KERNEL_F32(3) KERNEL_F32(4) KERNEL_F32(5) KERNEL_F32(6)
KERNEL_F32(7) KERNEL_F32(8) KERNEL_F32(9) KERNEL_F32(10) KERNEL_F32(11) KERNEL_F32(12)

typedef void (*kf32_fn)(int, const float *, int, const float *, float *, int, int, int, const ipiqa_epilogue *, int, int);
static const kf32_fn kf32_table[MR + 1] = {0, kf32_1, kf32_2, kf32_3, kf32_4, kf32_5, kf32_6,
                                           kf32_7, kf32_8, kf32_9, kf32_10, kf32_11, kf32_12};

void ipiqa_gemm_f32(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc,
                    const ipiqa_epilogue *ep) {
    for (int kb = 0; kb < k; kb += KC) {
        const ipiqa_epilogue *last = kb + KC >= k ? ep : 0;
        int kc = k - kb < KC ? k - kb : KC;
        for (int nb = 0; nb < n; nb += NC) {
            int ne = n - nb < NC ? n : nb + NC;
            for (int i = 0; i < m; i += MR) {
                int mr = m - i < MR ? m - i : MR;
                for (int j = nb; j < ne; j += NR) {
                    const float *bp = packed + (size_t)(j / NR) * NR * k + (size_t)kb * NR;
                    kf32_table[mr](kc, a + (size_t)i * lda + kb, lda, bp, c + (size_t)i * ldc + j, ldc, ne - j, kb > 0, last,
                                   j, i);
                }
            }
        }
    }
}

// ---------------- fp32 convolution without im2col ----------------
// The same 12×32 register tile, but each of the 12 rows of A is its own pointer: the input pixel that this output pixel
// reads at the current kernel tap (or a zero row in the padding), so the convolution runs straight from the NHWC input.
// A k-block never crosses a tap: it is (tap, channels cb…cb+kc) of the (i, j, c) ordered patch.

#define KERNEL_F32P(R)                                                                                                 \
    static F32_TARGET void kf32p_##R(int kc, const float *const *rows, const float *b, float *c, int ldc, int nr,     \
                                     int accumulate, const ipiqa_epilogue *ep, int col, int row) {                     \
        __m512 c0[R], c1[R];                                                                                           \
        const float *ar[R];                                                                                            \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                         \
            c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); ar[r] = rows[r];                                 \
        }                                                                                                              \
        for (int kk = 0; kk < kc; kk++) {                                                                              \
            __m512 b0 = _mm512_load_ps(b + (size_t)kk * NR), b1 = _mm512_load_ps(b + (size_t)kk * NR + 16);            \
            _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                     \
                __m512 av = _mm512_set1_ps(ar[r][kk]);                                                                 \
                c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);                                                                \
                c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);                                                                \
            }                                                                                                          \
        }                                                                                                              \
        finish_tile(c0, c1, R, c, ldc, nr, accumulate, ep, col, row);                                                  \
    }

KERNEL_F32P(1) KERNEL_F32P(2) KERNEL_F32P(3) KERNEL_F32P(4) KERNEL_F32P(5) KERNEL_F32P(6)
KERNEL_F32P(7) KERNEL_F32P(8) KERNEL_F32P(9) KERNEL_F32P(10) KERNEL_F32P(11) KERNEL_F32P(12)

typedef void (*kf32p_fn)(int, const float *const *, const float *, float *, int, int, int, const ipiqa_epilogue *, int,
                         int);
static const kf32p_fn kf32p_table[MR + 1] = {0, kf32p_1, kf32p_2, kf32p_3, kf32p_4, kf32p_5, kf32p_6,
                                             kf32p_7, kf32p_8, kf32p_9, kf32p_10, kf32p_11, kf32p_12};

static const float zero_row[KC] __attribute__((aligned(64)));
// Zero input pixel for the weight-gradient kernel (channel offsets up to its length).
static const float zero_row_big[IPIQA_WGRAD_MAX_CIN] __attribute__((aligned(64)));

int ipiqa_conv_direct_supported(int cin) { return ipiqa_has_avx512f() && cin >= 16; }

void ipiqa_conv_f32(const float *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH, int outW,
                    long p0, long p1, const float *packed, int c0, int c1, float *y, int ldy, const ipiqa_epilogue *ep) {
    long pixels = p1 - p0;
    if (pixels <= 0 || c1 <= c0) return;
    size_t k = (size_t)kh * kw * cin;
    // Per output pixel: the flat index of its top-left tap in x (may lie outside) and that tap's row / column.
    long *base = (long *)malloc((size_t)pixels * (sizeof(long) + 2 * sizeof(int)));
    if (!base) return;
    int *ih0 = (int *)(base + pixels), *iw0 = ih0 + pixels;
    for (long q = 0; q < pixels; q++) {
        long pix = p0 + q;
        int ow = (int)(pix % outW);
        long rowIndex = pix / outW;
        int oh = (int)(rowIndex % outH);
        long b = rowIndex / outH;
        ih0[q] = oh * stride - pad;
        iw0[q] = ow * stride - pad;
        base[q] = (b * h + ih0[q]) * (long)w + iw0[q];
    }
    int taps = kh * kw;
    for (int t = 0; t < taps; t++) {
        int i = t / kw, j = t % kw;
        for (int cb = 0; cb < cin; cb += KC) {
            int kc = cin - cb < KC ? cin - cb : KC;
            size_t kidx = (size_t)t * cin + cb;
            int accumulate = kidx > 0;
            const ipiqa_epilogue *last = (t == taps - 1 && cb + kc >= cin) ? ep : 0;
            for (int nb = c0; nb < c1; nb += NC) {
                int ne = c1 - nb < NC ? c1 : nb + NC;
                for (long q = 0; q < pixels; q += MR) {
                    int mr = pixels - q < MR ? (int)(pixels - q) : MR;
                    const float *rows[MR];
                    for (int r = 0; r < mr; r++) {
                        int ih = ih0[q + r] + i, iw = iw0[q + r] + j;
                        rows[r] = (ih >= 0 && ih < h && iw >= 0 && iw < w)
                            ? x + (size_t)(base[q + r] + (long)i * w + j) * cin + cb : zero_row;
                    }
                    for (int jj = nb; jj < ne; jj += NR) {
                        const float *bp = packed + (size_t)(jj / NR) * NR * k + kidx * NR;
                        kf32p_table[mr](kc, rows, bp, y + (size_t)q * ldy + (jj - c0), ldy, ne - jj, accumulate, last,
                                        jj - c0, (int)q);
                    }
                }
            }
        }
    }
    free(base);
}

// ---------------- fp32 convolution weight gradient without im2col ----------------
// dWᵀ[(tap, ci)][co] = Σ_p x_tap[p][ci] · dy[p][co] as C = A · Bᵀ with k = pixels: a register tile is 12 consecutive
// input channels of one tap (rows) × 32 output channels; per k step (one output pixel) it broadcasts the 12 channel
// values of the input pixel that this output pixel reads at the tap — a pointer per pixel (a zero row in the padding)
// — and loads 32 values of dy from dy packed in 32-channel panels (ipiqa_pack_f32_t).

// Pixels per k-block of the weight-gradient kernel (128 measured no faster than 256 on RN50 training).
#define WKC KC

#define KERNEL_F32C(R)                                                                                                 \
    static F32_TARGET void kf32c_##R(int kc, const float *const *cols, int offset, const float *b, float *c, int ldc, \
                                     int nr, int accumulate) {                                                         \
        __m512 c0[R], c1[R];                                                                                           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); } \
        for (int kk = 0; kk < kc; kk++) {                                                                              \
            const float *ap = cols[kk] + offset;                                                                       \
            __m512 b0 = _mm512_load_ps(b + (size_t)kk * NR), b1 = _mm512_load_ps(b + (size_t)kk * NR + 16);            \
            _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                     \
                __m512 av = _mm512_set1_ps(ap[r]);                                                                     \
                c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);                                                                \
                c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);                                                                \
            }                                                                                                          \
        }                                                                                                              \
        finish_tile(c0, c1, R, c, ldc, nr, accumulate, 0, 0, 0);                                                       \
    }

KERNEL_F32C(1) KERNEL_F32C(2) KERNEL_F32C(3) KERNEL_F32C(4) KERNEL_F32C(5) KERNEL_F32C(6)
KERNEL_F32C(7) KERNEL_F32C(8) KERNEL_F32C(9) KERNEL_F32C(10) KERNEL_F32C(11) KERNEL_F32C(12)

typedef void (*kf32c_fn)(int, const float *const *, int, const float *, float *, int, int, int);
static const kf32c_fn kf32c_table[MR + 1] = {0, kf32c_1, kf32c_2, kf32c_3, kf32c_4, kf32c_5, kf32c_6,
                                             kf32c_7, kf32c_8, kf32c_9, kf32c_10, kf32c_11, kf32c_12};

void ipiqa_conv_wgrad_f32(const float *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH,
                          int outW, long p0, long p1, int ci0, int ci1, const float *dyPacked, int cout, float *dwt,
                          int accumulate) {
    long pixels = p1 - p0;
    if (pixels <= 0) return;
    long *base = (long *)malloc((size_t)pixels * (sizeof(long) + 2 * sizeof(int)) + (size_t)WKC * sizeof(float *));
    if (!base) return;
    int *ih0 = (int *)(base + pixels), *iw0 = ih0 + pixels;
    const float **cols = (const float **)(iw0 + pixels);
    for (long q = 0; q < pixels; q++) {
        long pix = p0 + q;
        int ow = (int)(pix % outW);
        long rowIndex = pix / outW;
        int oh = (int)(rowIndex % outH);
        long b = rowIndex / outH;
        ih0[q] = oh * stride - pad;
        iw0[q] = ow * stride - pad;
        base[q] = (b * h + ih0[q]) * (long)w + iw0[q];
    }
    int taps = kh * kw;
    for (long kb = 0; kb < pixels; kb += WKC) {
        int kc = pixels - kb < WKC ? (int)(pixels - kb) : WKC;
        int acc = accumulate || kb > 0;
        for (int t = 0; t < taps; t++) {
            int i = t / kw, j = t % kw;
            for (int kk = 0; kk < kc; kk++) {
                long q = kb + kk;
                int ih = ih0[q] + i, iw = iw0[q] + j;
                cols[kk] = (ih >= 0 && ih < h && iw >= 0 && iw < w) ? x + (size_t)(base[q] + (long)i * w + j) * cin
                                                                     : zero_row_big;
            }
            for (int nb = 0; nb < cout; nb += NC) {
                int ne = cout - nb < NC ? cout : nb + NC;
                for (int ci = ci0; ci < ci1; ci += MR) {
                    int mr = ci1 - ci < MR ? ci1 - ci : MR;
                    float *crow = dwt + ((size_t)t * cin + ci) * cout;
                    for (int jj = nb; jj < ne; jj += NR) {
                        const float *bp = dyPacked + (size_t)(jj / NR) * NR * pixels + (size_t)kb * NR;
                        kf32c_table[mr](kc, cols, ci, bp, crow + jj, cout, ne - jj, acc);
                    }
                }
            }
        }
    }
    free(base);
}

// ---------------- bf16 ----------------

int ipiqa_bf16_row(int k) { return (k + 1) & ~1; }

size_t ipiqa_packed_count_bf16(int n, int k) { return (size_t)((n + NR - 1) / NR) * NR * (size_t)ipiqa_bf16_row(k); }

void ipiqa_pack_bf16(const float *w, int n, int k, int ldw, uint16_t *packed) {
    int panels = (n + NR - 1) / NR, k2 = ipiqa_bf16_row(k);
    for (int p = 0; p < panels; p++) {
        uint16_t *dst = packed + (size_t)p * NR * k2;
        for (int j = 0; j < NR; j++) {
            int row = p * NR + j;
            const float *src = row < n ? w + (size_t)row * ldw : 0;
            for (int kk = 0; kk < k2; kk++) {
                float v = (src && kk < k) ? src[kk] : 0.0f;
                dst[(size_t)(kk / 2) * NR * 2 + (size_t)j * 2 + (kk & 1)] = bf16_round(v);
            }
        }
    }
}

static BF16_TARGET void convert_bf16_avx512(const float *a, int m, int k, int lda, uint16_t *out) {
    int k2 = ipiqa_bf16_row(k);
    for (int i = 0; i < m; i++) {
        const float *src = a + (size_t)i * lda;
        uint16_t *dst = out + (size_t)i * k2;
        int kk = 0;
        for (; kk + 32 <= k; kk += 32) {
            // vcvtne2ps2bf16 rounds to nearest even (NaN stays NaN); the second operand fills the low half.
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + kk + 16), _mm512_loadu_ps(src + kk));
            _mm512_storeu_si512((void *)(dst + kk), (__m512i)v);
        }
        for (; kk < k; kk++) dst[kk] = bf16_round(src[kk]);
        if (k2 > k) dst[k] = 0;
    }
}

void ipiqa_convert_bf16(const float *a, int m, int k, int lda, uint16_t *out) {
    if (ipiqa_has_avx512bf16()) { convert_bf16_avx512(a, m, k, lda, out); return; }
    int k2 = ipiqa_bf16_row(k);
    for (int i = 0; i < m; i++) {
        const float *src = a + (size_t)i * lda;
        uint16_t *dst = out + (size_t)i * k2;
        for (int kk = 0; kk < k; kk++) dst[kk] = bf16_round(src[kk]);
        if (k2 > k) dst[k] = 0;
    }
}

#define KERNEL_BF16(R)                                                                                                 \
    static BF16_TARGET void kbf16_##R(int kc2, const uint16_t *a, int lda, const uint16_t *b, float *c, int ldc,       \
                                      int nr, int accumulate, const ipiqa_epilogue *ep, int col, int row) {            \
        __m512 c0[R], c1[R];                                                                                           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); } \
        for (int kp = 0; kp < kc2; kp++) {                                                                             \
            __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)(b + (size_t)kp * NR * 2));                        \
            __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(b + (size_t)kp * NR * 2 + 32));                   \
            _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                     \
                uint32_t pair;                                                                                         \
                memcpy(&pair, a + (size_t)r * lda + 2 * (size_t)kp, 4);                                                \
                __m512bh av = (__m512bh)_mm512_set1_epi32((int)pair);                                                  \
                c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);                                                               \
                c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);                                                               \
            }                                                                                                          \
        }                                                                                                              \
        finish_tile(c0, c1, R, c, ldc, nr, accumulate, ep, col, row);                                                  \
    }

KERNEL_BF16(1) KERNEL_BF16(2) KERNEL_BF16(3) KERNEL_BF16(4) KERNEL_BF16(5) KERNEL_BF16(6)
KERNEL_BF16(7) KERNEL_BF16(8) KERNEL_BF16(9) KERNEL_BF16(10) KERNEL_BF16(11) KERNEL_BF16(12)

typedef void (*kbf16_fn)(int, const uint16_t *, int, const uint16_t *, float *, int, int, int, const ipiqa_epilogue *, int, int);
static const kbf16_fn kbf16_table[MR + 1] = {0, kbf16_1, kbf16_2, kbf16_3, kbf16_4, kbf16_5, kbf16_6,
                                             kbf16_7, kbf16_8, kbf16_9, kbf16_10, kbf16_11, kbf16_12};

void ipiqa_gemm_bf16(int m, int n, int k, const uint16_t *a, const uint16_t *packed, float *c, int ldc,
                     const ipiqa_epilogue *ep) {
    int k2 = ipiqa_bf16_row(k);  // bf16 values per row (even)
    for (int kb = 0; kb < k2; kb += 2 * KC) {
        const ipiqa_epilogue *last = kb + 2 * KC >= k2 ? ep : 0;
        int kc = k2 - kb < 2 * KC ? k2 - kb : 2 * KC;
        for (int nb = 0; nb < n; nb += NC) {
            int ne = n - nb < NC ? n : nb + NC;
            for (int i = 0; i < m; i += MR) {
                int mr = m - i < MR ? m - i : MR;
                for (int j = nb; j < ne; j += NR) {
                    const uint16_t *bp = packed + (size_t)(j / NR) * NR * k2 + (size_t)kb * NR;
                    kbf16_table[mr](kc / 2, a + (size_t)i * k2 + kb, k2, bp, c + (size_t)i * ldc + j, ldc, ne - j, kb > 0,
                                    last, j, i);
                }
            }
        }
    }
}
