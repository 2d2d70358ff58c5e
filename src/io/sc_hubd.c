/*
 * sc_hubd.c — the hub server: WebSocket listener + sans-I/O hub function.
 *
 * Each accepted WebSocket gets a struct hpeer (the hub's `io_peer`). The hub
 * calls back want_write/close synchronously from inside hub calls, where we
 * must not call back into it, so both only mark the peer (intrusive
 * "dirty" list) and schedule one deferred service pass; the pass drains
 * every dirty peer's FIFO into its WebSocket, starts the closes the hub
 * asked for (after the queued output, e.g. a NAK or Disconnect-ACK), and
 * re-arms the single timer at bacsc_sc_hub_expiry().
 */
#include "bacsc/sc_hubd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/wsconn.h"

struct hpeer {
    bacsc_hubd *h;
    bacsc_wsconn *ws;
    bacsc_sc_hub_peer *hp;       /* NULL until the WebSocket is open */
    struct hpeer *next, *prev;   /* all peers */
    struct hpeer *dnext, *dprev; /* dirty list */
    bool dirty;
    bool close_wanted;
    bool no_ack;                 /* shutting down: no Disconnect-ACK within the wait */
    bool too_large_logged;       /* a relay over its limits was logged (once per peer) */
    uint64_t drop_logged;        /* µs of the last queue-drop log line for this peer */
    uint64_t drops_unlogged;
    uint16_t close_code;
};

struct bacsc_hubd {
    bacsc_loop *loop;
    bacsc_ws_listener *listener;
    bacsc_sc_hub *hub;
    bacsc_timer timer;
    struct hpeer *peers;
    struct hpeer *dirty;
    size_t npeers;
    bool service_scheduled;
    bool shutting_down;
    bool freeing;
    uint16_t port;
    int uuid_binding;
    char name[32];
    bacsc_ws_listener_stats last_stats; /* kept when the listener closes */
    uint64_t ws_queue_dropped;
    bacsc_timer ticket_timer;   /* fresh session tickets for long-connected nodes */
    uint64_t ticket_tick_us;    /* 0: no tickets */
    struct hpeer *ticket_next;  /* where the next sweep continues */
    bool aborting;
    bacsc_hubd_stop_stats stop;
};

static void service(bacsc_loop *loop, void *user);

static void schedule(bacsc_hubd *h)
{
    if (!h->service_scheduled && !h->freeing) {
        if (bacsc_loop_defer(h->loop, service, h) == BACSC_OK)
            h->service_scheduled = true;
    }
}

static void mark_dirty(struct hpeer *p)
{
    bacsc_hubd *h = p->h;
    if (!p->dirty) {
        p->dirty = true;
        p->dprev = NULL;
        p->dnext = h->dirty;
        if (h->dirty)
            h->dirty->dprev = p;
        h->dirty = p;
    }
    schedule(h);
}

static void unmark_dirty(struct hpeer *p)
{
    if (!p->dirty)
        return;
    if (p->dprev)
        p->dprev->dnext = p->dnext;
    else
        p->h->dirty = p->dnext;
    if (p->dnext)
        p->dnext->dprev = p->dprev;
    p->dirty = false;
    p->dnext = p->dprev = NULL;
}

/* ---- hub callbacks (must not call into the hub) ---------------------------- */

static void hub_want_write(void *io_peer, void *user)
{
    (void)user;
    mark_dirty(io_peer);
}

static void hub_close(void *io_peer, uint16_t error_code, void *user)
{
    (void)user;
    struct hpeer *p = io_peer;
    p->close_wanted = true;
    p->close_code = error_code;
    mark_dirty(p);
}

static void hub_joined(void *io_peer, const bacsc_vmac *vmac, const bacsc_uuid *uuid, void *user)
{
    struct hpeer *p = io_peer;
    bacsc_hubd *h = user;
    if (bacsc_log_get_level() >= BACSC_LOG_INFO) { /* the certificate's name: only when printed */
        char v[18], u[37], who[340] = "";
        if (bacsc_wsconn_ssl(p->ws) && bacsc_tls_peer_ident(bacsc_wsconn_ssl(p->ws), who + 2,
                                                            sizeof who - 2))
            memcpy(who, ", ", 2);
        BACSC_INFO("%s: node joined: vmac %s uuid %s from %s%s", h->name,
                   bacsc_vmac_format(vmac, v), bacsc_uuid_format(uuid, u),
                   bacsc_wsconn_peer(p->ws), who);
    }
    uint16_t raw[2], used[2];
    if (bacsc_sc_conn_peer_swapped(bacsc_sc_hub_peer_conn(p->hp), raw, used))
        BACSC_WARN("%s: %s sent Max-BVLC-Length %u / Max-NPDU-Length %u, which look byte-swapped "
                   "(little-endian, as bacnet-stack sends them): using %u / %u", h->name,
                   bacsc_wsconn_peer(p->ws), raw[0], raw[1], used[0], used[1]);
}

static void hub_left(void *io_peer, const bacsc_vmac *vmac, const bacsc_sc_close_info *info,
                     void *user)
{
    struct hpeer *p = io_peer;
    bacsc_hubd *h = user;
    char v[18];
    if (h->shutting_down && !h->aborting) {
        if (info->reason == BACSC_SC_CLOSE_LOCAL) {
            h->stop.acked++;
        } else if (info->reason == BACSC_SC_CLOSE_DISCONNECT_TIMEOUT) {
            h->stop.timed_out++;
            p->no_ack = true;
        } else {
            h->stop.lost++;
        }
    }
    BACSC_INFO("%s: node left: vmac %s from %s: %s (%u %s)", h->name, bacsc_vmac_format(vmac, v),
               bacsc_wsconn_peer(p->ws), bacsc_sc_close_reason_name(info->reason),
               info->error_code, info->details);
}

static void hub_refused(void *io_peer, const bacsc_bvlc_connect *req, uint16_t error_code,
                        void *user)
{
    struct hpeer *p = io_peer;
    bacsc_hubd *h = user;
    char v[18], u[37];
    const char *why = p->hp ? bacsc_sc_conn_refusal(bacsc_sc_hub_peer_conn(p->hp)) : "";
    BACSC_WARN("%s: Connect-Request from %s (vmac %s uuid %s) refused: %u %s%s%s", h->name,
               bacsc_wsconn_peer(p->ws), bacsc_vmac_format(&req->vmac, v),
               bacsc_uuid_format(&req->uuid, u), error_code, bacsc_sc_error_name(error_code),
               why && *why ? ": " : "", why ? why : "");
}

/* ---- service pass ------------------------------------------------------------ */

#define DROP_LOG_US 10000000u /* queue-drop lines: at most one per peer per 10 s */

/* A message to `p` was dropped because a queue was full: count it once and
 * log at most one line per peer per DROP_LOG_US (with how many since). */
static void log_queue_drop(struct hpeer *p, const char *which, size_t len)
{
    uint64_t now = bacsc_loop_now(p->h->loop);
    p->drops_unlogged++;
    if (p->drop_logged && now - p->drop_logged < DROP_LOG_US)
        return;
    BACSC_WARN("%s: %s: message of %zu octets dropped: %s full (%llu dropped for this node "
               "since the last such line)", p->h->name, bacsc_wsconn_peer(p->ws), len, which,
               (unsigned long long)p->drops_unlogged);
    p->drop_logged = now;
    p->drops_unlogged = 0;
}

static void hub_dropped(void *dst_io, int reason, size_t len, void *user)
{
    struct hpeer *p = dst_io;
    bacsc_hubd *h = user;
    if (!p)
        return;
    if (reason == BACSC_SC_HUB_DROP_QUEUE) {
        log_queue_drop(p, "the hub's queue for it is", len);
        return;
    }
    if (p->too_large_logged)
        return;
    p->too_large_logged = true;
    bacsc_sc_hub_peer_info info;
    bacsc_sc_hub_peer_get_info(p->hp, &info);
    BACSC_WARN("%s: %s accepts at most %u octets (NPDU %u): a relayed message of %zu octets "
               "was dropped (counted in too_large_dropped; logged once per node)", h->name,
               bacsc_wsconn_peer(p->ws), info.max_bvlc_len, info.max_npdu_len, len);
}

static void flush_peer(struct hpeer *p)
{
    const uint8_t *d;
    size_t n;
    if (!p->hp)
        return;
    while (bacsc_sc_hub_peek_output(p->hp, &d, &n)) {
        int rc = bacsc_wsconn_send(p->ws, d, n);
        if (rc == BACSC_ERR_LIMIT || rc == BACSC_ERR_NOMEM) {
            p->h->ws_queue_dropped++;
            log_queue_drop(p, "its WebSocket output queue is", n);
        } else if (rc != BACSC_OK) { /* closing: nothing is lost that could be delivered */
            BACSC_DEBUG("%s: %s: message of %zu octets not sent: %s", p->h->name,
                        bacsc_wsconn_peer(p->ws), n, bacsc_strerror(rc));
        }
        bacsc_sc_hub_pop_output(p->hp);
    }
}

/* The hub's earliest deadline moves later with every message (a peer's idle
 * timer restarts): the timer is only moved earlier. Armed too early, it fires,
 * finds nothing due and is re-armed: at most one wake-up per deadline instead
 * of a timer-heap update per relayed message. */
static void rearm(bacsc_hubd *h)
{
    uint64_t e = bacsc_sc_hub_expiry(h->hub);
    if (e == BACSC_SC_NEVER)
        bacsc_timer_stop(h->loop, &h->timer);
    else if (!bacsc_timer_active(&h->timer) || e < h->timer.node.key)
        bacsc_timer_start_at(h->loop, &h->timer, e);
}

static void service(bacsc_loop *loop, void *user)
{
    (void)loop;
    bacsc_hubd *h = user;
    h->service_scheduled = false;
    while (h->dirty) {
        struct hpeer *p = h->dirty;
        unmark_dirty(p);
        flush_peer(p);
        if (p->close_wanted && p->no_ack) {
            /* stopping, and silent for the whole disconnect wait: no
             * WebSocket close handshake to wait for either */
            bacsc_wsconn_abort(p->ws);
        } else if (p->close_wanted) {
            p->close_wanted = false;
            /* A message or NPDU over our limits: 1009 (message too big), which a
             * peer can act on; other protocol errors 1002; else 1000. */
            uint16_t ws_code = !p->close_code ? BACSC_WS_CLOSE_NORMAL
                               : p->close_code == BACSC_EC_WEBSOCKET_FRAME_TOO_LONG
                                   ? BACSC_WS_CLOSE_TOO_BIG
                               : p->close_code == BACSC_EC_WEBSOCKET_DATA_AGAINST_POLICY
                                   ? BACSC_WS_CLOSE_POLICY /* e.g. a control-message flood */
                                   : BACSC_WS_CLOSE_PROTOCOL_ERROR;
            bacsc_wsconn_close(p->ws, ws_code, p->close_code ? bacsc_sc_error_name(p->close_code)
                                                             : "");
        }
    }
    rearm(h);
}

static void on_timer(bacsc_loop *loop, void *user)
{
    bacsc_hubd *h = user;
    bacsc_sc_hub_handle_expiry(h->hub, bacsc_loop_now(loop));
    schedule(h);
}

/* ---- fresh session tickets ----------------------------------------------------- */

/* A node connected for longer than the ticket lifetime would find its ticket
 * expired at the next hub restart (a full handshake for every node of a hub
 * that ran a while). Each tick looks at 1/TICKET_SWEEP_PARTS of the open
 * connections (a full sweep every TICKET_SWEEP_PARTS ticks, ≤ 8 s) and sends
 * a new ticket where bacsc_tls_ticket_refresh() finds it due (spread over a
 * quarter of the lifetime per session); at most TICKET_SWEEP_MAX tickets per
 * tick bound the CPU (≈ 0.3 ms each: ≤ 1 % of a core at 1 s ticks). */
#define TICKET_SWEEP_PARTS 8
#define TICKET_SWEEP_MAX 32

static void ticket_sweep(bacsc_loop *loop, void *user)
{
    bacsc_hubd *h = user;
    if (h->shutting_down)
        return;
    unsigned sent = 0;
    for (size_t n = h->npeers / TICKET_SWEEP_PARTS + 1; n && sent < TICKET_SWEEP_MAX; n--) {
        struct hpeer *p = h->ticket_next ? h->ticket_next : h->peers;
        if (!p)
            break;
        h->ticket_next = p->next;
        struct ssl_st *ssl = p->hp ? bacsc_wsconn_ssl(p->ws) : NULL;
        /* between records only: nothing of an SSL_write may be pending */
        if (ssl && bacsc_wsconn_is_open(p->ws) && bacsc_wsconn_queued(p->ws) == 0)
            sent += bacsc_tls_ticket_refresh(ssl) == 1;
    }
    bacsc_timer_start(loop, &h->ticket_timer, h->ticket_tick_us);
}

/* Ticks of lifetime/128 within [20 ms, 1 s]: the last ticket a node holds is
 * at most 3/4 of the lifetime + one sweep old. */
static void ticket_sweep_start(bacsc_hubd *h, const bacsc_tls_ctx *tls)
{
    uint32_t life = tls ? bacsc_tls_ctx_ticket_lifetime(tls) : 0;
    if (!life)
        return;
    uint64_t tick = (uint64_t)life * 1000000u / 128;
    h->ticket_tick_us = tick < 20000 ? 20000 : tick > 1000000 ? 1000000 : tick;
    bacsc_timer_start(h->loop, &h->ticket_timer, h->ticket_tick_us);
}

/* ---- WebSocket callbacks ------------------------------------------------------- */

static void *ws_accept(bacsc_wsconn *c, void *listener_user)
{
    bacsc_hubd *h = listener_user;
    struct hpeer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->h = h;
    p->ws = c;
    p->next = h->peers;
    if (h->peers)
        h->peers->prev = p;
    h->peers = p;
    h->npeers++;
    return p;
}

static void ws_open(bacsc_wsconn *c, unsigned protocol, void *user)
{
    struct hpeer *p = user;
    (void)protocol;
    if (!p) {
        bacsc_wsconn_abort(c);
        return;
    }
    bacsc_hubd *h = p->h;
    if (h->shutting_down) {
        bacsc_wsconn_close(c, BACSC_WS_CLOSE_GOING_AWAY, "hub shutting down");
        return;
    }
    int err = 0;
    p->hp = bacsc_sc_hub_accept(h->hub, p, bacsc_loop_now(h->loop), &err);
    if (!p->hp) {
        BACSC_WARN("%s: %s refused: %s", h->name, bacsc_wsconn_peer(c), bacsc_strerror(err));
        bacsc_wsconn_close(c, BACSC_WS_CLOSE_GOING_AWAY, "hub full");
        return;
    }
    if (bacsc_wsconn_ssl(c) && h->uuid_binding != BACSC_SC_UUID_BINDING_OFF) {
        bacsc_uuid cu;
        bool has = bacsc_tls_peer_uuid(bacsc_wsconn_ssl(c), cu.b) == 1;
        bacsc_sc_conn_set_cert_uuid(bacsc_sc_hub_peer_conn(p->hp), has ? &cu : NULL,
                                    h->uuid_binding);
    }
    BACSC_DEBUG("%s: WebSocket open from %s", h->name, bacsc_wsconn_peer(c));
    schedule(h);
}

static void ws_message(bacsc_wsconn *c, const uint8_t *data, size_t len, void *user)
{
    struct hpeer *p = user;
    (void)c;
    if (!p || !p->hp)
        return;
    bacsc_sc_hub_recv(p->h->hub, p->hp, data, len, bacsc_loop_now(p->h->loop));
    schedule(p->h);
}

static void ws_closed(bacsc_wsconn *c, uint16_t error_code, const char *reason, void *user)
{
    struct hpeer *p = user;
    if (!p)
        return;
    bacsc_hubd *h = p->h;
    if (!p->hp) /* silent sockets (first-octet timeout) are counted, not logged one by one */
        bacsc_log(bacsc_wsconn_got_data(c) ? BACSC_LOG_INFO : BACSC_LOG_DEBUG,
                  "%s: connection from %s closed before open: %u %s%s%s", h->name,
                  bacsc_wsconn_peer(c), error_code, bacsc_sc_error_name(error_code),
                  reason && *reason ? ": " : "", reason ? reason : "");
    unmark_dirty(p);
    if (h->ticket_next == p)
        h->ticket_next = p->next;
    if (p->hp && !h->freeing)
        bacsc_sc_hub_peer_gone(h->hub, p->hp, error_code, bacsc_loop_now(h->loop));
    if (p->prev)
        p->prev->next = p->next;
    else
        h->peers = p->next;
    if (p->next)
        p->next->prev = p->prev;
    h->npeers--;
    free(p);
    schedule(h);
}

/* ---- public ---------------------------------------------------------------------- */

int bacsc_hubd_new(bacsc_loop *loop, const bacsc_hubd_config *cfg, bacsc_hubd **out, char *err,
                   size_t errlen)
{
    bacsc_hubd *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return BACSC_ERR_NOMEM;
    }
    h->loop = loop;
    snprintf(h->name, sizeof h->name, "%s", cfg->name ? cfg->name : "hub");
    bacsc_timer_init(&h->timer, on_timer, h);
    bacsc_timer_init(&h->ticket_timer, ticket_sweep, h);
    bacsc_sc_hub_callbacks hcb = {.want_write = hub_want_write,
                                  .close = hub_close,
                                  .joined = hub_joined,
                                  .left = hub_left,
                                  .refused = hub_refused,
                                  .dropped = hub_dropped,
                                  .random = bacsc_io_random};
    h->uuid_binding = cfg->uuid_binding;
    h->hub = bacsc_sc_hub_new(&cfg->hub, &hcb, h);
    if (!h->hub) {
        snprintf(err, errlen, "invalid hub configuration (limits or timers)");
        free(h);
        return BACSC_ERR_INVALID_ARG;
    }
    uint16_t max_bvlc = cfg->hub.max_bvlc_len ? cfg->hub.max_bvlc_len
                                              : BACSC_SC_HUB_DEFAULT_MAX_BVLC_LEN;
    bacsc_ws_options opt = {.protocols = BACSC_WS_PROTO_HUB,
                            .max_message = max_bvlc,
                            .max_connections = cfg->hub.max_peers ? (unsigned)cfg->hub.max_peers
                                                                  : BACSC_SC_HUB_DEFAULT_MAX_PEERS,
                            .insecure_plaintext = cfg->insecure_plaintext,
                            .max_handshakes = cfg->ws.max_handshakes,
                            .handshake_threads = cfg->ws.handshake_threads,
                            .handshake_timeout_ms = cfg->ws.handshake_timeout_ms,
                            .max_handshakes_per_addr = cfg->ws.max_handshakes_per_addr,
                            .accept_rate_per_addr = cfg->ws.accept_rate_per_addr,
                            .accept_burst_per_addr = cfg->ws.accept_burst_per_addr,
                            .first_octet_timeout_ms = cfg->ws.first_octet_timeout_ms};
    bacsc_ws_callbacks wcb = {ws_accept, ws_open, ws_message, ws_closed};
    int rc = bacsc_ws_listen(loop, cfg->listen, cfg->insecure_plaintext ? NULL : cfg->tls, &opt,
                             &wcb, h, &h->listener);
    if (rc != BACSC_OK) {
        if (rc == BACSC_ERR_IO)
            snprintf(err, errlen, "cannot listen on %s: %m", cfg->listen);
        else if (rc == BACSC_ERR_POLICY)
            snprintf(err, errlen, "no TLS context (plaintext needs --insecure-plaintext)");
        else
            snprintf(err, errlen, "cannot listen on '%s': %s (want ADDR:PORT)", cfg->listen,
                     bacsc_strerror(rc));
        bacsc_sc_hub_free(h->hub);
        free(h);
        return rc;
    }
    h->port = bacsc_ws_listener_port(h->listener);
    if (!cfg->insecure_plaintext)
        ticket_sweep_start(h, cfg->tls);
    *out = h;
    return BACSC_OK;
}

uint16_t bacsc_hubd_port(const bacsc_hubd *h)
{
    return h->port;
}

void bacsc_hubd_shutdown(bacsc_hubd *h)
{
    if (h->shutting_down)
        return;
    h->shutting_down = true;
    bacsc_timer_stop(h->loop, &h->ticket_timer);
    if (h->listener) {
        bacsc_ws_listener_get_stats(h->listener, &h->last_stats);
        bacsc_ws_listener_close(h->listener);
        h->listener = NULL;
    }
    h->stop.requested = bacsc_sc_hub_connected_count(h->hub);
    BACSC_INFO("%s: shutting down: Disconnect-Request to %zu node(s)", h->name, h->stop.requested);
    bacsc_sc_hub_disconnect_all(h->hub, bacsc_loop_now(h->loop));
    /* Sockets not yet open, or not yet past Connect-Request, are simply
     * closed: there is nobody to say goodbye to. */
    for (struct hpeer *p = h->peers, *next; p; p = next) {
        next = p->next;
        bacsc_sc_hub_peer_info info;
        if (p->hp)
            bacsc_sc_hub_peer_get_info(p->hp, &info);
        if (!p->hp || !info.connected)
            bacsc_wsconn_abort(p->ws);
    }
    schedule(h);
}

bool bacsc_hubd_idle(const bacsc_hubd *h)
{
    return h->npeers == 0;
}

void bacsc_hubd_abort_all(bacsc_hubd *h)
{
    h->aborting = true;
    while (h->peers) {
        struct hpeer *p = h->peers;
        if (p->hp && h->shutting_down) {
            bacsc_sc_hub_peer_info info;
            bacsc_sc_hub_peer_get_info(p->hp, &info);
            h->stop.aborted += info.connected;
        }
        bacsc_wsconn_abort(p->ws);
    }
    h->aborting = false;
}

void bacsc_hubd_stop_stats_get(const bacsc_hubd *h, bacsc_hubd_stop_stats *out)
{
    *out = h->stop;
}

struct foreach_ctx {
    void (*fn)(const bacsc_hubd_peer_info *info, void *arg);
    void *arg;
};

static void foreach_one(const bacsc_sc_hub_peer_info *info, void *arg)
{
    struct foreach_ctx *fc = arg;
    struct hpeer *p = info->io_peer;
    bacsc_hubd_peer_info pi = {.address = bacsc_wsconn_peer(p->ws), .hub = *info};
    fc->fn(&pi, fc->arg);
}

void bacsc_hubd_foreach_peer(const bacsc_hubd *h,
                             void (*fn)(const bacsc_hubd_peer_info *info, void *arg), void *arg)
{
    struct foreach_ctx fc = {fn, arg};
    bacsc_sc_hub_foreach_peer(h->hub, foreach_one, &fc);
}

unsigned bacsc_hubd_recheck_peers(bacsc_hubd *h, bacsc_tls_ctx *tls)
{
    unsigned closed = 0;
    for (struct hpeer *p = h->peers, *next; p; p = next) {
        next = p->next; /* a close may free p only later (ws_closed), but be safe */
        struct ssl_st *ssl = bacsc_wsconn_ssl(p->ws);
        char why[160] = "";
        if (!ssl || bacsc_tls_peer_recheck(tls, ssl, why, sizeof why) == BACSC_OK)
            continue;
        char v[18] = "-";
        if (p->hp) {
            bacsc_sc_hub_peer_info info;
            bacsc_sc_hub_peer_get_info(p->hp, &info);
            if (info.connected)
                bacsc_vmac_format(&info.vmac, v);
        }
        BACSC_WARN("%s: node %s (vmac %s): its certificate is no longer accepted (%s): "
                   "disconnecting", h->name, bacsc_wsconn_peer(p->ws), v, why);
        bacsc_wsconn_close(p->ws, BACSC_WS_CLOSE_POLICY, "certificate no longer accepted");
        closed++;
    }
    schedule(h);
    return closed;
}

void bacsc_hubd_stats_get(const bacsc_hubd *h, bacsc_hubd_stats *out)
{
    memset(out, 0, sizeof *out);
    out->ws_queue_dropped = h->ws_queue_dropped;
    for (const struct hpeer *p = h->peers; p; p = p->next) {
        size_t q = bacsc_wsconn_queued(p->ws);
        out->ws_queue_octets += q;
        if (q > out->ws_queue_max)
            out->ws_queue_max = q;
    }
}

void bacsc_hubd_listener_stats(const bacsc_hubd *h, bacsc_ws_listener_stats *out)
{
    if (h->listener)
        bacsc_ws_listener_get_stats(h->listener, out);
    else
        *out = h->last_stats;
}

const bacsc_sc_hub *bacsc_hubd_hub(const bacsc_hubd *h)
{
    return h->hub;
}

void bacsc_hubd_free(bacsc_hubd *h)
{
    if (!h)
        return;
    h->freeing = true;
    if (h->listener)
        bacsc_ws_listener_close(h->listener);
    bacsc_hubd_abort_all(h);
    bacsc_timer_stop(h->loop, &h->timer);
    bacsc_timer_stop(h->loop, &h->ticket_timer);
    bacsc_sc_hub_free(h->hub);
    free(h);
}
