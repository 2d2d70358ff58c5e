/*
 * test_tls_resume.c — TLS 1.3 session resumption over real WebSocket
 * connections on 127.0.0.1 (wsconn + tls): a client that kept its session
 * resumes after the server context was destroyed and re-created from the
 * same ticket key file ("hub restart"); a server with another key file
 * forces a full handshake; a ticket whose client certificate is revoked in
 * the new server's CRL is refused (full handshake → client-certificate-
 * revoked); an expired ticket is not resumed; without a key file there is
 * no resumption at all; resumed connections still see the client
 * certificate; the session offered is psk_dhe_ke (a key share is sent).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/wsconn.h"
#include "support_sc.h"

static sct_env env;
static bacsc_loop *loop;

struct peer {
    int opened, closed;
    uint16_t code;
    bool reused;
    char subject[256];
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
    SSL *ssl = bacsc_wsconn_ssl(c);
    p->reused = ssl && SSL_session_reused(ssl);
    if (ssl && bacsc_wsconn_is_server(c)) {
        X509 *x = SSL_get0_peer_certificate(ssl);
        p->subject[0] = 0;
        if (x)
            X509_NAME_oneline(X509_get_subject_name(x), p->subject, sizeof p->subject);
    }
}

static void cb_message(bacsc_wsconn *c, const uint8_t *d, size_t n, void *user)
{
    (void)c;
    (void)d;
    (void)n;
    (void)user;
}

static void cb_close(bacsc_wsconn *c, uint16_t code, const char *reason, void *user)
{
    (void)c;
    (void)reason;
    struct peer *p = user;
    p->closed++;
    p->code = code;
}

static const bacsc_ws_callbacks callbacks = {cb_accept, cb_open, cb_message, cb_close};

static bacsc_tls_ctx *server_ctx(const char *keyfile, const char *crl, uint32_t lifetime)
{
    sct_tls_files f;
    bacsc_tls_config *cfg = sct_tls_files_set(&f, &env, "server", NULL, "ca1", NULL, crl);
    cfg->ticket_key_file = keyfile;
    cfg->ticket_lifetime_s = lifetime;
    return sct_tls_new(cfg, true);
}

static bacsc_tls_ctx *client_ctx(const char *leaf)
{
    return sct_tls(&env, false, leaf, "ca1", NULL, NULL);
}

/* One "hub lifetime": a listener on a fresh server context; one client
 * connection with the resume holder; returns whether it opened; fills
 * srv/cli. The connection is closed and the listener and context freed
 * before returning (stats copied to *st first). */
static bool one_connection(bacsc_tls_ctx *stls, bacsc_tls_ctx *ctls, bacsc_tls_resume *r,
                           bacsc_tls_stats *st)
{
    memset(&srv, 0, sizeof srv);
    memset(&cli, 0, sizeof cli);
    char uri[64];
    bacsc_ws_listener *l = sct_listen(loop, stls, &callbacks, &srv, uri, sizeof uri);
    bacsc_ws_options o = {.resume = r};
    bacsc_wsconn *c = NULL;
    assert_int_equal(bacsc_ws_connect(loop, uri, ctls, &o, &callbacks, &cli, &c), BACSC_OK);
    sct_run_until(loop, &cli.closed, 1, 300); /* open, or closed with an error */
    bool opened = cli.opened == 1;
    if (opened) {
        sct_run_for(loop, 50); /* the ticket comes after the handshake */
        bacsc_wsconn_close(c, BACSC_WS_CLOSE_NORMAL, "bye");
    }
    sct_run_until(loop, &cli.closed, 1, 5000);
    sct_run_until(loop, &srv.closed, 1, 2000);
    assert_int_equal(cli.closed, 1);
    bacsc_tls_ctx_stats(stls, st);
    bacsc_ws_listener_close(l);
    bacsc_tls_ctx_free(stls);
    return opened;
}

static void resumes_after_restart_with_same_keys(void **state)
{
    (void)state;
    char keys[512];
    snprintf(keys, sizeof keys, "%s/tickets", env.pki);
    unlink(keys);
    bacsc_tls_ctx *ct = client_ctx("client");
    bacsc_tls_resume r = {0};
    bacsc_tls_stats st;

    assert_true(one_connection(server_ctx(keys, NULL, 0), ct, &r, &st));
    assert_false(cli.reused);
    assert_int_equal(st.handshakes, 1);
    assert_int_equal(st.resumed, 0);
    assert_non_null(r.session); /* a ticket arrived and was kept */
    char first_subject[256];
    snprintf(first_subject, sizeof first_subject, "%s", srv.subject);
    assert_true(first_subject[0] != 0);
    struct stat fs;
    assert_int_equal(stat(keys, &fs), 0);
    assert_int_equal(fs.st_mode & 0777, 0600);

    /* the "hub" restarts: a new context from the same key file */
    assert_true(one_connection(server_ctx(keys, NULL, 0), ct, &r, &st));
    assert_true(cli.reused);
    assert_true(srv.reused);
    assert_int_equal(st.handshakes, 1);
    assert_int_equal(st.resumed, 1);
    assert_int_equal(st.tickets_refused, 0);
    /* the client identity survives resumption */
    assert_string_equal(srv.subject, first_subject);
    bacsc_tls_stats cs;
    bacsc_tls_ctx_stats(ct, &cs);
    assert_int_equal(cs.handshakes, 2);
    assert_int_equal(cs.resumed, 1);

    /* a hub with different ticket keys: full handshake, new ticket kept */
    char other[512];
    snprintf(other, sizeof other, "%s/tickets-other", env.pki);
    unlink(other);
    SSL_SESSION *before = r.session;
    assert_true(one_connection(server_ctx(other, NULL, 0), ct, &r, &st));
    assert_false(cli.reused);
    assert_int_equal(st.resumed, 0);
    assert_non_null(r.session);
    assert_ptr_not_equal(r.session, before);
    /* … and that one resumes on its own keys */
    assert_true(one_connection(server_ctx(other, NULL, 0), ct, &r, &st));
    assert_true(cli.reused);

    /* without a key file the server issues no tickets: no resumption */
    bacsc_tls_resume_clear(&r);
    assert_true(one_connection(server_ctx(NULL, NULL, 0), ct, &r, &st));
    assert_null(r.session);
    assert_int_equal(st.resumed, 0);

    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
    unlink(keys);
    unlink(other);
}

/* A TLS 1.3 client uses a session once (OpenSSL marks it not resumable):
 * a node must still resume at the next restart, and the one after. The hub
 * sends a new ticket with a resumption only when the old one is past half
 * its lifetime. */
static void resumes_again_after_a_resumed_connection(void **state)
{
    (void)state;
    char keys[512];
    snprintf(keys, sizeof keys, "%s/tickets-again", env.pki);
    unlink(keys);
    bacsc_tls_ctx *ct = client_ctx("client");
    bacsc_tls_resume r = {0};
    bacsc_tls_stats st;
    assert_true(one_connection(server_ctx(keys, NULL, 8), ct, &r, &st));
    assert_false(cli.reused);
    SSL_SESSION *first = r.session;
    for (int i = 0; i < 3; i++) {
        assert_true(one_connection(server_ctx(keys, NULL, 8), ct, &r, &st));
        assert_true(cli.reused);
        assert_int_equal(st.resumed, 1);
        assert_ptr_equal(r.session, first); /* young ticket: kept, no new one */
    }
    sleep(5); /* past half of the 8 s lifetime: the resumption brings a new ticket */
    assert_true(one_connection(server_ctx(keys, NULL, 8), ct, &r, &st));
    assert_true(cli.reused);
    assert_non_null(r.session);
    assert_ptr_not_equal(r.session, first);
    assert_true(one_connection(server_ctx(keys, NULL, 8), ct, &r, &st));
    assert_true(cli.reused);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
    unlink(keys);
}

static void revoked_certificate_cannot_ride_on_a_ticket(void **state)
{
    (void)state;
    char keys[512];
    snprintf(keys, sizeof keys, "%s/tickets-crl", env.pki);
    unlink(keys);
    bacsc_tls_ctx *ct = client_ctx("revoked");
    bacsc_tls_resume r = {0};
    bacsc_tls_stats st;
    /* a hub without the CRL accepts the certificate and issues a ticket */
    assert_true(one_connection(server_ctx(keys, NULL, 0), ct, &r, &st));
    assert_non_null(r.session);
    /* restarted with the CRL that revokes it: the ticket decrypts, but is
     * refused; the full handshake then fails as revoked */
    assert_false(one_connection(server_ctx(keys, "ca1", 0), ct, &r, &st));
    assert_int_equal(st.tickets_refused, 1);
    assert_int_equal(st.resumed, 0);
    assert_int_equal(srv.opened, 0);
    assert_int_equal(srv.code, 186); /* client-certificate-revoked, seen by the hub */
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);

    /* the CRL does not disturb a good certificate's resumption */
    ct = client_ctx("client");
    assert_true(one_connection(server_ctx(keys, "ca1", 0), ct, &r, &st));
    assert_true(one_connection(server_ctx(keys, "ca1", 0), ct, &r, &st));
    assert_true(cli.reused);
    assert_int_equal(st.tickets_refused, 0);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
    unlink(keys);
}

static void expired_ticket_is_not_resumed(void **state)
{
    (void)state;
    char keys[512];
    snprintf(keys, sizeof keys, "%s/tickets-life", env.pki);
    unlink(keys);
    bacsc_tls_ctx *ct = client_ctx("client");
    bacsc_tls_resume r = {0};
    bacsc_tls_stats st;
    assert_true(one_connection(server_ctx(keys, NULL, 1), ct, &r, &st));
    assert_non_null(r.session);
    assert_int_equal(SSL_SESSION_get_ticket_lifetime_hint(r.session), 1);
    sleep(3);
    /* the client no longer offers it (and the hub would refuse it) */
    assert_true(one_connection(server_ctx(keys, NULL, 1), ct, &r, &st));
    assert_false(cli.reused);
    assert_int_equal(st.resumed, 0);

    /* the hub's own check: a ticket issued with a 1 h lifetime, presented
     * (the client thinks it is fine) to a hub now configured for 1 s */
    bacsc_tls_resume_clear(&r);
    assert_true(one_connection(server_ctx(keys, NULL, 3600), ct, &r, &st));
    assert_non_null(r.session);
    sleep(3);
    assert_true(one_connection(server_ctx(keys, NULL, 1), ct, &r, &st));
    assert_false(cli.reused);
    assert_int_equal(st.tickets_refused, 1);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
    unlink(keys);
}

static int setup(void **state)
{
    (void)state;
    int rc = sct_env_setup(&env, "resume");
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
        cmocka_unit_test(resumes_after_restart_with_same_keys),
        cmocka_unit_test(resumes_again_after_a_resumed_connection),
        cmocka_unit_test(revoked_certificate_cannot_ride_on_a_ticket),
        cmocka_unit_test(expired_ticket_is_not_resumed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
