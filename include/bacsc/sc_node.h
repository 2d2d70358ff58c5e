/*
 * bacsc/sc_node.h — a BACnet/SC node on an event loop: the sans-I/O hub
 * connector (sc_connector.h) driven by real WebSocket connections
 * (wsconn.h), exposed to the application layer as a bacsc_datalink.
 *
 * The node opens hub WebSockets when the connector asks, feeds their
 * messages to it, drains its output FIFOs, follows its expiry with one loop
 * timer, and hands received Encapsulated-NPDUs to the owner (npdu callback)
 * with the sender's VMAC as source address. Received NPDUs are queued (at
 * most 256) and delivered from a deferred pass so that the owner may send
 * from inside the callback (the connector forbids re-entrant calls).
 *
 * Direct connections (node switch, sc_switch.h): the node always runs a
 * switch, so Address-Resolution is answered (a NAK when direct connections
 * are not accepted) and Advertisement-Solicitation gets an Advertisement.
 * With dc_listen it also accepts dc.bsc.bacnet.org WebSockets (server TLS
 * context dc_tls, same issuers); outgoing direct connections use the client
 * context `tls`. Unicasts are routed over a direct connection when one is up
 * (see the routing policy in sc_switch.h), else through the hub.
 *
 * Time is bacsc_loop_now(); randomness is RAND_bytes (bacsc_io_random).
 * Logs: hub connection attempts, connects, losses and VMAC changes at info
 * ("sc-node N: ..." with the name given in the configuration).
 */
#ifndef BACSC_SC_NODE_H
#define BACSC_SC_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bvlc.h"
#include "bacsc/datalink.h"
#include "bacsc/device.h"
#include "bacsc/loop.h"
#include "bacsc/sc_connector.h"
#include "bacsc/sc_switch.h"
#include "bacsc/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_sc_node bacsc_sc_node;

typedef struct bacsc_sc_node_config {
    const char *name;            /* for logs, e.g. "device 1001" */
    const char *primary_uri;     /* wss://HOST:PORT[/PATH] (ws:// only with insecure_plaintext) */
    const char *failover_uri;    /* NULL or "" = none */
    bacsc_tls_ctx *tls;          /* client context (NULL only with insecure_plaintext) */
    bool insecure_plaintext;
    bacsc_uuid uuid;             /* Device UUID */
    bool fixed_vmac;             /* use `vmac` instead of a random one */
    bacsc_vmac vmac;
    uint16_t max_bvlc_len, max_npdu_len;          /* 0: defaults (1600 / 1497) */
    uint64_t connect_wait_us, disconnect_wait_us, heartbeat_us;   /* 0: defaults */
    uint64_t reconnect_min_us, reconnect_max_us;                  /* 0: defaults */
    /* Direct connections (all optional; zero = off/defaults). */
    const char *dc_listen;       /* "ADDR:PORT": accept direct connections here */
    bacsc_tls_ctx *dc_tls;       /* server context for dc_listen (NULL only with plaintext) */
    const char *dc_uris;         /* advertised accept URIs, space separated
                                    (NULL: wss://ADDR:PORT of dc_listen, actual port) */
    bool dc_auto;                /* SC_Direct_Connect_Initiate_Enable (automatic) */
    size_t dc_max_conns;         /* 0: default 16 */
    uint64_t dc_idle_us;         /* 0: default 300 s */
    unsigned dc_auto_count;      /* 0: default 3 */
    uint64_t dc_auto_window_us;  /* 0: default 10 s */
    int uuid_binding;            /* direct connections: the peer's Device UUID vs its
                                    certificate's urn:uuid: (enum bacsc_sc_uuid_binding) */
} bacsc_sc_node_config;

typedef struct bacsc_sc_node_callbacks {
    /* An NPDU arrived from `src` (the sender's VMAC; mac_len 6). May send. */
    void (*npdu)(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                 uint64_t now);
    /* SC_Hub_Connector_State changed (0 none, 1 primary, 2 failover). Optional.
     * Delivered from the deferred pass (quick flips are coalesced); may send. */
    void (*state_changed)(void *user, int state);
    void *user;
} bacsc_sc_node_callbacks;

/*
 * Create a node (not started). Returns BACSC_OK, or BACSC_ERR_INVALID_ARG with
 * a one-line message in err (bad URI scheme, ws:// without
 * insecure_plaintext, invalid timers), BACSC_ERR_NOMEM.
 */
int bacsc_sc_node_new(bacsc_loop *loop, const bacsc_sc_node_config *cfg,
                      const bacsc_sc_node_callbacks *cb, bacsc_sc_node **out, char *err,
                      size_t errlen);

/* Start connecting (primary first). Returns BACSC_OK or BACSC_ERR_STATE. */
int bacsc_sc_node_start(bacsc_sc_node *n);

/* After its TLS context was reloaded (bacsc_tls_ctx_reload): close every
 * connection (hubs, direct) whose peer certificate no longer verifies
 * (revoked, no longer chains to a configured issuer, expired), logging the
 * reason at warn; the connector reconnects with the new material. Returns
 * how many were closed. */
unsigned bacsc_sc_node_recheck_peers(bacsc_sc_node *n);

/* Graceful stop: Disconnect-Request to the hub(s), no more reconnects;
 * bacsc_sc_node_idle() is true once every hub WebSocket is closed and no
 * work of the node is queued on the loop: the node may be freed then, also
 * from a deferred callback. */
void bacsc_sc_node_stop(bacsc_sc_node *n);
bool bacsc_sc_node_idle(const bacsc_sc_node *n);

/* The datalink for bacsc_device / bacsc_client (send = through the hub in
 * use; a local broadcast goes to FF:FF:FF:FF:FF:FF). */
bacsc_datalink bacsc_sc_node_datalink(bacsc_sc_node *n);

/* Send an NPDU to `dest` (mac_len 0: broadcast; 6: a VMAC). Returns BACSC_OK,
 * BACSC_ERR_STATE (no hub connection), BACSC_ERR_INVALID_ARG (other MAC
 * length), BACSC_ERR_LIMIT. */
int bacsc_sc_node_send(bacsc_sc_node *n, const bacsc_address *dest, const uint8_t *npdu,
                       size_t len);

/* During the npdu callback: true when the NPDU was sent to the broadcast
 * VMAC (FF:FF:FF:FF:FF:FF), false for a unicast (and outside the callback). */
bool bacsc_sc_node_rx_broadcast(const bacsc_sc_node *n);

/* SC_Hub_Connector_State. */
int bacsc_sc_node_state(const bacsc_sc_node *n);
/* The last failed attempt to the hub of `slot` (BACSC_SC_SLOT_PRIMARY or
 * _FAILOVER): its error code (0: none since the last connection) and the
 * transport's one-line reason (e.g. "client-certificate-error: the peer
 * rejected our certificate: unknown issuer (...)"); "" when none. */
const char *bacsc_sc_node_last_failure(const bacsc_sc_node *n, int slot, uint16_t *error_code);
/* Not connected, and every configured hub (the failover too, when there is
 * one) refused our certificate, or we refused its certificate, on its last
 * attempt (TLS errors 180..187): retrying will not help, a tool should stop.
 * `why` (may be NULL) gets one line, e.g. "hub wss://h:4443 refused our
 * certificate: unknown issuer (180 tls-client-certificate-error)" or "the
 * certificate of hub wss://h:4443 is refused: … (181 …)". Transient failures
 * (connection refused, timeouts, other TLS errors) give false. */
bool bacsc_sc_node_cert_refused(const bacsc_sc_node *n, char *why, size_t len);
const bacsc_sc_connector *bacsc_sc_node_connector(const bacsc_sc_node *n);
const bacsc_vmac *bacsc_sc_node_vmac(const bacsc_sc_node *n);
/* The Max-NPDU-Length the hub in use accepts (from its Connect-Accept), or 0
 * when not connected. */
size_t bacsc_sc_node_peer_max_npdu(const bacsc_sc_node *n);

/* The hub peer address of the connection in use ("IP:PORT"), or NULL. */
const char *bacsc_sc_node_hub_peer(const bacsc_sc_node *n);

/*
 * Fill the live part of a Network Port's state from the connector:
 * SC_Hub_Connector_State, primary/failover connection status (state,
 * connect/disconnect timestamps converted from loop time to local
 * BACnetDateTime, error class COMMUNICATION + code + details), VMAC,
 * Max_BVLC/NPDU_Length_Accepted. Use it from the Network Port `refresh`
 * callback so every read sees the current state.
 */
void bacsc_sc_node_port_state(const bacsc_sc_node *n, bacsc_sc_port_state *st);

/* The node switch (read-only use: stats, status, is_direct). */
const bacsc_sc_switch *bacsc_sc_node_switch(const bacsc_sc_node *n);
/* The bound dc listener port, 0 when not accepting direct connections. */
uint16_t bacsc_sc_node_dc_port(const bacsc_sc_node *n);
/* Ask for a direct connection to `vmac` (see bacsc_sc_switch_connect()). */
int bacsc_sc_node_dc_connect(bacsc_sc_node *n, const bacsc_vmac *vmac);
/* Turn accepting / automatic initiating on or off at run time (the dc
 * listener itself exists only when configured with dc_listen). */
void bacsc_sc_node_dc_set_accept(bacsc_sc_node *n, bool enable);
void bacsc_sc_node_dc_set_auto(bacsc_sc_node *n, bool enable);

/*
 * SC_Direct_Connect_Connection_Status rows (timestamps converted to local
 * BACnetDateTime, error class COMMUNICATION). Fills up to `max`; returns
 * the number of rows there are.
 */
size_t bacsc_sc_node_dc_status(const bacsc_sc_node *n, bacsc_sc_direct_connection *rows,
                               size_t max);

/* Free the node (aborting hub connections). */
void bacsc_sc_node_free(bacsc_sc_node *n);

/* Convert a loop timestamp (monotonic µs) to local wall-clock
 * BACnetDateTime; 0 gives an unspecified (all 0xFF) date-time. */
void bacsc_loop_time_to_datetime(const bacsc_loop *loop, uint64_t t, bacsc_datetime *dt);

#ifdef __cplusplus
}
#endif
#endif
