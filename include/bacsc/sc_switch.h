/*
 * bacsc/sc_switch.h — the BACnet/SC node switch (direct connections,
 * ASHRAE 135 Annex AB), sans-I/O.
 *
 * The node switch sits next to the hub connector of a node and owns the
 * node's direct connections (WebSockets with subprotocol dc.bsc.bacnet.org):
 *
 *   - accepting: bacsc_sc_switch_accept() for each dc WebSocket the I/O
 *     layer accepted; an accepting bacsc_sc_conn answers the Connect-Request.
 *     Duplicate VMACs as at the hub: a VMAC equal to ours, or held by another
 *     direct connection with a different UUID → NAK 151; same UUID → the old
 *     connection is dropped (replaced);
 *   - Address-Resolution received through the hub (or on a direct
 *     connection) → Address-Resolution-ACK with our accept URIs (space
 *     separated), or a BVLC-Result NAK (COMMUNICATION,
 *     optional-functionality-not-supported) when we do not accept direct
 *     connections;
 *   - Advertisement-Solicitation → Advertisement (hub connection status,
 *     accept-direct flag, our Max-BVLC/NPDU lengths);
 *   - initiating: bacsc_sc_switch_connect(vmac) resolves the VMAC with
 *     Address-Resolution through the hub, then opens a direct connection to
 *     the first URI of the answer that works (trying the next on failure).
 *     Answers are cached: an ACK stays fresh for the connect wait; a NAK, a
 *     resolution timeout, or an answer none of whose URIs worked is a
 *     negative entry for nak_cache_us (no new resolution meanwhile);
 *   - automatic direct connect (auto_initiate, SC_Direct_Connect_Initiate_
 *     Enable): a peer with auto_count unicast NPDUs (either direction,
 *     through the hub) within auto_window_us gets a direct connection
 *     without being asked; direct connections idle (no NPDU either way) for
 *     idle_us are closed (the accepting side closes after 2 x idle_us);
 *   - at most max_conns direct connections (both directions together).
 *
 * Routing (bacsc_sc_switch_send_npdu): broadcasts go to the hub; a unicast
 * goes over a CONNECTED direct connection to its VMAC when there is one,
 * else through the hub. Nothing is dropped silently:
 *   - while a direct connection is being set up, or after it went down,
 *     traffic goes through the hub (counted in tx_hub / tx_fallback);
 *   - a path change is made only at a quiet point: a new direct connection
 *     is first used once no unicast to that VMAC went through the hub for
 *     settle_us (or settle_us x 10 after it connected, under continuous
 *     load), so messages already on their way through the hub arrive first;
 *   - when the direct connection's output FIFO is full the send fails with
 *     BACSC_ERR_LIMIT (like a full hub FIFO) instead of overtaking through
 *     the hub;
 *   - NPDUs queued on a direct connection that then breaks are lost with the
 *     connection (counted in bacsc_sc_conn_stats of that connection) —
 *     BACnet's retries cover them, as for a hub connection.
 *
 * I/O contract (like sc_hub.h): the switch asks through callbacks —
 * open(dc, uri): open a dc WebSocket for this initiated connection, then
 * report bacsc_sc_switch_dc_opened() or bacsc_sc_switch_dc_gone();
 * close(dc): write what is queued, close, then report dc_gone();
 * want_write(dc): drain bacsc_sc_switch_dc_peek_output()/pop_output().
 * Messages to the hub go out through hub_send_npdu/hub_send_msg. Callbacks
 * must not call back into the switch. Received NPDUs from direct
 * connections come up through the npdu callback. The switch never reads a
 * clock: every call takes `now` (monotonic µs); bacsc_sc_switch_expiry()
 * says when to call bacsc_sc_switch_handle_expiry(). Tables are small fixed
 * arrays scanned linearly (max_peers, max_conns ≤ a few hundred).
 */
#ifndef BACSC_SC_SWITCH_H
#define BACSC_SC_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bvlc.h"
#include "bacsc/sc_conn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_SC_SWITCH_DEFAULT_MAX_CONNS 16
#define BACSC_SC_SWITCH_DEFAULT_MAX_PEERS 128
#define BACSC_SC_SWITCH_DEFAULT_AUTO_COUNT 3
#define BACSC_SC_SWITCH_DEFAULT_AUTO_WINDOW_US (10ull * 1000000)
#define BACSC_SC_SWITCH_DEFAULT_IDLE_US (300ull * 1000000)
#define BACSC_SC_SWITCH_DEFAULT_NAK_CACHE_US (60ull * 1000000)
#define BACSC_SC_SWITCH_DEFAULT_SETTLE_US (100ull * 1000)
#define BACSC_SC_SWITCH_URIS_MAX 1024    /* space-separated accept URIs, octets */
#define BACSC_SC_SWITCH_URI_MAX 256      /* one URI */
/* The Address-Resolution NAK when direct connections are not accepted is
 * class COMMUNICATION, BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED
 * (error_code.h). */

typedef struct bacsc_sc_switch bacsc_sc_switch;
typedef struct bacsc_sc_dc bacsc_sc_dc;   /* one direct connection */

typedef struct bacsc_sc_switch_config {
    bacsc_vmac vmac;               /* our VMAC (follow changes with set_vmac) */
    bacsc_uuid uuid;
    uint16_t max_bvlc_len, max_npdu_len;            /* 0: defaults */
    uint64_t connect_wait_us, disconnect_wait_us, heartbeat_us; /* 0: defaults */
    bool accept_enable;            /* SC_Direct_Connect_Accept_Enable */
    const char *accept_uris;       /* space separated, copied (NULL: none) */
    bool auto_initiate;            /* SC_Direct_Connect_Initiate_Enable */
    size_t max_conns;              /* direct connections, both directions (0: default) */
    size_t max_peers;              /* resolution cache entries (0: default; > 2 x max_conns) */
    unsigned auto_count;           /* unicasts within auto_window_us (0: default) */
    uint64_t auto_window_us;       /* 0: default */
    uint64_t idle_us;              /* 0: default; UINT64_MAX: never close idle ones */
    uint64_t nak_cache_us;         /* negative cache lifetime (0: default) */
    uint64_t settle_us;            /* path-change quiet time (0: default) */
    size_t max_queue_msgs, max_queue_bytes;         /* per connection (0: defaults) */
} bacsc_sc_switch_config;

void bacsc_sc_switch_config_default(bacsc_sc_switch_config *cfg);

/* dc_event events (for logs). */
enum bacsc_sc_dc_event {
    BACSC_SC_DC_CONNECTED = 1,     /* Connect-Request/Accept done */
    BACSC_SC_DC_CLOSED = 2         /* the connection closed (info: bacsc_sc_dc_close_info) */
};

typedef struct bacsc_sc_switch_callbacks {
    /* Send through the hub connector. Return BACSC_OK or a negative error. */
    int (*hub_send_npdu)(const bacsc_vmac *dest, const uint8_t *npdu, size_t len, uint64_t now,
                         void *user);
    int (*hub_send_msg)(const bacsc_bvlc_msg *msg, uint64_t now, void *user);
    /* Open a dc WebSocket to `uri` for the initiated connection `dc`. */
    void (*open)(bacsc_sc_dc *dc, const char *uri, void *user);
    /* Write what `dc` has queued, close its WebSocket, report dc_gone(). */
    void (*close)(bacsc_sc_dc *dc, void *user);
    /* `dc`'s output FIFO went from empty to non-empty. */
    void (*want_write)(bacsc_sc_dc *dc, void *user);
    /* An NPDU arrived on a direct connection from `src`. */
    void (*npdu)(const bacsc_vmac *src, const uint8_t *npdu, size_t len, uint64_t now,
                 void *user);
    /* Optional: connected / closed (for logs). */
    void (*dc_event)(bacsc_sc_dc *dc, int event, void *user);
    bacsc_random_fn random;        /* message ids; may be NULL */
} bacsc_sc_switch_callbacks;

typedef struct bacsc_sc_switch_stats {
    uint64_t tx_direct;            /* unicast NPDUs sent on a direct connection */
    uint64_t tx_hub;               /* NPDUs (unicast and broadcast) handed to the hub */
    uint64_t tx_fallback;          /* unicasts to a peer with a direct connection not
                                      (yet/any more) usable, sent through the hub */
    uint64_t rx_direct;            /* NPDUs received on direct connections */
    uint64_t ar_sent, ar_acks, ar_naks, ar_timeouts;   /* our resolutions */
    uint64_t ar_answered, ar_refused;  /* Address-Resolutions answered with ACK / NAK */
    uint64_t adv_sent;             /* Advertisements sent */
    uint64_t dc_accepted, dc_refused;  /* incoming (refused: limit, disabled, NAK 151) */
    uint64_t dc_initiated, dc_connected, dc_failed, dc_idle_closed, dc_limit;
    uint64_t auto_triggers;        /* automatic direct connects started */
} bacsc_sc_switch_stats;

/* BACnetSCConnectionState (as sc_connector.h). */
typedef struct bacsc_sc_dc_status {
    char uri[BACSC_SC_SWITCH_URI_MAX];   /* initiated: the URI; accepted: "" */
    int state;                     /* 0 not-connected, 1 connected, 2 disconnected-with-
                                      errors, 3 failed-to-connect */
    uint64_t connect_time, disconnect_time;   /* `now` values, 0: never */
    char peer_address[64];         /* "IP:PORT" as set by the I/O layer, "" if unknown */
    bacsc_vmac vmac;
    bacsc_uuid uuid;
    uint16_t error_code;
    const char *error_details;     /* constant text, "" if none */
    bool initiated;
    const bacsc_sc_dc *dc;         /* the live connection, NULL when none */
} bacsc_sc_dc_status;

/* Create a switch. Returns NULL if out of memory or `cfg` invalid
 * (max_peers <= 2 x max_conns, URIs too long, bad limits). */
bacsc_sc_switch *bacsc_sc_switch_new(const bacsc_sc_switch_config *cfg,
                                     const bacsc_sc_switch_callbacks *cb, void *user);
/* Free the switch and every connection (no callbacks, nothing sent). */
void bacsc_sc_switch_free(bacsc_sc_switch *sw);

/* Our VMAC changed (hub connector NAK 151). New connections use it. */
void bacsc_sc_switch_set_vmac(bacsc_sc_switch *sw, const bacsc_vmac *vmac);
/* Hub connection status for Advertisements (BACSC_HUB_STATUS_*). */
void bacsc_sc_switch_set_hub_state(bacsc_sc_switch *sw, int hub_status);
/* Runtime switches (Network Port writes): accepting and auto-initiating. */
void bacsc_sc_switch_set_accept(bacsc_sc_switch *sw, bool enable);
void bacsc_sc_switch_set_auto(bacsc_sc_switch *sw, bool enable);
bool bacsc_sc_switch_accept_enabled(const bacsc_sc_switch *sw);
bool bacsc_sc_switch_auto_enabled(const bacsc_sc_switch *sw);
const char *bacsc_sc_switch_accept_uris(const bacsc_sc_switch *sw);

/*
 * Route an NPDU (see the policy above). `dest` &BACSC_VMAC_BROADCAST: local
 * broadcast through the hub. Returns BACSC_OK or the error of the path used
 * (hub: BACSC_ERR_STATE when not connected; BACSC_ERR_LIMIT; BACSC_ERR_NOMEM).
 */
int bacsc_sc_switch_send_npdu(bacsc_sc_switch *sw, const bacsc_vmac *dest, const uint8_t *npdu,
                              size_t len, uint64_t now);

/* A unicast NPDU from `src` arrived through the hub (counts for automatic
 * direct connect). */
void bacsc_sc_switch_note_hub_rx(bacsc_sc_switch *sw, const bacsc_vmac *src, uint64_t now);

/*
 * A message from the hub (the hub connector's message callback, delivered
 * outside connector calls). Handles Address-Resolution(-ACK), Advertisement
 * (-Solicitation) and BVLC-Result NAKs for our Address-Resolutions. Returns
 * 1 if the message was for the switch, 0 otherwise.
 */
int bacsc_sc_switch_hub_message(bacsc_sc_switch *sw, const bacsc_bvlc_msg *msg, uint64_t now);

/*
 * Ask for a direct connection to `vmac` (resolve, then connect). Returns
 * BACSC_OK (started or already connected/under way), BACSC_ERR_STATE
 * (stopped), BACSC_ERR_POLICY (negative cache entry still valid),
 * BACSC_ERR_LIMIT (max_conns reached or peer table full),
 * BACSC_ERR_INVALID_ARG (broadcast, unknown or our own VMAC).
 */
int bacsc_sc_switch_connect(bacsc_sc_switch *sw, const bacsc_vmac *vmac, uint64_t now);

/*
 * A dc WebSocket was accepted. Returns the connection handle (awaiting
 * Connect-Request), or NULL with *err = BACSC_ERR_POLICY (not accepting),
 * BACSC_ERR_LIMIT (max_conns), BACSC_ERR_NOMEM; the I/O layer then closes it.
 */
bacsc_sc_dc *bacsc_sc_switch_accept(bacsc_sc_switch *sw, void *io, uint64_t now, int *err);
/* The WebSocket of an initiated connection opened: Connect-Request is sent. */
int bacsc_sc_switch_dc_opened(bacsc_sc_switch *sw, bacsc_sc_dc *dc, uint64_t now);
/* One binary WebSocket message on `dc`. */
int bacsc_sc_switch_dc_recv(bacsc_sc_switch *sw, bacsc_sc_dc *dc, const uint8_t *data,
                            size_t len, uint64_t now);
/* The WebSocket of `dc` is gone (or never opened); `error_code` BACSC_EC_*
 * or 0. Frees `dc`; an initiated one that never connected moves on to the
 * next URI. */
void bacsc_sc_switch_dc_gone(bacsc_sc_switch *sw, bacsc_sc_dc *dc, uint16_t error_code,
                             uint64_t now);
int bacsc_sc_switch_dc_peek_output(const bacsc_sc_dc *dc, const uint8_t **data, size_t *len);
void bacsc_sc_switch_dc_pop_output(bacsc_sc_dc *dc);

/* The I/O layer's handle and the peer's address ("IP:PORT", for status). */
void bacsc_sc_dc_set_io(bacsc_sc_dc *dc, void *io);
void *bacsc_sc_dc_io(const bacsc_sc_dc *dc);
void bacsc_sc_dc_set_address(bacsc_sc_dc *dc, const char *address);
bool bacsc_sc_dc_initiated(const bacsc_sc_dc *dc);
const char *bacsc_sc_dc_uri(const bacsc_sc_dc *dc);
bacsc_sc_conn *bacsc_sc_dc_conn(const bacsc_sc_dc *dc);
/* Close info once the connection closed (NULL before). */
const bacsc_sc_close_info *bacsc_sc_dc_close_info(const bacsc_sc_dc *dc);

/* Graceful stop: Disconnect-Request on every direct connection, no new
 * ones; bacsc_sc_switch_idle() once all are gone. */
void bacsc_sc_switch_stop(bacsc_sc_switch *sw, uint64_t now);
bool bacsc_sc_switch_idle(const bacsc_sc_switch *sw);

uint64_t bacsc_sc_switch_expiry(const bacsc_sc_switch *sw);
void bacsc_sc_switch_handle_expiry(bacsc_sc_switch *sw, uint64_t now);

/* Is there a CONNECTED direct connection to `vmac` that routing uses now? */
bool bacsc_sc_switch_is_direct(const bacsc_sc_switch *sw, const bacsc_vmac *vmac, uint64_t now);
/* Has the last attempt to connect to `vmac` definitely failed — NAK to the
 * Address-Resolution, an ACK without URIs, or every URI refused/failed (or
 * no answer within the connect wait) — with no connection under way? */
bool bacsc_sc_switch_dc_failed(const bacsc_sc_switch *sw, const bacsc_vmac *vmac, uint64_t now);
size_t bacsc_sc_switch_conn_count(const bacsc_sc_switch *sw);   /* live direct connections */
const bacsc_sc_switch_stats *bacsc_sc_switch_stats_get(const bacsc_sc_switch *sw);
/*
 * SC_Direct_Connect_Connection_Status: one row per peer with a live direct
 * connection or the last outcome of one. Fills up to `max` rows; returns the
 * number of rows there are (may exceed max).
 */
size_t bacsc_sc_switch_status(const bacsc_sc_switch *sw, bacsc_sc_dc_status *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif
