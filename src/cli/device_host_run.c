/*
 * device_host_run.c — `bacsc device --state-dir DIR` (see device_host_run.h):
 * N commissionable device instances on consecutive BACnet/IP ports, each
 * with a bacsc_sc_node started when its mode includes BACnet/SC.
 *
 * SC nodes are never freed inside a loop callback that might be theirs:
 * a stopped node goes to a graveyard and is freed from a deferred reaper
 * once it is idle (no hub WebSocket left), or after the loop ends.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/device_host.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/sc_node.h"
#include "bacsc/tls.h"
#include "cli.h"
#include "device_host_run.h"

#define GRAVE_MAX 64

typedef struct hrun hrun;

typedef struct hnode {
    hrun *r;
    unsigned idx;
    bacsc_sc_node *node;
    bacsc_tls_ctx *tls;
} hnode;

struct hrun {
    bacsc_loop *loop;
    sc_opts *o;
    bacsc_device_host *h;
    hnode *nodes;
    unsigned n;
    /* stopped nodes waiting to be idle */
    bacsc_sc_node *grave[GRAVE_MAX];
    bacsc_tls_ctx *grave_tls[GRAVE_MAX];
    unsigned ngrave;
    bacsc_timer reap_timer, deadline;
    bool stopping;
};

static void free_grave(hrun *r, bool only_idle)
{
    unsigned k = 0;
    for (unsigned i = 0; i < r->ngrave; i++) {
        if (!only_idle || bacsc_sc_node_idle(r->grave[i])) {
            bacsc_sc_node_free(r->grave[i]);
            bacsc_tls_ctx_free(r->grave_tls[i]);
        } else {
            r->grave[k] = r->grave[i];
            r->grave_tls[k] = r->grave_tls[i];
            k++;
        }
    }
    r->ngrave = k;
}

static void reap_deferred(bacsc_loop *loop, void *user)
{
    hrun *r = user;
    free_grave(r, true);
    if (r->stopping && r->ngrave == 0) {
        BACSC_INFO("device: all connections closed");
        bacsc_loop_stop(loop);
    }
}

static void reap_tick(bacsc_loop *loop, void *user)
{
    hrun *r = user;
    bacsc_loop_defer(loop, reap_deferred, r);
    if (r->ngrave > 0 || r->stopping)
        bacsc_timer_start(loop, &r->reap_timer, 50000);
}

static void retire(hrun *r, hnode *hn)
{
    if (hn->node == NULL)
        return;
    bacsc_sc_node_stop(hn->node);
    if (r->ngrave == GRAVE_MAX) {
        /* Too many at once: the oldest has had time; free the idle ones. */
        free_grave(r, true);
    }
    if (r->ngrave < GRAVE_MAX) {
        r->grave[r->ngrave] = hn->node;
        r->grave_tls[r->ngrave] = hn->tls;
        r->ngrave++;
    } else {
        BACSC_WARN("device: too many stopping SC nodes; leaking one until exit");
    }
    hn->node = NULL;
    hn->tls = NULL;
    if (!bacsc_timer_active(&r->reap_timer))
        bacsc_timer_start(r->loop, &r->reap_timer, 50000);
}

/* ---- SC side ops -------------------------------------------------------------- */

static void on_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                    uint64_t now)
{
    hnode *hn = user;
    bacsc_device_host_sc_input(hn->r->h, hn->idx, src, npdu, len,
                               hn->node && bacsc_sc_node_rx_broadcast(hn->node), now);
}

static void on_state(void *user, int state)
{
    hnode *hn = user;
    bacsc_device *dev = bacsc_device_host_device(hn->r->h, hn->idx);
    if (hn->node)
        bacsc_device_set_max_npdu(dev, bacsc_sc_node_peer_max_npdu(hn->node));
    if (state != BACSC_SC_NO_HUB_CONNECTION && hn->r->n == 1)
        bacsc_device_send_iam(dev, NULL, bacsc_loop_now(hn->r->loop));
}

static int sc_start(void *user, bacsc_device_host *h, unsigned idx, const bacsc_device_host_sc *sc)
{
    (void)h;
    hrun *r = user;
    hnode *hn = &r->nodes[idx];
    retire(r, hn);
    bacsc_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.cert_file = sc->cert_file;
    tc.key_file = sc->key_file;
    tc.issuer_files[0] = sc->issuer_files[0];
    tc.issuer_files[1] = sc->issuer_files[1];
    char err[256];
    hn->tls = bacsc_tls_ctx_new(&tc, false, err, sizeof err);
    if (hn->tls == NULL) {
        BACSC_ERROR("device %u: BACnet/SC TLS: %s", (unsigned)sc->instance, err);
        return BACSC_ERR_CRYPTO;
    }
    char name[40];
    snprintf(name, sizeof name, "device %u", (unsigned)sc->instance);
    const bacsc_sc_port_config *p = sc->port;
    bacsc_sc_node_config nc;
    memset(&nc, 0, sizeof nc);
    nc.name = name;
    nc.primary_uri = p->primary_hub_uri;
    nc.failover_uri = p->failover_hub_uri[0] ? p->failover_hub_uri : NULL;
    nc.tls = hn->tls;
    memcpy(nc.uuid.b, sc->uuid, 16);
    nc.connect_wait_us = (uint64_t)p->connect_wait_timeout * 1000000u;
    nc.disconnect_wait_us = (uint64_t)p->disconnect_wait_timeout * 1000000u;
    nc.heartbeat_us = (uint64_t)p->heartbeat_timeout * 1000000u;
    nc.reconnect_min_us = (uint64_t)p->min_reconnect_time * 1000000u;
    nc.reconnect_max_us = (uint64_t)p->max_reconnect_time * 1000000u;
    if (r->o->connect_wait > 0)
        nc.connect_wait_us = sc_us(r->o->connect_wait);
    if (r->o->heartbeat > 0)
        nc.heartbeat_us = sc_us(r->o->heartbeat);
    if (r->o->reconnect_min > 0)
        nc.reconnect_min_us = sc_us(r->o->reconnect_min);
    if (r->o->reconnect_max > 0)
        nc.reconnect_max_us = sc_us(r->o->reconnect_max);
    bacsc_sc_node_callbacks cb = {.npdu = on_npdu, .state_changed = on_state, .user = hn};
    if (bacsc_sc_node_new(r->loop, &nc, &cb, &hn->node, err, sizeof err) != BACSC_OK) {
        BACSC_ERROR("device %u: BACnet/SC: %s", (unsigned)sc->instance, err);
        bacsc_tls_ctx_free(hn->tls);
        hn->tls = NULL;
        hn->node = NULL;
        return BACSC_ERR_INVALID_ARG;
    }
    BACSC_INFO("device %u: BACnet/SC starting (hub %s)", (unsigned)sc->instance,
               p->primary_hub_uri);
    return bacsc_sc_node_start(hn->node);
}

static void sc_stop(void *user, bacsc_device_host *h, unsigned idx)
{
    (void)h;
    hrun *r = user;
    retire(r, &r->nodes[idx]);
}

static int sc_send(void *user, bacsc_device_host *h, unsigned idx, const bacsc_address *dest,
                   const uint8_t *npdu, size_t len)
{
    (void)h;
    hrun *r = user;
    hnode *hn = &r->nodes[idx];
    if (hn->node == NULL)
        return BACSC_ERR_STATE;
    return bacsc_sc_node_send(hn->node, dest, npdu, len);
}

static void sc_refresh(void *user, bacsc_device_host *h, unsigned idx, bacsc_sc_port_state *st)
{
    (void)h;
    hrun *r = user;
    if (r->nodes[idx].node)
        bacsc_sc_node_port_state(r->nodes[idx].node, st);
}

/* ---- signals -------------------------------------------------------------------------- */

static void on_deadline(bacsc_loop *loop, void *user)
{
    (void)user;
    BACSC_WARN("device: shutdown deadline passed; closing the remaining connections");
    bacsc_loop_stop(loop);
}

static void on_signal(bacsc_loop *loop, int signo, void *user)
{
    hrun *r = user;
    if (signo == SIGHUP) {
        BACSC_WARN("device: SIGHUP: reloading is not supported; configuration unchanged");
        return;
    }
    if (r->stopping)
        return;
    r->stopping = true;
    BACSC_INFO("device: %s: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    for (unsigned i = 0; i < r->n; i++)
        retire(r, &r->nodes[i]);
    bacsc_timer_start(loop, &r->deadline, 6000000);
    bacsc_timer_start(loop, &r->reap_timer, 0);
}

int devhost_run(const char *prog, sc_opts *o, const devhost_opts *d)
{
    bacsc_device_host_config c;
    memset(&c, 0, sizeof c);
    c.state_dir = d->state_dir;
    c.first_instance = (uint32_t)o->instance;
    c.count = o->count > 0 ? (unsigned)o->count : 1;
    c.name_prefix = o->name;
    if (bacsc_bip_addr_parse(d->bip ? d->bip : "127.0.0.1:47808", 47808, &c.bip) != BACSC_OK) {
        cli_error(prog, "--bip: '%s' is not ADDR:PORT", d->bip);
        return EXIT_USAGE;
    }
    if (d->bip_broadcast &&
        bacsc_bip_addr_parse(d->bip_broadcast, 47808, &c.broadcast) != BACSC_OK) {
        cli_error(prog, "--bip-broadcast: '%s' is not ADDR:PORT", d->bip_broadcast);
        return EXIT_USAGE;
    }
    c.broadcast_port_count = (unsigned)d->bip_broadcast_count;
    int mode = d->mode ? bacsc_comm_mode_parse(d->mode) : BACSC_MODE_IP;
    if (mode < 0) {
        cli_error(prog, "--mode: '%s' is not ip, dual or sc", d->mode);
        return EXIT_USAGE;
    }
    c.initial_mode = mode;
    c.domain = d->domain;
    c.password = d->password;
    c.primary_hub_uri = o->hub;
    c.failover_hub_uri = o->failover;
    c.vendor_name = "bacsc";
    c.model_name = "bacsc device";
    if (c.bip.port != 0 && (unsigned long)c.bip.port + c.count - 1 > 65535) {
        cli_error(prog, "--count: UDP ports beyond 65535");
        return EXIT_USAGE;
    }
    hrun r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.n = c.count;
    r.loop = bacsc_loop_new();
    r.nodes = calloc(c.count, sizeof *r.nodes);
    if (r.loop == NULL || r.nodes == NULL) {
        cli_error(prog, "out of memory");
        bacsc_loop_free(r.loop);
        free(r.nodes);
        return EXIT_FAIL;
    }
    for (unsigned i = 0; i < c.count; i++) {
        r.nodes[i].r = &r;
        r.nodes[i].idx = i;
    }
    bacsc_timer_init(&r.reap_timer, reap_tick, &r);
    bacsc_timer_init(&r.deadline, on_deadline, &r);
    c.loop = r.loop;
    c.sc.start = sc_start;
    c.sc.stop = sc_stop;
    c.sc.send = sc_send;
    c.sc.refresh = sc_refresh;
    c.sc.user = &r;
    char err[512];
    int rc = EXIT_FAIL;
    if (bacsc_device_host_new(&c, &r.h, err, sizeof err) != BACSC_OK) {
        cli_error(prog, "%s", err);
        rc = strstr(err, "mode") ? EXIT_DATAERR : EXIT_FAIL;
        goto out;
    }
    if (mode == BACSC_MODE_SC) {
        /* A fresh device cannot start SC-only (no certificate yet). */
        for (unsigned i = 0; i < c.count; i++)
            if (bacsc_commission_mode(bacsc_device_host_commission(r.h, i)) != BACSC_MODE_SC) {
                cli_error(prog, "--mode sc: device %u has no activated BACnet/SC configuration "
                          "yet (start it in ip or dual mode and commission it over BACnet)",
                          (unsigned)(c.first_instance + i));
                rc = EXIT_DATAERR;
                goto out;
            }
    }
    long nav = o->av < 0 ? 1 : o->av;
    for (unsigned i = 0; i < c.count; i++)
        for (long k = 1; k <= nav; k++) {
            char nm[32];
            snprintf(nm, sizeof nm, "AV-%ld", k);
            bacsc_device_add_analog_value(bacsc_device_host_device(r.h, i), (uint32_t)k, nm, 0.0f,
                                          95, NULL);
        }
    bacsc_loop_signal(r.loop, SIGTERM, on_signal, &r);
    bacsc_loop_signal(r.loop, SIGINT, on_signal, &r);
    bacsc_loop_signal(r.loop, SIGHUP, on_signal, &r);
    for (unsigned i = 0; i < c.count; i++) {
        bacsc_bip_addr a = bacsc_device_host_bip(r.h, i);
        char as[32];
        bacsc_commission *cm = bacsc_device_host_commission(r.h, i);
        BACSC_INFO("device %u: mode %s, BACnet/IP %s", (unsigned)(c.first_instance + i),
                   bacsc_comm_mode_name(bacsc_commission_mode(cm)),
                   a.port ? bacsc_bip_addr_format(&a, as, sizeof as) : "off");
    }
    if (bacsc_loop_run(r.loop) == BACSC_OK)
        rc = EXIT_OK;
    BACSC_INFO("device: stopped");
out:
    for (unsigned i = 0; i < r.n; i++)
        retire(&r, &r.nodes[i]);
    bacsc_device_host_free(r.h);
    for (unsigned i = 0; i < r.n; i++)
        retire(&r, &r.nodes[i]);
    free_grave(&r, false);
    free(r.nodes);
    bacsc_loop_free(r.loop);
    return rc;
}
