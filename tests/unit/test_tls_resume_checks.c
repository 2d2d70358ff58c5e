/*
 * test_tls_resume_checks.c — the client certificate inside a session ticket
 * is checked again at every resumption, against the store, CRL, clock and
 * verification parameters of the SSL's own (possibly reloaded) context.
 * A ticket names the issuer certificate that verified its certificate; when
 * exactly that certificate is still configured, the issuer's signature is
 * not verified a second time (counted as tickets_issuer_known), otherwise
 * the certificate is verified in full (tickets_full_verify). Shown here:
 * a normal resumption takes the first way (also with a CRL, and after the
 * ticket was renewed, and in the fresh ticket a long-lived resumed
 * connection gets); a ticket without the issuer (as an older bacsc issued
 * them) is verified in full and its renewal names the issuer; and
 * every refusal still happens — issuer removed by a reload, certificate
 * revoked by a new CRL, expired, not yet valid, and CA 1 replaced by a CA
 * with the same name and key identifier but another key — while CA 1
 * reissued with the same key still resumes (verified in full).
 *
 * Making a ticket, OpenSSL 3.0 decodes a copy of the session (with the
 * client certificate) that nobody uses; opening one, it decodes the session
 * whose certificate is then checked by names, times, CRL and the issuer's
 * key only. Both decodes run in a keyless window
 * (io/ossl_keyless_internal.h) that skips decoding the certificate's own
 * key. Shown here: every ticket made or opened opens one window, closed
 * again before the handshake call returns (the thread's default library
 * context works again); the window is per thread; a window left open by a
 * failure is closed by the guard without losing the failure's errors; a
 * resumed peer's certificate has no key, yet its identity and UUID read as
 * before and a reload checks it again in full (refusals above all still
 * happen on this path).
 *
 * Handshakes run through memory BIOs between a client context and the
 * server context under test (no sockets needed for what is checked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bacsc/error.h"
#include "bacsc/tls.h"
#include "io/ossl_keyless_internal.h"
#include "support_sc.h"

static sct_env env;

typedef sct_hs hs;

/* One handshake (support_sc.h); with `keep`, both ends stay open for the
 * caller to free. */
static hs handshake_keep(bacsc_tls_ctx *st, bacsc_tls_ctx *ct, bacsc_tls_resume *r,
                         SSL **keep_c, SSL **keep_s)
{
    return sct_mem_handshake(st, ct, r, keep_c, keep_s);
}

static hs handshake(bacsc_tls_ctx *st, bacsc_tls_ctx *ct, bacsc_tls_resume *r)
{
    return sct_mem_handshake(st, ct, r, NULL, NULL);
}

/* A fresh ticket key file's path. */
static void key_file(char *out, size_t cap)
{
    sct_ticket_key_file(&env, out, cap);
}

/* A hub context: certificate "server", the given issuers (ca2 may be NULL),
 * CRL of CA 1 when `crl`, the ticket keys in `keys`. */
static bacsc_tls_ctx *server(const char *keys, const char *ca1, const char *ca2, bool crl)
{
    sct_tls_files f;
    bacsc_tls_config *cfg = sct_tls_files_set(&f, &env, "server", NULL, ca1, ca2,
                                              crl ? "ca1" : NULL);
    cfg->ticket_key_file = keys;
    return sct_tls_new(cfg, true);
}

/* Reload `st` from files (as SIGHUP does), keeping its ticket keys. */
static void reload(bacsc_tls_ctx *st, const char *ca1, bool crl)
{
    sct_tls_files f;
    bacsc_tls_config *cfg = sct_tls_files_set(&f, &env, "server", NULL, ca1, NULL,
                                              crl ? "ca1" : NULL);
    char err[256];
    assert_int_equal(bacsc_tls_ctx_reload(st, cfg, err, sizeof err), BACSC_OK);
}

static bacsc_tls_stats stats(bacsc_tls_ctx *st)
{
    bacsc_tls_stats s;
    bacsc_tls_ctx_stats(st, &s);
    return s;
}

/* Rotate the key file as a day later: tickets made under the current key
 * are then under the previous one, and resuming them brings a new ticket. */
static void rotate(const char *keys)
{
    bacsc_tls_ticket_keys k;
    bool rotated = false;
    char err[256];
    assert_int_equal(bacsc_tls_ticket_keys_load(keys, (int64_t)time(NULL) + 2 * 86400, 0, &k,
                                                &rotated, err, sizeof err),
                     0);
    assert_true(rotated);
}

/* A ticket for certificate `leaf`, issued by a hub on `keys` whose clock
 * for certificate checks is `shift` seconds off (0: none). */
static void get_ticket(const char *keys, const char *leaf, long shift, bacsc_tls_resume *r,
                       bacsc_tls_ctx **client)
{
    *client = sct_tls(&env, false, leaf, "ca1", NULL, NULL);
    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false);
    if (shift)
        X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(bacsc_tls_ctx_ssl_ctx(st)),
                                   time(NULL) + shift);
    hs h = handshake(st, *client, r);
    assert_true(h.ok);
    assert_false(h.reused);
    assert_non_null(r->session);
    bacsc_tls_ctx_free(st);
}

/* The hub `st` resumes the session of `r`; the ticket checks so far: `known`
 * with the issuer named, `full` verified in full. */
static void expect_resumed(bacsc_tls_ctx *st, bacsc_tls_ctx *ct, bacsc_tls_resume *r, int known,
                           int full)
{
    hs h = handshake(st, ct, r);
    assert_true(h.ok && h.reused);
    assert_int_equal(stats(st).tickets_issuer_known, known);
    assert_int_equal(stats(st).tickets_full_verify, full);
}

static void normal_resumption_does_not_verify_the_signature_again(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct;
    get_ticket(keys, "client", 0, &r, &ct);

    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false); /* the hub restarted */
    for (int i = 1; i <= 3; i++) {
        hs h = handshake(st, ct, &r);
        assert_true(h.ok && h.reused);
        bacsc_tls_stats s = stats(st);
        assert_int_equal(s.resumed, i);
        assert_int_equal(s.tickets_issuer_known, i);
        assert_int_equal(s.tickets_full_verify, 0);
    }
    bacsc_tls_ctx_free(st);
    /* with the CRL of CA 1 (which does not list it) and CA 2 configured too */
    st = server(keys, "ca1", "ca2", true);
    expect_resumed(st, ct, &r, 1, 0);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static void issuer_survives_ticket_renewal(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct;
    get_ticket(keys, "client", 0, &r, &ct);
    rotate(keys);
    SSL_SESSION *first = r.session;
    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false);
    hs h = handshake(st, ct, &r);
    assert_true(h.ok && h.reused);
    assert_ptr_not_equal(r.session, first); /* renewed: under the previous key */
    assert_int_equal(stats(st).tickets_issuer_known, 1);
    bacsc_tls_ctx_free(st);
    /* the renewed ticket names the issuer too */
    st = server(keys, "ca1", NULL, false);
    expect_resumed(st, ct, &r, 1, 0);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

/* A connection that outlives half its ticket's life gets a fresh ticket
 * (bacsc_tls_ticket_refresh); on a resumed connection it is made from the
 * resumed session, which must still name the issuer. */
static void refreshed_ticket_of_a_resumed_connection_names_the_issuer(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    sct_tls_files f;
    bacsc_tls_config *cfg = sct_tls_files_set(&f, &env, "server", NULL, "ca1", NULL, NULL);
    cfg->ticket_key_file = keys;
    cfg->ticket_lifetime_s = 4; /* a fresh ticket is due after 2-3 s */
    bacsc_tls_ctx *st = sct_tls_new(cfg, true);
    assert_true(handshake(st, ct, &r).ok);
    SSL *c = NULL, *s = NULL;
    hs h = handshake_keep(st, ct, &r, &c, &s); /* resumed, kept open */
    assert_true(h.ok && h.reused);
    SSL_SESSION *before = r.session;
    sleep(3);
    assert_int_equal(bacsc_tls_ticket_refresh(s), 1);
    char b[16];
    assert_true(SSL_read(c, b, sizeof b) <= 0); /* the client takes it */
    assert_ptr_not_equal(r.session, before);
    SSL_free(c);
    SSL_free(s);
    bacsc_tls_ctx_free(st);
    st = sct_tls_new(cfg, true); /* the hub restarted */
    expect_resumed(st, ct, &r, 1, 0);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static void ticket_without_issuer_is_verified_in_full(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    /* a hub as bacsc made them before tickets named the issuer: the same
     * ticket keys and format, no ticket-generation callback */
    bacsc_tls_ctx *old = server(keys, "ca1", NULL, false);
    SSL_CTX *old_ctx = bacsc_tls_ctx_ssl_ctx(old);
    assert_int_equal(SSL_CTX_set_session_ticket_cb(old_ctx, NULL, NULL, NULL), 1);
    assert_true(handshake(old, ct, &r).ok);
    assert_non_null(r.session);
    bacsc_tls_ctx_free(old);
    rotate(keys);

    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false);
    hs h = handshake(st, ct, &r);
    assert_true(h.ok && h.reused);
    assert_int_equal(stats(st).tickets_full_verify, 1);
    assert_int_equal(stats(st).tickets_issuer_known, 0);
    bacsc_tls_ctx_free(st);
    /* its renewal (the ticket came under the previous key) names the issuer */
    st = server(keys, "ca1", NULL, false);
    expect_resumed(st, ct, &r, 1, 0);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

/* The hub `st` (restarted on the same keys, or reloaded) must refuse the
 * ticket, and the full handshake then fails with `code`. */
static void expect_refused(bacsc_tls_ctx *st, bacsc_tls_ctx *ct, bacsc_tls_resume *r,
                           uint16_t code, const char *why)
{
    hs h = handshake(st, ct, r);
    assert_false(h.ok);
    assert_int_equal(h.code, code);
    if (!strstr(h.why, why))
        fail_msg("refused for \"%s\", expected \"%s\"", h.why, why);
    bacsc_tls_stats s = stats(st);
    assert_int_equal(s.tickets_refused, 1);
    assert_int_equal(s.resumed, 0);
    assert_int_equal(s.tickets_issuer_known, 0);
}

static void issuer_removed_by_reload_is_refused(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    bacsc_tls_ctx *st = server(keys, "ca1", "ca2", false);
    assert_true(handshake(st, ct, &r).ok);
    assert_true(handshake(st, ct, &r).reused);
    reload(st, "ca2", false); /* CA 1 no longer configured */
    hs h = handshake(st, ct, &r);
    assert_false(h.ok);
    assert_int_equal(h.code, 180); /* client-certificate-error */
    assert_non_null(strstr(h.why, "not signed directly by a configured issuer"));
    assert_int_equal(stats(st).tickets_refused, 1);
    assert_int_equal(stats(st).resumed, 1); /* the one before the reload */
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static void revoked_by_a_new_crl_is_refused(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct = sct_tls(&env, false, "revoked", "ca1", NULL, NULL);
    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false);
    assert_true(handshake(st, ct, &r).ok);
    reload(st, "ca1", true); /* now with the CRL that lists it */
    expect_refused(st, ct, &r, 186, "certificate revoked");
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static void expired_certificate_is_refused(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct;
    get_ticket(keys, "lapsed", -5400, &r, &ct); /* valid 1.5 h ago */
    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false);
    expect_refused(st, ct, &r, 184, "certificate has expired");
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static void not_yet_valid_certificate_is_refused(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct;
    get_ticket(keys, "early", 36 * 3600, &r, &ct); /* valid in 1.5 days */
    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false);
    expect_refused(st, ct, &r, 180, "certificate is not yet valid");
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static void ca_with_same_name_and_other_key_is_refused(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false);
    assert_true(handshake(st, ct, &r).ok);
    /* CA 1 replaced by a CA with its name and key identifier: it is taken
     * as the certificate's issuer, but did not sign it */
    reload(st, "ca1twin", false);
    expect_refused(st, ct, &r, 180, "certificate signature failure");
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static void reissued_ca_with_same_key_still_resumes(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false);
    assert_true(handshake(st, ct, &r).ok);
    reload(st, "ca1again", false); /* CA 1 reissued, same key */
    hs h = handshake(st, ct, &r);
    assert_true(h.ok && h.reused);
    assert_int_equal(stats(st).tickets_full_verify, 1); /* not the issuer certificate named */
    assert_int_equal(stats(st).tickets_issuer_known, 0);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static int setup(void **state)
{
    (void)state;
    return sct_env_setup(&env, "resumechk");
}

static int teardown(void **state)
{
    (void)state;
    return sct_env_teardown(&env);
}

/* Whether this thread's default library context has SHA-256 (a keyless
 * window's has nothing). */
static bool default_ctx_works(void)
{
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_free(md);
    ERR_clear_error();
    return md != NULL;
}

/* The certificate "client" of the test PKI, decoded on this thread. */
static X509 *read_client_cert(void)
{
    char path[512];
    sct_env_path(&env, path, "client", "pem");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static void keyless_window_skips_only_the_key(void **state)
{
    (void)state;
    assert_true(default_ctx_works());
    X509 *keyed = read_client_cert();
    assert_non_null(X509_get0_pubkey(keyed));
    unsigned char *der = NULL;
    int len = i2d_X509(keyed, &der);
    assert_true(len > 0);

    unsigned long n = bacsc_keyless_windows();
    bacsc_keyless_enter();
    bacsc_keyless_enter(); /* already open: no second window */
    assert_true(bacsc_keyless_open);
    assert_int_equal(bacsc_keyless_windows(), n + 1);
    assert_false(default_ctx_works());
    const unsigned char *p = der;
    X509 *keyless = d2i_X509(NULL, &p, len);
    bacsc_keyless_leave_ex(true);
    assert_false(bacsc_keyless_open);
    assert_true(default_ctx_works());
    assert_int_equal(ERR_peek_error(), 0);

    /* everything but the key, and it encodes to the same octets */
    assert_non_null(keyless);
    assert_null(X509_get0_pubkey(keyless));
    ERR_clear_error();
    assert_int_equal(X509_cmp(keyless, keyed), 0);
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(keyless), X509_get_subject_name(keyed)), 0);
    unsigned char *der2 = NULL;
    assert_int_equal(i2d_X509(keyless, &der2), len);
    assert_memory_equal(der, der2, (size_t)len);
    OPENSSL_free(der2);
    X509_free(keyless);
    OPENSSL_free(der);
    X509_free(keyed);
}

static void *other_thread(void *arg)
{
    *(bool *)arg = default_ctx_works() && !bacsc_keyless_open;
    return NULL;
}

static void keyless_window_is_per_thread(void **state)
{
    (void)state;
    bacsc_keyless_enter();
    bool other_ok = false;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, other_thread, &other_ok), 0);
    pthread_join(th, NULL);
    assert_false(default_ctx_works());
    bacsc_keyless_leave();
    assert_true(other_ok);
    assert_true(default_ctx_works());
}

static void guard_closes_a_window_and_keeps_the_errors(void **state)
{
    (void)state;
    ERR_clear_error();
    bacsc_keyless_enter();
    ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR); /* a failure inside the window */
    bacsc_keyless_leave();
    assert_false(bacsc_keyless_open);
    assert_int_equal(ERR_GET_REASON(ERR_peek_error()), ERR_R_INTERNAL_ERROR); /* kept */
    ERR_clear_error();
    bacsc_keyless_leave(); /* closed: nothing to do */
    assert_false(bacsc_keyless_open);
    assert_true(default_ctx_works());
}

static void each_ticket_is_made_and_opened_in_a_keyless_window(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    bacsc_tls_ctx *st = server(keys, "ca1", NULL, true);
    unsigned long n = bacsc_keyless_windows();
    hs h = handshake(st, ct, &r); /* a full handshake: one ticket made */
    assert_true(h.ok && !h.reused);
    assert_int_equal(bacsc_keyless_windows(), n + 1);
    assert_false(bacsc_keyless_open);
    assert_true(default_ctx_works());
    assert_non_null(r.session);
    bacsc_tls_ctx_free(st);
    st = server(keys, "ca1", NULL, true); /* the hub restarted */
    expect_resumed(st, ct, &r, 1, 0);     /* the ticket opened, no new one made */
    assert_int_equal(bacsc_keyless_windows(), n + 2);
    assert_false(bacsc_keyless_open);
    assert_true(default_ctx_works());
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

/* Two open connections of client `ct` to hub `st`, kept for the caller:
 * [0] by a full handshake, [1] resumed from the ticket that one gave. */
typedef struct kept_pair {
    SSL *c[2], *s[2];
} kept_pair;

static kept_pair keep_full_and_resumed(bacsc_tls_ctx *st, bacsc_tls_ctx *ct, bacsc_tls_resume *r)
{
    kept_pair k;
    memset(&k, 0, sizeof k);
    hs h = handshake_keep(st, ct, r, &k.c[0], &k.s[0]); /* full: the peer has its key */
    assert_true(h.ok && !h.reused);
    h = handshake_keep(st, ct, r, &k.c[1], &k.s[1]);
    assert_true(h.ok && h.reused);
    return k;
}

static void kept_pair_free(kept_pair *k)
{
    for (int i = 0; i < 2; i++) {
        SSL_free(k->c[i]);
        SSL_free(k->s[i]);
    }
}

/* A resumed connection's peer certificate (out of the ticket) has no
 * decoded key; what bacsc reads of it still works, and a reload checks it
 * again in full (on a copy decoded with its key). */
static void resumed_peer_without_key_is_rechecked_on_reload(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    bacsc_tls_ctx *st = server(keys, "ca1", "ca2", false);
    kept_pair k = keep_full_and_resumed(st, ct, &r);
    SSL *s0 = k.s[0], *s = k.s[1];
    X509 *peer = SSL_get0_peer_certificate(s);
    assert_non_null(peer);
    assert_null(X509_get0_pubkey(peer)); /* decoded without it */
    ERR_clear_error();
    assert_int_equal(X509_cmp(peer, SSL_get0_peer_certificate(s0)), 0);
    char ident[256], why[200];
    assert_int_equal(bacsc_tls_peer_ident(s, ident, sizeof ident), 1);
    assert_true(ident[0] != 0);
    uint8_t u1[16], u2[16];
    assert_int_equal(bacsc_tls_peer_uuid(s, u1), bacsc_tls_peer_uuid(s0, u2));
    assert_memory_equal(u1, u2, 16);
    /* both peers without the issuer's signature again (its certificate is
     * still configured) */
    assert_int_equal(bacsc_tls_peer_recheck(st, s, why, sizeof why), BACSC_OK);
    assert_int_equal(bacsc_tls_peer_recheck(st, s0, why, sizeof why), BACSC_OK);
    assert_int_equal(stats(st).rechecks_issuer_known, 2);
    assert_int_equal(stats(st).rechecks_full_verify, 0);
    reload(st, "ca2", false); /* CA 1 no longer configured: refused in full */
    assert_int_equal(bacsc_tls_peer_recheck(st, s, why, sizeof why), BACSC_ERR_POLICY);
    assert_int_equal(bacsc_tls_peer_recheck(st, s0, why, sizeof why), BACSC_ERR_POLICY);
    assert_int_equal(stats(st).rechecks_full_verify, 2);
    reload(st, "ca1", false);
    assert_int_equal(bacsc_tls_peer_recheck(st, s, why, sizeof why), BACSC_OK);
    assert_int_equal(stats(st).rechecks_issuer_known, 3);
    kept_pair_free(&k);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

/* A reload with a CRL that now lists a connected node's certificate:
 * refused, whether it connected with a full handshake or a ticket. */
static void recheck_after_reload_refuses_a_revoked_peer(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *ct = sct_tls(&env, false, "revoked", "ca1", NULL, NULL);
    bacsc_tls_ctx *st = server(keys, "ca1", NULL, false);
    kept_pair k = keep_full_and_resumed(st, ct, &r);
    SSL *s0 = k.s[0], *s = k.s[1];
    char why[200];
    reload(st, "ca1", false); /* no CRL */
    assert_int_equal(bacsc_tls_peer_recheck(st, s, why, sizeof why), BACSC_OK);
    assert_int_equal(bacsc_tls_peer_recheck(st, s0, why, sizeof why), BACSC_OK);
    reload(st, "ca1", true); /* the CRL that lists it */
    assert_int_equal(bacsc_tls_peer_recheck(st, s, why, sizeof why), BACSC_ERR_POLICY);
    assert_non_null(strstr(why, "revoked"));
    assert_int_equal(bacsc_tls_peer_recheck(st, s0, why, sizeof why), BACSC_ERR_POLICY);
    assert_non_null(strstr(why, "revoked"));
    assert_int_equal(stats(st).rechecks_issuer_known, 2);
    assert_int_equal(stats(st).rechecks_full_verify, 2);
    kept_pair_free(&k);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normal_resumption_does_not_verify_the_signature_again),
        cmocka_unit_test(issuer_survives_ticket_renewal),
        cmocka_unit_test(ticket_without_issuer_is_verified_in_full),
        cmocka_unit_test(refreshed_ticket_of_a_resumed_connection_names_the_issuer),
        cmocka_unit_test(issuer_removed_by_reload_is_refused),
        cmocka_unit_test(revoked_by_a_new_crl_is_refused),
        cmocka_unit_test(expired_certificate_is_refused),
        cmocka_unit_test(not_yet_valid_certificate_is_refused),
        cmocka_unit_test(ca_with_same_name_and_other_key_is_refused),
        cmocka_unit_test(reissued_ca_with_same_key_still_resumes),
        cmocka_unit_test(keyless_window_skips_only_the_key),
        cmocka_unit_test(keyless_window_is_per_thread),
        cmocka_unit_test(guard_closes_a_window_and_keeps_the_errors),
        cmocka_unit_test(each_ticket_is_made_and_opened_in_a_keyless_window),
        cmocka_unit_test(resumed_peer_without_key_is_rechecked_on_reload),
        cmocka_unit_test(recheck_after_reload_refuses_a_revoked_peer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
