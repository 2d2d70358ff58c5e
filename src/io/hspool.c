/*
 * hspool.c — TLS handshake worker threads. See bacsc/hspool.h.
 *
 * Hand-over in both directions is a lock-free list (a Treiber stack that the
 * consumer empties at once with an atomic exchange, so there is no ABA) plus
 * an eventfd written only when the list was empty. Submit picks the worker
 * with the fewest jobs. Each worker owns an epoll set and a list of its
 * active jobs (deadline and cancel checks after every wake-up).
 */
#define _GNU_SOURCE
#include "bacsc/hspool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bacsc/error.h"
#include "bacsc/tls.h"

#include "ossl_keyless_internal.h"

#define DEF_MAX_QUEUED 1024
#define MAX_THREADS 64

struct worker {
    bacsc_hspool *p;
    pthread_t th;
    bool started;
    int ep, efd;
    _Atomic(bacsc_hs_job *) inbox;
    bacsc_hs_job *active; /* worker-private */
    _Atomic uint64_t ctl_calls; /* written by the worker only */
    atomic_bool cancels;        /* a job of this worker was cancelled: sweep */
    uint64_t next_due;          /* worker-private: no deadline of an active job before */
    unsigned load;        /* loop thread: jobs submitted and not yet delivered */
};

struct bacsc_hspool {
    bacsc_loop *loop;
    int efd;
    bacsc_hs_done_fn done;
    void *user;
    unsigned n, max_queued, queued;
    struct worker *w;
    _Atomic(bacsc_hs_job *) outbox;
    atomic_bool stop;
    bacsc_hspool_stats st; /* loop thread */
    uint64_t rate_sec, rate_count;
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Push; true when the list was empty (the consumer must be woken). */
static bool push(_Atomic(bacsc_hs_job *) *head, bacsc_hs_job *j)
{
    bacsc_hs_job *old = atomic_load_explicit(head, memory_order_relaxed);
    do {
        j->next = old;
    } while (!atomic_compare_exchange_weak_explicit(head, &old, j, memory_order_release,
                                                    memory_order_relaxed));
    return old == NULL;
}

/* Take everything, oldest first. */
static bacsc_hs_job *take_all(_Atomic(bacsc_hs_job *) *head)
{
    bacsc_hs_job *j = atomic_exchange_explicit(head, NULL, memory_order_acquire), *fifo = NULL;
    while (j) {
        bacsc_hs_job *next = j->next;
        j->next = fifo;
        fifo = j;
        j = next;
    }
    return fifo;
}

static void wake(int efd)
{
    uint64_t one = 1;
    while (write(efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void drain(int efd)
{
    uint64_t v;
    while (read(efd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

/* ---- worker thread ----------------------------------------------------------- */

static int ctl(struct worker *w, int op, bacsc_hs_job *j, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = j};
    atomic_store_explicit(&w->ctl_calls,
                          atomic_load_explicit(&w->ctl_calls, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return epoll_ctl(w->ep, op, j->fd, &ev);
}

static void finish(struct worker *w, bacsc_hs_job *j, int result)
{
    if (j->events)
        ctl(w, EPOLL_CTL_DEL, j, 0);
    if (j->prev)
        j->prev->next = j->next;
    else
        w->active = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->result = result;
    ERR_clear_error(); /* the error queue is per thread: leave nothing behind */
    if (push(&w->p->outbox, j))
        wake(w->p->efd);
}

/* `events`: what epoll reported (0: the first step, right after accept).
 * A client that closed cannot finish a TLS handshake and a WebSocket upgrade
 * any more (it needs our answer). When it reset the connection, or closed
 * before we read anything of it, end the job before SSL_do_handshake()
 * spends a signature or certificate checks on what it left. One that closes
 * later may have sent an alert naming its reason: that is read. */
static void step(struct worker *w, bacsc_hs_job *j, uint32_t events)
{
    if ((events & (EPOLLHUP | EPOLLERR)) ||
        ((events & EPOLLRDHUP) && BIO_number_read(SSL_get_rbio(j->ssl)) == 0)) {
        finish(w, j, BACSC_HS_PEER_GONE);
        return;
    }
    ERR_clear_error();
    int r = bacsc_keyless_after(SSL_do_handshake(j->ssl));
    if (!j->got_data)
        j->got_data = BIO_number_read(SSL_get_rbio(j->ssl)) > 0;
    if (r == 1) {
        finish(w, j, BACSC_HS_DONE);
        return;
    }
    int e = SSL_get_error(j->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        /* level-triggered: the interest stays until it changes (no MOD per flight) */
        uint32_t want = EPOLLIN | EPOLLRDHUP | (e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : 0u);
        if (want == j->events || ctl(w, EPOLL_CTL_MOD, j, want) == 0) {
            j->events = want;
            return;
        }
    }
    j->error_code = bacsc_tls_classify_error(j->ssl, SSL_is_server(j->ssl), j->error_text,
                                             sizeof j->error_text);
    finish(w, j, BACSC_HS_FAILED);
}

static void start(struct worker *w, bacsc_hs_job *j)
{
    j->prev = NULL;
    j->next = w->active;
    if (w->active)
        w->active->prev = j;
    w->active = j;
    j->events = 0;
    if (ctl(w, EPOLL_CTL_ADD, j, EPOLLIN | EPOLLRDHUP) != 0) {
        j->error_code = 188;
        snprintf(j->error_text, sizeof j->error_text, "tls-error: handshake worker: %s",
                 strerror(errno));
        finish(w, j, BACSC_HS_FAILED);
        return;
    }
    /* The server speaks second: its first step waits for the ClientHello
     * (a read now would mostly find nothing; epoll is level-triggered, so
     * octets already there, or a close, are reported by the next epoll_wait).
     * A client job starts its handshake at once. */
    j->events = EPOLLIN | EPOLLRDHUP;
    if (j->first_octet_deadline_us && j->first_octet_deadline_us < w->next_due)
        w->next_due = j->first_octet_deadline_us;
    if (j->deadline_us < w->next_due)
        w->next_due = j->deadline_us;
    if (!SSL_is_server(j->ssl))
        step(w, j, 0);
}

static int timeout_ms(uint64_t due, uint64_t now)
{
    if (due == UINT64_MAX)
        return -1;
    if (due <= now)
        return 0;
    uint64_t ms = (due - now + 999) / 1000;
    return ms > 60000 ? 60000 : (int)ms;
}

/* Deadlines and cancels: a walk over every active job, so only when one is
 * due or was cancelled (not after every wake-up: in a storm a worker holds
 * hundreds). Returns the epoll timeout (ms) to the next deadline. */
static int sweep(struct worker *w, bool stop, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    bacsc_hs_job *j = w->active;
    while (j) {
        bacsc_hs_job *nx = j->next;
        uint64_t first = j->got_data ? 0 : j->first_octet_deadline_us;
        if (stop || atomic_load_explicit(&j->cancel, memory_order_relaxed))
            finish(w, j, BACSC_HS_CANCELLED);
        else if (first && now >= first)
            finish(w, j, BACSC_HS_FIRST_OCTET_TIMEOUT);
        else if (now >= j->deadline_us)
            finish(w, j, BACSC_HS_TIMEOUT);
        else {
            if (first && first < next)
                next = first;
            if (j->deadline_us < next)
                next = j->deadline_us;
        }
        j = nx;
    }
    w->next_due = next;
    return timeout_ms(next, now);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event ev[64];
    int timeout = -1;
    for (;;) {
        int n = epoll_wait(w->ep, ev, 64, timeout);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == NULL) {
                drain(w->efd);
                for (bacsc_hs_job *j = take_all(&w->inbox), *nx; j; j = nx) {
                    nx = j->next;
                    start(w, j);
                }
            } else {
                step(w, ev[i].data.ptr, ev[i].events);
            }
        }
        bool stop = atomic_load(&w->p->stop);
        bool cancels = atomic_exchange_explicit(&w->cancels, false, memory_order_acquire);
        uint64_t now = mono_us();
        timeout = stop || cancels || now >= w->next_due ? sweep(w, stop, now)
                                                        : timeout_ms(w->next_due, now);
        if (stop) {
            for (bacsc_hs_job *j = take_all(&w->inbox), *nx; j; j = nx) {
                nx = j->next;
                j->prev = NULL;
                j->next = w->active;
                if (w->active)
                    w->active->prev = j;
                w->active = j;
                finish(w, j, BACSC_HS_CANCELLED);
            }
            return NULL;
        }
    }
}

/* ---- loop side --------------------------------------------------------------- */

static void deliver(bacsc_hspool *p)
{
    for (bacsc_hs_job *j = take_all(&p->outbox), *nx; j; j = nx) {
        nx = j->next;
        j->next = j->prev = NULL;
        p->queued--;
        p->w[j->worker].load--;
        switch (j->result) {
        case BACSC_HS_DONE: {
            p->st.done++;
            uint64_t sec = mono_us() / 1000000u;
            if (sec != p->rate_sec) {
                p->st.handshakes_per_s = sec == p->rate_sec + 1 ? (double)p->rate_count : 0;
                p->rate_sec = sec;
                p->rate_count = 0;
            }
            p->rate_count++;
            break;
        }
        case BACSC_HS_FAILED:
            p->st.failed++;
            break;
        case BACSC_HS_CANCELLED:
            p->st.cancelled++;
            break;
        case BACSC_HS_PEER_GONE:
            p->st.peer_gone++;
            break;
        default:
            p->st.timeouts++;
            break;
        }
        p->done(j, p->user);
    }
}

static void on_done(bacsc_loop *loop, int fd, unsigned events, void *user)
{
    (void)loop;
    (void)events;
    drain(fd);
    deliver(user);
}

bacsc_hspool *bacsc_hspool_new(bacsc_loop *loop, unsigned threads, unsigned max_queued,
                               bacsc_hs_done_fn done, void *user)
{
    if (!loop || !done)
        return NULL;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    bacsc_hspool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->loop = loop;
    p->done = done;
    p->user = user;
    p->max_queued = max_queued ? max_queued : DEF_MAX_QUEUED;
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->w = calloc(threads, sizeof *p->w);
    if (p->efd < 0 || !p->w || bacsc_loop_watch(loop, p->efd, BACSC_EV_READ, on_done, p) != BACSC_OK) {
        if (p->efd >= 0)
            close(p->efd);
        free(p->w);
        free(p);
        return NULL;
    }
    /* workers take no signals: the loop handles them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 0; i < threads; i++) {
        struct worker *w = &p->w[i];
        w->p = p;
        w->next_due = UINT64_MAX;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if (w->ep < 0 || w->efd < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, w->efd, &ev) != 0 ||
            pthread_create(&w->th, NULL, worker_main, w) != 0) {
            if (w->ep >= 0)
                close(w->ep);
            if (w->efd >= 0)
                close(w->efd);
            break;
        }
        w->started = true;
        p->n++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!p->n) {
        bacsc_hspool_free(p);
        return NULL;
    }
    p->st.threads = p->n;
    p->st.max_queued = p->max_queued;
    return p;
}

int bacsc_hspool_submit(bacsc_hspool *p, bacsc_hs_job *job)
{
    if (p->queued >= p->max_queued) {
        p->st.refused_full++;
        return BACSC_ERR_LIMIT;
    }
    unsigned best = 0;
    for (unsigned i = 1; i < p->n; i++)
        if (p->w[i].load < p->w[best].load)
            best = i;
    job->worker = best;
    job->result = -1;
    job->got_data = false;
    job->error_code = 0;
    job->error_text[0] = 0;
    job->prev = NULL;
    job->events = 0;
    atomic_store_explicit(&job->cancel, false, memory_order_relaxed);
    p->queued++;
    p->w[best].load++;
    p->st.submitted++;
    if (push(&p->w[best].inbox, job))
        wake(p->w[best].efd);
    return BACSC_OK;
}

void bacsc_hspool_cancel(bacsc_hspool *p, bacsc_hs_job *job)
{
    atomic_store_explicit(&job->cancel, true, memory_order_relaxed);
    atomic_store_explicit(&p->w[job->worker].cancels, true, memory_order_release);
    wake(p->w[job->worker].efd);
}

void bacsc_hspool_get_stats(bacsc_hspool *p, bacsc_hspool_stats *out)
{
    *out = p->st;
    out->queued = p->queued;
    for (unsigned i = 0; i < p->n; i++)
        out->ctl_calls += atomic_load_explicit(&p->w[i].ctl_calls, memory_order_relaxed);
    if (mono_us() / 1000000u > p->rate_sec + 1)
        out->handshakes_per_s = 0; /* nothing completed in the last full second */
}

unsigned bacsc_hspool_threads(const bacsc_hspool *p)
{
    return p->n;
}

void bacsc_hspool_free(bacsc_hspool *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    for (unsigned i = 0; i < p->n; i++)
        wake(p->w[i].efd);
    for (unsigned i = 0; i < p->n; i++) {
        if (p->w[i].started)
            pthread_join(p->w[i].th, NULL);
        close(p->w[i].ep);
        close(p->w[i].efd);
    }
    deliver(p); /* every job is in the outbox now */
    bacsc_loop_unwatch(p->loop, p->efd);
    close(p->efd);
    free(p->w);
    free(p);
}
