/*
 * router.c — a BACnet router's network layer (bacsc/router.h).
 *
 * Every NPDU is decoded once with the NPDU codec (npdu.h); a forwarded copy
 * is re-encoded from the decoded header into r->out with the fields the
 * router changes (SNET/SADR added, DNET/DADR removed, hop count), so an
 * NPDU never leaves with a header the codec would refuse. The application
 * entity's copy (a DNET removed) goes through r->local_buf, a second buffer,
 * because the application answers synchronously through
 * bacsc_router_originate(), which uses r->out.
 */
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/router.h"

#define DEFAULT_MAX_NPDU 1497u
#define MIN_MAX_NPDU 501u
#define OUT_CAP (BACSC_ROUTER_MAX_NPDU + BACSC_NPDU_MAX_HEADER)

typedef struct rport {
    uint16_t network;
    size_t max_npdu;
    uint8_t mac_len;
    bacsc_address own;           /* our MAC on the port (mac_len 0 = unknown) */
    bool down;                   /* link down: nothing forwarded to it */
} rport;

struct bacsc_router {
    rport ports[BACSC_ROUTER_MAX_PORTS];
    unsigned nports;
    /* routes[0..nports-1] are the directly connected networks, in port
     * order; learned routes follow. */
    bacsc_router_route *routes;
    size_t nroutes, cap_routes;
    bacsc_router_send_fn send;
    bacsc_router_local_fn local;
    void *user;
    bacsc_router_stats stats;
    bool rx_broadcast;           /* the NPDU being handled came as a link broadcast */
    uint8_t out[OUT_CAP];
    uint8_t local_buf[OUT_CAP];
};

/* ---- lifecycle ---------------------------------------------------------------- */

static int check_config(const bacsc_router_config *cfg)
{
    if (cfg == NULL || cfg->send == NULL || cfg->nports < 2 ||
        cfg->nports > BACSC_ROUTER_MAX_PORTS || cfg->max_routes > BACSC_ROUTER_MAX_ROUTES_LIMIT)
        return BACSC_ERR_INVALID_ARG;
    for (unsigned i = 0; i < cfg->nports; i++) {
        const bacsc_router_port_config *p = &cfg->ports[i];
        size_t max = p->max_npdu ? p->max_npdu : DEFAULT_MAX_NPDU;
        if (p->network == 0 || p->network == BACSC_NET_GLOBAL || max < MIN_MAX_NPDU ||
            max > BACSC_ROUTER_MAX_NPDU || p->mac_len == 0 || p->mac_len > BACSC_MAC_MAX)
            return BACSC_ERR_INVALID_ARG;
        for (unsigned j = 0; j < i; j++)
            if (cfg->ports[j].network == p->network)
                return BACSC_ERR_INVALID_ARG;
    }
    return BACSC_OK;
}

int bacsc_router_new(const bacsc_router_config *cfg, bacsc_router **out)
{
    int rc = check_config(cfg);
    if (rc < 0 || out == NULL)
        return BACSC_ERR_INVALID_ARG;
    bacsc_router *r = calloc(1, sizeof *r);
    if (r == NULL)
        return BACSC_ERR_NOMEM;
    size_t max_routes = cfg->max_routes ? cfg->max_routes : BACSC_ROUTER_MAX_ROUTES_DEFAULT;
    r->cap_routes = cfg->nports + max_routes;
    r->routes = calloc(r->cap_routes, sizeof *r->routes);
    if (r->routes == NULL) {
        free(r);
        return BACSC_ERR_NOMEM;
    }
    r->nports = cfg->nports;
    for (unsigned i = 0; i < cfg->nports; i++) {
        const bacsc_router_port_config *p = &cfg->ports[i];
        r->ports[i].network = p->network;
        r->ports[i].max_npdu = p->max_npdu ? p->max_npdu : DEFAULT_MAX_NPDU;
        r->ports[i].mac_len = p->mac_len;
        bacsc_router_route *rt = &r->routes[r->nroutes++];
        rt->network = p->network;
        rt->port = i;
        rt->direct = true;
    }
    r->send = cfg->send;
    r->local = cfg->local;
    r->user = cfg->user;
    *out = r;
    return BACSC_OK;
}

void bacsc_router_free(bacsc_router *r)
{
    if (r == NULL)
        return;
    free(r->routes);
    free(r);
}

int bacsc_router_set_port_mac(bacsc_router *r, unsigned port, const bacsc_address *mac)
{
    if (r == NULL || port >= r->nports || mac == NULL || mac->mac_len > BACSC_MAC_MAX)
        return BACSC_ERR_INVALID_ARG;
    r->ports[port].own = bacsc_address_local(mac->mac, mac->mac_len);
    return BACSC_OK;
}

int bacsc_router_set_port_up(bacsc_router *r, unsigned port, bool up)
{
    if (r == NULL || port >= r->nports)
        return BACSC_ERR_INVALID_ARG;
    r->ports[port].down = !up;
    return BACSC_OK;
}

int bacsc_router_set_port_max_npdu(bacsc_router *r, unsigned port, size_t max_npdu)
{
    if (r == NULL || port >= r->nports)
        return BACSC_ERR_INVALID_ARG;
    if (max_npdu == 0)
        max_npdu = DEFAULT_MAX_NPDU;
    if (max_npdu < MIN_MAX_NPDU || max_npdu > BACSC_ROUTER_MAX_NPDU)
        return BACSC_ERR_INVALID_ARG;
    r->ports[port].max_npdu = max_npdu;
    return BACSC_OK;
}

/* ---- routing table ------------------------------------------------------------- */

static bacsc_router_route *find_route(bacsc_router *r, uint16_t network)
{
    for (size_t i = 0; i < r->nroutes; i++)
        if (r->routes[i].network == network)
            return &r->routes[i];
    return NULL;
}

const bacsc_router_route *bacsc_router_find_route(const bacsc_router *r, uint16_t network)
{
    return r ? find_route((bacsc_router *)r, network) : NULL;
}

size_t bacsc_router_route_count(const bacsc_router *r)
{
    return r ? r->nroutes : 0;
}

const bacsc_router_route *bacsc_router_route_at(const bacsc_router *r, size_t i)
{
    return r && i < r->nroutes ? &r->routes[i] : NULL;
}

unsigned bacsc_router_port_count(const bacsc_router *r)
{
    return r ? r->nports : 0;
}

uint16_t bacsc_router_port_network(const bacsc_router *r, unsigned port)
{
    return r && port < r->nports ? r->ports[port].network : 0;
}

void bacsc_router_get_stats(const bacsc_router *r, bacsc_router_stats *st)
{
    if (r && st)
        *st = r->stats;
}

/* Learn (or move) the route to `network` through `next_hop` on `port`.
 * Returns true when the table changed. Directly connected networks are
 * never overridden. */
static bool learn_route(bacsc_router *r, uint16_t network, unsigned port,
                        const bacsc_address *next_hop)
{
    if (network == 0 || network == BACSC_NET_GLOBAL)
        return false;
    bacsc_router_route *rt = find_route(r, network);
    if (rt && rt->direct)
        return false;
    if (rt == NULL) {
        if (r->nroutes >= r->cap_routes) {
            r->stats.routes_full++;
            return false;
        }
        rt = &r->routes[r->nroutes++];
        memset(rt, 0, sizeof *rt);
        rt->network = network;
    } else if (rt->port == port && bacsc_address_equal(&rt->next_hop, next_hop)) {
        return false;
    }
    rt->port = port;
    rt->next_hop = *next_hop;
    rt->busy = false;
    r->stats.routes_learned++;
    return true;
}

static void forget_route(bacsc_router *r, uint16_t network)
{
    for (size_t i = r->nports; i < r->nroutes; i++) {
        if (r->routes[i].network == network) {
            r->routes[i] = r->routes[--r->nroutes];
            return;
        }
    }
}

/* Is `rt` held back by a Router-Busy-To-Network? Expired holds are lifted. */
static bool route_busy(bacsc_router_route *rt, uint64_t now)
{
    if (rt->busy && now >= rt->busy_until)
        rt->busy = false;
    return rt->busy;
}

/* ---- sending ------------------------------------------------------------------- */

static int send_out(bacsc_router *r, unsigned p, const bacsc_address *mac, const uint8_t *npdu,
                    size_t len)
{
    bacsc_address to = bacsc_address_local(mac ? mac->mac : NULL, mac ? mac->mac_len : 0);
    int rc = r->send(r->user, p, &to, npdu, len);
    if (rc < 0)
        r->stats.send_errors++;
    return rc;
}

/* Send a network layer message `type` with `data` on port p to `mac`
 * (NULL: broadcast), to the remote station dnet/dadr when dnet != 0. */
static int send_nmsg(bacsc_router *r, unsigned p, const bacsc_address *mac, uint16_t dnet,
                     const uint8_t *dadr, uint8_t dlen, uint8_t type, const uint8_t *data,
                     size_t data_len)
{
    bacsc_npdu n;
    bacsc_npdu_init(&n, false);
    n.network_msg = true;
    n.msg_type = type;
    if (dnet != 0) {
        n.has_dnet = true;
        n.dnet = dnet;
        n.dlen = dlen;
        n.dadr = dadr;
    }
    n.payload = data;
    n.payload_len = data_len;
    int len = bacsc_npdu_encode(r->out, sizeof r->out, &n);
    if (len < 0)
        return len;
    if ((size_t)len > r->ports[p].max_npdu)
        return BACSC_ERR_LIMIT;
    return send_out(r, p, mac, r->out, (size_t)len);
}

/* Reject-Message-To-Network back to the source of `n` (received on port p
 * from `src`): to the station itself, or — when it came through another
 * router — to SNET/SADR through that router. */
static void send_reject(bacsc_router *r, unsigned p, const bacsc_address *src,
                        const bacsc_npdu *n, uint8_t reason, uint16_t network)
{
    if (n->network_msg && n->msg_type == BACSC_NMSG_REJECT_MESSAGE_TO_NETWORK)
        return;  /* never answer a reject with a reject */
    uint8_t data[3] = {reason, (uint8_t)(network >> 8), (uint8_t)network};
    /* An SNET naming this port's own network (or the broadcast network) is
     * bogus: the sender is then answered directly, never "through" itself. */
    bool remote = n->has_snet && n->snet != r->ports[p].network && n->snet != 0xFFFF;
    send_nmsg(r, p, src, remote ? n->snet : 0, remote ? n->sadr : NULL, remote ? n->slen : 0,
              BACSC_NMSG_REJECT_MESSAGE_TO_NETWORK, data, sizeof data);
    r->stats.rejects_sent++;
    if (reason == BACSC_REJECT_NET_NOT_ROUTER)
        r->stats.rejects_unknown_net++;
    else if (reason == BACSC_REJECT_NET_TOO_LONG)
        r->stats.rejects_too_long++;
}

/*
 * Forward `n` (received on port `in` from `src`) out of port `p` to `mac`
 * (NULL: broadcast). SNET/SADR are added when absent; `strip` removes
 * DNET/DADR/hop count (delivery onto the destination network), else the
 * hop count is `hop`. A copy too long for port p is refused with
 * Reject-Message-To-Network reason 4 (a broadcast copy is only counted).
 */
static int forward(bacsc_router *r, unsigned in, const bacsc_address *src, const bacsc_npdu *n,
                   unsigned p, const bacsc_address *mac, bool strip, uint8_t hop)
{
    if (r->ports[p].down) {
        r->stats.port_down++;
        if (mac != NULL)
            send_reject(r, in, src, n, BACSC_REJECT_NET_BUSY,
                        n->has_dnet ? n->dnet : r->ports[p].network);
        return BACSC_ERR_STATE;
    }
    bacsc_npdu o = *n;
    if (!o.has_snet) {
        o.has_snet = true;
        o.snet = r->ports[in].network;
        o.slen = src->mac_len;
        o.sadr = src->mac;
    }
    if (strip) {
        o.has_dnet = false;
        o.dnet = 0;
        o.dlen = 0;
        o.dadr = NULL;
    } else {
        o.hop_count = hop;
    }
    int len = bacsc_npdu_encode(r->out, sizeof r->out, &o);
    if (len < 0) {
        r->stats.dropped++;
        return len;
    }
    if ((size_t)len > r->ports[p].max_npdu) {
        uint16_t dnet = n->has_dnet ? n->dnet : r->ports[p].network;
        if (mac != NULL)
            send_reject(r, in, src, n, BACSC_REJECT_NET_TOO_LONG, dnet);
        else
            r->stats.rejects_too_long++;
        return BACSC_ERR_LIMIT;
    }
    r->stats.forwarded++;
    return send_out(r, p, mac, r->out, (size_t)len);
}

/* Give the application entity an NPDU, with its DNET removed when `strip`. */
static void deliver_local(bacsc_router *r, unsigned p, const bacsc_address *src,
                          const bacsc_npdu *n, const uint8_t *npdu, size_t len, bool strip,
                          uint64_t now)
{
    if (r->local == NULL)
        return;
    if (strip) {
        bacsc_npdu o = *n;
        o.has_dnet = false;
        o.dlen = 0;
        o.dadr = NULL;
        int l = bacsc_npdu_encode(r->local_buf, sizeof r->local_buf, &o);
        if (l < 0)
            return;
        npdu = r->local_buf;
        len = (size_t)l;
    }
    r->stats.local++;
    r->local(r->user, p, src, npdu, len, now);
}

/* ---- network layer messages ----------------------------------------------------- */

/* The networks reachable through ports other than `p` (all when p is
 * BACSC_ROUTER_LOCAL_PORT), as 2-octet numbers into buf; returns octets. */
static size_t reachable_except(const bacsc_router *r, unsigned p, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nroutes && n + 2 <= cap; i++) {
        if (r->routes[i].port == p)
            continue;
        buf[n++] = (uint8_t)(r->routes[i].network >> 8);
        buf[n++] = (uint8_t)r->routes[i].network;
    }
    return n;
}

static size_t nmsg_cap(const bacsc_router *r, unsigned p)
{
    size_t cap = r->ports[p].max_npdu - 8;  /* room for a header with no addresses */
    return cap > 1024 ? 1024 : cap;
}

void bacsc_router_announce(bacsc_router *r, unsigned port, uint64_t now)
{
    (void)now;
    if (r == NULL)
        return;
    uint8_t list[1024];
    for (unsigned p = 0; p < r->nports; p++) {
        if (port != BACSC_ROUTER_LOCAL_PORT && port != p)
            continue;
        size_t n = reachable_except(r, p, list, nmsg_cap(r, p));
        if (n)
            send_nmsg(r, p, NULL, 0, NULL, 0, BACSC_NMSG_I_AM_ROUTER_TO_NETWORK, list, n);
    }
}

void bacsc_router_discover(bacsc_router *r, unsigned port, uint64_t now)
{
    (void)now;
    if (r == NULL)
        return;
    for (unsigned p = 0; p < r->nports; p++)
        if (port == BACSC_ROUTER_LOCAL_PORT || port == p)
            send_nmsg(r, p, NULL, 0, NULL, 0, BACSC_NMSG_WHO_IS_ROUTER_TO_NETWORK, NULL, 0);
}

void bacsc_router_port_busy(bacsc_router *r, unsigned port, bool busy, uint64_t now)
{
    (void)now;
    if (r == NULL || port >= r->nports)
        return;
    uint8_t list[1024];
    size_t n = 0;
    for (size_t i = 0; i < r->nroutes && n + 2 <= sizeof list; i++) {
        if (r->routes[i].port != port)
            continue;
        list[n++] = (uint8_t)(r->routes[i].network >> 8);
        list[n++] = (uint8_t)r->routes[i].network;
    }
    uint8_t type = busy ? BACSC_NMSG_ROUTER_BUSY_TO_NETWORK : BACSC_NMSG_ROUTER_AVAILABLE_TO_NETWORK;
    for (unsigned p = 0; p < r->nports; p++)
        if (p != port)
            send_nmsg(r, p, NULL, 0, NULL, 0, type, list, n < nmsg_cap(r, p) ? n : nmsg_cap(r, p));
}

/* Send `type` with `list` as a broadcast on every port but `except`. */
static void broadcast_others(bacsc_router *r, unsigned except, uint8_t type, const uint8_t *list,
                             size_t n)
{
    for (unsigned p = 0; p < r->nports; p++)
        if (p != except)
            send_nmsg(r, p, NULL, 0, NULL, 0, type, list, n);
}

static void who_is_router(bacsc_router *r, unsigned p, const bacsc_address *src,
                          const bacsc_npdu *n)
{
    uint8_t list[1024];
    if (n->payload_len == 0) {
        size_t len = reachable_except(r, p, list, nmsg_cap(r, p));
        if (len)
            send_nmsg(r, p, NULL, 0, NULL, 0, BACSC_NMSG_I_AM_ROUTER_TO_NETWORK, list, len);
        return;
    }
    if (n->payload_len != 2) {
        r->stats.rx_malformed++;
        return;
    }
    uint16_t net = (uint16_t)(n->payload[0] << 8 | n->payload[1]);
    bacsc_router_route *rt = find_route(r, net);
    if (rt && rt->port != p) {
        send_nmsg(r, p, NULL, 0, NULL, 0, BACSC_NMSG_I_AM_ROUTER_TO_NETWORK, n->payload, 2);
    } else if (rt == NULL) {
        /* Not known: ask the other networks, on behalf of the requester. */
        for (unsigned q = 0; q < r->nports; q++)
            if (q != p)
                forward(r, p, src, n, q, NULL, true, 0);
    }
}

static void i_am_router(bacsc_router *r, unsigned p, const bacsc_address *src,
                        const bacsc_npdu *n)
{
    if (n->payload_len == 0 || n->payload_len % 2) {
        r->stats.rx_malformed++;
        return;
    }
    uint8_t learned[1024];
    size_t nl = 0;
    for (size_t i = 0; i + 1 < n->payload_len; i += 2) {
        uint16_t net = (uint16_t)(n->payload[i] << 8 | n->payload[i + 1]);
        if (learn_route(r, net, p, src) && nl + 2 <= sizeof learned) {
            learned[nl++] = n->payload[i];
            learned[nl++] = n->payload[i + 1];
        }
    }
    if (nl)  /* tell the other networks where these are now */
        broadcast_others(r, p, BACSC_NMSG_I_AM_ROUTER_TO_NETWORK, learned, nl);
}

static void router_busy(bacsc_router *r, unsigned p, const bacsc_address *src,
                        const bacsc_npdu *n, bool busy, uint64_t now)
{
    if (n->payload_len % 2) {
        r->stats.rx_malformed++;
        return;
    }
    for (size_t i = r->nports; i < r->nroutes; i++) {
        bacsc_router_route *rt = &r->routes[i];
        if (rt->port != p || !bacsc_address_equal(&rt->next_hop, src))
            continue;
        bool listed = n->payload_len == 0;
        for (size_t k = 0; k + 1 < n->payload_len && !listed; k += 2)
            listed = rt->network == (uint16_t)(n->payload[k] << 8 | n->payload[k + 1]);
        if (listed) {
            rt->busy = busy;
            rt->busy_until = now + BACSC_ROUTER_BUSY_US;
        }
    }
    broadcast_others(r, p,
                     busy ? BACSC_NMSG_ROUTER_BUSY_TO_NETWORK
                          : BACSC_NMSG_ROUTER_AVAILABLE_TO_NETWORK,
                     n->payload, n->payload_len);
}

/* Initialize-Routing-Table: a query (no ports) is answered with the whole
 * table; an update is refused (reason 0): the table is not writable. */
static void init_routing_table(bacsc_router *r, unsigned p, const bacsc_address *src,
                               const bacsc_npdu *n)
{
    if (n->payload_len < 1) {
        r->stats.rx_malformed++;
        return;
    }
    if (n->payload[0] != 0) {
        send_reject(r, p, src, n, BACSC_REJECT_NET_OTHER, r->ports[p].network);
        return;
    }
    uint8_t ack[1 + 255 * 4];
    size_t cap = nmsg_cap(r, p) < sizeof ack ? nmsg_cap(r, p) : sizeof ack;
    size_t len = 1;
    uint8_t count = 0;
    for (size_t i = 0; i < r->nroutes && count < 255 && len + 4 <= cap; i++, count++) {
        ack[len++] = (uint8_t)(r->routes[i].network >> 8);
        ack[len++] = (uint8_t)r->routes[i].network;
        ack[len++] = (uint8_t)(r->routes[i].port + 1);  /* port ids are 1-based */
        ack[len++] = 0;                                  /* no port info */
    }
    ack[0] = count;
    send_nmsg(r, p, src, n->has_snet ? n->snet : 0, n->sadr, n->has_snet ? n->slen : 0,
              BACSC_NMSG_INITIALIZE_ROUTING_TABLE_ACK, ack, len);
}

/* A network layer message for this router (no DNET, a global broadcast, or
 * DNET of the arrival network). */
static void network_msg(bacsc_router *r, unsigned p, const bacsc_address *src,
                        const bacsc_npdu *n, uint64_t now)
{
    r->stats.network_msgs++;
    uint8_t num[3];
    switch (n->msg_type) {
    case BACSC_NMSG_WHO_IS_ROUTER_TO_NETWORK:
        who_is_router(r, p, src, n);
        break;
    case BACSC_NMSG_I_AM_ROUTER_TO_NETWORK:
        i_am_router(r, p, src, n);
        break;
    case BACSC_NMSG_I_COULD_BE_ROUTER_TO_NETWORK:
    case BACSC_NMSG_INITIALIZE_ROUTING_TABLE_ACK:
        break;  /* nothing to do: we do not dial up, we asked nothing */
    case BACSC_NMSG_REJECT_MESSAGE_TO_NETWORK:
        r->stats.rejects_received++;
        if (n->payload_len >= 3 && n->payload[0] == BACSC_REJECT_NET_NOT_ROUTER)
            forget_route(r, (uint16_t)(n->payload[1] << 8 | n->payload[2]));
        break;
    case BACSC_NMSG_ROUTER_BUSY_TO_NETWORK:
    case BACSC_NMSG_ROUTER_AVAILABLE_TO_NETWORK:
        router_busy(r, p, src, n, n->msg_type == BACSC_NMSG_ROUTER_BUSY_TO_NETWORK, now);
        break;
    case BACSC_NMSG_INITIALIZE_ROUTING_TABLE:
        init_routing_table(r, p, src, n);
        break;
    case BACSC_NMSG_WHAT_IS_NETWORK_NUMBER:
        if (n->has_snet || n->has_dnet)
            break;  /* only asked on the local network (clause 6.4.19) */
        num[0] = (uint8_t)(r->ports[p].network >> 8);
        num[1] = (uint8_t)r->ports[p].network;
        num[2] = 1;  /* configured */
        send_nmsg(r, p, NULL, 0, NULL, 0, BACSC_NMSG_NETWORK_NUMBER_IS, num, 3);
        break;
    case BACSC_NMSG_NETWORK_NUMBER_IS:
        if (n->payload_len < 3)
            r->stats.rx_malformed++;
        else if (!n->has_snet &&
                 (uint16_t)(n->payload[0] << 8 | n->payload[1]) != r->ports[p].network)
            r->stats.number_conflicts++;
        break;
    default:
        send_reject(r, p, src, n, BACSC_REJECT_NET_UNKNOWN_MESSAGE,
                    n->has_dnet ? n->dnet : r->ports[p].network);
        break;
    }
}

/* ---- forwarding ------------------------------------------------------------------ */

/* A global broadcast: every other port (DNET 0xFFFF kept), then us. */
static void global_broadcast(bacsc_router *r, unsigned p, const bacsc_address *src,
                             const bacsc_npdu *n, const uint8_t *npdu, size_t len, uint64_t now)
{
    if (n->hop_count <= 1) {
        r->stats.hop_exhausted++;
    } else {
        for (unsigned q = 0; q < r->nports; q++)
            if (q != p)
                forward(r, p, src, n, q, NULL, false, (uint8_t)(n->hop_count - 1));
    }
    if (n->network_msg)
        network_msg(r, p, src, n, now);
    else
        deliver_local(r, p, src, n, npdu, len, false, now);
}

static bool is_own_mac(const bacsc_router *r, unsigned p, const bacsc_npdu *n)
{
    const bacsc_address *own = &r->ports[p].own;
    return own->mac_len && n->dlen == own->mac_len && memcmp(n->dadr, own->mac, n->dlen) == 0;
}

/* An NPDU with a DNET other than 0xFFFF. */
static void route_npdu(bacsc_router *r, unsigned p, const bacsc_address *src, const bacsc_npdu *n,
                       const uint8_t *npdu, size_t len, uint64_t now)
{
    bacsc_router_route *rt = find_route(r, n->dnet);
    if (rt == NULL) {
        if (r->rx_broadcast)
            r->stats.dropped++;  /* not addressed to us: another router may know it */
        else
            send_reject(r, p, src, n, BACSC_REJECT_NET_NOT_ROUTER, n->dnet);
        uint8_t net[2] = {(uint8_t)(n->dnet >> 8), (uint8_t)n->dnet};
        broadcast_others(r, p, BACSC_NMSG_WHO_IS_ROUTER_TO_NETWORK, net, sizeof net);
        return;
    }
    bool for_us = rt->direct && (n->dlen == 0 || is_own_mac(r, rt->port, n));
    if (rt->direct && rt->port == p) {
        /* DNET of the arrival network: only we can be meant. */
        if (!for_us) {
            r->stats.dropped++;
            return;
        }
    } else if (rt->port == p || n->dlen > BACSC_MAC_MAX) {
        r->stats.dropped++;  /* would go back where it came from / no such MAC */
        return;
    } else if (n->hop_count <= 1) {
        r->stats.hop_exhausted++;
        return;
    } else if (!rt->direct) {
        if (route_busy(rt, now))
            r->stats.busy_dropped++;
        else
            forward(r, p, src, n, rt->port, &rt->next_hop, false, (uint8_t)(n->hop_count - 1));
        return;
    } else if (!(for_us && n->dlen)) {
        bacsc_address to = bacsc_address_local(n->dadr, n->dlen);
        forward(r, p, src, n, rt->port, n->dlen ? &to : NULL, true, 0);
    }
    if (for_us) {
        if (n->network_msg)
            network_msg(r, p, src, n, now);
        else
            deliver_local(r, p, src, n, npdu, len, true, now);
    }
}

int bacsc_router_input(bacsc_router *r, unsigned port, const bacsc_address *src,
                       const uint8_t *npdu, size_t len, uint64_t now)
{
    if (r == NULL || port >= r->nports || src == NULL || npdu == NULL)
        return BACSC_ERR_INVALID_ARG;
    r->stats.rx_npdus++;
    bacsc_npdu n;
    if (bacsc_npdu_decode(npdu, len, &n) < 0) {
        r->stats.rx_malformed++;
        return BACSC_ERR_MALFORMED;
    }
    if (src->mac_len == 0 || src->mac_len > BACSC_MAC_MAX) {
        r->stats.dropped++;  /* no source to name in SADR or to answer */
        return BACSC_OK;
    }
    bacsc_address from = bacsc_address_local(src->mac, src->mac_len);
    if (!n.has_dnet) {
        if (n.network_msg)
            network_msg(r, port, &from, &n, now);
        else
            deliver_local(r, port, &from, &n, npdu, len, false, now);
    } else if (n.dnet == BACSC_NET_GLOBAL) {
        global_broadcast(r, port, &from, &n, npdu, len, now);
    } else {
        route_npdu(r, port, &from, &n, npdu, len, now);
    }
    return BACSC_OK;
}

int bacsc_router_input_broadcast(bacsc_router *r, unsigned port, const bacsc_address *src,
                                 const uint8_t *npdu, size_t len, uint64_t now)
{
    if (r == NULL)
        return BACSC_ERR_INVALID_ARG;
    r->rx_broadcast = true;
    int rc = bacsc_router_input(r, port, src, npdu, len, now);
    r->rx_broadcast = false;
    return rc;
}

/* ---- the application entity's own traffic ----------------------------------------- */

static int originate_routed(bacsc_router *r, const bacsc_npdu *n, const uint8_t *npdu,
                            size_t len, uint64_t now)
{
    if (n->dnet == BACSC_NET_GLOBAL) {
        int rc = BACSC_OK;
        for (unsigned p = 0; p < r->nports; p++) {
            if (len > r->ports[p].max_npdu)
                rc = BACSC_ERR_LIMIT;
            else if (send_out(r, p, NULL, npdu, len) < 0)
                rc = BACSC_ERR_IO;
        }
        return rc;
    }
    bacsc_router_route *rt = find_route(r, n->dnet);
    if (rt == NULL) {
        uint8_t net[2] = {(uint8_t)(n->dnet >> 8), (uint8_t)n->dnet};
        broadcast_others(r, BACSC_ROUTER_LOCAL_PORT, BACSC_NMSG_WHO_IS_ROUTER_TO_NETWORK, net, 2);
        return BACSC_ERR_NOT_FOUND;
    }
    if (!rt->direct) {
        if (route_busy(rt, now))
            return BACSC_ERR_AGAIN;
        if (len > r->ports[rt->port].max_npdu)
            return BACSC_ERR_LIMIT;
        return send_out(r, rt->port, &rt->next_hop, npdu, len);
    }
    if (n->dlen > BACSC_MAC_MAX)
        return BACSC_ERR_INVALID_ARG;
    bacsc_npdu o = *n;
    o.has_dnet = false;
    o.dlen = 0;
    o.dadr = NULL;
    int l = bacsc_npdu_encode(r->out, sizeof r->out, &o);
    if (l < 0)
        return l;
    if ((size_t)l > r->ports[rt->port].max_npdu)
        return BACSC_ERR_LIMIT;
    bacsc_address to = bacsc_address_local(n->dadr, n->dlen);
    return send_out(r, rt->port, &to, r->out, (size_t)l);
}

int bacsc_router_originate(bacsc_router *r, unsigned port, const bacsc_address *dest,
                           const uint8_t *npdu, size_t len, uint64_t now)
{
    if (r == NULL || dest == NULL || npdu == NULL)
        return BACSC_ERR_INVALID_ARG;
    bacsc_npdu n;
    if (bacsc_npdu_decode(npdu, len, &n) < 0)
        return BACSC_ERR_MALFORMED;
    if (n.has_dnet)
        return originate_routed(r, &n, npdu, len, now);
    if (port == BACSC_ROUTER_LOCAL_PORT) {
        if (dest->mac_len != 0)
            return BACSC_ERR_INVALID_ARG;
        int rc = BACSC_OK;
        for (unsigned p = 0; p < r->nports; p++)
            if (len <= r->ports[p].max_npdu && send_out(r, p, NULL, npdu, len) < 0)
                rc = BACSC_ERR_IO;
        return rc;
    }
    if (port >= r->nports)
        return BACSC_ERR_INVALID_ARG;
    if (len > r->ports[port].max_npdu)
        return BACSC_ERR_LIMIT;
    return send_out(r, port, dest, npdu, len);
}

const char *bacsc_router_reject_reason_name(uint8_t reason)
{
    static const char *const names[] = {
        "other error", "not a router to the network (unknown network)", "router busy",
        "unknown network message type", "message too long", "security error",
        "addressing error"};
    return reason < sizeof names / sizeof names[0] ? names[reason] : NULL;
}
