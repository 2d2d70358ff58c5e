/*
 * device_runtime.c — the device runtime (bacsc/device_runtime.h): creates
 * the devices (on fixed files, or commissionable from a state directory
 * through bacsc/device_host.h), hosts the hub function, handles signals and
 * the graceful shutdown.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/commission.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "runtime_internal.h"

static void random_uuid(bacsc_uuid *u)
{
    bacsc_io_random(NULL, u->b, sizeof u->b);
    u->b[6] = (uint8_t)((u->b[6] & 0x0F) | 0x40);
    u->b[8] = (uint8_t)((u->b[8] & 0x3F) | 0x80);
}

/* ---- shutdown -------------------------------------------------------------------- */

static bool all_idle(const bacsc_device_runtime *rt)
{
    for (unsigned i = 0; i < rt->n; i++)
        if (rt->insts[i].node && !bacsc_sc_node_idle(rt->insts[i].node))
            return false;
    for (unsigned i = 0; i < rt->ngrave; i++)
        if (!bacsc_sc_node_idle(rt->grave[i].node))
            return false;
    return !rt->hubd || bacsc_hubd_idle(rt->hubd);
}

static void reap_deferred(bacsc_loop *loop, void *user)
{
    bacsc_device_runtime *rt = user;
    /* While stopping, nodes are freed only after the loop ended: one may
     * still have work queued in this iteration. */
    if (!rt->stopping)
        rt_free_grave(rt, true);
    if (rt->stopping && all_idle(rt)) {
        BACSC_INFO("device: all connections closed");
        bacsc_loop_stop(loop);
    }
}

static void reap_tick(bacsc_loop *loop, void *user)
{
    bacsc_device_runtime *rt = user;
    bacsc_loop_defer(loop, reap_deferred, rt);
    if (rt->ngrave > 0 || rt->stopping)
        bacsc_timer_start(loop, &rt->reap_timer, rt->stopping ? 20000 : 50000);
}

/* Segmented answers: resend a window whose Segment-ACK is overdue, give up
 * on silent clients (bacsc_device_handle_expiry). */
static void seg_tick(bacsc_loop *loop, void *user)
{
    bacsc_device_runtime *rt = user;
    uint64_t now = bacsc_loop_now(loop);
    for (unsigned i = 0; i < rt->n; i++) {
        bacsc_device *dev = rt->insts[i].dev;
        if (dev && bacsc_device_expiry(dev) <= now)
            bacsc_device_handle_expiry(dev, now);
    }
    bacsc_timer_start(loop, &rt->seg_timer, 250000);
}

static void on_deadline(bacsc_loop *loop, void *user)
{
    bacsc_device_runtime *rt = user;
    BACSC_WARN("device: shutdown deadline passed; closing the remaining connections");
    if (rt->hubd)
        bacsc_hubd_abort_all(rt->hubd);
    bacsc_loop_stop(loop);
}

void bacsc_device_runtime_stop(bacsc_device_runtime *rt)
{
    if (rt->stopping)
        return;
    rt->stopping = true;
    for (unsigned i = 0; i < rt->n; i++) {
        rt_switch_free(rt, &rt->insts[i]);
        rt_retire(rt, &rt->insts[i]);
    }
    if (rt->hubd)
        bacsc_hubd_shutdown(rt->hubd);
    uint64_t dw = rt->cfg.disconnect_wait_us;
    if (!dw)
        dw = BACSC_SC_DEFAULT_DISCONNECT_WAIT_US;
    bacsc_timer_start(rt->loop, &rt->deadline, dw + 1000000);
    bacsc_timer_start(rt->loop, &rt->reap_timer, 0);
}

/* ---- signals --------------------------------------------------------------------- */

static void write_status(bacsc_device_runtime *rt, bool on_signal)
{
    if (rt->cfg.status) {
        rt->cfg.status(rt->cfg.user, rt, on_signal);
        return;
    }
    unsigned up = 0;
    for (unsigned i = 0; i < rt->n; i++)
        up += rt->insts[i].node && bacsc_sc_node_connector(rt->insts[i].node) &&
              bacsc_sc_connector_state(bacsc_sc_node_connector(rt->insts[i].node)) !=
                  BACSC_SC_NO_HUB_CONNECTION;
    BACSC_WARN("device: status: %u devices, %u connected to a hub", rt->n, up);
}

/* SIGHUP: new TLS material from the same files; recheck connected peers. */
static void reload(bacsc_device_runtime *rt)
{
    const bacsc_device_runtime_config *c = &rt->cfg;
    if (rt->host) {
        BACSC_INFO("device: SIGHUP: commissionable devices get their certificates over "
                   "BACnet; nothing to reload");
        return;
    }
    if (!c->tls || !c->tls_config) {
        BACSC_WARN("device: SIGHUP: no certificate files (--insecure-plaintext); nothing to "
                   "reload");
        return;
    }
    char err[300];
    if (bacsc_tls_ctx_reload(c->tls, c->tls_config, err, sizeof err) != BACSC_OK ||
        (c->server_tls && c->server_tls_config &&
         bacsc_tls_ctx_reload(c->server_tls, c->server_tls_config, err, sizeof err) !=
             BACSC_OK)) {
        BACSC_ERROR("device: SIGHUP: reload failed, keeping the current certificates: %s", err);
        return;
    }
    unsigned closed = 0;
    for (unsigned i = 0; i < rt->n; i++) {
        if (rt->insts[i].node)
            closed += bacsc_sc_node_recheck_peers(rt->insts[i].node);
        if (rt->insts[i].trial)
            closed += bacsc_sc_node_recheck_peers(rt->insts[i].trial);
    }
    if (rt->hubd && c->server_tls)
        closed += bacsc_hubd_recheck_peers(rt->hubd, c->server_tls);
    BACSC_INFO("device: SIGHUP: reloaded certificate %s, key, issuers%s; %u connection(s) "
               "closed for certificates no longer accepted",
               c->tls_config->cert_file, c->tls_config->crl_file ? " and CRL" : "", closed);
}

static void on_signal(bacsc_loop *loop, int signo, void *user)
{
    (void)loop;
    bacsc_device_runtime *rt = user;
    if (signo == SIGHUP) {
        reload(rt);
        return;
    }
    if (signo == SIGUSR1) {
        write_status(rt, true);
        return;
    }
    if (rt->stopping)
        return;
    BACSC_INFO("device: %s: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    bacsc_device_runtime_stop(rt);
}

/* ---- creation -------------------------------------------------------------------- */

static int host_new(bacsc_device_runtime *rt, char *err, size_t errlen)
{
    const bacsc_device_runtime_config *c = &rt->cfg;
    bacsc_device_host_config hc;
    memset(&hc, 0, sizeof hc);
    hc.loop = rt->loop;
    hc.state_dir = c->state_dir;
    hc.first_instance = c->first_instance;
    hc.count = rt->n;
    hc.name_prefix = c->name;
    hc.bip = c->bip;
    hc.broadcast = c->broadcast;
    hc.broadcast_port_count = c->broadcast_port_count;
    hc.initial_mode = c->initial_mode;
    hc.domain = c->domain;
    hc.password = c->password;
    hc.primary_hub_uri = c->primary_hub_uri;
    hc.failover_hub_uri = c->failover_hub_uri;
    hc.vendor_id = c->vendor_id;
    hc.vendor_name = c->vendor_name ? c->vendor_name : "bacsc";
    hc.model_name = c->model_name ? c->model_name : "bacsc device";
    hc.firmware_revision = c->firmware_revision ? c->firmware_revision : BACSC_VERSION;
    hc.application_software_version =
        c->application_software_version ? c->application_software_version : BACSC_VERSION;
    hc.location = c->location;
    hc.description = c->description;
    hc.sc = rt_host_sc_ops(rt);
    int rc = bacsc_device_host_new(&hc, &rt->host, err, errlen);
    if (rc != BACSC_OK)
        return strstr(err, "mode") ? BACSC_ERR_STATE : rc;
    for (unsigned i = 0; i < rt->n; i++) {
        rt->insts[i].dev = bacsc_device_host_device(rt->host, i);
        bacsc_device_host_uuid(rt->host, i, rt->insts[i].uuid.b);
        bacsc_commission *cm = bacsc_device_host_commission(rt->host, i);
        if (c->initial_mode == BACSC_MODE_SC && bacsc_commission_mode(cm) != BACSC_MODE_SC) {
            /* A fresh device cannot start SC-only (no certificate yet). */
            snprintf(err, errlen,
                     "--mode sc: device %u has no activated BACnet/SC configuration yet (start "
                     "it in ip or dual mode and commission it over BACnet)",
                     rt->insts[i].instance);
            return BACSC_ERR_STATE;
        }
    }
    for (unsigned i = 0; i < rt->n; i++)
        for (unsigned k = 1; k <= c->av; k++) {
            char nm[32];
            snprintf(nm, sizeof nm, "AV-%u", k);
            bacsc_device_add_analog_value(rt->insts[i].dev, k, nm, 0.0f, 95, NULL);
        }
    return BACSC_OK;
}

static int hub_function_new(bacsc_device_runtime *rt, char *err, size_t errlen)
{
    bacsc_hubd_config hc = *rt->cfg.hub_function;
    if (!hc.name)
        hc.name = "hub function";
    char e[256];
    if (bacsc_hubd_new(rt->loop, &hc, &rt->hubd, e, sizeof e) != BACSC_OK) {
        snprintf(err, errlen, "--hub-listen: %s", e);
        return BACSC_ERR_IO;
    }
    BACSC_INFO("device: hub function listening on %s (port %u)", hc.listen,
               bacsc_hubd_port(rt->hubd));
    return BACSC_OK;
}

static int insts_new(bacsc_device_runtime *rt, char *err, size_t errlen)
{
    for (unsigned i = 0; i < rt->n; i++) {
        rinst *in = &rt->insts[i];
        in->rt = rt;
        in->idx = i;
        in->instance = rt->cfg.first_instance + i;
        in->restart_state = 0xFF;
        snprintf(in->name, sizeof in->name, "device %u", in->instance);
        if (i == 0 && rt->cfg.uuid_set)
            in->uuid = rt->cfg.uuid;
        else
            random_uuid(&in->uuid);
    }
    if (rt->cfg.state_dir)
        return host_new(rt, err, errlen);
    if (rt->cfg.hub_function) {
        int rc = hub_function_new(rt, err, errlen);
        if (rc != BACSC_OK)
            return rc;
    }
    for (unsigned i = 0; i < rt->n; i++) {
        int rc = rt_fixed_device_new(rt, &rt->insts[i], err, errlen);
        if (rc != BACSC_OK)
            return rc;
    }
    return BACSC_OK;
}

int bacsc_device_runtime_new(const bacsc_device_runtime_config *cfg, bacsc_device_runtime **out,
                             char *err, size_t errlen)
{
    unsigned n = cfg && cfg->count ? cfg->count : 1;
    if (!cfg || !out || n > 10000 || cfg->first_instance + (uint64_t)n - 1 > 4194302 ||
        (!cfg->state_dir && !cfg->primary_hub_uri)) {
        snprintf(err, errlen, "invalid device runtime configuration");
        return BACSC_ERR_INVALID_ARG;
    }
    bacsc_device_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return BACSC_ERR_NOMEM;
    rt->cfg = *cfg;
    rt->n = n;
    rt->loop = bacsc_loop_new();
    rt->insts = calloc(n, sizeof *rt->insts);
    if (!rt->loop || !rt->insts) {
        snprintf(err, errlen, "cannot create the event loop");
        bacsc_device_runtime_free(rt);
        return BACSC_ERR_NOMEM;
    }
    bacsc_timer_init(&rt->reap_timer, reap_tick, rt);
    bacsc_timer_init(&rt->deadline, on_deadline, rt);
    bacsc_timer_init(&rt->seg_timer, seg_tick, rt);
    int rc = insts_new(rt, err, errlen);
    if (rc != BACSC_OK) {
        bacsc_device_runtime_free(rt);
        return rc;
    }
    *out = rt;
    return BACSC_OK;
}

static void log_start(const bacsc_device_runtime *rt)
{
    for (unsigned i = 0; i < rt->n; i++) {
        const rinst *in = &rt->insts[i];
        if (rt->host) {
            bacsc_bip_addr a = bacsc_device_host_bip(rt->host, i);
            char as[32];
            bacsc_commission *cm = bacsc_device_host_commission(rt->host, i);
            BACSC_INFO("%s: mode %s, BACnet/IP %s", in->name,
                       bacsc_comm_mode_name(bacsc_commission_mode(cm)),
                       a.port ? bacsc_bip_addr_format(&a, as, sizeof as) : "off");
        } else {
            char u[37];
            BACSC_INFO("%s: uuid %s", in->name, bacsc_uuid_format(&in->uuid, u));
        }
    }
}

int bacsc_device_runtime_run(bacsc_device_runtime *rt)
{
    bacsc_loop_signal(rt->loop, SIGTERM, on_signal, rt);
    bacsc_loop_signal(rt->loop, SIGINT, on_signal, rt);
    bacsc_loop_signal(rt->loop, SIGHUP, on_signal, rt);
    bacsc_loop_signal(rt->loop, SIGUSR1, on_signal, rt);
    if (rt->cfg.insecure_plaintext)
        BACSC_WARN("device: --insecure-plaintext: ws:// without TLS (debugging only)");
    if (rt->cfg.status)
        write_status(rt, false); /* also tells scripts that SIGUSR1 is handled now */
    log_start(rt);
    bacsc_timer_start(rt->loop, &rt->seg_timer, 250000);
    if (!rt->host)
        for (unsigned i = 0; i < rt->n; i++)
            bacsc_sc_node_start(rt->insts[i].node);
    int rc = bacsc_loop_run(rt->loop);
    BACSC_INFO("device: stopped");
    return rc;
}

void bacsc_device_runtime_free(bacsc_device_runtime *rt)
{
    if (!rt)
        return;
    for (unsigned i = 0; rt->insts && i < rt->n; i++) {
        rt_switch_free(rt, &rt->insts[i]);
        rt_retire(rt, &rt->insts[i]);
    }
    bacsc_device_host_free(rt->host);
    for (unsigned i = 0; rt->insts && i < rt->n; i++) {
        rinst *in = &rt->insts[i];
        rt_retire(rt, in);
        if (!rt->host)
            bacsc_device_free(in->dev);
        free(in->hf_rows);
    }
    rt_free_grave(rt, false);
    free(rt->grave);
    bacsc_hubd_free(rt->hubd);
    bacsc_loop_free(rt->loop);
    free(rt->insts);
    free(rt);
}

/* ---- accessors --------------------------------------------------------------------- */

bacsc_loop *bacsc_device_runtime_loop(const bacsc_device_runtime *rt)
{
    return rt->loop;
}

unsigned bacsc_device_runtime_count(const bacsc_device_runtime *rt)
{
    return rt->n;
}

int bacsc_device_runtime_info_get(const bacsc_device_runtime *rt, unsigned idx,
                                  bacsc_device_runtime_info *out)
{
    if (idx >= rt->n)
        return BACSC_ERR_INVALID_ARG;
    const rinst *in = &rt->insts[idx];
    memset(out, 0, sizeof *out);
    out->instance = in->instance;
    out->uuid = in->uuid;
    out->node = in->node;
    out->mode = -1;
    if (rt->host) {
        out->mode = bacsc_commission_mode(bacsc_device_host_commission(rt->host, idx));
        out->bip = bacsc_device_host_bip(rt->host, idx);
    }
    return BACSC_OK;
}

const bacsc_hubd *bacsc_device_runtime_hubd(const bacsc_device_runtime *rt)
{
    return rt->hubd;
}

bacsc_device *bacsc_device_runtime_device(bacsc_device_runtime *rt, unsigned idx)
{
    return idx < rt->n ? rt->insts[idx].dev : NULL;
}
