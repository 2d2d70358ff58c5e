/*
 * bacsc/sc_connector.h — the BACnet/SC hub connector (ASHRAE 135 Annex AB),
 * sans-I/O.
 *
 * Keeps a node connected to its primary hub, else to its failover hub:
 *
 *   - connects to the primary; when that fails, at once to the failover; when
 *     both fail, waits a reconnect wait and starts again with the primary;
 *   - reconnect waits grow from SC_Minimum_Reconnect_Time to
 *     SC_Maximum_Reconnect_Time (doubling) with random jitter — never 0, and
 *     never the same for two nodes, so a restarted hub sees no storm;
 *   - while on the failover it keeps probing the primary and moves back as soon
 *     as the primary accepts (then disconnects from the failover cleanly);
 *   - after a NAK 151 (node-duplicate-vmac) it picks a new random VMAC
 *     (locally administered, unicast) and tries again;
 *   - keeps the Network Port state: SC_Hub_Connector_State and the primary
 *     and failover hub connection status (state, timestamps, last error).
 *
 * It never opens anything itself. It asks the I/O layer through callbacks:
 * open(slot, uri) → the I/O layer later reports bacsc_sc_connector_opened() or
 * bacsc_sc_connector_failed(); close(slot) → it reports
 * bacsc_sc_connector_closed() once the WebSocket is gone (also when the peer
 * or network closed it). A slot (BACSC_SC_SLOT_PRIMARY/FAILOVER) is one
 * WebSocket; at most one open attempt per slot is in flight. Results must be
 * reported from the event loop, not from inside the open/close callbacks.
 *
 * Outgoing NPDUs while not connected are refused with BACSC_ERR_STATE (and
 * counted): BACnet's own retries cover it and nothing stale is sent later.
 */
#ifndef BACSC_SC_CONNECTOR_H
#define BACSC_SC_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bvlc.h"
#include "bacsc/sc_conn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_SC_SLOT_PRIMARY 0
#define BACSC_SC_SLOT_FAILOVER 1

#define BACSC_SC_DEFAULT_RECONNECT_MIN_US (2ull * 1000000)
#define BACSC_SC_DEFAULT_RECONNECT_MAX_US (600ull * 1000000)

/* SC_Hub_Connector_State (Enumerated). */
#ifndef BACSC_SC_CONNECTOR_STATE_DEFINED /* also in sc_connector.h / device.h */
#define BACSC_SC_CONNECTOR_STATE_DEFINED
enum bacsc_sc_connector_state {
    BACSC_SC_NO_HUB_CONNECTION = 0,
    BACSC_SC_CONNECTED_TO_PRIMARY = 1,
    BACSC_SC_CONNECTED_TO_FAILOVER = 2
};
#endif

/* BACnetSCConnectionState of SC_Primary/Failover_Hub_Connection_Status. */
enum bacsc_sc_hub_conn_status {
    BACSC_SC_STATUS_NOT_CONNECTED = 0,
    BACSC_SC_STATUS_CONNECTED = 1,
    BACSC_SC_STATUS_DISCONNECTED_WITH_ERRORS = 2,
    BACSC_SC_STATUS_FAILED_TO_CONNECT = 3
};

/* BACnetSCHubConnection: one hub's connection status. */
typedef struct bacsc_sc_hub_connection_status {
    int state;                   /* enum bacsc_sc_hub_conn_status */
    uint64_t connect_time;       /* `now` of the last Connect-Accept (0: never) */
    uint64_t disconnect_time;    /* `now` of the last loss/failure (0: never) */
    uint16_t error_code;         /* BACSC_EC_* of the last failure, 0 if none */
    const char *error_details;   /* constant text, "" if none */
} bacsc_sc_hub_connection_status;

typedef struct bacsc_sc_connector_stats {
    uint64_t attempts;           /* open requests */
    uint64_t failures;           /* attempts that did not end in Connect-Accept */
    uint64_t connects;           /* Connect-Accepts */
    uint64_t losses;             /* established connections lost */
    uint64_t failovers;          /* times connected to the failover */
    uint64_t returns_to_primary; /* failover → primary moves */
    uint64_t vmac_changes;       /* after NAK 151 */
    uint64_t tx_not_connected;   /* NPDUs refused while not connected */
    uint64_t rx_npdus;
    uint64_t tx_npdus;
} bacsc_sc_connector_stats;

typedef struct bacsc_sc_connector bacsc_sc_connector;

typedef struct bacsc_sc_connector_config {
    const char *primary_uri;     /* required; copied */
    const char *failover_uri;    /* NULL or "" when none; copied */
    bool random_vmac;            /* pick a random VMAC at creation (else use `vmac`) */
    bacsc_vmac vmac;
    bacsc_uuid uuid;
    uint16_t max_bvlc_len;       /* what we accept (0: default) */
    uint16_t max_npdu_len;
    uint64_t connect_wait_us;    /* SC_Connect_Wait_Timeout (0: default 10 s) */
    uint64_t disconnect_wait_us; /* SC_Disconnect_Wait_Timeout (0: default 5 s) */
    uint64_t heartbeat_us;       /* SC_Heartbeat_Timeout (0: default 60 s) */
    uint64_t reconnect_min_us;   /* SC_Minimum_Reconnect_Time (0: default 2 s; at least 100 ms) */
    uint64_t reconnect_max_us;   /* SC_Maximum_Reconnect_Time (0: default 600 s; >= min) */
    size_t max_queue_msgs;       /* per-connection output FIFO (0: default) */
    size_t max_queue_bytes;
} bacsc_sc_connector_config;

void bacsc_sc_connector_config_default(bacsc_sc_connector_config *cfg);

typedef struct bacsc_sc_connector_callbacks {
    /* Open a hub WebSocket (subprotocol hub.bsc.bacnet.org) to `uri` for `slot`. */
    void (*open)(int slot, const char *uri, void *user);
    /* Write what is queued on `slot`, then close its WebSocket; report
     * bacsc_sc_connector_closed() when done. */
    void (*close)(int slot, void *user);
    /* The slot's output FIFO went from empty to non-empty. */
    void (*want_write)(int slot, void *user);
    /* SC_Hub_Connector_State changed. Optional. */
    void (*state_changed)(int state, void *user);
    /* A validated message from the hub in use (NPDU, Address-Resolution, a
     * BVLC-Result for something we sent, …); valid during the call only. */
    void (*message)(const bacsc_bvlc_msg *msg, uint64_t now, void *user);
    /* Our VMAC changed (after NAK 151). Optional. */
    void (*vmac_changed)(const bacsc_vmac *vmac, void *user);
    /* Random octets (VMAC, jitter, message ids). Required. */
    bacsc_random_fn random;
} bacsc_sc_connector_callbacks;

/* Create a connector (stopped). Returns NULL if out of memory, the random
 * callback is missing or fails, or `cfg` is invalid. */
bacsc_sc_connector *bacsc_sc_connector_new(const bacsc_sc_connector_config *cfg,
                                           const bacsc_sc_connector_callbacks *cb, void *user);
void bacsc_sc_connector_free(bacsc_sc_connector *c);

/* Start connecting (first attempt at once, to the primary). BACSC_ERR_STATE if started. */
int bacsc_sc_connector_start(bacsc_sc_connector *c, uint64_t now);

/* Stop: Disconnect-Request on every connected slot, abort attempts, no more
 * reconnects. bacsc_sc_connector_idle() tells when every slot is closed. */
void bacsc_sc_connector_stop(bacsc_sc_connector *c, uint64_t now);
bool bacsc_sc_connector_idle(const bacsc_sc_connector *c);

/* I/O results for a slot. `error_code` is a BACSC_EC_* value (e.g. 194
 * connection refused, 181 server certificate error), 0 if unknown/clean.
 * Reports for a slot that has no attempt in flight return BACSC_ERR_STATE. */
int bacsc_sc_connector_opened(bacsc_sc_connector *c, int slot, uint64_t now);
int bacsc_sc_connector_failed(bacsc_sc_connector *c, int slot, uint16_t error_code, uint64_t now);
int bacsc_sc_connector_closed(bacsc_sc_connector *c, int slot, uint16_t error_code, uint64_t now);

/* One binary WebSocket message received on `slot`. */
int bacsc_sc_connector_recv(bacsc_sc_connector *c, int slot, const uint8_t *data, size_t len,
                            uint64_t now);

/* Output FIFO of a slot; see bacsc_sc_conn_peek_output(). */
int bacsc_sc_connector_peek_output(const bacsc_sc_connector *c, int slot, const uint8_t **data,
                                   size_t *len);
void bacsc_sc_connector_pop_output(bacsc_sc_connector *c, int slot);

/*
 * Send an NPDU through the hub in use to `dest` (&BACSC_VMAC_BROADCAST for a
 * local broadcast). Returns BACSC_OK; BACSC_ERR_STATE when no hub connection
 * (counted in tx_not_connected); BACSC_ERR_LIMIT (too large, FIFO full);
 * BACSC_ERR_NOMEM.
 */
int bacsc_sc_connector_send_npdu(bacsc_sc_connector *c, const bacsc_vmac *dest,
                                 const uint8_t *npdu, size_t len, uint64_t now);
/* Send any BVLC-SC message through the hub in use (see bacsc_sc_conn_send_msg()). */
int bacsc_sc_connector_send_msg(bacsc_sc_connector *c, const bacsc_bvlc_msg *msg, uint64_t now);

/* Timers: next deadline (BACSC_SC_NEVER if none) and running due ones. */
uint64_t bacsc_sc_connector_expiry(const bacsc_sc_connector *c);
void bacsc_sc_connector_handle_expiry(bacsc_sc_connector *c, uint64_t now);

/* Network Port state. */
int bacsc_sc_connector_state(const bacsc_sc_connector *c);   /* enum bacsc_sc_connector_state */
const bacsc_sc_hub_connection_status *bacsc_sc_connector_status(const bacsc_sc_connector *c,
                                                                int slot);
const bacsc_vmac *bacsc_sc_connector_vmac(const bacsc_sc_connector *c);
const char *bacsc_sc_connector_uri(const bacsc_sc_connector *c, int slot); /* NULL if none */
const bacsc_sc_connector_stats *bacsc_sc_connector_stats_get(const bacsc_sc_connector *c);
/* The connection on `slot`, or NULL (read-only use). */
bacsc_sc_conn *bacsc_sc_connector_conn(const bacsc_sc_connector *c, int slot);
/* The reconnect wait that was drawn last (for status / tests), 0 if none. */
uint64_t bacsc_sc_connector_last_wait(const bacsc_sc_connector *c);
/* When the next reconnect attempt starts while no hub is connected
 * (BACSC_SC_NEVER when none is scheduled: connected, attempting, stopped). */
uint64_t bacsc_sc_connector_retry_at(const bacsc_sc_connector *c);

const char *bacsc_sc_connector_state_name(int state);

/* A random VMAC as BACnet/SC nodes pick them: locally administered
 * (first octet bit 1 set), unicast (bit 0 clear), never all-zero or broadcast.
 * Returns BACSC_OK or BACSC_ERR_CRYPTO if `random` fails. */
int bacsc_sc_random_vmac(bacsc_random_fn random, void *user, bacsc_vmac *out);

#ifdef __cplusplus
}
#endif
#endif
