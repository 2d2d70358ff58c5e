/*
 * bacsc/loop.h — the single-threaded event loop (epoll).
 *
 * One loop per process (or per thread, never shared): fd watches with
 * read/write interest, timers on a monotonic microsecond clock, POSIX
 * signals delivered as callbacks through signalfd, and deferred callbacks
 * run after the current batch of I/O. Nothing here blocks except
 * epoll_wait.
 *
 * Timers are caller-owned structs (no allocation per timer) kept in a
 * binary min-heap: start/stop O(log n), next expiry O(1). The loop time
 * (bacsc_loop_now) is sampled once per iteration, so every callback in an
 * iteration sees the same `now` — pass it to the sans-I/O state machines.
 *
 * Callbacks may add/remove watches, start/stop timers (including their own)
 * and call bacsc_loop_stop() freely.
 */
#ifndef BACSC_LOOP_H
#define BACSC_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_loop bacsc_loop;

/* Interest / readiness bits. */
#define BACSC_EV_READ 0x1u
#define BACSC_EV_WRITE 0x2u
#define BACSC_EV_ERROR 0x4u /* reported only: error or hang-up on the fd */

/* An fd is ready: `events` holds BACSC_EV_* bits. */
typedef void (*bacsc_io_fn)(bacsc_loop *loop, int fd, unsigned events, void *user);
typedef void (*bacsc_timer_fn)(bacsc_loop *loop, void *user);
typedef void (*bacsc_signal_fn)(bacsc_loop *loop, int signo, void *user);
typedef void (*bacsc_defer_fn)(bacsc_loop *loop, void *user);

/* A timer; embed it in your object and bacsc_timer_init() it once. */
typedef struct bacsc_timer {
    bacsc_heap_node node; /* node.key: absolute expiry, monotonic µs */
    bacsc_timer_fn fn;
    void *user;
} bacsc_timer;

/* Create a loop. Also sets SIGPIPE to SIG_IGN for the process (a write to
 * a closed socket must fail with EPIPE, not kill the process).
 * Returns NULL on failure (errno set). */
bacsc_loop *bacsc_loop_new(void);

/*
 * Destroy a loop: closes its epoll and signal fds, restores the signal mask
 * of the signals it handled. Watched fds are not closed; active timers are
 * simply forgotten (their structs are not touched). NULL is ignored.
 */
void bacsc_loop_free(bacsc_loop *loop);

/*
 * Watch an fd (add, or change callback and interest if already watched).
 *   events  BACSC_EV_READ and/or BACSC_EV_WRITE (0 = watched but idle)
 * Returns BACSC_OK, BACSC_ERR_INVALID_ARG (fd < 0), BACSC_ERR_NOMEM or
 * BACSC_ERR_IO (epoll_ctl failed).
 */
int bacsc_loop_watch(bacsc_loop *loop, int fd, unsigned events, bacsc_io_fn fn, void *user);

/* Change the interest of a watched fd. Cheap when unchanged.
 * Returns BACSC_OK, BACSC_ERR_NOT_FOUND or BACSC_ERR_IO. */
int bacsc_loop_set_events(bacsc_loop *loop, int fd, unsigned events);

/* Stop watching an fd (call before closing it). Unknown fds are ignored.
 * Pending readiness already reported for this iteration is discarded. */
void bacsc_loop_unwatch(bacsc_loop *loop, int fd);

/* Monotonic time in µs, sampled at the start of the current iteration. */
uint64_t bacsc_loop_now(const bacsc_loop *loop);

/* Fresh monotonic time in µs (CLOCK_MONOTONIC), updates the loop's cache. */
uint64_t bacsc_loop_update_time(bacsc_loop *loop);

/* Prepare a timer (idle). */
void bacsc_timer_init(bacsc_timer *t, bacsc_timer_fn fn, void *user);

/* (Re)start a timer to fire at absolute monotonic time `when` (µs).
 * Returns BACSC_OK or BACSC_ERR_NOMEM. */
int bacsc_timer_start_at(bacsc_loop *loop, bacsc_timer *t, uint64_t when);

/* (Re)start a timer to fire `delay_us` after bacsc_loop_now(). */
int bacsc_timer_start(bacsc_loop *loop, bacsc_timer *t, uint64_t delay_us);

/* Stop a timer; idle timers are ignored. */
void bacsc_timer_stop(bacsc_loop *loop, bacsc_timer *t);

/* True when the timer is started and has not fired. */
bool bacsc_timer_active(const bacsc_timer *t);

/*
 * Deliver `signo` (e.g. SIGTERM, SIGINT, SIGHUP, SIGUSR1) as a callback.
 * The signal is blocked for the process's normal handling and read from a
 * signalfd. fn NULL removes the handler. Returns BACSC_OK,
 * BACSC_ERR_INVALID_ARG, BACSC_ERR_NOMEM or BACSC_ERR_IO.
 */
int bacsc_loop_signal(bacsc_loop *loop, int signo, bacsc_signal_fn fn, void *user);

/* Run fn(loop, user) once, after the I/O callbacks of this iteration (or at
 * the start of the next). FIFO. Returns BACSC_OK or BACSC_ERR_NOMEM. */
int bacsc_loop_defer(bacsc_loop *loop, bacsc_defer_fn fn, void *user);

/*
 * One iteration: wait for I/O up to `timeout_us` (or the next timer, if
 * sooner; 0 = poll; UINT64_MAX = no limit), run ready fd callbacks, expired
 * timers, then deferred callbacks. Returns BACSC_OK or BACSC_ERR_IO.
 */
int bacsc_loop_run_once(bacsc_loop *loop, uint64_t timeout_us);

/* True when the last bacsc_loop_run_once() got as many ready fds as one
 * iteration takes: more may be ready now, and an iteration with timeout 0
 * reads them (a caller that expires deadlines can read what is ready first). */
bool bacsc_loop_more_ready(const bacsc_loop *loop);

/* Iterate until bacsc_loop_stop(). Returns BACSC_OK or BACSC_ERR_IO. */
int bacsc_loop_run(bacsc_loop *loop);

/* Make bacsc_loop_run() return after the current iteration. */
void bacsc_loop_stop(bacsc_loop *loop);

/* A scratch buffer owned by the loop, shared by all its users for reading
 * (valid only until control returns to the loop). At least 64 KiB. */
uint8_t *bacsc_loop_scratch(bacsc_loop *loop, size_t *len);

/* Number of watched fds and active timers (for tests and status). */
size_t bacsc_loop_watch_count(const bacsc_loop *loop);
size_t bacsc_loop_timer_count(const bacsc_loop *loop);
/* epoll_ctl(2) calls made so far (watch, set_events, unwatch): for tests
 * and benchmarks of the per-message system calls. */
uint64_t bacsc_loop_ctl_count(const bacsc_loop *loop);

/* The random source of the I/O layer, in the shape of the sans-I/O core's
 * bacsc_random_fn: OpenSSL RAND_bytes (user unused). Returns 0 on success. */
int bacsc_io_random(void *user, uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
