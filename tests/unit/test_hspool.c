/*
 * test_hspool.c — TLS handshakes on worker threads (bacsc/hspool.h) behind a
 * WebSocket listener (handshake_threads): many clients open and exchange a
 * message; a bad certificate fails with the same TLS error code as on the
 * loop; a silent peer ends at the first-octet timeout; a connection aborted
 * while its handshake is on a worker, a context reload while workers run,
 * and closing the listener with handshakes in flight all end cleanly. The
 * listener's stats report the workers. Real TLS on 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bacsc/error.h"
#include "bacsc/hspool.h"
#include "bacsc/log.h"
#include "bacsc/tls.h"
#include "bacsc/wsconn.h"
#include <openssl/ssl.h>
#include "support_pki.h"

#define N 40

static char pki[256];
static bacsc_loop *loop;
static int s_open, s_closed, s_msgs, c_open, c_closed, c_msgs;
static uint16_t s_last_code, c_last_code;
static bacsc_wsconn *s_first;

static void *s_accept(bacsc_wsconn *c, void *user)
{
    if (!s_first)
        s_first = c;
    return user;
}

static void s_on_open(bacsc_wsconn *c, unsigned proto, void *user)
{
    (void)c;
    (void)proto;
    (void)user;
    s_open++;
}

static void s_on_message(bacsc_wsconn *c, const uint8_t *d, size_t n, void *user)
{
    (void)user;
    s_msgs++;
    bacsc_wsconn_send(c, d, n); /* echo */
}

static void s_on_close(bacsc_wsconn *c, uint16_t code, const char *reason, void *user)
{
    (void)reason;
    (void)user;
    if (c == s_first)
        s_first = NULL;
    s_closed++;
    s_last_code = code;
}

static void c_on_open(bacsc_wsconn *c, unsigned proto, void *user)
{
    (void)proto;
    (void)user;
    c_open++;
    bacsc_wsconn_send(c, (const uint8_t *)"ping", 4);
}

static void c_on_message(bacsc_wsconn *c, const uint8_t *d, size_t n, void *user)
{
    (void)user;
    if (n == 4 && memcmp(d, "ping", 4) == 0)
        c_msgs++;
    bacsc_wsconn_close(c, BACSC_WS_CLOSE_NORMAL, "bye");
}

static void c_on_close(bacsc_wsconn *c, uint16_t code, const char *reason, void *user)
{
    (void)c;
    (void)reason;
    (void)user;
    c_closed++;
    c_last_code = code;
}

static const bacsc_ws_callbacks scb = {s_accept, s_on_open, s_on_message, s_on_close};
static const bacsc_ws_callbacks ccb = {NULL, c_on_open, c_on_message, c_on_close};

static void reset(void)
{
    s_open = s_closed = s_msgs = c_open = c_closed = c_msgs = 0;
    s_last_code = c_last_code = 0;
    s_first = NULL;
}

static bacsc_tls_ctx *ctx(const char *leaf, bool server)
{
    char cert[512], key[512], issuer[512];
    support_pki_path(cert, sizeof cert, pki, leaf, "pem");
    support_pki_path(key, sizeof key, pki, leaf, "key");
    support_pki_path(issuer, sizeof issuer, pki, "ca1", "pem");
    bacsc_tls_config cfg = {.cert_file = cert, .key_file = key, .issuer_files = {issuer, NULL},
                            .keylog_file = ""};
    char err[256];
    bacsc_tls_ctx *t = bacsc_tls_ctx_new(&cfg, server, err, sizeof err);
    if (!t)
        fail_msg("tls ctx %s: %s", leaf, err);
    return t;
}

static void run_until(const int *a, int want, int ms)
{
    uint64_t end = bacsc_loop_update_time(loop) + (uint64_t)ms * 1000;
    while (*a < want && bacsc_loop_now(loop) < end)
        bacsc_loop_run_once(loop, 10000);
}

static bacsc_ws_listener *listen_pool(bacsc_tls_ctx *st, unsigned threads, uint32_t first_ms)
{
    bacsc_ws_options o = {.handshake_threads = threads, .first_octet_timeout_ms = first_ms,
                          .max_handshakes_per_addr = BACSC_WS_OFF,
                          .accept_rate_per_addr = BACSC_WS_OFF};
    bacsc_ws_listener *l = NULL;
    assert_int_equal(bacsc_ws_listen(loop, "127.0.0.1:0", st, &o, &scb, NULL, &l), BACSC_OK);
    return l;
}

static void connect_n(bacsc_ws_listener *l, bacsc_tls_ctx *ct, int n)
{
    char uri[64];
    snprintf(uri, sizeof uri, "wss://127.0.0.1:%u", bacsc_ws_listener_port(l));
    for (int i = 0; i < n; i++) {
        bacsc_wsconn *c;
        assert_int_equal(bacsc_ws_connect(loop, uri, ct, NULL, &ccb, NULL, &c), BACSC_OK);
    }
}

static void many_handshakes_on_workers(void **state)
{
    (void)state;
    reset();
    bacsc_tls_ctx *st = ctx("server", true), *ct = ctx("client", false);
    bacsc_ws_listener *l = listen_pool(st, 2, 0);
    connect_n(l, ct, N);
    run_until(&c_closed, N, 30000);
    assert_int_equal(c_open, N);
    assert_int_equal(c_msgs, N);
    run_until(&s_closed, N, 5000);
    assert_int_equal(s_open, N);
    assert_int_equal(s_msgs, N);
    bacsc_ws_listener_stats ls;
    bacsc_ws_listener_get_stats(l, &ls);
    assert_int_equal(ls.handshake_threads, 2);
    assert_int_equal(ls.handshake_queue, 0);
    assert_int_equal(ls.opened, N);
    /* epoll_ctl on the workers: ADD and DEL per handshake, no MOD while the
     * interest stays "readable" (was ADD + 1-2 MOD + DEL) */
    assert_true(ls.handshake_ctl_calls >= 2 * (uint64_t)N);
    assert_true(ls.handshake_ctl_calls < 3 * (uint64_t)N);
    bacsc_tls_stats ts;
    bacsc_tls_ctx_stats(st, &ts);
    assert_int_equal(ts.handshakes, N);
    bacsc_ws_listener_close(l);
    bacsc_tls_ctx_free(st);
    bacsc_tls_ctx_free(ct);
}

static void bad_certificate_fails_as_on_the_loop(void **state)
{
    (void)state;
    bacsc_tls_ctx *st = ctx("server", true), *ct = ctx("other", false); /* CA 2 */
    uint16_t code[2];
    for (int pooled = 0; pooled < 2; pooled++) {
        reset();
        bacsc_ws_listener *l = listen_pool(st, pooled ? 2 : 0, 0);
        connect_n(l, ct, 1);
        run_until(&s_closed, 1, 10000);
        run_until(&c_closed, 1, 5000);
        assert_int_equal(s_open, 0);
        code[pooled] = s_last_code;
        bacsc_ws_listener_stats ls;
        bacsc_ws_listener_get_stats(l, &ls);
        assert_int_equal(ls.tls_failed[s_last_code - 180], 1);
        bacsc_ws_listener_close(l);
    }
    assert_int_equal(code[1], code[0]);
    assert_int_equal(code[1], 180); /* client-certificate-error, seen by the server */
    bacsc_tls_ctx_free(st);
    bacsc_tls_ctx_free(ct);
}

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void silent_peer_ends_at_first_octet_timeout(void **state)
{
    (void)state;
    reset();
    bacsc_tls_ctx *st = ctx("server", true);
    bacsc_ws_listener *l = listen_pool(st, 1, 300);
    int fd = raw_connect(bacsc_ws_listener_port(l));
    run_until(&s_closed, 1, 5000);
    assert_int_equal(s_closed, 1);
    bacsc_ws_listener_stats ls;
    bacsc_ws_listener_get_stats(l, &ls);
    assert_int_equal(ls.first_octet_timeouts, 1);
    assert_int_equal(ls.handshaking, 0);
    close(fd);
    bacsc_ws_listener_close(l);
    bacsc_tls_ctx_free(st);
}

/* A TLS client on a raw socket that sends its ClientHello and gives up:
 * at once (`wait_for_hub` false: the FIN follows the hello), or once the
 * hub's first flight has arrived, closing over it unread (a TCP reset). */
static void client_gives_up(bacsc_tls_ctx *ct, uint16_t port, bool wait_for_hub)
{
    int fd = raw_connect(port);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    SSL *ssl = bacsc_tls_new_ssl(ct, fd, "127.0.0.1");
    assert_non_null(ssl);
    assert_int_equal(SSL_do_handshake(ssl), -1); /* ClientHello out, waits for the server */
    for (int i = 0; wait_for_hub && i < 500; i++) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 0) == 1)
            break;
        bacsc_loop_run_once(loop, 10000);
    }
    if (wait_for_hub) /* a worker that just sent it is back in epoll_wait by then */
        for (int i = 0; i < 20; i++)
            bacsc_loop_run_once(loop, 10000);
    close(fd);
    SSL_free(ssl);
}

/* Clients that close before their TLS handshake is done cost the listener
 * no handshake work: those that gave up while waiting in the accept queue
 * are dropped at accept (no SSL, no on_accept), and one that reset its
 * connection is dropped before the next handshake step. */
static void client_gone_costs_no_handshake(void **state)
{
    (void)state;
    bacsc_tls_ctx *st = ctx("server", true), *ct = ctx("client", false);
    for (unsigned threads = 0; threads <= 2; threads += 2) { /* on the loop, on workers */
        reset();
        bacsc_tls_stats ts0, ts;
        bacsc_tls_ctx_stats(st, &ts0);
        bacsc_ws_listener *l = listen_pool(st, threads, 0);
        uint16_t port = bacsc_ws_listener_port(l);
        for (int i = 0; i < 5; i++) /* the loop does not run: they wait in the accept queue */
            client_gives_up(ct, port, false);
        for (int i = 0; i < 20; i++)
            bacsc_loop_run_once(loop, 10000);
        bacsc_ws_listener_stats ls;
        bacsc_ws_listener_get_stats(l, &ls);
        assert_int_equal(ls.abandoned, 5);
        assert_int_equal(ls.accepted, 0);
        assert_int_equal(ls.tls_failed[BACSC_EC_TLS_ERROR - 180], 0);
        assert_int_equal(s_closed, 0);
        client_gives_up(ct, port, true);
        run_until(&s_closed, 1, 5000);
        bacsc_ws_listener_get_stats(l, &ls);
        assert_int_equal(ls.abandoned, 6);
        assert_int_equal(ls.accepted, 1);
        assert_int_equal(ls.opened, 0);
        assert_int_equal(ls.tls_failed[BACSC_EC_TLS_ERROR - 180], 0);
        bacsc_tls_ctx_stats(st, &ts);
        assert_int_equal(ts.handshakes, ts0.handshakes);
        assert_int_equal(s_closed, 1);
        assert_int_equal(s_open, 0);
        bacsc_ws_listener_close(l);
    }
    bacsc_tls_ctx_free(st);
    bacsc_tls_ctx_free(ct);
}

static void abort_reload_and_close_while_on_workers(void **state)
{
    (void)state;
    reset();
    bacsc_tls_ctx *st = ctx("server", true), *ct = ctx("client", false);
    bacsc_ws_listener *l = listen_pool(st, 2, 0);
    uint16_t port = bacsc_ws_listener_port(l);
    /* a peer that never finishes: its handshake sits on a worker */
    int fd = raw_connect(port);
    assert_int_equal(write(fd, "\x16\x03\x01", 3), 3);
    for (int i = 0; i < 20 && !s_first; i++)
        bacsc_loop_run_once(loop, 10000);
    assert_non_null(s_first);
    bacsc_wsconn_abort(s_first); /* on_close now; fd and SSL freed when the worker returns */
    assert_int_equal(s_closed, 1);
    /* a reload (SSL_CTX swap) while handshakes run on the workers */
    connect_n(l, ct, N / 2);
    char cert[512], key[512], issuer[512];
    support_pki_path(cert, sizeof cert, pki, "server", "pem");
    support_pki_path(key, sizeof key, pki, "server", "key");
    support_pki_path(issuer, sizeof issuer, pki, "ca1", "pem");
    bacsc_tls_config cfg = {.cert_file = cert, .key_file = key, .issuer_files = {issuer, NULL},
                            .keylog_file = ""};
    for (int i = 0; i < 5; i++) {
        char err[256];
        bacsc_loop_run_once(loop, 2000);
        assert_int_equal(bacsc_tls_ctx_reload(st, &cfg, err, sizeof err), BACSC_OK);
    }
    run_until(&c_closed, N / 2, 30000);
    assert_int_equal(c_msgs, N / 2);
    /* more handshakes in flight, then the listener closes under them */
    int before = s_closed;
    connect_n(l, ct, N / 2);
    for (int i = 0; i < 3; i++)
        bacsc_loop_run_once(loop, 1000);
    bacsc_ws_listener_close(l);
    run_until(&c_closed, N, 15000);
    assert_int_equal(c_closed, N);
    assert_true(s_closed >= before);
    close(fd);
    bacsc_tls_ctx_free(st);
    bacsc_tls_ctx_free(ct);
}

static int setup(void **state)
{
    (void)state;
    snprintf(pki, sizeof pki, "/tmp/bacsc-hspool-XXXXXX");
    if (!mkdtemp(pki) || support_pki_make(pki) != 0)
        return -1;
    loop = bacsc_loop_new();
    bacsc_log_set_level(getenv("BACSC_TEST_VERBOSE") ? BACSC_LOG_DEBUG : BACSC_LOG_ERROR);
    return loop ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bacsc_loop_free(loop);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_handshakes_on_workers),
        cmocka_unit_test(bad_certificate_fails_as_on_the_loop),
        cmocka_unit_test(silent_peer_ends_at_first_octet_timeout),
        cmocka_unit_test(client_gone_costs_no_handshake),
        cmocka_unit_test(abort_reload_and_close_while_on_workers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
