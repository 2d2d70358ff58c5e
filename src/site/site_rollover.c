/*
 * site_rollover.c — the state of a CA rollover (bacsc/site.h,
 * docs/lifecycle.md "CA rollover"). The phases run existing workflows
 * (trust add, renew, import, trust remove); this file keeps what the
 * rollover is and tells how far each device got.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"
#include "site_internal.h"

void bacsc_site_rollover_clear(bacsc_site_rollover *r)
{
    free(r->old_ca);
    free(r->new_ca);
    memset(r, 0, sizeof *r);
}

int bacsc_site_rollover_start(bacsc_site *s, const unsigned char *new_ca, size_t len)
{
    unsigned char *der = NULL;
    size_t der_len = 0;
    char why[128];
    int rc = site_ca_from_bytes(new_ca, len, &der, &der_len, why, sizeof why);
    if (rc != BACSC_OK)
        return site_fail(s, rc, "new CA certificate: %s", why);
    bacsc_site_rollover cur;
    bacsc_site_settings st;
    if ((rc = bacsc_site_settings_get(s, &st)) != BACSC_OK) {
        free(der);
        return rc;
    }
    if (bacsc_site_rollover_get(s, &cur) == BACSC_OK) {
        bool same = cur.new_len == der_len && memcmp(cur.new_ca, der, der_len) == 0;
        rc = same ? BACSC_OK
                  : site_fail(s, BACSC_ERR_EXISTS, "a rollover to another CA is in progress "
                                                   "(finish it first)");
        bacsc_site_rollover_clear(&cur);
    } else if (st.ca_len == der_len && memcmp(st.ca_der, der, der_len) == 0) {
        rc = site_fail(s, BACSC_ERR_MALFORMED, "the new CA is the site CA already");
    } else {
        rc = site_rollover_put(s, st.ca_der, st.ca_len, der, der_len);
    }
    bacsc_site_settings_clear(&st);
    free(der);
    return rc;
}

int bacsc_site_rollover_switch_ca(bacsc_site *s)
{
    bacsc_site_rollover r;
    bacsc_site_settings st;
    int rc = bacsc_site_rollover_get(s, &r);
    if (rc != BACSC_OK)
        return site_fail(s, rc, "no rollover in progress");
    if ((rc = bacsc_site_settings_get(s, &st)) == BACSC_OK) {
        if (st.ca_len != r.new_len || memcmp(st.ca_der, r.new_ca, r.new_len) != 0)
            rc = bacsc_site_settings_set(s, st.name, r.new_ca, r.new_len, st.domain,
                                         st.primary_hub, st.failover_hub);
        bacsc_site_settings_clear(&st);
    }
    bacsc_site_rollover_clear(&r);
    return rc;
}

static bool trusts(const bacsc_site_device *d, const unsigned char *fp)
{
    for (int i = 0; i < 2; i++)
        if (d->has_issuer[i] && memcmp(d->issuer_fp[i], fp, BACSC_SITE_FP_LEN) == 0)
            return true;
    return false;
}

/* Is the device's certificate signed by `ca` (DER)? */
static bool signed_by(const bacsc_site_device *d, const unsigned char *ca, size_t len)
{
    if (!d->cert_der)
        return false;
    const unsigned char *p = d->cert_der, *q = ca;
    X509 *x = d2i_X509(NULL, &p, (long)d->cert_len), *c = d2i_X509(NULL, &q, (long)len);
    EVP_PKEY *pk = c ? X509_get0_pubkey(c) : NULL;
    bool ok = x && pk && X509_check_issued(c, x) == X509_V_OK && X509_verify(x, pk) == 1;
    X509_free(x);
    X509_free(c);
    return ok;
}

int bacsc_site_rollover_phase(const bacsc_site_rollover *r, const bacsc_site_device *d)
{
    if (!trusts(d, r->new_fp))
        return 0;
    if (!signed_by(d, r->new_ca, r->new_len))
        return 1;
    return trusts(d, r->old_fp) ? 2 : 4;
}
