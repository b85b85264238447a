// A small fork-join thread pool for the engine's parallel loops (own code). The caller and `threads − 1` persistent
// workers take indices 0..<count from a shared atomic counter. Between jobs a worker spins briefly (a parallel loop
// usually follows another within microseconds: the convolutions and batch norms of one forward pass), then sleeps on
// a condition variable, so an idle process burns no CPU. One job at a time: a caller that finds the pool busy (another
// thread's job) gets 0 back and runs its loop elsewhere.
#include "CKernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <immintrin.h>

#define MAX_THREADS 256
// Spin iterations (each one `pause`, ~40–140 cycles) before a worker sleeps: on the order of 100 µs.
#define SPIN_LIMIT 4000

static struct {
    pthread_mutex_t busy;         // held by the thread whose job runs
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    atomic_ulong generation;      // bumped once per job
    atomic_long next;             // next index to take
    atomic_int active;            // workers still inside the current job
    long count;
    ipiqa_task_fn fn;
    void *ctx;
    int workers;                  // persistent threads (threads − 1)
    int started;
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER, .sleep_lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local int in_job = 0;

static void run_indices(void) {
    for (;;) {
        long i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
        if (i >= pool.count) break;
        pool.fn(pool.ctx, i);
    }
}

static void *worker_main(void *arg) {
    (void)arg;
    in_job = 1;  // workers never start nested jobs
    unsigned long seen = 0;
    for (;;) {
        unsigned long g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_LIMIT) { _mm_pause(); continue; }
            pthread_mutex_lock(&pool.sleep_lock);
            while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen)
                pthread_cond_wait(&pool.wake, &pool.sleep_lock);
            pthread_mutex_unlock(&pool.sleep_lock);
            break;
        }
        seen = g;
        run_indices();
        atomic_fetch_sub_explicit(&pool.active, 1, memory_order_acq_rel);
    }
    return 0;
}

static int requested_threads = 0;

static void start_pool(void) {
    int threads = requested_threads > 0 ? requested_threads : 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    pool.workers = 0;
    for (int t = 0; t < threads - 1; t++) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &attr, worker_main, 0) == 0) pool.workers++;
        pthread_attr_destroy(&attr);
    }
    pool.started = 1;
}

int ipiqa_pool_start(int threads) {
    requested_threads = threads;
    pthread_once(&pool_once, start_pool);
    return pool.workers + 1;
}

int ipiqa_pool_inside(void) { return in_job; }

int ipiqa_pool_run(long count, ipiqa_task_fn fn, void *ctx) {
    if (!pool.started || in_job || count <= 0) return 0;
    if (pthread_mutex_trylock(&pool.busy) != 0) return 0;
    pool.count = count;
    pool.fn = fn;
    pool.ctx = ctx;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.active, pool.workers, memory_order_relaxed);
    // Publish the job (release), then wake sleepers.
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_mutex_lock(&pool.sleep_lock);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.sleep_lock);
    in_job = 1;
    run_indices();
    in_job = 0;
    while (atomic_load_explicit(&pool.active, memory_order_acquire) > 0) _mm_pause();
    pthread_mutex_unlock(&pool.busy);
    return 1;
}
