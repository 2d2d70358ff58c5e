/*
 * cari_match.c — pair response certificates with requests; check issuers.
 *
 * Matching uses two hash maps (jansson objects keyed by request id and by
 * fingerprint hex) so a 10,000-entry batch matches in linear time.
 * Correlation by request id is tried first but never trusted alone: the
 * certificate's key must be the requested key, so a response cannot bind a
 * device's request to somebody else's key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"
#include "cari_internal.h"

int bacsc_cari_match(bacsc_cari *resp, const bacsc_cari_ref *refs, size_t n_refs)
{
    if (!resp || (!refs && n_refs))
        return BACSC_ERR_INVALID_ARG;
    json_t *by_id = json_object(), *by_fp = json_object();
    if (!by_id || !by_fp) {
        json_decref(by_id);
        json_decref(by_fp);
        return BACSC_ERR_NOMEM;
    }
    int rc = BACSC_OK;
    for (size_t i = 0; i < n_refs && rc == BACSC_OK; i++) {
        char hex[65];
        bacsc_cari_fp_hex(refs[i].fingerprint, hex);
        if (!json_object_get(by_fp, hex) &&
            json_object_set_new(by_fp, hex, json_integer((json_int_t)i)) != 0)
            rc = BACSC_ERR_NOMEM;
        if (refs[i].request_id && !json_object_get(by_id, refs[i].request_id) &&
            json_object_set_new(by_id, refs[i].request_id, json_integer((json_int_t)i)) != 0)
            rc = BACSC_ERR_NOMEM;
    }
    int matched = 0;
    for (size_t k = 0; k < resp->n_entries && rc == BACSC_OK; k++) {
        bacsc_cari_entry *e = &resp->entries[k];
        if (e->error || e->type != BACSC_CARI_ENTRY_CERTIFICATE || !e->has_fingerprint)
            continue;
        e->match = BACSC_CARI_MATCH_NONE;
        e->match_index = SIZE_MAX;
        char hex[65];
        bacsc_cari_fp_hex(e->fingerprint, hex);
        json_t *byid = e->request_id ? json_object_get(by_id, e->request_id) : NULL;
        if (byid) {
            size_t i = (size_t)json_integer_value(byid);
            if (memcmp(refs[i].fingerprint, e->fingerprint, BACSC_CARI_FP_LEN) != 0) {
                char *rid = cari_printable(e->request_id, strlen(e->request_id));
                cari_entry_fail(e, BACSC_ERR_POLICY,
                                "certificate key does not match the key of request %s",
                                rid ? rid : "?");
                free(rid);
                continue;
            }
            e->match = BACSC_CARI_MATCH_CORRELATION;
            e->match_index = i;
            matched++;
            continue;
        }
        json_t *byfp = json_object_get(by_fp, hex);
        if (byfp) {
            e->match = BACSC_CARI_MATCH_KEY;
            e->match_index = (size_t)json_integer_value(byfp);
            matched++;
            continue;
        }
        cari_entry_fail(e, BACSC_ERR_NOT_FOUND, "certificate matches no request (public key %.16s...)",
                        hex);
    }
    json_decref(by_id);
    json_decref(by_fp);
    return rc == BACSC_OK ? matched : rc;
}

int bacsc_cari_match_request(bacsc_cari *resp, const bacsc_cari *req)
{
    if (!resp || !req)
        return BACSC_ERR_INVALID_ARG;
    /* refs are indexed like req->entries; invalid entries get a fingerprint
     * that cannot match and no request id */
    bacsc_cari_ref *refs = calloc(req->n_entries ? req->n_entries : 1, sizeof *refs);
    if (!refs)
        return BACSC_ERR_NOMEM;
    static const unsigned char nofp[BACSC_CARI_FP_LEN];
    for (size_t i = 0; i < req->n_entries; i++) {
        const bacsc_cari_entry *e = &req->entries[i];
        if (e->error || e->type != BACSC_CARI_ENTRY_CSR || !e->has_fingerprint) {
            memcpy(refs[i].fingerprint, nofp, sizeof nofp);
            refs[i].request_id = NULL;
            continue;
        }
        refs[i].request_id = e->request_id;
        memcpy(refs[i].fingerprint, e->fingerprint, BACSC_CARI_FP_LEN);
    }
    int rc = bacsc_cari_match(resp, refs, req->n_entries);
    free(refs);
    return rc;
}

/* True when `ca` issued `x`: names/AKI agree and the signature verifies. */
static bool issued_by(X509 *ca, X509 *x)
{
    if (X509_check_issued(ca, x) != X509_V_OK)
        return false;
    EVP_PKEY *k = X509_get0_pubkey(ca);
    return k && X509_verify(x, k) == 1;
}

int bacsc_cari_verify_issuer(bacsc_cari *c, const unsigned char *const *cas, const size_t *ca_lens,
                             size_t n_cas)
{
    if (!c || (n_cas && (!cas || !ca_lens)))
        return BACSC_ERR_INVALID_ARG;
    X509 **ca = calloc(n_cas ? n_cas : 1, sizeof *ca);
    if (!ca)
        return BACSC_ERR_NOMEM;
    int rc = BACSC_OK;
    for (size_t i = 0; i < n_cas; i++)
        if (!(ca[i] = cari_x509_from_pem_or_der(cas[i], ca_lens[i])))
            rc = BACSC_ERR_MALFORMED;
    int flagged = 0;
    for (size_t k = 0; k < c->n_entries && rc == BACSC_OK; k++) {
        bacsc_cari_entry *e = &c->entries[k];
        if (e->error || !e->der ||
            (e->type != BACSC_CARI_ENTRY_CERTIFICATE && e->type != BACSC_CARI_ENTRY_ISSUER))
            continue;
        const unsigned char *p = e->der;
        X509 *x = d2i_X509(NULL, &p, (long)e->der_len);
        bool ok = false;
        for (size_t i = 0; x && i < n_cas && !ok; i++)
            ok = (e->type == BACSC_CARI_ENTRY_ISSUER && X509_cmp(ca[i], x) == 0) || issued_by(ca[i], x);
        X509_free(x);
        e->issuer_verified = ok;
        if (!ok) {
            cari_entry_fail(e, BACSC_ERR_POLICY, "signed by a different CA (issuer %s)",
                            e->issuer ? e->issuer : "unknown");
            flagged++;
        }
    }
    for (size_t i = 0; i < n_cas; i++)
        X509_free(ca[i]);
    free(ca);
    return rc == BACSC_OK ? flagged : rc;
}
