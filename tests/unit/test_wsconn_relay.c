/*
 * test_wsconn_relay.c — the relay path of WebSocket connections over real TLS
 * 1.3 on 127.0.0.1 (one event loop, listener and client in this process):
 *
 *   - OpenSSL's record buffers: a connection carrying traffic keeps them
 *     (SSL_MODE_RELEASE_BUFFERS cleared: no 17 KB malloc+free per record);
 *     once idle for a second it gives them back (the mode is set again and
 *     the buffers freed), so idle connections stay small;
 *   - a stale entry on the thread's OpenSSL error queue (left by unrelated
 *     code) must not make SSL_read/SSL_write look failed: the queue is
 *     checked before each call and cleared only when not empty;
 *   - writes go through a socket BIO of their own, reads keep the BIO with
 *     the short-read callback;
 *   - an answer queued while its connection is being read (and flushed at
 *     the end of the loop turn) costs no epoll_ctl: no write-interest toggle;
 *   - a client's masking keys, drawn from RAND_bytes in batches, are used
 *     once each: every frame on the wire has a key of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/wsconn.h"
#include "support_sc.h"

static sct_env env;
static bacsc_loop *loop;

struct peer {
    int opened, closed, msgs;
    bool echo;
    bacsc_wsconn *conn;
};

static struct peer srv, cli;

static void *cb_accept(bacsc_wsconn *c, void *user)
{
    (void)c;
    return user;
}

static void cb_open(bacsc_wsconn *c, unsigned proto, void *user)
{
    (void)proto;
    struct peer *p = user;
    p->opened++;
    p->conn = c;
}

static void cb_message(bacsc_wsconn *c, const uint8_t *data, size_t len, void *user)
{
    struct peer *p = user;
    p->msgs++;
    if (p->echo)
        assert_int_equal(bacsc_wsconn_send(c, data, len), BACSC_OK);
}

static void cb_close(bacsc_wsconn *c, uint16_t code, const char *reason, void *user)
{
    (void)code;
    (void)reason;
    struct peer *p = user;
    p->closed++;
    if (p->conn == c)
        p->conn = NULL;
}

static const bacsc_ws_callbacks callbacks = {cb_accept, cb_open, cb_message, cb_close};

static bool releases(bacsc_wsconn *c)
{
    return (SSL_get_mode(bacsc_wsconn_ssl(c)) & SSL_MODE_RELEASE_BUFFERS) != 0;
}

struct pair {
    bacsc_tls_ctx *st, *ct;
    bacsc_ws_listener *l;
    bacsc_wsconn *c;
};

static void open_pair(struct pair *p)
{
    memset(&srv, 0, sizeof srv);
    memset(&cli, 0, sizeof cli);
    srv.echo = true;
    p->st = sct_tls(&env, true, "server", "ca1", NULL, NULL);
    p->ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    char uri[64];
    p->l = sct_listen(loop, p->st, &callbacks, &srv, uri, sizeof uri - 4);
    strcat(uri, "/hub");
    assert_int_equal(bacsc_ws_connect(loop, uri, p->ct, NULL, &callbacks, &cli, &p->c), BACSC_OK);
    sct_run_until(loop, &cli.opened, 1, 5000);
    sct_run_until(loop, &srv.opened, 1, 5000);
    assert_int_equal(cli.opened, 1);
    assert_non_null(srv.conn);
}

static void close_pair(struct pair *p)
{
    bacsc_wsconn_close(p->c, BACSC_WS_CLOSE_NORMAL, "bye");
    sct_run_until(loop, &srv.closed, 1, 5000);
    sct_run_for(loop, 20);
    bacsc_ws_listener_close(p->l);
    bacsc_tls_ctx_free(p->st);
    bacsc_tls_ctx_free(p->ct);
}

/* Messages one at a time (each waits for its echo), as a request/response
 * conversation does. */
static void converse(struct pair *p, int n)
{
    static const uint8_t msg[64] = {1, 2, 3};
    for (int i = 0; i < n; i++) {
        int want = cli.msgs + 1;
        assert_int_equal(bacsc_wsconn_send(p->c, msg, sizeof msg), BACSC_OK);
        sct_run_until(loop, &cli.msgs, want, 5000);
        assert_int_equal(cli.msgs, want);
    }
}

static void busy_keeps_idle_releases(void **state)
{
    (void)state;
    struct pair p;
    open_pair(&p);
    /* just opened: nothing relayed yet, the buffers are released per record */
    sct_run_for(loop, 50);
    assert_true(releases(srv.conn));
    assert_true(releases(p.c));
    /* writes have a BIO of their own; reads keep the one with the callback */
    assert_ptr_not_equal(SSL_get_rbio(bacsc_wsconn_ssl(srv.conn)),
                         SSL_get_wbio(bacsc_wsconn_ssl(srv.conn)));
    assert_non_null(BIO_get_callback_ex(SSL_get_rbio(bacsc_wsconn_ssl(srv.conn))));
    assert_null(BIO_get_callback_ex(SSL_get_wbio(bacsc_wsconn_ssl(srv.conn))));

    converse(&p, 20);
    assert_int_equal(srv.msgs, 20);
    assert_false(releases(srv.conn));
    assert_false(releases(p.c));

    /* still busy half a second later: kept (the idle clock restarts) */
    sct_run_for(loop, 500);
    converse(&p, 3);
    sct_run_for(loop, 600);
    assert_false(releases(srv.conn));

    /* idle for over a second: given back */
    sct_run_for(loop, 700);
    assert_true(releases(srv.conn));
    assert_true(releases(p.c));

    /* and kept again when traffic resumes, with nothing lost */
    converse(&p, 5);
    assert_false(releases(srv.conn));
    assert_int_equal(srv.msgs, 28);
    close_pair(&p);
}

static void stale_error_queue_is_harmless(void **state)
{
    (void)state;
    struct pair p;
    open_pair(&p);
    static uint8_t big[60000];
    for (int i = 0; i < 10; i++) {
        /* an error left on this thread's queue by unrelated code; then a
         * message of several records, so that some SSL_read finds only part
         * of a record and must report "want read", not a failure */
        ERR_raise_data(ERR_LIB_SSL, SSL_R_BAD_LENGTH, "stale error %d", i);
        int want = cli.msgs + 1;
        big[0] = (uint8_t)i;
        assert_int_equal(bacsc_wsconn_send(p.c, big, sizeof big), BACSC_OK);
        sct_run_until(loop, &cli.msgs, want, 5000);
        assert_int_equal(cli.msgs, want);
    }
    assert_int_equal(srv.msgs, 10);
    assert_int_equal(cli.closed, 0);
    assert_int_equal(srv.closed, 0);
    assert_non_null(srv.conn);
    assert_true(bacsc_wsconn_is_open(p.c));
    close_pair(&p);
    ERR_clear_error();
}

static void answer_costs_no_epoll_ctl(void **state)
{
    (void)state;
    struct pair p;
    open_pair(&p);
    converse(&p, 5);
    /* the server answers from its message callback, on the connection being
     * read: the answer is flushed at the end of the same loop turn */
    uint64_t before = bacsc_loop_ctl_count(loop);
    converse(&p, 50);
    assert_int_equal(srv.msgs, 55);
    uint64_t ctl = bacsc_loop_ctl_count(loop) - before;
    assert_true(ctl <= 4); /* was 2 per answer: write interest on, then off */
    close_pair(&p);
}

/* A TCP relay between a client and a plaintext listener that keeps what the
 * client sent, to read the masking keys on the wire. */
struct tap {
    int lfd;
    uint16_t port, to;
    pthread_t th;
    uint8_t seen[32768];
    size_t len;
};

static void send_all(int fd, const uint8_t *d, ssize_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, d, (size_t)n);
        if (w <= 0)
            return;
        d += w;
        n -= w;
    }
}

static void *tap_run(void *arg)
{
    struct tap *t = arg;
    int a = accept(t->lfd, NULL, NULL);
    int b = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(t->to),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (a < 0 || b < 0 || connect(b, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto out;
    struct pollfd pf[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
    uint8_t buf[4096];
    while (poll(pf, 2, 5000) > 0) {
        ssize_t n;
        if (pf[0].revents) {
            if ((n = read(a, buf, sizeof buf)) <= 0)
                break;
            size_t k = (size_t)n < sizeof t->seen - t->len ? (size_t)n : sizeof t->seen - t->len;
            memcpy(t->seen + t->len, buf, k);
            t->len += k;
            send_all(b, buf, n);
        }
        if (pf[1].revents) {
            if ((n = read(b, buf, sizeof buf)) <= 0)
                break;
            send_all(a, buf, n);
        }
    }
out:
    if (a >= 0)
        close(a);
    close(b);
    return NULL;
}

static void client_masks_used_once(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    memset(&cli, 0, sizeof cli);
    srv.echo = true;
    bacsc_ws_options o = {.insecure_plaintext = true, .protocols = BACSC_WS_PROTO_HUB};
    bacsc_ws_listener *l;
    assert_int_equal(bacsc_ws_listen(loop, "127.0.0.1:0", NULL, &o, &callbacks, &srv, &l),
                     BACSC_OK);
    static struct tap t;
    memset(&t, 0, sizeof t);
    t.to = bacsc_ws_listener_port(l);
    t.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(t.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(t.lfd, 1), 0);
    assert_int_equal(getsockname(t.lfd, (struct sockaddr *)&sa, &sl), 0);
    assert_int_equal(pthread_create(&t.th, NULL, tap_run, &t), 0);
    char uri[64];
    snprintf(uri, sizeof uri, "ws://127.0.0.1:%u/hub", ntohs(sa.sin_port));
    bacsc_wsconn *c;
    assert_int_equal(bacsc_ws_connect(loop, uri, NULL, &o, &callbacks, &cli, &c), BACSC_OK);
    sct_run_until(loop, &cli.opened, 1, 5000);
    assert_int_equal(cli.opened, 1);
    struct pair p = {.c = c};
    converse(&p, 40); /* more keys than one RAND_bytes batch holds */
    bacsc_wsconn_close(c, BACSC_WS_CLOSE_NORMAL, "bye");
    sct_run_until(loop, &cli.closed, 1, 5000);
    pthread_join(t.th, NULL);
    close(t.lfd);
    bacsc_ws_listener_close(l);

    /* the frames after the upgrade request: 40 messages and the close */
    const uint8_t *d = t.seen, *end = t.seen + t.len;
    while (end - d >= 4 && memcmp(d, "\r\n\r\n", 4) != 0)
        d++;
    assert_true(end - d >= 4);
    d += 4;
    static uint8_t keys[64][4];
    int n = 0;
    while (d < end && n < 64) {
        assert_true(end - d >= 6);
        assert_true(d[1] & 0x80); /* masked */
        size_t len = d[1] & 0x7f;
        assert_true(len < 126);
        memcpy(keys[n++], d + 2, 4);
        d += 6 + len;
    }
    assert_ptr_equal(d, end);
    assert_int_equal(n, 41);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            assert_memory_not_equal(keys[i], keys[j], 4);
}

static int setup(void **state)
{
    (void)state;
    int rc = sct_env_setup(&env, "wsrelay");
    loop = env.loop;
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    return sct_env_teardown(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(busy_keeps_idle_releases),
        cmocka_unit_test(stale_error_queue_is_harmless),
        cmocka_unit_test(answer_costs_no_epoll_ctl),
        cmocka_unit_test(client_masks_used_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
