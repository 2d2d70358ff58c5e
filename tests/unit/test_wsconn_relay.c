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
 *     the short-read callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
