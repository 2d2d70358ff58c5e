/*
 * pool.h — a small fixed pool of worker threads for CPU-bound batch work.
 *
 * Used by the CA pipeline (CSR parse and signature check in the CARI
 * reader, policy checks in submit, certificate build + sign) to spread
 * independent items over the cores. A job is "call fn(ctx, i) for every i
 * in [0, n)": items are claimed in small runs from a shared counter, each
 * item is handled exactly once, and every item writes only its own result
 * slot, so results do not depend on the number of threads or on timing.
 * Everything that must happen in order (SQLite, serial numbers, the audit
 * chain) stays on the calling thread.
 *
 * A pool of size N has N worker threads; the caller hands a job over and
 * either waits (bacsc_pool_for) or goes on with its own serial work
 * (bacsc_pool_start) — zip reading, SQLite — and collects the job with
 * bacsc_pool_wait() when it needs the results. A NULL pool runs every job
 * on the caller, in index order (the single-threaded reference).
 *
 * Workers run at a lower priority than the thread that made the pool (nice
 * + BACSC_POOL_NICE, per thread on Linux), so that thread's serial work
 * keeps its core while the workers use what is left.
 *
 * fn must not call back into the same pool. Jobs from several threads may
 * share one pool; a pool must not be freed while a job is running.
 */
#ifndef BACSC_POOL_H
#define BACSC_POOL_H

#include <stddef.h>

#define BACSC_POOL_MAX 64 /* worker threads per pool */
#define BACSC_POOL_NICE 5 /* workers' nice above their creator's (≈ 1/3 of its CPU weight) */

typedef struct bacsc_pool bacsc_pool;
typedef struct bacsc_pool_job bacsc_pool_job;
typedef void (*bacsc_pool_fn)(void *ctx, size_t i);

/* The number of threads a pool gets when none is asked for: the value set
 * by bacsc_pool_set_default_size() (e.g. from --jobs), else the number of
 * online CPUs, within 1..BACSC_POOL_MAX. */
int bacsc_pool_default_size(void);
/* Set that default for the whole process (n < 1: back to online CPUs). */
void bacsc_pool_set_default_size(int n);

/* A pool of `size` worker threads (< 1: the default size). NULL only when
 * out of memory. If fewer workers can be started than asked for, the pool
 * is smaller (bacsc_pool_size tells); with none, jobs run on the caller. */
bacsc_pool *bacsc_pool_new(int size);
/* Stops and joins the workers. NULL is a no-op. */
void bacsc_pool_free(bacsc_pool *p);
/* Threads a job runs on (1 for a NULL pool or one without workers). */
int bacsc_pool_size(const bacsc_pool *p);

/* Run fn(ctx, i) for i in [0, n) and return when all are done. A NULL pool
 * runs them on the caller. */
void bacsc_pool_for(bacsc_pool *p, size_t n, bacsc_pool_fn fn, void *ctx);

/* Start the same job on the workers and return at once. Returns NULL when
 * the job was already run to the end on the caller (NULL pool, no workers,
 * fewer than 2 items, or out of memory): bacsc_pool_wait(NULL) is a no-op,
 * so callers need not tell the cases apart. */
bacsc_pool_job *bacsc_pool_start(bacsc_pool *p, size_t n, bacsc_pool_fn fn, void *ctx);
/* Wait until every item of the job is done, then free it. */
void bacsc_pool_wait(bacsc_pool_job *job);

#endif
