/*
 * device_runtime_sc.c — the BACnet/SC side of the device runtime
 * (bacsc/device_runtime.h): one bacsc_sc_node per device, built the same
 * way for devices on fixed files and for commissioned devices; the devices
 * on fixed files themselves (Device, Analog Values, SC Network Port).
 *
 * A stopped node goes to a graveyard and is freed from the runtime's reaper
 * once it is idle (no WebSocket left), or when the runtime is freed: never
 * inside one of its own callbacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "runtime_internal.h"

/* ---- node callbacks -------------------------------------------------------------- */

static void on_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                    uint64_t now)
{
    rinst *in = user;
    /* A confirmed request to the broadcast VMAC is ignored (clause 5.4.5.1). */
    bool bcast = in->node && bacsc_sc_node_rx_broadcast(in->node);
    if (in->rt->host)
        bacsc_device_host_sc_input(in->rt->host, in->idx, src, npdu, len, bcast, now);
    else
        bacsc_device_handle_npdu_rx(in->dev, src, npdu, len, bcast, now);
}

void rt_on_state(void *user, int state)
{
    rinst *in = user;
    if (!in->dev)
        return;
    /* Answers must fit what the hub in use accepts (0 = the default 1497). */
    if (in->node)
        bacsc_device_set_max_npdu(in->dev, bacsc_sc_node_peer_max_npdu(in->node));
    /* Announce ourselves when (re)connected — only for a single device: 200
     * instances each broadcasting would be a storm of their own. */
    if (state != BACSC_SC_NO_HUB_CONNECTION && in->rt->n == 1)
        bacsc_device_send_iam(in->dev, NULL, bacsc_loop_now(in->rt->loop));
}

/* A node timer: the flag when given, else (from_port) the Network Port's,
 * else 0 (the node's default). port_wins: the port's value was changed over
 * BACnet after the flags were given. */
static uint64_t pick_us(uint64_t flag_us, uint32_t port_s, bool from_port, bool port_wins)
{
    if (port_wins)
        return (uint64_t)port_s * 1000000u;
    if (flag_us)
        return flag_us;
    return from_port ? (uint64_t)port_s * 1000000u : 0;
}

/*
 * Create (not start) the node of `in` for the port settings `pc` and TLS
 * context `tls`. Timers: the flags when given, else (commissioned devices)
 * the Network Port's, else the node's defaults.
 */
bacsc_sc_node_callbacks rt_node_callbacks(rinst *in)
{
    bacsc_sc_node_callbacks cb = {.npdu = on_npdu, .state_changed = rt_on_state, .user = in};
    return cb;
}

int rt_node_new(rinst *in, const bacsc_sc_port_config *pc, bacsc_tls_ctx *tls,
                const bacsc_sc_node_callbacks *cb, bacsc_sc_node **out, char *err, size_t errlen)
{
    const bacsc_device_runtime_config *c = &in->rt->cfg;
    bool from_port = c->state_dir != NULL;
    bool first = in->idx == 0 && !from_port;
    bool pw = in->port_rules;
    bacsc_sc_node_config nc = {
        .name = in->name,
        .primary_uri = pc->primary_hub_uri,
        .failover_uri = pc->failover_hub_uri[0] ? pc->failover_hub_uri : NULL,
        .tls = tls,
        .insecure_plaintext = c->insecure_plaintext,
        .uuid = in->uuid,
        .max_bvlc_len = from_port ? 0 : (uint16_t)c->max_bvlc_len,
        .max_npdu_len = from_port ? 0 : (uint16_t)c->max_npdu_len,
        .connect_wait_us = pick_us(c->connect_wait_us, pc->connect_wait_timeout, from_port, pw),
        .disconnect_wait_us =
            pick_us(c->disconnect_wait_us, pc->disconnect_wait_timeout, from_port, pw),
        .heartbeat_us = pick_us(c->heartbeat_us, pc->heartbeat_timeout, from_port, pw),
        .reconnect_min_us = pick_us(c->reconnect_min_us, pc->min_reconnect_time, from_port, pw),
        .reconnect_max_us = pick_us(c->reconnect_max_us, pc->max_reconnect_time, from_port, pw),
        .dc_listen = first ? c->dc_listen : NULL,
        .dc_tls = from_port ? NULL : c->server_tls,
        .dc_uris = first ? c->dc_uris : NULL,
        .dc_auto = !from_port && c->dc_auto,
        .dc_max_conns = c->dc_max_conns,
        .dc_idle_us = c->dc_idle_us,
        .dc_auto_count = c->dc_auto_count,
        .dc_auto_window_us = c->dc_auto_window_us,
        .uuid_binding = c->uuid_binding,
    };
    if (from_port)
        nc.disconnect_wait_us = (uint64_t)pc->disconnect_wait_timeout * 1000000u;
    if (in->vmac_kept) {
        nc.vmac = in->vmac;
        nc.fixed_vmac = true;
    } else if (c->vmac_set) {
        nc.vmac = c->vmac;
        nc.vmac.b[5] = (uint8_t)(nc.vmac.b[5] + in->idx);
        nc.fixed_vmac = true;
    }
    return bacsc_sc_node_new(in->rt->loop, &nc, cb, out, err, errlen);
}

/* ---- graveyard ------------------------------------------------------------------- */

void rt_free_grave(bacsc_device_runtime *rt, bool only_idle)
{
    unsigned k = 0;
    for (unsigned i = 0; i < rt->ngrave; i++) {
        if (!only_idle || bacsc_sc_node_idle(rt->grave[i].node)) {
            bacsc_sc_node_free(rt->grave[i].node);
            bacsc_tls_ctx_free(rt->grave[i].tls);
        } else {
            rt->grave[k++] = rt->grave[i];
        }
    }
    rt->ngrave = k;
}

/* Stop the node of `in` (Disconnect-Request) and bury it with its TLS context. */
void rt_retire(bacsc_device_runtime *rt, rinst *in)
{
    if (in->node == NULL)
        return;
    bacsc_sc_node_stop(in->node);
    if (rt->ngrave == rt->cap_grave) {
        unsigned cap = rt->cap_grave ? rt->cap_grave * 2 : 16;
        struct rt_grave *g = realloc(rt->grave, cap * sizeof *g);
        if (g == NULL) {
            /* No memory for the list: free it now, without its goodbye. */
            bacsc_sc_node_free(in->node);
            bacsc_tls_ctx_free(in->tls);
            in->node = NULL;
            in->tls = NULL;
            return;
        }
        rt->grave = g;
        rt->cap_grave = cap;
    }
    rt->grave[rt->ngrave].node = in->node;
    rt->grave[rt->ngrave].tls = in->tls;
    rt->ngrave++;
    in->node = NULL;
    in->tls = NULL;
    if (rt->loop && !bacsc_timer_active(&rt->reap_timer))
        bacsc_timer_start(rt->loop, &rt->reap_timer, 50000);
}

/* ---- Network Port live state --------------------------------------------------------- */

static void hf_row(const bacsc_hubd_peer_info *pi, void *arg)
{
    rinst *in = arg;
    if (!pi->hub.connected)
        return;
    if (in->hf_count == in->hf_cap) {
        size_t cap = in->hf_cap ? in->hf_cap * 2 : 16;
        bacsc_sc_direct_connection *r = realloc(in->hf_rows, cap * sizeof *r);
        if (!r)
            return; /* the list shows what fitted */
        in->hf_rows = r;
        in->hf_cap = cap;
    }
    bacsc_sc_direct_connection *r = &in->hf_rows[in->hf_count++];
    memset(r, 0, sizeof *r);
    r->state = 1; /* connected */
    bacsc_loop_time_to_datetime(in->rt->loop, pi->hub.since, &r->connect_time);
    bacsc_loop_time_to_datetime(in->rt->loop, 0, &r->disconnect_time);
    snprintf(r->peer_address, sizeof r->peer_address, "%s", pi->address ? pi->address : "");
    memcpy(r->peer_vmac, pi->hub.vmac.b, 6);
    memcpy(r->peer_uuid, pi->hub.uuid.b, 16);
}

/* Fill the SC port's live state from the node (and the hosted hub function). */
void rt_refresh_port(rinst *in, bacsc_sc_port_state *st)
{
    if (in->node == NULL)
        return;
    bacsc_sc_node_port_state(in->node, st);
    st->direct = in->dc_rows;
    st->direct_count = bacsc_sc_node_dc_status(in->node, in->dc_rows, RT_DC_ROWS);
    if (st->direct_count > RT_DC_ROWS)
        st->direct_count = RT_DC_ROWS;
    in->hf_count = 0;
    if (in->rt->hubd && in->idx == 0)
        bacsc_hubd_foreach_peer(in->rt->hubd, hf_row, in);
    st->hub_function = in->hf_rows;
    st->hub_function_count = in->hf_count;
}

static void port_refresh(void *user, bacsc_object *port, bacsc_sc_port_state *st)
{
    (void)port;
    rt_refresh_port(user, st);
}

/* ---- commissioned devices: the host's SC side ops ------------------------------------- */

static void host_tls_config(const bacsc_device_runtime *rt, const bacsc_device_host_sc *sc,
                            bacsc_tls_config *tc)
{
    memset(tc, 0, sizeof *tc);
    tc->cert_file = sc->cert_file;
    tc->key_file = sc->key_file;
    tc->issuer_files[0] = sc->issuer_files[0];
    tc->issuer_files[1] = sc->issuer_files[1];
    tc->crl_file = rt->cfg.crl_file;
    tc->crl_file2 = sc->crl_file;
}

/* New CRLs: reload the running context, drop the peers it now refuses. */
static int host_sc_reload(void *user, bacsc_device_host *h, unsigned idx,
                          const bacsc_device_host_sc *sc)
{
    (void)h;
    bacsc_device_runtime *rt = user;
    rinst *in = &rt->insts[idx];
    if (in->tls == NULL || in->node == NULL)
        return BACSC_ERR_STATE;
    bacsc_tls_config tc;
    host_tls_config(rt, sc, &tc);
    char err[256];
    if (bacsc_tls_ctx_reload(in->tls, &tc, err, sizeof err) != BACSC_OK) {
        BACSC_WARN("%s: BACnet/SC TLS reload: %s; restarting", in->name, err);
        return BACSC_ERR_CRYPTO;
    }
    unsigned closed = bacsc_sc_node_recheck_peers(in->node);
    BACSC_INFO("%s: BACnet/SC CRLs reloaded; %u connection(s) no longer verify and were closed",
               in->name, closed);
    return BACSC_OK;
}

static int host_sc_start(void *user, bacsc_device_host *h, unsigned idx,
                         const bacsc_device_host_sc *sc)
{
    (void)h;
    bacsc_device_runtime *rt = user;
    rinst *in = &rt->insts[idx];
    rt_retire(rt, in);
    bacsc_tls_config tc;
    host_tls_config(rt, sc, &tc);
    char err[256];
    in->tls = bacsc_tls_ctx_new(&tc, false, err, sizeof err);
    if (in->tls == NULL) {
        BACSC_ERROR("%s: BACnet/SC TLS: %s", in->name, err);
        return BACSC_ERR_CRYPTO;
    }
    memcpy(in->uuid.b, sc->uuid, 16);
    static const uint8_t zero[6];
    in->vmac_kept = memcmp(sc->vmac, zero, 6) != 0;
    memcpy(in->vmac.b, sc->vmac, 6);
    bacsc_sc_node_callbacks cb = rt_node_callbacks(in);
    if (rt_node_new(in, sc->port, in->tls, &cb, &in->node, err, sizeof err) != BACSC_OK) {
        BACSC_ERROR("%s: BACnet/SC: %s", in->name, err);
        bacsc_tls_ctx_free(in->tls);
        in->tls = NULL;
        in->node = NULL;
        return BACSC_ERR_INVALID_ARG;
    }
    BACSC_INFO("%s: BACnet/SC starting (hub %s)", in->name, sc->port->primary_hub_uri);
    return bacsc_sc_node_start(in->node);
}

static void host_sc_stop(void *user, bacsc_device_host *h, unsigned idx)
{
    (void)h;
    bacsc_device_runtime *rt = user;
    rt_retire(rt, &rt->insts[idx]);
}

static int host_sc_send(void *user, bacsc_device_host *h, unsigned idx,
                        const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    (void)h;
    bacsc_device_runtime *rt = user;
    rinst *in = &rt->insts[idx];
    if (in->node == NULL)
        return BACSC_ERR_STATE;
    return bacsc_sc_node_send(in->node, dest, npdu, len);
}

static void host_sc_refresh(void *user, bacsc_device_host *h, unsigned idx,
                            bacsc_sc_port_state *st)
{
    (void)h;
    bacsc_device_runtime *rt = user;
    rt_refresh_port(&rt->insts[idx], st);
}

static void host_activated(void *user, bacsc_device_host *h, unsigned idx)
{
    (void)h;
    bacsc_device_runtime *rt = user;
    if (rt->cfg.activated)
        rt->cfg.activated(rt->cfg.user, rt, idx);
}

bacsc_device_host_sc_ops rt_host_sc_ops(bacsc_device_runtime *rt)
{
    bacsc_device_host_sc_ops ops = {.start = host_sc_start,
                                    .stop = host_sc_stop,
                                    .reload = host_sc_reload,
                                    .send = host_sc_send,
                                    .refresh = host_sc_refresh,
                                    .activated = host_activated,
                                    .user = rt};
    return ops;
}

/* ---- devices on fixed files ------------------------------------------------------------ */

static uint32_t secs_clamp(uint64_t us, uint32_t dflt, uint32_t lo, uint32_t hi)
{
    if (us == 0)
        return dflt;
    uint64_t r = (us + 999999) / 1000000;
    return r < lo ? lo : r > hi ? hi : (uint32_t)r;
}

/* The Network Port settings of a device on fixed files. */
static void fixed_port_config(const rinst *in, bacsc_sc_port_config *pc)
{
    const bacsc_device_runtime_config *c = &in->rt->cfg;
    bacsc_sc_port_config_defaults(pc);
    snprintf(pc->primary_hub_uri, sizeof pc->primary_hub_uri, "%s", c->primary_hub_uri);
    if (c->failover_hub_uri)
        snprintf(pc->failover_hub_uri, sizeof pc->failover_hub_uri, "%s", c->failover_hub_uri);
    pc->min_reconnect_time = secs_clamp(c->reconnect_min_us, pc->min_reconnect_time, 1, 300);
    pc->max_reconnect_time = secs_clamp(c->reconnect_max_us, pc->max_reconnect_time, 1, 600);
    pc->connect_wait_timeout = secs_clamp(c->connect_wait_us, pc->connect_wait_timeout, 1, 300);
    pc->disconnect_wait_timeout =
        secs_clamp(c->disconnect_wait_us, pc->disconnect_wait_timeout, 1, 300);
    pc->heartbeat_timeout = secs_clamp(c->heartbeat_us, pc->heartbeat_timeout, 1, 300);
    if (c->hub_function && in->idx == 0) {
        pc->hub_function_enable = true;
        snprintf(pc->hub_function_binding, sizeof pc->hub_function_binding, "%s",
                 c->hub_function->listen);
        snprintf(pc->hub_function_accept_uris[0], sizeof pc->hub_function_accept_uris[0],
                 "%s://%s", c->insecure_plaintext ? "ws" : "wss", c->hub_function->listen);
    }
    pc->direct_connect_initiate_enable = c->dc_auto;
    if (in->idx == 0 && c->dc_listen) {
        pc->direct_connect_accept_enable = true;
        snprintf(pc->direct_connect_binding, sizeof pc->direct_connect_binding, "%s",
                 c->dc_listen);
        /* the URIs actually advertised (default: with the bound port) */
        const char *u = bacsc_sc_switch_accept_uris(bacsc_sc_node_switch(in->node));
        for (int i = 0; i < BACSC_SC_ACCEPT_URIS_MAX && *u; i++) {
            const char *e = strchr(u, ' ');
            size_t l = e ? (size_t)(e - u) : strlen(u);
            if (l < BACSC_URI_MAX)
                snprintf(pc->direct_connect_accept_uris[i], BACSC_URI_MAX, "%.*s", (int)l, u);
            u += l;
            while (*u == ' ')
                u++;
        }
    }
}

static int add_objects(rinst *in, char *err, size_t errlen)
{
    for (unsigned i = 1; i <= in->rt->cfg.av; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "AV-%u", i);
        if (bacsc_device_add_analog_value(in->dev, i, nm, 0.0f, 95, NULL) != BACSC_OK) {
            snprintf(err, errlen, "cannot add analog-value,%u", i);
            return BACSC_ERR_LIMIT;
        }
    }
    return BACSC_OK;
}

/*
 * The objects of device `in` on fixed files (Device, Analog Values, SC
 * Network Port) into *dev / *port, from the configuration; the port's
 * settings are `active` when given (a restart keeps the hub in use).
 */
int rt_fixed_objects_new(rinst *in, const bacsc_sc_port_config *active, bacsc_device **dev,
                         bacsc_object **port, char *err, size_t errlen)
{
    bacsc_device_runtime *rt = in->rt;
    const bacsc_device_runtime_config *c = &rt->cfg;
    char dname[BACSC_DEVICE_NAME_MAX + 1];
    if (c->name && rt->n == 1)
        snprintf(dname, sizeof dname, "%s", c->name);
    else if (c->name)
        snprintf(dname, sizeof dname, "%s-%u", c->name, in->instance);
    else
        snprintf(dname, sizeof dname, "bacsc-device-%u", in->instance);
    bacsc_device_config dc = {
        .instance = in->instance,
        .name = dname,
        .vendor_name = c->vendor_name ? c->vendor_name : "bacsc",
        .vendor_id = c->vendor_id,
        .model_name = c->model_name ? c->model_name : "bacsc device",
        .firmware_revision = c->firmware_revision ? c->firmware_revision : BACSC_VERSION,
        .application_software_version =
            c->application_software_version ? c->application_software_version : BACSC_VERSION,
        .description = c->description ? c->description : "bacsc BACnet/SC device",
        .location = c->location,
        .link = {.send = rt_link_send, .user = in},
        .cb = {.reinitialize = rt_fixed_reinit, .restart = rt_fixed_restart, .user = in}};
    memcpy(dc.uuid, in->uuid.b, 16);
    if (bacsc_device_new(&dc, dev) != BACSC_OK) {
        snprintf(err, errlen, "cannot create device %u", in->instance);
        return BACSC_ERR_NOMEM;
    }
    bacsc_device *saved = in->dev;
    in->dev = *dev; /* add_objects fills in->dev */
    int rc = add_objects(in, err, errlen);
    in->dev = saved;
    if (rc != BACSC_OK)
        return rc;
    bacsc_sc_port_config pc;
    if (active)
        pc = *active;
    else
        fixed_port_config(in, &pc);
    bacsc_netport_callbacks pcb = {
        .refresh = port_refresh, .user = in, .check_write = rt_fixed_check_write};
    if (bacsc_device_add_netport_sc(*dev, 1, "SC-port", &pc, &pcb, port) != BACSC_OK) {
        snprintf(err, errlen, "cannot add the Network Port object");
        return BACSC_ERR_LIMIT;
    }
    bacsc_sc_port_state *st = bacsc_netport_sc_state(*port);
    if (st) {
        st->max_bvlc_len = c->max_bvlc_len ? c->max_bvlc_len : BACSC_SC_DEFAULT_MAX_BVLC_LEN;
        st->max_npdu_len = c->max_npdu_len ? c->max_npdu_len : BACSC_SC_DEFAULT_MAX_NPDU_LEN;
    }
    return BACSC_OK;
}

/* Device `in` on fixed files: node, Device object, Analog Values, SC port. */
int rt_fixed_device_new(bacsc_device_runtime *rt, rinst *in, char *err, size_t errlen)
{
    const bacsc_device_runtime_config *c = &rt->cfg;
    bacsc_sc_port_config pc;
    memset(&pc, 0, sizeof pc);
    snprintf(pc.primary_hub_uri, sizeof pc.primary_hub_uri, "%s", c->primary_hub_uri);
    if (c->failover_hub_uri)
        snprintf(pc.failover_hub_uri, sizeof pc.failover_hub_uri, "%s", c->failover_hub_uri);
    bacsc_sc_node_callbacks cb = rt_node_callbacks(in);
    if (rt_node_new(in, &pc, c->tls, &cb, &in->node, err, errlen) != BACSC_OK)
        return BACSC_ERR_INVALID_ARG;
    return rt_fixed_objects_new(in, NULL, &in->dev, &in->port, err, errlen);
}
