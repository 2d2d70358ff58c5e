/*
 * bacsc/sc_hub.h — the BACnet/SC hub function (ASHRAE 135 Annex AB), sans-I/O.
 *
 * The hub accepts hub connections (WebSockets with subprotocol
 * hub.bsc.bacnet.org that the I/O layer has already opened), runs one
 * accepting bacsc_sc_conn per connection, keeps the VMAC and Device-UUID
 * tables and relays messages between the connected nodes:
 *
 *   - unicast (Destination VMAC set, not broadcast): to that node with the
 *     Originating VMAC set to the sender's and the Destination removed;
 *   - broadcast: to every other connected node with the Originating VMAC
 *     added and the Destination kept; the message is rewritten once and the
 *     same buffer is queued on every destination (reference counted);
 *   - an Originating VMAC that differs from the sender's: dropped (counted);
 *   - unicast to an unknown VMAC: Encapsulated-NPDU dropped (counted), other
 *     functions NAKed;
 *   - a Connect-Request whose VMAC is held by a connection with another UUID:
 *     NAK 151 (node-duplicate-vmac); same UUID: the old connection is dropped
 *     and the new one takes its place.
 *
 * The I/O layer identifies each connection by its own opaque pointer
 * (`io_peer`, given to bacsc_sc_hub_accept() and handed back in callbacks) and
 * calls the hub with the bacsc_sc_hub_peer handle accept() returned — no
 * lookup needed. Lookups by VMAC and UUID are hash tables (O(1)); timers are a
 * binary heap (O(log n)); memory per idle connection is a few hundred octets.
 *
 * Output is per peer: when a peer's FIFO goes from empty to non-empty the hub
 * calls want_write(io_peer); the I/O layer drains it with
 * bacsc_sc_hub_peek_output()/bacsc_sc_hub_pop_output(). When the hub wants a
 * WebSocket closed it calls close(io_peer): the I/O layer writes what is still
 * queued, closes, and finally calls bacsc_sc_hub_peer_gone(). Callbacks must not
 * call back into the hub.
 */
#ifndef BACSC_SC_HUB_H
#define BACSC_SC_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bvlc.h"
#include "bacsc/sc_conn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_SC_HUB_DEFAULT_MAX_PEERS 10000
#define BACSC_SC_HUB_DEFAULT_MAX_BVLC_LEN 9000
#define BACSC_SC_HUB_DEFAULT_MAX_NPDU_LEN 8000
/* The accepting side cannot know a node's SC_Heartbeat_Timeout (60 s for
 * bacsc nodes, 300 s in other implementations), so the hub tolerates the
 * largest common value: a node is dropped after 2 x 300 s of silence. */
#define BACSC_SC_HUB_DEFAULT_HEARTBEAT_US (300ull * 1000000)

typedef struct bacsc_sc_hub bacsc_sc_hub;
typedef struct bacsc_sc_hub_peer bacsc_sc_hub_peer;

typedef struct bacsc_sc_hub_config {
    bacsc_vmac vmac;                /* the hub function's own VMAC (Connect-Accept) */
    bacsc_uuid uuid;                /* the hub device's UUID */
    uint16_t max_bvlc_len;          /* accepted from nodes (0: default) */
    uint16_t max_npdu_len;          /* accepted from nodes (0: default) */
    uint64_t connect_wait_us;       /* 0: default */
    uint64_t disconnect_wait_us;    /* 0: default */
    uint64_t heartbeat_us;          /* a node silent for 2x this is dropped (0: default 300 s) */
    size_t max_peers;               /* accept() refuses beyond this (0: default) */
    size_t max_queue_msgs;          /* per-peer output FIFO limits (0: default) */
    size_t max_queue_bytes;
    uint32_t control_rate;          /* per node, see bacsc_sc_conn_config (0: default) */
} bacsc_sc_hub_config;

void bacsc_sc_hub_config_default(bacsc_sc_hub_config *cfg);

typedef struct bacsc_sc_hub_callbacks {
    /* The peer's output FIFO went from empty to non-empty. */
    void (*want_write)(void *io_peer, void *user);
    /* Close this WebSocket after writing what is queued; then call
     * bacsc_sc_hub_peer_gone(). `error_code` is a BACSC_EC_* value or 0. */
    void (*close)(void *io_peer, uint16_t error_code, void *user);
    /* Optional: a node joined (Connect-Accept sent) or left the table. */
    void (*joined)(void *io_peer, const bacsc_vmac *vmac, const bacsc_uuid *uuid, void *user);
    void (*left)(void *io_peer, const bacsc_vmac *vmac, const bacsc_sc_close_info *info,
                 void *user);
    /* Random octets (hash seed, message ids). May be NULL. */
    bacsc_random_fn random;
    /* Optional: a well-formed Connect-Request was refused with `error_code`
     * (e.g. 151); `req` is the request. For SC_Failed_Connection_Requests
     * (the I/O layer adds the peer address and time). The close callback
     * follows. */
    void (*refused)(void *io_peer, const bacsc_bvlc_connect *req, uint16_t error_code,
                    void *user);
    /* Optional: a message for `dst_io` (NULL: no such destination) was
     * dropped (enum bacsc_sc_hub_drop; already counted in the stats). For
     * logs: the I/O layer rate-limits them (e.g. once per peer). */
    void (*dropped)(void *dst_io, int reason, size_t len, void *user);
} bacsc_sc_hub_callbacks;

enum bacsc_sc_hub_drop {
    BACSC_SC_HUB_DROP_TOO_LARGE = 1, /* over the destination's Max-BVLC/NPDU-Length */
    BACSC_SC_HUB_DROP_QUEUE = 2      /* the destination's FIFO is full (or no memory) */
};

/* Hub-wide counters. */
typedef struct bacsc_sc_hub_stats {
    uint64_t accepted;             /* connections that completed Connect-Request/Accept */
    uint64_t refused;              /* Connect-Requests NAKed (e.g. 151) */
    uint64_t replaced;             /* old connections dropped for a same-UUID reconnect */
    uint64_t unicast_forwarded;
    uint64_t broadcast_forwarded;  /* broadcasts received and fanned out */
    uint64_t broadcast_copies;     /* queued copies of broadcasts (one per destination) */
    uint64_t spoofed_dropped;      /* Originating VMAC != sender's */
    uint64_t unknown_dest_dropped; /* unicast NPDU to a VMAC nobody holds */
    uint64_t unknown_dest_naked;   /* unicast non-NPDU to an unknown VMAC, NAKed */
    uint64_t too_large_dropped;    /* exceeds the destination's Max-BVLC/NPDU */
    uint64_t queue_dropped;        /* destination FIFO full */
    uint64_t to_hub_dropped;       /* NPDUs addressed to the hub itself */
    uint64_t naks_sent;
    uint64_t refused_uuid;         /* Connect-Requests whose UUID is not the certificate's */
    uint64_t refused_vmac;         /* Connect-Requests NAKed 151 node-duplicate-vmac */
    uint64_t refused_limits;       /* Connect-Requests with Max-*-Length too small (NAK 150) */
    uint64_t control_dropped;      /* control messages over a node's control_rate, unanswered */
    uint64_t flood_closed;         /* connections closed for a control-message flood */
    uint64_t unicast_octets;       /* octets of unicasts received and forwarded */
    uint64_t broadcast_octets;     /* octets of broadcasts received and fanned out */
} bacsc_sc_hub_stats;

/* One row of the peer table (status display). */
typedef struct bacsc_sc_hub_peer_info {
    void *io_peer;
    bool connected;                /* false while awaiting Connect-Request */
    bacsc_vmac vmac;
    bacsc_uuid uuid;
    uint16_t max_bvlc_len, max_npdu_len;   /* the node's */
    uint64_t since;                /* `now` when accepted */
    bacsc_sc_conn_stats stats;
} bacsc_sc_hub_peer_info;

/* Create a hub. Returns NULL when out of memory or `cfg` is invalid. */
bacsc_sc_hub *bacsc_sc_hub_new(const bacsc_sc_hub_config *cfg,
                               const bacsc_sc_hub_callbacks *cb, void *user);

/* Free the hub and every peer (no callbacks, nothing sent). */
void bacsc_sc_hub_free(bacsc_sc_hub *hub);

/*
 * A hub WebSocket was opened by `io_peer`. Creates an accepting connection
 * waiting for Connect-Request (connect wait). Returns the peer handle, or NULL
 * with *err (may be NULL) = BACSC_ERR_LIMIT (max_peers reached) or
 * BACSC_ERR_NOMEM; the I/O layer then closes the WebSocket.
 */
bacsc_sc_hub_peer *bacsc_sc_hub_accept(bacsc_sc_hub *hub, void *io_peer, uint64_t now, int *err);

/*
 * One binary WebSocket message from `peer`. Returns BACSC_OK, or
 * BACSC_ERR_STATE when the peer is closing (ignored).
 */
int bacsc_sc_hub_recv(bacsc_sc_hub *hub, bacsc_sc_hub_peer *peer, const uint8_t *data,
                      size_t len, uint64_t now);

/*
 * The WebSocket of `peer` is gone (closed by either side, or after the hub's
 * close callback). `error_code` is a BACSC_EC_* value or 0. Frees the peer;
 * the handle is invalid afterwards. Calls `left` if it was in the table.
 */
void bacsc_sc_hub_peer_gone(bacsc_sc_hub *hub, bacsc_sc_hub_peer *peer, uint16_t error_code,
                            uint64_t now);

/* Output FIFO of a peer; see bacsc_sc_conn_peek_output(). */
int bacsc_sc_hub_peek_output(const bacsc_sc_hub_peer *peer, const uint8_t **data, size_t *len);
void bacsc_sc_hub_pop_output(bacsc_sc_hub_peer *peer);

/* Start a graceful Disconnect-Request to every connected peer (shutdown). */
void bacsc_sc_hub_disconnect_all(bacsc_sc_hub *hub, uint64_t now);

/* Timers: earliest deadline of any peer (BACSC_SC_NEVER if none); run due ones. */
uint64_t bacsc_sc_hub_expiry(const bacsc_sc_hub *hub);
void bacsc_sc_hub_handle_expiry(bacsc_sc_hub *hub, uint64_t now);

/* Status. */
size_t bacsc_sc_hub_peer_count(const bacsc_sc_hub *hub);       /* all accepted sockets */
size_t bacsc_sc_hub_connected_count(const bacsc_sc_hub *hub);  /* in the VMAC table */
const bacsc_sc_hub_stats *bacsc_sc_hub_stats_get(const bacsc_sc_hub *hub);
/* The peer holding `vmac`, or NULL. */
bacsc_sc_hub_peer *bacsc_sc_hub_find_vmac(const bacsc_sc_hub *hub, const bacsc_vmac *vmac);
void bacsc_sc_hub_peer_get_info(const bacsc_sc_hub_peer *peer, bacsc_sc_hub_peer_info *info);
/* Call fn for every peer (connected or not). fn must not change the hub. */
void bacsc_sc_hub_foreach_peer(const bacsc_sc_hub *hub,
                               void (*fn)(const bacsc_sc_hub_peer_info *info, void *arg),
                               void *arg);
/* The connection object of a peer (read-only use: state, stats). */
bacsc_sc_conn *bacsc_sc_hub_peer_conn(bacsc_sc_hub_peer *peer);
void *bacsc_sc_hub_peer_io(const bacsc_sc_hub_peer *peer);

/* Consistency self-check for tests and fuzzing: tables, list and heap agree.
 * Returns BACSC_OK or BACSC_ERR_STATE. O(n). */
int bacsc_sc_hub_check(const bacsc_sc_hub *hub);

#ifdef __cplusplus
}
#endif
#endif
