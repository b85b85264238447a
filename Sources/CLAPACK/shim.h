// LAPACK routines exported by OpenBLAS (Debian libopenblas-dev): the symmetric eigensolver of the ridge probe.
// Column-major, Fortran calling convention (every argument by pointer).
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
             const int *lwork, int *iwork, const int *liwork, int *info);
