/*
 * crl_set.c — the CRLs a device keeps (bacsc/pki.h "CRLs a device is
 * given"): parsing a CRL buffer, and deciding whether a new set may replace
 * the installed one (signed by a trusted issuer, never older). Everything
 * ASN.1 and cryptographic goes through OpenSSL.
 */
#include "pki_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"

static bool only_space(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != ' ' && d[i] != '\t' && d[i] != '\r' && d[i] != '\n')
            return false;
    return true;
}

static const char PEM_BEGIN[] = "-----BEGIN X509 CRL-----";

/* PEM blocks one after the other, nothing else but whitespace. */
static int parse_pem(const uint8_t *data, size_t len, STACK_OF(X509_CRL) *sk)
{
    BIO *b = BIO_new_mem_buf(data, (int)len);
    if (!b)
        return BACSC_ERR_NOMEM;
    int rc = BACSC_OK;
    for (;;) {
        /* Where the next block must start: after whitespace only. */
        size_t at = len - (size_t)BIO_pending(b);
        size_t i = at;
        while (i < len && only_space(data + i, 1))
            i++;
        if (i == len)
            break;
        if (len - i < sizeof PEM_BEGIN - 1 ||
            memcmp(data + i, PEM_BEGIN, sizeof PEM_BEGIN - 1) != 0) {
            rc = BACSC_ERR_MALFORMED;
            break;
        }
        X509_CRL *c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
        if (!c) {
            rc = BACSC_ERR_MALFORMED;
            break;
        }
        if (sk_X509_CRL_num(sk) >= BACSC_CRL_SET_MAX * 4 || !sk_X509_CRL_push(sk, c)) {
            X509_CRL_free(c);
            rc = BACSC_ERR_MALFORMED;
            break;
        }
    }
    BIO_free(b);
    return rc;
}

int bacsc_pki_crls_parse(const uint8_t *data, size_t len, STACK_OF(X509_CRL) **out)
{
    if (!out || (len && !data) || len > INT32_MAX)
        return BACSC_ERR_INVALID_ARG;
    STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
    if (!sk)
        return BACSC_ERR_NOMEM;
    int rc = BACSC_OK;
    if (len == 0 || only_space(data, len)) {
        /* an empty set */
    } else if (data[0] == 0x30) {
        const unsigned char *p = data;
        X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);
        if (c && p == data + len && sk_X509_CRL_push(sk, c))
            c = NULL;
        else
            rc = BACSC_ERR_MALFORMED;
        X509_CRL_free(c);
    } else {
        rc = parse_pem(data, len, sk);
    }
    ERR_clear_error();
    if (rc != BACSC_OK) {
        sk_X509_CRL_pop_free(sk, X509_CRL_free);
        return rc;
    }
    *out = sk;
    return sk_X509_CRL_num(sk);
}

/* The issuer (index) that signed `crl`, or -1. */
static int issuer_of(X509_CRL *crl, STACK_OF(X509) *issuers)
{
    for (int i = 0; i < sk_X509_num(issuers); i++) {
        X509 *x = sk_X509_value(issuers, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(x)) != 0)
            continue;
        if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
            !(X509_get_key_usage(x) & KU_CRL_SIGN))
            continue;
        EVP_PKEY *k = X509_get0_pubkey(x);
        if (k && X509_CRL_verify(crl, k) == 1)
            return i;
    }
    ERR_clear_error();
    return -1;
}

static bool same_crl(X509_CRL *a, X509_CRL *b)
{
    return X509_CRL_cmp(a, b) == 0 && X509_CRL_match(a, b) == 0;
}

static void issuer_text(X509_CRL *c, char *out, size_t cap)
{
    X509_NAME_oneline(X509_CRL_get_issuer(c), out, (int)cap);
}

/* Is `n` older than `o` (same issuer)? *same: the very same CRL. */
static bool older(X509_CRL *n, X509_CRL *o, char *why, size_t cap)
{
    ASN1_INTEGER *nn = X509_CRL_get_ext_d2i(n, NID_crl_number, NULL, NULL);
    ASN1_INTEGER *on = X509_CRL_get_ext_d2i(o, NID_crl_number, NULL, NULL);
    bool old = false;
    if (nn && on) {
        int c = ASN1_INTEGER_cmp(nn, on);
        long nv = ASN1_INTEGER_get(nn), ov = ASN1_INTEGER_get(on);
        if (c < 0 || (c == 0 && !same_crl(n, o))) {
            snprintf(why, cap, "CRL number %ld is not newer than the installed CRL's %ld", nv,
                     ov);
            old = true;
        }
    } else {
        int day = 0, sec = 0;
        if (ASN1_TIME_diff(&day, &sec, X509_CRL_get0_lastUpdate(o),
                           X509_CRL_get0_lastUpdate(n)) != 1 ||
            day < 0 || sec < 0) {
            snprintf(why, cap, "thisUpdate is older than the installed CRL's");
            old = true;
        }
    }
    ASN1_INTEGER_free(nn);
    ASN1_INTEGER_free(on);
    return old;
}

typedef struct crl_sets {
    STACK_OF(X509_CRL) *next, *inst;
    int next_iss[BACSC_CRL_SET_MAX * 4];
} crl_sets;

/* The checks of each new CRL on its own; marks dropped ones with iss -2. */
static int check_each(crl_sets *c, STACK_OF(X509) *issuers, int64_t now, char *why, size_t cap)
{
    char name[256];
    int n = sk_X509_CRL_num(c->next);
    if (n > BACSC_CRL_SET_MAX) {
        snprintf(why, cap, "%d CRLs (at most %d)", n, BACSC_CRL_SET_MAX);
        return BACSC_CRL_MALFORMED;
    }
    for (int i = 0; i < n; i++) {
        X509_CRL *crl = sk_X509_CRL_value(c->next, i);
        issuer_text(crl, name, sizeof name);
        c->next_iss[i] = issuer_of(crl, issuers);
        if (c->next_iss[i] < 0) {
            bool kept = false;
            for (int j = 0; j < sk_X509_CRL_num(c->inst); j++)
                kept = kept || same_crl(crl, sk_X509_CRL_value(c->inst, j));
            if (kept) {
                c->next_iss[i] = -2; /* its issuer was removed: drop it */
                continue;
            }
            snprintf(why, cap, "CRL of %s is not signed by an issuer of this device", name);
            return BACSC_CRL_UNKNOWN_ISSUER;
        }
        for (int j = 0; j < i; j++)
            if (c->next_iss[j] == c->next_iss[i]) {
                snprintf(why, cap, "two CRLs of %s", name);
                return BACSC_CRL_MALFORMED;
            }
        const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
        time_t t = (time_t)now;
        if (nu && X509_cmp_time(nu, &t) < 0) {
            snprintf(why, cap, "CRL of %s is past its nextUpdate", name);
            return BACSC_CRL_EXPIRED;
        }
    }
    return BACSC_CRL_OK;
}

/* Every installed CRL of a still trusted issuer has a successor not older. */
static int check_rollback(crl_sets *c, STACK_OF(X509) *issuers, char *why, size_t cap)
{
    char name[256], r[200];
    for (int j = 0; j < sk_X509_CRL_num(c->inst); j++) {
        X509_CRL *o = sk_X509_CRL_value(c->inst, j);
        int iss = issuer_of(o, issuers);
        if (iss < 0)
            continue;
        issuer_text(o, name, sizeof name);
        X509_CRL *succ = NULL;
        for (int i = 0; i < sk_X509_CRL_num(c->next); i++)
            if (c->next_iss[i] == iss)
                succ = sk_X509_CRL_value(c->next, i);
        if (!succ) {
            snprintf(why, cap, "the installed CRL of %s would be removed", name);
            return BACSC_CRL_ROLLBACK;
        }
        if (older(succ, o, r, sizeof r)) {
            snprintf(why, cap, "CRL of %s: %s", name, r);
            return BACSC_CRL_ROLLBACK;
        }
    }
    return BACSC_CRL_OK;
}

static int write_kept(crl_sets *c, uint8_t **out, size_t *out_len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return BACSC_ERR_NOMEM;
    for (int i = 0; i < sk_X509_CRL_num(c->next); i++)
        if (c->next_iss[i] >= 0 && PEM_write_bio_X509_CRL(b, sk_X509_CRL_value(c->next, i)) != 1) {
            BIO_free(b);
            return BACSC_ERR_NOMEM;
        }
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    int rc = BACSC_OK;
    if (n > 0) {
        *out = malloc((size_t)n);
        if (*out)
            memcpy(*out, p, (size_t)n);
        else
            rc = BACSC_ERR_NOMEM;
        *out_len = *out ? (size_t)n : 0;
    }
    BIO_free(b);
    return rc;
}

int bacsc_pki_crl_set_check(const uint8_t *next, size_t next_len, STACK_OF(X509) *issuers,
                            const uint8_t *installed, size_t installed_len, int64_t now,
                            uint8_t **out, size_t *out_len, char *why, size_t cap)
{
    if (!out || !out_len || !why || !issuers)
        return BACSC_ERR_INVALID_ARG;
    *out = NULL;
    *out_len = 0;
    why[0] = '\0';
    crl_sets c = {0};
    int rc = bacsc_pki_crls_parse(next, next_len, &c.next);
    if (rc < 0) {
        snprintf(why, cap, "not a CRL (PEM or DER)");
        return rc == BACSC_ERR_MALFORMED || rc == BACSC_ERR_INVALID_ARG ? BACSC_CRL_MALFORMED
                                                                          : rc;
    }
    /* What the device has was checked when it was installed; unreadable
     * counts as none. */
    if (bacsc_pki_crls_parse(installed, installed_len, &c.inst) < 0)
        c.inst = sk_X509_CRL_new_null();
    if (!c.inst) {
        sk_X509_CRL_pop_free(c.next, X509_CRL_free);
        return BACSC_ERR_NOMEM;
    }
    rc = check_each(&c, issuers, now, why, cap);
    if (rc == BACSC_CRL_OK)
        rc = check_rollback(&c, issuers, why, cap);
    if (rc == BACSC_CRL_OK)
        rc = write_kept(&c, out, out_len);
    sk_X509_CRL_pop_free(c.next, X509_CRL_free);
    sk_X509_CRL_pop_free(c.inst, X509_CRL_free);
    return rc;
}

static int pem_of(STACK_OF(X509_CRL) *sk, uint8_t **out, size_t *out_len)
{
    crl_sets c = {.next = sk};
    for (int i = 0; i < sk_X509_CRL_num(sk) && i < (int)(sizeof c.next_iss / sizeof c.next_iss[0]);
         i++)
        c.next_iss[i] = 0;
    *out = NULL;
    *out_len = 0;
    return write_kept(&c, out, out_len);
}

int bacsc_pki_crl_merge(const uint8_t *set, size_t set_len, const uint8_t *crl, size_t crl_len,
                        uint8_t **out, size_t *out_len, bool *already)
{
    if (!out || !out_len || !already)
        return BACSC_ERR_INVALID_ARG;
    *already = false;
    STACK_OF(X509_CRL) *have = NULL, *add = NULL;
    int rc = bacsc_pki_crls_parse(set, set_len, &have);
    if (rc < 0)
        return BACSC_ERR_MALFORMED;
    rc = bacsc_pki_crls_parse(crl, crl_len, &add);
    if (rc != 1) {
        if (rc >= 0)
            sk_X509_CRL_pop_free(add, X509_CRL_free);
        sk_X509_CRL_pop_free(have, X509_CRL_free);
        return BACSC_ERR_MALFORMED;
    }
    X509_CRL *n = sk_X509_CRL_shift(add);
    sk_X509_CRL_free(add);
    bool placed = false;
    for (int i = 0; i < sk_X509_CRL_num(have) && !placed; i++) {
        X509_CRL *o = sk_X509_CRL_value(have, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(o), X509_CRL_get_issuer(n)) != 0)
            continue;
        *already = same_crl(o, n);
        X509_CRL_free(o);
        sk_X509_CRL_set(have, i, n);
        placed = true;
    }
    if (!placed && !sk_X509_CRL_push(have, n)) {
        X509_CRL_free(n);
        sk_X509_CRL_pop_free(have, X509_CRL_free);
        return BACSC_ERR_NOMEM;
    }
    rc = pem_of(have, out, out_len);
    sk_X509_CRL_pop_free(have, X509_CRL_free);
    return rc;
}

int bacsc_pki_crl_info(const uint8_t *crl, size_t len, bacsc_crl_info *info)
{
    STACK_OF(X509_CRL) *sk = NULL;
    int rc = bacsc_pki_crls_parse(crl, len, &sk);
    if (rc != 1) {
        if (rc >= 0)
            sk_X509_CRL_pop_free(sk, X509_CRL_free);
        return BACSC_ERR_MALFORMED;
    }
    X509_CRL *c = sk_X509_CRL_value(sk, 0);
    memset(info, 0, sizeof *info);
    issuer_text(c, info->issuer, sizeof info->issuer);
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(c, NID_crl_number, NULL, NULL);
    info->number = num ? ASN1_INTEGER_get(num) : -1;
    ASN1_INTEGER_free(num);
    info->this_update = pki_asn1_time(X509_CRL_get0_lastUpdate(c));
    info->next_update = pki_asn1_time(X509_CRL_get0_nextUpdate(c));
    STACK_OF(X509_REVOKED) *rv = X509_CRL_get_REVOKED(c);
    info->revoked = rv ? sk_X509_REVOKED_num(rv) : 0;
    sk_X509_CRL_pop_free(sk, X509_CRL_free);
    return BACSC_OK;
}
