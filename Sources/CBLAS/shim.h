#include <cblas.h>
// OpenBLAS threading control and bf16 GEMM (OpenBLAS >= 0.3.10 on x86_64).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
