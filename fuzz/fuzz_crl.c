/*
 * fuzz_crl.c — the CRL file a device is given over BACnet
 * (bacsc_pki_crl_set_check), and the site tool's merge and reading of CRLs.
 * Input: u16 length + issuer certificate(s), u16 length + the installed CRL
 * set, then the new CRL set (all PEM or DER).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "bacsc/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *take(const uint8_t **p, size_t *left, size_t *n)
{
    if (*left < 2) {
        *n = 0;
        return *p;
    }
    size_t len = (size_t)(*p)[0] << 8 | (*p)[1];
    *p += 2;
    *left -= 2;
    if (len > *left)
        len = *left;
    const uint8_t *r = *p;
    *p += len;
    *left -= len;
    *n = len;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t left = size, ilen, slen;
    const uint8_t *iss = take(&p, &left, &ilen);
    const uint8_t *inst = take(&p, &left, &slen);
    STACK_OF(X509) *issuers = NULL;
    if (ilen == 0 || bacsc_pki_certs_parse(iss, ilen, &issuers) < 1)
        issuers = sk_X509_new_null();
    if (!issuers)
        return 0;
    uint8_t *out = NULL;
    size_t out_len = 0;
    char why[256];
    int rc = bacsc_pki_crl_set_check(p, left, issuers, inst, slen, 1700000000, &out, &out_len,
                                     why, sizeof why);
    if (rc > BACSC_CRL_EXPIRED || strchr(why, '\n'))
        __builtin_trap();
    if (rc == BACSC_CRL_OK && out_len) {
        STACK_OF(X509_CRL) *sk = NULL;
        int n = bacsc_pki_crls_parse(out, out_len, &sk);
        if (n < 1 || n > BACSC_CRL_SET_MAX)
            __builtin_trap(); /* what is kept must read back */
        sk_X509_CRL_pop_free(sk, X509_CRL_free);
    }
    if (rc != BACSC_CRL_OK && out)
        __builtin_trap();
    free(out);
    out = NULL;
    bool already;
    if (bacsc_pki_crl_merge(inst, slen, p, left, &out, &out_len, &already) == 0 && !out)
        __builtin_trap();
    free(out);
    bacsc_crl_info ci;
    bacsc_pki_crl_info(p, left, &ci);
    sk_X509_pop_free(issuers, X509_free);
    return 0;
}
