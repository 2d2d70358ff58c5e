/*
 * test_tls_reload.c — bacsc_tls_ctx_reload() and bacsc_tls_peer_recheck()
 * over real WebSocket/TLS connections on 127.0.0.1: after a reload, new
 * handshakes present the new certificate while a connection made before
 * stays open; a reload from unusable files fails and changes nothing; a
 * connected peer whose certificate the reloaded CRL revokes fails the
 * recheck with the reason, an unrevoked one passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/loop.h"
#include "bacsc/tls.h"
#include "bacsc/wsconn.h"
#include "support_sc.h"

static sct_env env;
static bacsc_loop *loop;

struct peer {
    int opened, closed;
    bacsc_wsconn *c;
    char peer_subject[256];
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
    p->c = c;
    X509 *x = SSL_get0_peer_certificate(bacsc_wsconn_ssl(c));
    p->peer_subject[0] = 0;
    if (x)
        X509_NAME_oneline(X509_get_subject_name(x), p->peer_subject, sizeof p->peer_subject);
}

static void cb_message(bacsc_wsconn *c, const uint8_t *d, size_t n, void *user)
{
    (void)c, (void)d, (void)n, (void)user;
}

static void cb_close(bacsc_wsconn *c, uint16_t code, const char *reason, void *user)
{
    (void)c, (void)code, (void)reason;
    struct peer *p = user;
    p->closed++;
    p->c = NULL;
}

static const bacsc_ws_callbacks callbacks = {cb_accept, cb_open, cb_message, cb_close};

/* The server's configuration: `leaf` with `key`, issuers ca1 and ca2, `crl`. */
static bacsc_tls_config server_cfg(sct_tls_files *f, const char *leaf, const char *key,
                                   const char *crl)
{
    return *sct_tls_files_set(f, &env, leaf, key, "ca1", "ca2", crl);
}

static bacsc_tls_ctx *client_ctx(const char *leaf)
{
    return sct_tls(&env, false, leaf, "ca1", "ca2", NULL);
}

/* Connect a new client; returns its connection (open) and fills srv/cli. */
static bacsc_wsconn *connect_one(const char *uri, bacsc_tls_ctx *ctls)
{
    int so = srv.opened, co = cli.opened;
    bacsc_wsconn *c = NULL;
    assert_int_equal(bacsc_ws_connect(loop, uri, ctls, NULL, &callbacks, &cli, &c), BACSC_OK);
    sct_run_until(loop, &cli.opened, co + 1, 3000);
    sct_run_until(loop, &srv.opened, so + 1, 3000);
    assert_int_equal(cli.opened, co + 1);
    return c;
}

static void new_handshakes_use_the_reloaded_certificate(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    memset(&cli, 0, sizeof cli);
    bacsc_tls_ctx *stls = sct_tls(&env, true, "server", "ca1", "ca2", NULL);
    char err[256];
    bacsc_tls_ctx *ctls = client_ctx("client");
    char uri[64];
    bacsc_ws_listener *l = sct_listen(loop, stls, &callbacks, &srv, uri, sizeof uri);
    bacsc_wsconn *c1 = connect_one(uri, ctls);
    char first[256];
    snprintf(first, sizeof first, "%s", cli.peer_subject);

    /* unusable files: refused, nothing changes */
    sct_tls_files q;
    bacsc_tls_config bad = server_cfg(&q, "server", "server2", NULL);
    assert_int_equal(bacsc_tls_ctx_reload(stls, &bad, err, sizeof err), BACSC_ERR_CRYPTO);
    assert_non_null(strstr(err, "does not match"));
    bacsc_wsconn *c2 = connect_one(uri, ctls);
    assert_string_equal(cli.peer_subject, first);

    /* the new certificate: used by the next handshake, c1 and c2 stay */
    bacsc_tls_config next = server_cfg(&q, "server2", "server2", NULL);
    assert_int_equal(bacsc_tls_ctx_reload(stls, &next, err, sizeof err), BACSC_OK);
    bacsc_wsconn *c3 = connect_one(uri, ctls);
    assert_string_not_equal(cli.peer_subject, first);
    assert_int_equal(cli.closed, 0);
    assert_int_equal(srv.closed, 0);
    bacsc_wsconn_close(c1, BACSC_WS_CLOSE_NORMAL, "bye");
    bacsc_wsconn_close(c2, BACSC_WS_CLOSE_NORMAL, "bye");
    bacsc_wsconn_close(c3, BACSC_WS_CLOSE_NORMAL, "bye");
    sct_run_until(loop, &srv.closed, 3, 3000);
    sct_run_until(loop, &cli.closed, 3, 3000); /* both ends freed before the loop goes */
    assert_int_equal(cli.closed, 3);
    bacsc_ws_listener_close(l);
    bacsc_tls_ctx_free(stls);
    bacsc_tls_ctx_free(ctls);
}

static void recheck_finds_a_peer_the_new_crl_revokes(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    memset(&cli, 0, sizeof cli);
    sct_tls_files p;
    bacsc_tls_ctx *stls = sct_tls(&env, true, "server", "ca1", "ca2", NULL);
    char err[256], why[160] = "";
    bacsc_tls_ctx *revoked = client_ctx("revoked"), *good = client_ctx("client");
    char uri[64];
    bacsc_ws_listener *l = sct_listen(loop, stls, &callbacks, &srv, uri, sizeof uri);
    bacsc_wsconn *c1 = connect_one(uri, revoked);
    bacsc_wsconn *s1 = srv.c;
    assert_int_equal(bacsc_tls_peer_recheck(stls, bacsc_wsconn_ssl(s1), why, sizeof why), BACSC_OK);
    bacsc_wsconn *c2 = connect_one(uri, good);
    bacsc_wsconn *s2 = srv.c;

    bacsc_tls_config withcrl = server_cfg(&p, "server", "server", "ca1");
    assert_int_equal(bacsc_tls_ctx_reload(stls, &withcrl, err, sizeof err), BACSC_OK);
    assert_int_equal(bacsc_tls_peer_recheck(stls, bacsc_wsconn_ssl(s1), why, sizeof why),
                     BACSC_ERR_POLICY);
    assert_non_null(strstr(why, "revoked"));
    assert_int_equal(bacsc_tls_peer_recheck(stls, bacsc_wsconn_ssl(s2), why, sizeof why), BACSC_OK);
    /* the client side checks the server the same way */
    assert_int_equal(bacsc_tls_peer_recheck(good, bacsc_wsconn_ssl(c2), why, sizeof why), BACSC_OK);
    bacsc_wsconn_close(c1, BACSC_WS_CLOSE_NORMAL, "bye");
    bacsc_wsconn_close(c2, BACSC_WS_CLOSE_NORMAL, "bye");
    sct_run_until(loop, &srv.closed, 2, 3000);
    sct_run_until(loop, &cli.closed, 2, 3000); /* both ends freed before the loop goes */
    assert_int_equal(cli.closed, 2);
    bacsc_ws_listener_close(l);
    bacsc_tls_ctx_free(stls);
    bacsc_tls_ctx_free(revoked);
    bacsc_tls_ctx_free(good);
}

static int setup(void **state)
{
    (void)state;
    int rc = sct_env_setup(&env, "reload");
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
        cmocka_unit_test(new_handshakes_use_the_reloaded_certificate),
        cmocka_unit_test(recheck_finds_a_peer_the_new_crl_revokes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
