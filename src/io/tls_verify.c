/*
 * tls_verify.c — a peer certificate checked again after the handshake. See
 * tls_verify_internal.h.
 *
 * A peer certificate that was verified in full once, with an issuer
 * certificate known by its SHA-256, is checked again in two places: the
 * client certificate inside a session ticket at every resumption (decoded
 * without its public key, ossl_keyless_internal.h: decoding the key costs
 * OpenSSL 3.0 more than an ECDH), and every connected peer's certificate
 * after a reload (thousands at once on a hub). What can have changed since
 * that full verification is what depends on time and on the configuration,
 * and that is what bacsc_tls_cert_current() checks, with OpenSSL's own
 * functions:
 *  - the trust store: the issuer OpenSSL's chain building finds in the
 *    store given (X509_STORE_CTX_get1_issuer: names, key identifiers,
 *    validity preferred) must be that very certificate (its SHA-256); a
 *    reload that removed or replaced it fails here;
 *  - both validity periods at the verification time, and the issuer's key
 *    usage (X509_check_issued), each through the verify callback as in
 *    OpenSSL's last step;
 *  - revocation: OpenSSL's own check_revocation on the chain [certificate,
 *    issuer] (the CRLs of this store, their validity and signatures; our
 *    verify callback fails a stale CRL closed, as in any verification).
 * The certificate's content (purpose, basic constraints, extensions) is
 * the same octets that were verified with that issuer certificate (a
 * ticket's are bound to it by the ticket's encryption); its purpose is
 * checked again anyway (cheap). Only the issuer's signature on the
 * certificate is not verified again.
 * This never refuses by itself: anything it cannot show sends the caller
 * to the full verification (bacsc_tls_cert_verifies), on a copy of the
 * certificate decoded with its key, which refuses with OpenSSL's reason.
 */
#include "tls_verify_internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

X509 *bacsc_tls_keyed_cert(X509 *x)
{
    if (!x)
        return NULL;
    ERR_set_mark();
    EVP_PKEY *pk = X509_get0_pubkey(x);
    ERR_pop_to_mark();
    if (pk)
        return X509_up_ref(x) == 1 ? x : NULL;
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    const unsigned char *p = der;
    X509 *y = len > 0 ? d2i_X509(NULL, &p, len) : NULL;
    OPENSSL_free(der);
    return y;
}

/* A failure of the verification step below: the verify callback decides
 * (as in OpenSSL's own step). */
static int step_fail(X509_STORE_CTX *vc, X509 *x, int depth, int err)
{
    X509_STORE_CTX_set_error_depth(vc, depth);
    X509_STORE_CTX_set_current_cert(vc, x);
    X509_STORE_CTX_set_error(vc, err);
    return X509_STORE_CTX_get_verify_cb(vc)(0, vc);
}

/* The validity period of x at the verification time (OpenSSL's rules). */
static int step_time(X509_STORE_CTX *vc, X509 *x, int depth)
{
    const X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(vc);
    unsigned long fl = X509_VERIFY_PARAM_get_flags((X509_VERIFY_PARAM *)vp);
    time_t when = 0, *at = NULL;
    if (fl & X509_V_FLAG_USE_CHECK_TIME) {
        when = X509_VERIFY_PARAM_get_time(vp);
        at = &when;
    } else if (fl & X509_V_FLAG_NO_CHECK_TIME) {
        return 1;
    }
    int i = X509_cmp_time(X509_get0_notBefore(x), at);
    if ((i == 0 && !step_fail(vc, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD)) ||
        (i > 0 && !step_fail(vc, x, depth, X509_V_ERR_CERT_NOT_YET_VALID)))
        return 0;
    i = X509_cmp_time(X509_get0_notAfter(x), at);
    if ((i == 0 && !step_fail(vc, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD)) ||
        (i < 0 && !step_fail(vc, x, depth, X509_V_ERR_CERT_HAS_EXPIRED)))
        return 0;
    return 1;
}

/* What OpenSSL's last verification step does for the chain [certificate,
 * the issuer certificate the ticket names (`want`)] — the issuer's key
 * usage, both validity periods, the verify callback at each depth — except
 * verifying the issuer's signature on the certificate: that was done, with
 * this very issuer certificate, when the ticket was issued. */
static int verify_known_issuer(X509_STORE_CTX *vc, const uint8_t *want)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(vc);
    uint8_t have[32];
    if (!want || sk_X509_num(chain) != 2 || !bacsc_tls_cert_sha256(sk_X509_value(chain, 1), have) ||
        CRYPTO_memcmp(have, want, 32) != 0) {
        X509_STORE_CTX_set_error(vc, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    X509 *leaf = sk_X509_value(chain, 0), *issuer = sk_X509_value(chain, 1);
    int e = X509_check_issued(issuer, leaf); /* names, key identifiers, key usage */
    if (e != X509_V_OK && !step_fail(vc, issuer, 1, e))
        return 0;
    for (int depth = 1; depth >= 0; depth--) {
        X509 *x = depth ? issuer : leaf;
        if (!step_time(vc, x, depth))
            return 0;
        X509_STORE_CTX_set_current_cert(vc, x);
        X509_STORE_CTX_set_error_depth(vc, depth);
        if (!X509_STORE_CTX_get_verify_cb(vc)(1, vc))
            return 0;
    }
    return 1;
}

bool bacsc_tls_cert_current(SSL_CTX *ctx, const X509_VERIFY_PARAM *param, X509 *leaf, bool client,
                            const uint8_t known[32])
{
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    X509 *issuer = NULL;
    uint8_t have[32];
    bool ok = vc && leaf && X509_STORE_CTX_init(vc, SSL_CTX_get_cert_store(ctx), leaf, NULL) == 1 &&
              X509_STORE_CTX_set_default(vc, client ? "ssl_client" : "ssl_server") == 1 &&
              X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(vc), param) == 1 &&
              X509_check_purpose(leaf, client ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER,
                                 0) == 1 &&
              X509_STORE_CTX_get1_issuer(&issuer, vc, leaf) == 1 &&
              bacsc_tls_cert_sha256(issuer, have) && CRYPTO_memcmp(have, known, 32) == 0;
    STACK_OF(X509) *chain = ok ? sk_X509_new_reserve(NULL, 2) : NULL;
    if (chain && X509_up_ref(leaf) == 1) {
        sk_X509_push(chain, leaf); /* room reserved: cannot fail */
        sk_X509_push(chain, issuer);
        issuer = NULL;
        X509_STORE_CTX_set0_verified_chain(vc, chain); /* frees it with vc */
        ok = verify_known_issuer(vc, known) == 1 &&
             X509_STORE_CTX_get_check_revocation(vc)(vc) == 1;
    } else {
        sk_X509_free(chain);
        ok = false;
    }
    X509_free(issuer);
    X509_STORE_CTX_free(vc);
    ERR_clear_error();
    return ok;
}

bool bacsc_tls_cert_verifies(SSL_CTX *ctx, const X509_VERIFY_PARAM *param, X509 *peer, bool client,
                             uint8_t used[32], char *why, size_t cap)
{
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    X509 *keyed = bacsc_tls_keyed_cert(peer);
    bool ok = false;
    if (!vc || !keyed)
        snprintf(why, cap, "out of memory");
    else if (X509_STORE_CTX_init(vc, SSL_CTX_get_cert_store(ctx), keyed, NULL) != 1 ||
             X509_STORE_CTX_set_default(vc, client ? "ssl_client" : "ssl_server") != 1 ||
             X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(vc), param) != 1)
        snprintf(why, cap, "cannot set up the verification");
    else if (!(ok = X509_verify_cert(vc) == 1))
        snprintf(why, cap, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(vc)));
    if (used) {
        STACK_OF(X509) *chain = ok ? X509_STORE_CTX_get0_chain(vc) : NULL;
        if (!chain || sk_X509_num(chain) != 2 || !bacsc_tls_cert_sha256(sk_X509_value(chain, 1), used))
            memset(used, 0, 32);
    }
    X509_STORE_CTX_free(vc);
    X509_free(keyed);
    ERR_clear_error();
    return ok;
}
