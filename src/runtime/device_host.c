/*
 * device_host.c — many commissionable devices on one event loop
 * (bacsc/device_host.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "bacsc/device_host.h"
#include "bacsc/device_state.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/pki.h"
#include "bacsc/tls.h"
#include "runtime_internal.h"

enum { RX_NONE = 0, RX_IP = 1, RX_SC = 2 };

typedef struct hdev {
    bacsc_device_host *h;
    unsigned idx;
    uint32_t instance;
    char name[BACSC_DEVICE_NAME_MAX + 1];
    bacsc_device *dev;
    bacsc_commission *cm;
    bacsc_devrt *rt;
    bacsc_bip_link *link;
    bacsc_bip_addr bip;              /* configured address */
    bool ip_on, sc_on;               /* running */
    int rx;                          /* where the request being handled came from */
    bool switch_pending;             /* apply the active mode after the ACK */
    bool crl_only;                   /* ... and only the CRLs changed: reload, no restart */
    char tls_dir[4200];
    uint8_t uuid[16];
} hdev;

struct bacsc_device_host {
    bacsc_device_host_config cfg;
    bacsc_devstate *st;
    hdev *devs;
    unsigned count;
    bool switch_deferred;
    char prefix[32];
    char domain[BACSC_DEVICE_STRING_MAX + 1];
    char password[BACSC_REINIT_PASSWORD_MAX + 1];
    rt_password pw;                  /* what is checked: the stored hash */
    char primary[BACSC_URI_MAX], failover[BACSC_URI_MAX];
    bacsc_timer test_kill;           /* BACSC_TEST_KILL_IN_ACTIVATION=after-switch */
};

/* ---- who may change the device (docs/security.md) ---------------------------------- */

static int hd_check_password(void *user, const uint8_t *pw, size_t len)
{
    hdev *d = user;
    return rt_password_check(&d->h->pw, pw, len);
}

static void hd_security_event(void *user, const bacsc_address *src, const char *what)
{
    hdev *d = user;
    char a[BACSC_ADDRESS_STRLEN];
    BACSC_WARN("device %u: %s (from %s)", (unsigned)d->instance, what,
               bacsc_address_format(src, d->rx == RX_SC ? BACSC_DATALINK_SC : BACSC_DATALINK_BIP,
                                    a, sizeof a));
}

static bool hd_locked(void *user)
{
    hdev *d = user;
    return rt_commissioning_locked(d->h->cfg.state_dir);
}

/* ---- datalink ------------------------------------------------------------------- */

static int hd_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    hdev *d = user;
    bacsc_device_host *h = d->h;
    int rc = BACSC_ERR_STATE;
    if ((d->rx == RX_IP || d->rx == RX_NONE) && d->link)
        rc = bacsc_bip_link_send(d->link, dest, npdu, len);
    if ((d->rx == RX_SC || d->rx == RX_NONE) && d->sc_on && h->cfg.sc.send) {
        int r2 = h->cfg.sc.send(h->cfg.sc.user, h, d->idx, dest, npdu, len);
        if (rc != BACSC_OK)
            rc = r2;
    }
    return rc;
}

static void hd_bip_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                        const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    (void)link;
    hdev *d = user;
    d->rx = RX_IP;
    bacsc_device_handle_npdu_rx(d->dev, src, npdu, len, broadcast, now);
    d->rx = RX_NONE;
}

int bacsc_device_host_sc_input(bacsc_device_host *h, unsigned idx, const bacsc_address *src,
                               const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    if (h == NULL || idx >= h->count)
        return BACSC_ERR_INVALID_ARG;
    hdev *d = &h->devs[idx];
    d->rx = RX_SC;
    int rc = bacsc_device_handle_npdu_rx(d->dev, src, npdu, len, broadcast, now);
    d->rx = RX_NONE;
    return rc;
}

/* ---- TLS files --------------------------------------------------------------------- */

static int write_certs(const char *path, const bacsc_blob *b)
{
    STACK_OF(X509) *sk = NULL;
    int n = bacsc_pki_certs_parse(b->data, b->len, &sk);
    if (n < 1)
        return BACSC_ERR_MALFORMED;
    X509 *certs[8];
    int k = n < 8 ? n : 8;
    for (int i = 0; i < k; i++)
        certs[i] = sk_X509_value(sk, i);
    int rc = bacsc_pki_cert_write(path, certs, (size_t)k);
    sk_X509_pop_free(sk, X509_free);
    return rc;
}

static void rmdir_files(const char *dir)
{
    static const char *const names[] = {"cert.pem", "key.pem", "issuer1.pem", "issuer2.pem",
                                        "crl.pem"};
    char p[4400];
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/*
 * Write the set's TLS files into `dir` and check a client context builds
 * from them. Returns 0 or negative with `detail`.
 */
static int materialize(const char *dir, const bacsc_cert_files *f, EVP_PKEY *key, char *detail,
                       size_t cap)
{
    rmdir_files(dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(detail, cap, "cannot create %s", dir);
        return BACSC_ERR_IO;
    }
    char cert[4400], keyf[4400], iss[2][4400];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(keyf, sizeof keyf, "%s/key.pem", dir);
    bacsc_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.keylog_file = "";
    if (key == NULL || f->opcert.len == 0) {
        snprintf(detail, cap, "no certificate or key");
        return BACSC_ERR_STATE;
    }
    if (write_certs(cert, &f->opcert) != BACSC_OK || bacsc_pki_key_write(keyf, key, NULL) != 0) {
        snprintf(detail, cap, "cannot write the TLS files");
        return BACSC_ERR_IO;
    }
    tc.cert_file = cert;
    tc.key_file = keyf;
    int ni = 0;
    for (int i = 0; i < 2; i++) {
        if (f->issuer[i].len == 0)
            continue;
        snprintf(iss[i], sizeof iss[i], "%s/issuer%d.pem", dir, i + 1);
        if (write_certs(iss[i], &f->issuer[i]) != BACSC_OK) {
            snprintf(detail, cap, "cannot write issuer %d", i + 1);
            return BACSC_ERR_IO;
        }
        tc.issuer_files[ni++] = iss[i];
    }
    char crl[4400];
    if (f->crl.len) {
        snprintf(crl, sizeof crl, "%s/crl.pem", dir);
        if (bacsc_pki_write_file(crl, f->crl.data, f->crl.len, 0600) != BACSC_OK) {
            snprintf(detail, cap, "cannot write the CRL");
            return BACSC_ERR_IO;
        }
        tc.crl_file = crl;
    }
    char err[200] = "";
    bacsc_tls_ctx *ctx = bacsc_tls_ctx_new(&tc, false, err, sizeof err);
    if (ctx == NULL) {
        snprintf(detail, cap, "TLS: %s", err);
        return BACSC_ERR_CRYPTO;
    }
    bacsc_tls_ctx_free(ctx);
    return BACSC_OK;
}

static void tls_paths(const hdev *d, bacsc_device_host_sc *sc, char (*buf)[4400])
{
    snprintf(buf[4], 4400, "%s/crl.pem", d->tls_dir);
    sc->crl_file = access(buf[4], R_OK) == 0 ? buf[4] : NULL;
    snprintf(buf[0], 4400, "%s/cert.pem", d->tls_dir);
    snprintf(buf[1], 4400, "%s/key.pem", d->tls_dir);
    snprintf(buf[2], 4400, "%s/issuer1.pem", d->tls_dir);
    snprintf(buf[3], 4400, "%s/issuer2.pem", d->tls_dir);
    sc->cert_file = buf[0];
    sc->key_file = buf[1];
    sc->issuer_files[0] = access(buf[2], R_OK) == 0 ? buf[2] : NULL;
    sc->issuer_files[1] = access(buf[3], R_OK) == 0 ? buf[3] : NULL;
    if (sc->issuer_files[0] == NULL) {
        sc->issuer_files[0] = sc->issuer_files[1];
        sc->issuer_files[1] = NULL;
    }
}

static bool same_blob(const bacsc_blob *a, const bacsc_blob *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Does `next` differ from the running state `cur` in its CRLs only? */
static bool only_crls_changed(const bacsc_commission_data *cur, const bacsc_commission_data *next)
{
    if (next->active_key_is_new || same_blob(&cur->active.crl, &next->active.crl) ||
        !same_blob(&cur->active.opcert, &next->active.opcert))
        return false;
    for (int i = 0; i < BACSC_ISSUER_FILES_MAX; i++)
        if (!same_blob(&cur->active.issuer[i], &next->active.issuer[i]))
            return false;
    return memcmp(&cur->sc_active, &next->sc_active, sizeof cur->sc_active) == 0 &&
           memcmp(&cur->ip_active, &next->ip_active, sizeof cur->ip_active) == 0;
}

/* The runtime's apply hook: build the next TLS set before the state is saved. */
static int hd_apply(void *user, const bacsc_commission_data *next, EVP_PKEY *key, char *detail,
                    size_t cap)
{
    hdev *d = user;
    bool sc_on = !next->sc_active.out_of_service;
    char nd[4300];
    snprintf(nd, sizeof nd, "%s.next", d->tls_dir);
    if (next->active.opcert.len == 0) {
        if (sc_on) {
            snprintf(detail, cap, "no operational certificate");
            return BACSC_ERR_STATE;
        }
        rmdir_files(nd);
        d->switch_pending = true;
        return BACSC_OK;
    }
    int rc = materialize(nd, &next->active, key, detail, cap);
    if (rc != BACSC_OK) {
        rmdir_files(nd);
        return rc;
    }
    d->crl_only = d->sc_on && sc_on && only_crls_changed(bacsc_commission_state(d->cm), next);
    /* Saved next (by the runtime, right after this returns); we move the
     * files into place at the switch. A crash before that is harmless: the
     * files are rebuilt from the database at start. */
    d->switch_pending = true;
    return BACSC_OK;
}

/* ---- mode switching ------------------------------------------------------------------- */

static int ip_open(hdev *d, char *err, size_t errlen)
{
    bacsc_device_host *h = d->h;
    bacsc_bip_link_config lc;
    memset(&lc, 0, sizeof lc);
    lc.bind = d->bip;
    lc.broadcast = h->cfg.broadcast;
    lc.broadcast_port_count = h->cfg.broadcast_port_count;
    lc.recv = hd_bip_recv;
    lc.user = d;
    int rc = bacsc_bip_link_new(h->cfg.loop, &lc, &d->link);
    if (rc != BACSC_OK) {
        char a[32];
        int e = errno;
        snprintf(err, errlen, "device %u: BACnet/IP %s: %s", (unsigned)d->instance,
                 bacsc_bip_addr_format(&d->bip, a, sizeof a),
                 e == EADDRINUSE ? "port in use" : strerror(e));
        d->link = NULL;
        return rc;
    }
    d->ip_on = true;
    return BACSC_OK;
}

static void hd_refresh(void *user, bacsc_object *port, bacsc_sc_port_state *st)
{
    (void)port;
    hdev *d = user;
    bacsc_device_host *h = d->h;
    if (d->sc_on && h->cfg.sc.refresh)
        h->cfg.sc.refresh(h->cfg.sc.user, h, d->idx, st);
}

static void sc_start(hdev *d)
{
    bacsc_device_host *h = d->h;
    bacsc_object *port = bacsc_commission_sc_port(d->cm);
    if (h->cfg.sc.start == NULL) {
        d->sc_on = true;
        return;
    }
    bacsc_device_host_sc sc;
    memset(&sc, 0, sizeof sc);
    char paths[5][4400];
    tls_paths(d, &sc, paths);
    sc.port = bacsc_netport_sc_active(port);
    sc.port_obj = port;
    sc.instance = d->instance;
    memcpy(sc.uuid, d->uuid, 16);
    if (bacsc_devstate_vmac(h->st, d->instance, sc.vmac) != BACSC_OK)
        BACSC_WARN("device %u: cannot keep the VMAC in the state; a random one is used",
                   (unsigned)d->instance);
    if (h->cfg.sc.start(h->cfg.sc.user, h, d->idx, &sc) < 0) {
        BACSC_WARN("device %u: BACnet/SC did not start", (unsigned)d->instance);
        bacsc_sc_port_state *s = bacsc_netport_sc_state(port);
        if (s)
            s->reliability = 7;   /* unreliable-other */
    }
    d->sc_on = true;
}

/* Only the CRLs changed: the SC side reloads its TLS files (sc.reload). */
static int sc_reload(hdev *d)
{
    bacsc_device_host *h = d->h;
    if (!d->sc_on || h->cfg.sc.reload == NULL)
        return BACSC_ERR_STATE;
    bacsc_device_host_sc sc;
    memset(&sc, 0, sizeof sc);
    char paths[5][4400];
    tls_paths(d, &sc, paths);
    sc.port = bacsc_netport_sc_active(bacsc_commission_sc_port(d->cm));
    sc.instance = d->instance;
    memcpy(sc.uuid, d->uuid, 16);
    return h->cfg.sc.reload(h->cfg.sc.user, h, d->idx, &sc) < 0 ? BACSC_ERR_STATE : BACSC_OK;
}

static void sc_stop(hdev *d)
{
    bacsc_device_host *h = d->h;
    if (d->sc_on && h->cfg.sc.stop)
        h->cfg.sc.stop(h->cfg.sc.user, h, d->idx);
    d->sc_on = false;
}

/* Make the running datalinks match the active configuration. */
static void apply_mode(hdev *d, bool restart_sc)
{
    const bacsc_commission_data *s = bacsc_commission_state(d->cm);
    bool want_ip = !s->ip_active.out_of_service;
    bool want_sc = !s->sc_active.out_of_service;
    char err[200];
    if (want_ip && !d->ip_on && ip_open(d, err, sizeof err) != BACSC_OK)
        BACSC_ERROR("device %u: cannot open BACnet/IP: %s", (unsigned)d->instance, err);
    if (!want_ip && d->ip_on) {
        bacsc_bip_link_free(d->link);
        d->link = NULL;
        d->ip_on = false;
    }
    if (want_sc && (!d->sc_on || restart_sc)) {
        if (d->sc_on)
            sc_stop(d);
        sc_start(d);
    }
    if (!want_sc && d->sc_on)
        sc_stop(d);
}

static void move_tls_into_place(hdev *d)
{
    char nd[4300];
    snprintf(nd, sizeof nd, "%s.next", d->tls_dir);
    struct stat sb;
    if (stat(nd, &sb) == 0) {
        rmdir_files(d->tls_dir);
        if (rename(nd, d->tls_dir) < 0)
            BACSC_ERROR("device %u: cannot install TLS files: %s", (unsigned)d->instance,
                        strerror(errno));
    } else {
        rmdir_files(d->tls_dir);
    }
}

/*
 * Testing crash safety with real processes: BACSC_TEST_KILL_IN_ACTIVATION=N
 * kills the process (SIGKILL) at the Nth durable step of an activation
 * (bacsc_devstate_crash_at: 1 next TLS files written, 2 before the state's
 * transaction, 3 inside it, 4 after its commit, 5 after the old key file was
 * removed), or with "after-switch" once the device answered and switched to
 * the new set (300 ms later, so that its answer has left). Unset in normal
 * operation.
 */
static unsigned test_kill_step(bool *after_switch)
{
    const char *e = getenv("BACSC_TEST_KILL_IN_ACTIVATION");
    *after_switch = e && strcmp(e, "after-switch") == 0;
    return e && !*after_switch ? (unsigned)strtoul(e, NULL, 10) : 0;
}

static void test_kill_now(bacsc_loop *loop, void *user)
{
    (void)loop;
    (void)user;
    kill(getpid(), SIGKILL);
}

static void do_switches(bacsc_loop *loop, void *user)
{
    (void)loop;
    bacsc_device_host *h = user;
    h->switch_deferred = false;
    for (unsigned i = 0; i < h->count; i++) {
        hdev *d = &h->devs[i];
        if (!d->switch_pending)
            continue;
        d->switch_pending = false;
        move_tls_into_place(d);
        if (d->crl_only && sc_reload(d) == BACSC_OK) {
            d->crl_only = false;
            BACSC_INFO("device %u: activated, CRLs reloaded", (unsigned)d->instance);
            continue;
        }
        d->crl_only = false;
        apply_mode(d, true);
        bacsc_device_send_iam(d->dev, NULL, bacsc_loop_now(h->cfg.loop));
        BACSC_INFO("device %u: activated, mode %s", (unsigned)d->instance,
                   bacsc_comm_mode_name(bacsc_commission_mode(d->cm)));
        if (h->cfg.sc.activated)
            h->cfg.sc.activated(h->cfg.sc.user, h, d->idx);
        bool after_switch;
        if (test_kill_step(&after_switch) == 0 && after_switch)
            bacsc_timer_start(h->cfg.loop, &h->test_kill, 300000);
    }
}

static int hd_reinit(void *user, bacsc_device *dev, uint8_t state, bacsc_error *err)
{
    (void)dev;
    hdev *d = user;
    bool after_switch;
    unsigned kill_at = test_kill_step(&after_switch);
    if (state == BACSC_REINIT_ACTIVATE_CHANGES && kill_at)
        bacsc_devstate_crash_at(d->h->st, kill_at);
    int rc = bacsc_commission_reinitialize(d->cm, state, err);
    if (kill_at)
        bacsc_devstate_crash_at(d->h->st, 0);
    if (rc == BACSC_OK && d->switch_pending && !d->h->switch_deferred) {
        /* After the ACK went out: the loop runs deferred callbacks after
         * this I/O batch. */
        if (bacsc_loop_defer(d->h->cfg.loop, do_switches, d->h) == BACSC_OK)
            d->h->switch_deferred = true;
    }
    return rc;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static int hd_init(bacsc_device_host *h, hdev *d, char *err, size_t errlen)
{
    const bacsc_device_host_config *cfg = &h->cfg;
    snprintf(d->name, sizeof d->name, "%s%u", h->prefix, (unsigned)d->instance);
    snprintf(d->tls_dir, sizeof d->tls_dir, "%s/tls/%u", bacsc_devstate_dir(h->st),
             (unsigned)d->instance);
    uint8_t *uuid = d->uuid;
    int rc = bacsc_devstate_uuid(h->st, d->instance, uuid);
    if (rc == BACSC_OK)
        rc = bacsc_devrt_new(h->st, d->instance, &d->rt);
    if (rc != BACSC_OK) {
        snprintf(err, errlen, "device %u: cannot load its state (%s)", (unsigned)d->instance,
                 bacsc_strerror(rc));
        return rc;
    }
    bacsc_devrt_set_apply(d->rt, hd_apply, d);
    bacsc_device_config dc;
    memset(&dc, 0, sizeof dc);
    dc.instance = d->instance;
    dc.name = d->name;
    dc.vendor_id = cfg->vendor_id;
    dc.vendor_name = cfg->vendor_name ? cfg->vendor_name : "bacsc";
    dc.model_name = cfg->model_name ? cfg->model_name : "bacsc simulated device";
    dc.firmware_revision = cfg->firmware_revision ? cfg->firmware_revision : "0.1";
    dc.application_software_version =
        cfg->application_software_version ? cfg->application_software_version : "bacsc";
    dc.location = cfg->location;
    dc.description = cfg->description;
    memcpy(dc.uuid, uuid, 16);
    dc.link.send = hd_send;
    dc.link.user = d;
    dc.cb.reinitialize = hd_reinit;
    dc.cb.check_password = hd_check_password;
    dc.cb.security_event = hd_security_event;
    dc.cb.locked = hd_locked;
    dc.cb.user = d;
    rc = bacsc_device_new(&dc, &d->dev);
    if (rc != BACSC_OK) {
        snprintf(err, errlen, "device %u: %s", (unsigned)d->instance, bacsc_strerror(rc));
        return rc;
    }
    bacsc_commission_data saved;
    bool have = bacsc_devstate_load(h->st, d->instance, &saved) == BACSC_OK;
    bacsc_commission_config cc;
    memset(&cc, 0, sizeof cc);
    cc.dev = d->dev;
    cc.device_name = d->name;
    cc.uuid = uuid;
    cc.has_ip_port = true;
    cc.initial = have ? &saved : NULL;
    bacsc_sc_port_config_defaults(&cc.sc);
    snprintf(cc.sc.primary_hub_uri, sizeof cc.sc.primary_hub_uri, "%s", h->primary);
    snprintf(cc.sc.failover_hub_uri, sizeof cc.sc.failover_hub_uri, "%s", h->failover);
    snprintf(cc.sc.site_domain, sizeof cc.sc.site_domain, "%s", h->domain);
    int mode = cfg->initial_mode == BACSC_MODE_DUAL ? BACSC_MODE_DUAL : BACSC_MODE_IP;
    cc.sc.out_of_service = mode == BACSC_MODE_IP;
    memcpy(cc.ip.ip, d->bip.ip, 4);
    uint8_t mask[4] = {255, 255, 255, 0};
    if (d->bip.ip[0] == 127)
        mask[1] = mask[2] = 0;
    memcpy(cc.ip.mask, mask, 4);
    cc.ip.udp_port = d->bip.port;
    if (have) {
        /* The socket we were told to bind is what the IP port describes. */
        memcpy(saved.ip_active.ip, d->bip.ip, 4);
        saved.ip_active.udp_port = d->bip.port;
        memcpy(saved.ip_pending.ip, d->bip.ip, 4);
        saved.ip_pending.udp_port = d->bip.port;
    }
    cc.ops = bacsc_devrt_ops(d->rt);
    bacsc_netport_callbacks scb = {.refresh = hd_refresh, .user = d};
    cc.sc_cb = &scb;
    rc = bacsc_commission_new(&cc, &d->cm);
    if (have)
        bacsc_commission_data_free(&saved);
    if (rc != BACSC_OK) {
        snprintf(err, errlen, "device %u: %s", (unsigned)d->instance, bacsc_strerror(rc));
        return rc;
    }
    /* Rebuild the TLS files from the database. */
    const bacsc_commission_data *s = bacsc_commission_state(d->cm);
    if (s->active.opcert.len > 0 && bacsc_devrt_key(d->rt)) {
        char detail[200];
        if (materialize(d->tls_dir, &s->active, bacsc_devrt_key(d->rt), detail,
                        sizeof detail) != BACSC_OK)
            BACSC_WARN("device %u: %s", (unsigned)d->instance, detail);
    }
    bool want_ip = !s->ip_active.out_of_service;
    if (want_ip && (rc = ip_open(d, err, errlen)) != BACSC_OK)
        return rc;
    if (!s->sc_active.out_of_service)
        sc_start(d);
    return BACSC_OK;
}

int bacsc_device_host_new(const bacsc_device_host_config *cfg, bacsc_device_host **out,
                          char *err, size_t errlen)
{
    if (cfg == NULL || out == NULL || cfg->loop == NULL || cfg->state_dir == NULL ||
        cfg->count == 0 || cfg->count > 10000 ||
        cfg->first_instance + (uint64_t)cfg->count - 1 > 4194302 ||
        (cfg->bip.port != 0 && (uint32_t)cfg->bip.port + cfg->count - 1 > 65535)) {
        snprintf(err, errlen, "invalid device host configuration");
        return BACSC_ERR_INVALID_ARG;
    }
    if (cfg->password && strlen(cfg->password) > BACSC_REINIT_PASSWORD_MAX) {
        snprintf(err, errlen, "password longer than %d characters", BACSC_REINIT_PASSWORD_MAX);
        return BACSC_ERR_INVALID_ARG;
    }
    bacsc_device_host *h = calloc(1, sizeof *h);
    if (h == NULL)
        return BACSC_ERR_NOMEM;
    h->cfg = *cfg;
    bacsc_timer_init(&h->test_kill, test_kill_now, h);
    snprintf(h->prefix, sizeof h->prefix, "%s", cfg->name_prefix ? cfg->name_prefix : "dev-");
    snprintf(h->domain, sizeof h->domain, "%s", cfg->domain ? cfg->domain : "");
    snprintf(h->password, sizeof h->password, "%s", cfg->password ? cfg->password : "");
    snprintf(h->primary, sizeof h->primary, "%s", cfg->primary_hub_uri ? cfg->primary_hub_uri : "");
    snprintf(h->failover, sizeof h->failover, "%s",
             cfg->failover_hub_uri ? cfg->failover_hub_uri : "");
    int rc = bacsc_devstate_open(cfg->state_dir, &h->st, err, errlen);
    if (rc != BACSC_OK) {
        free(h);
        return rc;
    }
    char shown[BACSC_REINIT_PASSWORD_MAX + 1];
    rc = rt_password_setup(cfg->state_dir, cfg->password, &h->pw, shown, sizeof shown, err,
                           errlen);
    if (rc != BACSC_OK) {
        bacsc_devstate_close(h->st);
        free(h);
        return rc;
    }
    if (shown[0]) {
        /* Factory fresh: shown this once, for the installer's records. */
        BACSC_WARN("device password generated for %s: %s (shown only now; kept hashed in "
                   "%s/password; give it to 'bacsc site' with --password-file)",
                   cfg->state_dir, shown, cfg->state_dir);
        OPENSSL_cleanse(shown, sizeof shown);
    }
    char tdir[4200];
    snprintf(tdir, sizeof tdir, "%s/tls", cfg->state_dir);
    mkdir(tdir, 0700);
    h->devs = calloc(cfg->count, sizeof *h->devs);
    if (h->devs == NULL) {
        bacsc_devstate_close(h->st);
        free(h);
        return BACSC_ERR_NOMEM;
    }
    for (unsigned i = 0; i < cfg->count; i++) {
        hdev *d = &h->devs[i];
        d->h = h;
        d->idx = i;
        d->instance = cfg->first_instance + i;
        d->bip = cfg->bip;
        d->bip.port = cfg->bip.port ? (uint16_t)(cfg->bip.port + i) : 0;
        h->count = i + 1;
        rc = hd_init(h, d, err, errlen);
        if (rc != BACSC_OK) {
            bacsc_device_host_free(h);
            return rc;
        }
        if (d->link) {
            /* Ephemeral port: record what we got. */
            bacsc_bip_link_local(d->link, &d->bip);
            bacsc_ip_port_config ipc = *bacsc_netport_ip_active(bacsc_commission_ip_port(d->cm));
            ipc.udp_port = d->bip.port;
            bacsc_netport_ip_set_config(bacsc_commission_ip_port(d->cm), &ipc);
        }
    }
    uint64_t now = bacsc_loop_now(cfg->loop);
    for (unsigned i = 0; i < h->count; i++)
        bacsc_device_send_iam(h->devs[i].dev, NULL, now);
    *out = h;
    return BACSC_OK;
}

void bacsc_device_host_free(bacsc_device_host *h)
{
    if (h == NULL)
        return;
    bacsc_timer_stop(h->cfg.loop, &h->test_kill);
    for (unsigned i = 0; i < h->count; i++) {
        hdev *d = &h->devs[i];
        sc_stop(d);
        bacsc_bip_link_free(d->link);
        bacsc_device_free(d->dev);
        bacsc_commission_free(d->cm);
        bacsc_devrt_free(d->rt);
    }
    free(h->devs);
    bacsc_devstate_close(h->st);
    free(h);
}

unsigned bacsc_device_host_count(const bacsc_device_host *h)
{
    return h->count;
}

bacsc_device *bacsc_device_host_device(bacsc_device_host *h, unsigned idx)
{
    return idx < h->count ? h->devs[idx].dev : NULL;
}

bacsc_commission *bacsc_device_host_commission(bacsc_device_host *h, unsigned idx)
{
    return idx < h->count ? h->devs[idx].cm : NULL;
}

bacsc_bip_addr bacsc_device_host_bip(const bacsc_device_host *h, unsigned idx)
{
    bacsc_bip_addr a;
    memset(&a, 0, sizeof a);
    if (idx < h->count && h->devs[idx].ip_on)
        a = h->devs[idx].bip;
    return a;
}

int bacsc_device_host_uuid(const bacsc_device_host *h, unsigned idx, uint8_t uuid[16])
{
    if (idx >= h->count)
        return BACSC_ERR_INVALID_ARG;
    memcpy(uuid, h->devs[idx].uuid, 16);
    return BACSC_OK;
}
