// Peak instruction throughput of one core: fp32 FMA (vfmadd231ps zmm) against the AVX-512 BF16 dot product
// (vdpbf16ps zmm) and the AVX-512 FP16 FMA (vfmadd231ph zmm), 24 independent accumulators each (throughput-bound, not
// latency-bound). Own code; evidence for docs/performance.md ("bf16").
//
//   clang -O2 Scripts/peak_flops.c -o /tmp/peak_flops && /tmp/peak_flops
//
// FLOPs: an FMA on 16 floats = 32; a vdpbf16ps = 16 lanes × 2 bf16 products, each multiply–add = 64; an FMA on
// 32 halves = 64.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// GFLOP/s of `iters` rounds of OP on 24 accumulators of vector type ACC (FLOPS per instruction); SUM folds one
// accumulator to a float so that the work is not optimised away.
#define PEAK(NAME, TARGET, ACC, INIT, B, C, OP, SUM, FLOPS)                                                             \
    __attribute__((target(TARGET))) static double NAME(long iters) {                                                   \
        ACC a[24];                                                                                                     \
        for (int i = 0; i < 24; i++) a[i] = INIT(i);                                                                   \
        double t = now();                                                                                              \
        for (long k = 0; k < iters; k++) {                                                                             \
            _Pragma("GCC unroll 24") for (int i = 0; i < 24; i++) a[i] = OP(a[i], B, C);                               \
        }                                                                                                              \
        t = now() - t;                                                                                                 \
        float s = 0;                                                                                                   \
        for (int i = 0; i < 24; i++) s += (float)SUM(a[i]);                                                            \
        if (s == 1234) printf("-");                                                                                    \
        return 24.0 * iters * FLOPS / t / 1e9;                                                                         \
    }

#define F32_INIT(i) _mm512_set1_ps((i) * 1e-9f)
#define F32_FMA(acc, b, c) _mm512_fmadd_ps(acc, b, c)
#define BF16_DOT(acc, b, c) _mm512_dpbf16_ps(acc, b, c)
#define F16_INIT(i) _mm512_set1_ph((_Float16)((i) * 1e-3f))
#define F16_FMA(acc, b, c) _mm512_fmadd_ph(acc, b, c)

PEAK(fp32_rate, "avx512f", __m512, F32_INIT, _mm512_set1_ps(1.0f), _mm512_set1_ps(1e-9f), F32_FMA, _mm512_reduce_add_ps, 32)
PEAK(bf16_rate, "avx512f,avx512bf16", __m512, F32_INIT, (__m512bh)_mm512_set1_epi16(0x3f80),
     (__m512bh)_mm512_set1_epi16(0x3000), BF16_DOT, _mm512_reduce_add_ps, 64)
PEAK(fp16_rate, "avx512f,avx512fp16,avx512vl,avx512bw", __m512h, F16_INIT, _mm512_set1_ph((_Float16)1.0f),
     _mm512_set1_ph((_Float16)1e-4f), F16_FMA, _mm512_reduce_add_ph, 64)

int main(void) {
    for (int r = 0; r < 3; r++)
        printf("one core: fp32 FMA %.1f GFLOP/s, bf16 vdpbf16ps %.1f GFLOP/s, fp16 FMA %.1f GFLOP/s\n",
               fp32_rate(200000000), bf16_rate(200000000), fp16_rate(100000000));
    return 0;
}
