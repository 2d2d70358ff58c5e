/*
 * web_certcache.c — what the Devices page needs to know about a device's
 * certificate (validity, issuer, signed by the site CA), computed once per
 * distinct certificate and kept by its SHA-256: the signature check against
 * the site CA costs far more than everything else of a device row, and
 * certificates change rarely. The cache is flushed when the site CA changes.
 * Used with app->mu held.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bacsc/error.h"
#include "web/web.h"

typedef struct slot {
    bool used;
    unsigned char key[32];
    web_cert_facts facts;
} slot;

struct web_cert_cache {
    unsigned char ca_fp[32];
    slot *slots;
    size_t cap, n;
};

static void sha256(const unsigned char *p, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static slot *find(web_cert_cache *c, const unsigned char key[32])
{
    size_t i;
    memcpy(&i, key, sizeof i);
    for (i %= c->cap;; i = (i + 1) % c->cap)
        if (!c->slots[i].used || !memcmp(c->slots[i].key, key, 32))
            return &c->slots[i];
}

static int grow(web_cert_cache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 4096;
    slot *old = c->slots;
    size_t oldcap = c->cap;
    if (!(c->slots = calloc(cap, sizeof *c->slots))) {
        c->slots = old;
        return BACSC_ERR_NOMEM;
    }
    c->cap = cap;
    c->n = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].used) {
            *find(c, old[i].key) = old[i];
            c->n++;
        }
    free(old);
    return BACSC_OK;
}

void web_cert_cache_free(web_cert_cache *c)
{
    if (c) {
        free(c->slots);
        free(c);
    }
}

int web_cert_facts_get(web_app *app, const bacsc_site_settings *st, const bacsc_site_device *d,
                       web_cert_facts *out)
{
    memset(out, 0, sizeof *out);
    if (!d->cert_der || !d->cert_len)
        return BACSC_ERR_NOT_FOUND;
    web_cert_cache *c = app->certs;
    if (!c && !(c = app->certs = calloc(1, sizeof *c)))
        return BACSC_ERR_NOMEM;
    unsigned char ca_fp[32] = {0};
    if (st && st->ca_der)
        sha256(st->ca_der, st->ca_len, ca_fp);
    if (memcmp(ca_fp, c->ca_fp, 32) != 0) { /* another site CA: forget everything */
        free(c->slots);
        c->slots = NULL;
        c->cap = c->n = 0;
        memcpy(c->ca_fp, ca_fp, 32);
    }
    if ((c->n + 1) * 2 > c->cap && grow(c) != BACSC_OK)
        return BACSC_ERR_NOMEM;
    unsigned char key[32];
    sha256(d->cert_der, d->cert_len, key);
    slot *s = find(c, key);
    if (!s->used) {
        bacsc_site_device tmp = *d; /* the certificate alone */
        tmp.csr_der = NULL;
        tmp.csr_len = 0;
        bacsc_site_cert_info info;
        int rc = bacsc_site_cert_status(st, &tmp, 0, 0, &info);
        s->used = true;
        memcpy(s->key, key, 32);
        s->facts.readable = rc == BACSC_OK;
        s->facts.site_ca = info.site_ca;
        s->facts.not_before = info.not_before;
        s->facts.not_after = info.not_after;
        memcpy(s->facts.issuer, info.issuer, sizeof s->facts.issuer);
        c->n++;
    }
    *out = s->facts;
    return BACSC_OK;
}

int web_cert_status(const web_cert_facts *f, const bacsc_site_device *d, int64_t now,
                    unsigned expiring_days)
{
    if (d->csr_der && d->csr_len)
        return BACSC_SITE_CERT_CSR_PENDING;
    if (!d->cert_der || !d->cert_len || !f->readable)
        return BACSC_SITE_CERT_NONE;
    if (!f->site_ca)
        return BACSC_SITE_CERT_OTHER_CA;
    if (now > f->not_after || now < f->not_before)
        return BACSC_SITE_CERT_EXPIRED;
    if (now + (int64_t)expiring_days * 86400 > f->not_after)
        return BACSC_SITE_CERT_EXPIRING;
    return BACSC_SITE_CERT_VALID;
}
