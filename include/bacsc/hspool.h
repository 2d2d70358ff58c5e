/*
 * bacsc/hspool.h — a pool of TLS handshake worker threads for a listener.
 *
 * The event loop stays single-threaded: it accepts, hands a non-blocking
 * socket and its SSL (accept state) to the pool, and gets them back once
 * the TLS handshake is done (or failed, or timed out). Each worker drives
 * many handshakes at once with its own epoll set; nothing of the loop's is
 * touched from a worker. Finished jobs come back through a lock-free list
 * and an eventfd watched by the loop; the callback runs on the loop thread.
 * While a job is in the pool, the caller must not touch its SSL or fd.
 *
 * The SSL's context callbacks (ticket keys, certificate checks) run on the
 * worker threads: tls.c keeps them thread-safe, and a context reload only
 * swaps which SSL_CTX new connections get (a handshake in progress keeps
 * the SSL_CTX it started with).
 *
 * Limits: at most `max_queued` jobs in the pool at once (submit fails
 * beyond: the caller does the handshake itself); each job ends by its
 * deadlines at the latest.
 */
#ifndef BACSC_HSPOOL_H
#define BACSC_HSPOOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bacsc/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ssl_st;
typedef struct bacsc_hspool bacsc_hspool;

enum bacsc_hs_result {
    BACSC_HS_DONE = 0,           /* SSL_do_handshake() returned 1 */
    BACSC_HS_FAILED,             /* TLS error: error_code (180..188) and error_text */
    BACSC_HS_FIRST_OCTET_TIMEOUT, /* nothing received before first_octet_deadline_us */
    BACSC_HS_TIMEOUT,            /* not done before deadline_us */
    BACSC_HS_CANCELLED,          /* bacsc_hspool_cancel() or the pool was freed */
    BACSC_HS_PEER_GONE           /* the peer reset the connection, or closed it before any
                                    octet was read: ended before the next handshake step (a
                                    client that gave up must not cost a signature or
                                    certificate checks) */
};

/* One handshake. The caller owns the memory (e.g. embedded in its
 * connection) and keeps it alive until the done callback has run. */
typedef struct bacsc_hs_job {
    /* in */
    struct ssl_st *ssl;            /* non-blocking, on fd, accept or connect state */
    int fd;
    uint64_t first_octet_deadline_us; /* CLOCK_MONOTONIC µs (bacsc_loop_now); 0 = none */
    uint64_t deadline_us;          /* CLOCK_MONOTONIC µs */
    void *user;
    /* out, valid in the done callback */
    int result;                    /* enum bacsc_hs_result */
    bool got_data;                 /* any octet was received */
    uint16_t error_code;           /* BACSC_HS_FAILED: bacsc_tls_classify_error() */
    char error_text[200];
    /* private */
    struct bacsc_hs_job *next, *prev;
    unsigned worker;
    uint32_t events;               /* the worker's epoll interest in fd now */
    atomic_bool cancel;
} bacsc_hs_job;

typedef void (*bacsc_hs_done_fn)(bacsc_hs_job *job, void *user);

/* Counters (since the pool started) and gauges. */
typedef struct bacsc_hspool_stats {
    unsigned threads;
    unsigned queued;               /* now: jobs in the pool */
    unsigned max_queued;
    uint64_t submitted, done, failed, timeouts, cancelled, refused_full, peer_gone;
    double handshakes_per_s;       /* completed (DONE) over the last full second */
    uint64_t ctl_calls;            /* epoll_ctl(2) calls of the workers (tests) */
} bacsc_hspool_stats;

/* Threads: 0 = one per online CPU. max_queued: 0 = 1024. `done` is called on
 * the loop thread for every submitted job, exactly once. Returns NULL on
 * failure (no threads, no memory). */
bacsc_hspool *bacsc_hspool_new(bacsc_loop *loop, unsigned threads, unsigned max_queued,
                               bacsc_hs_done_fn done, void *user);

/* Hand a job to a worker. Returns BACSC_OK, or BACSC_ERR_LIMIT (max_queued
 * jobs in the pool: nothing was taken). */
int bacsc_hspool_submit(bacsc_hspool *p, bacsc_hs_job *job);

/* Ask the worker to end this job soon (result BACSC_HS_CANCELLED unless it
 * finished first). The done callback still follows. */
void bacsc_hspool_cancel(bacsc_hspool *p, bacsc_hs_job *job);

void bacsc_hspool_get_stats(bacsc_hspool *p, bacsc_hspool_stats *out);
unsigned bacsc_hspool_threads(const bacsc_hspool *p);

/* Stop the workers (jobs still running end as BACSC_HS_CANCELLED), run the
 * done callback for every job not yet reported, join, free. Loop thread. */
void bacsc_hspool_free(bacsc_hspool *p);

#ifdef __cplusplus
}
#endif
#endif
