// Convolution pieces of the bf16 training path (Sources/CKernels/conv_train16.c), on the kernels of gemm_train16.c:
// bf16 inputs (round to nearest even), fp32 accumulation, fp32 results. Each needs ipiqa_has_avx512bf16().
#ifndef IPIQA_TRAIN16_H
#define IPIQA_TRAIN16_H

#include <stddef.h>
#include <stdint.h>

/// Weight gradient of a convolution, straight from its NHWC input (no im2col): for output channels co < cout and patch
/// columns col0 ≤ col < col1 (col = (i·kw + j)·cin + c),
///     dw[co·kh·kw·cin + col] = Σ_p dy[p·cout + co] · x[n, oh·stride − pad + i, ow·stride − pad + j, c]
/// over the `pixels` output pixels p = (n, oh, ow) (taps outside the input read 0). Needs cin % 32 == 0 and col0, col1
/// multiples of 32. Single-threaded: callers split the columns over workers (disjoint parts of dw). Returns 0 (writing
/// nothing) without AVX-512 BF16, for other channel counts, or when out of memory.
int ipiqa_conv_wgrad_bf16(const float *x, int h, int w, int cin, int kh, int kw, int stride, int pad, int outH,
                          int outW, long pixels, const float *dy, int cout, int col0, int col1, float *dw);

/// Packs, for ipiqa_gemm_bf16, the weight W'[ci][(i·kw + j)·cout + co] = W[co][kh−1−i][kw−1−j][ci] of the transposed
/// convolution that gives a stride-1 convolution's input gradient (n = cin rows, k = kh·kw·cout), from W
/// [cout, kh, kw, cin]: panels p0..<p1 of 32 input channels into `packed` (layout of ipiqa_pack_bf16, sized
/// ipiqa_packed_count_bf16(cin, kh·kw·cout)). Panels are independent, so callers split them over workers.
void ipiqa_pack_bf16_flipped(const float *w, int cout, int kh, int kw, int cin, int p0, int p1, uint16_t *packed);

/// ipiqa_pack_bf16 (W n×k, row stride k, into its layout and size) for panels p0..<p1 of 32 rows only, vectorised:
/// panels are independent, so callers split them over workers.
void ipiqa_pack_bf16_panels(const float *w, int n, int k, int p0, int p1, uint16_t *packed);

#endif
