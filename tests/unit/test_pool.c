/*
 * test_pool.c — the worker pool (bacsc/pool.h): every item exactly once,
 * on more than one thread when the pool has workers, jobs overlapping with
 * the caller's own work, several jobs at once, sizes 1 and NULL.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bacsc/pool.h"

typedef struct count_ctx {
    atomic_int *hits;
    atomic_int threads_seen; /* bit per distinct thread slot */
    pthread_t ids[8];
    atomic_int n_ids;
    pthread_mutex_t mu;
    uint64_t *out; /* out[i] = f(i): a per-item result slot */
} count_ctx;

static void spin_us(long us)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

static void note_thread(count_ctx *c)
{
    pthread_t self = pthread_self();
    pthread_mutex_lock(&c->mu);
    int n = atomic_load(&c->n_ids), seen = 0;
    for (int k = 0; k < n; k++)
        seen |= pthread_equal(c->ids[k], self);
    if (!seen && n < 8) {
        c->ids[n] = self;
        atomic_store(&c->n_ids, n + 1);
    }
    pthread_mutex_unlock(&c->mu);
}

static void count_item(void *vctx, size_t i)
{
    count_ctx *c = vctx;
    atomic_fetch_add(&c->hits[i], 1);
    c->out[i] = (uint64_t)i * 2654435761u;
    note_thread(c);
    if (i % 16 == 0)
        spin_us(200); /* long enough that the workers get a share */
}

static void ctx_init(count_ctx *c, size_t n)
{
    memset(c, 0, sizeof *c);
    c->hits = calloc(n + 1, sizeof *c->hits);
    c->out = calloc(n + 1, sizeof *c->out);
    pthread_mutex_init(&c->mu, NULL);
}

static void ctx_check(count_ctx *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(atomic_load(&c->hits[i]), 1);
        assert_true(c->out[i] == (uint64_t)i * 2654435761u);
    }
    free(c->hits);
    free(c->out);
    pthread_mutex_destroy(&c->mu);
}

static void test_for_every_item_once(void **state)
{
    (void)state;
    bacsc_pool *p = bacsc_pool_new(4);
    assert_non_null(p);
    assert_int_equal(bacsc_pool_size(p), 4);
    static const size_t sizes[] = {0, 1, 2, 3, 31, 32, 33, 1000, 4097};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        count_ctx c;
        ctx_init(&c, sizes[s]);
        bacsc_pool_for(p, sizes[s], count_item, &c);
        ctx_check(&c, sizes[s]);
    }
    bacsc_pool_free(p);
}

static void test_uses_workers(void **state)
{
    (void)state;
    bacsc_pool *p = bacsc_pool_new(3);
    count_ctx c;
    ctx_init(&c, 2000);
    bacsc_pool_for(p, 2000, count_item, &c);
    /* 125 items spin 200 us each: the workers must have taken some */
    assert_true(atomic_load(&c.n_ids) >= 2);
    ctx_check(&c, 2000);
    bacsc_pool_free(p);
}

static size_t order_seen[100];
static size_t order_n;

static void record_order(void *vctx, size_t i)
{
    (void)vctx;
    order_seen[order_n++] = i;
}

static void test_null_pool_runs_on_caller_in_order(void **state)
{
    (void)state;
    assert_int_equal(bacsc_pool_size(NULL), 1);
    count_ctx c;
    ctx_init(&c, 100);
    bacsc_pool_job *j = bacsc_pool_start(NULL, 100, count_item, &c);
    assert_null(j); /* already done, on this thread */
    assert_int_equal(atomic_load(&c.n_ids), 1);
    assert_true(pthread_equal(c.ids[0], pthread_self()));
    bacsc_pool_wait(j);
    ctx_check(&c, 100);
    order_n = 0;
    bacsc_pool_for(NULL, 100, record_order, NULL);
    assert_int_equal(order_n, 100);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(order_seen[i], i);
}

static void test_size_one_is_one_worker(void **state)
{
    (void)state;
    bacsc_pool *p = bacsc_pool_new(1);
    assert_int_equal(bacsc_pool_size(p), 1);
    count_ctx c;
    ctx_init(&c, 300);
    bacsc_pool_job *j = bacsc_pool_start(p, 300, count_item, &c);
    assert_non_null(j);
    bacsc_pool_wait(j);
    assert_int_equal(atomic_load(&c.n_ids), 1); /* the worker, not the caller */
    assert_false(pthread_equal(c.ids[0], pthread_self()));
    ctx_check(&c, 300);
    bacsc_pool_free(p);
}

static void test_start_overlaps_caller_work(void **state)
{
    (void)state;
    bacsc_pool *p = bacsc_pool_new(2);
    count_ctx a, b;
    ctx_init(&a, 500);
    ctx_init(&b, 700);
    /* two jobs in flight at once, the caller busy meanwhile */
    bacsc_pool_job *ja = bacsc_pool_start(p, 500, count_item, &a);
    bacsc_pool_job *jb = bacsc_pool_start(p, 700, count_item, &b);
    spin_us(2000);
    bacsc_pool_wait(jb);
    bacsc_pool_wait(ja);
    ctx_check(&a, 500);
    ctx_check(&b, 700);
    /* many short jobs in a row reuse the same workers */
    for (int r = 0; r < 200; r++) {
        count_ctx c;
        ctx_init(&c, 40);
        bacsc_pool_wait(bacsc_pool_start(p, 40, count_item, &c));
        ctx_check(&c, 40);
    }
    bacsc_pool_free(p);
}

typedef struct from_thread {
    bacsc_pool *p;
    size_t n;
} from_thread;

static void *submit_from_thread(void *arg)
{
    from_thread *f = arg;
    for (int r = 0; r < 20; r++) {
        count_ctx c;
        ctx_init(&c, f->n);
        bacsc_pool_for(f->p, f->n, count_item, &c);
        ctx_check(&c, f->n);
    }
    return NULL;
}

static void test_jobs_from_several_threads(void **state)
{
    (void)state;
    bacsc_pool *p = bacsc_pool_new(3);
    pthread_t t[3];
    from_thread f[3] = {{p, 50}, {p, 130}, {p, 7}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, submit_from_thread, &f[i]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    bacsc_pool_free(p);
}

static void test_default_size(void **state)
{
    (void)state;
    bacsc_pool_set_default_size(0);
    int cpus = bacsc_pool_default_size();
    assert_true(cpus >= 1 && cpus <= BACSC_POOL_MAX);
    bacsc_pool_set_default_size(3);
    assert_int_equal(bacsc_pool_default_size(), 3);
    bacsc_pool *p = bacsc_pool_new(0);
    assert_int_equal(bacsc_pool_size(p), 3);
    bacsc_pool_free(p);
    bacsc_pool_set_default_size(1000);
    assert_int_equal(bacsc_pool_default_size(), BACSC_POOL_MAX);
    bacsc_pool_set_default_size(0);
    assert_int_equal(bacsc_pool_default_size(), cpus);
    bacsc_pool_free(NULL);
}

/* Items record the nice value of the thread that ran them. */
typedef struct nice_ctx {
    pthread_t caller;
    atomic_int on_workers, wrong;
    int want;
} nice_ctx;

static int my_nice(void)
{
    return getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}

static void nice_item(void *vctx, size_t i)
{
    nice_ctx *c = vctx;
    (void)i;
    if (pthread_equal(pthread_self(), c->caller))
        return;
    atomic_fetch_add(&c->on_workers, 1);
    if (my_nice() != c->want)
        atomic_fetch_add(&c->wrong, 1);
    spin_us(50);
}

/* The workers run below the thread that made the pool, which keeps its own
 * priority (its serial work is the callers' critical path). */
static void test_workers_run_at_lower_priority(void **state)
{
    (void)state;
    int before = my_nice();
    nice_ctx c = {.caller = pthread_self()};
    c.want = before + BACSC_POOL_NICE > 19 ? 19 : before + BACSC_POOL_NICE;
    bacsc_pool *p = bacsc_pool_new(2);
    bacsc_pool_for(p, 256, nice_item, &c);
    bacsc_pool_free(p);
    assert_true(atomic_load(&c.on_workers) > 0);
    assert_int_equal(atomic_load(&c.wrong), 0);
    assert_int_equal(my_nice(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_for_every_item_once),
        cmocka_unit_test(test_uses_workers),
        cmocka_unit_test(test_null_pool_runs_on_caller_in_order),
        cmocka_unit_test(test_size_one_is_one_worker),
        cmocka_unit_test(test_start_overlaps_caller_work),
        cmocka_unit_test(test_jobs_from_several_threads),
        cmocka_unit_test(test_default_size),
        cmocka_unit_test(test_workers_run_at_lower_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
