/*
 * test_tls_crl.c — the CRL check of a TLS context (io/tls_crl.c): OpenSSL's
 * own, except that a CRL's signature is verified once per (CRL, issuer
 * certificate) and not again in every handshake. Shown here:
 *  - one signature verification for any number of full and resumed
 *    handshakes (bacsc_tls_stats crl_checks_full / crl_checks_reused), a
 *    new one after a reload (new store);
 *  - with the memo warm, a revoked certificate is still refused (full
 *    handshake and resumption), with the same error as before;
 *  - a CRL past its nextUpdate, or not yet valid, at the verification time
 *    fails closed exactly as with a cold memo (same code, reason and the
 *    alert the client gets), via OpenSSL's full check;
 *  - a CRL with CA 1's name and key identifier signed by another key is
 *    refused every time (never remembered), also after a verification whose
 *    callback accepted it anyway;
 *  - a CRL with an issuingDistributionPoint, or a verification with
 *    extended CRL support or delta CRLs on, gets OpenSSL's check alone;
 *  - handshakes on several threads share one memo (run under TSan by hand).
 *
 * Handshakes run through memory BIOs between a client context and the
 * server context under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"
#include "bacsc/tls.h"
#include "support_sc.h"

static sct_env env;

typedef sct_hs hs;

static hs handshake(bacsc_tls_ctx *st, bacsc_tls_ctx *ct, bacsc_tls_resume *r)
{
    return sct_mem_handshake(st, ct, r, NULL, NULL);
}

static void key_file(char *out, size_t cap)
{
    sct_ticket_key_file(&env, out, cap);
}

/* A hub context: certificate "server", issuer CA 1, CRL file `crl`.crl of
 * the test PKI (NULL: none), ticket keys `keys`. */
static bacsc_tls_ctx *server(const char *keys, const char *crl)
{
    sct_tls_files f;
    bacsc_tls_config *cfg = sct_tls_files_set(&f, &env, "server", NULL, "ca1", NULL, crl);
    cfg->ticket_key_file = keys;
    return sct_tls_new(cfg, true);
}

/* The same with a certificate of CA 2 (a CA without a CRL) and both CAs as
 * issuers: checking its own certificate at the start (building its chain)
 * does not touch CA 1's CRL, whose memo is then cold until a node of CA 1
 * comes. Its nodes must trust CA 2. */
static bacsc_tls_ctx *server_cold(const char *keys, const char *crl)
{
    sct_tls_files f;
    bacsc_tls_config *cfg = sct_tls_files_set(&f, &env, "server2", NULL, "ca1", "ca2", crl);
    cfg->ticket_key_file = keys;
    return sct_tls_new(cfg, true);
}

/* A ticket for a node of `ct` into r, from a hub (ticket keys `keys`) that
 * has no CRL yet. */
static void ticket_without_crl(const char *keys, bacsc_tls_ctx *ct, bacsc_tls_resume *r)
{
    bacsc_tls_ctx *old = server(keys, NULL);
    assert_true(handshake(old, ct, r).ok);
    bacsc_tls_ctx_free(old);
}

static bacsc_tls_stats stats(bacsc_tls_ctx *st)
{
    bacsc_tls_stats s;
    bacsc_tls_ctx_stats(st, &s);
    return s;
}

static void expect_counts(bacsc_tls_ctx *st, uint64_t full, uint64_t reused)
{
    bacsc_tls_stats s = stats(st);
    if (s.crl_checks_full != full || s.crl_checks_reused != reused)
        fail_msg("CRL checks: %llu in full, %llu reused; expected %llu, %llu",
                 (unsigned long long)s.crl_checks_full, (unsigned long long)s.crl_checks_reused,
                 (unsigned long long)full, (unsigned long long)reused);
}

static void expect_refused(const hs *h, uint16_t code, const char *why)
{
    assert_false(h->ok);
    assert_int_equal(h->code, code);
    if (!strstr(h->why, why))
        fail_msg("refused for \"%s\", expected \"%s\"", h->why, why);
}

/* Set the verification time of the server's handshakes (0: the clock). */
static void server_time(bacsc_tls_ctx *st, time_t when)
{
    X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(bacsc_tls_ctx_ssl_ctx(st));
    if (when)
        X509_VERIFY_PARAM_set_time(vp, when);
    else
        X509_VERIFY_PARAM_clear_flags(vp, X509_V_FLAG_USE_CHECK_TIME);
}

static void signature_verified_once_per_crl_and_issuer(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    bacsc_tls_ctx *st = server(keys, "ca1");
    /* the hub's own certificate was checked when its chain was built */
    expect_counts(st, 1, 0);
    bacsc_tls_resume r = {0};
    for (int i = 0; i < 3; i++) { /* full handshakes */
        bacsc_tls_resume_clear(&r);
        hs h = handshake(st, ct, &r);
        assert_true(h.ok && !h.reused);
    }
    expect_counts(st, 1, 3);
    for (int i = 0; i < 3; i++) { /* resumed: the ticket's certificate checked again */
        hs h = handshake(st, ct, &r);
        assert_true(h.ok && h.reused);
    }
    expect_counts(st, 1, 6);
    assert_int_equal(stats(st).tickets_issuer_known, 3);

    /* a reload builds a new store: verified again, once (the counts go on) */
    sct_tls_files f;
    bacsc_tls_config *cfg = sct_tls_files_set(&f, &env, "server", NULL, "ca1", NULL, "ca1");
    char err[256];
    assert_int_equal(bacsc_tls_ctx_reload(st, cfg, err, sizeof err), BACSC_OK);
    expect_counts(st, 2, 6);
    for (int i = 0; i < 2; i++)
        assert_true(handshake(st, ct, &r).reused);
    expect_counts(st, 2, 8);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static void revoked_is_refused_with_the_memo_warm(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_ctx *good = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    bacsc_tls_ctx *bad = sct_tls(&env, false, "revoked", "ca1", NULL, NULL);
    /* the revoked node's ticket, from the hub before it had the CRL */
    bacsc_tls_resume r = {0};
    ticket_without_crl(keys, bad, &r);

    bacsc_tls_ctx *st = server(keys, "ca1");
    assert_true(handshake(st, good, NULL).ok);
    assert_true(handshake(st, good, NULL).ok);
    expect_counts(st, 1, 2); /* warm */
    for (int i = 0; i < 2; i++) {
        hs h = handshake(st, bad, NULL); /* full handshake */
        expect_refused(&h, 186, "certificate revoked");
    }
    hs h = handshake(st, bad, &r); /* its ticket is refused, then the full handshake */
    expect_refused(&h, 186, "certificate revoked");
    assert_int_equal(stats(st).tickets_refused, 1);
    assert_int_equal(stats(st).resumed, 0);
    /* the CRL's signature was not verified again: the revocation lookup refused them */
    assert_int_equal(stats(st).crl_checks_full, 1);
    assert_true(stats(st).crl_checks_reused >= 4);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(good);
    bacsc_tls_ctx_free(bad);
}

/* At verification time `when`, a hub with a warm memo and one without refuse
 * the node (and its ticket) alike, with `code` and `why`; the node is `told`. */
static void crl_time_fails_closed(time_t when, uint16_t code, const char *why, const char *told)
{
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", "ca2", NULL);
    bacsc_tls_resume r = {0};
    bacsc_tls_ctx *warm = server(keys, "ca1");
    assert_true(handshake(warm, ct, &r).ok);
    assert_true(handshake(warm, ct, &r).reused);
    expect_counts(warm, 1, 2);
    server_time(warm, when);
    bacsc_tls_ctx *cold = server_cold(keys, "ca1");
    server_time(cold, when);
    expect_counts(cold, 0, 0);
    hs hw = handshake(warm, ct, &r), hc = handshake(cold, ct, &r);
    expect_refused(&hw, code, why);
    expect_refused(&hc, code, why);
    assert_string_equal(hw.why, hc.why);
    assert_string_equal(hw.client, hc.client);
    if (!strstr(hw.client, told))
        fail_msg("the node was told \"%s\", expected \"%s\"", hw.client, told);
    assert_int_equal(stats(warm).tickets_refused, 1);
    assert_int_equal(stats(warm).crl_checks_reused, 2); /* none more */
    assert_int_equal(stats(warm).crl_checks_full, stats(cold).crl_checks_full + 1);
    /* the clock back: the memo serves again */
    server_time(warm, 0);
    bacsc_tls_resume_clear(&r);
    assert_true(handshake(warm, ct, &r).ok);
    assert_int_equal(stats(warm).crl_checks_reused, 3);
    bacsc_tls_ctx_free(warm);
    bacsc_tls_ctx_free(cold);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static void expired_crl_fails_closed_with_the_memo_warm(void **state)
{
    (void)state;
    /* ca1.crl: nextUpdate in 30 days. OpenSSL's CRL_HAS_EXPIRED becomes an
     * unspecified error (the hub's fault: internal_error to the node). */
    crl_time_fails_closed(time(NULL) + 31 * 86400, 180,
                          "unspecified certificate verification error", "alert internal error");
}

static void not_yet_valid_crl_fails_closed_with_the_memo_warm(void **state)
{
    (void)state;
    /* ca1.crl: thisUpdate an hour ago */
    crl_time_fails_closed(time(NULL) - 2 * 3600, 180, "CRL is not yet valid", "bad certificate");
}

/* `name`.crl: CA 1's name and key identifier, signed with the key file
 * `key` (of the test PKI), revoking nothing; with an issuingDistributionPoint
 * of value `idp` (NULL: none). */
static void write_crl(const char *name, const char *key, const char *idp)
{
    char path[512];
    sct_env_path(&env, path, "ca1", "pem");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    sct_env_path(&env, path, key, "key");
    f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_true(ca && k);
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
    assert_true(crl && t && aki);
    aki->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(ca));
    assert_true(X509_CRL_set_version(crl, 1) &&
                X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) &&
                X509_gmtime_adj(t, -600) && X509_CRL_set1_lastUpdate(crl, t) &&
                X509_gmtime_adj(t, 7 * 86400) && X509_CRL_set1_nextUpdate(crl, t) &&
                X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, 0) == 1);
    if (idp) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_issuing_distribution_point,
                                                idp);
        assert_true(e && X509_CRL_add_ext(crl, e, -1) == 1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_CRL_sign(crl, k, EVP_sha256()) > 0);
    sct_env_path(&env, path, name, "crl");
    f = fopen(path, "w");
    assert_true(f && PEM_write_X509_CRL(f, crl) == 1);
    fclose(f);
    AUTHORITY_KEYID_free(aki);
    ASN1_TIME_free(t);
    X509_CRL_free(crl);
    EVP_PKEY_free(k);
    X509_free(ca);
}

/* forged.crl: signed with CA 1's twin's key (not CA 1's). */
static void write_forged_crl(void)
{
    write_crl("forged", "ca1twin", NULL);
}

static void crl_signed_by_another_key_is_refused_every_time(void **state)
{
    (void)state;
    write_forged_crl();
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    bacsc_tls_resume r = {0};
    ticket_without_crl(keys, ct, &r);

    bacsc_tls_ctx *st = server(keys, "forged");
    expect_counts(st, 1, 0); /* the hub's own certificate: refused, not remembered */
    for (uint64_t i = 1; i <= 3; i++) {
        hs h = handshake(st, ct, NULL);
        expect_refused(&h, 180, "CRL signature failure");
        expect_counts(st, 1 + i, 0);
    }
    hs h = handshake(st, ct, &r); /* the ticket is refused, then the full handshake */
    expect_refused(&h, 180, "CRL signature failure");
    assert_int_equal(stats(st).tickets_refused, 1);
    assert_int_equal(stats(st).crl_checks_reused, 0);
    bacsc_tls_ctx_free(st);
    bacsc_tls_resume_clear(&r);
    bacsc_tls_ctx_free(ct);
}

static int accept_all(int ok, X509_STORE_CTX *vc)
{
    (void)ok, (void)vc;
    return 1;
}

/* A verification whose callback accepted the bad CRL's error (an
 * application may be lenient) must not make the CRL count as verified. */
static void crl_accepted_by_a_lenient_callback_is_not_remembered(void **state)
{
    (void)state;
    write_forged_crl();
    char keys[512], path[512];
    key_file(keys, sizeof keys);
    bacsc_tls_ctx *st = server_cold(keys, "forged");
    sct_env_path(&env, path, "client", "pem");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    assert_true(x && vc);
    assert_int_equal(X509_STORE_CTX_init(vc, SSL_CTX_get_cert_store(bacsc_tls_ctx_ssl_ctx(st)), x,
                                         NULL),
                     1);
    X509_STORE_CTX_set_verify_cb(vc, accept_all);
    assert_int_equal(X509_verify_cert(vc), 1); /* accepted, errors and all */
    assert_int_equal(X509_STORE_CTX_get_error(vc), X509_V_ERR_CRL_SIGNATURE_FAILURE);
    X509_STORE_CTX_free(vc);
    X509_free(x);
    expect_counts(st, 1, 0);
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", "ca2", NULL);
    hs h = handshake(st, ct, NULL);
    expect_refused(&h, 180, "CRL signature failure");
    expect_counts(st, 2, 0);
    bacsc_tls_ctx_free(ct);
    bacsc_tls_ctx_free(st);
}

/* What the memo does not handle is checked by OpenSSL alone, every time: a
 * CRL with an issuingDistributionPoint, and any CRL when the verification
 * has extended CRL support (indirect CRLs, reasons) or delta CRLs on. */
static void only_plain_crls_are_remembered(void **state)
{
    (void)state;
    write_crl("idp", "ca1", "onlyuser:TRUE"); /* in scope: the node's is a user certificate */
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_ctx *ct = sct_tls(&env, false, "client", "ca1", "ca2", NULL);
    bacsc_tls_ctx *st = server_cold(keys, "idp");
    for (uint64_t i = 1; i <= 3; i++) {
        assert_true(handshake(st, ct, NULL).ok);
        expect_counts(st, i, 0);
    }
    bacsc_tls_ctx_free(st);
    const unsigned long flags[2] = {X509_V_FLAG_EXTENDED_CRL_SUPPORT, X509_V_FLAG_USE_DELTAS};
    for (int f = 0; f < 2; f++) {
        st = server_cold(keys, "ca1");
        assert_true(handshake(st, ct, NULL).ok);
        expect_counts(st, 1, 0);
        X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(bacsc_tls_ctx_ssl_ctx(st)), flags[f]);
        assert_true(handshake(st, ct, NULL).ok);
        assert_true(handshake(st, ct, NULL).ok);
        expect_counts(st, 3, 0);
        bacsc_tls_ctx_free(st);
    }
    bacsc_tls_ctx_free(ct);
}

/* ---- several threads on one context ----------------------------------------- */

#define THREADS 4
#define PER_THREAD 6

typedef struct worker {
    bacsc_tls_ctx *st, *ct;
    int ok, refused;
} worker;

static pthread_barrier_t start;

static void *work(void *arg)
{
    worker *w = arg;
    bacsc_tls_resume r = {0};
    pthread_barrier_wait(&start); /* all at once: the memo is cold */
    for (int i = 0; i < PER_THREAD; i++) {
        hs h = handshake(w->st, w->ct, i % 2 ? &r : NULL);
        w->ok += h.ok;
        w->refused += !h.ok && h.code == 186;
    }
    bacsc_tls_resume_clear(&r);
    return NULL;
}

static void threads_share_the_memo(void **state)
{
    (void)state;
    char keys[512];
    key_file(keys, sizeof keys);
    bacsc_tls_ctx *st = server_cold(keys, "ca1");
    expect_counts(st, 0, 0);
    worker w[THREADS];
    pthread_t th[THREADS];
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){st, sct_tls(&env, false, i % 2 ? "revoked" : "client", "ca1", "ca2",
                                    NULL), 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++) {
        if (i % 2) {
            assert_int_equal(w[i].ok, 0);
            assert_int_equal(w[i].refused, PER_THREAD);
        } else {
            assert_int_equal(w[i].ok, PER_THREAD);
        }
        bacsc_tls_ctx_free(w[i].ct);
    }
    bacsc_tls_stats s = stats(st);
    /* several threads may verify it before the first has remembered it */
    assert_true(s.crl_checks_full >= 1 && s.crl_checks_full <= THREADS);
    assert_true(s.crl_checks_full + s.crl_checks_reused >= THREADS * PER_THREAD);
    bacsc_tls_ctx_free(st);
}

static int setup(void **state)
{
    (void)state;
    return sct_env_setup(&env, "tlscrl");
}

static int teardown(void **state)
{
    (void)state;
    return sct_env_teardown(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signature_verified_once_per_crl_and_issuer),
        cmocka_unit_test(revoked_is_refused_with_the_memo_warm),
        cmocka_unit_test(expired_crl_fails_closed_with_the_memo_warm),
        cmocka_unit_test(not_yet_valid_crl_fails_closed_with_the_memo_warm),
        cmocka_unit_test(crl_signed_by_another_key_is_refused_every_time),
        cmocka_unit_test(crl_accepted_by_a_lenient_callback_is_not_remembered),
        cmocka_unit_test(only_plain_crls_are_remembered),
        cmocka_unit_test(threads_share_the_memo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
