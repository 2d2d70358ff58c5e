/*
 * tls_crl.c — OpenSSL's CRL check with the CRL's signature verified once
 * per (CRL, issuer certificate). See tls_crl_internal.h.
 *
 * What OpenSSL's check_crl() (crypto/x509/x509_vfy.c, the same in 3.0 and
 * 3.5) does with the CRL that check_cert() selected for a certificate, in
 * this order, each failure reported through the verify callback:
 *   1. finds the CRL's issuer: the one the selection found (current_issuer);
 *   2. for a CRL that is not a delta CRL: the issuer's keyUsage has cRLSign
 *      (when it has a keyUsage); the certificate is in the CRL's scope
 *      (CRL_SCORE_SCOPE); the CRL issuer is on the certificate's path
 *      (CRL_SCORE_SAME_PATH, else a path validation of the CRL issuer); the
 *      issuingDistributionPoint is valid;
 *   3. the CRL's thisUpdate/nextUpdate against the verification time (unless
 *      the selection found them good: CRL_SCORE_TIME);
 *   4. the issuer's public key decodes; the Suite B rules (only with the
 *      Suite B flags); the CRL's signature verifies with that key.
 * The revocation lookup (cert_crl) is a separate step, not changed here.
 *
 * This check skips only the signature verification of 4, and only when all
 * of the following hold; in every other case (and whenever one of the other
 * checks would report anything) it calls OpenSSL's check_crl() itself:
 *  - the CRL is one this store was built with, and it has no
 *    issuingDistributionPoint, no deltaCRLIndicator and no freshestCRL
 *    extension; the certificate's issuer name is the CRL's issuer name (a
 *    direct CRL); the verification parameters have neither
 *    X509_V_FLAG_EXTENDED_CRL_SUPPORT nor X509_V_FLAG_USE_DELTAS. Then the
 *    scope and path checks of 2 cannot fail: without an IDP the CRL is in
 *    scope of every certificate whose issuer name it carries
 *    (crl_crldp_check), the selection only takes a CRL whose issuer it found
 *    (CRL_SCORE_AKID), which without extended CRL support it finds only on
 *    the certificate's path (CRL_SCORE_SAME_PATH), and the IDP flags are
 *    all zero without an IDP. No delta CRL is ever used (CRL_SCORE_TIME_DELTA
 *    is never set), and step 2 applies (no base CRL number);
 *  - OpenSSL's own check_crl() accepted this CRL object earlier for an
 *    issuer certificate with the same SHA-256 as the current issuer (same
 *    certificate, so same key) without calling the verify callback with an
 *    error at all — so X509_CRL_verify(crl, issuer key) succeeded then. A
 *    signature verification depends only on the CRL's encoding and the key:
 *    the CRL object is the store's and never modified, the issuer
 *    certificate is the same, so it would succeed again. Nothing else is
 *    remembered: a CRL that failed once is checked in full every time;
 *  - now: the issuer's keyUsage (if any) has cRLSign, the CRL's
 *    thisUpdate is before and its nextUpdate (if any) after the
 *    verification time (X509_V_FLAG_USE_CHECK_TIME / NO_CHECK_TIME honoured
 *    as OpenSSL does), the issuer's key decodes and passes the Suite B
 *    check. These are exactly the remaining conditions under which OpenSSL's
 *    check_crl() returns 1 without calling the verify callback. If any of
 *    them fails, OpenSSL's check_crl() runs and reports it with its own
 *    errors and callback calls (X509_V_ERR_CRL_HAS_EXPIRED, …_NOT_YET_VALID,
 *    the ERROR_IN_…_FIELD ones, KEYUSAGE_NO_CRL_SIGN …).
 * So the result and the callback calls are OpenSSL's in every case. (One
 * difference nobody here can see: where the selection judged the CRL's
 * times bad but they became good in the microseconds up to this check,
 * OpenSSL would clear the store context's current CRL; no callback of ours
 * looks at it.) Nothing stale survives a reload: it builds a new store,
 * with new CRL objects and a new memo.
 *
 * Thread safety: handshakes run on several threads (hspool.h) on one store.
 * Each memo is written at most once (an atomic state: empty → being
 * written → set, the issuer's SHA-256 published by the release store of
 * "set"); readers see either "not set" (and run the full check) or the
 * complete value. The counters are atomic.
 */
#include "tls_crl_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

enum { MEMO_EMPTY, MEMO_WRITING, MEMO_SET };

typedef struct crl_memo {
    X509_CRL *crl; /* the store's (not a reference: it lives as long as the store) */
    bool eligible; /* no IDP, no delta CRL indicator, no freshest CRL */
    atomic_int state;
    uint8_t issuer[32]; /* SHA-256 of the issuer certificate that verified it (MEMO_SET) */
} crl_memo;

typedef struct crl_table {
    int sha_index;
    atomic_uint_least64_t full, reused;
    size_t n;
    crl_memo m[];
} crl_table;

/* ---- once per process: OpenSSL's own check_crl, the store ex_data slot ---- */

static X509_STORE_CTX_check_crl_fn ossl_check_crl;
static int table_index = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void table_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                       void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

static void init_once(void)
{
    /* A store context on no store gets OpenSSL's own functions. */
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    if (vc && X509_STORE_CTX_init(vc, NULL, NULL, NULL) == 1)
        ossl_check_crl = X509_STORE_CTX_get_check_crl(vc);
    X509_STORE_CTX_free(vc);
    table_index = X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, table_free);
}

/* ---- watching OpenSSL's check for errors ----------------------------------- */

/* While OpenSSL's check_crl() runs for a memo, the store context's verify
 * callback is this one, which notes whether any check failed (was reported
 * with ok = 0) and passes every call on unchanged. Per thread, nested
 * properly (a CRL path validation inside check_crl() would run its own). */
typedef struct watch {
    X509_STORE_CTX_verify_cb cb;
    bool failed;
    struct watch *prev;
} watch;

static _Thread_local watch *watching;

static int watch_cb(int ok, X509_STORE_CTX *vc)
{
    watch *w = watching;
    if (!ok && w)
        w->failed = true;
    return w && w->cb ? w->cb(ok, vc) : ok;
}

/* ---- the check ---------------------------------------------------------------- */

static crl_table *table_of(X509_STORE_CTX *vc)
{
    X509_STORE *st = X509_STORE_CTX_get0_store(vc);
    return st && table_index >= 0 ? X509_STORE_get_ex_data(st, table_index) : NULL;
}

static crl_memo *memo_of(crl_table *tb, const X509_CRL *crl)
{
    for (size_t i = 0; i < tb->n; i++)
        if (tb->m[i].crl == crl)
            return &tb->m[i];
    return NULL;
}

/* The CRL's thisUpdate/nextUpdate are good at the verification time
 * (OpenSSL's check_crl_time() finding nothing to report). */
static bool crl_time_ok(X509_STORE_CTX *vc, X509_CRL *crl)
{
    const X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(vc);
    unsigned long fl = X509_VERIFY_PARAM_get_flags(vp);
    time_t when = 0, *at = NULL;
    if (fl & X509_V_FLAG_USE_CHECK_TIME) {
        when = X509_VERIFY_PARAM_get_time(vp);
        at = &when;
    } else if (fl & X509_V_FLAG_NO_CHECK_TIME) {
        return true;
    }
    if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), at) >= 0) /* 0: bad field, > 0: not yet */
        return false;
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
    return !next || X509_cmp_time(next, at) > 0; /* 0: bad field, < 0: expired */
}

/* Everything of OpenSSL's check_crl() but the signature passes now, for a
 * CRL whose signature by `issuer` was verified before (see the top). */
static bool rest_ok(X509_STORE_CTX *vc, X509_CRL *crl, X509 *issuer)
{
    if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) &&
        !(X509_get_key_usage(issuer) & KU_CRL_SIGN))
        return false;
    if (!crl_time_ok(vc, crl))
        return false;
    EVP_PKEY *ikey = X509_get0_pubkey(issuer);
    unsigned long fl = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(vc));
    return ikey && X509_CRL_check_suiteb(crl, ikey, fl) == X509_V_OK;
}

/* Can a memo serve this check at all (see the top)? */
static bool memo_applies(X509_STORE_CTX *vc, const crl_memo *m, X509_CRL *crl)
{
    if (!m || !m->eligible)
        return false;
    unsigned long fl = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(vc));
    if (fl & (X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_USE_DELTAS))
        return false;
    X509 *x = X509_STORE_CTX_get_current_cert(vc);
    return x && X509_NAME_cmp(X509_get_issuer_name(x), X509_CRL_get_issuer(crl)) == 0;
}

static bool memo_matches(crl_memo *m, const uint8_t *h)
{
    return atomic_load_explicit(&m->state, memory_order_acquire) == MEMO_SET &&
           memcmp(m->issuer, h, 32) == 0;
}

static void memo_set(crl_memo *m, const uint8_t *h)
{
    int expect = MEMO_EMPTY;
    if (!atomic_compare_exchange_strong(&m->state, &expect, MEMO_WRITING))
        return; /* set once (by this or another thread): keep the first */
    memcpy(m->issuer, h, 32);
    atomic_store_explicit(&m->state, MEMO_SET, memory_order_release);
}

/* OpenSSL's check; remembered in `m` (may be NULL) for the issuer `h` when
 * it accepted the CRL without reporting anything. */
static int full_check(X509_STORE_CTX *vc, X509_CRL *crl, crl_table *tb, crl_memo *m,
                      const uint8_t *h)
{
    if (tb)
        atomic_fetch_add_explicit(&tb->full, 1, memory_order_relaxed);
    X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(vc);
    if (!m || !h || cb == watch_cb)
        return ossl_check_crl(vc, crl);
    watch w = {cb, false, watching};
    watching = &w;
    X509_STORE_CTX_set_verify_cb(vc, watch_cb);
    int ok = ossl_check_crl(vc, crl);
    X509_STORE_CTX_set_verify_cb(vc, cb);
    watching = w.prev;
    if (ok == 1 && !w.failed)
        memo_set(m, h);
    return ok;
}

static int memo_check_crl(X509_STORE_CTX *vc, X509_CRL *crl)
{
    crl_table *tb = table_of(vc);
    crl_memo *m = tb ? memo_of(tb, crl) : NULL;
    X509 *issuer = X509_STORE_CTX_get0_current_issuer(vc);
    const uint8_t *h = issuer && tb ? X509_get_ex_data(issuer, tb->sha_index) : NULL;
    if (!h || !memo_applies(vc, m, crl))
        return full_check(vc, crl, tb, NULL, NULL);
    if (memo_matches(m, h) && rest_ok(vc, crl, issuer)) {
        atomic_fetch_add_explicit(&tb->reused, 1, memory_order_relaxed);
        return 1;
    }
    return full_check(vc, crl, tb, m, h);
}

/* ---- installing it ------------------------------------------------------------ */

static bool crl_eligible(const X509_CRL *crl)
{
    return X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1) < 0 &&
           X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) < 0 &&
           X509_CRL_get_ext_by_NID(crl, NID_freshest_crl, -1) < 0;
}

int bacsc_tls_crl_install(X509_STORE *st, int sha_index)
{
    pthread_once(&once, init_once);
    if (!st || !ossl_check_crl || table_index < 0)
        return -1;
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);
    size_t n = 0;
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
        n += X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_CRL;
    crl_table *tb = calloc(1, sizeof *tb + n * sizeof tb->m[0]);
    if (!tb)
        return -1;
    tb->sha_index = sha_index;
    atomic_init(&tb->full, 0);
    atomic_init(&tb->reused, 0);
    for (int i = 0; i < sk_X509_OBJECT_num(objs) && tb->n < n; i++) {
        X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);
        if (X509_OBJECT_get_type(o) != X509_LU_CRL)
            continue;
        crl_memo *m = &tb->m[tb->n++];
        m->crl = X509_OBJECT_get0_X509_CRL(o);
        m->eligible = m->crl && crl_eligible(m->crl);
        atomic_init(&m->state, MEMO_EMPTY);
    }
    if (X509_STORE_set_ex_data(st, table_index, tb) != 1) {
        free(tb);
        return -1;
    }
    X509_STORE_set_check_crl(st, memo_check_crl);
    return 0;
}

void bacsc_tls_crl_counts(const X509_STORE *st, uint64_t *full, uint64_t *reused)
{
    crl_table *tb = st && table_index >= 0 ? X509_STORE_get_ex_data(st, table_index) : NULL;
    *full = tb ? atomic_load_explicit(&tb->full, memory_order_relaxed) : 0;
    *reused = tb ? atomic_load_explicit(&tb->reused, memory_order_relaxed) : 0;
}
