/*
 * sc_node.c — a BACnet/SC node: hub connector + WebSocket client connections.
 *
 * The connector asks for WebSockets through open/close callbacks and signals
 * output through want_write; all three are called from inside connector
 * calls, where we must not call back into it. So they only record what to do
 * (per-slot flags) and schedule one deferred service pass, which: reports
 * synchronous connect failures, drains output FIFOs into the WebSockets,
 * starts closes, delivers queued received NPDUs to the owner (who may send
 * from there), and re-arms the timer at bacsc_sc_connector_expiry().
 *
 * Direct connections: a bacsc_sc_switch sits beside the connector. NPDUs go
 * out through it (it picks direct connection or hub); hub messages for it
 * (Address-Resolution, Advertisement...) are queued by the connector's
 * message callback and handed over in the service pass (it answers through
 * the connector, which must not be re-entered). Each direct connection has
 * a struct dcio (its WebSocket, dirty/close flags) on a list; the same
 * service pass drains and closes them. One timer follows the earlier of the
 * connector's and the switch's expiry.
 */
#include "bacsc/sc_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bacsc/bvlc.h"
#include "bacsc/error.h"
#include "bacsc/error_code.h"
#include "bacsc/log.h"
#include "bacsc/loop.h"
#include "bacsc/wsconn.h"

_Static_assert(BACSC_URI_MAX == BACSC_SC_SWITCH_URI_MAX, "status URI sizes differ");

#define RXQ_MAX 256
#define HUBQ_MAX 64

struct rx_item {
    bacsc_address src;
    size_t len;
    uint8_t *npdu;
    bool via_hub;
    bool broadcast;      /* sent to the broadcast VMAC */
};

/* A hub message for the switch, copied out of the connector callback. */
struct hub_item {
    bacsc_bvlc_msg msg;
    uint8_t *payload;
};

struct dcio {
    bacsc_sc_node *n;
    bacsc_sc_dc *dc;             /* NULL once reported gone */
    bacsc_wsconn *ws;
    bool dirty, close_wanted, open_failed, accepted;
    uint16_t fail_code;
    struct dcio *next, *prev;
};

struct nslot {
    bacsc_sc_node *n;
    int index;
    bacsc_wsconn *ws;
    bool dirty;             /* output waiting */
    bool close_wanted;      /* connector asked to close */
    bool open_failed;       /* bacsc_ws_connect() failed synchronously */
    uint16_t fail_code;
    bacsc_tls_resume resume; /* last TLS session from this slot's hub (resumption) */
    unsigned failures;      /* attempts failed since the last connection */
    uint16_t last_code;     /* the last failed attempt: code and reason */
    char last_reason[256];
};

struct bacsc_sc_node {
    bacsc_loop *loop;
    bacsc_sc_connector *conn;
    bacsc_tls_ctx *tls;
    bool plaintext;
    uint16_t max_bvlc;
    bacsc_timer timer;
    struct nslot slots[2];
    bacsc_sc_node_callbacks cb;
    struct rx_item rxq[RXQ_MAX];
    size_t rx_head, rx_count;
    bool rx_broadcast;   /* the NPDU being delivered was a broadcast */
    uint64_t rx_dropped;
    bool service_scheduled;
    bool freeing;
    bool state_pending;         /* state_changed to deliver from the service pass */
    int last_state;
    int uuid_binding;
    char name[64];
    bacsc_sc_switch *sw;
    bacsc_ws_listener *dc_listener;
    uint16_t dc_port;
    struct dcio *dcios;
    struct hub_item hubq[HUBQ_MAX];
    size_t hubq_count;
    uint64_t hubq_dropped;
    /* Initiated connections we could not track (out of memory): reported
     * gone from the next pass. At most max_conns exist, so this fits. */
    bacsc_sc_dc **orphans;
    size_t norphans, max_orphans;
};

static const char *slot_name(int slot)
{
    return slot == BACSC_SC_SLOT_PRIMARY ? "primary" : "failover";
}

static void service(bacsc_loop *loop, void *user);

static void schedule(bacsc_sc_node *n)
{
    if (!n->service_scheduled && !n->freeing &&
        bacsc_loop_defer(n->loop, service, n) == BACSC_OK)
        n->service_scheduled = true;
}

/* ---- WebSocket callbacks --------------------------------------------------------- */

static void ws_open(bacsc_wsconn *c, unsigned protocol, void *user)
{
    struct nslot *s = user;
    (void)c;
    (void)protocol;
    bacsc_sc_node *n = s->n;
    BACSC_DEBUG("%s: %s hub WebSocket open (%s)", n->name, slot_name(s->index),
                bacsc_wsconn_peer(c));
    s->failures = 0;
    s->last_code = 0;
    s->last_reason[0] = 0;
    bacsc_sc_connector_opened(n->conn, s->index, bacsc_loop_now(n->loop));
    schedule(n);
}

static void ws_message(bacsc_wsconn *c, const uint8_t *data, size_t len, void *user)
{
    struct nslot *s = user;
    (void)c;
    bacsc_sc_connector_recv(s->n->conn, s->index, data, len, bacsc_loop_now(s->n->loop));
    schedule(s->n);
}

static void ws_closed(bacsc_wsconn *c, uint16_t error_code, const char *reason, void *user)
{
    struct nslot *s = user;
    (void)c;
    bacsc_sc_node *n = s->n;
    s->ws = NULL;
    s->dirty = false;
    s->close_wanted = false;
    if (n->freeing)
        return;
    uint64_t now = bacsc_loop_now(n->loop);
    bacsc_sc_connector_closed(n->conn, s->index, error_code, now);
    if (error_code) {
        /* One line per failed attempt: what failed and when the next one is. */
        char next[48] = "";
        uint64_t at = bacsc_sc_connector_retry_at(n->conn);
        if (at != BACSC_SC_NEVER && at > now)
            snprintf(next, sizeof next, "; next try in %.2f s", (double)(at - now) / 1e6);
        s->failures++;
        s->last_code = error_code;
        snprintf(s->last_reason, sizeof s->last_reason, "%s", reason ? reason : "");
        BACSC_INFO("%s: %s hub %s: %u %s%s%s%s", n->name, slot_name(s->index),
                   bacsc_sc_connector_uri(n->conn, s->index)
                       ? bacsc_sc_connector_uri(n->conn, s->index)
                       : "",
                   error_code, bacsc_sc_error_name(error_code), reason && *reason ? ": " : "",
                   reason ? reason : "", next);
    }
    schedule(n);
}

const char *bacsc_sc_node_last_failure(const bacsc_sc_node *n, int slot, uint16_t *error_code)
{
    if (!n || slot < 0 || slot > 1) {
        if (error_code)
            *error_code = 0;
        return "";
    }
    if (error_code)
        *error_code = n->slots[slot].last_code;
    return n->slots[slot].last_reason;
}

/* The reason of a TLS failure without its code name prefix and the OpenSSL
 * error string: "client-certificate-error: X (error:...)" -> X. */
static void tls_reason(const char *text, char *out, size_t len)
{
    const char *p = strstr(text, ": ");
    const char *r = p && strchr(text, ' ') > p ? p + 2 : text;
    snprintf(out, len, "%s", r);
    char *e = strstr(out, " (error:");
    if (e)
        *e = 0;
}

bool bacsc_sc_node_cert_refused(const bacsc_sc_node *n, char *why, size_t len)
{
    if (!n || bacsc_sc_node_state(n) != 0)
        return false;
    for (int slot = 0; slot < 2; slot++) {
        uint16_t c = n->slots[slot].last_code;
        if ((slot == 0 || bacsc_sc_connector_uri(n->conn, slot)) &&
            (c < BACSC_EC_TLS_CLIENT_CERTIFICATE_ERROR ||
             c > BACSC_EC_TLS_SERVER_CERTIFICATE_REVOKED))
            return false;
    }
    if (!why || !len)
        return true;
    uint16_t code = n->slots[0].last_code;
    const char *hub = bacsc_sc_connector_uri(n->conn, 0);
    char r[256];
    tls_reason(n->slots[0].last_reason, r, sizeof r);
    const char *tail = strstr(r, "our certificate: ");
    const char *own = code == BACSC_EC_TLS_CLIENT_CERTIFICATE_EXPIRED   ? "expired"
                      : code == BACSC_EC_TLS_CLIENT_CERTIFICATE_REVOKED ? "revoked"
                      : code == BACSC_EC_TLS_CLIENT_AUTHENTICATION_FAILED
                          ? "no certificate was sent"
                      : tail ? tail + strlen("our certificate: ")
                             : r;
    const char *peer = code == BACSC_EC_TLS_SERVER_CERTIFICATE_EXPIRED   ? "expired"
                       : code == BACSC_EC_TLS_SERVER_CERTIFICATE_REVOKED ? "revoked"
                                                                         : r;
    /* even codes are about our certificate, odd ones about the hub's */
    if (code % 2 == 0)
        snprintf(why, len, "hub %s refused our certificate: %s (%u %s)", hub ? hub : "?", own,
                 code, bacsc_sc_error_name(code));
    else
        snprintf(why, len, "the certificate of hub %s is refused: %s (%u %s)", hub ? hub : "?",
                 peer, code, bacsc_sc_error_name(code));
    return true;
}

/* ---- connector callbacks (no calls back into the connector) ------------------------ */

static void conn_open(int slot, const char *uri, void *user)
{
    bacsc_sc_node *n = user;
    struct nslot *s = &n->slots[slot];
    /* The first attempt after a loss at info; further retries are summed up
     * by their failure line (one line per retry). */
    bacsc_log(s->failures > 1 ? BACSC_LOG_DEBUG : BACSC_LOG_INFO, "%s: connecting to %s hub %s",
              n->name, slot_name(slot), uri);
    bacsc_ws_options opt = {.protocols = BACSC_WS_PROTO_HUB,
                            .max_message = n->max_bvlc,
                            .insecure_plaintext = n->plaintext,
                            .resume = &s->resume};
    bacsc_ws_callbacks cb = {NULL, ws_open, ws_message, ws_closed};
    int rc = bacsc_ws_connect(n->loop, uri, n->plaintext ? NULL : n->tls, &opt, &cb, s, &s->ws);
    if (rc != BACSC_OK) {
        BACSC_WARN("%s: cannot connect to %s: %s", n->name, uri, bacsc_strerror(rc));
        s->ws = NULL;
        s->open_failed = true;
        s->fail_code = rc == BACSC_ERR_INVALID_ARG ? BACSC_EC_WS_SCHEME_NOT_SUPPORTED
                                                   : BACSC_EC_TCP_ERROR;
    }
    schedule(n);
}

static void conn_close(int slot, void *user)
{
    bacsc_sc_node *n = user;
    n->slots[slot].close_wanted = true;
    n->slots[slot].dirty = true;
    schedule(n);
}

static void conn_want_write(int slot, void *user)
{
    bacsc_sc_node *n = user;
    n->slots[slot].dirty = true;
    schedule(n);
}

static void conn_state(int state, void *user)
{
    bacsc_sc_node *n = user;
    const char *peer = bacsc_sc_node_hub_peer(n);
    BACSC_INFO("%s: hub connector state %d %s%s%s", n->name, state,
               bacsc_sc_connector_state_name(state), peer ? " via " : "", peer ? peer : "");
    const bacsc_sc_conn *hc = state == 1 || state == 2
                                  ? bacsc_sc_connector_conn(n->conn, state - 1) : NULL;
    uint16_t raw[2], used[2];
    if (hc && bacsc_sc_conn_peer_swapped(hc, raw, used)) /* once per connection */
        BACSC_WARN("%s: hub %s sent Max-BVLC-Length %u / Max-NPDU-Length %u, which look "
                   "byte-swapped (little-endian, as bacnet-stack sends them): using %u / %u",
                   n->name, peer ? peer : "?", raw[0], raw[1], used[0], used[1]);
    /* Delivered from the service pass: the owner may send from it, which
     * would re-enter the connector. */
    n->state_pending = true;
    schedule(n);
}

static void queue_hub_item(bacsc_sc_node *n, const bacsc_bvlc_msg *msg)
{
    if (n->hubq_count == HUBQ_MAX) {
        n->hubq_dropped++;
        BACSC_DEBUG("%s: %s from the hub not handled: queue full", n->name,
                    bacsc_bvlc_function_name(msg->function));
        return;
    }
    struct hub_item *it = &n->hubq[n->hubq_count];
    it->msg = *msg;
    it->payload = malloc(msg->payload_len ? msg->payload_len : 1);
    if (!it->payload) {
        n->hubq_dropped++;
        return;
    }
    memcpy(it->payload, msg->payload, msg->payload_len);
    it->msg.payload = it->payload;
    /* The typed union may point into the payload (NAK details). */
    if (msg->function == BACSC_BVLC_RESULT && msg->u.result.details)
        it->msg.u.result.details = NULL, it->msg.u.result.details_len = 0;
    it->msg.n_dest_options = it->msg.n_data_options = 0;
    n->hubq_count++;
    schedule(n);
}

static void conn_message(const bacsc_bvlc_msg *msg, uint64_t now, void *user)
{
    bacsc_sc_node *n = user;
    (void)now;
    switch (msg->function) {
    case BACSC_BVLC_ADDRESS_RESOLUTION:
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK:
    case BACSC_BVLC_ADVERTISEMENT:
    case BACSC_BVLC_ADVERTISEMENT_SOLICITATION:
        queue_hub_item(n, msg);
        return;
    case BACSC_BVLC_RESULT:
        if (msg->u.result.result_for == BACSC_BVLC_ADDRESS_RESOLUTION) {
            queue_hub_item(n, msg);
            return;
        }
        break;
    default:
        break;
    }
    if (msg->function == BACSC_BVLC_RESULT) {
        if (msg->u.result.result_code != 0) {
            /* bacnet-stack sends its NAK error codes byte-swapped (151 as 38,656) */
            uint16_t c = msg->u.result.error_code, s = (uint16_t)(c << 8 | c >> 8);
            bool swapped = c > 255 && s >= BACSC_EC_BVLC_FUNCTION_UNKNOWN && s <= 199;
            BACSC_INFO("%s: NAK from hub for %s: %u %s%s%s%s", n->name,
                       bacsc_bvlc_function_name(msg->u.result.result_for), c,
                       bacsc_sc_error_name(c), swapped ? " (looks byte-swapped: " : "",
                       swapped ? bacsc_sc_error_name(s) : "", swapped ? ")" : "");
        }
        return;
    }
    if (msg->function != BACSC_BVLC_ENCAPSULATED_NPDU)
        return;
    if (n->rx_count == RXQ_MAX) {
        n->rx_dropped++;
        return;
    }
    struct rx_item *it = &n->rxq[(n->rx_head + n->rx_count) % RXQ_MAX];
    it->npdu = malloc(msg->payload_len ? msg->payload_len : 1);
    if (!it->npdu) {
        n->rx_dropped++;
        return;
    }
    memcpy(it->npdu, msg->payload, msg->payload_len);
    it->len = msg->payload_len;
    it->src = bacsc_address_local(msg->has_orig ? msg->orig.b : BACSC_VMAC_UNKNOWN.b, 6);
    it->broadcast = msg->has_dest && bacsc_vmac_is_broadcast(&msg->dest);
    it->via_hub = msg->has_orig && !it->broadcast;
    n->rx_count++;
    schedule(n);
}

static void conn_vmac(const bacsc_vmac *vmac, void *user)
{
    bacsc_sc_node *n = user;
    char v[18];
    BACSC_WARN("%s: VMAC in use by another node (NAK 151): new VMAC %s", n->name,
               bacsc_vmac_format(vmac, v));
    bacsc_sc_switch_set_vmac(n->sw, vmac);
}

/* ---- direct connections: WebSocket side -------------------------------------------- */

static struct dcio *dcio_new(bacsc_sc_node *n)
{
    struct dcio *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->n = n;
    d->next = n->dcios;
    if (n->dcios)
        n->dcios->prev = d;
    n->dcios = d;
    return d;
}

static void dcio_free(struct dcio *d)
{
    bacsc_sc_node *n = d->n;
    if (d->prev)
        d->prev->next = d->next;
    else
        n->dcios = d->next;
    if (d->next)
        d->next->prev = d->prev;
    free(d);
}

static void *dc_ws_accept(bacsc_wsconn *c, void *listener_user)
{
    bacsc_sc_node *n = listener_user;
    struct dcio *d = dcio_new(n);
    if (d) {
        d->ws = c;
        d->accepted = true;
    }
    return d;
}

static void dc_ws_open(bacsc_wsconn *c, unsigned protocol, void *user)
{
    struct dcio *d = user;
    (void)protocol;
    if (!d) {
        bacsc_wsconn_abort(c);
        return;
    }
    bacsc_sc_node *n = d->n;
    uint64_t now = bacsc_loop_now(n->loop);
    if (d->accepted) {
        int err = 0;
        d->dc = bacsc_sc_switch_accept(n->sw, d, now, &err);
        if (!d->dc) {
            BACSC_INFO("%s: direct connection from %s refused: %s", n->name,
                       bacsc_wsconn_peer(c),
                       err == BACSC_ERR_POLICY ? "not accepting direct connections"
                                               : bacsc_strerror(err));
            bacsc_wsconn_close(c, BACSC_WS_CLOSE_GOING_AWAY,
                               err == BACSC_ERR_LIMIT ? "too many direct connections"
                                                      : "direct connections not accepted");
            return;
        }
    } else if (d->dc) {
        bacsc_sc_switch_dc_opened(n->sw, d->dc, now);
    }
    if (d->dc) {
        bacsc_sc_dc_set_address(d->dc, bacsc_wsconn_peer(c));
        if (bacsc_wsconn_ssl(c)) {
            bacsc_uuid cu;
            bool has = bacsc_tls_peer_uuid(bacsc_wsconn_ssl(c), cu.b) == 1;
            bacsc_sc_conn_set_cert_uuid(bacsc_sc_dc_conn(d->dc), has ? &cu : NULL,
                                        n->uuid_binding);
        }
    }
    schedule(n);
}

static void dc_ws_message(bacsc_wsconn *c, const uint8_t *data, size_t len, void *user)
{
    struct dcio *d = user;
    (void)c;
    if (!d || !d->dc)
        return;
    bacsc_sc_switch_dc_recv(d->n->sw, d->dc, data, len, bacsc_loop_now(d->n->loop));
    schedule(d->n);
}

static void dc_ws_closed(bacsc_wsconn *c, uint16_t error_code, const char *reason, void *user)
{
    struct dcio *d = user;
    if (!d)
        return;
    bacsc_sc_node *n = d->n;
    d->ws = NULL;
    if (n->freeing)
        return; /* bacsc_sc_node_free() frees the dcio */
    if (error_code)
        BACSC_DEBUG("%s: direct connection WebSocket closed: %u %s%s%s", n->name, error_code,
                    bacsc_sc_error_name(error_code), reason && *reason ? ": " : "",
                    reason ? reason : "");
    if (d->dc) {
        const char *why = bacsc_sc_conn_refusal(bacsc_sc_dc_conn(d->dc));
        if (why && *why) /* the peer's Device UUID is not its certificate's */
            BACSC_WARN("%s: direct connection %s %s refused: %s", n->name,
                       bacsc_sc_dc_initiated(d->dc) ? "to" : "from", bacsc_wsconn_peer(c), why);
        bacsc_sc_switch_dc_gone(n->sw, d->dc, error_code, bacsc_loop_now(n->loop));
    }
    dcio_free(d);
    schedule(n);
}

/* ---- switch callbacks (no calls back into the switch) ------------------------------ */

static int sw_hub_send_npdu(const bacsc_vmac *dest, const uint8_t *npdu, size_t len,
                            uint64_t now, void *user)
{
    bacsc_sc_node *n = user;
    return bacsc_sc_connector_send_npdu(n->conn, dest, npdu, len, now);
}

static int sw_hub_send_msg(const bacsc_bvlc_msg *msg, uint64_t now, void *user)
{
    bacsc_sc_node *n = user;
    return bacsc_sc_connector_send_msg(n->conn, msg, now);
}

static void sw_open(bacsc_sc_dc *dc, const char *uri, void *user)
{
    bacsc_sc_node *n = user;
    struct dcio *d = dcio_new(n);
    if (!d) {
        BACSC_WARN("%s: out of memory for a direct connection to %s", n->name, uri);
        if (n->norphans < n->max_orphans)
            n->orphans[n->norphans++] = dc;
        schedule(n);
        return;
    }
    d->dc = dc;
    bacsc_sc_dc_set_io(dc, d);
    BACSC_INFO("%s: opening direct connection to %s", n->name, uri);
    bacsc_ws_options opt = {.protocols = BACSC_WS_PROTO_DC,
                            .max_message = n->max_bvlc,
                            .insecure_plaintext = n->plaintext};
    bacsc_ws_callbacks cb = {NULL, dc_ws_open, dc_ws_message, dc_ws_closed};
    int rc = bacsc_ws_connect(n->loop, uri, n->plaintext ? NULL : n->tls, &opt, &cb, d, &d->ws);
    if (rc != BACSC_OK) {
        BACSC_INFO("%s: cannot open direct connection to %s: %s", n->name, uri,
                   bacsc_strerror(rc));
        d->ws = NULL;
        d->open_failed = true;
        d->fail_code = rc == BACSC_ERR_INVALID_ARG ? BACSC_EC_WS_SCHEME_NOT_SUPPORTED
                                                   : BACSC_EC_TCP_ERROR;
    }
    schedule(n);
}

static void sw_close(bacsc_sc_dc *dc, void *user)
{
    struct dcio *d = bacsc_sc_dc_io(dc);
    (void)user;
    if (!d)
        return;
    d->close_wanted = true;
    d->dirty = true;
    schedule(d->n);
}

static void sw_want_write(bacsc_sc_dc *dc, void *user)
{
    struct dcio *d = bacsc_sc_dc_io(dc);
    (void)user;
    if (!d)
        return;
    d->dirty = true;
    schedule(d->n);
}

static void sw_npdu(const bacsc_vmac *src, const uint8_t *npdu, size_t len, uint64_t now,
                    void *user)
{
    bacsc_sc_node *n = user;
    (void)now;
    if (n->rx_count == RXQ_MAX) {
        n->rx_dropped++;
        return;
    }
    struct rx_item *it = &n->rxq[(n->rx_head + n->rx_count) % RXQ_MAX];
    it->npdu = malloc(len ? len : 1);
    if (!it->npdu) {
        n->rx_dropped++;
        return;
    }
    memcpy(it->npdu, npdu, len);
    it->len = len;
    it->src = bacsc_address_local(src->b, 6);
    it->via_hub = false;
    it->broadcast = false;
    n->rx_count++;
    schedule(n);
}

static void sw_event(bacsc_sc_dc *dc, int event, void *user)
{
    bacsc_sc_node *n = user;
    char v[18];
    const bacsc_bvlc_connect *peer = bacsc_sc_conn_peer(bacsc_sc_dc_conn(dc));
    if (event == BACSC_SC_DC_CONNECTED) {
        BACSC_INFO("%s: direct connection %s %s (vmac %s)", n->name,
                   bacsc_sc_dc_initiated(dc) ? "to" : "from",
                   bacsc_sc_dc_initiated(dc) ? bacsc_sc_dc_uri(dc) : "peer",
                   bacsc_vmac_format(&peer->vmac, v));
    } else {
        const bacsc_sc_close_info *ci = bacsc_sc_dc_close_info(dc);
        BACSC_INFO("%s: direct connection %s%s closed: %s (%u %s)", n->name,
                   bacsc_sc_dc_initiated(dc) ? "to " : "from peer",
                   bacsc_sc_dc_initiated(dc) ? bacsc_sc_dc_uri(dc) : "",
                   ci ? bacsc_sc_close_reason_name(ci->reason) : "?", ci ? ci->error_code : 0,
                   ci ? ci->details : "");
    }
}

static void service_dcs(bacsc_sc_node *n, bool *busy)
{
    while (n->norphans) {
        *busy = true;
        bacsc_sc_switch_dc_gone(n->sw, n->orphans[--n->norphans], BACSC_EC_TCP_ERROR,
                                bacsc_loop_now(n->loop));
    }
    for (struct dcio *d = n->dcios, *next; d; d = next) {
        next = d->next;
        if (d->open_failed) {
            d->open_failed = false;
            *busy = true;
            bacsc_sc_dc *dc = d->dc;
            uint16_t code = d->fail_code;
            dcio_free(d);
            if (dc)
                bacsc_sc_switch_dc_gone(n->sw, dc, code, bacsc_loop_now(n->loop));
            next = n->dcios; /* the switch may have opened another: rescan */
            continue;
        }
        if (!d->dirty || !d->dc)
            continue;
        d->dirty = false;
        *busy = true;
        const uint8_t *data;
        size_t len;
        while (bacsc_sc_switch_dc_peek_output(d->dc, &data, &len)) {
            if (d->ws && bacsc_wsconn_is_open(d->ws))
                bacsc_wsconn_send(d->ws, data, len);
            bacsc_sc_switch_dc_pop_output(d->dc);
        }
        if (d->close_wanted) {
            d->close_wanted = false;
            if (d->ws) {
                if (bacsc_wsconn_is_open(d->ws))
                    bacsc_wsconn_close(d->ws, BACSC_WS_CLOSE_NORMAL, "");
                else
                    bacsc_wsconn_abort(d->ws); /* still connecting: dc_ws_closed follows */
            } else {
                bacsc_sc_dc *dc = d->dc;
                dcio_free(d);
                bacsc_sc_switch_dc_gone(n->sw, dc, 0, bacsc_loop_now(n->loop));
                next = n->dcios;
            }
        }
    }
}

/* ---- service ------------------------------------------------------------------------- */

static void service_slot(bacsc_sc_node *n, struct nslot *s)
{
    if (s->open_failed) {
        s->open_failed = false;
        bacsc_sc_connector_failed(n->conn, s->index, s->fail_code, bacsc_loop_now(n->loop));
    }
    if (!s->dirty)
        return;
    s->dirty = false;
    const uint8_t *d;
    size_t len;
    while (bacsc_sc_connector_peek_output(n->conn, s->index, &d, &len)) {
        if (s->ws && bacsc_wsconn_is_open(s->ws))
            bacsc_wsconn_send(s->ws, d, len);
        bacsc_sc_connector_pop_output(n->conn, s->index);
    }
    if (s->close_wanted) {
        s->close_wanted = false;
        if (s->ws)
            bacsc_wsconn_close(s->ws, BACSC_WS_CLOSE_NORMAL, "");
        else
            bacsc_sc_connector_closed(n->conn, s->index, 0, bacsc_loop_now(n->loop));
    }
}

static void service(bacsc_loop *loop, void *user)
{
    bacsc_sc_node *n = user;
    n->service_scheduled = false;
    /* Repeat until quiet: delivering NPDUs may queue output, closing may ask
     * for a new attempt. Bounded by the queue sizes. */
    for (int round = 0; round < 8; round++) {
        bool busy = false;
        for (int i = 0; i < 2; i++) {
            struct nslot *s = &n->slots[i];
            if (s->open_failed || s->dirty) {
                busy = true;
                service_slot(n, s);
            }
        }
        if (n->hubq_count) {
            struct hub_item q[HUBQ_MAX];
            size_t cnt = n->hubq_count;
            memcpy(q, n->hubq, cnt * sizeof q[0]);
            n->hubq_count = 0;
            for (size_t i = 0; i < cnt; i++) {
                bacsc_sc_switch_hub_message(n->sw, &q[i].msg, bacsc_loop_now(loop));
                free(q[i].payload);
            }
            n->slots[0].dirty = n->slots[1].dirty = true; /* answers queued */
            busy = true;
        }
        service_dcs(n, &busy);
        if (n->state_pending) {
            n->state_pending = false;
            int st = bacsc_sc_connector_state(n->conn);
            bacsc_sc_switch_set_hub_state(n->sw, st);
            if (st != n->last_state) {
                n->last_state = st;
                if (n->cb.state_changed)
                    n->cb.state_changed(n->cb.user, st);
            }
            busy = true;
        }
        while (n->rx_count) {
            struct rx_item it = n->rxq[n->rx_head];
            n->rx_head = (n->rx_head + 1) % RXQ_MAX;
            n->rx_count--;
            if (it.via_hub)
                bacsc_sc_switch_note_hub_rx(n->sw, (const bacsc_vmac *)it.src.mac,
                                            bacsc_loop_now(loop));
            n->rx_broadcast = it.broadcast;
            if (n->cb.npdu)
                n->cb.npdu(n->cb.user, &it.src, it.npdu, it.len, bacsc_loop_now(loop));
            n->rx_broadcast = false;
            free(it.npdu);
            busy = true;
        }
        if (!busy)
            break;
    }
    /* Anything the pass made the switch queue for the hub (AR, answers). */
    for (int i = 0; i < 2; i++)
        if (n->slots[i].dirty)
            service_slot(n, &n->slots[i]);
    uint64_t e = bacsc_sc_connector_expiry(n->conn);
    uint64_t e2 = bacsc_sc_switch_expiry(n->sw);
    if (e2 < e)
        e = e2;
    if (e == BACSC_SC_NEVER)
        bacsc_timer_stop(loop, &n->timer);
    else if (!bacsc_timer_active(&n->timer) || n->timer.node.key != e)
        bacsc_timer_start_at(loop, &n->timer, e);
    bool dc_pending = false;
    for (struct dcio *d = n->dcios; d; d = d->next)
        if (d->dirty || d->open_failed)
            dc_pending = true;
    if (n->slots[0].dirty || n->slots[1].dirty || n->rx_count || n->slots[0].open_failed ||
        n->slots[1].open_failed || n->hubq_count || dc_pending || n->norphans)
        schedule(n);
}

static void on_timer(bacsc_loop *loop, void *user)
{
    bacsc_sc_node *n = user;
    bacsc_sc_connector_handle_expiry(n->conn, bacsc_loop_now(loop));
    bacsc_sc_switch_handle_expiry(n->sw, bacsc_loop_now(loop));
    n->slots[0].dirty = n->slots[1].dirty = true; /* the switch may have sent via the hub */
    schedule(n);
}

/* ---- public ---------------------------------------------------------------------------- */

static bool uri_ok(const char *uri, bool plaintext, char *err, size_t errlen)
{
    if (!uri || !*uri)
        return true;
    if (strncmp(uri, "wss://", 6) == 0)
        return true;
    if (strncmp(uri, "ws://", 5) == 0) {
        if (plaintext)
            return true;
        snprintf(err, errlen, "%s: ws:// (plaintext) needs --insecure-plaintext", uri);
        return false;
    }
    snprintf(err, errlen, "%s: not a wss:// URI", uri);
    return false;
}

/* "ADDR:PORT" with the actual port → "wss://ADDR:PORT" (or ws://). */
static void default_dc_uri(const bacsc_sc_node *n, const char *listen, char *out, size_t cap)
{
    const char *colon = strrchr(listen, ':');
    int hl = colon ? (int)(colon - listen) : (int)strlen(listen);
    snprintf(out, cap, "%s://%.*s:%u", n->plaintext ? "ws" : "wss", hl, listen, n->dc_port);
}

static int setup_switch(bacsc_sc_node *n, const bacsc_sc_node_config *cfg, char *err,
                        size_t errlen)
{
    char uris[BACSC_SC_SWITCH_URIS_MAX] = "";
    if (cfg->dc_listen && *cfg->dc_listen) {
        if (!cfg->insecure_plaintext && !cfg->dc_tls) {
            snprintf(err, errlen, "direct connections: no server TLS context");
            return BACSC_ERR_INVALID_ARG;
        }
        bacsc_ws_options opt = {.protocols = BACSC_WS_PROTO_DC,
                                .max_message = n->max_bvlc,
                                .max_connections = (unsigned)(cfg->dc_max_conns
                                                                  ? cfg->dc_max_conns
                                                                  : BACSC_SC_SWITCH_DEFAULT_MAX_CONNS) + 4,
                                .insecure_plaintext = cfg->insecure_plaintext};
        bacsc_ws_callbacks wcb = {dc_ws_accept, dc_ws_open, dc_ws_message, dc_ws_closed};
        int rc = bacsc_ws_listen(n->loop, cfg->dc_listen,
                                 cfg->insecure_plaintext ? NULL : cfg->dc_tls, &opt, &wcb, n,
                                 &n->dc_listener);
        if (rc != BACSC_OK) {
            if (rc == BACSC_ERR_IO)
                snprintf(err, errlen, "--dc-listen %s: cannot listen: %m", cfg->dc_listen);
            else
                snprintf(err, errlen, "--dc-listen '%s': %s (want ADDR:PORT)", cfg->dc_listen,
                         bacsc_strerror(rc));
            return rc == BACSC_ERR_IO ? BACSC_ERR_IO : BACSC_ERR_INVALID_ARG;
        }
        n->dc_port = bacsc_ws_listener_port(n->dc_listener);
        if (cfg->dc_uris && *cfg->dc_uris)
            snprintf(uris, sizeof uris, "%s", cfg->dc_uris);
        else
            default_dc_uri(n, cfg->dc_listen, uris, sizeof uris);
    }
    bacsc_sc_switch_config sc;
    bacsc_sc_switch_config_default(&sc);
    sc.vmac = *bacsc_sc_connector_vmac(n->conn);
    sc.uuid = cfg->uuid;
    if (cfg->max_bvlc_len)
        sc.max_bvlc_len = cfg->max_bvlc_len;
    if (cfg->max_npdu_len)
        sc.max_npdu_len = cfg->max_npdu_len;
    if (cfg->connect_wait_us)
        sc.connect_wait_us = cfg->connect_wait_us;
    if (cfg->disconnect_wait_us)
        sc.disconnect_wait_us = cfg->disconnect_wait_us;
    if (cfg->heartbeat_us)
        sc.heartbeat_us = cfg->heartbeat_us;
    sc.accept_enable = n->dc_listener != NULL;
    sc.accept_uris = uris;
    sc.auto_initiate = cfg->dc_auto;
    if (cfg->dc_max_conns)
        sc.max_conns = cfg->dc_max_conns;
    if (sc.max_peers <= 2 * sc.max_conns)
        sc.max_peers = 2 * sc.max_conns + 64;
    if (cfg->dc_idle_us)
        sc.idle_us = cfg->dc_idle_us;
    if (cfg->dc_auto_count)
        sc.auto_count = cfg->dc_auto_count;
    if (cfg->dc_auto_window_us)
        sc.auto_window_us = cfg->dc_auto_window_us;
    bacsc_sc_switch_callbacks scb = {.hub_send_npdu = sw_hub_send_npdu,
                                     .hub_send_msg = sw_hub_send_msg,
                                     .open = sw_open,
                                     .close = sw_close,
                                     .want_write = sw_want_write,
                                     .npdu = sw_npdu,
                                     .dc_event = sw_event,
                                     .random = bacsc_io_random};
    n->max_orphans = sc.max_conns;
    n->orphans = calloc(n->max_orphans, sizeof *n->orphans);
    n->sw = n->orphans ? bacsc_sc_switch_new(&sc, &scb, n) : NULL;
    if (!n->sw) {
        snprintf(err, errlen, "invalid direct-connection configuration (URIs too long or limits)");
        return BACSC_ERR_INVALID_ARG;
    }
    if (n->dc_listener)
        BACSC_INFO("%s: accepting direct connections on port %u as %s", n->name, n->dc_port,
                   uris);
    return BACSC_OK;
}

int bacsc_sc_node_new(bacsc_loop *loop, const bacsc_sc_node_config *cfg,
                      const bacsc_sc_node_callbacks *cb, bacsc_sc_node **out, char *err,
                      size_t errlen)
{
    if (!cfg->primary_uri || !*cfg->primary_uri) {
        snprintf(err, errlen, "no primary hub URI");
        return BACSC_ERR_INVALID_ARG;
    }
    if (!uri_ok(cfg->primary_uri, cfg->insecure_plaintext, err, errlen) ||
        !uri_ok(cfg->failover_uri, cfg->insecure_plaintext, err, errlen))
        return BACSC_ERR_INVALID_ARG;
    if (!cfg->insecure_plaintext && !cfg->tls) {
        snprintf(err, errlen, "no TLS context");
        return BACSC_ERR_INVALID_ARG;
    }
    bacsc_sc_node *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return BACSC_ERR_NOMEM;
    }
    n->loop = loop;
    n->tls = cfg->tls;
    n->plaintext = cfg->insecure_plaintext;
    n->uuid_binding = cfg->uuid_binding;
    n->max_bvlc = cfg->max_bvlc_len ? cfg->max_bvlc_len : BACSC_SC_DEFAULT_MAX_BVLC_LEN;
    if (cb)
        n->cb = *cb;
    snprintf(n->name, sizeof n->name, "%s", cfg->name ? cfg->name : "node");
    for (int i = 0; i < 2; i++) {
        n->slots[i].n = n;
        n->slots[i].index = i;
    }
    bacsc_timer_init(&n->timer, on_timer, n);
    bacsc_sc_connector_config cc;
    bacsc_sc_connector_config_default(&cc);
    cc.primary_uri = cfg->primary_uri;
    cc.failover_uri = cfg->failover_uri;
    cc.random_vmac = !cfg->fixed_vmac;
    cc.vmac = cfg->vmac;
    cc.uuid = cfg->uuid;
    if (cfg->max_bvlc_len)
        cc.max_bvlc_len = cfg->max_bvlc_len;
    if (cfg->max_npdu_len)
        cc.max_npdu_len = cfg->max_npdu_len;
    if (cfg->connect_wait_us)
        cc.connect_wait_us = cfg->connect_wait_us;
    if (cfg->disconnect_wait_us)
        cc.disconnect_wait_us = cfg->disconnect_wait_us;
    if (cfg->heartbeat_us)
        cc.heartbeat_us = cfg->heartbeat_us;
    if (cfg->reconnect_min_us)
        cc.reconnect_min_us = cfg->reconnect_min_us;
    if (cfg->reconnect_max_us)
        cc.reconnect_max_us = cfg->reconnect_max_us;
    bacsc_sc_connector_callbacks ccb = {.open = conn_open,
                                        .close = conn_close,
                                        .want_write = conn_want_write,
                                        .state_changed = conn_state,
                                        .message = conn_message,
                                        .vmac_changed = conn_vmac,
                                        .random = bacsc_io_random};
    n->conn = bacsc_sc_connector_new(&cc, &ccb, n);
    if (!n->conn) {
        snprintf(err, errlen, "invalid hub connector configuration (timers or limits)");
        free(n);
        return BACSC_ERR_INVALID_ARG;
    }
    int rc = setup_switch(n, cfg, err, errlen);
    if (rc != BACSC_OK) {
        bacsc_sc_node_free(n);
        return rc;
    }
    *out = n;
    return BACSC_OK;
}

int bacsc_sc_node_start(bacsc_sc_node *n)
{
    char v[18];
    BACSC_INFO("%s: starting with VMAC %s", n->name,
               bacsc_vmac_format(bacsc_sc_connector_vmac(n->conn), v));
    int rc = bacsc_sc_connector_start(n->conn, bacsc_loop_now(n->loop));
    schedule(n);
    return rc;
}

void bacsc_sc_node_stop(bacsc_sc_node *n)
{
    bacsc_sc_connector_stop(n->conn, bacsc_loop_now(n->loop));
    bacsc_sc_switch_stop(n->sw, bacsc_loop_now(n->loop));
    if (n->dc_listener) {
        bacsc_ws_listener_close(n->dc_listener);
        n->dc_listener = NULL;
    }
    schedule(n);
}

/* Close `ws` when its peer's certificate no longer verifies with `tls`. */
static unsigned recheck_ws(bacsc_sc_node *n, bacsc_tls_ctx *tls, bacsc_wsconn *ws,
                           const char *what)
{
    char why[160] = "";
    struct ssl_st *ssl = ws ? bacsc_wsconn_ssl(ws) : NULL;
    if (!ssl || bacsc_tls_peer_recheck(tls, ssl, why, sizeof why) == BACSC_OK)
        return 0;
    BACSC_WARN("%s: %s %s: its certificate is no longer accepted (%s): disconnecting", n->name,
               what, bacsc_wsconn_peer(ws), why);
    bacsc_wsconn_close(ws, 1008, "certificate no longer accepted");
    return 1;
}

unsigned bacsc_sc_node_recheck_peers(bacsc_sc_node *n)
{
    if (n->plaintext || !n->tls)
        return 0;
    unsigned closed = 0;
    for (int i = 0; i < 2; i++)
        closed += recheck_ws(n, n->tls, n->slots[i].ws, i == 0 ? "primary hub" : "failover hub");
    for (struct dcio *d = n->dcios; d; d = d->next)
        closed += recheck_ws(n, n->tls, d->ws, "direct connection");
    schedule(n);
    return closed;
}

bool bacsc_sc_node_idle(const bacsc_sc_node *n)
{
    /* ... and no service pass queued on the loop: then it may be freed. */
    return bacsc_sc_connector_idle(n->conn) && !n->slots[0].ws && !n->slots[1].ws &&
           bacsc_sc_switch_idle(n->sw) && !n->dcios && !n->service_scheduled;
}

int bacsc_sc_node_send(bacsc_sc_node *n, const bacsc_address *dest, const uint8_t *npdu,
                       size_t len)
{
    bacsc_vmac v;
    if (dest->mac_len == 0)
        v = BACSC_VMAC_BROADCAST;
    else if (dest->mac_len == 6)
        memcpy(v.b, dest->mac, 6);
    else
        return BACSC_ERR_INVALID_ARG;
    int rc = bacsc_sc_switch_send_npdu(n->sw, &v, npdu, len, bacsc_loop_now(n->loop));
    schedule(n);
    return rc;
}

static int datalink_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    return bacsc_sc_node_send(user, dest, npdu, len);
}

bacsc_datalink bacsc_sc_node_datalink(bacsc_sc_node *n)
{
    bacsc_datalink dl = {.send = datalink_send, .user = n, .max_npdu = 0};
    return dl;
}

int bacsc_sc_node_state(const bacsc_sc_node *n)
{
    return bacsc_sc_connector_state(n->conn);
}

const bacsc_sc_connector *bacsc_sc_node_connector(const bacsc_sc_node *n)
{
    return n->conn;
}

const bacsc_vmac *bacsc_sc_node_vmac(const bacsc_sc_node *n)
{
    return bacsc_sc_connector_vmac(n->conn);
}

bool bacsc_sc_node_rx_broadcast(const bacsc_sc_node *n)
{
    return n->rx_broadcast;
}

size_t bacsc_sc_node_peer_max_npdu(const bacsc_sc_node *n)
{
    int st = bacsc_sc_connector_state(n->conn);
    if (st == BACSC_SC_NO_HUB_CONNECTION)
        return 0;
    bacsc_sc_conn *c = bacsc_sc_connector_conn(
        n->conn, st == BACSC_SC_CONNECTED_TO_PRIMARY ? BACSC_SC_SLOT_PRIMARY : BACSC_SC_SLOT_FAILOVER);
    return c ? bacsc_sc_conn_peer(c)->max_npdu_len : 0;
}

const char *bacsc_sc_node_hub_peer(const bacsc_sc_node *n)
{
    int st = bacsc_sc_connector_state(n->conn);
    int slot = st == BACSC_SC_CONNECTED_TO_PRIMARY    ? 0
               : st == BACSC_SC_CONNECTED_TO_FAILOVER ? 1
                                                      : -1;
    if (slot < 0 || !n->slots[slot].ws)
        return NULL;
    return bacsc_wsconn_peer(n->slots[slot].ws);
}

void bacsc_loop_time_to_datetime(const bacsc_loop *loop, uint64_t t, bacsc_datetime *dt)
{
    memset(dt, 0xFF, sizeof *dt);
    if (t == 0)
        return;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t now = bacsc_loop_now(loop);
    int64_t real_us = (int64_t)rt.tv_sec * 1000000 + rt.tv_nsec / 1000 - (int64_t)(now - t);
    time_t secs = (time_t)(real_us / 1000000);
    struct tm tm;
    if (!localtime_r(&secs, &tm))
        return;
    dt->date.year_1900 = (uint8_t)tm.tm_year;
    dt->date.month = (uint8_t)(tm.tm_mon + 1);
    dt->date.day = (uint8_t)tm.tm_mday;
    dt->date.wday = (uint8_t)(tm.tm_wday == 0 ? 7 : tm.tm_wday);
    dt->time.hour = (uint8_t)tm.tm_hour;
    dt->time.minute = (uint8_t)tm.tm_min;
    dt->time.second = (uint8_t)tm.tm_sec;
    dt->time.hundredths = (uint8_t)((real_us % 1000000) / 10000);
}

static void fill_conn(const bacsc_sc_node *n, int slot, bacsc_sc_hub_connection *hc)
{
    const bacsc_sc_hub_connection_status *st = bacsc_sc_connector_status(n->conn, slot);
    memset(hc, 0, sizeof *hc);
    if (!st) {
        bacsc_loop_time_to_datetime(n->loop, 0, &hc->connect_time);
        bacsc_loop_time_to_datetime(n->loop, 0, &hc->disconnect_time);
        return;
    }
    hc->state = (uint8_t)st->state;
    bacsc_loop_time_to_datetime(n->loop, st->connect_time, &hc->connect_time);
    bacsc_loop_time_to_datetime(n->loop, st->disconnect_time, &hc->disconnect_time);
    hc->error_class = st->error_code ? 7 : 0; /* COMMUNICATION */
    hc->error_code = st->error_code;
    snprintf(hc->error_details, sizeof hc->error_details, "%s",
             st->error_details ? st->error_details : "");
}

void bacsc_sc_node_port_state(const bacsc_sc_node *n, bacsc_sc_port_state *st)
{
    st->connector_state = (uint8_t)bacsc_sc_connector_state(n->conn);
    fill_conn(n, BACSC_SC_SLOT_PRIMARY, &st->primary);
    fill_conn(n, BACSC_SC_SLOT_FAILOVER, &st->failover);
    memcpy(st->vmac, bacsc_sc_connector_vmac(n->conn)->b, 6);
    st->reliability = 0;
}

const bacsc_sc_switch *bacsc_sc_node_switch(const bacsc_sc_node *n)
{
    return n->sw;
}

uint16_t bacsc_sc_node_dc_port(const bacsc_sc_node *n)
{
    return n->dc_port;
}

int bacsc_sc_node_dc_connect(bacsc_sc_node *n, const bacsc_vmac *vmac)
{
    int rc = bacsc_sc_switch_connect(n->sw, vmac, bacsc_loop_now(n->loop));
    schedule(n);
    return rc;
}

void bacsc_sc_node_dc_set_accept(bacsc_sc_node *n, bool enable)
{
    bacsc_sc_switch_set_accept(n->sw, enable && n->dc_listener);
}

void bacsc_sc_node_dc_set_auto(bacsc_sc_node *n, bool enable)
{
    bacsc_sc_switch_set_auto(n->sw, enable);
}

size_t bacsc_sc_node_dc_status(const bacsc_sc_node *n, bacsc_sc_direct_connection *rows,
                               size_t max)
{
    bacsc_sc_dc_status st[64];
    size_t total = bacsc_sc_switch_status(n->sw, st, 64);
    size_t cnt = total < 64 ? total : 64;
    for (size_t i = 0; i < cnt && i < max; i++) {
        bacsc_sc_direct_connection *r = &rows[i];
        memset(r, 0, sizeof *r);
        memcpy(r->uri, st[i].uri, sizeof r->uri); /* both BACSC_URI_MAX = 256 */
        r->uri[sizeof r->uri - 1] = '\0';
        r->state = (uint8_t)st[i].state;
        bacsc_loop_time_to_datetime(n->loop, st[i].connect_time, &r->connect_time);
        bacsc_loop_time_to_datetime(n->loop, st[i].disconnect_time, &r->disconnect_time);
        memcpy(r->peer_address, st[i].peer_address, sizeof r->peer_address);
        memcpy(r->peer_vmac, st[i].vmac.b, 6);
        memcpy(r->peer_uuid, st[i].uuid.b, 16);
        r->error_code = st[i].error_code;
        r->error_class = st[i].error_code ? 7 : 0;
        snprintf(r->error_details, sizeof r->error_details, "%s",
                 st[i].error_details ? st[i].error_details : "");
    }
    return cnt;
}

void bacsc_sc_node_free(bacsc_sc_node *n)
{
    if (!n)
        return;
    n->freeing = true;
    if (n->dc_listener)
        bacsc_ws_listener_close(n->dc_listener);
    while (n->dcios) {
        struct dcio *d = n->dcios;
        if (d->ws)
            bacsc_wsconn_abort(d->ws);
        dcio_free(d);
    }
    for (size_t i = 0; i < n->hubq_count; i++)
        free(n->hubq[i].payload);
    bacsc_sc_switch_free(n->sw);
    free(n->orphans);
    for (int i = 0; i < 2; i++)
        if (n->slots[i].ws)
            bacsc_wsconn_abort(n->slots[i].ws);
    for (int i = 0; i < 2; i++)
        bacsc_tls_resume_clear(&n->slots[i].resume);
    bacsc_timer_stop(n->loop, &n->timer);
    while (n->rx_count) {
        free(n->rxq[n->rx_head].npdu);
        n->rx_head = (n->rx_head + 1) % RXQ_MAX;
        n->rx_count--;
    }
    bacsc_sc_connector_free(n->conn);
    free(n);
}
