// Open MPI's C API (libopenmpi-dev; flags from `pkg-config ompi-c`). Swift cannot import its handle macros
// (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM are pointers to library globals behind macros): CMPIShim wraps them.
#include <mpi.h>
