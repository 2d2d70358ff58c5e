/*
 * device_cert.c — the OpenSSL half of device commissioning
 * (bacsc/device_state.h): the device's CSR, certificate checks and the
 * validation of a pending certificate set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bacsc/device_state.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/uuid.h"

int bacsc_devcert_make_csr(EVP_PKEY *key, const char *cn, const uint8_t uuid[16], uint8_t **pem,
                           size_t *len)
{
    char ut[BACSC_UUID_STR_LEN];
    bacsc_uuid u;
    memcpy(u.b, uuid, sizeof u.b);
    bacsc_uuid_format(&u, ut);
    bacsc_cert_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.cn = cn;
    spec.device_uuid = ut;
    uint8_t *der = NULL;
    size_t dlen = 0;
    int rc = bacsc_pki_make_csr(key, &spec, false, &der, &dlen);
    if (rc != BACSC_OK)
        return rc;
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)dlen);
    free(der);
    if (req == NULL)
        return BACSC_ERR_CRYPTO;
    BIO *b = BIO_new(BIO_s_mem());
    rc = BACSC_ERR_CRYPTO;
    if (b && PEM_write_bio_X509_REQ(b, req) == 1) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        *pem = malloc((size_t)n);
        if (*pem) {
            memcpy(*pem, data, (size_t)n);
            *len = (size_t)n;
            rc = BACSC_OK;
        } else {
            rc = BACSC_ERR_NOMEM;
        }
    }
    BIO_free(b);
    X509_REQ_free(req);
    return rc;
}

/* Exactly one certificate (PEM with one CERTIFICATE block, or DER). */
static X509 *parse_one(const uint8_t *data, size_t len)
{
    if (data == NULL || len == 0)
        return NULL;
    STACK_OF(X509) *sk = NULL;
    int n = bacsc_pki_certs_parse(data, len, &sk);
    if (n != 1) {
        if (sk)
            sk_X509_pop_free(sk, X509_free);
        return NULL;
    }
    X509 *x = sk_X509_shift(sk);
    sk_X509_pop_free(sk, X509_free);
    return x;
}

int bacsc_devcert_check(const uint8_t *data, size_t len)
{
    X509 *x = parse_one(data, len);
    if (x == NULL)
        return BACSC_ERR_MALFORMED;
    X509_free(x);
    return BACSC_OK;
}

static bool key_matches(X509 *cert, EVP_PKEY *key)
{
    if (key == NULL)
        return false;
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    return pub != NULL && EVP_PKEY_eq(pub, key) == 1;
}

int bacsc_devcert_validate(const bacsc_cert_files *files, EVP_PKEY *key, EVP_PKEY *new_key,
                           int64_t now, bacsc_cert_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (files->opcert.len == 0) {
        v->code = BACSC_CERTCHK_NO_CERT;
        return BACSC_OK;
    }
    X509 *cert = parse_one(files->opcert.data, files->opcert.len);
    if (cert == NULL) {
        v->code = BACSC_CERTCHK_MALFORMED;
        snprintf(v->detail, sizeof v->detail, "operational certificate file");
        return BACSC_OK;
    }
    bacsc_cert_info info;
    if (bacsc_pki_cert_inspect(cert, &info) == BACSC_OK) {
        size_t n = strnlen(info.subject, sizeof v->detail - 1);
        memcpy(v->detail, info.subject, n);
        v->detail[n] = '\0';
        v->not_after = info.not_after;
    }
    X509 *issuers[BACSC_ISSUER_FILES_MAX] = {NULL, NULL};
    int nissuers = 0, bad_issuer = -1;
    for (int i = 0; i < BACSC_ISSUER_FILES_MAX; i++) {
        if (files->issuer[i].len == 0)
            continue;
        issuers[i] = parse_one(files->issuer[i].data, files->issuer[i].len);
        if (issuers[i] == NULL)
            bad_issuer = i;
        else
            nissuers++;
    }
    if (key == NULL && new_key == NULL) {
        v->code = BACSC_CERTCHK_NO_KEY;
    } else if (key_matches(cert, new_key)) {
        v->new_key = true;
    } else if (!key_matches(cert, key)) {
        v->code = BACSC_CERTCHK_KEY_MISMATCH;
    }
    if (v->code == BACSC_CERTCHK_OK) {
        if (now < info.not_before)
            v->code = BACSC_CERTCHK_NOT_YET_VALID;
        else if (now > info.not_after)
            v->code = BACSC_CERTCHK_EXPIRED;
    }
    if (v->code == BACSC_CERTCHK_OK && bad_issuer >= 0) {
        v->code = BACSC_CERTCHK_MALFORMED;
        snprintf(v->detail, sizeof v->detail, "issuer certificate file %d", bad_issuer + 1);
    }
    if (v->code == BACSC_CERTCHK_OK && nissuers == 0)
        v->code = BACSC_CERTCHK_NO_ISSUER;
    if (v->code == BACSC_CERTCHK_OK) {
        bool signed_ok = false;
        for (int i = 0; i < BACSC_ISSUER_FILES_MAX && !signed_ok; i++)
            if (issuers[i] && bacsc_pki_cert_issued_by(cert, issuers[i]) == 1) {
                bacsc_cert_info ii;
                /* The issuer itself must be in its validity period too. */
                if (bacsc_pki_cert_inspect(issuers[i], &ii) == BACSC_OK &&
                    now >= ii.not_before && now <= ii.not_after)
                    signed_ok = true;
            }
        if (!signed_ok)
            v->code = BACSC_CERTCHK_UNKNOWN_ISSUER;
    }
    for (int i = 0; i < BACSC_ISSUER_FILES_MAX; i++)
        X509_free(issuers[i]);
    X509_free(cert);
    return BACSC_OK;
}

int bacsc_devcert_check_crl(const bacsc_cert_files *files, const bacsc_blob *installed,
                            int64_t now, bacsc_blob *out, char *detail, size_t cap)
{
    memset(out, 0, sizeof *out);
    STACK_OF(X509) *iss = sk_X509_new_null();
    if (iss == NULL)
        return BACSC_ERR_NOMEM;
    for (int i = 0; i < BACSC_ISSUER_FILES_MAX; i++) {
        STACK_OF(X509) *sk = NULL;
        if (files->issuer[i].len == 0 ||
            bacsc_pki_certs_parse(files->issuer[i].data, files->issuer[i].len, &sk) < 1)
            continue;
        X509 *x;
        while ((x = sk_X509_shift(sk)) != NULL)
            if (!sk_X509_push(iss, x))
                X509_free(x);
        sk_X509_free(sk);
    }
    int rc = bacsc_pki_crl_set_check(files->crl.data, files->crl.len, iss, installed->data,
                                     installed->len, now, &out->data, &out->len, detail, cap);
    sk_X509_pop_free(iss, X509_free);
    switch (rc) {
    case BACSC_CRL_OK:
        return BACSC_CERTCHK_OK;
    case BACSC_CRL_MALFORMED:
        return BACSC_CERTCHK_CRL_MALFORMED;
    case BACSC_CRL_UNKNOWN_ISSUER:
        return BACSC_CERTCHK_CRL_UNKNOWN_ISSUER;
    case BACSC_CRL_ROLLBACK:
        return BACSC_CERTCHK_CRL_ROLLBACK;
    case BACSC_CRL_EXPIRED:
        return BACSC_CERTCHK_CRL_EXPIRED;
    default:
        return rc < 0 ? rc : BACSC_ERR_CRYPTO;
    }
}
