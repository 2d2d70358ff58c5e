/*
 * sc_connector.c — the BACnet/SC hub connector: primary/failover policy,
 * jittered exponential reconnect waits, return to the primary, new VMAC after
 * NAK 151, Network Port status. Sans-I/O; see bacsc/sc_connector.h and
 * docs/sc-core.md.
 *
 * Two slots (primary, failover), each at most one WebSocket:
 *
 *   IDLE → OPENING (open requested) → HANDSHAKE (WebSocket open, Connect-Request
 *   sent) → CONNECTED → DISCONNECTING (Disconnect-Request sent) → CLOSING
 *   (close requested; waiting for the I/O layer's closed report) → IDLE
 *
 * Events update a slot and record what should happen next (want_open[slot],
 * retry_at, probe_at); advance() then starts what is due. Nothing is opened
 * while a slot is still closing, so at most one WebSocket per slot exists.
 */
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/sc_connector.h"
#include "core/sc_internal.h"

enum slot_state { SLOT_IDLE, SLOT_OPENING, SLOT_HANDSHAKE, SLOT_CONNECTED, SLOT_DISCONNECTING,
                  SLOT_CLOSING };

/* Consecutive NAK 151s answered by an immediate retry with a new VMAC; after
 * that the ordinary reconnect wait applies (a hub that NAKs every VMAC must
 * not get a storm). */
#define DUP_VMAC_FAST_RETRIES 3

struct slot {
    bacsc_sc_connector *c;
    int idx;
    char *uri;
    int st;
    bacsc_sc_conn *conn;
    uint64_t deadline;        /* OPENING/HANDSHAKE: attempt must succeed by then */
    bool want_open;
    bool io_gone;             /* the I/O layer reported the WebSocket closed */
    bool was_connected;       /* this WebSocket reached CONNECTED */
    int dup_count;
    bacsc_sc_hub_connection_status status;
};

struct bacsc_sc_connector {
    bacsc_sc_connector_config cfg;
    bacsc_sc_connector_callbacks cb;
    void *user;
    bacsc_vmac vmac;
    bool started, stopping;
    int state;                /* enum bacsc_sc_connector_state */
    struct slot s[2];
    uint64_t retry_at;        /* next attempt (primary first) while not connected */
    unsigned backoff_k;
    uint64_t probe_at;        /* next primary probe while on the failover */
    unsigned probe_k;
    uint64_t last_wait;
    uint64_t jitter_state;    /* never 0 */
    uint64_t now;
    bacsc_sc_connector_stats stats;
};

static void advance(bacsc_sc_connector *c, uint64_t now);

/* ---- helpers ------------------------------------------------------------ */

static char *dup_str(const char *s)
{
    if (!s || !*s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int bacsc_sc_random_vmac(bacsc_random_fn random, void *user, bacsc_vmac *out)
{
    if (!random || random(user, out->b, BACSC_VMAC_LEN) != 0)
        return BACSC_ERR_CRYPTO;
    out->b[0] = (uint8_t)((out->b[0] & 0xFC) | 0x02); /* locally administered, unicast */
    return BACSC_OK;
}

/* Jitter source: the caller's random octets mixed with a per-node sequence
 * seeded from the Device UUID, so that even a failing or badly seeded random
 * source cannot make every node of a site draw the same waits. */
static uint32_t random_u32(bacsc_sc_connector *c)
{
    uint8_t r[4] = {0, 0, 0, 0};
    c->cb.random(c->user, r, sizeof r);
    uint64_t x = c->jitter_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->jitter_state = x;
    uint32_t v = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
    return v ^ (uint32_t)(x >> 32);
}

static uint64_t uuid_seed(const bacsc_uuid *u)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (int i = 0; i < BACSC_UUID_LEN; i++) {
        h ^= u->b[i];
        h *= 0x100000001b3ull;
    }
    return h ? h : 1;
}

/*
 * The k-th reconnect wait (k = 0, 1, …): uniform in [lo, hi] where
 * hi = min(min·2^(k+1), max) and lo = max(min, hi/2) — "equal jitter". It is
 * never 0 and, because half of every interval is random, nodes that failed
 * together retry apart. When max < 1.25·min the interval is widened to min/4.
 */
static uint64_t draw_wait(bacsc_sc_connector *c, unsigned k)
{
    uint64_t min = c->cfg.reconnect_min_us, max = c->cfg.reconnect_max_us;
    uint64_t hi = min;
    for (unsigned i = 0; i <= k && hi < max; i++)
        hi *= 2;
    if (hi > max)
        hi = max;
    uint64_t lo = hi / 2 < min ? min : hi / 2;
    if (hi < lo + min / 4)
        hi = lo + min / 4;
    uint64_t w = lo + (((hi - lo + 1) * (uint64_t)random_u32(c)) >> 32);
    c->last_wait = w;
    return w;
}

static void set_state(bacsc_sc_connector *c, int state)
{
    if (c->state == state)
        return;
    c->state = state;
    if (c->cb.state_changed)
        c->cb.state_changed(state, c->user);
}

static int current_slot(const bacsc_sc_connector *c)
{
    if (c->state == BACSC_SC_CONNECTED_TO_PRIMARY)
        return BACSC_SC_SLOT_PRIMARY;
    if (c->state == BACSC_SC_CONNECTED_TO_FAILOVER)
        return BACSC_SC_SLOT_FAILOVER;
    return -1;
}

static bool slot_busy(const struct slot *s)
{
    return s->st != SLOT_IDLE;
}

static bool attempt_in_flight(const bacsc_sc_connector *c)
{
    for (int i = 0; i < 2; i++)
        if (c->s[i].st == SLOT_OPENING || c->s[i].st == SLOT_HANDSHAKE || c->s[i].want_open)
            return true;
    return false;
}

/* Ask the I/O layer to close the slot's WebSocket (once). */
static void request_close(struct slot *s)
{
    bacsc_sc_connector *c = s->c;
    s->st = SLOT_CLOSING;
    if (s->io_gone) {
        /* Already gone: the slot is free at once. The connection object is
         * kept until the next attempt (we may be inside its callback). */
        s->st = SLOT_IDLE;
        return;
    }
    if (c->cb.close)
        c->cb.close(s->idx, c->user);
}

/* ---- attempt outcomes --------------------------------------------------- */

static void schedule_retry(bacsc_sc_connector *c, uint64_t now)
{
    c->retry_at = now + draw_wait(c, c->backoff_k);
    if (c->backoff_k < 32)
        c->backoff_k++;
}

static void schedule_probe(bacsc_sc_connector *c, uint64_t now)
{
    c->probe_at = now + draw_wait(c, c->probe_k);
    if (c->probe_k < 32)
        c->probe_k++;
}

static void attempt_failed(struct slot *s, uint16_t error_code, const char *details, uint64_t now)
{
    bacsc_sc_connector *c = s->c;
    c->stats.failures++;
    s->status.state = BACSC_SC_STATUS_FAILED_TO_CONNECT;
    s->status.disconnect_time = now;
    s->status.error_code = error_code;
    s->status.error_details = details ? details : "";
    if (c->stopping)
        return;
    if (error_code == BACSC_EC_NODE_DUPLICATE_VMAC) {
        bacsc_vmac v;
        if (bacsc_sc_random_vmac(c->cb.random, c->user, &v) == BACSC_OK) {
            c->vmac = v;
            c->stats.vmac_changes++;
            if (c->cb.vmac_changed)
                c->cb.vmac_changed(&c->vmac, c->user);
        }
        if (++s->dup_count <= DUP_VMAC_FAST_RETRIES) {
            s->want_open = true;
            return;
        }
    }
    int cur = current_slot(c);
    if (s->idx == BACSC_SC_SLOT_PRIMARY && cur == BACSC_SC_SLOT_FAILOVER) {
        schedule_probe(c, now); /* primary still down; stay on the failover */
    } else if (cur >= 0) {
        /* nothing to do: connected elsewhere */
    } else if (s->idx == BACSC_SC_SLOT_PRIMARY && c->s[BACSC_SC_SLOT_FAILOVER].uri) {
        c->s[BACSC_SC_SLOT_FAILOVER].want_open = true; /* at once: connect wait already spent */
    } else {
        schedule_retry(c, now);
    }
}

static void connection_lost(struct slot *s, const bacsc_sc_close_info *info, bool we_disconnected,
                            uint64_t now)
{
    bacsc_sc_connector *c = s->c;
    /* We asked (Disconnect-Request sent) or the peer asked: not an error, even
     * if the peer closed the WebSocket before its Disconnect-ACK arrived. */
    bool clean = we_disconnected || info->reason == BACSC_SC_CLOSE_LOCAL ||
                 info->reason == BACSC_SC_CLOSE_PEER_DISCONNECT;
    s->status.state = clean ? BACSC_SC_STATUS_NOT_CONNECTED
                            : BACSC_SC_STATUS_DISCONNECTED_WITH_ERRORS;
    s->status.disconnect_time = now;
    s->status.error_code = clean ? 0 : info->error_code;
    s->status.error_details = clean ? "" : info->details;
    if (current_slot(c) != s->idx)
        return; /* e.g. the failover we are leaving for the primary */
    c->stats.losses++;
    set_state(c, BACSC_SC_NO_HUB_CONNECTION);
    c->probe_at = BACSC_SC_NEVER;
    if (c->stopping)
        return;
    /* Not at once: every node of a restarted hub loses it at the same moment. */
    schedule_retry(c, now);
}

/* ---- connection callbacks ----------------------------------------------- */

static void on_connected(bacsc_sc_conn *conn, const bacsc_bvlc_connect *peer, void *user)
{
    struct slot *s = user;
    bacsc_sc_connector *c = s->c;
    uint64_t now = c->now;
    (void)conn;
    (void)peer;
    s->st = SLOT_CONNECTED;
    s->was_connected = true;
    s->dup_count = 0;
    s->status.state = BACSC_SC_STATUS_CONNECTED;
    s->status.connect_time = now;
    s->status.error_code = 0;
    s->status.error_details = "";
    c->stats.connects++;
    if (c->stopping) {
        s->st = SLOT_DISCONNECTING;
        bacsc_sc_conn_disconnect(s->conn, now);
        return;
    }
    struct slot *fo = &c->s[BACSC_SC_SLOT_FAILOVER];
    if (s->idx == BACSC_SC_SLOT_PRIMARY) {
        bool was_on_failover = c->state == BACSC_SC_CONNECTED_TO_FAILOVER;
        set_state(c, BACSC_SC_CONNECTED_TO_PRIMARY);
        c->backoff_k = c->probe_k = 0;
        c->retry_at = c->probe_at = BACSC_SC_NEVER;
        if (was_on_failover)
            c->stats.returns_to_primary++;
        fo->want_open = false;
        if (fo->st == SLOT_CONNECTED) {
            fo->st = SLOT_DISCONNECTING;
            bacsc_sc_conn_disconnect(fo->conn, now);
        } else if (fo->st == SLOT_HANDSHAKE) {
            bacsc_sc_conn_abort(fo->conn, BACSC_SC_CLOSE_LOCAL, 0, "primary accepted first", now);
        } else if (fo->st == SLOT_OPENING) {
            request_close(fo);
        }
    } else {
        if (c->state == BACSC_SC_CONNECTED_TO_PRIMARY) {
            s->st = SLOT_DISCONNECTING;
            bacsc_sc_conn_disconnect(s->conn, now);
            return;
        }
        set_state(c, BACSC_SC_CONNECTED_TO_FAILOVER);
        c->stats.failovers++;
        c->backoff_k = 0;
        c->retry_at = BACSC_SC_NEVER;
        c->probe_k = 0;
        schedule_probe(c, now);
    }
}

static void on_message(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, const uint8_t *raw,
                       size_t len, uint64_t now, void *user)
{
    struct slot *s = user;
    bacsc_sc_connector *c = s->c;
    (void)conn;
    (void)raw;
    (void)len;
    if (msg->function == BACSC_BVLC_ENCAPSULATED_NPDU)
        c->stats.rx_npdus++;
    if (c->cb.message)
        c->cb.message(msg, now, c->user);
}

static void on_closed(bacsc_sc_conn *conn, const bacsc_sc_close_info *info, void *user)
{
    struct slot *s = user;
    bacsc_sc_connector *c = s->c;
    uint64_t now = c->now;
    (void)conn;
    bool connected_before = s->was_connected;
    bool we_disconnected = s->st == SLOT_DISCONNECTING;
    request_close(s);
    if (connected_before)
        connection_lost(s, info, we_disconnected, now);
    else
        attempt_failed(s, info->error_code ? info->error_code : BACSC_EC_TCP_CLOSED_OTHER,
                       info->details, now);
}

static void on_want_write(bacsc_sc_conn *conn, void *user)
{
    struct slot *s = user;
    (void)conn;
    if (s->c->cb.want_write && !s->io_gone)
        s->c->cb.want_write(s->idx, s->c->user);
}

/* ---- attempts ----------------------------------------------------------- */

static void begin_attempt(struct slot *s, uint64_t now)
{
    bacsc_sc_connector *c = s->c;
    s->want_open = false;
    bacsc_sc_conn_free(s->conn); /* a dead connection left by request_close() */
    s->conn = NULL;
    s->st = SLOT_OPENING;
    s->io_gone = false;
    s->was_connected = false;
    s->deadline = now + c->cfg.connect_wait_us;
    c->stats.attempts++;
    if (c->cb.open)
        c->cb.open(s->idx, s->uri, c->user);
}

static void advance(bacsc_sc_connector *c, uint64_t now)
{
    if (!c->started || c->stopping)
        return;
    int cur = current_slot(c);
    if (cur < 0 && c->retry_at <= now) {
        /* Due. If an attempt is still in flight (e.g. a primary probe that
         * outlived the failover connection) its outcome schedules what comes
         * next; otherwise start over with the primary. */
        c->retry_at = BACSC_SC_NEVER;
        if (!attempt_in_flight(c))
            c->s[BACSC_SC_SLOT_PRIMARY].want_open = true;
    }
    if (cur == BACSC_SC_SLOT_FAILOVER && c->probe_at <= now) {
        c->probe_at = BACSC_SC_NEVER;
        c->s[BACSC_SC_SLOT_PRIMARY].want_open = true;
    }
    for (int i = 0; i < 2; i++) {
        struct slot *s = &c->s[i];
        if (s->want_open && !slot_busy(s) && s->uri)
            begin_attempt(s, now);
        else if (s->want_open && !s->uri)
            s->want_open = false;
    }
    /* Nothing connected, nothing in flight, nothing scheduled: never leave a
     * node stuck without a hub (a known peer bug). */
    if (current_slot(c) < 0 && !attempt_in_flight(c) && c->retry_at == BACSC_SC_NEVER)
        schedule_retry(c, now);
}

/* ---- public API --------------------------------------------------------- */

void bacsc_sc_connector_config_default(bacsc_sc_connector_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->random_vmac = true;
    cfg->max_bvlc_len = BACSC_SC_DEFAULT_MAX_BVLC_LEN;
    cfg->max_npdu_len = BACSC_SC_DEFAULT_MAX_NPDU_LEN;
    cfg->connect_wait_us = BACSC_SC_DEFAULT_CONNECT_WAIT_US;
    cfg->disconnect_wait_us = BACSC_SC_DEFAULT_DISCONNECT_WAIT_US;
    cfg->heartbeat_us = BACSC_SC_DEFAULT_HEARTBEAT_US;
    cfg->reconnect_min_us = BACSC_SC_DEFAULT_RECONNECT_MIN_US;
    cfg->reconnect_max_us = BACSC_SC_DEFAULT_RECONNECT_MAX_US;
    cfg->max_queue_msgs = BACSC_SC_DEFAULT_QUEUE_MSGS;
    cfg->max_queue_bytes = BACSC_SC_DEFAULT_QUEUE_BYTES;
}

bacsc_sc_connector *bacsc_sc_connector_new(const bacsc_sc_connector_config *cfg,
                                           const bacsc_sc_connector_callbacks *cb, void *user)
{
    if (!cfg || !cb || !cb->random || !cfg->primary_uri || !*cfg->primary_uri)
        return NULL;
    bacsc_sc_connector_config d;
    bacsc_sc_connector_config_default(&d);
    bacsc_sc_connector_config k = *cfg;
    if (!k.max_bvlc_len)
        k.max_bvlc_len = d.max_bvlc_len;
    if (!k.max_npdu_len)
        k.max_npdu_len = k.max_bvlc_len < d.max_npdu_len ? k.max_bvlc_len : d.max_npdu_len;
    if (!k.connect_wait_us)
        k.connect_wait_us = d.connect_wait_us;
    if (!k.disconnect_wait_us)
        k.disconnect_wait_us = d.disconnect_wait_us;
    if (!k.heartbeat_us)
        k.heartbeat_us = d.heartbeat_us;
    if (!k.reconnect_min_us)
        k.reconnect_min_us = d.reconnect_min_us;
    if (!k.reconnect_max_us)
        k.reconnect_max_us = k.reconnect_min_us > d.reconnect_max_us ? k.reconnect_min_us
                                                                     : d.reconnect_max_us;
    if (!k.max_queue_msgs)
        k.max_queue_msgs = d.max_queue_msgs;
    if (!k.max_queue_bytes)
        k.max_queue_bytes = d.max_queue_bytes;
    if (k.reconnect_min_us < 100000 || k.reconnect_max_us < k.reconnect_min_us ||
        k.max_bvlc_len < 64 || k.max_npdu_len > k.max_bvlc_len)
        return NULL;
    bacsc_sc_connector *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = k;
    c->cfg.primary_uri = c->cfg.failover_uri = NULL; /* owned copies live in the slots */
    c->cb = *cb;
    c->user = user;
    c->retry_at = c->probe_at = BACSC_SC_NEVER;
    c->jitter_state = uuid_seed(&k.uuid);
    for (int i = 0; i < 2; i++) {
        c->s[i].c = c;
        c->s[i].idx = i;
        c->s[i].status.error_details = "";
    }
    c->s[0].uri = dup_str(cfg->primary_uri);
    c->s[1].uri = dup_str(cfg->failover_uri);
    if (!c->s[0].uri || (cfg->failover_uri && *cfg->failover_uri && !c->s[1].uri)) {
        bacsc_sc_connector_free(c);
        return NULL;
    }
    if (cfg->random_vmac) {
        if (bacsc_sc_random_vmac(cb->random, user, &c->vmac) != BACSC_OK) {
            bacsc_sc_connector_free(c);
            return NULL;
        }
    } else {
        c->vmac = cfg->vmac;
    }
    return c;
}

void bacsc_sc_connector_free(bacsc_sc_connector *c)
{
    if (!c)
        return;
    for (int i = 0; i < 2; i++) {
        bacsc_sc_conn_free(c->s[i].conn);
        free(c->s[i].uri);
    }
    free(c);
}

int bacsc_sc_connector_start(bacsc_sc_connector *c, uint64_t now)
{
    if (c->started && !c->stopping)
        return BACSC_ERR_STATE;
    c->now = now;
    c->started = true;
    c->stopping = false;
    c->backoff_k = c->probe_k = 0;
    c->retry_at = c->probe_at = BACSC_SC_NEVER;
    c->s[BACSC_SC_SLOT_PRIMARY].want_open = true;
    advance(c, now);
    return BACSC_OK;
}

void bacsc_sc_connector_stop(bacsc_sc_connector *c, uint64_t now)
{
    c->now = now;
    c->stopping = true;
    c->retry_at = c->probe_at = BACSC_SC_NEVER;
    for (int i = 0; i < 2; i++) {
        struct slot *s = &c->s[i];
        s->want_open = false;
        switch (s->st) {
        case SLOT_OPENING:
            request_close(s);
            break;
        case SLOT_HANDSHAKE:
            bacsc_sc_conn_abort(s->conn, BACSC_SC_CLOSE_LOCAL, 0, "stopped", now);
            break;
        case SLOT_CONNECTED:
            s->st = SLOT_DISCONNECTING;
            bacsc_sc_conn_disconnect(s->conn, now);
            break;
        default:
            break;
        }
    }
    set_state(c, BACSC_SC_NO_HUB_CONNECTION);
}

bool bacsc_sc_connector_idle(const bacsc_sc_connector *c)
{
    return c->s[0].st == SLOT_IDLE && c->s[1].st == SLOT_IDLE;
}

static struct slot *get_slot(bacsc_sc_connector *c, int slot)
{
    return (slot == BACSC_SC_SLOT_PRIMARY || slot == BACSC_SC_SLOT_FAILOVER) ? &c->s[slot] : NULL;
}

int bacsc_sc_connector_opened(bacsc_sc_connector *c, int slot, uint64_t now)
{
    struct slot *s = get_slot(c, slot);
    if (!s)
        return BACSC_ERR_INVALID_ARG;
    if (s->st != SLOT_OPENING)
        return BACSC_ERR_STATE;
    c->now = now;
    bacsc_sc_conn_config cc;
    bacsc_sc_conn_config_default(&cc, BACSC_SC_ROLE_INITIATING);
    cc.vmac = c->vmac;
    cc.uuid = c->cfg.uuid;
    cc.max_bvlc_len = c->cfg.max_bvlc_len;
    cc.max_npdu_len = c->cfg.max_npdu_len;
    cc.connect_wait_us = c->cfg.connect_wait_us;
    cc.disconnect_wait_us = c->cfg.disconnect_wait_us;
    cc.heartbeat_us = c->cfg.heartbeat_us;
    cc.max_queue_msgs = c->cfg.max_queue_msgs;
    cc.max_queue_bytes = c->cfg.max_queue_bytes;
    bacsc_sc_conn_callbacks ccb = {
        .connected = on_connected,
        .message = on_message,
        .closed = on_closed,
        .want_write = on_want_write,
        .random = c->cb.random,
    };
    s->conn = bacsc_sc_conn_new(&cc, &ccb, c->user);
    if (!s->conn) {
        request_close(s);
        attempt_failed(s, BACSC_EC_TCP_ERROR, "out of memory", now);
        advance(c, now);
        return BACSC_ERR_NOMEM;
    }
    bacsc_sc_conn_set_user(s->conn, s);
    s->st = SLOT_HANDSHAKE;
    bacsc_sc_conn_start(s->conn, now);
    advance(c, now);
    return BACSC_OK;
}

int bacsc_sc_connector_failed(bacsc_sc_connector *c, int slot, uint16_t error_code, uint64_t now)
{
    struct slot *s = get_slot(c, slot);
    if (!s)
        return BACSC_ERR_INVALID_ARG;
    if (s->st == SLOT_CLOSING)
        return bacsc_sc_connector_closed(c, slot, error_code, now);
    if (s->st != SLOT_OPENING)
        return BACSC_ERR_STATE;
    c->now = now;
    s->io_gone = true;
    s->st = SLOT_IDLE;
    attempt_failed(s, error_code ? error_code : BACSC_EC_TCP_ERROR, "could not open WebSocket",
                   now);
    advance(c, now);
    return BACSC_OK;
}

int bacsc_sc_connector_closed(bacsc_sc_connector *c, int slot, uint16_t error_code, uint64_t now)
{
    struct slot *s = get_slot(c, slot);
    if (!s)
        return BACSC_ERR_INVALID_ARG;
    c->now = now;
    switch (s->st) {
    case SLOT_IDLE:
        return BACSC_ERR_STATE;
    case SLOT_OPENING:
        return bacsc_sc_connector_failed(c, slot, error_code, now);
    case SLOT_CLOSING:
        bacsc_sc_conn_free(s->conn);
        s->conn = NULL;
        s->st = SLOT_IDLE;
        break;
    default:
        /* Closed under us: the connection notices, reports, and (io_gone) the
         * slot is freed at once by request_close(). */
        s->io_gone = true;
        bacsc_sc_conn_transport_closed(s->conn, error_code ? error_code
                                                          : BACSC_EC_WEBSOCKET_CLOSED_BY_PEER,
                                       now);
        break;
    }
    advance(c, now);
    return BACSC_OK;
}

int bacsc_sc_connector_recv(bacsc_sc_connector *c, int slot, const uint8_t *data, size_t len,
                            uint64_t now)
{
    struct slot *s = get_slot(c, slot);
    if (!s)
        return BACSC_ERR_INVALID_ARG;
    if (s->st != SLOT_HANDSHAKE && s->st != SLOT_CONNECTED && s->st != SLOT_DISCONNECTING)
        return BACSC_ERR_STATE;
    c->now = now;
    int rc = bacsc_sc_conn_recv(s->conn, data, len, now);
    advance(c, now);
    return rc;
}

int bacsc_sc_connector_peek_output(const bacsc_sc_connector *c, int slot, const uint8_t **data,
                                   size_t *len)
{
    if (slot != BACSC_SC_SLOT_PRIMARY && slot != BACSC_SC_SLOT_FAILOVER)
        return 0;
    const struct slot *s = &c->s[slot];
    return s->conn ? bacsc_sc_conn_peek_output(s->conn, data, len) : 0;
}

void bacsc_sc_connector_pop_output(bacsc_sc_connector *c, int slot)
{
    struct slot *s = get_slot(c, slot);
    if (s && s->conn)
        bacsc_sc_conn_pop_output(s->conn);
}

int bacsc_sc_connector_send_npdu(bacsc_sc_connector *c, const bacsc_vmac *dest,
                                 const uint8_t *npdu, size_t len, uint64_t now)
{
    int cur = current_slot(c);
    if (cur < 0) {
        c->stats.tx_not_connected++;
        return BACSC_ERR_STATE;
    }
    c->now = now;
    int rc = bacsc_sc_conn_send_npdu(c->s[cur].conn, dest, npdu, len, now);
    if (rc == BACSC_OK)
        c->stats.tx_npdus++;
    return rc;
}

int bacsc_sc_connector_send_msg(bacsc_sc_connector *c, const bacsc_bvlc_msg *msg, uint64_t now)
{
    int cur = current_slot(c);
    if (cur < 0) {
        c->stats.tx_not_connected++;
        return BACSC_ERR_STATE;
    }
    c->now = now;
    return bacsc_sc_conn_send_msg(c->s[cur].conn, msg, now);
}

uint64_t bacsc_sc_connector_expiry(const bacsc_sc_connector *c)
{
    uint64_t t = BACSC_SC_NEVER;
    if (c->started && !c->stopping) {
        if (c->retry_at < t)
            t = c->retry_at;
        if (c->probe_at < t)
            t = c->probe_at;
    }
    for (int i = 0; i < 2; i++) {
        const struct slot *s = &c->s[i];
        if ((s->st == SLOT_OPENING || s->st == SLOT_HANDSHAKE) && s->deadline < t)
            t = s->deadline;
        if (s->conn && s->st != SLOT_CLOSING) {
            uint64_t e = bacsc_sc_conn_expiry(s->conn);
            if (e < t)
                t = e;
        }
    }
    return t;
}

void bacsc_sc_connector_handle_expiry(bacsc_sc_connector *c, uint64_t now)
{
    c->now = now;
    for (int i = 0; i < 2; i++) {
        struct slot *s = &c->s[i];
        if (s->st == SLOT_OPENING && s->deadline <= now) {
            request_close(s);
            attempt_failed(s, BACSC_EC_TCP_CONNECT_TIMEOUT,
                           "WebSocket not open within connect wait", now);
        } else if (s->st == SLOT_HANDSHAKE && s->deadline <= now) {
            bacsc_sc_conn_abort(s->conn, BACSC_SC_CLOSE_CONNECT_TIMEOUT,
                                BACSC_EC_TCP_CONNECT_TIMEOUT,
                                "no Connect-Accept within connect wait", now);
        } else if (s->conn && s->st != SLOT_CLOSING) {
            bacsc_sc_conn_handle_expiry(s->conn, now);
        }
    }
    advance(c, now);
}

int bacsc_sc_connector_state(const bacsc_sc_connector *c)
{
    return c->state;
}

const bacsc_sc_hub_connection_status *bacsc_sc_connector_status(const bacsc_sc_connector *c,
                                                                int slot)
{
    if (slot != BACSC_SC_SLOT_PRIMARY && slot != BACSC_SC_SLOT_FAILOVER)
        return NULL;
    return &c->s[slot].status;
}

const bacsc_vmac *bacsc_sc_connector_vmac(const bacsc_sc_connector *c)
{
    return &c->vmac;
}

const char *bacsc_sc_connector_uri(const bacsc_sc_connector *c, int slot)
{
    if (slot != BACSC_SC_SLOT_PRIMARY && slot != BACSC_SC_SLOT_FAILOVER)
        return NULL;
    return c->s[slot].uri;
}

const bacsc_sc_connector_stats *bacsc_sc_connector_stats_get(const bacsc_sc_connector *c)
{
    return &c->stats;
}

bacsc_sc_conn *bacsc_sc_connector_conn(const bacsc_sc_connector *c, int slot)
{
    if (slot != BACSC_SC_SLOT_PRIMARY && slot != BACSC_SC_SLOT_FAILOVER)
        return NULL;
    return c->s[slot].conn;
}

uint64_t bacsc_sc_connector_retry_at(const bacsc_sc_connector *c)
{
    return c->started && !c->stopping && !attempt_in_flight(c) ? c->retry_at : BACSC_SC_NEVER;
}

uint64_t bacsc_sc_connector_last_wait(const bacsc_sc_connector *c)
{
    return c->last_wait;
}

const char *bacsc_sc_connector_state_name(int state)
{
    switch (state) {
    case BACSC_SC_NO_HUB_CONNECTION: return "no-hub-connection";
    case BACSC_SC_CONNECTED_TO_PRIMARY: return "connected-to-primary";
    case BACSC_SC_CONNECTED_TO_FAILOVER: return "connected-to-failover";
    }
    return "unknown";
}
