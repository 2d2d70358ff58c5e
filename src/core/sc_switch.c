/*
 * sc_switch.c — the BACnet/SC node switch: direct connections, address
 * resolution and advertisements (see bacsc/sc_switch.h for the policy).
 *
 * Data: a fixed array of peers (one per VMAC we talk to directly or tried
 * to: resolution cache, automatic-connect counters, last connection outcome,
 * up to one initiated and one accepted connection) and a doubly linked list
 * of live connections. Both are bounded (max_peers, max_conns) and scanned
 * linearly; the timer deadline is the minimum over both.
 */
#include "bacsc/sc_switch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"

enum res_state { RES_NONE = 0, RES_PENDING, RES_ACK, RES_NEGATIVE };

enum { DC_INIT = 0, DC_ACC = 1 };

struct peer {
    bool used;
    bacsc_vmac vmac;
    int res;
    uint64_t res_time;            /* PENDING: sent at; ACK/NEGATIVE: answered at */
    uint16_t res_msg_id;
    char uris[BACSC_SC_SWITCH_URIS_MAX];
    int next_uri;
    bool want_connect;
    unsigned count;               /* unicasts in the current auto window */
    uint64_t window_start;
    uint64_t last_hub_tx;         /* last unicast to it through the hub (0: none) */
    uint64_t last_used;           /* LRU */
    bacsc_sc_dc *dc[2];
    bool have_status;
    bacsc_sc_dc_status st;        /* last outcome (dc pointer unused here) */
};

struct bacsc_sc_dc {
    bacsc_sc_switch *sw;
    bacsc_sc_conn *conn;
    struct peer *peer;            /* NULL for accepted before Connect-Request */
    bool initiated;
    bool opened;
    bool close_asked;             /* close callback given */
    bool gone;                    /* dc_gone in progress */
    bool was_connected;
    bool replaced;
    uint64_t open_deadline;       /* initiated, until the WebSocket opens */
    uint64_t connected_at;
    uint64_t last_activity;       /* last NPDU either way */
    void *io;
    char uri[BACSC_SC_SWITCH_URI_MAX];
    char address[64];
    bacsc_sc_dc *next, *prev;
};

struct bacsc_sc_switch {
    bacsc_sc_switch_config cfg;
    bacsc_sc_switch_callbacks cb;
    void *user;
    char uris[BACSC_SC_SWITCH_URIS_MAX];
    struct peer *peers;
    bacsc_sc_dc *dcs;
    size_t ndcs;
    uint16_t next_id;
    int hub_status;
    bool stopped;
    uint64_t now;                 /* of the current call, for callbacks */
    bacsc_sc_switch_stats stats;
};

void bacsc_sc_switch_config_default(bacsc_sc_switch_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_bvlc_len = BACSC_SC_DEFAULT_MAX_BVLC_LEN;
    cfg->max_npdu_len = BACSC_SC_DEFAULT_MAX_NPDU_LEN;
    cfg->connect_wait_us = BACSC_SC_DEFAULT_CONNECT_WAIT_US;
    cfg->disconnect_wait_us = BACSC_SC_DEFAULT_DISCONNECT_WAIT_US;
    cfg->heartbeat_us = BACSC_SC_DEFAULT_HEARTBEAT_US;
    cfg->max_conns = BACSC_SC_SWITCH_DEFAULT_MAX_CONNS;
    cfg->max_peers = BACSC_SC_SWITCH_DEFAULT_MAX_PEERS;
    cfg->auto_count = BACSC_SC_SWITCH_DEFAULT_AUTO_COUNT;
    cfg->auto_window_us = BACSC_SC_SWITCH_DEFAULT_AUTO_WINDOW_US;
    cfg->idle_us = BACSC_SC_SWITCH_DEFAULT_IDLE_US;
    cfg->nak_cache_us = BACSC_SC_SWITCH_DEFAULT_NAK_CACHE_US;
    cfg->settle_us = BACSC_SC_SWITCH_DEFAULT_SETTLE_US;
}

static uint16_t next_id(bacsc_sc_switch *sw)
{
    if (++sw->next_id == 0)
        sw->next_id = 1;
    return sw->next_id;
}

/* ---- peers ------------------------------------------------------------------------ */

static struct peer *peer_find(const bacsc_sc_switch *sw, const bacsc_vmac *v)
{
    for (size_t i = 0; i < sw->cfg.max_peers; i++)
        if (sw->peers[i].used && bacsc_vmac_equal(&sw->peers[i].vmac, v))
            return &sw->peers[i];
    return NULL;
}

/* Find or create; when full, the least recently used entry without a live
 * connection or pending resolution is recycled. NULL when none can be. */
static struct peer *peer_get(bacsc_sc_switch *sw, const bacsc_vmac *v, uint64_t now)
{
    struct peer *p = peer_find(sw, v), *victim = NULL;
    if (p) {
        p->last_used = now;
        return p;
    }
    for (size_t i = 0; i < sw->cfg.max_peers; i++) {
        struct peer *q = &sw->peers[i];
        if (!q->used) {
            victim = q;
            break;
        }
        if (q->dc[0] || q->dc[1] || q->res == RES_PENDING)
            continue;
        if (!victim || q->last_used < victim->last_used)
            victim = q;
    }
    if (!victim)
        return NULL;
    memset(victim, 0, sizeof *victim);
    victim->used = true;
    victim->vmac = *v;
    victim->last_used = now;
    return victim;
}

static bool dc_connected(const bacsc_sc_dc *dc)
{
    return dc && !dc->gone && bacsc_sc_conn_state(dc->conn) == BACSC_SC_STATE_CONNECTED;
}

/* The connection routing uses for `p` (initiated preferred), or NULL. */
static bacsc_sc_dc *peer_route(const struct peer *p)
{
    if (dc_connected(p->dc[DC_INIT]))
        return p->dc[DC_INIT];
    if (dc_connected(p->dc[DC_ACC]))
        return p->dc[DC_ACC];
    return NULL;
}

static bool settled(const bacsc_sc_switch *sw, const struct peer *p, const bacsc_sc_dc *dc,
                    uint64_t now)
{
    if (!p->last_hub_tx || now - p->last_hub_tx >= sw->cfg.settle_us)
        return true;
    return now - dc->connected_at >= sw->cfg.settle_us * 10;
}

static void record_status(bacsc_sc_dc *dc, const bacsc_sc_close_info *info, uint64_t now)
{
    struct peer *p = dc->peer;
    if (!p)
        return;
    bacsc_sc_dc_status *st = &p->st;
    p->have_status = true;
    snprintf(st->uri, sizeof st->uri, "%s", dc->uri);
    snprintf(st->peer_address, sizeof st->peer_address, "%s", dc->address);
    st->initiated = dc->initiated;
    st->vmac = p->vmac;
    if (info == NULL) { /* connected */
        st->state = 1;
        st->connect_time = now;
        st->error_code = 0;
        st->error_details = "";
        const bacsc_bvlc_connect *pc = bacsc_sc_conn_peer(dc->conn);
        st->uuid = pc->uuid;
        return;
    }
    st->disconnect_time = now;
    bool clean = info->reason == BACSC_SC_CLOSE_LOCAL ||
                 info->reason == BACSC_SC_CLOSE_PEER_DISCONNECT ||
                 info->reason == BACSC_SC_CLOSE_REPLACED;
    st->state = !dc->was_connected ? 3 : clean ? 0 : 2;
    st->error_code = clean ? 0 : info->error_code;
    st->error_details = clean ? "" : info->details;
}

/* ---- connections ------------------------------------------------------------------ */

static void dc_link(bacsc_sc_switch *sw, bacsc_sc_dc *dc)
{
    dc->next = sw->dcs;
    if (sw->dcs)
        sw->dcs->prev = dc;
    sw->dcs = dc;
    sw->ndcs++;
}

static void dc_unlink(bacsc_sc_switch *sw, bacsc_sc_dc *dc)
{
    if (dc->prev)
        dc->prev->next = dc->next;
    else
        sw->dcs = dc->next;
    if (dc->next)
        dc->next->prev = dc->prev;
    sw->ndcs--;
    if (dc->peer) {
        for (int i = 0; i < 2; i++)
            if (dc->peer->dc[i] == dc)
                dc->peer->dc[i] = NULL;
    }
}

static void ask_close(bacsc_sc_dc *dc)
{
    if (dc->close_asked || dc->gone)
        return;
    dc->close_asked = true;
    dc->sw->cb.close(dc, dc->sw->user);
}

static void answer_ar(bacsc_sc_switch *sw, const bacsc_bvlc_msg *req, bacsc_sc_dc *dc,
                      uint64_t now);
static void answer_solicitation(bacsc_sc_switch *sw, const bacsc_bvlc_msg *req, bacsc_sc_dc *dc,
                                uint64_t now);

static int conn_request_cb(bacsc_sc_conn *conn, const bacsc_bvlc_connect *req, void *user)
{
    bacsc_sc_dc *dc = user;
    bacsc_sc_switch *sw = dc->sw;
    uint16_t uc = bacsc_sc_conn_check_limits(conn, req);
    if (!uc)
        uc = bacsc_sc_conn_check_uuid(conn, &req->uuid);
    if (uc) { /* a certified node claiming another device's UUID */
        sw->stats.dc_refused++;
        return uc;
    }
    if (bacsc_vmac_equal(&req->vmac, &sw->cfg.vmac) || bacsc_vmac_is_broadcast(&req->vmac) ||
        bacsc_vmac_equal(&req->vmac, &BACSC_VMAC_UNKNOWN)) {
        sw->stats.dc_refused++;
        return BACSC_EC_NODE_DUPLICATE_VMAC;
    }
    struct peer *p = peer_find(sw, &req->vmac);
    if (p) {
        for (int i = 0; i < 2; i++) {
            bacsc_sc_dc *o = p->dc[i];
            if (!o || o == dc || !dc_connected(o))
                continue;
            if (memcmp(bacsc_sc_conn_peer(o->conn)->uuid.b, req->uuid.b, 16) != 0) {
                sw->stats.dc_refused++;
                return BACSC_EC_NODE_DUPLICATE_VMAC;
            }
        }
    }
    return 0;
}

static void conn_connected_cb(bacsc_sc_conn *conn, const bacsc_bvlc_connect *peer, void *user)
{
    bacsc_sc_dc *dc = user;
    bacsc_sc_switch *sw = dc->sw;
    (void)conn;
    uint64_t now = sw->now;
    if (!dc->initiated) {
        struct peer *p = peer_get(sw, &peer->vmac, now);
        if (!p) { /* cannot happen: max_peers > 2 x max_conns */
            bacsc_sc_conn_disconnect(dc->conn, now);
            return;
        }
        bacsc_sc_dc *old = p->dc[DC_ACC];
        if (old && old != dc) { /* same UUID reconnected: replace */
            old->replaced = true;
            old->peer = NULL;
            p->dc[DC_ACC] = NULL;
            bacsc_sc_conn_disconnect(old->conn, now);
            ask_close(old);
        }
        p->dc[DC_ACC] = dc;
        dc->peer = p;
        /* Both sides initiated at once: the node with the higher VMAC gives
         * up its own attempt, so one connection remains. */
        bacsc_sc_dc *mine = p->dc[DC_INIT];
        if (mine && !dc_connected(mine) && memcmp(sw->cfg.vmac.b, peer->vmac.b, 6) > 0) {
            p->want_connect = false;
            bacsc_sc_conn_disconnect(mine->conn, now);
            ask_close(mine);
        }
        sw->stats.dc_accepted++;
    } else if (dc->peer && !bacsc_vmac_equal(&dc->peer->vmac, &peer->vmac)) {
        /* The URI led to another node than the one resolved: use it
         * anyway? No — routing by VMAC would be wrong. Close it. */
        bacsc_sc_conn_disconnect(dc->conn, now);
        return;
    }
    dc->was_connected = true;
    dc->connected_at = now;
    if (dc->peer)
        dc->peer->want_connect = false;
    sw->stats.dc_connected++;
    record_status(dc, NULL, now);
    if (sw->cb.dc_event)
        sw->cb.dc_event(dc, BACSC_SC_DC_CONNECTED, sw->user);
}

static void conn_message_cb(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, const uint8_t *raw,
                            size_t raw_len, uint64_t now, void *user)
{
    bacsc_sc_dc *dc = user;
    bacsc_sc_switch *sw = dc->sw;
    (void)raw;
    (void)raw_len;
    switch (msg->function) {
    case BACSC_BVLC_ENCAPSULATED_NPDU:
        dc->last_activity = now;
        sw->stats.rx_direct++;
        if (sw->cb.npdu)
            sw->cb.npdu(&bacsc_sc_conn_peer(conn)->vmac, msg->payload, msg->payload_len, now,
                        sw->user);
        break;
    case BACSC_BVLC_ADDRESS_RESOLUTION:
        answer_ar(sw, msg, dc, now);
        break;
    case BACSC_BVLC_ADVERTISEMENT_SOLICITATION:
        answer_solicitation(sw, msg, dc, now);
        break;
    default:
        break; /* results, advertisements, proprietary: nothing to do */
    }
}

static void try_connect(bacsc_sc_switch *sw, struct peer *p, uint64_t now);

static void conn_closed_cb(bacsc_sc_conn *conn, const bacsc_sc_close_info *info, void *user)
{
    bacsc_sc_dc *dc = user;
    bacsc_sc_switch *sw = dc->sw;
    (void)conn;
    uint64_t now = sw->now;
    if (!dc->replaced)
        record_status(dc, info, now);
    if (dc->initiated && !dc->was_connected)
        sw->stats.dc_failed++;
    if (sw->cb.dc_event)
        sw->cb.dc_event(dc, BACSC_SC_DC_CLOSED, sw->user);
    ask_close(dc);
}

static void conn_want_write_cb(bacsc_sc_conn *conn, void *user)
{
    bacsc_sc_dc *dc = user;
    (void)conn;
    if (!dc->gone)
        dc->sw->cb.want_write(dc, dc->sw->user);
}

static bacsc_sc_dc *dc_new(bacsc_sc_switch *sw, int role, uint64_t now)
{
    bacsc_sc_dc *dc = calloc(1, sizeof *dc);
    if (!dc)
        return NULL;
    dc->sw = sw;
    dc->initiated = role == BACSC_SC_ROLE_INITIATING;
    dc->last_activity = now;
    bacsc_sc_conn_config cc;
    bacsc_sc_conn_config_default(&cc, role);
    cc.vmac = sw->cfg.vmac;
    cc.uuid = sw->cfg.uuid;
    cc.max_bvlc_len = sw->cfg.max_bvlc_len;
    cc.max_npdu_len = sw->cfg.max_npdu_len;
    cc.connect_wait_us = sw->cfg.connect_wait_us;
    cc.disconnect_wait_us = sw->cfg.disconnect_wait_us;
    /* The accepting side tolerates 2 x heartbeat of silence, as a hub. */
    cc.heartbeat_us = sw->cfg.heartbeat_us;
    if (sw->cfg.max_queue_msgs)
        cc.max_queue_msgs = sw->cfg.max_queue_msgs;
    if (sw->cfg.max_queue_bytes)
        cc.max_queue_bytes = sw->cfg.max_queue_bytes;
    bacsc_sc_conn_callbacks cb = {.connect_request = conn_request_cb,
                                  .connected = conn_connected_cb,
                                  .message = conn_message_cb,
                                  .closed = conn_closed_cb,
                                  .want_write = conn_want_write_cb,
                                  .random = sw->cb.random};
    dc->conn = bacsc_sc_conn_new(&cc, &cb, dc);
    if (!dc->conn) {
        free(dc);
        return NULL;
    }
    dc_link(sw, dc);
    return dc;
}

/* Copy the i-th space-separated URI of `list` into out; false if none. */
static bool nth_uri(const char *list, int i, char *out, size_t cap)
{
    const char *s = list;
    for (;;) {
        while (*s == ' ')
            s++;
        if (!*s)
            return false;
        const char *e = s;
        while (*e && *e != ' ')
            e++;
        if (i-- == 0) {
            size_t n = (size_t)(e - s);
            if (n >= cap)
                return false;
            memcpy(out, s, n);
            out[n] = '\0';
            return true;
        }
        s = e;
    }
}

static void set_negative(struct peer *p, uint64_t now)
{
    p->res = RES_NEGATIVE;
    p->res_time = now;
    p->want_connect = false;
}

static void start_resolution(bacsc_sc_switch *sw, struct peer *p, uint64_t now)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ADDRESS_RESOLUTION, next_id(sw));
    m.has_dest = true;
    m.dest = p->vmac;
    int rc = sw->cb.hub_send_msg(&m, now, sw->user);
    if (rc != BACSC_OK) {
        /* No hub: nobody to ask. Try again on later traffic. */
        p->res = RES_NONE;
        p->want_connect = false;
        return;
    }
    sw->stats.ar_sent++;
    p->res = RES_PENDING;
    p->res_time = now;
    p->res_msg_id = m.message_id;
}

/* Open a connection to the next URI of the (fresh) answer. */
static void try_connect(bacsc_sc_switch *sw, struct peer *p, uint64_t now)
{
    if (sw->stopped || !p->want_connect || p->dc[DC_INIT] || peer_route(p))
        return;
    if (sw->ndcs >= sw->cfg.max_conns) {
        sw->stats.dc_limit++;
        p->want_connect = false;
        return;
    }
    char uri[BACSC_SC_SWITCH_URI_MAX];
    if (!nth_uri(p->uris, p->next_uri, uri, sizeof uri)) {
        set_negative(p, now); /* every URI failed */
        return;
    }
    p->next_uri++;
    bacsc_sc_dc *dc = dc_new(sw, BACSC_SC_ROLE_INITIATING, now);
    if (!dc) {
        p->want_connect = false;
        return;
    }
    dc->peer = p;
    p->dc[DC_INIT] = dc;
    snprintf(dc->uri, sizeof dc->uri, "%s", uri);
    dc->open_deadline = now + sw->cfg.connect_wait_us;
    sw->stats.dc_initiated++;
    sw->cb.open(dc, dc->uri, sw->user);
}

static bool negative_fresh(const bacsc_sc_switch *sw, const struct peer *p, uint64_t now)
{
    return p->res == RES_NEGATIVE && now - p->res_time < sw->cfg.nak_cache_us;
}

static bool ack_fresh(const bacsc_sc_switch *sw, const struct peer *p, uint64_t now)
{
    return p->res == RES_ACK && now - p->res_time < sw->cfg.connect_wait_us;
}

static int want(bacsc_sc_switch *sw, struct peer *p, uint64_t now)
{
    if (peer_route(p) || p->dc[DC_INIT] || p->dc[DC_ACC])
        return BACSC_OK; /* connected or under way */
    if (negative_fresh(sw, p, now))
        return BACSC_ERR_POLICY;
    if (sw->ndcs >= sw->cfg.max_conns) {
        sw->stats.dc_limit++;
        return BACSC_ERR_LIMIT;
    }
    if (p->res == RES_PENDING) {
        p->want_connect = true;
        return BACSC_OK;
    }
    /* Resolutions in flight are bounded too (max_conns), so the peer table
     * (> 2 x max_conns) always has room for accepted connections. */
    size_t pending = 0;
    for (size_t i = 0; i < sw->cfg.max_peers; i++)
        if (sw->peers[i].used && sw->peers[i].res == RES_PENDING)
            pending++;
    if (pending >= sw->cfg.max_conns && !ack_fresh(sw, p, now)) {
        sw->stats.dc_limit++;
        return BACSC_ERR_LIMIT;
    }
    p->want_connect = true;
    if (ack_fresh(sw, p, now)) {
        p->next_uri = 0;
        try_connect(sw, p, now);
        return BACSC_OK;
    }
    start_resolution(sw, p, now);
    return BACSC_OK;
}

/* ---- public: creation ------------------------------------------------------------- */

bacsc_sc_switch *bacsc_sc_switch_new(const bacsc_sc_switch_config *cfg,
                                     const bacsc_sc_switch_callbacks *cb, void *user)
{
    if (!cfg || !cb || !cb->hub_send_npdu || !cb->hub_send_msg || !cb->open || !cb->close ||
        !cb->want_write)
        return NULL;
    bacsc_sc_switch_config c = *cfg;
    bacsc_sc_switch_config d;
    bacsc_sc_switch_config_default(&d);
#define DFLT(f)        \
    if (!c.f)          \
    c.f = d.f
    DFLT(max_bvlc_len);
    DFLT(max_npdu_len);
    DFLT(connect_wait_us);
    DFLT(disconnect_wait_us);
    DFLT(heartbeat_us);
    DFLT(max_conns);
    DFLT(max_peers);
    DFLT(auto_count);
    DFLT(auto_window_us);
    DFLT(idle_us);
    DFLT(nak_cache_us);
    DFLT(settle_us);
#undef DFLT
    if (c.max_peers <= 2 * c.max_conns || c.max_conns > 4096 || c.max_npdu_len > c.max_bvlc_len)
        return NULL;
    if (c.accept_uris && strlen(c.accept_uris) >= BACSC_SC_SWITCH_URIS_MAX)
        return NULL;
    bacsc_sc_switch *sw = calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->peers = calloc(c.max_peers, sizeof *sw->peers);
    if (!sw->peers) {
        free(sw);
        return NULL;
    }
    snprintf(sw->uris, sizeof sw->uris, "%s", c.accept_uris ? c.accept_uris : "");
    c.accept_uris = sw->uris;
    sw->cfg = c;
    sw->cb = *cb;
    sw->user = user;
    if (cb->random)
        cb->random(user, (uint8_t *)&sw->next_id, sizeof sw->next_id);
    return sw;
}

void bacsc_sc_switch_free(bacsc_sc_switch *sw)
{
    if (!sw)
        return;
    while (sw->dcs) {
        bacsc_sc_dc *dc = sw->dcs;
        dc_unlink(sw, dc);
        bacsc_sc_conn_free(dc->conn);
        free(dc);
    }
    free(sw->peers);
    free(sw);
}

void bacsc_sc_switch_set_vmac(bacsc_sc_switch *sw, const bacsc_vmac *vmac)
{
    sw->cfg.vmac = *vmac;
}

void bacsc_sc_switch_set_hub_state(bacsc_sc_switch *sw, int hub_status)
{
    sw->hub_status = hub_status;
}

void bacsc_sc_switch_set_accept(bacsc_sc_switch *sw, bool enable)
{
    sw->cfg.accept_enable = enable;
}

void bacsc_sc_switch_set_auto(bacsc_sc_switch *sw, bool enable)
{
    sw->cfg.auto_initiate = enable;
}

bool bacsc_sc_switch_accept_enabled(const bacsc_sc_switch *sw)
{
    return sw->cfg.accept_enable;
}

bool bacsc_sc_switch_auto_enabled(const bacsc_sc_switch *sw)
{
    return sw->cfg.auto_initiate;
}

const char *bacsc_sc_switch_accept_uris(const bacsc_sc_switch *sw)
{
    return sw->uris;
}

/* ---- routing ---------------------------------------------------------------------- */

static void count_unicast(bacsc_sc_switch *sw, struct peer *p, uint64_t now)
{
    if (!sw->cfg.auto_initiate || sw->stopped)
        return;
    if (!p->count || now - p->window_start >= sw->cfg.auto_window_us) {
        p->window_start = now;
        p->count = 0;
    }
    if (++p->count >= sw->cfg.auto_count && !peer_route(p) && !p->dc[DC_INIT] &&
        !p->dc[DC_ACC] && !p->want_connect && !negative_fresh(sw, p, now) &&
        p->res != RES_PENDING) {
        p->count = 0;
        if (want(sw, p, now) == BACSC_OK && (p->want_connect || p->dc[DC_INIT]))
            sw->stats.auto_triggers++;
    }
}

int bacsc_sc_switch_send_npdu(bacsc_sc_switch *sw, const bacsc_vmac *dest, const uint8_t *npdu,
                              size_t len, uint64_t now)
{
    sw->now = now;
    if (bacsc_vmac_is_broadcast(dest)) {
        sw->stats.tx_hub++;
        return sw->cb.hub_send_npdu(dest, npdu, len, now, sw->user);
    }
    struct peer *p = peer_find(sw, dest);
    if (p) {
        p->last_used = now;
        bacsc_sc_dc *dc = peer_route(p);
        if (dc && settled(sw, p, dc, now)) {
            p->last_hub_tx = 0;
            int rc = bacsc_sc_conn_send_npdu(dc->conn, NULL, npdu, len, now);
            if (rc == BACSC_OK) {
                dc->last_activity = now;
                sw->stats.tx_direct++;
            }
            return rc;
        }
        if (dc || p->dc[DC_INIT] || p->dc[DC_ACC] || p->have_status)
            sw->stats.tx_fallback++;
    } else if (sw->cfg.auto_initiate && !sw->stopped) {
        p = peer_get(sw, dest, now);
    }
    sw->stats.tx_hub++;
    int rc = sw->cb.hub_send_npdu(dest, npdu, len, now, sw->user);
    if (p) {
        p->last_hub_tx = now ? now : 1;
        if (rc == BACSC_OK)
            count_unicast(sw, p, now);
    }
    return rc;
}

void bacsc_sc_switch_note_hub_rx(bacsc_sc_switch *sw, const bacsc_vmac *src, uint64_t now)
{
    sw->now = now;
    if (!sw->cfg.auto_initiate || sw->stopped || bacsc_vmac_is_broadcast(src) ||
        bacsc_vmac_equal(src, &BACSC_VMAC_UNKNOWN))
        return;
    struct peer *p = peer_get(sw, src, now);
    if (p)
        count_unicast(sw, p, now);
}

int bacsc_sc_switch_connect(bacsc_sc_switch *sw, const bacsc_vmac *vmac, uint64_t now)
{
    sw->now = now;
    if (sw->stopped)
        return BACSC_ERR_STATE;
    if (bacsc_vmac_is_broadcast(vmac) || bacsc_vmac_equal(vmac, &BACSC_VMAC_UNKNOWN) ||
        bacsc_vmac_equal(vmac, &sw->cfg.vmac))
        return BACSC_ERR_INVALID_ARG;
    struct peer *p = peer_get(sw, vmac, now);
    if (!p)
        return BACSC_ERR_LIMIT;
    return want(sw, p, now);
}

/* ---- hub messages ----------------------------------------------------------------- */

static int reply(bacsc_sc_switch *sw, bacsc_bvlc_msg *m, const bacsc_bvlc_msg *req,
                 bacsc_sc_dc *dc, uint64_t now)
{
    if (dc)
        return bacsc_sc_conn_send_msg(dc->conn, m, now);
    if (!req->has_orig)
        return BACSC_ERR_INVALID_ARG; /* from the hub itself: nobody to answer */
    m->has_dest = true;
    m->dest = req->orig;
    return sw->cb.hub_send_msg(m, now, sw->user);
}

static void answer_ar(bacsc_sc_switch *sw, const bacsc_bvlc_msg *req, bacsc_sc_dc *dc,
                      uint64_t now)
{
    bacsc_bvlc_msg m;
    if (sw->cfg.accept_enable && sw->uris[0] && !sw->stopped) {
        bacsc_bvlc_init(&m, BACSC_BVLC_ADDRESS_RESOLUTION_ACK, req->message_id);
        m.payload = (const uint8_t *)sw->uris;
        m.payload_len = strlen(sw->uris);
        if (reply(sw, &m, req, dc, now) == BACSC_OK)
            sw->stats.ar_answered++;
    } else {
        bacsc_bvlc_make_nak(&m, BACSC_BVLC_ADDRESS_RESOLUTION, req->message_id, 0,
                            BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED,
                            "direct connections are not accepted");
        if (reply(sw, &m, req, dc, now) == BACSC_OK)
            sw->stats.ar_refused++;
    }
}

static void answer_solicitation(bacsc_sc_switch *sw, const bacsc_bvlc_msg *req, bacsc_sc_dc *dc,
                                uint64_t now)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ADVERTISEMENT, req->message_id);
    m.u.advertisement.hub_status = (uint8_t)sw->hub_status;
    m.u.advertisement.accept_direct = sw->cfg.accept_enable && sw->uris[0] && !sw->stopped;
    m.u.advertisement.max_bvlc_len = sw->cfg.max_bvlc_len;
    m.u.advertisement.max_npdu_len = sw->cfg.max_npdu_len;
    if (reply(sw, &m, req, dc, now) == BACSC_OK)
        sw->stats.adv_sent++;
}

static struct peer *pending_for(bacsc_sc_switch *sw, const bacsc_bvlc_msg *msg)
{
    struct peer *p = msg->has_orig ? peer_find(sw, &msg->orig) : NULL;
    if (p && p->res == RES_PENDING)
        return p;
    /* A NAK from the hub itself (unknown destination) has no originator:
     * match the message id. */
    for (size_t i = 0; i < sw->cfg.max_peers; i++) {
        struct peer *q = &sw->peers[i];
        if (q->used && q->res == RES_PENDING && q->res_msg_id == msg->message_id)
            return q;
    }
    return NULL;
}

int bacsc_sc_switch_hub_message(bacsc_sc_switch *sw, const bacsc_bvlc_msg *msg, uint64_t now)
{
    sw->now = now;
    struct peer *p;
    switch (msg->function) {
    case BACSC_BVLC_ADDRESS_RESOLUTION:
        answer_ar(sw, msg, NULL, now);
        return 1;
    case BACSC_BVLC_ADVERTISEMENT_SOLICITATION:
        answer_solicitation(sw, msg, NULL, now);
        return 1;
    case BACSC_BVLC_ADVERTISEMENT:
        return 1;
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK:
        p = pending_for(sw, msg);
        if (!p)
            return 1; /* late or unsolicited: ignored */
        sw->stats.ar_acks++;
        if (msg->payload_len == 0 || msg->payload_len >= sizeof p->uris) {
            set_negative(p, now);
            return 1;
        }
        memcpy(p->uris, msg->payload, msg->payload_len);
        p->uris[msg->payload_len] = '\0';
        if (strlen(p->uris) != msg->payload_len) { /* embedded NUL */
            p->uris[0] = '\0';
            set_negative(p, now);
            return 1;
        }
        p->res = RES_ACK;
        p->res_time = now;
        p->next_uri = 0;
        try_connect(sw, p, now);
        return 1;
    case BACSC_BVLC_RESULT:
        if (msg->u.result.result_for != BACSC_BVLC_ADDRESS_RESOLUTION)
            return 0;
        p = pending_for(sw, msg);
        if (p && msg->u.result.result_code == BACSC_RESULT_NAK) {
            sw->stats.ar_naks++;
            set_negative(p, now);
        }
        return 1;
    default:
        return 0;
    }
}

/* ---- I/O events ------------------------------------------------------------------- */

bacsc_sc_dc *bacsc_sc_switch_accept(bacsc_sc_switch *sw, void *io, uint64_t now, int *err)
{
    sw->now = now;
    int e = BACSC_OK;
    bacsc_sc_dc *dc = NULL;
    if (sw->stopped || !sw->cfg.accept_enable)
        e = BACSC_ERR_POLICY;
    else if (sw->ndcs >= sw->cfg.max_conns)
        e = BACSC_ERR_LIMIT;
    else if (!(dc = dc_new(sw, BACSC_SC_ROLE_ACCEPTING, now)))
        e = BACSC_ERR_NOMEM;
    if (e != BACSC_OK) {
        sw->stats.dc_refused++;
        if (err)
            *err = e;
        return NULL;
    }
    dc->io = io;
    dc->opened = true;
    bacsc_sc_conn_start(dc->conn, now);
    return dc;
}

int bacsc_sc_switch_dc_opened(bacsc_sc_switch *sw, bacsc_sc_dc *dc, uint64_t now)
{
    if (dc->opened || dc->gone || dc->close_asked)
        return BACSC_ERR_STATE;
    sw->now = now;
    dc->opened = true;
    dc->last_activity = now;
    return bacsc_sc_conn_start(dc->conn, now);
}

int bacsc_sc_switch_dc_recv(bacsc_sc_switch *sw, bacsc_sc_dc *dc, const uint8_t *data,
                            size_t len, uint64_t now)
{
    if (dc->gone)
        return BACSC_ERR_STATE;
    sw->now = now;
    return bacsc_sc_conn_recv(dc->conn, data, len, now);
}

void bacsc_sc_switch_dc_gone(bacsc_sc_switch *sw, bacsc_sc_dc *dc, uint16_t error_code,
                             uint64_t now)
{
    dc->gone = true;
    sw->now = now;
    if (bacsc_sc_conn_state(dc->conn) != BACSC_SC_STATE_CLOSED) {
        if (bacsc_sc_conn_state(dc->conn) == BACSC_SC_STATE_IDLE) {
            /* never opened: record the failure ourselves */
            bacsc_sc_close_info info = {BACSC_SC_CLOSE_TRANSPORT,
                                        error_code ? error_code : BACSC_EC_TCP_ERROR,
                                        "could not open the WebSocket"};
            record_status(dc, &info, now);
            if (dc->initiated)
                sw->stats.dc_failed++;
        } else {
            bacsc_sc_conn_transport_closed(dc->conn, error_code, now);
        }
    }
    struct peer *p = dc->peer;
    bool retry = dc->initiated && !dc->was_connected && p;
    dc_unlink(sw, dc);
    bacsc_sc_conn_free(dc->conn);
    free(dc);
    if (retry && p->want_connect && !sw->stopped)
        try_connect(sw, p, now);
}

int bacsc_sc_switch_dc_peek_output(const bacsc_sc_dc *dc, const uint8_t **data, size_t *len)
{
    return bacsc_sc_conn_peek_output(dc->conn, data, len);
}

void bacsc_sc_switch_dc_pop_output(bacsc_sc_dc *dc)
{
    bacsc_sc_conn_pop_output(dc->conn);
}

void bacsc_sc_dc_set_io(bacsc_sc_dc *dc, void *io)
{
    dc->io = io;
}

void *bacsc_sc_dc_io(const bacsc_sc_dc *dc)
{
    return dc->io;
}

void bacsc_sc_dc_set_address(bacsc_sc_dc *dc, const char *address)
{
    snprintf(dc->address, sizeof dc->address, "%s", address ? address : "");
}

bool bacsc_sc_dc_initiated(const bacsc_sc_dc *dc)
{
    return dc->initiated;
}

const char *bacsc_sc_dc_uri(const bacsc_sc_dc *dc)
{
    return dc->uri;
}

bacsc_sc_conn *bacsc_sc_dc_conn(const bacsc_sc_dc *dc)
{
    return dc->conn;
}

const bacsc_sc_close_info *bacsc_sc_dc_close_info(const bacsc_sc_dc *dc)
{
    return bacsc_sc_conn_close_info(dc->conn);
}

/* ---- stop, timers, status --------------------------------------------------------- */

void bacsc_sc_switch_stop(bacsc_sc_switch *sw, uint64_t now)
{
    sw->stopped = true;
    sw->now = now;
    for (bacsc_sc_dc *dc = sw->dcs, *next; dc; dc = next) {
        next = dc->next;
        if (!dc->opened)
            ask_close(dc);
        else if (bacsc_sc_conn_state(dc->conn) != BACSC_SC_STATE_CLOSED)
            bacsc_sc_conn_disconnect(dc->conn, now);
    }
}

bool bacsc_sc_switch_idle(const bacsc_sc_switch *sw)
{
    return sw->dcs == NULL;
}

static uint64_t idle_deadline(const bacsc_sc_switch *sw, const bacsc_sc_dc *dc)
{
    if (sw->cfg.idle_us == UINT64_MAX || !dc_connected(dc))
        return BACSC_SC_NEVER;
    uint64_t idle = dc->initiated ? sw->cfg.idle_us : 2 * sw->cfg.idle_us;
    return dc->last_activity + idle;
}

uint64_t bacsc_sc_switch_expiry(const bacsc_sc_switch *sw)
{
    uint64_t e = BACSC_SC_NEVER, t;
    for (const bacsc_sc_dc *dc = sw->dcs; dc; dc = dc->next) {
        if (dc->gone || dc->close_asked)
            continue;
        if (!dc->opened) {
            t = dc->open_deadline;
        } else {
            t = bacsc_sc_conn_expiry(dc->conn);
            uint64_t i = idle_deadline(sw, dc);
            if (i < t)
                t = i;
        }
        if (t < e)
            e = t;
    }
    for (size_t i = 0; i < sw->cfg.max_peers; i++) {
        const struct peer *p = &sw->peers[i];
        if (p->used && p->res == RES_PENDING && p->res_time + sw->cfg.connect_wait_us < e)
            e = p->res_time + sw->cfg.connect_wait_us;
    }
    return e;
}

void bacsc_sc_switch_handle_expiry(bacsc_sc_switch *sw, uint64_t now)
{
    sw->now = now;
    for (bacsc_sc_dc *dc = sw->dcs, *next; dc; dc = next) {
        next = dc->next;
        if (dc->gone || dc->close_asked)
            continue;
        if (!dc->opened) {
            if (now >= dc->open_deadline)
                ask_close(dc); /* I/O aborts the attempt and reports dc_gone */
            continue;
        }
        if (now >= idle_deadline(sw, dc)) {
            sw->stats.dc_idle_closed++;
            bacsc_sc_conn_disconnect(dc->conn, now);
            continue;
        }
        bacsc_sc_conn_handle_expiry(dc->conn, now);
    }
    for (size_t i = 0; i < sw->cfg.max_peers; i++) {
        struct peer *p = &sw->peers[i];
        if (p->used && p->res == RES_PENDING && now >= p->res_time + sw->cfg.connect_wait_us) {
            sw->stats.ar_timeouts++;
            set_negative(p, now);
        }
    }
}

bool bacsc_sc_switch_dc_failed(const bacsc_sc_switch *sw, const bacsc_vmac *vmac, uint64_t now)
{
    const struct peer *p = peer_find(sw, vmac);
    return p && negative_fresh(sw, p, now) && !p->dc[DC_INIT] && !p->want_connect &&
           !peer_route(p);
}

bool bacsc_sc_switch_is_direct(const bacsc_sc_switch *sw, const bacsc_vmac *vmac, uint64_t now)
{
    const struct peer *p = peer_find(sw, vmac);
    const bacsc_sc_dc *dc = p ? peer_route(p) : NULL;
    return dc && settled(sw, p, dc, now);
}

size_t bacsc_sc_switch_conn_count(const bacsc_sc_switch *sw)
{
    return sw->ndcs;
}

const bacsc_sc_switch_stats *bacsc_sc_switch_stats_get(const bacsc_sc_switch *sw)
{
    return &sw->stats;
}

size_t bacsc_sc_switch_status(const bacsc_sc_switch *sw, bacsc_sc_dc_status *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < sw->cfg.max_peers; i++) {
        const struct peer *p = &sw->peers[i];
        if (!p->used || (!p->have_status && !p->dc[0] && !p->dc[1]))
            continue;
        if (n < max) {
            bacsc_sc_dc_status *st = &out[n];
            *st = p->st;
            st->vmac = p->vmac;
            if (!st->error_details)
                st->error_details = "";
            const bacsc_sc_dc *dc = peer_route(p);
            st->dc = dc;
            if (dc) {
                st->state = 1;
                st->initiated = dc->initiated;
                snprintf(st->uri, sizeof st->uri, "%s", dc->uri);
                snprintf(st->peer_address, sizeof st->peer_address, "%s", dc->address);
                st->uuid = bacsc_sc_conn_peer(dc->conn)->uuid;
            }
        }
        n++;
    }
    return n;
}
