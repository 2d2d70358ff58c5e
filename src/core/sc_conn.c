/*
 * sc_conn.c — one BACnet/SC connection: handshake, heartbeat, disconnect and
 * validation of every received message. Sans-I/O; see bacsc/sc_conn.h and
 * docs/sc-core.md.
 *
 * The connection has one protocol deadline at a time (connect wait,
 * heartbeat or disconnect wait), computed from its state by conn_expiry(), so
 * there are no timer objects to keep in sync: any call may move the deadline
 * and the owner simply asks bacsc_sc_conn_expiry() again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/sc_conn.h"
#include "core/sc_internal.h"

struct bacsc_sc_conn {
    bacsc_sc_conn_config cfg;
    bacsc_sc_conn_callbacks cb;
    void *user;
    int state;
    bacsc_bvlc_connect peer;      /* the peer's Connect-Request/Accept */
    uint16_t next_id;
    uint64_t state_deadline;      /* CONNECT_WAIT / DISCONNECT_WAIT */
    uint64_t last_rx, last_tx;
    uint64_t hb_sent;             /* initiating: when the outstanding Heartbeat-Request left */
    bool hb_outstanding;
    uint64_t since;
    bacsc_sc_close_info close;
    bacsc_sc_conn_stats stats;
    bool identity_set;            /* bacsc_sc_conn_set_cert_uuid() was called */
    bool has_cert_uuid;
    int uuid_binding;
    bacsc_uuid cert_uuid;
    char refusal[192];            /* Error-Details of a refusal / mismatch */
    bool peer_swapped;            /* the peer's Max-*-Length looked byte-swapped */
    double ctl_tokens;            /* control-message bucket */
    uint64_t ctl_refilled;
    uint64_t flood_since, flood_last; /* current run of over-limit control messages */
    uint16_t peer_raw_bvlc, peer_raw_npdu; /* as received */
    uint16_t peer_eff_bvlc, peer_eff_npdu; /* as used */
    /* Output FIFO: a ring of buffer references, grown on demand. */
    bacsc_sc_buf **q;
    size_t q_cap, q_head, q_count, q_bytes;
};

/* ---- buffers ------------------------------------------------------------ */

bacsc_sc_buf *bacsc_sc_buf_new(size_t cap)
{
    if (cap > UINT32_MAX - sizeof(bacsc_sc_buf))
        return NULL;
    bacsc_sc_buf *b = malloc(sizeof *b + (cap ? cap : 1));
    if (!b)
        return NULL;
    b->refs = 1;
    b->len = 0;
    b->cap = (uint32_t)cap;
    return b;
}

void bacsc_sc_buf_ref(bacsc_sc_buf *b)
{
    b->refs++;
}

void bacsc_sc_buf_unref(bacsc_sc_buf *b)
{
    if (b && --b->refs == 0)
        free(b);
}

/* ---- configuration ------------------------------------------------------ */

void bacsc_sc_conn_config_default(bacsc_sc_conn_config *cfg, int role)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->role = role;
    cfg->max_bvlc_len = BACSC_SC_DEFAULT_MAX_BVLC_LEN;
    cfg->max_npdu_len = BACSC_SC_DEFAULT_MAX_NPDU_LEN;
    cfg->connect_wait_us = BACSC_SC_DEFAULT_CONNECT_WAIT_US;
    cfg->disconnect_wait_us = BACSC_SC_DEFAULT_DISCONNECT_WAIT_US;
    cfg->heartbeat_us = BACSC_SC_DEFAULT_HEARTBEAT_US;
    cfg->max_queue_msgs = BACSC_SC_DEFAULT_QUEUE_MSGS;
    cfg->max_queue_bytes = BACSC_SC_DEFAULT_QUEUE_BYTES;
}

static void fill_defaults(bacsc_sc_conn_config *c)
{
    if (!c->max_bvlc_len)
        c->max_bvlc_len = BACSC_SC_DEFAULT_MAX_BVLC_LEN;
    if (!c->max_npdu_len)
        c->max_npdu_len = c->max_bvlc_len < BACSC_SC_DEFAULT_MAX_NPDU_LEN
                              ? c->max_bvlc_len
                              : BACSC_SC_DEFAULT_MAX_NPDU_LEN;
    if (!c->connect_wait_us)
        c->connect_wait_us = BACSC_SC_DEFAULT_CONNECT_WAIT_US;
    if (!c->disconnect_wait_us)
        c->disconnect_wait_us = BACSC_SC_DEFAULT_DISCONNECT_WAIT_US;
    if (!c->heartbeat_us)
        c->heartbeat_us = BACSC_SC_DEFAULT_HEARTBEAT_US;
    if (!c->max_queue_msgs)
        c->max_queue_msgs = BACSC_SC_DEFAULT_QUEUE_MSGS;
    if (!c->max_queue_bytes)
        c->max_queue_bytes = BACSC_SC_DEFAULT_QUEUE_BYTES;
    if (!c->control_rate)
        c->control_rate = BACSC_SC_DEFAULT_CONTROL_RATE;
}

static uint16_t random_u16(const bacsc_sc_conn_callbacks *cb, void *user)
{
    uint8_t r[2] = {0, 1};
    if (cb->random && cb->random(user, r, sizeof r) != 0) {
        r[0] = 0;
        r[1] = 1;
    }
    return (uint16_t)(r[0] << 8 | r[1]);
}

bacsc_sc_conn *bacsc_sc_conn_new(const bacsc_sc_conn_config *cfg,
                                 const bacsc_sc_conn_callbacks *cb, void *user)
{
    if (!cfg || (cfg->role != BACSC_SC_ROLE_INITIATING && cfg->role != BACSC_SC_ROLE_ACCEPTING))
        return NULL;
    bacsc_sc_conn_config c = *cfg;
    fill_defaults(&c);
    if (c.max_bvlc_len < 64 || c.max_npdu_len > c.max_bvlc_len)
        return NULL;
    bacsc_sc_conn *conn = calloc(1, sizeof *conn);
    if (!conn)
        return NULL;
    conn->cfg = c;
    if (cb)
        conn->cb = *cb;
    conn->user = user;
    conn->state = BACSC_SC_STATE_IDLE;
    conn->next_id = random_u16(&conn->cb, user);
    conn->close.details = "";
    return conn;
}

static void queue_clear(bacsc_sc_conn *conn)
{
    while (conn->q_count)
        bacsc_sc_conn_pop_output(conn);
}

void bacsc_sc_conn_free(bacsc_sc_conn *conn)
{
    if (!conn)
        return;
    queue_clear(conn);
    free(conn->q);
    free(conn);
}

/* ---- output FIFO -------------------------------------------------------- */

static int queue_push(bacsc_sc_conn *conn, bacsc_sc_buf *b)
{
    if (conn->q_count >= conn->cfg.max_queue_msgs ||
        conn->q_bytes + b->len > conn->cfg.max_queue_bytes) {
        conn->stats.queue_drops++;
        return BACSC_ERR_LIMIT;
    }
    if (conn->q_count == conn->q_cap) {
        size_t ncap = conn->q_cap ? conn->q_cap * 2 : 4;
        if (ncap > conn->cfg.max_queue_msgs)
            ncap = conn->cfg.max_queue_msgs;
        bacsc_sc_buf **nq = malloc(ncap * sizeof *nq);
        if (!nq)
            return BACSC_ERR_NOMEM;
        for (size_t i = 0; i < conn->q_count; i++)
            nq[i] = conn->q[(conn->q_head + i) % conn->q_cap];
        free(conn->q);
        conn->q = nq;
        conn->q_cap = ncap;
        conn->q_head = 0;
    }
    bacsc_sc_buf_ref(b);
    conn->q[(conn->q_head + conn->q_count) % conn->q_cap] = b;
    conn->q_count++;
    conn->q_bytes += b->len;
    conn->stats.tx_msgs++;
    conn->stats.tx_bytes += b->len;
    if (conn->q_count == 1 && conn->cb.want_write)
        conn->cb.want_write(conn, conn->user);
    return BACSC_OK;
}

int bacsc_sc_conn_peek_output(const bacsc_sc_conn *conn, const uint8_t **data, size_t *len)
{
    if (!conn->q_count)
        return 0;
    const bacsc_sc_buf *b = conn->q[conn->q_head];
    *data = b->data;
    *len = b->len;
    return 1;
}

void bacsc_sc_conn_pop_output(bacsc_sc_conn *conn)
{
    if (!conn->q_count)
        return;
    bacsc_sc_buf *b = conn->q[conn->q_head];
    conn->q_head = (conn->q_head + 1) % conn->q_cap;
    conn->q_count--;
    conn->q_bytes -= b->len;
    bacsc_sc_buf_unref(b);
}

size_t bacsc_sc_conn_output_count(const bacsc_sc_conn *conn)
{
    return conn->q_count;
}

size_t bacsc_sc_conn_output_bytes(const bacsc_sc_conn *conn)
{
    return conn->q_bytes;
}

int bacsc_sc_conn_enqueue(bacsc_sc_conn *conn, bacsc_sc_buf *b)
{
    if (conn->state != BACSC_SC_STATE_CONNECTED && conn->state != BACSC_SC_STATE_DISCONNECT_WAIT)
        return BACSC_ERR_STATE;
    return queue_push(conn, b);
}

/* Encode `msg` into a fresh buffer and queue it. `limit` is the largest
 * message the peer accepts (0: no check). */
static int encode_and_queue(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, size_t limit,
                            uint64_t now)
{
    int size = bacsc_bvlc_encoded_size(msg);
    if (size < 0)
        return BACSC_ERR_INVALID_ARG;
    if (limit && (size_t)size > limit)
        return BACSC_ERR_LIMIT;
    bacsc_sc_buf *b = bacsc_sc_buf_new((size_t)size);
    if (!b)
        return BACSC_ERR_NOMEM;
    int n = bacsc_bvlc_encode(msg, b->data, b->cap);
    if (n < 0) {
        bacsc_sc_buf_unref(b);
        return BACSC_ERR_INVALID_ARG;
    }
    b->len = (uint32_t)n;
    int rc = queue_push(conn, b);
    bacsc_sc_buf_unref(b);
    if (rc == BACSC_OK)
        conn->last_tx = now;
    return rc;
}

uint16_t bacsc_sc_conn_next_message_id(bacsc_sc_conn *conn)
{
    if (conn->next_id == 0)
        conn->next_id = 1; /* 0 means "assign one" in bacsc_sc_conn_send_msg() */
    return conn->next_id++;
}

/* ---- state changes ------------------------------------------------------ */

static void enter_closed(bacsc_sc_conn *conn, int reason, uint16_t error_code,
                         const char *details)
{
    if (conn->state == BACSC_SC_STATE_CLOSED)
        return;
    conn->state = BACSC_SC_STATE_CLOSED;
    conn->close.reason = reason;
    conn->close.error_code = error_code;
    conn->close.details = details ? details : "";
    if (conn->cb.closed)
        conn->cb.closed(conn, &conn->close, conn->user);
}

void bacsc_sc_conn_abort(bacsc_sc_conn *conn, int reason, uint16_t error_code,
                         const char *details, uint64_t now)
{
    (void)now;
    enter_closed(conn, reason, error_code, details);
}

static uint16_t swap16(uint16_t v)
{
    return (uint16_t)(v << 8 | v >> 8);
}

/* A peer limit above our own whose byte swap is a plausible, smaller limit
 * was most likely sent little-endian (bacnet-stack does: 1500 arrives as
 * 56,325). Use the smaller reading: never send the peer more than it may
 * accept. */
static uint16_t unswap(bacsc_sc_conn *conn, uint16_t v, uint16_t ours, uint16_t min)
{
    uint16_t s = swap16(v);
    if (v > ours && s >= min && s < v) {
        conn->peer_swapped = true;
        return s;
    }
    return v;
}

static void note_limits(bacsc_sc_conn *conn, const bacsc_bvlc_connect *c)
{
    conn->peer_swapped = false;
    conn->peer_raw_bvlc = c->max_bvlc_len;
    conn->peer_raw_npdu = c->max_npdu_len;
    conn->peer_eff_bvlc = unswap(conn, c->max_bvlc_len, conn->cfg.max_bvlc_len,
                                 BACSC_SC_MIN_BVLC_LEN);
    conn->peer_eff_npdu = unswap(conn, c->max_npdu_len, conn->cfg.max_npdu_len,
                                 BACSC_SC_MIN_NPDU_LEN);
}

static void enter_connected(bacsc_sc_conn *conn, const bacsc_bvlc_connect *peer, uint64_t now)
{
    conn->peer = *peer;
    note_limits(conn, peer);
    conn->peer.max_bvlc_len = conn->peer_eff_bvlc;
    conn->peer.max_npdu_len = conn->peer_eff_npdu;
    conn->state = BACSC_SC_STATE_CONNECTED;
    conn->since = now;
    conn->hb_outstanding = false;
    if (conn->cb.connected)
        conn->cb.connected(conn, &conn->peer, conn->user);
}

int bacsc_sc_conn_start(bacsc_sc_conn *conn, uint64_t now)
{
    if (conn->state != BACSC_SC_STATE_IDLE)
        return BACSC_ERR_STATE;
    conn->state = BACSC_SC_STATE_CONNECT_WAIT;
    conn->state_deadline = now + conn->cfg.connect_wait_us;
    conn->last_rx = conn->last_tx = now;
    if (conn->cfg.role == BACSC_SC_ROLE_INITIATING) {
        bacsc_bvlc_msg m;
        bacsc_bvlc_init(&m, BACSC_BVLC_CONNECT_REQUEST, bacsc_sc_conn_next_message_id(conn));
        m.u.connect.vmac = conn->cfg.vmac;
        m.u.connect.uuid = conn->cfg.uuid;
        m.u.connect.max_bvlc_len = conn->cfg.max_bvlc_len;
        m.u.connect.max_npdu_len = conn->cfg.max_npdu_len;
        int rc = encode_and_queue(conn, &m, 0, now);
        if (rc != BACSC_OK) {
            enter_closed(conn, BACSC_SC_CLOSE_LOCAL, 0, "cannot queue Connect-Request");
            return rc;
        }
    }
    return BACSC_OK;
}

/* ---- sending ------------------------------------------------------------ */

static int send_simple(bacsc_sc_conn *conn, uint8_t function, uint16_t id, uint64_t now)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, function, id);
    return encode_and_queue(conn, &m, 0, now);
}

int bacsc_sc_conn_send_nak(bacsc_sc_conn *conn, uint8_t function, uint16_t message_id,
                           const bacsc_vmac *dest, uint8_t marker, uint16_t error_code,
                           const char *details)
{
    if (function == BACSC_BVLC_RESULT)
        return BACSC_OK; /* a Result is never answered */
    bacsc_bvlc_msg m;
    bacsc_bvlc_make_nak(&m, function, message_id, marker, error_code, details);
    if (dest) {
        m.has_dest = true;
        m.dest = *dest;
    }
    conn->stats.naks_sent++;
    return encode_and_queue(conn, &m, 0, conn->last_rx);
}

static size_t peer_bvlc_limit(const bacsc_sc_conn *conn)
{
    return conn->peer.max_bvlc_len ? conn->peer.max_bvlc_len : 0;
}

int bacsc_sc_conn_send_msg(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, uint64_t now)
{
    if (conn->state != BACSC_SC_STATE_CONNECTED)
        return BACSC_ERR_STATE;
    if (msg->function == BACSC_BVLC_ENCAPSULATED_NPDU && conn->peer.max_npdu_len &&
        msg->payload_len > conn->peer.max_npdu_len)
        return BACSC_ERR_LIMIT;
    if (msg->message_id != 0)
        return encode_and_queue(conn, msg, peer_bvlc_limit(conn), now);
    bacsc_bvlc_msg m = *msg;
    m.message_id = bacsc_sc_conn_next_message_id(conn);
    return encode_and_queue(conn, &m, peer_bvlc_limit(conn), now);
}

int bacsc_sc_conn_send_npdu(bacsc_sc_conn *conn, const bacsc_vmac *dest, const uint8_t *npdu,
                            size_t len, uint64_t now)
{
    if (conn->state != BACSC_SC_STATE_CONNECTED)
        return BACSC_ERR_STATE;
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, 0);
    if (dest) {
        m.has_dest = true;
        m.dest = *dest;
    }
    m.payload = npdu;
    m.payload_len = len;
    return bacsc_sc_conn_send_msg(conn, &m, now);
}

int bacsc_sc_conn_disconnect(bacsc_sc_conn *conn, uint64_t now)
{
    switch (conn->state) {
    case BACSC_SC_STATE_IDLE:
    case BACSC_SC_STATE_CONNECT_WAIT:
        enter_closed(conn, BACSC_SC_CLOSE_LOCAL, 0, "closed before connected");
        return BACSC_OK;
    case BACSC_SC_STATE_CONNECTED:
        conn->state = BACSC_SC_STATE_DISCONNECT_WAIT;
        conn->state_deadline = now + conn->cfg.disconnect_wait_us;
        if (send_simple(conn, BACSC_BVLC_DISCONNECT_REQUEST, bacsc_sc_conn_next_message_id(conn),
                        now) != BACSC_OK)
            enter_closed(conn, BACSC_SC_CLOSE_LOCAL, 0, "cannot queue Disconnect-Request");
        return BACSC_OK;
    default:
        return BACSC_ERR_STATE;
    }
}

void bacsc_sc_conn_transport_closed(bacsc_sc_conn *conn, uint16_t error_code, uint64_t now)
{
    (void)now;
    queue_clear(conn);
    enter_closed(conn, BACSC_SC_CLOSE_TRANSPORT, error_code, "WebSocket closed");
}

/* ---- timers ------------------------------------------------------------- */

uint64_t bacsc_sc_conn_expiry(const bacsc_sc_conn *conn)
{
    uint64_t t = conn->cfg.heartbeat_us;
    switch (conn->state) {
    case BACSC_SC_STATE_CONNECT_WAIT:
    case BACSC_SC_STATE_DISCONNECT_WAIT:
        return conn->state_deadline;
    case BACSC_SC_STATE_CONNECTED:
        if (conn->cfg.role == BACSC_SC_ROLE_ACCEPTING)
            return conn->last_rx + 2 * t;
        if (conn->hb_outstanding)
            return conn->hb_sent + t;
        /* Idle in either direction: the peer must hear from us (it drops a
         * silent initiator after 2T) and we must hear from it. */
        return (conn->last_tx < conn->last_rx ? conn->last_tx : conn->last_rx) + t;
    default:
        return BACSC_SC_NEVER;
    }
}

void bacsc_sc_conn_handle_expiry(bacsc_sc_conn *conn, uint64_t now)
{
    if (now < bacsc_sc_conn_expiry(conn))
        return;
    switch (conn->state) {
    case BACSC_SC_STATE_CONNECT_WAIT:
        enter_closed(conn, BACSC_SC_CLOSE_CONNECT_TIMEOUT, BACSC_EC_TCP_CONNECT_TIMEOUT,
                     conn->cfg.role == BACSC_SC_ROLE_INITIATING
                         ? "no Connect-Accept within connect wait"
                         : "no Connect-Request within connect wait");
        break;
    case BACSC_SC_STATE_DISCONNECT_WAIT:
        enter_closed(conn, BACSC_SC_CLOSE_DISCONNECT_TIMEOUT, 0,
                     "no Disconnect-ACK within disconnect wait");
        break;
    case BACSC_SC_STATE_CONNECTED:
        if (conn->cfg.role == BACSC_SC_ROLE_ACCEPTING) {
            enter_closed(conn, BACSC_SC_CLOSE_HEARTBEAT_TIMEOUT, 0,
                         "peer silent for twice the heartbeat timeout");
        } else if (conn->hb_outstanding) {
            enter_closed(conn, BACSC_SC_CLOSE_HEARTBEAT_TIMEOUT, 0,
                         "no answer to Heartbeat-Request");
        } else {
            conn->hb_outstanding = true;
            conn->hb_sent = now;
            if (send_simple(conn, BACSC_BVLC_HEARTBEAT_REQUEST,
                            bacsc_sc_conn_next_message_id(conn), now) != BACSC_OK) {
                /* FIFO full: the peer is not reading; the answer timer still runs. */
                conn->last_tx = now;
            }
        }
        break;
    default:
        break;
    }
}

/* ---- receiving ---------------------------------------------------------- */

/* The Originating VMAC of raw octets, if the control octet says there is one
 * and it is complete (used to address NAKs for messages that failed to decode). */
static bool raw_orig(const uint8_t *data, size_t len, bacsc_vmac *orig)
{
    if (len < BACSC_BVLC_HEADER_MIN + BACSC_VMAC_LEN || !(data[1] & BACSC_BVLC_CTRL_ORIG_VMAC))
        return false;
    memcpy(orig->b, data + 4, BACSC_VMAC_LEN);
    return true;
}

/* Is the raw message addressed to the local broadcast VMAC? */
static bool raw_is_broadcast(const uint8_t *data, size_t len)
{
    if (len < BACSC_BVLC_HEADER_MIN || !(data[1] & BACSC_BVLC_CTRL_DEST_VMAC))
        return false;
    size_t off = BACSC_BVLC_HEADER_MIN + ((data[1] & BACSC_BVLC_CTRL_ORIG_VMAC) ? 6 : 0);
    if (len < off + BACSC_VMAC_LEN)
        return false;
    bacsc_vmac d;
    memcpy(d.b, data + off, BACSC_VMAC_LEN);
    return bacsc_vmac_is_broadcast(&d);
}

/* Where a NAK answering a message goes: back to its originator when it came
 * through a hub (node role); a hub answers its direct peer only. */
static const bacsc_vmac *nak_dest(const bacsc_sc_conn *conn, bool has_orig, const bacsc_vmac *orig)
{
    return (!conn->cfg.hub && has_orig) ? orig : NULL;
}

static void recv_malformed(bacsc_sc_conn *conn, const uint8_t *data, size_t len,
                           const bacsc_bvlc_error *err)
{
    conn->stats.rx_invalid++;
    if (len < BACSC_BVLC_HEADER_MIN) {
        if (conn->state == BACSC_SC_STATE_CONNECT_WAIT &&
            conn->cfg.role == BACSC_SC_ROLE_ACCEPTING)
            enter_closed(conn, BACSC_SC_CLOSE_PROTOCOL, BACSC_EC_MESSAGE_INCOMPLETE,
                         "message shorter than a BVLC-SC header");
        return; /* no Message-ID to answer: counted only */
    }
    uint8_t function = data[0];
    uint16_t id = (uint16_t)(data[2] << 8 | data[3]);
    uint16_t code = err->error_code ? err->error_code : BACSC_EC_HEADER_ENCODING_ERROR;
    bacsc_vmac orig;
    bool has_orig = raw_orig(data, len, &orig);
    /* A broadcast is never answered (AB.3.1.5): one bad sender must not make
     * every node NAK at once. */
    if (!raw_is_broadcast(data, len))
        bacsc_sc_conn_send_nak(conn, function, id, nak_dest(conn, has_orig, &orig),
                           err->marker, code, err->reason ? err->reason : "");
    if (conn->state == BACSC_SC_STATE_CONNECT_WAIT && conn->cfg.role == BACSC_SC_ROLE_ACCEPTING)
        enter_closed(conn, BACSC_SC_CLOSE_PROTOCOL, code,
                     function == BACSC_BVLC_CONNECT_REQUEST ? "malformed Connect-Request"
                                                            : "malformed message before Connect-Request");
    else if (conn->state == BACSC_SC_STATE_CONNECT_WAIT && function == BACSC_BVLC_CONNECT_ACCEPT)
        enter_closed(conn, BACSC_SC_CLOSE_PROTOCOL, code, "malformed Connect-Accept");
}

static void recv_accepting_wait(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, uint64_t now)
{
    if (msg->function != BACSC_BVLC_CONNECT_REQUEST) {
        conn->stats.rx_invalid++;
        enter_closed(conn, BACSC_SC_CLOSE_PROTOCOL, BACSC_EC_WEBSOCKET_PROTOCOL_ERROR,
                     "message before Connect-Request");
        return;
    }
    int code = 0;
    if (conn->cb.connect_request)
        code = conn->cb.connect_request(conn, &msg->u.connect, conn->user);
    if (code != 0) {
        const char *why = conn->refusal[0] ? conn->refusal : bacsc_sc_error_name((uint16_t)code);
        bacsc_sc_conn_send_nak(conn, msg->function, msg->message_id, NULL, 0, (uint16_t)code, why);
        enter_closed(conn, BACSC_SC_CLOSE_REFUSED, (uint16_t)code,
                     conn->refusal[0] ? conn->refusal : "Connect-Request refused");
        return;
    }
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_CONNECT_ACCEPT, msg->message_id);
    m.u.connect.vmac = conn->cfg.vmac;
    m.u.connect.uuid = conn->cfg.uuid;
    m.u.connect.max_bvlc_len = conn->cfg.max_bvlc_len;
    m.u.connect.max_npdu_len = conn->cfg.max_npdu_len;
    if (encode_and_queue(conn, &m, 0, now) != BACSC_OK) {
        enter_closed(conn, BACSC_SC_CLOSE_LOCAL, 0, "cannot queue Connect-Accept");
        return;
    }
    enter_connected(conn, &msg->u.connect, now);
}

static void recv_initiating_wait(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, uint64_t now)
{
    if (msg->function == BACSC_BVLC_CONNECT_ACCEPT) {
        uint16_t code = bacsc_sc_conn_check_limits(conn, &msg->u.connect);
        if (!code)
            code = bacsc_sc_conn_check_uuid(conn, &msg->u.connect.uuid);
        if (code) {
            enter_closed(conn, BACSC_SC_CLOSE_PROTOCOL, code, conn->refusal);
            return;
        }
        enter_connected(conn, &msg->u.connect, now);
    } else if (msg->function == BACSC_BVLC_RESULT &&
               msg->u.result.result_for == BACSC_BVLC_CONNECT_REQUEST &&
               msg->u.result.result_code == BACSC_RESULT_NAK) {
        enter_closed(conn, BACSC_SC_CLOSE_NAK, msg->u.result.error_code,
                     "Connect-Request NAKed by peer");
    } else {
        conn->stats.rx_invalid++; /* nothing else is meaningful before Connect-Accept */
    }
}

/* Is this message addressed to this connection's owner (rather than to be
 * forwarded by a hub)? */
static bool for_us(const bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg)
{
    return conn->cfg.hub ? !msg->has_dest : true;
}

/* A control message for us: within the rate? Past it, false (drop it); a
 * flood that goes on closes the connection (*closed). */
static bool control_ok(bacsc_sc_conn *conn, uint64_t now, bool *closed)
{
    *closed = false;
    uint32_t rate = conn->cfg.control_rate;
    if (rate == BACSC_SC_CONTROL_UNLIMITED)
        return true;
    double burst = 2.0 * rate;
    if (!conn->ctl_refilled) {
        conn->ctl_tokens = burst;
    } else if (now > conn->ctl_refilled) {
        conn->ctl_tokens += (double)(now - conn->ctl_refilled) / 1e6 * rate;
        if (conn->ctl_tokens > burst)
            conn->ctl_tokens = burst;
    }
    conn->ctl_refilled = now;
    if (conn->ctl_tokens >= 1.0) {
        conn->ctl_tokens -= 1.0;
        return true;
    }
    conn->stats.control_dropped++;
    if (!conn->flood_since || now - conn->flood_last > 1000000)
        conn->flood_since = now;
    conn->flood_last = now;
    if (now - conn->flood_since >= BACSC_SC_FLOOD_CLOSE_US) {
        snprintf(conn->refusal, sizeof conn->refusal,
                 "control-message flood: over %u/s for %llu s (%llu not answered)", rate,
                 (unsigned long long)((now - conn->flood_since) / 1000000),
                 (unsigned long long)conn->stats.control_dropped);
        enter_closed(conn, BACSC_SC_CLOSE_PROTOCOL, BACSC_EC_WEBSOCKET_DATA_AGAINST_POLICY,
                     conn->refusal);
        *closed = true;
    }
    return false;
}

static bool is_control_for_us(const bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg)
{
    bool control = msg->function == BACSC_BVLC_HEARTBEAT_REQUEST ||
                   msg->function == BACSC_BVLC_ADDRESS_RESOLUTION ||
                   msg->function == BACSC_BVLC_ADVERTISEMENT_SOLICITATION;
    return control && (msg->function == BACSC_BVLC_HEARTBEAT_REQUEST || for_us(conn, msg));
}

static void recv_established(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, const uint8_t *raw,
                             size_t len, uint64_t now)
{
    bool closed;
    if (is_control_for_us(conn, msg) && !control_ok(conn, now, &closed))
        return;
    switch (msg->function) {
    case BACSC_BVLC_HEARTBEAT_REQUEST:
        send_simple(conn, BACSC_BVLC_HEARTBEAT_ACK, msg->message_id, now);
        return;
    case BACSC_BVLC_HEARTBEAT_ACK:
        return;
    case BACSC_BVLC_DISCONNECT_REQUEST:
        send_simple(conn, BACSC_BVLC_DISCONNECT_ACK, msg->message_id, now);
        enter_closed(conn, BACSC_SC_CLOSE_PEER_DISCONNECT, 0, "peer sent Disconnect-Request");
        return;
    case BACSC_BVLC_DISCONNECT_ACK:
        if (conn->state == BACSC_SC_STATE_DISCONNECT_WAIT)
            enter_closed(conn, BACSC_SC_CLOSE_LOCAL, 0, "disconnected");
        else
            conn->stats.rx_invalid++;
        return;
    case BACSC_BVLC_CONNECT_REQUEST:
    case BACSC_BVLC_CONNECT_ACCEPT:
        conn->stats.rx_invalid++; /* the handshake is over: ignored, counted */
        return;
    default:
        break;
    }
    if (msg->not_understood_marker && msg->function != BACSC_BVLC_RESULT && for_us(conn, msg)) {
        conn->stats.rx_invalid++;
        if (msg->has_dest && bacsc_vmac_is_broadcast(&msg->dest))
            return; /* never NAK a broadcast: one bad sender must not start a NAK storm */
        bacsc_sc_conn_send_nak(conn, msg->function, msg->message_id,
                               nak_dest(conn, msg->has_orig, &msg->orig),
                               msg->not_understood_marker, BACSC_EC_HEADER_NOT_UNDERSTOOD,
                               "must-understand header option not understood");
        return;
    }
    if (conn->cb.message)
        conn->cb.message(conn, msg, raw, len, now, conn->user);
}

/* Placement rules the codec leaves to us (docs/bvlc-sc.md): the
 * connection-local functions carry no VMACs, and only Encapsulated-NPDU
 * carries data options. Both are header-encoding-errors (145), as in
 * bacnet-stack; a data option is named by its marker. */
static bool placement_error(const bacsc_bvlc_msg *msg, bacsc_bvlc_error *err)
{
    bool local = msg->function >= BACSC_BVLC_CONNECT_REQUEST &&
                 msg->function <= BACSC_BVLC_HEARTBEAT_ACK;
    memset(err, 0, sizeof *err);
    err->error_code = BACSC_EC_HEADER_ENCODING_ERROR;
    if (local && (msg->has_orig || msg->has_dest)) {
        err->reason = "VMAC on a connection-local function";
        return true;
    }
    if (msg->n_data_options && msg->function != BACSC_BVLC_ENCAPSULATED_NPDU) {
        err->marker = msg->data_options[0].marker;
        err->reason = "data options on a function other than Encapsulated-NPDU";
        return true;
    }
    return false;
}

int bacsc_sc_conn_recv(bacsc_sc_conn *conn, const uint8_t *data, size_t len, uint64_t now)
{
    if (conn->state == BACSC_SC_STATE_IDLE || conn->state == BACSC_SC_STATE_CLOSED)
        return BACSC_ERR_STATE;
    conn->stats.rx_msgs++;
    conn->stats.rx_bytes += len;
    conn->last_rx = now;
    conn->hb_outstanding = false; /* any message proves the peer alive */

    if (len > conn->cfg.max_bvlc_len) {
        conn->stats.rx_invalid++;
        enter_closed(conn, BACSC_SC_CLOSE_PROTOCOL, BACSC_EC_WEBSOCKET_FRAME_TOO_LONG,
                     "message exceeds our Max-BVLC-Length");
        return BACSC_OK;
    }
    bacsc_bvlc_msg msg;
    bacsc_bvlc_error err;
    memset(&err, 0, sizeof err);
    if (bacsc_bvlc_decode(data, len, &msg, &err) != BACSC_OK) {
        recv_malformed(conn, data, len, &err);
        return BACSC_OK;
    }
    if (placement_error(&msg, &err)) {
        recv_malformed(conn, data, len, &err);
        return BACSC_OK;
    }
    if (msg.function == BACSC_BVLC_ENCAPSULATED_NPDU && msg.payload_len > conn->cfg.max_npdu_len) {
        conn->stats.rx_invalid++;
        enter_closed(conn, BACSC_SC_CLOSE_PROTOCOL, BACSC_EC_WEBSOCKET_FRAME_TOO_LONG,
                     "NPDU exceeds our Max-NPDU-Length");
        return BACSC_OK;
    }
    if (conn->state == BACSC_SC_STATE_CONNECT_WAIT) {
        if (conn->cfg.role == BACSC_SC_ROLE_ACCEPTING)
            recv_accepting_wait(conn, &msg, now);
        else
            recv_initiating_wait(conn, &msg, now);
        return BACSC_OK;
    }
    recv_established(conn, &msg, data, len, now);
    return BACSC_OK;
}

/* ---- accessors ---------------------------------------------------------- */

int bacsc_sc_conn_state(const bacsc_sc_conn *conn)
{
    return conn->state;
}

int bacsc_sc_conn_role(const bacsc_sc_conn *conn)
{
    return conn->cfg.role;
}

const bacsc_vmac *bacsc_sc_conn_local_vmac(const bacsc_sc_conn *conn)
{
    return &conn->cfg.vmac;
}

const bacsc_bvlc_connect *bacsc_sc_conn_peer(const bacsc_sc_conn *conn)
{
    return &conn->peer;
}

uint64_t bacsc_sc_conn_connected_since(const bacsc_sc_conn *conn)
{
    return conn->since;
}

const bacsc_sc_conn_stats *bacsc_sc_conn_stats_get(const bacsc_sc_conn *conn)
{
    return &conn->stats;
}

void *bacsc_sc_conn_user(const bacsc_sc_conn *conn)
{
    return conn->user;
}

void bacsc_sc_conn_set_user(bacsc_sc_conn *conn, void *user)
{
    conn->user = user;
}

const bacsc_sc_close_info *bacsc_sc_conn_close_info(const bacsc_sc_conn *conn)
{
    return conn->state == BACSC_SC_STATE_CLOSED ? &conn->close : NULL;
}

const char *bacsc_sc_conn_state_name(int state)
{
    switch (state) {
    case BACSC_SC_STATE_IDLE: return "idle";
    case BACSC_SC_STATE_CONNECT_WAIT: return "connect-wait";
    case BACSC_SC_STATE_CONNECTED: return "connected";
    case BACSC_SC_STATE_DISCONNECT_WAIT: return "disconnect-wait";
    case BACSC_SC_STATE_CLOSED: return "closed";
    }
    return "unknown";
}

const char *bacsc_sc_close_reason_name(int reason)
{
    switch (reason) {
    case BACSC_SC_CLOSE_LOCAL: return "local";
    case BACSC_SC_CLOSE_PEER_DISCONNECT: return "peer-disconnect";
    case BACSC_SC_CLOSE_NAK: return "connect-naked";
    case BACSC_SC_CLOSE_REFUSED: return "connect-refused";
    case BACSC_SC_CLOSE_CONNECT_TIMEOUT: return "connect-timeout";
    case BACSC_SC_CLOSE_HEARTBEAT_TIMEOUT: return "heartbeat-timeout";
    case BACSC_SC_CLOSE_DISCONNECT_TIMEOUT: return "disconnect-timeout";
    case BACSC_SC_CLOSE_PROTOCOL: return "protocol-error";
    case BACSC_SC_CLOSE_TRANSPORT: return "transport-closed";
    case BACSC_SC_CLOSE_REPLACED: return "replaced";
    }
    return "unknown";
}

/* ---- Device UUID binding ------------------------------------------------ */

void bacsc_sc_conn_set_cert_uuid(bacsc_sc_conn *conn, const bacsc_uuid *cert_uuid, int policy)
{
    conn->identity_set = true;
    conn->has_cert_uuid = cert_uuid != NULL;
    if (cert_uuid)
        conn->cert_uuid = *cert_uuid;
    conn->uuid_binding = policy;
}

uint16_t bacsc_sc_conn_check_uuid(bacsc_sc_conn *conn, const bacsc_uuid *claimed)
{
    if (!conn->identity_set || conn->uuid_binding == BACSC_SC_UUID_BINDING_OFF)
        return 0;
    uint16_t code = conn->cfg.role == BACSC_SC_ROLE_ACCEPTING
                        ? BACSC_EC_TLS_CLIENT_CERTIFICATE_ERROR
                        : BACSC_EC_TLS_SERVER_CERTIFICATE_ERROR;
    char c[37], k[37];
    bacsc_uuid_format(claimed, c);
    if (!conn->has_cert_uuid) {
        if (conn->uuid_binding != BACSC_SC_UUID_BINDING_STRICT)
            return 0;
        snprintf(conn->refusal, sizeof conn->refusal,
                 "Device UUID %s: the certificate carries no urn:uuid: (uuid-binding strict)", c);
        return code;
    }
    if (memcmp(conn->cert_uuid.b, claimed->b, BACSC_UUID_LEN) == 0)
        return 0;
    snprintf(conn->refusal, sizeof conn->refusal,
             "Device UUID %s does not match the certificate's urn:uuid:%s", c,
             bacsc_uuid_format(&conn->cert_uuid, k));
    return code;
}

void bacsc_sc_conn_set_refusal(bacsc_sc_conn *conn, const char *details)
{
    snprintf(conn->refusal, sizeof conn->refusal, "%s", details ? details : "");
}

const char *bacsc_sc_conn_refusal(const bacsc_sc_conn *conn)
{
    return conn->refusal;
}

int bacsc_sc_uuid_binding_parse(const char *s)
{
    if (!s || strcmp(s, "when-present") == 0)
        return BACSC_SC_UUID_BINDING_WHEN_PRESENT;
    if (strcmp(s, "strict") == 0)
        return BACSC_SC_UUID_BINDING_STRICT;
    if (strcmp(s, "off") == 0)
        return BACSC_SC_UUID_BINDING_OFF;
    return -1;
}

const char *bacsc_sc_uuid_binding_name(int policy)
{
    return policy == BACSC_SC_UUID_BINDING_STRICT ? "strict"
           : policy == BACSC_SC_UUID_BINDING_OFF  ? "off"
                                                  : "when-present";
}

/* ---- peer limits -------------------------------------------------------- */

uint16_t bacsc_sc_conn_check_limits(bacsc_sc_conn *conn, const bacsc_bvlc_connect *c)
{
    note_limits(conn, c);
    if (c->max_bvlc_len >= BACSC_SC_MIN_BVLC_LEN && c->max_npdu_len >= BACSC_SC_MIN_NPDU_LEN)
        return 0;
    snprintf(conn->refusal, sizeof conn->refusal,
             "Max-BVLC-Length %u / Max-NPDU-Length %u: too small to carry an NPDU (at least "
             "%u / %u)", c->max_bvlc_len, c->max_npdu_len, BACSC_SC_MIN_BVLC_LEN,
             BACSC_SC_MIN_NPDU_LEN);
    return BACSC_EC_UNEXPECTED_DATA;
}

bool bacsc_sc_conn_peer_swapped(const bacsc_sc_conn *conn, uint16_t raw[2], uint16_t used[2])
{
    raw[0] = conn->peer_raw_bvlc;
    raw[1] = conn->peer_raw_npdu;
    used[0] = conn->peer_eff_bvlc;
    used[1] = conn->peer_eff_npdu;
    return conn->peer_swapped;
}
