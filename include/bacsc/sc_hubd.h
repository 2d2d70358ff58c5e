/*
 * bacsc/sc_hubd.h — a BACnet/SC hub server: a WebSocket listener plus the
 * sans-I/O hub function (sc_hub.h), driven by a bacsc_loop.
 *
 * Used by `bacsc hub` (standalone) and `bacsc device --hub-listen` (a
 * device hosting the hub function). Every accepted WebSocket with subprotocol
 * hub.bsc.bacnet.org becomes a hub peer; the hub's output FIFOs are drained
 * into the WebSockets after each batch of I/O (a deferred "service" pass),
 * and one loop timer follows bacsc_sc_hub_expiry(). Time is
 * bacsc_loop_now(); randomness is OpenSSL's RAND_bytes.
 *
 * Logs (bacsc_log): joins and leaves at info, refusals and protocol errors at
 * warn/info, per-message detail at trace.
 */
#ifndef BACSC_SC_HUBD_H
#define BACSC_SC_HUBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/loop.h"
#include "bacsc/sc_hub.h"
#include "bacsc/tls.h"
#include "bacsc/wsconn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_hubd bacsc_hubd;

typedef struct bacsc_hubd_config {
    const char *listen;          /* "ADDR:PORT" (port 0: ephemeral) */
    bacsc_tls_ctx *tls;          /* server context; NULL only with insecure_plaintext */
    bool insecure_plaintext;     /* ws:// (tests and debugging only) */
    bacsc_sc_hub_config hub;     /* VMAC, UUID, limits, timers (zero fields: defaults) */
    const char *name;            /* log prefix ("hub"); NULL = "hub" */
    /* Listener limits: only max_handshakes, handshake_threads, handshake_timeout_ms and the
     * per-address fields are read (zero: the wsconn.h defaults). */
    bacsc_ws_options ws;
    /* Device UUID vs the certificate's urn:uuid: SAN (enum bacsc_sc_uuid_binding;
     * 0 = when-present). */
    int uuid_binding;
} bacsc_hubd_config;

/* One connected (or connecting) peer, for status output. */
typedef struct bacsc_hubd_peer_info {
    const char *address;         /* "IP:PORT" */
    bacsc_sc_hub_peer_info hub;  /* VMAC, UUID, since (loop µs), counters */
} bacsc_hubd_peer_info;

/*
 * Create the hub and start listening. On failure writes a one-line message
 * into err and returns BACSC_ERR_INVALID_ARG (bad address), BACSC_ERR_POLICY
 * (no TLS without insecure_plaintext), BACSC_ERR_IO (bind failed) or
 * BACSC_ERR_NOMEM.
 */
int bacsc_hubd_new(bacsc_loop *loop, const bacsc_hubd_config *cfg, bacsc_hubd **out, char *err,
                   size_t errlen);

/* The bound TCP port. */
uint16_t bacsc_hubd_port(const bacsc_hubd *h);

/*
 * Graceful shutdown: stop listening, send Disconnect-Request to every
 * connected node and close the others. bacsc_hubd_idle() becomes true when
 * every peer is gone (each waits at most the disconnect wait for its ACK).
 */
void bacsc_hubd_shutdown(bacsc_hubd *h);
bool bacsc_hubd_idle(const bacsc_hubd *h);

/* Abort every connection at once (after a shutdown deadline). */
void bacsc_hubd_abort_all(bacsc_hubd *h);

/* Call fn for every peer (connected or awaiting Connect-Request). */
void bacsc_hubd_foreach_peer(const bacsc_hubd *h,
                             void (*fn)(const bacsc_hubd_peer_info *info, void *arg), void *arg);

/* Counters of the hub server itself (the hub function's are in
 * bacsc_sc_hub_stats_get(), the listener's below). */
typedef struct bacsc_hubd_stats {
    uint64_t ws_queue_dropped;   /* relayed messages the WebSocket output queue refused */
    uint64_t ws_queue_octets;    /* now: octets waiting in all WebSocket output queues */
    uint64_t ws_queue_max;       /* now: the longest of them */
} bacsc_hubd_stats;
void bacsc_hubd_stats_get(const bacsc_hubd *h, bacsc_hubd_stats *out);

/*
 * After bacsc_tls_ctx_reload() of `tls` (the hub's server context): check
 * every connection's peer certificate again (issuers, CRL, clock) and close
 * those no longer accepted (WebSocket close 1008, one warn line each naming
 * the node and why). Returns how many were closed.
 */
unsigned bacsc_hubd_recheck_peers(bacsc_hubd *h, bacsc_tls_ctx *tls);

/* What the shutdown did: Disconnect-Requests sent (nodes connected at
 * bacsc_hubd_shutdown()) and, of the nodes that left since, how: their
 * Disconnect-ACK arrived (`acked`), none within the disconnect wait
 * (`timed_out`), the connection ended otherwise (`lost`); `aborted`: still
 * connected when bacsc_hubd_abort_all() closed them (the stop deadline). */
typedef struct bacsc_hubd_stop_stats {
    size_t requested, acked, timed_out, lost, aborted;
} bacsc_hubd_stop_stats;
void bacsc_hubd_stop_stats_get(const bacsc_hubd *h, bacsc_hubd_stop_stats *out);

/* The listener's admission counters (zeros after shutdown closed it). */
void bacsc_hubd_listener_stats(const bacsc_hubd *h, bacsc_ws_listener_stats *out);

/* The hub function (counters, tables; read-only use). */
const bacsc_sc_hub *bacsc_hubd_hub(const bacsc_hubd *h);

/* Free the hub server (aborting connections without callbacks to the user). */
void bacsc_hubd_free(bacsc_hubd *h);

#ifdef __cplusplus
}
#endif
#endif
