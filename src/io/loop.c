/*
 * loop.c — epoll event loop: fd watches, a timer min-heap, signalfd signals,
 * deferred callbacks. See bacsc/loop.h.
 *
 * Watches live in an array indexed by fd (O(1) dispatch, grows to the
 * highest fd). Each watch carries a generation number so that readiness
 * reported by epoll_wait for an fd that a callback unwatched (and maybe
 * re-used) in the same iteration is discarded.
 */
#include "bacsc/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "bacsc/error.h"

#define MAX_EVENTS 256
#define SCRATCH_LEN (64 * 1024 + 64)
#define MAX_SIGNALS 65

struct watch {
    bacsc_io_fn fn;
    void *user;
    unsigned events;
    uint32_t gen;  /* 0 = not watched */
};

struct deferred {
    bacsc_defer_fn fn;
    void *user;
};

struct sighandler {
    bacsc_signal_fn fn;
    void *user;
};

struct bacsc_loop {
    int epfd;
    uint64_t now;
    bool stop;
    bool in_timers;
    bool more_ready; /* the last epoll_wait filled its event array */
    struct watch *watches;
    size_t nwatches_cap;
    size_t nwatched;
    uint32_t gen;
    bacsc_heap timers; /* of bacsc_timer.node, keyed by expiry */
    struct deferred *defer;
    size_t defer_len, defer_cap;
    int sigfd;
    sigset_t sigmask;
    sigset_t old_mask;
    struct sighandler sig[MAX_SIGNALS];
    uint8_t *scratch;
    uint64_t ctl_calls;
};

static uint64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bacsc_loop *bacsc_loop_new(void)
{
    bacsc_loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->sigfd = -1;
    l->scratch = malloc(SCRATCH_LEN);
    if (l->epfd < 0 || !l->scratch) {
        if (l->epfd >= 0)
            close(l->epfd);
        free(l->scratch);
        free(l);
        return NULL;
    }
    sigemptyset(&l->sigmask);
    /* Writes to a socket the peer closed must fail with EPIPE, not kill the
     * process (OpenSSL writes without MSG_NOSIGNAL). */
    signal(SIGPIPE, SIG_IGN);
    l->now = monotonic_us();
    return l;
}

void bacsc_loop_free(bacsc_loop *l)
{
    if (!l)
        return;
    if (l->sigfd >= 0) {
        close(l->sigfd);
        sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
    }
    close(l->epfd);
    free(l->watches);
    bacsc_heap_free(&l->timers);
    free(l->defer);
    free(l->scratch);
    free(l);
}

uint8_t *bacsc_loop_scratch(bacsc_loop *l, size_t *len)
{
    if (len)
        *len = SCRATCH_LEN;
    return l->scratch;
}

uint64_t bacsc_loop_now(const bacsc_loop *l)
{
    return l->now;
}

uint64_t bacsc_loop_update_time(bacsc_loop *l)
{
    l->now = monotonic_us();
    return l->now;
}

/* ---- fd watches ------------------------------------------------------------ */

static uint32_t to_epoll(unsigned ev)
{
    return ((ev & BACSC_EV_READ) ? EPOLLIN | EPOLLRDHUP : 0) | ((ev & BACSC_EV_WRITE) ? EPOLLOUT : 0);
}

int bacsc_loop_watch(bacsc_loop *l, int fd, unsigned events, bacsc_io_fn fn, void *user)
{
    if (fd < 0 || !fn)
        return BACSC_ERR_INVALID_ARG;
    if ((size_t)fd >= l->nwatches_cap) {
        size_t cap = l->nwatches_cap ? l->nwatches_cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        struct watch *w = realloc(l->watches, cap * sizeof *w);
        if (!w)
            return BACSC_ERR_NOMEM;
        memset(w + l->nwatches_cap, 0, (cap - l->nwatches_cap) * sizeof *w);
        l->watches = w;
        l->nwatches_cap = cap;
    }
    struct watch *w = &l->watches[fd];
    struct epoll_event ee = {.events = to_epoll(events), .data.fd = fd};
    bool existed = w->gen != 0;
    l->ctl_calls++;
    if (epoll_ctl(l->epfd, existed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ee) != 0)
        return BACSC_ERR_IO;
    if (!existed) {
        l->nwatched++;
        if (++l->gen == 0)
            l->gen = 1;
        w->gen = l->gen;
    }
    w->fn = fn;
    w->user = user;
    w->events = events;
    return BACSC_OK;
}

int bacsc_loop_set_events(bacsc_loop *l, int fd, unsigned events)
{
    if (fd < 0 || (size_t)fd >= l->nwatches_cap || l->watches[fd].gen == 0)
        return BACSC_ERR_NOT_FOUND;
    struct watch *w = &l->watches[fd];
    if (w->events == events)
        return BACSC_OK;
    struct epoll_event ee = {.events = to_epoll(events), .data.fd = fd};
    l->ctl_calls++;
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ee) != 0)
        return BACSC_ERR_IO;
    w->events = events;
    return BACSC_OK;
}

void bacsc_loop_unwatch(bacsc_loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nwatches_cap || l->watches[fd].gen == 0)
        return;
    l->ctl_calls++;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    memset(&l->watches[fd], 0, sizeof l->watches[fd]);
    l->nwatched--;
}

size_t bacsc_loop_watch_count(const bacsc_loop *l)
{
    return l->nwatched;
}

/* ---- timers: a min-heap on the expiry (bacsc/heap.h) ------------------------- */

static bacsc_timer *timer_of(bacsc_heap_node *n)
{
    return (bacsc_timer *)((char *)n - offsetof(bacsc_timer, node));
}

void bacsc_timer_init(bacsc_timer *t, bacsc_timer_fn fn, void *user)
{
    bacsc_heap_node_init(&t->node);
    t->fn = fn;
    t->user = user;
}

bool bacsc_timer_active(const bacsc_timer *t)
{
    return bacsc_heap_node_active(&t->node);
}

void bacsc_timer_stop(bacsc_loop *l, bacsc_timer *t)
{
    bacsc_heap_remove(&l->timers, &t->node);
}

int bacsc_timer_start_at(bacsc_loop *l, bacsc_timer *t, uint64_t when)
{
    if (l->in_timers && when <= l->now)
        when = l->now + 1; /* restarted "now" from a timer callback: next iteration */
    if (bacsc_timer_active(t)) {
        bacsc_heap_update(&l->timers, &t->node, when);
        return BACSC_OK;
    }
    t->node.key = when;
    return bacsc_heap_push(&l->timers, &t->node);
}

int bacsc_timer_start(bacsc_loop *l, bacsc_timer *t, uint64_t delay_us)
{
    return bacsc_timer_start_at(l, t, l->now + delay_us);
}

size_t bacsc_loop_timer_count(const bacsc_loop *l)
{
    return l->timers.len;
}

uint64_t bacsc_loop_ctl_count(const bacsc_loop *l)
{
    return l->ctl_calls;
}

static void run_timers(bacsc_loop *l)
{
    /* Only timers due at this iteration's `now`: a timer restarted for `now`
     * by its own callback runs on the next iteration, not in a tight loop. */
    uint64_t now = l->now;
    bacsc_heap_node *first;
    while ((first = bacsc_heap_min(&l->timers)) != NULL && first->key <= now) {
        bacsc_timer *t = timer_of(first);
        bacsc_timer_stop(l, t);
        l->in_timers = true;
        t->fn(l, t->user); /* may free t's owner: t is not touched afterwards */
        l->in_timers = false;
    }
}

/* ---- deferred callbacks ---------------------------------------------------- */

int bacsc_loop_defer(bacsc_loop *l, bacsc_defer_fn fn, void *user)
{
    if (l->defer_len == l->defer_cap) {
        size_t cap = l->defer_cap ? l->defer_cap * 2 : 32;
        struct deferred *d = realloc(l->defer, cap * sizeof *d);
        if (!d)
            return BACSC_ERR_NOMEM;
        l->defer = d;
        l->defer_cap = cap;
    }
    l->defer[l->defer_len].fn = fn;
    l->defer[l->defer_len].user = user;
    l->defer_len++;
    return BACSC_OK;
}

static void run_deferred(bacsc_loop *l)
{
    /* Callbacks deferred by deferred callbacks run in the same pass, FIFO. */
    for (size_t i = 0; i < l->defer_len; i++) {
        struct deferred d = l->defer[i];
        d.fn(l, d.user);
    }
    l->defer_len = 0;
}

/* ---- signals --------------------------------------------------------------- */

static void on_signalfd(bacsc_loop *l, int fd, unsigned events, void *user)
{
    struct signalfd_siginfo si[8];
    ssize_t n = read(fd, si, sizeof si);
    for (ssize_t i = 0; i < n / (ssize_t)sizeof si[0]; i++) {
        int s = (int)si[i].ssi_signo;
        if (s > 0 && s < MAX_SIGNALS && l->sig[s].fn)
            l->sig[s].fn(l, s, l->sig[s].user);
    }
}

int bacsc_loop_signal(bacsc_loop *l, int signo, bacsc_signal_fn fn, void *user)
{
    if (signo <= 0 || signo >= MAX_SIGNALS || signo == SIGKILL || signo == SIGSTOP)
        return BACSC_ERR_INVALID_ARG;
    l->sig[signo].fn = fn;
    l->sig[signo].user = user;
    if (!fn)
        return BACSC_OK; /* stays blocked; events are read and ignored */
    if (sigismember(&l->sigmask, signo))
        return BACSC_OK;
    sigset_t add;
    sigemptyset(&add);
    sigaddset(&add, signo);
    sigset_t old;
    if (sigprocmask(SIG_BLOCK, &add, &old) != 0)
        return BACSC_ERR_IO;
    if (l->sigfd < 0)
        l->old_mask = old;
    sigaddset(&l->sigmask, signo);
    int fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return BACSC_ERR_IO;
    if (l->sigfd < 0) {
        l->sigfd = fd;
        int rc = bacsc_loop_watch(l, fd, BACSC_EV_READ, on_signalfd, NULL);
        if (rc != BACSC_OK)
            return rc;
    }
    return BACSC_OK;
}

/* ---- running --------------------------------------------------------------- */

int bacsc_loop_run_once(bacsc_loop *l, uint64_t timeout_us)
{
    struct epoll_event evs[MAX_EVENTS];
    uint32_t gens[MAX_EVENTS];
    if (l->defer_len > 0)
        timeout_us = 0;
    if (l->timers.len > 0) {
        uint64_t now = monotonic_us();
        uint64_t due = bacsc_heap_min(&l->timers)->key;
        uint64_t until = due > now ? due - now : 0;
        if (until < timeout_us)
            timeout_us = until;
    }
    int ms;
    if (timeout_us == UINT64_MAX)
        ms = -1;
    else if (timeout_us > 86400000000ull)
        ms = 86400000;
    else
        ms = (int)((timeout_us + 999) / 1000); /* round up: never wake early and spin */
    int n = epoll_wait(l->epfd, evs, MAX_EVENTS, ms);
    if (n < 0 && errno != EINTR)
        return BACSC_ERR_IO;
    l->more_ready = n == MAX_EVENTS;
    l->now = monotonic_us();
    for (int i = 0; i < n; i++)
        gens[i] = l->watches[evs[i].data.fd].gen;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        struct watch *w = &l->watches[fd];
        if (w->gen == 0 || w->gen != gens[i])
            continue; /* unwatched (or replaced) by an earlier callback */
        unsigned ev = 0;
        uint32_t e = evs[i].events;
        if (e & (EPOLLIN | EPOLLRDHUP))
            ev |= BACSC_EV_READ;
        if (e & EPOLLOUT)
            ev |= BACSC_EV_WRITE;
        if (e & (EPOLLERR | EPOLLHUP))
            ev |= BACSC_EV_ERROR | BACSC_EV_READ;
        w->fn(l, fd, ev, w->user);
    }
    run_timers(l);
    run_deferred(l);
    return BACSC_OK;
}

bool bacsc_loop_more_ready(const bacsc_loop *l)
{
    return l->more_ready;
}

int bacsc_loop_run(bacsc_loop *l)
{
    l->stop = false;
    while (!l->stop) {
        int rc = bacsc_loop_run_once(l, UINT64_MAX);
        if (rc != BACSC_OK)
            return rc;
    }
    return BACSC_OK;
}

void bacsc_loop_stop(bacsc_loop *l)
{
    l->stop = true;
}
