// Batch-norm (training) and element-wise kernels over channels-last rows: x[r·c + k] is channel k of row r.
// Own code. Each function works on one chunk of rows on the calling thread (the Swift side splits the rows over the
// workers and combines the per-chunk results). Plain C loops written for the auto-vectorizer; every function is
// compiled twice — for AVX-512 and for the baseline ISA — and picks one at run time.
#include "CKernels.h"
#include <immintrin.h>
#include <math.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,evex512")))
#define BLOCK_ROWS 64

// Defines `static name##_avx512(...)`, `static name##_generic(...)` with the same body, and the public `name` that
// dispatches between them.
#define DISPATCH(ret, name, params, args, ...)                                                                        \
    static AVX512 ret name##_avx512 params __VA_ARGS__                                                                       \
    static ret name##_generic params __VA_ARGS__                                                                             \
    ret name params {                                                                                                  \
        if (ipiqa_has_avx512f()) { name##_avx512 args; return; }                                                       \
        name##_generic args;                                                                                           \
    }

// Σ (x − pivot) and Σ (x − pivot)² per channel over rows [0, rows), added into sum / sumsq (double). Rows are summed in
// float over blocks of BLOCK_ROWS, each block folded into the double totals. scratch: 2·c floats.
DISPATCH(void, ipiqa_bn_sums,
         (const float *restrict x, int rows, int c, const float *restrict pivot, double *restrict sum,
          double *restrict sumsq, float *restrict scratch),
         (x, rows, c, pivot, sum, sumsq, scratch), {
    float *restrict s = scratch, *restrict q = scratch + c;
    for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
        int r1 = rows - r0 < BLOCK_ROWS ? rows : r0 + BLOCK_ROWS;
        for (int k = 0; k < c; k++) { s[k] = 0; q[k] = 0; }
        for (int r = r0; r < r1; r++) {
            const float *restrict xr = x + (size_t)r * c;
            for (int k = 0; k < c; k++) { float v = xr[k] - pivot[k]; s[k] += v; q[k] += v * v; }
        }
        for (int k = 0; k < c; k++) { sum[k] += s[k]; sumsq[k] += q[k]; }
    }
})

// y = x·a + b (+ residual) (→ max(·, 0)) per channel, for `rows` rows. residual may be NULL.
DISPATCH(void, ipiqa_bn_apply,
         (const float *restrict x, int rows, int c, const float *restrict a, const float *restrict b,
          const float *restrict residual, int relu, float *restrict y),
         (x, rows, c, a, b, residual, relu, y), {
    for (int r = 0; r < rows; r++) {
        const float *restrict xr = x + (size_t)r * c;
        float *restrict yr = y + (size_t)r * c;
        if (residual) {
            const float *restrict rr = residual + (size_t)r * c;
            if (relu) { for (int k = 0; k < c; k++) { float v = xr[k] * a[k] + b[k] + rr[k]; yr[k] = v > 0 ? v : 0; } }
            else { for (int k = 0; k < c; k++) yr[k] = xr[k] * a[k] + b[k] + rr[k]; }
        } else {
            if (relu) { for (int k = 0; k < c; k++) { float v = xr[k] * a[k] + b[k]; yr[k] = v > 0 ? v : 0; } }
            else { for (int k = 0; k < c; k++) yr[k] = xr[k] * a[k] + b[k]; }
        }
    }
})

// The reductions of the batch-norm backward pass: Σ d and Σ d·(x − mean) per channel, added into sumD / sumDX
// (double, float blocks of BLOCK_ROWS rows), where d = dy, or dy masked by y > 0 when y is given (fused ReLU).
// When masked is not NULL, d is also written there (the gradient that flows on to a residual branch).
// scratch: 2·c floats.
DISPATCH(void, ipiqa_bn_backward_sums,
         (const float *restrict dy, const float *restrict x, const float *restrict y, int rows, int c,
          const float *restrict mean, float *restrict masked, double *restrict sumD, double *restrict sumDX,
          float *restrict scratch),
         (dy, x, y, rows, c, mean, masked, sumD, sumDX, scratch), {
    float *restrict s = scratch, *restrict q = scratch + c;
    for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
        int r1 = rows - r0 < BLOCK_ROWS ? rows : r0 + BLOCK_ROWS;
        for (int k = 0; k < c; k++) { s[k] = 0; q[k] = 0; }
        for (int r = r0; r < r1; r++) {
            const float *restrict g = dy + (size_t)r * c, *restrict xr = x + (size_t)r * c;
            if (y) {
                const float *restrict yr = y + (size_t)r * c;
                if (masked) {
                    float *restrict mr = masked + (size_t)r * c;
                    for (int k = 0; k < c; k++) {
                        float d = yr[k] > 0 ? g[k] : 0;
                        mr[k] = d; s[k] += d; q[k] += d * (xr[k] - mean[k]);
                    }
                } else {
                    for (int k = 0; k < c; k++) { float d = yr[k] > 0 ? g[k] : 0; s[k] += d; q[k] += d * (xr[k] - mean[k]); }
                }
            } else {
                for (int k = 0; k < c; k++) { s[k] += g[k]; q[k] += g[k] * (xr[k] - mean[k]); }
            }
        }
        for (int k = 0; k < c; k++) { sumD[k] += s[k]; sumDX[k] += q[k]; }
    }
})

// dx = p·d + x·u + v per channel, d = dy (masked by y > 0 when y is given). With p = γ/σ̂, u = −p·Σ(d·x̂)/(R·σ̂) and
// v = −p·Σd/R − mean·u this is the batch-norm input gradient p·(d − mean(d) − x̂·mean(d·x̂)).
DISPATCH(void, ipiqa_bn_backward_dx,
         (const float *restrict dy, const float *restrict x, const float *restrict y, int rows, int c,
          const float *restrict p, const float *restrict u, const float *restrict v, float *restrict dx),
         (dy, x, y, rows, c, p, u, v, dx), {
    for (int r = 0; r < rows; r++) {
        const float *restrict g = dy + (size_t)r * c, *restrict xr = x + (size_t)r * c;
        float *restrict o = dx + (size_t)r * c;
        if (y) {
            const float *restrict yr = y + (size_t)r * c;
            for (int k = 0; k < c; k++) { float d = yr[k] > 0 ? g[k] : 0; o[k] = p[k] * d + xr[k] * u[k] + v[k]; }
        } else {
            for (int k = 0; k < c; k++) o[k] = p[k] * g[k] + xr[k] * u[k] + v[k];
        }
    }
})

// out = dy masked by y > 0, over n elements (the ReLU backward).
DISPATCH(void, ipiqa_relu_backward, (const float *restrict dy, const float *restrict y, long n, float *restrict out),
         (dy, y, n, out), {
    for (long i = 0; i < n; i++) out[i] = y[i] > 0 ? dy[i] : 0;
})

// out = max(a + b, 0) over n elements.
DISPATCH(void, ipiqa_add_relu, (const float *restrict a, const float *restrict b, long n, float *restrict out),
         (a, b, n, out), {
    for (long i = 0; i < n; i++) { float v = a[i] + b[i]; out[i] = v > 0 ? v : 0; }
})

// out = a + b over n elements.
// out may be a (in-place accumulation), so no restrict here.
DISPATCH(void, ipiqa_add, (const float *a, const float *b, long n, float *out),
         (a, b, n, out), {
    for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
})

// One Adam / AdamW update over n parameters (torch.optim's formulas, element by element):
//   decoupled: p ← p·decay;  l2: g ← g + l2·p
//   m ← m + w1·(g − m);  v ← v·b2 + w2·g²;  p ← p − step·m / (√v / bc2sqrt + eps)
// Written with intrinsics: the auto-vectorizer leaves this loop scalar (sqrtf may set errno), which made the update
// compute-bound at a third of the memory bandwidth. The tail runs the same vector code under a mask, so every element
// gets bit-identical arithmetic wherever the caller's chunk boundaries fall (resumed runs must match exactly).
static AVX512 void ipiqa_adam_update_avx512(float *restrict p, const float *restrict g, float *restrict m,
                                            float *restrict v, long n, int decoupled, float decay, float l2, float w1,
                                            float b2, float w2, float step, float bc2sqrt, float eps) {
    __m512 vdecay = _mm512_set1_ps(decay), vl2 = _mm512_set1_ps(l2);
    __m512 vw1 = _mm512_set1_ps(w1), vb2 = _mm512_set1_ps(b2), vw2 = _mm512_set1_ps(w2), vstep = _mm512_set1_ps(step);
    __m512 vbc = _mm512_set1_ps(bc2sqrt), veps = _mm512_set1_ps(eps);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 gi = _mm512_maskz_loadu_ps(k, g + i), pi = _mm512_maskz_loadu_ps(k, p + i);
        __m512 mi = _mm512_maskz_loadu_ps(k, m + i), vi = _mm512_maskz_loadu_ps(k, v + i);
        if (decoupled) pi = _mm512_mul_ps(pi, vdecay); else gi = _mm512_fmadd_ps(vl2, pi, gi);
        mi = _mm512_fmadd_ps(vw1, _mm512_sub_ps(gi, mi), mi);
        vi = _mm512_fmadd_ps(_mm512_mul_ps(vw2, gi), gi, _mm512_mul_ps(vi, vb2));
        _mm512_mask_storeu_ps(m + i, k, mi);
        _mm512_mask_storeu_ps(v + i, k, vi);
        __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), vbc), veps);
        _mm512_mask_storeu_ps(p + i, k, _mm512_sub_ps(pi, _mm512_div_ps(_mm512_mul_ps(vstep, mi), denom)));
    }
}

static void ipiqa_adam_update_generic(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                                      long n, int decoupled, float decay, float l2, float w1, float b2, float w2,
                                      float step, float bc2sqrt, float eps) {
    for (long i = 0; i < n; i++) {
        float gi = g[i], pi = p[i];
        if (decoupled) pi *= decay; else gi += l2 * pi;
        float mi = m[i] + w1 * (gi - m[i]);
        float vi = v[i] * b2 + w2 * gi * gi;
        m[i] = mi; v[i] = vi;
        p[i] = pi - step * mi / (__builtin_sqrtf(vi) / bc2sqrt + eps);
    }
}

void ipiqa_adam_update(float *p, const float *g, float *m, float *v, long n, int decoupled, float decay, float l2,
                       float w1, float b2, float w2, float step, float bc2sqrt, float eps) {
    if (ipiqa_has_avx512f()) { ipiqa_adam_update_avx512(p, g, m, v, n, decoupled, decay, l2, w1, b2, w2, step, bc2sqrt, eps); return; }
    ipiqa_adam_update_generic(p, g, m, v, n, decoupled, decay, l2, w1, b2, w2, step, bc2sqrt, eps);
}

// ---- QuickGELU (CLIP's x·σ(1.702x)) with a vectorised exp ----
// exp(t) = 2^n · e^r with n = round(t / ln 2), r = t − n·ln 2 (ln 2 split in two parts, Cody–Waite), e^r from its
// Taylor polynomial to r⁷ (|r| ≤ ln 2 / 2: truncation < 6·10⁻⁹, under half a float ulp), 2^n applied with vscalefps
// (exact, and overflow / underflow to inf / 0 like expf). Measured against expf over [−100, 100]: ≤ 2 ulp.
#define QG_ALPHA 1.702f

static AVX512 inline __m512 exp_avx512(__m512 t) {
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2hi = _mm512_set1_ps(0.693359375f), ln2lo = _mm512_set1_ps(-2.12194440e-4f);
    // Clamped so that n stays small for vscalefps; operand order keeps a NaN (min/max return their second operand
    // when one is NaN).
    t = _mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_min_ps(_mm512_set1_ps(104.0f), t));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ln2hi, t);
    r = _mm512_fnmadd_ps(n, ln2lo, r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// y = x / (1 + e^{−1.702 x}).
static AVX512 void ipiqa_quick_gelu_avx512(const float *restrict x, long n, float *restrict y) {
    const __m512 one = _mm512_set1_ps(1), na = _mm512_set1_ps(-QG_ALPHA);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        __m512 e = exp_avx512(_mm512_mul_ps(na, v));
        _mm512_mask_storeu_ps(y + i, k, _mm512_div_ps(v, _mm512_add_ps(one, e)));
    }
}

static void ipiqa_quick_gelu_generic(const float *restrict x, long n, float *restrict y) {
    for (long i = 0; i < n; i++) y[i] = x[i] / (1 + expf(-QG_ALPHA * x[i]));
}

void ipiqa_quick_gelu(const float *x, long n, float *y) {
    if (ipiqa_has_avx512f()) { ipiqa_quick_gelu_avx512(x, n, y); return; }
    ipiqa_quick_gelu_generic(x, n, y);
}

// dx = dy · (s + 1.702·x·s·(1 − s)), s = σ(1.702 x).
static AVX512 void ipiqa_quick_gelu_backward_avx512(const float *restrict x, const float *restrict dy, long n,
                                                    float *restrict dx) {
    const __m512 one = _mm512_set1_ps(1), na = _mm512_set1_ps(-QG_ALPHA), a = _mm512_set1_ps(QG_ALPHA);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, exp_avx512(_mm512_mul_ps(na, v))));
        __m512 d = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_mul_ps(a, v), s), _mm512_sub_ps(one, s), s);
        _mm512_mask_storeu_ps(dx + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, dy + i), d));
    }
}

static void ipiqa_quick_gelu_backward_generic(const float *restrict x, const float *restrict dy, long n,
                                              float *restrict dx) {
    for (long i = 0; i < n; i++) {
        float s = 1 / (1 + expf(-QG_ALPHA * x[i]));
        dx[i] = dy[i] * (s + QG_ALPHA * x[i] * s * (1 - s));
    }
}

void ipiqa_quick_gelu_backward(const float *x, const float *dy, long n, float *dx) {
    if (ipiqa_has_avx512f()) { ipiqa_quick_gelu_backward_avx512(x, dy, n, dx); return; }
    ipiqa_quick_gelu_backward_generic(x, dy, n, dx);
}

// e^{x} over n elements (the vectorised exp above; expf on CPUs without AVX-512F).
static AVX512 void ipiqa_exp_avx512(const float *x, long n, float *y) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, k, exp_avx512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

void ipiqa_exp(const float *x, long n, float *y) {
    if (ipiqa_has_avx512f()) { ipiqa_exp_avx512(x, n, y); return; }
    for (long i = 0; i < n; i++) y[i] = expf(x[i]);
}
