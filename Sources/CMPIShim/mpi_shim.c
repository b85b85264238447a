// See include/MPIShim.h. Counts above INT_MAX are sent in INT_MAX-sized pieces (MPI counts are int).
#include "MPIShim.h"
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static void finalize_at_exit(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Finalize();
}

int ipiqa_mpi_init(void) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return MPI_SUCCESS;
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) return rc;
    rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (rc != MPI_SUCCESS) return rc;
    atexit(finalize_at_exit);
    return MPI_SUCCESS;
}

int ipiqa_mpi_initialized(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized;
}

int ipiqa_mpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
int ipiqa_mpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }

void ipiqa_mpi_error_string(int code, char *buffer, int capacity) {
    if (capacity <= 0) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    if (length >= capacity) length = capacity - 1;
    memcpy(buffer, text, (size_t)length);
    buffer[length] = 0;
}

static int allreduce(void *data, int64_t count, MPI_Datatype type, size_t element) {
    char *p = data;
    while (count > 0) {
        int n = count > INT_MAX ? INT_MAX : (int)count;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p, n, type, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        p += (size_t)n * element;
        count -= n;
    }
    return MPI_SUCCESS;
}

int ipiqa_mpi_allreduce_sum_f32(float *data, int64_t count) { return allreduce(data, count, MPI_FLOAT, sizeof(float)); }
int ipiqa_mpi_allreduce_sum_f64(double *data, int64_t count) { return allreduce(data, count, MPI_DOUBLE, sizeof(double)); }

// Outstanding non-blocking requests; the trainer keeps at most a few dozen buckets in flight.
#define IPIQA_MAX_REQUESTS 4096
static MPI_Request requests[IPIQA_MAX_REQUESTS];
static int request_used[IPIQA_MAX_REQUESTS];

int ipiqa_mpi_iallreduce_sum_f32(float *data, int64_t count, int64_t *request) {
    if (count > INT_MAX) return MPI_ERR_COUNT;
    for (int i = 0; i < IPIQA_MAX_REQUESTS; i++) {
        if (request_used[i]) continue;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, data, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &requests[i]);
        if (rc != MPI_SUCCESS) return rc;
        request_used[i] = 1;
        *request = i;
        return MPI_SUCCESS;
    }
    return MPI_ERR_REQUEST;
}

int ipiqa_mpi_wait(int64_t request) {
    if (request < 0 || request >= IPIQA_MAX_REQUESTS || !request_used[request]) return MPI_ERR_REQUEST;
    int rc = MPI_Wait(&requests[request], MPI_STATUS_IGNORE);
    request_used[request] = 0;
    return rc;
}

int ipiqa_mpi_test(int64_t request, int *done) {
    if (request < 0 || request >= IPIQA_MAX_REQUESTS || !request_used[request]) return MPI_ERR_REQUEST;
    // A completed request becomes MPI_REQUEST_NULL, on which the later MPI_Wait returns at once.
    return MPI_Test(&requests[request], done, MPI_STATUS_IGNORE);
}

int ipiqa_mpi_bcast_bytes(void *data, int64_t count, int root) {
    char *p = data;
    while (count > 0) {
        int n = count > INT_MAX ? INT_MAX : (int)count;
        int rc = MPI_Bcast(p, n, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        p += n;
        count -= n;
    }
    return MPI_SUCCESS;
}

int ipiqa_mpi_allgatherv_f64(const double *mine, int count, double *out, const int *counts, const int *displs) {
    return MPI_Allgatherv(mine, count, MPI_DOUBLE, out, counts, displs, MPI_DOUBLE, MPI_COMM_WORLD);
}

int ipiqa_mpi_allgather_i64(int64_t mine, int64_t *all) {
    return MPI_Allgather(&mine, 1, MPI_INT64_T, all, 1, MPI_INT64_T, MPI_COMM_WORLD);
}

int ipiqa_mpi_gatherv_bytes(const void *mine, int64_t count, void *out, const int64_t *counts, int root) {
    int rank = 0, size = 0, rc = MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rc != MPI_SUCCESS) return rc;
    if ((rc = MPI_Comm_size(MPI_COMM_WORLD, &size)) != MPI_SUCCESS) return rc;
    if (count != counts[rank]) return MPI_ERR_COUNT;
    static char empty;  // a valid address for zero-byte buffers
    int64_t total = 0;
    for (int r = 0; r < size; r++) total += counts[r];
    int *n = malloc(sizeof(int) * (size_t)size), *displs = malloc(sizeof(int) * (size_t)size);
    int64_t *sent = calloc((size_t)size, sizeof(int64_t)), *offset = malloc(sizeof(int64_t) * (size_t)size);
    if (!n || !displs || !sent || !offset) { free(n); free(displs); free(sent); free(offset); return MPI_ERR_NO_MEM; }
    offset[0] = 0;
    for (int r = 1; r < size; r++) offset[r] = offset[r - 1] + counts[r - 1];
    // One round straight into `out` when every displacement fits an int; else rounds of at most INT_MAX / size bytes
    // per rank through a staging buffer on the root (every rank computes the same rounds from `counts`).
    int direct = total <= INT_MAX;
    int64_t piece = direct ? INT_MAX : INT_MAX / size;
    char *stage = NULL;
    // The root cannot bail out alone (the others would wait in MPI_Gatherv): a failed allocation ends the job.
    if (!direct && rank == root && !(stage = malloc((size_t)piece * (size_t)size))) MPI_Abort(MPI_COMM_WORLD, 1);
    for (;;) {
        int64_t round = 0;
        for (int r = 0; r < size; r++) {
            int64_t left = counts[r] - sent[r];
            n[r] = (int)(left < piece ? left : piece);
            displs[r] = direct ? (int)offset[r] : (int)round;
            round += n[r];
        }
        if (round == 0) break;
        const char *from = count > 0 ? (const char *)mine + sent[rank] : &empty;
        char *into = rank != root ? &empty : direct ? (out ? out : &empty) : stage;
        rc = MPI_Gatherv(from, n[rank], MPI_BYTE, into, n, displs, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) break;
        for (int r = 0; r < size; r++) {
            if (!direct && rank == root && n[r] > 0) memcpy((char *)out + offset[r] + sent[r], stage + displs[r], (size_t)n[r]);
            sent[r] += n[r];
        }
    }
    free(stage); free(n); free(displs); free(sent); free(offset);
    return rc;
}

int ipiqa_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
void ipiqa_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
double ipiqa_mpi_wtime(void) { return MPI_Wtime(); }
