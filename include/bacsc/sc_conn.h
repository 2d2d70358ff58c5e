/*
 * bacsc/sc_conn.h — one BACnet/SC connection (ASHRAE 135 Annex AB), sans-I/O.
 *
 * A bacsc_sc_conn owns the BVLC-SC protocol state of one WebSocket that is
 * already open: the Connect-Request/Connect-Accept exchange, heartbeats,
 * the Disconnect-Request/ACK exchange and the validation of every received
 * message (NAKs with the standard's error codes). It never touches sockets,
 * clocks or random sources:
 *
 *   - bytes in:  bacsc_sc_conn_recv(conn, data, len, now) for each complete
 *                binary WebSocket message;
 *   - bytes out: a bounded FIFO of encoded BVLC-SC messages, drained with
 *                bacsc_sc_conn_peek_output() / bacsc_sc_conn_pop_output();
 *   - events:    callbacks given at creation (connected, message, closed);
 *   - time:      every call that can change state takes `now` (monotonic
 *                microseconds); bacsc_sc_conn_expiry() says when the
 *                connection next needs bacsc_sc_conn_handle_expiry();
 *   - random:    the caller's bacsc_random_fn (message-id seed).
 *
 * Roles: BACSC_SC_ROLE_INITIATING sends Connect-Request as soon as it is
 * started and waits for Connect-Accept; BACSC_SC_ROLE_ACCEPTING waits for a
 * Connect-Request and answers it (after asking its owner through the
 * connect_request callback).
 *
 * Once the `closed` callback has run the connection sends nothing more; the
 * owner writes what is still queued (e.g. a Disconnect-ACK or a NAK), then
 * closes the WebSocket and frees the connection.
 *
 * Callbacks run synchronously inside the call that caused them and must not
 * call bacsc_sc_conn_free() on the same connection; they may call the send
 * functions and bacsc_sc_conn_disconnect().
 *
 * See docs/sc-core.md for states, timers, defaults and the NAK policy.
 */
#ifndef BACSC_SC_CONN_H
#define BACSC_SC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bvlc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Randomness source: fill buf[0..len) with random octets. Returns 0 on
 * success, non-zero on failure (callers then fall back or fail with
 * BACSC_ERR_CRYPTO). Identical typedefs may appear in several headers. */
typedef int (*bacsc_random_fn)(void *user, uint8_t *buf, size_t len);

/* Default timers and limits (microseconds / octets). */
#define BACSC_SC_DEFAULT_CONNECT_WAIT_US (10ull * 1000000)
#define BACSC_SC_DEFAULT_DISCONNECT_WAIT_US (5ull * 1000000)
#define BACSC_SC_DEFAULT_HEARTBEAT_US (60ull * 1000000)
#define BACSC_SC_DEFAULT_MAX_BVLC_LEN 1600
#define BACSC_SC_DEFAULT_MAX_NPDU_LEN 1497
#define BACSC_SC_DEFAULT_QUEUE_MSGS 256
#define BACSC_SC_DEFAULT_QUEUE_BYTES (256u * 1024)
#define BACSC_SC_NEVER UINT64_MAX

enum bacsc_sc_role {
    BACSC_SC_ROLE_INITIATING = 0,
    BACSC_SC_ROLE_ACCEPTING = 1
};

enum bacsc_sc_conn_state {
    BACSC_SC_STATE_IDLE = 0,            /* created, not started */
    BACSC_SC_STATE_CONNECT_WAIT = 1,    /* initiating: Connect-Request sent, awaiting Accept;
                                           accepting: awaiting Connect-Request */
    BACSC_SC_STATE_CONNECTED = 2,
    BACSC_SC_STATE_DISCONNECT_WAIT = 3, /* Disconnect-Request sent, awaiting ACK */
    BACSC_SC_STATE_CLOSED = 4
};

/* Why a connection closed (bacsc_sc_close_info.reason). */
enum bacsc_sc_close_reason {
    BACSC_SC_CLOSE_LOCAL = 0,            /* we asked: Disconnect-ACK received or local abort */
    BACSC_SC_CLOSE_PEER_DISCONNECT = 1,  /* peer sent Disconnect-Request; we ACKed */
    BACSC_SC_CLOSE_NAK = 2,              /* our Connect-Request was NAKed (error_code, e.g. 151) */
    BACSC_SC_CLOSE_REFUSED = 3,          /* we NAKed the peer's Connect-Request (error_code) */
    BACSC_SC_CLOSE_CONNECT_TIMEOUT = 4,  /* no Connect-Accept / Connect-Request within connect wait */
    BACSC_SC_CLOSE_HEARTBEAT_TIMEOUT = 5,/* peer silent (initiating: no answer to a heartbeat;
                                            accepting: nothing for 2 x heartbeat) */
    BACSC_SC_CLOSE_DISCONNECT_TIMEOUT = 6,/* no Disconnect-ACK within disconnect wait */
    BACSC_SC_CLOSE_PROTOCOL = 7,         /* peer broke the protocol (error_code says how) */
    BACSC_SC_CLOSE_TRANSPORT = 8,        /* the WebSocket went away (bacsc_sc_conn_transport_closed) */
    BACSC_SC_CLOSE_REPLACED = 9          /* hub: a new connection with the same UUID/VMAC took over */
};

typedef struct bacsc_sc_close_info {
    int reason;              /* enum bacsc_sc_close_reason */
    uint16_t error_code;     /* BACSC_EC_* (0 for a clean close) */
    const char *details;     /* constant one-line English text; never NULL */
} bacsc_sc_close_info;

typedef struct bacsc_sc_conn bacsc_sc_conn;

typedef struct bacsc_sc_conn_config {
    int role;                       /* enum bacsc_sc_role */
    bool hub;                       /* accepting side of a hub function: messages carrying a
                                       Destination VMAC are for forwarding, not for us */
    bacsc_vmac vmac;                /* our VMAC (sent in Connect-Request/Accept) */
    bacsc_uuid uuid;                /* our Device UUID */
    uint16_t max_bvlc_len;          /* largest BVLC message we accept (0: default) */
    uint16_t max_npdu_len;          /* largest NPDU we accept (0: default) */
    uint64_t connect_wait_us;       /* 0: default */
    uint64_t disconnect_wait_us;    /* 0: default */
    uint64_t heartbeat_us;          /* 0: default */
    size_t max_queue_msgs;          /* output FIFO limit in messages (0: default) */
    size_t max_queue_bytes;         /* output FIFO limit in octets (0: default) */
    /* Control messages addressed to us (Heartbeat-Request, Address-Resolution,
     * Advertisement-Solicitation): at most control_rate per second, bursts
     * of 2x (0: default 20/s; BACSC_SC_CONTROL_UNLIMITED: off). Past it they
     * are not answered (stats.control_dropped); when the excess goes on for
     * BACSC_SC_FLOOD_CLOSE_US without a 1 s pause, the connection closes
     * (reason PROTOCOL, error 175 websocket-data-against-policy). */
    uint32_t control_rate;
} bacsc_sc_conn_config;

#define BACSC_SC_DEFAULT_CONTROL_RATE 20
#define BACSC_SC_CONTROL_UNLIMITED 0xFFFFFFFFu
#define BACSC_SC_FLOOD_CLOSE_US (10ull * 1000000)

/* Fill `cfg` with the defaults above, the given role, and zero VMAC/UUID. */
void bacsc_sc_conn_config_default(bacsc_sc_conn_config *cfg, int role);

typedef struct bacsc_sc_conn_callbacks {
    /* Accepting role only (may be NULL: accept everything). A Connect-Request
     * arrived; return 0 to accept it (Connect-Accept is sent), or a BACnet
     * error code (e.g. BACSC_EC_NODE_DUPLICATE_VMAC) to NAK it and close. */
    int (*connect_request)(bacsc_sc_conn *conn, const bacsc_bvlc_connect *req, void *user);
    /* The handshake completed; `peer` holds the peer's VMAC, UUID and limits. */
    void (*connected)(bacsc_sc_conn *conn, const bacsc_bvlc_connect *peer, void *user);
    /* A validated message for the owner: Encapsulated-NPDU, Address-Resolution(-ACK),
     * Advertisement(-Solicitation), Proprietary-Message, BVLC-Result (other than the
     * answer to our Connect-Request) and, for a hub connection, any message with a
     * Destination VMAC. `msg` and `raw`/`raw_len` (the whole received message) are
     * valid only during the call. */
    void (*message)(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, const uint8_t *raw,
                    size_t raw_len, uint64_t now, void *user);
    /* The connection reached CLOSED. Called exactly once. */
    void (*closed)(bacsc_sc_conn *conn, const bacsc_sc_close_info *info, void *user);
    /* Output FIFO went from empty to non-empty (may be NULL). */
    void (*want_write)(bacsc_sc_conn *conn, void *user);
    /* Random octets (message-id seed). May be NULL: message ids then start at 1. */
    bacsc_random_fn random;
} bacsc_sc_conn_callbacks;

/* Per-connection counters. */
typedef struct bacsc_sc_conn_stats {
    uint64_t rx_msgs, rx_bytes;     /* messages received (all, valid or not) */
    uint64_t tx_msgs, tx_bytes;     /* messages queued for sending */
    uint64_t rx_invalid;            /* malformed / unexpected / oversize, incl. those NAKed */
    uint64_t naks_sent;
    uint64_t queue_drops;           /* outgoing messages refused because the FIFO was full */
    uint64_t control_dropped;       /* control messages over control_rate, not answered */
} bacsc_sc_conn_stats;

/*
 * Create a connection in state IDLE. `cfg` and `cb` are copied.
 * Returns NULL when out of memory or when `cfg` is invalid (role unknown,
 * max_bvlc_len < 64, max_npdu_len > max_bvlc_len).
 */
bacsc_sc_conn *bacsc_sc_conn_new(const bacsc_sc_conn_config *cfg,
                                 const bacsc_sc_conn_callbacks *cb, void *user);

/* Free the connection and any queued output. NULL is ignored. */
void bacsc_sc_conn_free(bacsc_sc_conn *conn);

/*
 * The WebSocket is open: initiating role queues Connect-Request, accepting
 * role starts waiting for one; both enter CONNECT_WAIT with the connect-wait
 * timer running. Returns BACSC_OK, or BACSC_ERR_STATE if not IDLE.
 */
int bacsc_sc_conn_start(bacsc_sc_conn *conn, uint64_t now);

/*
 * Process one received BVLC-SC message (one binary WebSocket message).
 * Invalid input is answered on the wire (NAK) or closes the connection; it is
 * never an error of this call. Returns BACSC_OK, or BACSC_ERR_STATE when the
 * connection is IDLE or CLOSED (the data is ignored).
 */
int bacsc_sc_conn_recv(bacsc_sc_conn *conn, const uint8_t *data, size_t len, uint64_t now);

/*
 * Queue an Encapsulated-NPDU. `dest` NULL sends without a Destination VMAC
 * (node to hub: the hub treats it as addressed to itself — normally pass the
 * destination or &BACSC_VMAC_BROADCAST). A fresh message id is assigned.
 * Returns BACSC_OK; BACSC_ERR_STATE when not CONNECTED; BACSC_ERR_LIMIT when the
 * NPDU or the message exceeds the peer's Max-NPDU/Max-BVLC-Length or the
 * output FIFO is full (counted in queue_drops); BACSC_ERR_NOMEM.
 */
int bacsc_sc_conn_send_npdu(bacsc_sc_conn *conn, const bacsc_vmac *dest, const uint8_t *npdu,
                            size_t len, uint64_t now);

/*
 * Queue any BVLC-SC message (Address-Resolution, Advertisement, a BVLC-Result
 * answering a message received through the `message` callback, …). When
 * `msg->message_id` is 0 a fresh id is assigned. Same returns as
 * bacsc_sc_conn_send_npdu(), plus BACSC_ERR_INVALID_ARG if `msg` cannot be
 * encoded.
 */
int bacsc_sc_conn_send_msg(bacsc_sc_conn *conn, const bacsc_bvlc_msg *msg, uint64_t now);

/*
 * Start a graceful close: CONNECTED → queue Disconnect-Request and wait for
 * Disconnect-ACK (disconnect wait); CONNECT_WAIT or IDLE → CLOSED at once
 * (reason LOCAL). Returns BACSC_OK, or BACSC_ERR_STATE if already
 * disconnecting or closed.
 */
int bacsc_sc_conn_disconnect(bacsc_sc_conn *conn, uint64_t now);

/*
 * The WebSocket underneath closed or failed (`error_code` a BACSC_EC_* value,
 * e.g. 169 closed-by-peer, or 0). Moves to CLOSED (reason TRANSPORT) unless
 * already closed; discards queued output.
 */
void bacsc_sc_conn_transport_closed(bacsc_sc_conn *conn, uint16_t error_code, uint64_t now);

/* When the connection next needs bacsc_sc_conn_handle_expiry(), or
 * BACSC_SC_NEVER. */
uint64_t bacsc_sc_conn_expiry(const bacsc_sc_conn *conn);

/* Run due timers (connect wait, heartbeat, disconnect wait). Calling it early
 * is harmless. */
void bacsc_sc_conn_handle_expiry(bacsc_sc_conn *conn, uint64_t now);

/*
 * Peek at the oldest queued outgoing message. Returns 1 and sets *data and *len
 * (valid until the next pop or free), or 0 when nothing is queued.
 */
int bacsc_sc_conn_peek_output(const bacsc_sc_conn *conn, const uint8_t **data, size_t *len);

/* Drop the oldest queued message (after the caller has written it). */
void bacsc_sc_conn_pop_output(bacsc_sc_conn *conn);

/* Number of queued outgoing messages. */
size_t bacsc_sc_conn_output_count(const bacsc_sc_conn *conn);

/* Accessors. peer_* are valid once connected (all zero before). */
int bacsc_sc_conn_state(const bacsc_sc_conn *conn);
int bacsc_sc_conn_role(const bacsc_sc_conn *conn);
const bacsc_vmac *bacsc_sc_conn_local_vmac(const bacsc_sc_conn *conn);
const bacsc_bvlc_connect *bacsc_sc_conn_peer(const bacsc_sc_conn *conn);

/*
 * Device UUID binding. The I/O layer learns the peer's certificate after the
 * TLS handshake and passes its `urn:uuid:` SAN here (NULL: the certificate
 * carries none) with the site's policy, before any message is received:
 *   WHEN_PRESENT (default)  a certificate UUID must equal the Device UUID
 *                           the peer claims (Connect-Request / -Accept);
 *   STRICT                  moreover a certificate without one is refused;
 *   OFF                     no check.
 * Without this call nothing is checked (plaintext, tests).
 * Accepting side: the owner's connect_request callback calls
 * bacsc_sc_conn_check_uuid() (the hub function and node switch do) and
 * returns its code, so the NAK carries it (180 tls-client-certificate-error)
 * with details naming both UUIDs. Initiating side: a Connect-Accept whose
 * UUID differs closes the connection (181 tls-server-certificate-error,
 * reason PROTOCOL, the details naming both).
 */
/*
 * Peer limits. A Connect-Request/-Accept whose Max-BVLC-Length or
 * Max-NPDU-Length cannot carry any NPDU (below BACSC_SC_MIN_BVLC_LEN /
 * BACSC_SC_MIN_NPDU_LEN: a 2-octet NPCI plus the smallest Max_APDU of 50,
 * plus a BVLC header with both VMACs) is refused: the accepting owner's
 * connect_request callback calls bacsc_sc_conn_check_limits() and returns
 * its code (NAK 150 unexpected-data, details naming both values); the
 * initiating side closes on such a Connect-Accept. Small but sufficient
 * values are honoured: nothing larger is ever sent to that peer.
 * A value above our own limit whose byte swap is a plausible, smaller limit
 * is taken as sent little-endian (bacnet-stack: 1500 arrives as 56,325):
 * the smaller reading is used, and bacsc_sc_conn_peer_swapped() reports it
 * (raw: as received; used: BVLC, NPDU as used) so the owner can log it once,
 * from bacsc_sc_conn_check_limits() on (i.e. already in connect_request).
 */
#define BACSC_SC_MIN_NPDU_LEN 52
#define BACSC_SC_MIN_BVLC_LEN 68
uint16_t bacsc_sc_conn_check_limits(bacsc_sc_conn *conn, const bacsc_bvlc_connect *c);
bool bacsc_sc_conn_peer_swapped(const bacsc_sc_conn *conn, uint16_t raw[2], uint16_t used[2]);

enum bacsc_sc_uuid_binding {
    BACSC_SC_UUID_BINDING_WHEN_PRESENT = 0,
    BACSC_SC_UUID_BINDING_STRICT = 1,
    BACSC_SC_UUID_BINDING_OFF = 2
};
void bacsc_sc_conn_set_cert_uuid(bacsc_sc_conn *conn, const bacsc_uuid *cert_uuid, int policy);
/* 0 when `claimed` is acceptable, else the error code (details in
 * bacsc_sc_conn_refusal()). */
uint16_t bacsc_sc_conn_check_uuid(bacsc_sc_conn *conn, const bacsc_uuid *claimed);
/* Set the Error-Details text of the NAK that follows a refused
 * Connect-Request (the connect_request callback may call it). */
void bacsc_sc_conn_set_refusal(bacsc_sc_conn *conn, const char *details);
/* The last refusal/mismatch text ("" if none). */
const char *bacsc_sc_conn_refusal(const bacsc_sc_conn *conn);
/* "policy" names: "when-present", "strict", "off"; parse returns -1 if unknown. */
int bacsc_sc_uuid_binding_parse(const char *s);
const char *bacsc_sc_uuid_binding_name(int policy);
uint64_t bacsc_sc_conn_connected_since(const bacsc_sc_conn *conn);
const bacsc_sc_conn_stats *bacsc_sc_conn_stats_get(const bacsc_sc_conn *conn);
/* The user pointer given at creation, and a way to change it. */
void *bacsc_sc_conn_user(const bacsc_sc_conn *conn);
void bacsc_sc_conn_set_user(bacsc_sc_conn *conn, void *user);
/* The close info once CLOSED (NULL before). */
const bacsc_sc_close_info *bacsc_sc_conn_close_info(const bacsc_sc_conn *conn);
/* Next message id this connection would use (and consume it). */
uint16_t bacsc_sc_conn_next_message_id(bacsc_sc_conn *conn);

/* Names for logs: "connected", "heartbeat-timeout", … */
const char *bacsc_sc_conn_state_name(int state);
const char *bacsc_sc_close_reason_name(int reason);

#ifdef __cplusplus
}
#endif
#endif
