/* test_loop.c — event loop: timer ordering/cancel/restart, fd watches, defer, signals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/loop.h"

static int order[64];
static int norder;

static void record(bacsc_loop *loop, void *user)
{
    (void)loop;
    order[norder++] = (int)(intptr_t)user;
}

static void timers_fire_in_order(void **state)
{
    (void)state;
    bacsc_loop *l = bacsc_loop_new();
    assert_non_null(l);
    bacsc_timer t[40];
    norder = 0;
    uint64_t base = bacsc_loop_now(l);
    /* Deadlines in a scrambled order, some equal. */
    for (int i = 0; i < 40; i++) {
        bacsc_timer_init(&t[i], record, (void *)(intptr_t)i);
        assert_int_equal(bacsc_timer_start_at(l, &t[i], base + (uint64_t)((i * 37) % 40) * 100), BACSC_OK);
    }
    /* Stop a few, restart one later. */
    bacsc_timer_stop(l, &t[3]);
    bacsc_timer_stop(l, &t[17]);
    bacsc_timer_stop(l, &t[17]); /* idempotent */
    assert_false(bacsc_timer_active(&t[3]));
    assert_int_equal(bacsc_timer_start_at(l, &t[5], base + 100000), BACSC_OK);
    assert_int_equal(bacsc_loop_timer_count(l), 38);
    while (bacsc_loop_timer_count(l) > 0)
        assert_int_equal(bacsc_loop_run_once(l, UINT64_MAX), BACSC_OK);
    assert_int_equal(norder, 38);
    uint64_t prev = 0;
    for (int i = 0; i < norder; i++) {
        int k = order[i];
        assert_true(k != 3 && k != 17);
        uint64_t when = k == 5 ? 100000 : (uint64_t)((k * 37) % 40) * 100;
        assert_true(when >= prev);
        prev = when;
    }
    assert_int_equal(order[norder - 1], 5);
    assert_true(bacsc_loop_now(l) >= base + 100000);
    bacsc_loop_free(l);
}

static int repeats;
static bacsc_timer rep_timer;

static void repeat_cb(bacsc_loop *loop, void *user)
{
    (void)user;
    if (++repeats < 5)
        bacsc_timer_start(loop, &rep_timer, 0); /* due now: must not spin within one iteration */
    else
        bacsc_loop_stop(loop);
}

static void timer_restart_from_callback(void **state)
{
    (void)state;
    bacsc_loop *l = bacsc_loop_new();
    repeats = 0;
    bacsc_timer_init(&rep_timer, repeat_cb, NULL);
    bacsc_timer_start(l, &rep_timer, 1000);
    assert_int_equal(bacsc_loop_run(l), BACSC_OK);
    assert_int_equal(repeats, 5);
    bacsc_loop_free(l);
}

struct pipe_ctx {
    int fds[2];
    int reads;
    int writes;
    char got[16];
};

static void on_pipe(bacsc_loop *loop, int fd, unsigned events, void *user)
{
    struct pipe_ctx *p = user;
    if (events & BACSC_EV_READ) {
        ssize_t n = read(fd, p->got, sizeof p->got - 1);
        if (n > 0)
            p->got[n] = '\0';
        p->reads++;
        bacsc_loop_unwatch(loop, fd);
    }
    if (events & BACSC_EV_WRITE) {
        p->writes++;
        assert_int_equal(write(fd, "ping", 4), 4);
        bacsc_loop_set_events(loop, fd, 0);
    }
}

static int deferred_runs;

static void defer_cb(bacsc_loop *loop, void *user)
{
    deferred_runs++;
    if (user) /* a deferred callback deferring another runs in the same pass */
        bacsc_loop_defer(loop, defer_cb, NULL);
}

static void fd_watches_and_defer(void **state)
{
    (void)state;
    bacsc_loop *l = bacsc_loop_new();
    struct pipe_ctx p = {0};
    assert_int_equal(pipe(p.fds), 0);
    assert_int_equal(bacsc_loop_watch(l, p.fds[0], BACSC_EV_READ, on_pipe, &p), BACSC_OK);
    assert_int_equal(bacsc_loop_watch(l, p.fds[1], BACSC_EV_WRITE, on_pipe, &p), BACSC_OK);
    assert_int_equal(bacsc_loop_watch_count(l), 2);
    assert_int_equal(bacsc_loop_watch(l, -1, BACSC_EV_READ, on_pipe, &p), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_loop_set_events(l, 999, BACSC_EV_READ), BACSC_ERR_NOT_FOUND);
    deferred_runs = 0;
    bacsc_loop_defer(l, defer_cb, (void *)1);
    for (int i = 0; i < 10 && p.reads == 0; i++)
        assert_int_equal(bacsc_loop_run_once(l, 100000), BACSC_OK);
    assert_int_equal(p.writes, 1);
    assert_int_equal(p.reads, 1);
    assert_string_equal(p.got, "ping");
    assert_int_equal(deferred_runs, 2);
    assert_int_equal(bacsc_loop_watch_count(l), 1);
    bacsc_loop_unwatch(l, p.fds[1]);
    bacsc_loop_unwatch(l, p.fds[1]); /* unknown: ignored */
    assert_int_equal(bacsc_loop_watch_count(l), 0);
    /* Nothing watched, no timers: a bounded wait returns. */
    uint64_t t0 = bacsc_loop_update_time(l);
    assert_int_equal(bacsc_loop_run_once(l, 20000), BACSC_OK);
    assert_true(bacsc_loop_now(l) - t0 >= 19000);
    close(p.fds[0]);
    close(p.fds[1]);
    bacsc_loop_free(l);
}

static int got_signal;

static void on_sig(bacsc_loop *loop, int signo, void *user)
{
    got_signal = signo;
    bacsc_loop_stop(loop);
}

static void signals_via_signalfd(void **state)
{
    (void)state;
    bacsc_loop *l = bacsc_loop_new();
    got_signal = 0;
    assert_int_equal(bacsc_loop_signal(l, SIGUSR1, on_sig, NULL), BACSC_OK);
    assert_int_equal(bacsc_loop_signal(l, SIGKILL, on_sig, NULL), BACSC_ERR_INVALID_ARG);
    assert_int_equal(kill(getpid(), SIGUSR1), 0); /* blocked: queued for the signalfd */
    assert_int_equal(bacsc_loop_run(l), BACSC_OK);
    assert_int_equal(got_signal, SIGUSR1);
    uint8_t *scratch;
    size_t n;
    scratch = bacsc_loop_scratch(l, &n);
    assert_non_null(scratch);
    assert_true(n >= 65536);
    bacsc_loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_order),
        cmocka_unit_test(timer_restart_from_callback),
        cmocka_unit_test(fd_watches_and_defer),
        cmocka_unit_test(signals_via_signalfd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
