/*
 * support_sitesim.c — simulated commissionable devices on an in-memory
 * network (support_sitesim.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bacsc/apdu.h"
#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/pki.h"
#include "bacsc/renewal.h"
#include "bacsc/services.h"
#include "support_sitesim.h"

#define ERR_CODE_INVALID_CONFIGURATION_DATA 46

typedef struct simframe {
    bacsc_address src, dest;
    uint8_t data[1600];
    size_t len;
} simframe;

/* ---- network ------------------------------------------------------------------ */

static int enqueue(sitesim *s, const uint8_t *src_mac, const bacsc_address *dest,
                   const uint8_t *npdu, size_t len)
{
    if (len > sizeof s->q[0].data)
        return BACSC_ERR_LIMIT;
    if (s->qlen == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 256;
        simframe *nq = malloc(cap * sizeof *nq);
        if (!nq)
            return BACSC_ERR_NOMEM;
        for (size_t i = 0; i < s->qlen; i++)
            nq[i] = s->q[(s->qhead + i) % s->qcap];
        free(s->q);
        s->q = nq;
        s->qhead = 0;
        s->qcap = cap;
    }
    simframe *f = &s->q[(s->qhead + s->qlen) % s->qcap];
    f->src = bacsc_address_local(src_mac, 6);
    f->dest = *dest;
    memcpy(f->data, npdu, len);
    f->len = len;
    s->qlen++;
    return BACSC_OK;
}

static int dev_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    simdev *d = user;
    if (d->offline) {
        d->sim->dropped++;
        return BACSC_OK;
    }
    return enqueue(d->sim, d->mac, dest, npdu, len);
}

static int client_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    sitesim *s = user;
    return enqueue(s, s->client_mac, dest, npdu, len);
}

static simdev *dev_by_mac(sitesim *s, const uint8_t *mac)
{
    if (mac[0] != 0x02 || mac[1] != 0x00)
        return NULL;
    size_t i = ((size_t)mac[4] << 8) | mac[5];
    return i < s->n && memcmp(s->devs[i].mac, mac, 6) == 0 ? &s->devs[i] : NULL;
}

static int sim_poll(void *user, uint64_t timeout_us)
{
    sitesim *s = user;
    if (s->qlen == 0) {
        s->now += timeout_us ? timeout_us : 1;
        return BACSC_OK;
    }
    while (s->qlen) {
        simframe f = s->q[s->qhead];
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        s->delivered++;
        if (f.dest.mac_len == 0) {
            bool from_client = memcmp(f.src.mac, s->client_mac, 6) == 0;
            if (!from_client) {
                bacsc_client_handle_npdu(s->cl, &f.src, f.data, f.len, s->now);
                continue; /* devices ignore each other's I-Am */
            }
            for (size_t i = 0; i < s->n; i++)
                if (!s->devs[i].offline)
                    bacsc_device_handle_npdu(s->devs[i].dev, &f.src, f.data, f.len, s->now);
        } else if (memcmp(f.dest.mac, s->client_mac, 6) == 0) {
            bacsc_client_handle_npdu(s->cl, &f.src, f.data, f.len, s->now);
        } else {
            simdev *d = dev_by_mac(s, f.dest.mac);
            if (d && !d->offline && s->now >= d->silent_until)
                bacsc_device_handle_npdu(d->dev, &f.src, f.data, f.len, s->now);
            else
                s->dropped++;
        }
    }
    s->now += 100; /* a little time passes per batch */
    return BACSC_OK;
}

static uint64_t sim_now(void *user)
{
    return ((sitesim *)user)->now;
}

/* ---- certificate checks ---------------------------------------------------------- */

static X509 *parse_cert(const uint8_t *data, size_t len)
{
    if (!data || !len)
        return NULL;
    const unsigned char *p = data;
    X509 *x = data[0] == 0x30 ? d2i_X509(NULL, &p, (long)len) : NULL;
    if (!x) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    }
    return x;
}

/* Check the pending set; returns 0 (valid) or -1 with `why`. *uses_new set
 * when the certificate is for the new key. */
static int check_pending(simdev *d, char *why, size_t cap, bool *uses_new)
{
    *uses_new = false;
    if (d->corrupt_validation) {
        snprintf(why, cap, "key-mismatch: simulated failure");
        return -1;
    }
    if (!d->pend_len[0]) {
        snprintf(why, cap, "no-certificate");
        return -1;
    }
    X509 *x = parse_cert(d->pend[0], d->pend_len[0]);
    if (!x) {
        snprintf(why, cap, "malformed-certificate");
        return -1;
    }
    int rc = 0;
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (d->new_key && EVP_PKEY_eq(pk, d->new_key) == 1)
        *uses_new = true;
    else if (!d->key || EVP_PKEY_eq(pk, d->key) != 1) {
        snprintf(why, cap, "key-mismatch");
        rc = -1;
    }
    if (rc == 0 && (X509_cmp_time(X509_get0_notAfter(x), NULL) < 0)) {
        snprintf(why, cap, "expired");
        rc = -1;
    }
    if (rc == 0) {
        bool ok = false, any = false;
        for (int i = 1; i <= 2 && !ok; i++) {
            X509 *ca = parse_cert(d->pend[i], d->pend_len[i]);
            if (!ca)
                continue;
            any = true;
            ok = X509_verify(x, X509_get0_pubkey(ca)) == 1;
            X509_free(ca);
        }
        if (!ok) {
            snprintf(why, cap, any ? "unknown-issuer" : "no-issuer");
            rc = -1;
        }
    }
    if (rc == 0)
        snprintf(why, cap, "valid");
    X509_free(x);
    return rc;
}

/* ---- device callbacks ------------------------------------------------------------ */

static void set_blob(uint8_t **p, size_t *plen, const uint8_t *data, size_t len)
{
    free(*p);
    *p = NULL;
    *plen = 0;
    if (len) {
        *p = malloc(len);
        memcpy(*p, data, len);
        *plen = len;
    }
}


/* As bacsc devices do (bacsc/renewal.h): a device holding a certificate
 * signs its new CSR with the current key. */
static void sim_renewal_proof(simdev *d, EVP_PKEY *new_key, uint8_t **der, size_t *len)
{
    uint8_t *old = NULL, *out = NULL;
    size_t old_len = 0, out_len = 0;
    if (!d->key || !d->act_len[0] ||
        bacsc_pki_to_der(BACSC_PKI_CERT, d->act[0], d->act_len[0], &old, &old_len) != 0)
        return;
    if (bacsc_renewal_add_proof(*der, *len, new_key, d->key, old, old_len, &out, &out_len) == 0) {
        free(*der);
        *der = out;
        *len = out_len;
    }
    free(old);
}

/* Test hook: another party's change lands together with this write. */
static int sim_check_write(void *user, bacsc_object *port, uint32_t property, const void *pending,
                           bacsc_error *err)
{
    (void)port;
    (void)err;
    simdev *d = user;
    if (d->stage_failover && property == BACSC_PROP_OUT_OF_SERVICE) {
        bacsc_sc_port_config *c = (bacsc_sc_port_config *)pending;
        snprintf(c->failover_hub_uri, sizeof c->failover_hub_uri, "%s", d->stage_failover);
    }
    return 0;
}

static int sim_command(void *user, bacsc_object *port, uint8_t cmd, bacsc_error *err)
{
    simdev *d = user;
    char why[160];
    if (cmd == BACSC_NPC_GENERATE_CSR_FILE && d->csr_junk) {
        set_blob(&d->pend[3], &d->pend_len[3], d->csr_junk, d->csr_junk_len);
        return 1;
    }
    if (cmd == BACSC_NPC_GENERATE_CSR_FILE) {
        EVP_PKEY *k = NULL;
        if (bacsc_pki_keygen(BACSC_KEY_EC_P256, &k) != 0)
            goto fail_dev;
        char cn[200], uuid[40];
        const bacsc_sc_port_config *pc = bacsc_netport_sc_pending(port);
        if (pc && pc->site_domain[0])
            snprintf(cn, sizeof cn, "%s.%s", d->name, pc->site_domain);
        else
            snprintf(cn, sizeof cn, "%s", d->name);
        const uint8_t *u = d->uuid;
        snprintf(uuid, sizeof uuid,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
                 u[14], u[15]);
        bacsc_cert_spec spec = {.cn = cn, .device_uuid = uuid};
        uint8_t *der = NULL;
        size_t len = 0;
        if (bacsc_pki_make_csr(k, &spec, false, &der, &len) != 0) {
            EVP_PKEY_free(k);
            goto fail_dev;
        }
        sim_renewal_proof(d, k, &der, &len);
        /* PEM, as the device side stores it */
        BIO *b = BIO_new(BIO_s_mem());
        const unsigned char *p = der;
        X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
        PEM_write_bio_X509_REQ(b, req);
        char *pem;
        long pl = BIO_get_mem_data(b, &pem);
        set_blob(&d->pend[3], &d->pend_len[3], (const uint8_t *)pem, (size_t)pl);
        BIO_free(b);
        X509_REQ_free(req);
        free(der);
        EVP_PKEY_free(d->new_key);
        d->new_key = k;
        return 1;
    }
    if (cmd == BACSC_NPC_VALIDATE_CHANGES) {
        bool uses_new;
        int rc = check_pending(d, why, sizeof why, &uses_new);
        bacsc_netport_sc_set_validation_result(port, why);
        if (rc < 0)
            return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                    BACSC_EC_VALUE_OUT_OF_RANGE);
        return 1;
    }
    return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
fail_dev:
    return bacsc_prop_error(err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_OTHER);
}

static int sim_reinit(void *user, bacsc_device *dev, uint8_t state, bacsc_error *err)
{
    simdev *d = user;
    (void)dev;
    if (state != BACSC_REINIT_ACTIVATE_CHANGES)
        return 0;
    const bacsc_sc_port_config *sc = bacsc_netport_sc_pending(d->sc);
    const bacsc_ip_port_config *ip = bacsc_netport_ip_pending(d->ip);
    char why[160] = "";
    bool uses_new = false;
    bool certs_changed = false;
    for (int i = 0; i < 3; i++)
        if (d->pend_len[i] != d->act_len[i] ||
            (d->pend_len[i] && memcmp(d->pend[i], d->act[i], d->pend_len[i]) != 0))
            certs_changed = true;
    if (sc->out_of_service && ip->out_of_service)
        snprintf(why, sizeof why, "no-port-in-service");
    else if ((!sc->out_of_service || certs_changed) && d->pend_len[0] &&
             check_pending(d, why, sizeof why, &uses_new) < 0)
        ; /* why set */
    else if (!sc->out_of_service && !d->pend_len[0])
        snprintf(why, sizeof why, "no-certificate");
    else if (!sc->out_of_service && !sc->primary_hub_uri[0])
        snprintf(why, sizeof why, "no-hub-uri");
    else
        why[0] = 0;
    if (why[0] && strcmp(why, "valid") != 0) {
        bacsc_netport_sc_set_validation_result(d->sc, why);
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_DEVICE,
                                ERR_CODE_INVALID_CONFIGURATION_DATA);
    }
    for (int i = 0; i < 3; i++)
        set_blob(&d->act[i], &d->act_len[i], d->pend[i], d->pend_len[i]);
    if (uses_new) {
        EVP_PKEY_free(d->key);
        d->key = d->new_key;
        d->new_key = NULL;
    }
    bool sc_on = !sc->out_of_service, ip_on = !ip->out_of_service;
    d->mode = sc_on && ip_on ? BACSC_SITE_MODE_DUAL
              : sc_on        ? BACSC_SITE_MODE_SC
                             : BACSC_SITE_MODE_IP;
    bacsc_netport_sc_changes_applied(d->sc);
    bacsc_netport_ip_changes_applied(d->ip);
    d->activations++;
    if (d->silent_after_activation_us)
        d->silent_until = d->sim->now + d->silent_after_activation_us;
    return 0;
}

/* File storage: instance 1..4 → index 0..3; the pending set. */
static int f_size(void *user, uint32_t inst, uint64_t *size)
{
    simdev *d = user;
    if (inst < 1 || inst > 4)
        return BACSC_ERR_NOT_FOUND;
    *size = d->pend_len[inst - 1];
    return 0;
}

static int f_read(void *user, uint32_t inst, uint64_t off, size_t count, uint8_t *buf, size_t *n,
                  bool *eof)
{
    simdev *d = user;
    if (inst < 1 || inst > 4)
        return BACSC_ERR_NOT_FOUND;
    size_t len = d->pend_len[inst - 1];
    if (off > len)
        off = len;
    size_t k = len - off < count ? len - off : count;
    if (k)
        memcpy(buf, d->pend[inst - 1] + off, k);
    *n = k;
    *eof = off + k >= len;
    return 0;
}

static int f_write(void *user, uint32_t inst, uint64_t off, const uint8_t *data, size_t len)
{
    simdev *d = user;
    if (inst < 1 || inst > 3)
        return BACSC_ERR_POLICY;
    size_t i = inst - 1;
    if (off == 0) {
        if (!len || !(data[0] == 0x30 || data[0] == '-'))
            return BACSC_ERR_MALFORMED;
        set_blob(&d->pend[i], &d->pend_len[i], data, len);
    } else {
        uint8_t *nb = realloc(d->pend[i], off + len);
        if (!nb)
            return BACSC_ERR_NOMEM;
        memcpy(nb + off, data, len);
        d->pend[i] = nb;
        d->pend_len[i] = off + len;
    }
    if (i == 0 && d->stage_issuer2)
        set_blob(&d->pend[2], &d->pend_len[2], d->stage_issuer2, d->stage_issuer2_len);
    d->file_writes++;
    if (d->offline_after_writes && d->file_writes >= d->offline_after_writes)
        d->offline = true;
    return 0;
}

static int f_set_size(void *user, uint32_t inst, uint64_t size)
{
    simdev *d = user;
    if (inst < 1 || inst > 3)
        return BACSC_ERR_POLICY;
    if (size != 0)
        return BACSC_ERR_POLICY;
    set_blob(&d->pend[inst - 1], &d->pend_len[inst - 1], NULL, 0);
    return 0;
}

static void dev_setup(sitesim *s, simdev *d, uint32_t instance, size_t index)
{
    d->sim = s;
    d->instance = instance;
    d->index = index;
    uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, (uint8_t)(index >> 8), (uint8_t)index};
    memcpy(d->mac, mac, 6);
    snprintf(d->name, sizeof d->name, "dev-%u", (unsigned)instance);
    for (int i = 0; i < 16; i++)
        d->uuid[i] = (uint8_t)(instance * 31u + (unsigned)i * 7u);
    /* the instance in full, so every device's UUID differs */
    d->uuid[12] = (uint8_t)(instance >> 24);
    d->uuid[13] = (uint8_t)(instance >> 16);
    d->uuid[14] = (uint8_t)(instance >> 8);
    d->uuid[15] = (uint8_t)instance;
    d->uuid[6] = (uint8_t)((d->uuid[6] & 0x0F) | 0x40);
    d->uuid[8] = (uint8_t)((d->uuid[8] & 0x3F) | 0x80);
    d->mode = BACSC_SITE_MODE_IP;
    bacsc_device_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.instance = instance;
    cfg.name = d->name;
    memcpy(cfg.uuid, d->uuid, 16);
    cfg.link.send = dev_send;
    cfg.link.user = d;
    cfg.cb.reinitialize = sim_reinit;
    cfg.cb.user = d;
    if (bacsc_device_new(&cfg, &d->dev) != BACSC_OK)
        abort();
    bacsc_sc_port_config sc;
    bacsc_sc_port_config_defaults(&sc);
    sc.operational_certificate_file = 1;
    sc.issuer_certificate_files[0] = 2;
    sc.issuer_certificate_files[1] = 3;
    sc.certificate_signing_request_file = 4;
    sc.out_of_service = true;
    bacsc_netport_callbacks cb = {.command = sim_command, .user = d, .check_write = sim_check_write};
    if (bacsc_device_add_netport_sc(d->dev, 1, "sc-port", &sc, &cb, &d->sc) != BACSC_OK)
        abort();
    bacsc_ip_port_config ip = {.ip = {127, 0, 0, 1}, .mask = {255, 0, 0, 0},
                               .udp_port = (uint16_t)(47808 + index)};
    if (bacsc_device_add_netport_ip(d->dev, 2, "ip-port", &ip, NULL, &d->ip) != BACSC_OK)
        abort();
    bacsc_file_ops ops = {f_size, f_read, f_write, f_set_size, d, NULL};
    static const char *const names[] = {"operational-certificate", "issuer-1", "issuer-2", "csr"};
    for (uint32_t f = 1; f <= 4; f++)
        if (bacsc_device_add_file(d->dev, f, names[f - 1], "application/x-pem-file", f == 4, true,
                                  &ops, NULL) != BACSC_OK)
            abort();
}

sitesim *sitesim_new(size_t n, uint32_t first)
{
    sitesim *s = calloc(1, sizeof *s);
    s->devs = calloc(n, sizeof *s->devs);
    s->n = n;
    s->now = 1000000;
    static const uint8_t cm[6] = {0x02, 0xff, 0xff, 0xff, 0xff, 0x01};
    memcpy(s->client_mac, cm, 6);
    for (size_t i = 0; i < n; i++)
        dev_setup(s, &s->devs[i], first + (uint32_t)i, i);
    bacsc_client_config cc;
    memset(&cc, 0, sizeof cc);
    cc.link.send = client_send;
    cc.link.user = s;
    cc.apdu_timeout_us = 500000;
    cc.retries = 2;
    cc.retries_set = true;
    cc.max_pending = 1024;
    cc.max_devices = n + 16;
    if (bacsc_client_new(&cc, &s->cl) != BACSC_OK)
        abort();
    s->io.client = s->cl;
    s->io.poll = sim_poll;
    s->io.now = sim_now;
    s->io.user = s;
    return s;
}

void sitesim_free(sitesim *s)
{
    if (!s)
        return;
    bacsc_client_free(s->cl);
    for (size_t i = 0; i < s->n; i++) {
        simdev *d = &s->devs[i];
        bacsc_device_free(d->dev);
        EVP_PKEY_free(d->key);
        EVP_PKEY_free(d->new_key);
        for (int k = 0; k < 4; k++) {
            free(d->pend[k]);
            free(d->act[k]);
        }
    }
    free(s->devs);
    free(s->q);
    free(s);
}

simdev *sitesim_dev(sitesim *s, uint32_t instance)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->devs[i].instance == instance)
            return &s->devs[i];
    return NULL;
}

const bacsc_site_io *sitesim_io(sitesim *s)
{
    return &s->io;
}

bacsc_address sitesim_addr(const simdev *d)
{
    return bacsc_address_local(d->mac, 6);
}

size_t sitesim_discover(sitesim *s, bacsc_site_found *found, size_t cap)
{
    bacsc_whois w = {0};
    bacsc_client_clear_devices(s->cl);
    bacsc_client_whois(s->cl, NULL, &w, s->now);
    sim_poll(s, 0);
    size_t n = bacsc_client_device_count(s->cl), k = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        const bacsc_client_device *cd = bacsc_client_device_at(s->cl, i);
        found[k].instance = cd->instance;
        found[k].address = cd->address;
        found[k].kind = BACSC_DATALINK_ANY;
        k++;
    }
    return k;
}

/* ---- the test CA ------------------------------------------------------------------ */

void simca_init(simca *ca, const char *name)
{
    memset(ca, 0, sizeof *ca);
    if (bacsc_pki_keygen(BACSC_KEY_EC_P256, &ca->key) != 0)
        abort();
    X509 *x = NULL;
    if (bacsc_pki_make_ca_cert(ca->key, name, NULL, 3650, &x) != 0)
        abort();
    ca->cert = x;
    bacsc_signer *sg = NULL;
    if (bacsc_signer_new(x, ca->key, &sg) != 0)
        abort();
    ca->signer = sg;
    unsigned char *buf = NULL;
    int n = i2d_X509(x, &buf);
    ca->der = malloc((size_t)n);
    memcpy(ca->der, buf, (size_t)n);
    ca->der_len = (size_t)n;
    OPENSSL_free(buf);
}

void simca_free(simca *ca)
{
    bacsc_signer_free(ca->signer);
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca->der);
    memset(ca, 0, sizeof *ca);
}

int simca_sign_file(simca *ca, const char *request, const char *response, int validity_days)
{
    bacsc_cari *req = NULL;
    if (bacsc_cari_read_file(request, NULL, &req) != BACSC_OK) {
        bacsc_cari_free(req);
        return -1;
    }
    bacsc_cari_writer *w = NULL;
    bacsc_cari_writer_new(BACSC_CARI_RESPONSE, req->site, NULL, &w);
    bacsc_cari_writer_set_request_batch(w, req->batch_id);
    int count = 0;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < req->n_entries; i++) {
        bacsc_cari_entry *e = &req->entries[i];
        if (e->error || e->type != BACSC_CARI_ENTRY_CSR)
            continue;
        const unsigned char *p = e->der;
        X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)e->der_len);
        bacsc_carry carry = {.uuid = true};
        X509 *x = NULL;
        int days = validity_days > 0 ? validity_days : 1;
        int64_t at = validity_days > 0 ? now : now - 10 * 86400;
        if (bacsc_signer_issue_csr(ca->signer, r, &carry, days, at, NULL, &x) == 0) {
            unsigned char *der = NULL;
            int n = i2d_X509(x, &der);
            bacsc_cari_writer_add_issued(w, der, (size_t)n, e->fingerprint, NULL, &e->device,
                                         e->request_id, NULL, 0);
            OPENSSL_free(der);
            X509_free(x);
            count++;
        }
        X509_REQ_free(r);
    }
    bacsc_cari_writer_add_issuer(w, ca->der, ca->der_len, NULL, NULL, 0);
    int rc = bacsc_cari_writer_write_file(w, response, NULL);
    bacsc_cari_writer_free(w);
    bacsc_cari_free(req);
    return rc == BACSC_OK ? count : -1;
}
