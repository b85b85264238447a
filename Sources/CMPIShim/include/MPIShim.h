#ifndef IPIQA_MPI_SHIM_H
#define IPIQA_MPI_SHIM_H
// Plain-C wrappers over the MPI calls the data-parallel trainer needs, on MPI_COMM_WORLD, with MPI_ERRORS_RETURN:
// every function returns MPI_SUCCESS (0) or an MPI error code (ipiqa_mpi_error_string describes it). Swift cannot
// import Open MPI's handle macros (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …), so they stay on this side.
#include <stdint.h>

/// MPI_Init_thread(MPI_THREAD_SERIALIZED) once, error handler MPI_ERRORS_RETURN on MPI_COMM_WORLD, MPI_Finalize at exit.
int ipiqa_mpi_init(void);
int ipiqa_mpi_initialized(void);
int ipiqa_mpi_rank(int *rank);
int ipiqa_mpi_size(int *size);
/// The text of an MPI error code (into `buffer` of `capacity` bytes, NUL-terminated).
void ipiqa_mpi_error_string(int code, char *buffer, int capacity);

/// In-place sum over ranks of `count` floats / doubles.
int ipiqa_mpi_allreduce_sum_f32(float *data, int64_t count);
int ipiqa_mpi_allreduce_sum_f64(double *data, int64_t count);
/// Non-blocking in-place float sum; `*request` is a handle for ipiqa_mpi_wait (index into a small table).
int ipiqa_mpi_iallreduce_sum_f32(float *data, int64_t count, int64_t *request);
int ipiqa_mpi_wait(int64_t request);
/// MPI_Test: `*done` = 1 once the request is complete (its table slot stays taken until ipiqa_mpi_wait).
int ipiqa_mpi_test(int64_t request, int *done);
/// Broadcast of `count` bytes from `root`.
int ipiqa_mpi_bcast_bytes(void *data, int64_t count, int root);
/// Gather of variable-length double arrays: rank r contributes counts[r] values at displs[r] of `out`.
int ipiqa_mpi_allgatherv_f64(const double *mine, int count, double *out, const int *counts, const int *displs);
/// Every rank's one int64 (MPI_Allgather): `all[r]` = rank r's `mine` (`all` holds size values).
int ipiqa_mpi_allgather_i64(int64_t mine, int64_t *all);
/// Gather of variable-length byte buffers to `root` (MPI_Gatherv): rank r sends `count` = counts[r] bytes, which
/// land at the sum of counts[0..<r] in root's `out` (ignored on other ranks). Every rank passes the same `counts`
/// (from ipiqa_mpi_allgather_i64). Totals above INT_MAX go in rounds of at most INT_MAX / size bytes per rank.
int ipiqa_mpi_gatherv_bytes(const void *mine, int64_t count, void *out, const int64_t *counts, int root);
int ipiqa_mpi_barrier(void);
/// MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job.
void ipiqa_mpi_abort(int code);
/// MPI_Wtime.
double ipiqa_mpi_wtime(void);

#endif
