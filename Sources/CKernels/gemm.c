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
// Most bf16 values per k-block (see bf16_k_step).
#define BF16_KMAX 640

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

// The body every fp32 microkernel shares: an R×32 register tile C (c0: columns 0–15, c1: 16–31) accumulated over kc
// steps of B (packed, 32 floats per step) times the column of A given by AVAL(r, kk) — the kernels differ only in
// where row r's value at step kk lives.
#define F32_TILE(R, kc, b, AVAL)                                                                                       \
    __m512 c0[R], c1[R];                                                                                               \
    _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); } \
    for (int kk = 0; kk < (kc); kk++) {                                                                                \
        __m512 b0 = _mm512_load_ps((b) + (size_t)kk * NR), b1 = _mm512_load_ps((b) + (size_t)kk * NR + 16);            \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                         \
            __m512 av = _mm512_set1_ps(AVAL(r, kk));                                                                   \
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);                                                                    \
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);                                                                    \
        }                                                                                                              \
    }

#define A_ROWS(r, kk) a[(size_t)(r) * lda + (kk)]
#define KERNEL_F32(R)                                                                                                  \
    static F32_TARGET void kf32_##R(int kc, const float *a, int lda, const float *b, float *c, int ldc, int nr,        \
                                    int accumulate, const ipiqa_epilogue *ep, int col, int row) {                      \
        F32_TILE(R, kc, b, A_ROWS)                                                                                     \
        finish_tile(c0, c1, R, c, ldc, nr, accumulate, ep, col, row);                                                  \
    }

KERNEL_F32(1) KERNEL_F32(2) KERNEL_F32(3) KERNEL_F32(4) KERNEL_F32(5) KERNEL_F32(6)
KERNEL_F32(7) KERNEL_F32(8) KERNEL_F32(9) KERNEL_F32(10) KERNEL_F32(11) KERNEL_F32(12)

typedef void (*kf32_fn)(int, const float *, int, const float *, float *, int, int, int, const ipiqa_epilogue *, int, int);
static const kf32_fn kf32_table[MR + 1] = {0, kf32_1, kf32_2, kf32_3, kf32_4, kf32_5, kf32_6,
                                           kf32_7, kf32_8, kf32_9, kf32_10, kf32_11, kf32_12};

// Rows of register tile t when m rows are cut into ceil(m / 12) tiles of near-equal size (e.g. 49 → 10, 10, 10, 10, 9
// rather than 12, 12, 12, 12, 1): a tile of fewer than 4 rows has too few independent FMA chains to hide the FMA
// latency and costs up to 4× more per row. Each row's result is the same whichever tile it lands in.
static inline int balanced_tile_rows(long m, long tiles, long t) { return (int)(m / tiles + (t < m % tiles)); }

void ipiqa_gemm_f32(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc,
                    const ipiqa_epilogue *ep) {
    for (int kb = 0; kb < k; kb += KC) {
        const ipiqa_epilogue *last = kb + KC >= k ? ep : 0;
        int kc = k - kb < KC ? k - kb : KC;
        for (int nb = 0; nb < n; nb += NC) {
            int ne = n - nb < NC ? n : nb + NC;
            int tiles = (m + MR - 1) / MR;
            for (int t = 0, i = 0; t < tiles; i += balanced_tile_rows(m, tiles, t), t++) {
                int mr = balanced_tile_rows(m, tiles, t);
                for (int j = nb; j < ne; j += NR) {
                    const float *bp = packed + (size_t)(j / NR) * NR * k + (size_t)kb * NR;
                    kf32_table[mr](kc, a + (size_t)i * lda + kb, lda, bp, c + (size_t)i * ldc + j, ldc, ne - j, kb > 0, last,
                                   j, i);
                }
            }
        }
    }
}

// Per-thread scratch buffers (64-byte aligned, grown on demand, kept for the thread's lifetime): the packing buffers of
// kernels called once per layer would otherwise be mmapped and page-faulted on every call.
static void *scratch_reserve(int slot, size_t bytes) {
    static __thread void *buffers[2];
    static __thread size_t sizes[2];
    if (sizes[slot] < bytes) {
        free(buffers[slot]);
        size_t size = (bytes + 4095) & ~(size_t)4095;
        buffers[slot] = aligned_alloc(64, size);
        sizes[slot] = buffers[slot] ? size : 0;
    }
    return buffers[slot];
}

// For output pixels p0..<p0+pixels (flattened n·outH·outW): the flat index (n·h + ih)·w + iw of each one's top-left
// tap in the NHWC input (it may lie outside) and that tap's row ih and column iw.
static void pixel_origins(long p0, long pixels, int h, int w, int stride, int pad, int outH, int outW, long *base,
                          int *ih0, int *iw0) {
    for (long q = 0; q < pixels; q++) {
        long pix = p0 + q;
        int ow = (int)(pix % outW);
        long rowIndex = pix / outW;
        int oh = (int)(rowIndex % outH);
        long n = rowIndex / outH;
        ih0[q] = oh * stride - pad;
        iw0[q] = ow * stride - pad;
        base[q] = (n * h + ih0[q]) * (long)w + iw0[q];
    }
}

// ---------------- fp32 convolution without im2col ----------------
// The same 12×32 register tile, but each of the 12 rows of A is its own pointer: the input pixel that this output pixel
// reads at the current kernel tap (or a zero row in the padding), so the convolution runs straight from the NHWC input.
// A k-block never crosses a tap: it is (tap, channels cb…cb+kc) of the (i, j, c) ordered patch.

#define A_POINTERS(r, kk) ar[r][kk]
#define KERNEL_F32P(R)                                                                                                 \
    static F32_TARGET void kf32p_##R(int kc, const float *const *rows, const float *b, float *c, int ldc, int nr,     \
                                     int accumulate, const ipiqa_epilogue *ep, int col, int row) {                     \
        const float *ar[R];                                                                                            \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) ar[r] = rows[r];                                          \
        F32_TILE(R, kc, b, A_POINTERS)                                                                                 \
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
    long *base = (long *)scratch_reserve(1, (size_t)pixels * (sizeof(long) + 2 * sizeof(int)));
    if (!base) return;
    int *ih0 = (int *)(base + pixels), *iw0 = ih0 + pixels;
    pixel_origins(p0, pixels, h, w, stride, pad, outH, outW, base, ih0, iw0);
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
                long tiles = (pixels + MR - 1) / MR, q = 0;
                for (long tt = 0; tt < tiles; q += balanced_tile_rows(pixels, tiles, tt), tt++) {
                    int mr = balanced_tile_rows(pixels, tiles, tt);
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
}

// ---------------- fp32 convolution weight gradient without im2col ----------------
// dW[co][(tap, ci)] = Σ_p dy[p][co] · x_tap[p][ci] as C = A · B with k = output pixels, written straight into dW's
// [cout][kh][kw][cin] layout. Both operands are packed in small blocks that stay in cache (Goto's scheme):
//   for each block of WKC pixels: pack dy's columns co0…co1 as 12-channel tiles A[tile][kk][12] (reused by every tap)
//     for each tap, each block of WCB input channels: pack that tap's input rows as 32-channel panels B[panel][kk][32]
//       (zero rows in the padding, zero columns past ci1)
//       for each panel (in L1) × each tile: a 12×32 register tile of C, accumulated across pixel blocks.

// Pixels per block, input channels per packed block of B, output channels per packed block of A.
#define WKC 256
#define WCB 256
#define WCO 480

#define A_TILES(r, kk) a[(size_t)(kk) * MR + (r)]
#define KERNEL_F32W(R)                                                                                                 \
    static F32_TARGET void kf32w_##R(int kc, const float *a, const float *b, float *c, int ldc, int nr,               \
                                     int accumulate) {                                                                 \
        F32_TILE(R, kc, b, A_TILES)                                                                                    \
        finish_tile(c0, c1, R, c, ldc, nr, accumulate, 0, 0, 0);                                                       \
    }

KERNEL_F32W(1) KERNEL_F32W(2) KERNEL_F32W(3) KERNEL_F32W(4) KERNEL_F32W(5) KERNEL_F32W(6)
KERNEL_F32W(7) KERNEL_F32W(8) KERNEL_F32W(9) KERNEL_F32W(10) KERNEL_F32W(11) KERNEL_F32W(12)

typedef void (*kf32w_fn)(int, const float *, const float *, float *, int, int, int);
static const kf32w_fn kf32w_table[MR + 1] = {0, kf32w_1, kf32w_2, kf32w_3, kf32w_4, kf32w_5, kf32w_6,
                                             kf32w_7, kf32w_8, kf32w_9, kf32w_10, kf32w_11, kf32w_12};

// A[t][kk][r] = dy[(p0 + kk)·cout + co + 12t + r] for the tiles of co…co1 (0 past co1). Row by row, so that dy is
// read sequentially.
static F32_TARGET void pack_dy_tiles(const float *dy, int cout, long p0, int kc, int co, int co1, float *a) {
    int tiles = (co1 - co + MR - 1) / MR;
    __mmask16 last = lane_mask(co1 - co - (tiles - 1) * MR), full = lane_mask(MR);
    for (int kk = 0; kk < kc; kk++) {
        const float *src = dy + (size_t)(p0 + kk) * cout + co;
        for (int t = 0; t < tiles; t++) {
            _mm512_mask_storeu_ps(a + ((size_t)t * kc + kk) * MR, full,
                                  _mm512_maskz_loadu_ps(t == tiles - 1 ? last : full, src + (size_t)t * MR));
        }
    }
}

// B[panel][kk][j] = rows[kk][ci + 32·panel + j] for ci…ci1 (0 past ci1).
static F32_TARGET void pack_x_panels(const float *const *rows, int kc, int ci, int ci1, float *b) {
    for (int c = ci, p = 0; c < ci1; c += NR, p++) {
        int nr = ci1 - c < NR ? ci1 - c : NR;
        __mmask16 m0 = lane_mask(nr), m1 = lane_mask(nr - 16);
        float *dst = b + (size_t)p * kc * NR;
        for (int kk = 0; kk < kc; kk++) {
            const float *src = rows[kk] + c;
            _mm512_store_ps(dst + (size_t)kk * NR, _mm512_maskz_loadu_ps(m0, src));
            _mm512_store_ps(dst + (size_t)kk * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
        }
    }
}

void ipiqa_conv_wgrad_f32(const float *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH,
                          int outW, long pixels, const float *dy, int cout, int co0, int co1, int ci0, int ci1,
                          float *dw) {
    if (pixels <= 0 || co1 <= co0 || ci1 <= ci0) return;
    int coBlock = WCO < co1 - co0 ? WCO : co1 - co0;
    // WKC·MR is a multiple of 16 floats, so b (after a) stays 64-byte aligned for the aligned panel stores.
    size_t aFloats = (size_t)((coBlock + MR - 1) / MR) * WKC * MR;
    size_t bFloats = (size_t)((WCB + NR - 1) / NR) * WKC * NR;
    size_t meta = (size_t)pixels * (sizeof(long) + 2 * sizeof(int)) + (size_t)WKC * sizeof(float *);
    float *a = (float *)scratch_reserve(0, (aFloats + bFloats) * sizeof(float));
    long *base = (long *)scratch_reserve(1, meta);
    if (!a || !base) return;
    float *b = a + aFloats;
    int *ih0 = (int *)(base + pixels), *iw0 = ih0 + pixels;
    const float **rows = (const float **)(iw0 + pixels);
    pixel_origins(0, pixels, h, w, stride, pad, outH, outW, base, ih0, iw0);
    int taps = kh * kw;
    size_t ldc = (size_t)taps * cin;
    for (long kb = 0; kb < pixels; kb += WKC) {
        int kc = pixels - kb < WKC ? (int)(pixels - kb) : WKC;
        int acc = kb > 0;
        for (int cb0 = co0; cb0 < co1; cb0 += coBlock) {
            int cb1 = co1 - cb0 < coBlock ? co1 : cb0 + coBlock;
            pack_dy_tiles(dy, cout, kb, kc, cb0, cb1, a);
            for (int t = 0; t < taps; t++) {
                int i = t / kw, j = t % kw;
                for (int kk = 0; kk < kc; kk++) {
                    long q = kb + kk;
                    int ih = ih0[q] + i, iw = iw0[q] + j;
                    rows[kk] = (ih >= 0 && ih < h && iw >= 0 && iw < w) ? x + (size_t)(base[q] + (long)i * w + j) * cin
                                                                        : zero_row_big;
                }
                for (int ib = ci0; ib < ci1; ib += WCB) {
                    int ie = ci1 - ib < WCB ? ci1 : ib + WCB;
                    pack_x_panels(rows, kc, ib, ie, b);
                    for (int ci = ib, p = 0; ci < ie; ci += NR, p++) {
                        int nr = ie - ci < NR ? ie - ci : NR;
                        const float *bp = b + (size_t)p * kc * NR;
                        for (int co = cb0, tt = 0; co < cb1; co += MR, tt++) {
                            int mr = cb1 - co < MR ? cb1 - co : MR;
                            kf32w_table[mr](kc, a + (size_t)tt * kc * MR, bp, dw + (size_t)co * ldc + (size_t)t * cin + ci,
                                            (int)ldc, nr, acc);
                        }
                    }
                }
            }
        }
    }
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

// Starts loading the lines the tile's finish will touch — C's rows (for writing, or for reading when accumulating) and
// the residual's rows — so that they arrive while the k loop runs instead of stalling the epilogue. The 1×1
// convolutions with few input channels spend only ~800 cycles per tile in the k loop and find C and the residual in
// memory: RN50's 64 → 256 layers ran ~12 % faster with it (one thread, 128×128 pixels). c may be NULL (nothing in C
// to touch: a bf16-output tile without earlier k-blocks).
static inline __attribute__((always_inline)) void prefetch_tile(int R, const float *c, int ldc, int accumulate,
                                                                const ipiqa_epilogue *ep, int col, int row) {
    for (int r = 0; c && r < R; r++) {
        const float *cr = c + (size_t)r * ldc;
        if (accumulate) { __builtin_prefetch(cr, 0, 3); __builtin_prefetch(cr + 16, 0, 3); }
        else { __builtin_prefetch(cr, 1, 3); __builtin_prefetch(cr + 16, 1, 3); }
    }
    if (ep && ep->residual) {
        for (int r = 0; r < R; r++) {
            const float *q = ep->residual + (size_t)(row + r) * ep->ldr + col;
            __builtin_prefetch(q, 0, 3);
            __builtin_prefetch(q + 16, 0, 3);
        }
    }
}

// finish_tile for a tile whose result is stored as bf16 (round to nearest even) into c16 (row stride ldc16): partial sums
// of earlier k-blocks come from the fp32 scratch c (accumulate ≠ 0), then the epilogue, then the rounding. The same
// values as finishing in fp32 and rounding them later, without the fp32 round trip through memory.
static BF16_TARGET inline __attribute__((always_inline)) void finish_tile16(__m512 *c0, __m512 *c1, int R, const float *c,
                                                                           int ldc, uint16_t *c16, int ldc16, int nr,
                                                                           int accumulate, const ipiqa_epilogue *ep,
                                                                           int col, int row) {
    __mmask16 m0 = lane_mask(nr), m1 = lane_mask(nr - 16);
    if (accumulate) {
        for (int r = 0; r < R; r++) {
            const float *cr = c + (size_t)r * ldc;
            c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));
            c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
        }
    }
    if (ep) epilogue_tile(c0, c1, R, ep, col, row, m0, m1);
    for (int r = 0; r < R; r++) {
        uint16_t *dr = c16 + (size_t)r * ldc16;
        if (nr >= 32) {
            _mm512_storeu_si512((void *)dr, (__m512i)_mm512_cvtne2ps_pbh(c1[r], c0[r]));
        } else {
            _mm256_mask_storeu_epi16(dr, m0, (__m256i)_mm512_cvtneps_pbh(c0[r]));
            if (nr > 16) _mm256_mask_storeu_epi16(dr + 16, m1, (__m256i)_mm512_cvtneps_pbh(c1[r]));
        }
    }
}

// The bf16 microkernel. c16 == NULL: the finished tile goes to C (fp32). c16 ≠ NULL (last k-block of a bf16-output
// GEMM): it goes to c16 as bf16, with earlier k-blocks' partial sums read from C.
#define KERNEL_BF16(R)                                                                                                 \
    static BF16_TARGET void kbf16_##R(int kc2, const uint16_t *a, int lda, const uint16_t *b, float *c, int ldc,       \
                                      uint16_t *c16, int ldc16, int nr, int accumulate, const ipiqa_epilogue *ep,      \
                                      int col, int row) {                                                              \
        __m512 c0[R], c1[R];                                                                                           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); } \
        if (c16) for (int r = 0; r < R; r++) __builtin_prefetch(c16 + (size_t)r * ldc16, 1, 3);                       \
        prefetch_tile(R, c16 && !accumulate ? 0 : c, ldc, accumulate, ep, col, row);                                   \
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
        if (c16) finish_tile16(c0, c1, R, c, ldc, c16, ldc16, nr, accumulate, ep, col, row);                          \
        else finish_tile(c0, c1, R, c, ldc, nr, accumulate, ep, col, row);                                             \
    }

KERNEL_BF16(1) KERNEL_BF16(2) KERNEL_BF16(3) KERNEL_BF16(4) KERNEL_BF16(5) KERNEL_BF16(6)
KERNEL_BF16(7) KERNEL_BF16(8) KERNEL_BF16(9) KERNEL_BF16(10) KERNEL_BF16(11) KERNEL_BF16(12)

typedef void (*kbf16_fn)(int, const uint16_t *, int, const uint16_t *, float *, int, uint16_t *, int, int, int,
                         const ipiqa_epilogue *, int, int);
static const kbf16_fn kbf16_table[MR + 1] = {0, kbf16_1, kbf16_2, kbf16_3, kbf16_4, kbf16_5, kbf16_6,
                                             kbf16_7, kbf16_8, kbf16_9, kbf16_10, kbf16_11, kbf16_12};

// bf16 values per k-block: the fewest blocks of at most BF16_KMAX values, of near-equal size (even). A last block of a
// few values would cost a whole extra pass over C (reload, add, store) for little work — k = 576 (RN50's 64-channel
// 3×3 layers) ran as 512 + 64.
static inline int bf16_k_step(int k2) {
    int blocks = (k2 + BF16_KMAX - 1) / BF16_KMAX;
    int step = (k2 + blocks - 1) / blocks;
    return (step + 1) & ~1;
}

// The loop nest of the bf16 drivers: k-blocks (bf16_k_step) → NC-column blocks → balanced row tiles → 32-column
// panels. TILE runs per panel with `kb`, `kc`, `last` (ep on the last k-block, else NULL), `i` (first row), `mr`, `j`,
// `bp` (the panel's packed weights from kb), `cp` (C at the tile, NULL without C) and `out16` (c16 at the tile on the
// last k-block, else NULL) in scope.
#define BF16_TILES(m, n, k2, packed, c, ldc, c16, ldc16, ep, TILE)                                                   \
    do {                                                                                                               \
        int step_ = bf16_k_step(k2);                                                                                   \
        for (int kb = 0; kb < (k2); kb += step_) {                                                                     \
            int lastBlock_ = kb + step_ >= (k2);                                                                       \
            const ipiqa_epilogue *last = lastBlock_ ? (ep) : 0;                                                        \
            int kc = (k2) - kb < step_ ? (k2) - kb : step_;                                                            \
            for (int nb_ = 0; nb_ < (n); nb_ += NC) {                                                                  \
                int ne_ = (n) - nb_ < NC ? (n) : nb_ + NC;                                                             \
                long tiles_ = ((m) + MR - 1) / MR, i = 0;                                                              \
                for (long t_ = 0; t_ < tiles_; i += balanced_tile_rows((m), tiles_, t_), t_++) {                       \
                    int mr = balanced_tile_rows((m), tiles_, t_);                                                      \
                    for (int j = nb_; j < ne_; j += NR) {                                                              \
                        const uint16_t *bp = (packed) + (size_t)(j / NR) * NR * (k2) + (size_t)kb * NR;                \
                        float *cp = (c) ? (c) + (size_t)i * (ldc) + j : 0;                                             \
                        uint16_t *out16 = lastBlock_ && (c16) ? (c16) + (size_t)i * (ldc16) + j : 0;                   \
                        int nr = ne_ - j;                                                                              \
                        TILE;                                                                                          \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    } while (0)

// C = A·Wᵀ over k-blocks; with c16 the last k-block stores bf16 into c16 (C then only holds earlier blocks' sums).
static void gemm_bf16(int m, int n, int k, const uint16_t *a, const uint16_t *packed, float *c, int ldc, uint16_t *c16,
                      int ldc16, const ipiqa_epilogue *ep) {
    int k2 = ipiqa_bf16_row(k);  // bf16 values per row (even)
    BF16_TILES(m, n, k2, packed, c, ldc, c16, ldc16, ep,
               kbf16_table[mr](kc / 2, a + (size_t)i * k2 + kb, k2, bp, cp, ldc, out16, ldc16, nr, kb > 0, last, j, (int)i));
}

void ipiqa_gemm_bf16(int m, int n, int k, const uint16_t *a, const uint16_t *packed, float *c, int ldc,
                     const ipiqa_epilogue *ep) {
    gemm_bf16(m, n, k, a, packed, c, ldc, 0, 0, ep);
}

int ipiqa_bf16_k_blocks(int k) {
    int k2 = ipiqa_bf16_row(k), step = bf16_k_step(k2);
    return (k2 + step - 1) / step;
}

void ipiqa_gemm_bf16_out16(int m, int n, int k, const uint16_t *a, const uint16_t *packed, float *scratch, int ldscratch,
                           uint16_t *c16, int ldc16, const ipiqa_epilogue *ep) {
    gemm_bf16(m, n, k, a, packed, scratch, ldscratch, c16, ldc16, ep);
}

// ---------------- bf16 convolution straight from bf16 activations ----------------
// The bf16 register tile with one A pointer per (row, kernel tap): the input pixel this output pixel reads at that tap
// (or a zero row in the padding), so a convolution whose input map is already bf16 needs no im2col. The k-blocks, the
// order of the products within a block and the finish are those of ipiqa_gemm_bf16 over the im2col rows, so the
// results are bit-identical to it.

#define BF16_ZERO_ROW 4096
static const uint16_t zero_row16[BF16_ZERO_ROW] __attribute__((aligned(64)));

#define KERNEL_BF16D(R)                                                                                                \
    static BF16_TARGET void kbf16d_##R(int kb, int kc, const uint16_t *const *rows, int taps, int cin,                \
                                       const uint16_t *b, float *c, int ldc, uint16_t *c16, int ldc16, int nr,         \
                                       int accumulate, const ipiqa_epilogue *ep, int col, int row) {                   \
        __m512 c0[R], c1[R];                                                                                           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); } \
        if (c16) for (int r = 0; r < R; r++) __builtin_prefetch(c16 + (size_t)r * ldc16, 1, 3);                       \
        prefetch_tile(R, c16 && !accumulate ? 0 : c, ldc, accumulate, ep, col, row);                                   \
        for (int kk = kb, end = kb + kc; kk < end;) {                                                                  \
            int t = kk / cin, ci = kk - t * cin;                                                                       \
            int run = cin - ci < end - kk ? cin - ci : end - kk;                                                       \
            const uint16_t *ar[R];                                                                                     \
            _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) ar[r] = rows[r * taps + t] + ci;                     \
            for (int kp = 0; kp < run / 2; kp++) {                                                                     \
                __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)b);                                            \
                __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(b + 32));                                     \
                b += NR * 2;                                                                                           \
                _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                                 \
                    uint32_t pair;                                                                                     \
                    memcpy(&pair, ar[r] + 2 * (size_t)kp, 4);                                                          \
                    __m512bh av = (__m512bh)_mm512_set1_epi32((int)pair);                                              \
                    c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);                                                           \
                    c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);                                                           \
                }                                                                                                      \
            }                                                                                                          \
            kk += run;                                                                                                 \
        }                                                                                                              \
        if (c16) finish_tile16(c0, c1, R, c, ldc, c16, ldc16, nr, accumulate, ep, col, row);                          \
        else finish_tile(c0, c1, R, c, ldc, nr, accumulate, ep, col, row);                                             \
    }

KERNEL_BF16D(1) KERNEL_BF16D(2) KERNEL_BF16D(3) KERNEL_BF16D(4) KERNEL_BF16D(5) KERNEL_BF16D(6)
KERNEL_BF16D(7) KERNEL_BF16D(8) KERNEL_BF16D(9) KERNEL_BF16D(10) KERNEL_BF16D(11) KERNEL_BF16D(12)

typedef void (*kbf16d_fn)(int, int, const uint16_t *const *, int, int, const uint16_t *, float *, int, uint16_t *, int,
                          int, int, const ipiqa_epilogue *, int, int);
static const kbf16d_fn kbf16d_table[MR + 1] = {0, kbf16d_1, kbf16d_2, kbf16d_3, kbf16d_4, kbf16d_5, kbf16d_6,
                                               kbf16d_7, kbf16d_8, kbf16d_9, kbf16d_10, kbf16d_11, kbf16d_12};

int ipiqa_conv_bf16_direct_supported(int cin, int kh, int kw) {
    return ipiqa_has_avx512bf16() && cin % 2 == 0 && cin <= BF16_ZERO_ROW && kh * kw <= 64;
}

void ipiqa_conv_bf16_direct(const uint16_t *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH,
                            int outW, long p0, long p1, const uint16_t *packed, int n, float *c, int ldc, uint16_t *c16,
                            int ldc16, const ipiqa_epilogue *ep) {
    long m = p1 - p0;
    if (m <= 0 || n <= 0) return;
    int taps = kh * kw, k2 = taps * cin;  // cin even: k2 = k
    // Each output pixel's input row at each tap (or the zero row), once for all k-blocks and column blocks.
    long *base = (long *)scratch_reserve(1, (size_t)m * (sizeof(long) + 2 * sizeof(int)));
    const uint16_t **all = (const uint16_t **)scratch_reserve(0, (size_t)m * taps * sizeof(void *));
    if (!base || !all) return;
    int *ih0 = (int *)(base + m), *iw0 = ih0 + m;
    pixel_origins(p0, m, h, w, stride, pad, outH, outW, base, ih0, iw0);
    for (long q = 0; q < m; q++) {
        const uint16_t **row = all + q * taps;
        for (int ti = 0; ti < kh; ti++) {
            int ih = ih0[q] + ti;
            for (int tj = 0; tj < kw; tj++) {
                int iw = iw0[q] + tj;
                row[ti * kw + tj] = (ih >= 0 && ih < h && iw >= 0 && iw < w) ? x + (size_t)(base[q] + (long)ti * w + tj) * cin
                                                                            : zero_row16;
            }
        }
    }
    BF16_TILES(m, n, k2, packed, c, ldc, c16, ldc16, ep,
               kbf16d_table[mr](kb, kc, all + i * taps, taps, cin, bp, cp, ldc, out16, ldc16, nr, kb > 0, last, j, (int)i));
}
