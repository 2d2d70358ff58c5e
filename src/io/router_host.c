/*
 * router_host.c — a BACnet router on the event loop (bacsc/router_host.h).
 *
 * Thin glue: datalink receive callbacks feed bacsc_router_input() with the
 * port index; the router's send callback picks the link by port index; the
 * Device object's datalink is bacsc_router_originate() with the port the
 * request being answered came in on (cur_port), or every port for its own
 * broadcasts. Everything runs on one loop, so cur_port needs no locking: it
 * is set only for the duration of one synchronous bacsc_device_handle_npdu().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/router_host.h"

typedef struct sc_port {
    bacsc_router_host *h;
    unsigned index;              /* router port (1..) */
    uint16_t network;
    bacsc_sc_node *node;
    bacsc_object *port_obj;
    char name[48];
    bacsc_sc_direct_connection dc_rows[16];
} sc_port;

struct bacsc_router_host {
    bacsc_loop *loop;
    bacsc_router *router;
    bacsc_bip_link *bip;
    uint16_t bip_network;
    sc_port sc[BACSC_ROUTER_HOST_MAX_SC];
    unsigned nsc;
    bacsc_device *dev;
    unsigned cur_port;           /* port of the request being answered */
};

/* ---- the router's ports -------------------------------------------------------- */

static int router_send(void *user, unsigned port, const bacsc_address *mac, const uint8_t *npdu,
                       size_t len)
{
    bacsc_router_host *h = user;
    if (port == 0)
        return bacsc_bip_link_send(h->bip, mac, npdu, len);
    if (port - 1 < h->nsc)
        return bacsc_sc_node_send(h->sc[port - 1].node, mac, npdu, len);
    return BACSC_ERR_INVALID_ARG;
}

static void router_local(void *user, unsigned port, const bacsc_address *src, const uint8_t *npdu,
                         size_t len, uint64_t now)
{
    bacsc_router_host *h = user;
    h->cur_port = port;
    /* BACSC_ERR_NOT_FOUND (an ACK or I-Am: the router runs no client) is fine */
    bacsc_device_handle_npdu(h->dev, src, npdu, len, now);
    h->cur_port = BACSC_ROUTER_LOCAL_PORT;
}

static int device_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    bacsc_router_host *h = user;
    /* An answer goes back out of the port its request came in on; our own
     * unsolicited broadcasts (cur_port unset) go to every network we are on. */
    return bacsc_router_originate(h->router, h->cur_port, dest, npdu, len,
                                  bacsc_loop_now(h->loop));
}

static void bip_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                     const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    bacsc_router_host *h = user;
    (void)link;
    if (broadcast)
        bacsc_router_input_broadcast(h->router, 0, src, npdu, len, now);
    else
        bacsc_router_input(h->router, 0, src, npdu, len, now);
}

static void sc_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                    uint64_t now)
{
    sc_port *p = user;
    bacsc_router_input(p->h->router, p->index, src, npdu, len, now);
}

static void sc_state(void *user, int state)
{
    sc_port *p = user;
    bacsc_router_host *h = p->h;
    uint64_t now = bacsc_loop_now(h->loop);
    if (state == BACSC_SC_NO_HUB_CONNECTION) {
        BACSC_INFO("router: network %u (SC port %u): no hub connection", p->network, p->index);
        bacsc_router_set_port_up(h->router, p->index, false);
        return;
    }
    bacsc_router_set_port_up(h->router, p->index, true);
    /* What the hub accepts bounds what we forward onto this network. */
    size_t max = bacsc_sc_node_peer_max_npdu(p->node);
    bacsc_router_set_port_max_npdu(h->router, p->index, max);
    const bacsc_vmac *v = bacsc_sc_node_vmac(p->node);
    bacsc_address own = bacsc_address_local(v->b, 6);
    bacsc_router_set_port_mac(h->router, p->index, &own);
    BACSC_INFO("router: network %u (SC port %u): connected to the %s hub; announcing routes",
               p->network, p->index, state == BACSC_SC_CONNECTED_TO_PRIMARY ? "primary" : "failover");
    bacsc_router_announce(h->router, p->index, now);
    bacsc_router_discover(h->router, p->index, now);
    h->cur_port = p->index;
    bacsc_device_send_iam(h->dev, NULL, now);
    h->cur_port = BACSC_ROUTER_LOCAL_PORT;
}

static void port_refresh(void *user, bacsc_object *port, bacsc_sc_port_state *st)
{
    sc_port *p = user;
    (void)port;
    bacsc_sc_node_port_state(p->node, st);
    st->direct = p->dc_rows;
    st->direct_count = bacsc_sc_node_dc_status(p->node, p->dc_rows, 16);
    if (st->direct_count > 16)
        st->direct_count = 16;
}

/* ---- construction ------------------------------------------------------------- */

static int add_ip_port(bacsc_router_host *h, const bacsc_router_host_config *cfg)
{
    bacsc_ip_port_config ipc;
    memset(&ipc, 0, sizeof ipc);
    bacsc_bip_addr local;
    bacsc_bip_link_local(h->bip, &local);
    memcpy(ipc.ip, local.ip, 4);
    ipc.mask[0] = 255;
    ipc.mask[1] = local.ip[0] == 127 ? 0 : 255;
    ipc.mask[2] = local.ip[0] == 127 ? 0 : 255;
    ipc.udp_port = local.port;
    ipc.network_number = cfg->bip_network;
    return bacsc_device_add_netport_ip(h->dev, 1, "IP-port", &ipc, NULL, NULL);
}

static int add_sc_port(bacsc_router_host *h, sc_port *p, const bacsc_router_host_sc *sc)
{
    bacsc_sc_port_config pc;
    bacsc_sc_port_config_defaults(&pc);
    snprintf(pc.primary_hub_uri, sizeof pc.primary_hub_uri, "%s",
             sc->node.primary_uri ? sc->node.primary_uri : "");
    if (sc->node.failover_uri)
        snprintf(pc.failover_hub_uri, sizeof pc.failover_hub_uri, "%s", sc->node.failover_uri);
    pc.network_number = sc->network;
    pc.direct_connect_initiate_enable = sc->node.dc_auto;
    pc.direct_connect_accept_enable = sc->node.dc_listen != NULL;
    if (sc->hub_listen) {
        pc.hub_function_enable = true;
        snprintf(pc.hub_function_binding, sizeof pc.hub_function_binding, "%s", sc->hub_listen);
        snprintf(pc.hub_function_accept_uris[0], BACSC_URI_MAX, "%s://%s",
                 sc->node.insecure_plaintext ? "ws" : "wss", sc->hub_listen);
    }
    char name[BACSC_DEVICE_NAME_MAX + 1];
    snprintf(name, sizeof name, "SC-port-%u", sc->network);
    bacsc_netport_callbacks cb = {.refresh = port_refresh, .user = p};
    int rc = bacsc_device_add_netport_sc(h->dev, 1 + p->index, name, &pc, &cb, &p->port_obj);
    if (rc < 0)
        return rc;
    bacsc_sc_port_state *st = bacsc_netport_sc_state(p->port_obj);
    if (st) {
        st->max_bvlc_len = sc->node.max_bvlc_len ? sc->node.max_bvlc_len
                                                 : BACSC_SC_DEFAULT_MAX_BVLC_LEN;
        st->max_npdu_len = sc->node.max_npdu_len ? sc->node.max_npdu_len
                                                 : BACSC_SC_DEFAULT_MAX_NPDU_LEN;
    }
    return BACSC_OK;
}

static int make_router(bacsc_router_host *h, const bacsc_router_host_config *cfg, char *err,
                       size_t errlen)
{
    bacsc_router_config rc;
    memset(&rc, 0, sizeof rc);
    rc.nports = 1 + cfg->nsc;
    rc.ports[0] = (bacsc_router_port_config){.network = cfg->bip_network, .mac_len = 6};
    for (unsigned i = 0; i < cfg->nsc; i++) {
        size_t max = cfg->sc[i].node.max_npdu_len ? cfg->sc[i].node.max_npdu_len
                                                  : BACSC_SC_DEFAULT_MAX_NPDU_LEN;
        rc.ports[1 + i] = (bacsc_router_port_config){
            .network = cfg->sc[i].network, .max_npdu = max, .mac_len = 6};
    }
    rc.max_routes = cfg->max_routes;
    rc.send = router_send;
    rc.local = router_local;
    rc.user = h;
    int r = bacsc_router_new(&rc, &h->router);
    if (r < 0)
        snprintf(err, errlen, "network numbers must be 1..65534 and all different");
    return r;
}

static int make_device(bacsc_router_host *h, const bacsc_router_host_config *cfg, char *err,
                       size_t errlen)
{
    char name[BACSC_DEVICE_NAME_MAX + 1];
    if (cfg->name)
        snprintf(name, sizeof name, "%s", cfg->name);
    else
        snprintf(name, sizeof name, "bacsc-router-%u", cfg->instance);
    bacsc_device_config dc = {.instance = cfg->instance,
                              .name = name,
                              .vendor_name = "bacsc",
                              .model_name = "bacsc router",
                              .description = "bacsc BACnet/IP - BACnet/SC router",
                              .link = {.send = device_send, .user = h, .max_npdu = 1497}};
    memcpy(dc.uuid, cfg->uuid, 16);
    int rc = bacsc_device_new(&dc, &h->dev);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create the Device object (instance %u)", cfg->instance);
        return rc;
    }
    if ((rc = add_ip_port(h, cfg)) < 0) {
        snprintf(err, errlen, "cannot add the IPV4 Network Port object");
        return rc;
    }
    for (unsigned i = 0; i < h->nsc; i++) {
        if ((rc = add_sc_port(h, &h->sc[i], &cfg->sc[i])) < 0) {
            snprintf(err, errlen, "cannot add the SECURE_CONNECT Network Port object %u", i + 2);
            return rc;
        }
    }
    return BACSC_OK;
}

static int make_links(bacsc_router_host *h, const bacsc_router_host_config *cfg, char *err,
                      size_t errlen)
{
    bacsc_bip_link_config bc = {.bind = cfg->bip,
                                .broadcast = cfg->bip_broadcast,
                                .broadcast_port_count = cfg->bip_broadcast_port_count,
                                .recv = bip_recv,
                                .user = h};
    int rc = bacsc_bip_link_new(cfg->loop, &bc, &h->bip);
    if (rc < 0) {
        char a[24];
        snprintf(err, errlen, "%s: %s", bacsc_bip_addr_format(&cfg->bip, a, sizeof a),
                 rc == BACSC_ERR_IO ? "cannot bind (address in use?)" : bacsc_strerror(rc));
        return rc;
    }
    for (unsigned i = 0; i < cfg->nsc; i++) {
        sc_port *p = &h->sc[i];
        p->h = h;
        p->index = 1 + i;
        p->network = cfg->sc[i].network;
        bacsc_sc_node_config nc = cfg->sc[i].node;
        snprintf(p->name, sizeof p->name, "router network %u", p->network);
        if (nc.name == NULL)
            nc.name = p->name;
        bacsc_sc_node_callbacks cb = {.npdu = sc_npdu, .state_changed = sc_state, .user = p};
        char e[200];
        if ((rc = bacsc_sc_node_new(cfg->loop, &nc, &cb, &p->node, e, sizeof e)) < 0) {
            snprintf(err, errlen, "network %u: %s", p->network, e);
            return rc;
        }
        h->nsc++;
        bacsc_router_set_port_up(h->router, p->index, false);  /* until the hub answers */
    }
    return BACSC_OK;
}

int bacsc_router_host_new(const bacsc_router_host_config *cfg, bacsc_router_host **out,
                          char *err, size_t errlen)
{
    if (cfg == NULL || out == NULL || cfg->loop == NULL || cfg->nsc == 0 ||
        cfg->nsc > BACSC_ROUTER_HOST_MAX_SC) {
        snprintf(err, errlen, "a router needs 1..%d BACnet/SC networks", BACSC_ROUTER_HOST_MAX_SC);
        return BACSC_ERR_INVALID_ARG;
    }
    bacsc_router_host *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return BACSC_ERR_NOMEM;
    }
    h->loop = cfg->loop;
    h->bip_network = cfg->bip_network;
    h->cur_port = BACSC_ROUTER_LOCAL_PORT;
    int rc = make_router(h, cfg, err, errlen);
    if (rc >= 0)
        rc = make_links(h, cfg, err, errlen);
    if (rc >= 0)
        rc = make_device(h, cfg, err, errlen);
    if (rc < 0) {
        bacsc_router_host_free(h);
        return rc;
    }
    *out = h;
    return BACSC_OK;
}

int bacsc_router_host_start(bacsc_router_host *h)
{
    for (unsigned i = 0; i < h->nsc; i++) {
        int rc = bacsc_sc_node_start(h->sc[i].node);
        if (rc < 0)
            return rc;
    }
    uint64_t now = bacsc_loop_now(h->loop);
    bacsc_router_announce(h->router, 0, now);
    bacsc_router_discover(h->router, 0, now);
    bacsc_address bcast = bacsc_address_local_broadcast();
    h->cur_port = 0;
    bacsc_device_send_iam(h->dev, &bcast, now);
    h->cur_port = BACSC_ROUTER_LOCAL_PORT;
    return BACSC_OK;
}

void bacsc_router_host_stop(bacsc_router_host *h)
{
    for (unsigned i = 0; i < h->nsc; i++)
        bacsc_sc_node_stop(h->sc[i].node);
}

bool bacsc_router_host_idle(const bacsc_router_host *h)
{
    for (unsigned i = 0; i < h->nsc; i++)
        if (!bacsc_sc_node_idle(h->sc[i].node))
            return false;
    return true;
}

void bacsc_router_host_free(bacsc_router_host *h)
{
    if (h == NULL)
        return;
    bacsc_device_free(h->dev);
    for (unsigned i = 0; i < h->nsc; i++)
        bacsc_sc_node_free(h->sc[i].node);
    bacsc_bip_link_free(h->bip);
    bacsc_router_free(h->router);
    free(h);
}

bacsc_router *bacsc_router_host_router(bacsc_router_host *h)
{
    return h->router;
}

bacsc_device *bacsc_router_host_device(bacsc_router_host *h)
{
    return h->dev;
}

bacsc_bip_link *bacsc_router_host_bip(bacsc_router_host *h)
{
    return h->bip;
}

bacsc_sc_node *bacsc_router_host_sc_node(bacsc_router_host *h, unsigned i)
{
    return i < h->nsc ? h->sc[i].node : NULL;
}

unsigned bacsc_router_host_sc_count(const bacsc_router_host *h)
{
    return h->nsc;
}
