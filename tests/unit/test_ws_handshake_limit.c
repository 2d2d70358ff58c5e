/*
 * test_ws_handshake_limit.c — the listener's max_handshakes: connections
 * beyond it stay in the kernel's accept queue until a handshake ends, and
 * are then taken in order; open connections do not count; silent peers that
 * hold every slot slow accepting down (64 a second) but do not stop it.
 *
 * Plaintext listener on 127.0.0.1 (the handshake is the HTTP upgrade), raw
 * TCP clients from this process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bacsc/error.h"
#include "bacsc/wsconn.h"

static int accepted, opened, closed;

static void *cb_accept(bacsc_wsconn *c, void *user)
{
    (void)c;
    accepted++;
    return user;
}

static void cb_open(bacsc_wsconn *c, unsigned protocol, void *user)
{
    (void)c;
    (void)protocol;
    (void)user;
    opened++;
}

static void cb_close(bacsc_wsconn *c, uint16_t code, const char *reason, void *user)
{
    (void)c;
    (void)code;
    (void)reason;
    (void)user;
    closed++;
}

static int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void upgrade(int fd, uint16_t port)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: hub.bsc.bacnet.org\r\n\r\n",
                     (unsigned)port);
    assert_int_equal(write(fd, req, (size_t)n), n);
}

static void spin(bacsc_loop *loop, int rounds)
{
    for (int i = 0; i < rounds; i++)
        bacsc_loop_run_once(loop, 20000);
}

static void limit_holds_and_releases_in_order(void **state)
{
    (void)state;
    accepted = opened = closed = 0;
    bacsc_loop *loop = bacsc_loop_new();
    assert_non_null(loop);
    bacsc_ws_options o = {.insecure_plaintext = true, .max_handshakes = 2};
    bacsc_ws_callbacks cb = {.on_accept = cb_accept, .on_open = cb_open, .on_close = cb_close};
    bacsc_ws_listener *l = NULL;
    assert_int_equal(bacsc_ws_listen(loop, "127.0.0.1:0", NULL, &o, &cb, NULL, &l), BACSC_OK);
    uint16_t port = bacsc_ws_listener_port(l);

    int fd[5];
    for (int i = 0; i < 5; i++)
        fd[i] = tcp_connect(port); /* completed by the kernel: sit in the accept queue */
    spin(loop, 10);
    assert_int_equal(accepted, 2); /* only two handshakes at a time */
    assert_int_equal(bacsc_ws_listener_count(l), 2);

    /* the first one upgrades: open connections do not count, the third is taken */
    upgrade(fd[0], port);
    spin(loop, 10);
    assert_int_equal(opened, 1);
    assert_true(accepted >= 3); /* exactly 3 unless the 1 s grace batch came too */

    /* the second one gives up: its slot goes to the fourth */
    close(fd[1]);
    spin(loop, 10);
    assert_int_equal(closed, 1);
    assert_true(accepted >= 4);

    /* the rest upgrade; everyone gets in */
    upgrade(fd[2], port);
    upgrade(fd[3], port);
    spin(loop, 10);
    upgrade(fd[4], port);
    spin(loop, 10);
    assert_int_equal(accepted, 5);
    assert_int_equal(opened, 4);
    assert_int_equal(bacsc_ws_listener_count(l), 4);

    for (int i = 0; i < 5; i++)
        if (i != 1)
            close(fd[i]);
    spin(loop, 10);
    assert_int_equal(closed, 5);
    assert_int_equal(bacsc_ws_listener_count(l), 0);
    bacsc_ws_listener_close(l);
    bacsc_loop_free(loop);
}

static void silent_peers_do_not_stop_the_listener(void **state)
{
    (void)state;
    accepted = opened = closed = 0;
    bacsc_loop *loop = bacsc_loop_new();
    assert_non_null(loop);
    bacsc_ws_options o = {.insecure_plaintext = true, .max_handshakes = 1};
    bacsc_ws_callbacks cb = {.on_accept = cb_accept, .on_open = cb_open, .on_close = cb_close};
    bacsc_ws_listener *l = NULL;
    assert_int_equal(bacsc_ws_listen(loop, "127.0.0.1:0", NULL, &o, &cb, NULL, &l), BACSC_OK);
    uint16_t port = bacsc_ws_listener_port(l);
    int fd[4];
    for (int i = 0; i < 4; i++)
        fd[i] = tcp_connect(port); /* fd[0] takes the only slot and says nothing */
    spin(loop, 5);
    assert_int_equal(accepted, 1);
    /* within about a second the grace batch takes the others anyway */
    for (int i = 0; i < 150 && accepted < 4; i++)
        bacsc_loop_run_once(loop, 20000);
    assert_int_equal(accepted, 4);
    upgrade(fd[3], port);
    spin(loop, 10);
    assert_int_equal(opened, 1);
    for (int i = 0; i < 4; i++)
        close(fd[i]);
    spin(loop, 10);
    assert_int_equal(closed, 4);
    bacsc_ws_listener_close(l);
    bacsc_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limit_holds_and_releases_in_order),
        cmocka_unit_test(silent_peers_do_not_stop_the_listener),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
