/* test_bench_turn.c — the `bacsc bench hub` generator reads everything that is
 * ready before it expires its nodes' connect waits (bench_loop_turn), and the
 * loop says when one iteration may have left ready fds (bacsc_loop_more_ready).
 *
 * One thread plays every node of the generator: when it is behind, more
 * sockets are ready than one epoll_wait returns (256). Expiring the connect
 * waits after one batch gave up nodes whose hub answer had already arrived. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/loop.h"
#include "cli/bench_hub.h"

#define PAIRS 700 /* more than two iterations' worth of ready sockets */

static int reads;

static void on_ready(bacsc_loop *loop, int fd, unsigned events, void *user)
{
    (void)user;
    if (events & BACSC_EV_READ) {
        char c;
        if (read(fd, &c, 1) == 1)
            reads++;
        bacsc_loop_unwatch(loop, fd);
    }
}

static void make_ready(bacsc_loop *l, int (*sv)[2])
{
    for (int i = 0; i < PAIRS; i++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
        assert_int_equal(write(sv[i][1], "x", 1), 1); /* "the hub's answer has arrived" */
        assert_int_equal(bacsc_loop_watch(l, sv[i][0], BACSC_EV_READ, on_ready, NULL), BACSC_OK);
    }
}

static void close_all(int (*sv)[2])
{
    for (int i = 0; i < PAIRS; i++) {
        close(sv[i][0]);
        close(sv[i][1]);
    }
}

/* One plain iteration reads at most one batch and says more may be ready. */
static void one_iteration_leaves_some(void **state)
{
    (void)state;
    int (*sv)[2] = calloc(PAIRS, sizeof *sv);
    assert_non_null(sv);
    bacsc_loop *l = bacsc_loop_new();
    assert_non_null(l);
    assert_false(bacsc_loop_more_ready(l));
    make_ready(l, sv);
    reads = 0;
    assert_int_equal(bacsc_loop_run_once(l, 0), BACSC_OK);
    assert_true(reads > 0 && reads < PAIRS);
    assert_true(bacsc_loop_more_ready(l));
    while (bacsc_loop_more_ready(l))
        assert_int_equal(bacsc_loop_run_once(l, 0), BACSC_OK);
    assert_int_equal(reads, PAIRS);
    assert_int_equal(bacsc_loop_watch_count(l), 0);
    /* nothing left: a bounded wait returns, not "more ready" */
    assert_int_equal(bacsc_loop_run_once(l, 1000), BACSC_OK);
    assert_false(bacsc_loop_more_ready(l));
    bacsc_loop_free(l);
    close_all(sv);
    free(sv);
}

/* The generator's turn reads every ready socket before it returns (and
 * before the caller expires connect waits). */
static void generator_turn_reads_all_ready(void **state)
{
    (void)state;
    int (*sv)[2] = calloc(PAIRS, sizeof *sv);
    assert_non_null(sv);
    bacsc_loop *l = bacsc_loop_new();
    assert_non_null(l);
    make_ready(l, sv);
    reads = 0;
    bench_loop_turn(l, 10000);
    assert_int_equal(reads, PAIRS);
    assert_false(bacsc_loop_more_ready(l));
    /* and an idle turn waits its slice, no longer */
    uint64_t t0 = bacsc_loop_update_time(l);
    bench_loop_turn(l, 20000);
    uint64_t took = bacsc_loop_update_time(l) - t0;
    assert_true(took >= 19000 && took < 2000000);
    bacsc_loop_free(l);
    close_all(sv);
    free(sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_iteration_leaves_some),
        cmocka_unit_test(generator_turn_reads_all_ready),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
