// Packed-weight GEMM kernels for inference: C[m×n] = A[m×k] · Wᵀ with W[n×k] packed once (fp32 or bf16).
// Own code (AVX-512 F / AVX-512 BF16 intrinsics, runtime-dispatched); see Sources/CKernels/gemm.c.
#ifndef IPIQA_CKERNELS_H
#define IPIQA_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Output channels per packed panel.
#define IPIQA_NR 32

/// 1 when the CPU runs the AVX-512F fp32 kernel, 0 otherwise.
int ipiqa_has_avx512f(void);
/// 1 when the CPU runs the AVX-512 BF16 kernel (vdpbf16ps), 0 otherwise.
int ipiqa_has_avx512bf16(void);

/// Floats needed by ipiqa_pack_f32 for an n×k weight: ceil(n/32)·32·k.
size_t ipiqa_packed_count_f32(int n, int k);
/// Packs W (n×k, row stride ldw) into panels of 32 rows, k-major: P[p][kk][j] = W[32p + j][kk] (0 past n).
void ipiqa_pack_f32(const float *w, int n, int k, int ldw, float *packed);
/// C (row stride ldc) = A (m×k, row stride lda) · Wᵀ from packed W. Single-threaded. Needs ipiqa_has_avx512f().
void ipiqa_gemm_f32(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc);

/// Even length of a bf16 row of k values: k rounded up to a multiple of 2.
int ipiqa_bf16_row(int k);
/// uint16 count needed by ipiqa_pack_bf16: ceil(n/32)·32·bf16_row(k).
size_t ipiqa_packed_count_bf16(int n, int k);
/// Packs W (n×k) as bf16 (round to nearest even) in pairs along k: P[p][kk/2][j][kk%2] (0 past n or k).
void ipiqa_pack_bf16(const float *w, int n, int k, int ldw, uint16_t *packed);
/// Converts A (m×k, row stride lda) to bf16 rows of bf16_row(k) values (round to nearest even, zero pad).
void ipiqa_convert_bf16(const float *a, int m, int k, int lda, uint16_t *out);
/// C (row stride ldc) = A_bf16 (m rows of bf16_row(k)) · Wᵀ with fp32 accumulation. Needs ipiqa_has_avx512bf16().
void ipiqa_gemm_bf16(int m, int n, int k, const uint16_t *a, const uint16_t *packed, float *c, int ldc);

#endif
