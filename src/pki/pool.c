/*
 * pool.c — the worker pool of bacsc/pool.h.
 *
 * One mutex guards the job queue and each job's count of workers inside it;
 * items are claimed outside the lock with one atomic counter per job. A job
 * is finished when its counter has passed n (every item claimed) and no
 * worker is inside it any more (every claimed item done): the waiter checks
 * both under the mutex; the last worker to leave a job wakes it.
 * Workers block every asynchronous signal, so signal handling stays with the
 * threads the program made itself.
 * Workers run BACSC_POOL_NICE steps of nice below the thread that made the
 * pool (Linux: the nice value is per thread), or one priority level below
 * it when it runs under a real-time policy. The callers' pipelines have a
 * serial part on that thread (SQLite, the zip) that is their critical path;
 * with as many workers as cores, equal priority gave it only its fair
 * share of a core while the workers ran ahead of it (bench_ca: the calling
 * thread waited 0.15-0.19 s for a CPU while storing 10,000 certificates).
 * When the calling thread sleeps, the workers still get every core.
 */
#include "bacsc/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct bacsc_pool_job {
    bacsc_pool *pool;
    bacsc_pool_fn fn;
    void *ctx;
    size_t n, grain;
    atomic_size_t next; /* first unclaimed item */
    int inside;         /* workers running items of this job (pool->mu) */
    bool queued;        /* (pool->mu) */
    struct bacsc_pool_job *qnext;
};

struct bacsc_pool {
    int nice;   /* the workers' nice value */
    int policy; /* the creator's: under a real-time one, workers run a level below */
    struct sched_param sp;
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or stop */
    pthread_cond_t left; /* a worker left a job */
    bacsc_pool_job *head, *tail;
    bool stop;
    int nworkers;
    pthread_t tid[BACSC_POOL_MAX];
};

static atomic_int default_size;

int bacsc_pool_default_size(void)
{
    int n = atomic_load(&default_size);
    if (n < 1) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c < 1 ? 1 : c > BACSC_POOL_MAX ? BACSC_POOL_MAX : (int)c;
    }
    return n > BACSC_POOL_MAX ? BACSC_POOL_MAX : n;
}

void bacsc_pool_set_default_size(int n)
{
    atomic_store(&default_size, n < 1 ? 0 : n > BACSC_POOL_MAX ? BACSC_POOL_MAX : n);
}

/* Claim and run items until none are left. */
static void run_items(bacsc_pool_job *j)
{
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, j->grain);
        if (i >= j->n)
            return;
        size_t end = j->n - i < j->grain ? j->n : i + j->grain;
        for (; i < end; i++)
            j->fn(j->ctx, i);
    }
}

static void dequeue(bacsc_pool *p, bacsc_pool_job *j)
{
    if (!j->queued)
        return;
    bacsc_pool_job **pp = &p->head, *prev = NULL;
    while (*pp && *pp != j) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (*pp) {
        *pp = j->qnext;
        if (p->tail == j)
            p->tail = prev;
    }
    j->queued = false;
    j->qnext = NULL;
}

/* This thread's nice value (Linux: per thread), or 0 where unknown. */
static int thread_nice(void)
{
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    return n == -1 && errno ? 0 : n;
}

static void *worker(void *arg)
{
    bacsc_pool *p = arg;
    /* best effort: lowering one's priority is always allowed; where it
     * fails the pool works as before at equal priority */
    if (p->policy == SCHED_FIFO || p->policy == SCHED_RR)
        (void)pthread_setschedparam(pthread_self(), p->policy, &p->sp);
    else
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->nice);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && !p->head)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        bacsc_pool_job *j = p->head;
        if (atomic_load(&j->next) >= j->n) { /* all claimed: nothing here for us */
            dequeue(p, j);
            continue;
        }
        j->inside++;
        pthread_mutex_unlock(&p->mu);
        run_items(j);
        pthread_mutex_lock(&p->mu);
        dequeue(p, j); /* every item is claimed now */
        if (--j->inside == 0)
            pthread_cond_broadcast(&p->left);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

bacsc_pool *bacsc_pool_new(int size)
{
    if (size < 1)
        size = bacsc_pool_default_size();
    if (size > BACSC_POOL_MAX)
        size = BACSC_POOL_MAX;
    bacsc_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    int nice = thread_nice() + BACSC_POOL_NICE;
    p->nice = nice > 19 ? 19 : nice;
    if (pthread_getschedparam(pthread_self(), &p->policy, &p->sp) != 0)
        p->policy = SCHED_OTHER;
    else if (p->sp.sched_priority > sched_get_priority_min(p->policy))
        p->sp.sched_priority--;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->left, NULL);
    sigset_t all, old;
    sigfillset(&all);
    /* faults still reach the thread that caused them (and a sanitizer's
     * handler): blocked, they would kill the process without a report */
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(&all, faults[i]);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < size; i++) {
        if (pthread_create(&p->tid[p->nworkers], NULL, worker, p) != 0)
            break;
        p->nworkers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p;
}

void bacsc_pool_free(bacsc_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nworkers; i++)
        pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->left);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int bacsc_pool_size(const bacsc_pool *p)
{
    return p && p->nworkers > 0 ? p->nworkers : 1;
}

bacsc_pool_job *bacsc_pool_start(bacsc_pool *p, size_t n, bacsc_pool_fn fn, void *ctx)
{
    bacsc_pool_job *j = p && p->nworkers > 0 && n > 1 ? calloc(1, sizeof *j) : NULL;
    if (!j) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i);
        return NULL;
    }
    j->pool = p;
    j->fn = fn;
    j->ctx = ctx;
    j->n = n;
    /* small runs keep the threads balanced at the end of a job; a run per
     * item would make the shared counter the hot spot for tiny items */
    size_t g = n / ((size_t)p->nworkers * 32);
    j->grain = g < 1 ? 1 : g > 32 ? 32 : g;
    atomic_init(&j->next, 0);
    pthread_mutex_lock(&p->mu);
    j->queued = true;
    if (p->tail)
        p->tail->qnext = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    return j;
}

void bacsc_pool_wait(bacsc_pool_job *j)
{
    if (!j)
        return;
    bacsc_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&j->next) < j->n || j->inside > 0)
        pthread_cond_wait(&p->left, &p->mu);
    dequeue(p, j);
    pthread_mutex_unlock(&p->mu);
    free(j);
}

void bacsc_pool_for(bacsc_pool *p, size_t n, bacsc_pool_fn fn, void *ctx)
{
    bacsc_pool_wait(bacsc_pool_start(p, n, fn, ctx));
}
