/*
 * sc_hub.c — the BACnet/SC hub function: accepting connections, VMAC and UUID
 * tables, unicast/broadcast forwarding with the header rewrite. Sans-I/O; see
 * bacsc/sc_hub.h and docs/sc-core.md.
 *
 * Data structures, chosen for 10,000 connections:
 *   - every peer is on a doubly linked list (all sockets) and, once its
 *     Connect-Request was accepted, on a second list of connected nodes that a
 *     broadcast walks;
 *   - two chained hash tables (VMAC → peer, UUID → peer), intrusive chains,
 *     keyed hashes with a random seed so peers cannot aim at one bucket;
 *   - a binary min-heap of connection deadlines. A peer's key may be earlier
 *     than its real deadline (traffic only postpones deadlines), which merely
 *     wakes the hub early; keys are refreshed after every call into a peer.
 * Received messages are copied once into a reference-counted buffer with room
 * for the 6-octet header growth, rewritten in place, and the same buffer is
 * queued on every destination.
 */
#include <stdlib.h>
#include <string.h>

#include "bacsc/heap.h"

#include "bacsc/error.h"
#include "bacsc/sc_hub.h"
#include "core/sc_internal.h"

struct bacsc_sc_hub_peer {
    bacsc_sc_hub *hub;
    void *io;
    bacsc_sc_conn *conn;
    bool in_table;            /* in the VMAC/UUID tables and the connected list */
    bool closing;             /* close requested from (or reported by) the I/O layer */
    bacsc_vmac vmac;
    bacsc_uuid uuid;
    uint64_t since;
    bacsc_sc_hub_peer *vnext, *unext;       /* hash chains */
    bacsc_sc_hub_peer *prev, *next;         /* all peers */
    bacsc_sc_hub_peer *cprev, *cnext;       /* connected peers */
    bacsc_heap_node deadline; /* key: the connection's expiry (may be early) */
};

struct bacsc_sc_hub {
    bacsc_sc_hub_config cfg;
    bacsc_sc_hub_callbacks cb;
    void *user;
    uint64_t seed;
    uint64_t now;             /* `now` of the call in progress */
    bacsc_sc_hub_peer **vtab, **utab;
    size_t tab_cap;           /* power of two, both tables */
    size_t n_peers, n_connected;
    bacsc_sc_hub_peer *all, *connected;
    bacsc_heap deadlines; /* of bacsc_sc_hub_peer.deadline */
    bacsc_sc_hub_stats stats;
};

/* ---- hashing ------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static size_t hash_vmac(const bacsc_sc_hub *hub, const bacsc_vmac *v)
{
    return (size_t)(mix64(load_be(v->b, BACSC_VMAC_LEN) ^ hub->seed) & (hub->tab_cap - 1));
}

static size_t hash_uuid(const bacsc_sc_hub *hub, const bacsc_uuid *u)
{
    uint64_t h = mix64(load_be(u->b, 8) ^ hub->seed);
    h = mix64(h ^ load_be(u->b + 8, 8));
    return (size_t)(h & (hub->tab_cap - 1));
}

static bool uuid_equal(const bacsc_uuid *a, const bacsc_uuid *b)
{
    return memcmp(a->b, b->b, BACSC_UUID_LEN) == 0;
}

static bacsc_sc_hub_peer *lookup_vmac(const bacsc_sc_hub *hub, const bacsc_vmac *v)
{
    for (bacsc_sc_hub_peer *p = hub->vtab[hash_vmac(hub, v)]; p; p = p->vnext)
        if (bacsc_vmac_equal(&p->vmac, v))
            return p;
    return NULL;
}

static bacsc_sc_hub_peer *lookup_uuid(const bacsc_sc_hub *hub, const bacsc_uuid *u)
{
    for (bacsc_sc_hub_peer *p = hub->utab[hash_uuid(hub, u)]; p; p = p->unext)
        if (uuid_equal(&p->uuid, u))
            return p;
    return NULL;
}

static int tables_grow(bacsc_sc_hub *hub)
{
    size_t ncap = hub->tab_cap * 2;
    bacsc_sc_hub_peer **nv = calloc(ncap, sizeof *nv);
    bacsc_sc_hub_peer **nu = calloc(ncap, sizeof *nu);
    if (!nv || !nu) {
        free(nv);
        free(nu);
        return BACSC_ERR_NOMEM;
    }
    size_t old = hub->tab_cap;
    bacsc_sc_hub_peer **ov = hub->vtab;
    free(hub->utab);
    hub->vtab = nv;
    hub->utab = nu;
    hub->tab_cap = ncap;
    for (size_t i = 0; i < old; i++) {
        bacsc_sc_hub_peer *p = ov[i];
        while (p) {
            bacsc_sc_hub_peer *n = p->vnext;
            size_t hv = hash_vmac(hub, &p->vmac), hu = hash_uuid(hub, &p->uuid);
            p->vnext = nv[hv];
            nv[hv] = p;
            p->unext = nu[hu];
            nu[hu] = p;
            p = n;
        }
    }
    free(ov);
    return BACSC_OK;
}

static int table_insert(bacsc_sc_hub *hub, bacsc_sc_hub_peer *p)
{
    if (hub->n_connected + 1 > hub->tab_cap && tables_grow(hub) != BACSC_OK)
        return BACSC_ERR_NOMEM;
    size_t hv = hash_vmac(hub, &p->vmac), hu = hash_uuid(hub, &p->uuid);
    p->vnext = hub->vtab[hv];
    hub->vtab[hv] = p;
    p->unext = hub->utab[hu];
    hub->utab[hu] = p;
    p->cprev = NULL;
    p->cnext = hub->connected;
    if (hub->connected)
        hub->connected->cprev = p;
    hub->connected = p;
    p->in_table = true;
    hub->n_connected++;
    return BACSC_OK;
}

static void table_remove(bacsc_sc_hub *hub, bacsc_sc_hub_peer *p)
{
    if (!p->in_table)
        return;
    bacsc_sc_hub_peer **pp = &hub->vtab[hash_vmac(hub, &p->vmac)];
    while (*pp != p)
        pp = &(*pp)->vnext;
    *pp = p->vnext;
    pp = &hub->utab[hash_uuid(hub, &p->uuid)];
    while (*pp != p)
        pp = &(*pp)->unext;
    *pp = p->unext;
    if (p->cprev)
        p->cprev->cnext = p->cnext;
    else
        hub->connected = p->cnext;
    if (p->cnext)
        p->cnext->cprev = p->cprev;
    p->vnext = p->unext = p->cprev = p->cnext = NULL;
    p->in_table = false;
    hub->n_connected--;
}

/* ---- deadline heap (bacsc/heap.h) ---------------------------------------- */

static bacsc_sc_hub_peer *peer_of(bacsc_heap_node *n)
{
    return (bacsc_sc_hub_peer *)((char *)n - offsetof(bacsc_sc_hub_peer, deadline));
}

static int heap_push(bacsc_sc_hub *hub, bacsc_sc_hub_peer *p)
{
    p->deadline.key = bacsc_sc_conn_expiry(p->conn);
    return bacsc_heap_push(&hub->deadlines, &p->deadline);
}

static void heap_remove(bacsc_sc_hub *hub, bacsc_sc_hub_peer *p)
{
    bacsc_heap_remove(&hub->deadlines, &p->deadline);
}

/* Refresh a peer's key after a call that may have moved its deadline. */
static void heap_update(bacsc_sc_hub *hub, bacsc_sc_hub_peer *p)
{
    bacsc_heap_update(&hub->deadlines, &p->deadline, bacsc_sc_conn_expiry(p->conn));
}

/* ---- sending helpers ---------------------------------------------------- */

static void dropped(bacsc_sc_hub *hub, bacsc_sc_hub_peer *dst, int reason, size_t len)
{
    if (reason == BACSC_SC_HUB_DROP_TOO_LARGE)
        hub->stats.too_large_dropped++;
    else
        hub->stats.queue_dropped++;
    if (hub->cb.dropped)
        hub->cb.dropped(dst ? dst->io : NULL, reason, len, hub->user);
}

static void send_to_peer(bacsc_sc_hub *hub, bacsc_sc_hub_peer *dst, bacsc_sc_buf *b)
{
    int rc = bacsc_sc_conn_enqueue(dst->conn, b);
    if (rc == BACSC_ERR_LIMIT || rc == BACSC_ERR_NOMEM)
        dropped(hub, dst, BACSC_SC_HUB_DROP_QUEUE, b->len);
}

/* Does a message of `len` octets carrying `npdu_len` NPDU octets fit what
 * `dst` said it accepts? */
static bool fits(const bacsc_sc_hub_peer *dst, size_t len, const bacsc_bvlc_msg *msg)
{
    const bacsc_bvlc_connect *pc = bacsc_sc_conn_peer(dst->conn);
    if (pc->max_bvlc_len && len > pc->max_bvlc_len)
        return false;
    if (msg->function == BACSC_BVLC_ENCAPSULATED_NPDU && pc->max_npdu_len &&
        msg->payload_len > pc->max_npdu_len)
        return false;
    return true;
}

static void nak(bacsc_sc_hub *hub, bacsc_sc_hub_peer *src, const bacsc_bvlc_msg *msg,
                uint16_t error_code, const char *details)
{
    if (msg->function == BACSC_BVLC_RESULT)
        return;
    hub->stats.naks_sent++;
    bacsc_sc_conn_send_nak(src->conn, msg->function, msg->message_id, NULL, 0, error_code, details);
}

/* ---- forwarding --------------------------------------------------------- */

static void forward_unicast(bacsc_sc_hub *hub, bacsc_sc_hub_peer *src, const bacsc_bvlc_msg *msg,
                            const uint8_t *raw, size_t len)
{
    bacsc_sc_hub_peer *dst = lookup_vmac(hub, &msg->dest);
    if (!dst) {
        if (msg->function == BACSC_BVLC_ENCAPSULATED_NPDU) {
            hub->stats.unknown_dest_dropped++;
        } else if (msg->function != BACSC_BVLC_RESULT) {
            hub->stats.unknown_dest_naked++;
            nak(hub, src, msg, 0 /* other */, "destination VMAC not connected to this hub");
        } else {
            hub->stats.unknown_dest_dropped++;
        }
        return;
    }
    /* Destination removed; Originating VMAC added unless already there. */
    size_t out_len = len - BACSC_VMAC_LEN + (msg->has_orig ? 0 : BACSC_VMAC_LEN);
    if (!fits(dst, out_len, msg)) {
        dropped(hub, dst, BACSC_SC_HUB_DROP_TOO_LARGE, out_len);
        return;
    }
    bacsc_sc_buf *b = bacsc_sc_buf_new(len + BACSC_VMAC_LEN);
    if (!b) {
        dropped(hub, dst, BACSC_SC_HUB_DROP_QUEUE, out_len);
        return;
    }
    memcpy(b->data, raw, len);
    size_t l = len;
    if (bacsc_bvlc_rewrite_unicast(b->data, &l, b->cap, &src->vmac) != BACSC_OK) {
        bacsc_sc_buf_unref(b);
        hub->stats.queue_dropped++;
        return;
    }
    b->len = (uint32_t)l;
    hub->stats.unicast_forwarded++;
    hub->stats.unicast_octets += len;
    send_to_peer(hub, dst, b);
    bacsc_sc_buf_unref(b);
}

static void forward_broadcast(bacsc_sc_hub *hub, bacsc_sc_hub_peer *src,
                              const bacsc_bvlc_msg *msg, const uint8_t *raw, size_t len)
{
    bacsc_sc_buf *b = bacsc_sc_buf_new(len + BACSC_VMAC_LEN);
    if (!b) {
        hub->stats.queue_dropped++;
        return;
    }
    memcpy(b->data, raw, len);
    size_t l = len;
    if (bacsc_bvlc_rewrite_broadcast(b->data, &l, b->cap, &src->vmac) != BACSC_OK) {
        bacsc_sc_buf_unref(b);
        hub->stats.queue_dropped++;
        return;
    }
    b->len = (uint32_t)l;
    hub->stats.broadcast_forwarded++;
    hub->stats.broadcast_octets += len;
    for (bacsc_sc_hub_peer *p = hub->connected; p; p = p->cnext) {
        if (p == src || bacsc_sc_conn_state(p->conn) != BACSC_SC_STATE_CONNECTED)
            continue;
        if (!fits(p, l, msg)) {
            dropped(hub, p, BACSC_SC_HUB_DROP_TOO_LARGE, l);
            continue;
        }
        hub->stats.broadcast_copies++;
        send_to_peer(hub, p, b);
    }
    bacsc_sc_buf_unref(b);
}

/* A message without Destination VMAC: addressed to the hub function itself. */
static void to_hub(bacsc_sc_hub *hub, bacsc_sc_hub_peer *src, const bacsc_bvlc_msg *msg)
{
    switch (msg->function) {
    case BACSC_BVLC_RESULT:
    case BACSC_BVLC_ADVERTISEMENT:
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK:
        return; /* nothing the hub function asked for or needs */
    case BACSC_BVLC_ENCAPSULATED_NPDU:
        hub->stats.to_hub_dropped++; /* the hub function is not a BACnet node */
        return;
    case BACSC_BVLC_ADVERTISEMENT_SOLICITATION: {
        bacsc_bvlc_msg m;
        bacsc_bvlc_init(&m, BACSC_BVLC_ADVERTISEMENT, msg->message_id);
        m.u.advertisement.hub_status = BACSC_HUB_STATUS_NONE;
        m.u.advertisement.accept_direct = 0;
        m.u.advertisement.max_bvlc_len = hub->cfg.max_bvlc_len;
        m.u.advertisement.max_npdu_len = hub->cfg.max_npdu_len;
        bacsc_sc_conn_send_msg(src->conn, &m, hub->now);
        return;
    }
    case BACSC_BVLC_ADDRESS_RESOLUTION: {
        /* The hub function accepts no direct connections: an empty URI list. */
        bacsc_bvlc_msg m;
        bacsc_bvlc_init(&m, BACSC_BVLC_ADDRESS_RESOLUTION_ACK, msg->message_id);
        bacsc_sc_conn_send_msg(src->conn, &m, hub->now);
        return;
    }
    case BACSC_BVLC_PROPRIETARY_MESSAGE:
        nak(hub, src, msg, BACSC_EC_BVLC_PROPRIETARY_FUNCTION_UNKNOWN,
            "proprietary function not supported by this hub");
        return;
    default:
        nak(hub, src, msg, BACSC_EC_BVLC_FUNCTION_UNKNOWN, "function not supported by this hub");
        return;
    }
}

/* ---- connection callbacks ----------------------------------------------- */

static void replace_peer(bacsc_sc_hub *hub, bacsc_sc_hub_peer *old)
{
    hub->stats.replaced++;
    table_remove(hub, old);
    bacsc_sc_conn_abort(old->conn, BACSC_SC_CLOSE_REPLACED, 0,
                        "replaced by a new connection of the same device", hub->now);
    heap_update(hub, old);
}

static int refuse(bacsc_sc_hub *hub, bacsc_sc_hub_peer *p, const bacsc_bvlc_connect *req,
                  uint16_t error_code)
{
    hub->stats.refused++;
    if (hub->cb.refused)
        hub->cb.refused(p->io, req, error_code, hub->user);
    return error_code;
}

static int on_connect_request(bacsc_sc_conn *conn, const bacsc_bvlc_connect *req, void *user)
{
    bacsc_sc_hub_peer *p = user;
    bacsc_sc_hub *hub = p->hub;
    uint16_t uc = bacsc_sc_conn_check_limits(conn, req);
    if (uc) { /* Max-BVLC/NPDU-Length too small to carry anything */
        hub->stats.refused_limits++;
        return refuse(hub, p, req, uc);
    }
    uc = bacsc_sc_conn_check_uuid(conn, &req->uuid);
    if (uc) { /* a certified node claiming another device's UUID */
        hub->stats.refused_uuid++;
        return refuse(hub, p, req, uc);
    }
    if (bacsc_vmac_is_broadcast(&req->vmac) || bacsc_vmac_equal(&req->vmac, &BACSC_VMAC_UNKNOWN) ||
        bacsc_vmac_equal(&req->vmac, &hub->cfg.vmac)) {
        hub->stats.refused_vmac++;
        return refuse(hub, p, req, BACSC_EC_NODE_DUPLICATE_VMAC); /* the node picks another */
    }
    bacsc_sc_hub_peer *old = lookup_vmac(hub, &req->vmac);
    if (old && !uuid_equal(&old->uuid, &req->uuid)) {
        hub->stats.refused_vmac++;
        return refuse(hub, p, req, BACSC_EC_NODE_DUPLICATE_VMAC);
    }
    if (old)
        replace_peer(hub, old);
    old = lookup_uuid(hub, &req->uuid);
    if (old)
        replace_peer(hub, old); /* same device back with a new VMAC */
    p->vmac = req->vmac;
    p->uuid = req->uuid;
    p->since = hub->now;
    if (table_insert(hub, p) != BACSC_OK)
        return refuse(hub, p, req, BACSC_EC_TCP_ERROR); /* out of memory; the node retries */
    hub->stats.accepted++;
    if (hub->cb.joined)
        hub->cb.joined(p->io, &p->vmac, &p->uuid, hub->user);
    return 0;
}

static void on_message(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, const uint8_t *raw,
                       size_t len, uint64_t now, void *user)
{
    bacsc_sc_hub_peer *src = user;
    bacsc_sc_hub *hub = src->hub;
    (void)conn;
    (void)now;
    if (!src->in_table)
        return;
    if (msg->has_orig && !bacsc_vmac_equal(&msg->orig, &src->vmac)) {
        hub->stats.spoofed_dropped++;
        return;
    }
    if (!msg->has_dest)
        to_hub(hub, src, msg);
    else if (bacsc_vmac_is_broadcast(&msg->dest))
        forward_broadcast(hub, src, msg, raw, len);
    else
        forward_unicast(hub, src, msg, raw, len);
}

static void on_closed(bacsc_sc_conn *conn, const bacsc_sc_close_info *info, void *user)
{
    bacsc_sc_hub_peer *p = user;
    bacsc_sc_hub *hub = p->hub;
    (void)conn;
    if (p->in_table) {
        table_remove(hub, p);
        if (hub->cb.left)
            hub->cb.left(p->io, &p->vmac, info, hub->user);
    } else if (info->reason == BACSC_SC_CLOSE_REPLACED && hub->cb.left) {
        hub->cb.left(p->io, &p->vmac, info, hub->user);
    }
    if (!p->closing) {
        p->closing = true;
        if (hub->cb.close)
            hub->cb.close(p->io, info->error_code, hub->user);
    }
}

static void on_want_write(bacsc_sc_conn *conn, void *user)
{
    bacsc_sc_hub_peer *p = user;
    (void)conn;
    if (p->hub->cb.want_write && !p->closing)
        p->hub->cb.want_write(p->io, p->hub->user);
}

/* ---- public API --------------------------------------------------------- */

void bacsc_sc_hub_config_default(bacsc_sc_hub_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_bvlc_len = BACSC_SC_HUB_DEFAULT_MAX_BVLC_LEN;
    cfg->max_npdu_len = BACSC_SC_HUB_DEFAULT_MAX_NPDU_LEN;
    cfg->connect_wait_us = BACSC_SC_DEFAULT_CONNECT_WAIT_US;
    cfg->disconnect_wait_us = BACSC_SC_DEFAULT_DISCONNECT_WAIT_US;
    cfg->heartbeat_us = BACSC_SC_HUB_DEFAULT_HEARTBEAT_US;
    cfg->max_peers = BACSC_SC_HUB_DEFAULT_MAX_PEERS;
    cfg->max_queue_msgs = BACSC_SC_DEFAULT_QUEUE_MSGS;
    cfg->max_queue_bytes = BACSC_SC_DEFAULT_QUEUE_BYTES;
}

bacsc_sc_hub *bacsc_sc_hub_new(const bacsc_sc_hub_config *cfg, const bacsc_sc_hub_callbacks *cb,
                               void *user)
{
    bacsc_sc_hub_config c;
    bacsc_sc_hub_config_default(&c);
    if (cfg) {
        bacsc_sc_hub_config d = c;
        c = *cfg;
        if (!c.max_bvlc_len)
            c.max_bvlc_len = d.max_bvlc_len;
        if (!c.max_npdu_len)
            c.max_npdu_len = c.max_bvlc_len < d.max_npdu_len ? c.max_bvlc_len : d.max_npdu_len;
        if (!c.connect_wait_us)
            c.connect_wait_us = d.connect_wait_us;
        if (!c.disconnect_wait_us)
            c.disconnect_wait_us = d.disconnect_wait_us;
        if (!c.heartbeat_us)
            c.heartbeat_us = d.heartbeat_us;
        if (!c.max_peers)
            c.max_peers = d.max_peers;
        if (!c.max_queue_msgs)
            c.max_queue_msgs = d.max_queue_msgs;
        if (!c.max_queue_bytes)
            c.max_queue_bytes = d.max_queue_bytes;
    }
    if (c.max_bvlc_len < 64 || c.max_npdu_len > c.max_bvlc_len)
        return NULL;
    bacsc_sc_hub *hub = calloc(1, sizeof *hub);
    if (!hub)
        return NULL;
    hub->cfg = c;
    if (cb)
        hub->cb = *cb;
    hub->user = user;
    uint8_t s[8] = {0};
    if (hub->cb.random)
        hub->cb.random(user, s, sizeof s);
    hub->seed = load_be(s, 8);
    hub->tab_cap = 64;
    hub->vtab = calloc(hub->tab_cap, sizeof *hub->vtab);
    hub->utab = calloc(hub->tab_cap, sizeof *hub->utab);
    if (!hub->vtab || !hub->utab) {
        bacsc_sc_hub_free(hub);
        return NULL;
    }
    return hub;
}

static void peer_destroy(bacsc_sc_hub *hub, bacsc_sc_hub_peer *p)
{
    table_remove(hub, p);
    heap_remove(hub, p);
    if (p->prev)
        p->prev->next = p->next;
    else
        hub->all = p->next;
    if (p->next)
        p->next->prev = p->prev;
    hub->n_peers--;
    bacsc_sc_conn_free(p->conn);
    free(p);
}

void bacsc_sc_hub_free(bacsc_sc_hub *hub)
{
    if (!hub)
        return;
    while (hub->all)
        peer_destroy(hub, hub->all);
    free(hub->vtab);
    free(hub->utab);
    bacsc_heap_free(&hub->deadlines);
    free(hub);
}

bacsc_sc_hub_peer *bacsc_sc_hub_accept(bacsc_sc_hub *hub, void *io_peer, uint64_t now, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    if (hub->n_peers >= hub->cfg.max_peers) {
        *err = BACSC_ERR_LIMIT;
        return NULL;
    }
    bacsc_sc_hub_peer *p = calloc(1, sizeof *p);
    if (!p) {
        *err = BACSC_ERR_NOMEM;
        return NULL;
    }
    p->hub = hub;
    p->io = io_peer;
    bacsc_sc_conn_config cc;
    bacsc_sc_conn_config_default(&cc, BACSC_SC_ROLE_ACCEPTING);
    cc.hub = true;
    cc.vmac = hub->cfg.vmac;
    cc.uuid = hub->cfg.uuid;
    cc.max_bvlc_len = hub->cfg.max_bvlc_len;
    cc.max_npdu_len = hub->cfg.max_npdu_len;
    cc.connect_wait_us = hub->cfg.connect_wait_us;
    cc.disconnect_wait_us = hub->cfg.disconnect_wait_us;
    cc.heartbeat_us = hub->cfg.heartbeat_us;
    cc.max_queue_msgs = hub->cfg.max_queue_msgs;
    cc.max_queue_bytes = hub->cfg.max_queue_bytes;
    cc.control_rate = hub->cfg.control_rate;
    bacsc_sc_conn_callbacks ccb = {
        .connect_request = on_connect_request,
        .message = on_message,
        .closed = on_closed,
        .want_write = on_want_write,
        .random = hub->cb.random,
    };
    /* The random callback gets the hub's user pointer, the others the peer. */
    bacsc_heap_node_init(&p->deadline);
    p->conn = bacsc_sc_conn_new(&cc, &ccb, hub->user);
    if (!p->conn) {
        free(p);
        *err = BACSC_ERR_NOMEM;
        return NULL;
    }
    bacsc_sc_conn_set_user(p->conn, p);
    hub->now = now;
    bacsc_sc_conn_start(p->conn, now);
    if (heap_push(hub, p) != BACSC_OK) {
        bacsc_sc_conn_free(p->conn);
        free(p);
        *err = BACSC_ERR_NOMEM;
        return NULL;
    }
    p->next = hub->all;
    if (hub->all)
        hub->all->prev = p;
    hub->all = p;
    hub->n_peers++;
    *err = BACSC_OK;
    return p;
}

int bacsc_sc_hub_recv(bacsc_sc_hub *hub, bacsc_sc_hub_peer *peer, const uint8_t *data,
                      size_t len, uint64_t now)
{
    if (peer->closing)
        return BACSC_ERR_STATE;
    hub->now = now;
    const bacsc_sc_conn_stats *cs = bacsc_sc_conn_stats_get(peer->conn);
    uint64_t before = cs->control_dropped;
    bool was_closed = bacsc_sc_conn_state(peer->conn) == BACSC_SC_STATE_CLOSED;
    int rc = bacsc_sc_conn_recv(peer->conn, data, len, now);
    hub->stats.control_dropped += cs->control_dropped - before;
    if (!was_closed && bacsc_sc_conn_state(peer->conn) == BACSC_SC_STATE_CLOSED &&
        bacsc_sc_conn_close_info(peer->conn)->error_code == BACSC_EC_WEBSOCKET_DATA_AGAINST_POLICY)
        hub->stats.flood_closed++;
    heap_update(hub, peer);
    return rc;
}

void bacsc_sc_hub_peer_gone(bacsc_sc_hub *hub, bacsc_sc_hub_peer *peer, uint16_t error_code,
                            uint64_t now)
{
    hub->now = now;
    peer->closing = true; /* the socket is gone: no close request */
    bacsc_sc_conn_transport_closed(peer->conn, error_code, now);
    peer_destroy(hub, peer);
}

int bacsc_sc_hub_peek_output(const bacsc_sc_hub_peer *peer, const uint8_t **data, size_t *len)
{
    return bacsc_sc_conn_peek_output(peer->conn, data, len);
}

void bacsc_sc_hub_pop_output(bacsc_sc_hub_peer *peer)
{
    bacsc_sc_conn_pop_output(peer->conn);
}

void bacsc_sc_hub_disconnect_all(bacsc_sc_hub *hub, uint64_t now)
{
    hub->now = now;
    bacsc_sc_hub_peer *p = hub->all;
    while (p) {
        bacsc_sc_hub_peer *next = p->next;
        if (!p->closing) {
            bacsc_sc_conn_disconnect(p->conn, now);
            heap_update(hub, p);
        }
        p = next;
    }
}

uint64_t bacsc_sc_hub_expiry(const bacsc_sc_hub *hub)
{
    const bacsc_heap_node *first = bacsc_heap_min(&hub->deadlines);
    return first ? first->key : BACSC_SC_NEVER;
}

void bacsc_sc_hub_handle_expiry(bacsc_sc_hub *hub, uint64_t now)
{
    hub->now = now;
    /* Each round either fires a peer's timer (which moves its deadline past
     * `now` or to never) or refreshes an early key; bound it anyway. */
    size_t budget = 2 * hub->deadlines.len + 1;
    bacsc_heap_node *first;
    while ((first = bacsc_heap_min(&hub->deadlines)) != NULL && first->key <= now && budget--) {
        bacsc_sc_hub_peer *p = peer_of(first);
        bacsc_sc_conn_handle_expiry(p->conn, now);
        uint64_t key = bacsc_sc_conn_expiry(p->conn);
        if (key <= now)
            key = now + 1; /* cannot happen; never spin */
        bacsc_heap_update(&hub->deadlines, &p->deadline, key);
    }
}

size_t bacsc_sc_hub_peer_count(const bacsc_sc_hub *hub)
{
    return hub->n_peers;
}

size_t bacsc_sc_hub_connected_count(const bacsc_sc_hub *hub)
{
    return hub->n_connected;
}

const bacsc_sc_hub_stats *bacsc_sc_hub_stats_get(const bacsc_sc_hub *hub)
{
    return &hub->stats;
}

bacsc_sc_hub_peer *bacsc_sc_hub_find_vmac(const bacsc_sc_hub *hub, const bacsc_vmac *vmac)
{
    return lookup_vmac(hub, vmac);
}

void bacsc_sc_hub_peer_get_info(const bacsc_sc_hub_peer *peer, bacsc_sc_hub_peer_info *info)
{
    memset(info, 0, sizeof *info);
    info->io_peer = peer->io;
    info->connected = peer->in_table;
    info->vmac = peer->vmac;
    info->uuid = peer->uuid;
    const bacsc_bvlc_connect *pc = bacsc_sc_conn_peer(peer->conn);
    info->max_bvlc_len = pc->max_bvlc_len;
    info->max_npdu_len = pc->max_npdu_len;
    info->since = peer->since;
    info->stats = *bacsc_sc_conn_stats_get(peer->conn);
}

void bacsc_sc_hub_foreach_peer(const bacsc_sc_hub *hub,
                               void (*fn)(const bacsc_sc_hub_peer_info *info, void *arg),
                               void *arg)
{
    for (const bacsc_sc_hub_peer *p = hub->all; p; p = p->next) {
        bacsc_sc_hub_peer_info info;
        bacsc_sc_hub_peer_get_info(p, &info);
        fn(&info, arg);
    }
}

bacsc_sc_conn *bacsc_sc_hub_peer_conn(bacsc_sc_hub_peer *peer)
{
    return peer->conn;
}

void *bacsc_sc_hub_peer_io(const bacsc_sc_hub_peer *peer)
{
    return peer->io;
}

int bacsc_sc_hub_check(const bacsc_sc_hub *hub)
{
    size_t n_all = 0, n_conn = 0, n_v = 0, n_u = 0;
    for (const bacsc_sc_hub_peer *p = hub->all; p; p = p->next) {
        n_all++;
        if (p->next && p->next->prev != p)
            return BACSC_ERR_STATE;
        if (p->deadline.index >= hub->deadlines.len ||
            hub->deadlines.v[p->deadline.index] != &p->deadline)
            return BACSC_ERR_STATE;
        if (p->deadline.key > bacsc_sc_conn_expiry(p->conn))
            return BACSC_ERR_STATE; /* a late key would miss a deadline */
        if (p->in_table) {
            int st = bacsc_sc_conn_state(p->conn);
            if (st != BACSC_SC_STATE_CONNECTED && st != BACSC_SC_STATE_DISCONNECT_WAIT)
                return BACSC_ERR_STATE;
            if (lookup_vmac(hub, &p->vmac) != p || lookup_uuid(hub, &p->uuid) != p)
                return BACSC_ERR_STATE;
        }
    }
    for (const bacsc_sc_hub_peer *p = hub->connected; p; p = p->cnext) {
        n_conn++;
        if (!p->in_table || (p->cnext && p->cnext->cprev != p))
            return BACSC_ERR_STATE;
    }
    for (size_t i = 0; i < hub->tab_cap; i++) {
        for (const bacsc_sc_hub_peer *p = hub->vtab[i]; p; p = p->vnext)
            if (++n_v > hub->n_connected || hash_vmac(hub, &p->vmac) != i)
                return BACSC_ERR_STATE;
        for (const bacsc_sc_hub_peer *p = hub->utab[i]; p; p = p->unext)
            if (++n_u > hub->n_connected || hash_uuid(hub, &p->uuid) != i)
                return BACSC_ERR_STATE;
    }
    for (size_t i = 1; i < hub->deadlines.len; i++)
        if (hub->deadlines.v[(i - 1) / 2]->key > hub->deadlines.v[i]->key)
            return BACSC_ERR_STATE;
    if (n_all != hub->n_peers || hub->deadlines.len != n_all || n_conn != hub->n_connected ||
        n_v != n_conn || n_u != n_conn)
        return BACSC_ERR_STATE;
    return BACSC_OK;
}
