// Arithmetic-peak probes (own code): each runs a fixed number of independent multiply-add chains in registers, with
// no memory traffic, so that the time it takes measures how fast one core retires that instruction.
//   fp32: vfmadd231ps zmm (16 lanes × 2 flops), bf16: vdpbf16ps zmm (16 lanes × 2 products × 2 flops),
//   fp16: vfmadd231ph zmm (32 lanes × 2 flops), AMX: tdpbf16ps (16 × 16 × 32 × 2 flops per tile product).
// 16 accumulators per loop hide the FMA latency (4–5 cycles at 2 per cycle needs ≥ 10).
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define PEAK_ACC 16

int ipiqa_has_avx512fp16(void) {
    static int cached = -1;
    if (cached < 0) {
        unsigned a = 0, b = 0, c = 0, d = 0;
        int ok = ipiqa_has_avx512f();
        if (ok) {
            __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
            ok = (d >> 23) & 1u;  // CPUID.(EAX=7,ECX=0):EDX[23] = AVX512-FP16
        }
        cached = ok;
    }
    return cached;
}

int ipiqa_amx_status(void) {
    static int cached = -2;
    if (cached != -2) return cached;
    unsigned a = 0, b = 0, c = 0, d = 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    // EDX[22] = AMX-BF16, EDX[24] = AMX-TILE.
    if (!((d >> 22) & 1u) || !((d >> 24) & 1u)) { cached = 0; return cached; }
#if defined(__linux__)
    // Linux hands out the 8 KiB tile state only on request: arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA).
    long r = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */);
    cached = r == 0 ? 1 : -1;
#else
    cached = -1;
#endif
    return cached;
}

__attribute__((target("avx512f,evex512"))) double ipiqa_peak_fp32(long iterations) {
    __m512 acc[PEAK_ACC];
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_set1_ps(1.0f + (float)i * 1e-3f);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++) {
#pragma GCC unroll 16
        for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[5]), "+v"(acc[10]), "+v"(acc[15]));
    }
    __m512 s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm512_add_ps(s, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iterations * PEAK_ACC * 16 * 2;
}

__attribute__((target("avx512f,avx512bf16,evex512"))) double ipiqa_peak_bf16(long iterations) {
    __m512 acc[PEAK_ACC];
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_setzero_ps();
    const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3380);  // 1, 2^-24
    for (long it = 0; it < iterations; it++) {
#pragma GCC unroll 16
        for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[5]), "+v"(acc[10]), "+v"(acc[15]));
    }
    __m512 s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm512_add_ps(s, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iterations * PEAK_ACC * 16 * 2 * 2;
}

__attribute__((target("avx512f,avx512fp16,evex512"))) double ipiqa_peak_fp16(long iterations) {
    __m512h acc[PEAK_ACC];
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_set1_ph((_Float16)0);
    const __m512h x = _mm512_set1_ph((_Float16)0.999f), y = _mm512_set1_ph((_Float16)1e-4f);
    for (long it = 0; it < iterations; it++) {
#pragma GCC unroll 16
        for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_fmadd_ph(acc[i], x, y);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[5]), "+v"(acc[10]), "+v"(acc[15]));
    }
    __m512h s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm512_add_ph(s, acc[i]);
    volatile float sink = (float)_mm512_reduce_add_ph(s);
    (void)sink;
    return (double)iterations * PEAK_ACC * 32 * 2;
}

/// The 64-byte tile configuration: palette 1, tiles 0–3 as C (16 rows × 64 bytes), 4–5 as A, 6–7 as B.
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

__attribute__((target("amx-tile,amx-bf16"))) double ipiqa_peak_amx_bf16(long iterations) {
    if (ipiqa_amx_status() != 1) return 0;
    amx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.colsb[t] = 64; cfg.rows[t] = 16; }
    _tile_loadconfig(&cfg);
    static const uint16_t ones[16 * 32] __attribute__((aligned(64))) = {0};
    _tile_loadd(4, ones, 64);
    _tile_loadd(5, ones, 64);
    _tile_loadd(6, ones, 64);
    _tile_loadd(7, ones, 64);
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    for (long it = 0; it < iterations; it++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    float out[16 * 16] __attribute__((aligned(64)));
    _tile_stored(0, out, 64);
    _tile_release();
    volatile float sink = out[0];
    (void)sink;
    return (double)iterations * 4 * 16 * 16 * 32 * 2;
}
