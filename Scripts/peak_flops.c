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
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
__attribute__((target("avx512f,avx512bf16"))) double fma_rate(long iters){
  __m512 a[24];for(int i=0;i<24;i++)a[i]=_mm512_set1_ps(i*1e-9f);__m512 b=_mm512_set1_ps(1.0f),c=_mm512_set1_ps(1e-9f);
  double t=now();for(long k=0;k<iters;k++){
#pragma GCC unroll 24
   for(int i=0;i<24;i++)a[i]=_mm512_fmadd_ps(a[i],b,c);}
  t=now()-t;float s=0;for(int i=0;i<24;i++)s+=_mm512_reduce_add_ps(a[i]);if(s==1234)printf("x");
  return 24.0*iters*32/t/1e9;}
__attribute__((target("avx512f,avx512bf16"))) double bf16_rate(long iters){
  __m512 a[24];for(int i=0;i<24;i++)a[i]=_mm512_set1_ps(i*1e-9f);__m512bh b=(__m512bh)_mm512_set1_epi16(0x3f80),c=(__m512bh)_mm512_set1_epi16(0x3000);
  double t=now();for(long k=0;k<iters;k++){
#pragma GCC unroll 24
   for(int i=0;i<24;i++)a[i]=_mm512_dpbf16_ps(a[i],b,c);}
  t=now()-t;float s=0;for(int i=0;i<24;i++)s+=_mm512_reduce_add_ps(a[i]);if(s==1234)printf("x");
  return 24.0*iters*64/t/1e9;}
__attribute__((target("avx512f,avx512fp16,avx512vl,avx512bw"))) double fp16_rate(long iters){
  __m512h a[24];for(int i=0;i<24;i++)a[i]=_mm512_set1_ph((_Float16)(i*1e-3f));__m512h b=_mm512_set1_ph((_Float16)1.0f),c=_mm512_set1_ph((_Float16)1e-4f);
  double t=now();for(long k=0;k<iters;k++){
#pragma GCC unroll 24
   for(int i=0;i<24;i++)a[i]=_mm512_fmadd_ph(a[i],b,c);}
  t=now()-t;float s=0;for(int i=0;i<24;i++)s+=(float)_mm512_reduce_add_ph(a[i]);if(s==1234)printf("x");
  return 24.0*iters*64/t/1e9;}
int main(){for(int r=0;r<3;r++)printf("one core: fp32 FMA %.1f GFLOP/s, bf16 vdpbf16ps %.1f GFLOP/s, fp16 FMA %.1f GFLOP/s\n",fma_rate(200000000),bf16_rate(200000000),fp16_rate(100000000));}
