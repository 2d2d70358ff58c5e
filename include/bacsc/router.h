/*
 * bacsc/router.h — a BACnet router's network layer (ASHRAE 135 clause 6),
 * sans-I/O.
 *
 * A bacsc_router connects 2..BACSC_ROUTER_MAX_PORTS ports, each a directly
 * connected BACnet network with its own network number (e.g. a BACnet/IP
 * network and a BACnet/SC network). The I/O layer hands it every NPDU a
 * port received, with the sender's MAC (bacsc_router_input()); the router
 * answers network layer messages, forwards NPDUs to other ports and gives
 * the NPDUs that are for its own application entity (its Device object) to
 * the `local` callback. Everything it sends goes out synchronously through
 * the `send` callback as (port, next-hop MAC, NPDU); mac_len 0 is a local
 * broadcast on that port (on BACnet/SC: the hub's broadcast).
 *
 * Forwarding (clause 6.5):
 *  - no DNET: local traffic of the arrival network, for the application
 *    entity only (never forwarded);
 *  - DNET 0xFFFF (global broadcast): to the application entity and, with
 *    SNET/SADR added when absent and the hop count decremented, as a
 *    broadcast on every other port (DNET 0xFFFF kept);
 *  - DNET of a directly connected network: DNET/DADR/hop count removed,
 *    SNET/SADR added when absent, sent to DADR on that port (DLEN 0: a local
 *    broadcast there — a remote broadcast reaches only that network);
 *  - DNET in the routing table (learned from I-Am-Router-To-Network): sent
 *    unchanged but for SNET/SADR and the hop count to the next router;
 *  - DNET unknown: Reject-Message-To-Network reason 1 to the source (not
 *    for a link-layer broadcast: bacsc_router_input_broadcast()), and a
 *    Who-Is-Router-To-Network(DNET) on every other port so that a later try
 *    may find a route.
 * The hop count is decremented by one at each forward; a message whose hop
 * count reaches zero is discarded (counted in hop_exhausted).
 * A forwarded NPDU larger than the outgoing port's maximum is never
 * truncated: the source gets Reject-Message-To-Network reason 4 (message
 * too long); one for a port whose link is down gets reason 2 (router busy).
 *
 * Network layer messages handled here (clause 6.4): Who-Is-Router-To-Network
 * (answered with I-Am-Router-To-Network for the networks reachable through
 * other ports; a request for an unknown network is passed on to the other
 * ports), I-Am-Router-To-Network (routes learned, passed on to the other
 * ports), Reject-Message-To-Network (a reason-1 reject removes the learned
 * route), Router-Busy-To-Network / Router-Available-To-Network (a busy
 * route holds traffic back — such NPDUs are dropped and counted — until
 * Router-Available or 30 s later; both are passed on to the other ports),
 * Initialize-Routing-Table (a query — zero ports — is answered with
 * Initialize-Routing-Table-Ack listing the whole table; an update is
 * refused with Reject-Message-To-Network reason 0: the table is configured
 * and learned, not written), What-Is-Network-Number (answered with
 * Network-Number-Is, configured) and Network-Number-Is (a different number
 * for our network is counted as a conflict). Other message types get
 * Reject-Message-To-Network reason 3 (unknown message type).
 *
 * Data structures: the port table is a small fixed array; the routing table
 * an array of at most max_routes entries searched linearly (a site has tens
 * of networks, not thousands). The router owns one output buffer: an
 * NPDU handed to `send` is valid only during the call.
 */
#ifndef BACSC_ROUTER_H
#define BACSC_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/datalink.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_ROUTER_MAX_PORTS 8
#define BACSC_ROUTER_MAX_ROUTES_DEFAULT 256
#define BACSC_ROUTER_MAX_ROUTES_LIMIT 4096
#define BACSC_ROUTER_MAX_NPDU 65535u      /* largest NPDU any port may carry */
#define BACSC_ROUTER_BUSY_US 30000000u    /* Router-Busy holds a route 30 s */
#define BACSC_ROUTER_LOCAL_PORT 0xFFu     /* bacsc_router_originate(): every port */

/* Reject-Message-To-Network reasons (clause 6.4.4). */
enum bacsc_router_reject_reason {
    BACSC_REJECT_NET_OTHER = 0,
    BACSC_REJECT_NET_NOT_ROUTER = 1,       /* not directly connected, no route known */
    BACSC_REJECT_NET_BUSY = 2,
    BACSC_REJECT_NET_UNKNOWN_MESSAGE = 3,
    BACSC_REJECT_NET_TOO_LONG = 4,
    BACSC_REJECT_NET_SECURITY = 5,
    BACSC_REJECT_NET_ADDRESSING = 6
};

typedef struct bacsc_router bacsc_router;

/* One port: a directly connected network. */
typedef struct bacsc_router_port_config {
    uint16_t network;                /* 1..65534, unique among the ports */
    size_t max_npdu;                 /* largest NPDU the port carries; 0 = 1497 */
    uint8_t mac_len;                 /* MAC length on this network (6 for B/IP and SC) */
} bacsc_router_port_config;

/*
 * Send `npdu` on port `port` to `mac` (mac->mac_len 0: a local broadcast on
 * that port; mac->net is always 0). Return 0 or a negative BACSC_ERR_* (a
 * failed send counts as a lost message).
 */
typedef int (*bacsc_router_send_fn)(void *user, unsigned port, const bacsc_address *mac,
                                    const uint8_t *npdu, size_t len);
/*
 * An NPDU for the router's own application entity arrived on `port` from
 * `src` (the previous hop's MAC, net 0). Any DNET is already removed except
 * a global broadcast's; SNET/SADR tell the original source.
 */
typedef void (*bacsc_router_local_fn)(void *user, unsigned port, const bacsc_address *src,
                                      const uint8_t *npdu, size_t len, uint64_t now);

typedef struct bacsc_router_config {
    bacsc_router_port_config ports[BACSC_ROUTER_MAX_PORTS];
    unsigned nports;                 /* 2..BACSC_ROUTER_MAX_PORTS */
    size_t max_routes;               /* learned routes kept; 0 = 256, max 4096 */
    bacsc_router_send_fn send;       /* required */
    bacsc_router_local_fn local;     /* optional (NULL: no application entity) */
    void *user;
} bacsc_router_config;

/* One routing table entry (directly connected networks included). */
typedef struct bacsc_router_route {
    uint16_t network;
    unsigned port;                   /* 0-based port index */
    bool direct;                     /* directly connected (mac unused) */
    bacsc_address next_hop;          /* the next router's MAC on that port */
    bool busy;                       /* Router-Busy-To-Network in force */
    uint64_t busy_until;
} bacsc_router_route;

typedef struct bacsc_router_stats {
    uint64_t rx_npdus;               /* every NPDU handed to bacsc_router_input() */
    uint64_t rx_malformed;           /* NPDU header or network message did not decode */
    uint64_t forwarded;              /* NPDUs sent on to another port (each copy) */
    uint64_t local;                  /* NPDUs given to the application entity */
    uint64_t network_msgs;           /* network layer messages received for us */
    uint64_t hop_exhausted;          /* discarded: hop count reached zero */
    uint64_t rejects_sent;           /* Reject-Message-To-Network sent (any reason) */
    uint64_t rejects_unknown_net;    /* ... reason 1 */
    uint64_t rejects_too_long;       /* ... reason 4 */
    uint64_t rejects_received;
    uint64_t busy_dropped;           /* held back by Router-Busy-To-Network */
    uint64_t dropped;                /* other drops (DNET of the arrival network,
                                        route back out the arrival port, bad DADR) */
    uint64_t routes_learned;
    uint64_t routes_full;            /* I-Am-Router entries not kept: table full */
    uint64_t number_conflicts;       /* Network-Number-Is with another number */
    uint64_t port_down;              /* not forwarded: the outgoing port is down
                                        (unicasts answered with reason 2, busy) */
    uint64_t send_errors;            /* send callback failures */
} bacsc_router_stats;

/*
 * Create a router. Returns BACSC_OK with *out, BACSC_ERR_INVALID_ARG (no send
 * callback, nports outside 2..8, a network number 0, 0xFFFF or repeated,
 * max_npdu below 501 or above 65535, mac_len 0 or above 7, max_routes above
 * 4096), BACSC_ERR_NOMEM.
 */
int bacsc_router_new(const bacsc_router_config *cfg, bacsc_router **out);
void bacsc_router_free(bacsc_router *r);

/*
 * The router's own MAC on `port` (e.g. its VMAC once the SC port is up):
 * an NPDU for DNET = that port's network with this DADR is for the
 * application entity. mac_len 0 = unknown. Returns BACSC_OK or
 * BACSC_ERR_INVALID_ARG.
 */
int bacsc_router_set_port_mac(bacsc_router *r, unsigned port, const bacsc_address *mac);
/*
 * A port's link is down (e.g. an SC port without hub connection) or up
 * again. While down, nothing is forwarded to it: a unicast for its network
 * is answered with Reject-Message-To-Network reason 2 (router busy), a
 * broadcast copy is skipped; both are counted in port_down. Ports start up.
 */
int bacsc_router_set_port_up(bacsc_router *r, unsigned port, bool up);
/* Change a port's maximum NPDU (e.g. what the hub accepted). */
int bacsc_router_set_port_max_npdu(bacsc_router *r, unsigned port, size_t max_npdu);

/*
 * Handle an NPDU received on `port` from `src` (the sender's MAC, net 0).
 * Returns BACSC_OK (handled: forwarded, answered, delivered or dropped by
 * the rules above), BACSC_ERR_MALFORMED (the NPDU did not decode: dropped,
 * nothing sent — the standard has no answer), BACSC_ERR_INVALID_ARG (bad
 * port).
 */
int bacsc_router_input(bacsc_router *r, unsigned port, const bacsc_address *src,
                       const uint8_t *npdu, size_t len, uint64_t now);
/*
 * The same for an NPDU the datalink received as a local broadcast (e.g. a
 * remote broadcast a station sent without knowing its router). For an
 * unknown DNET no Reject-Message-To-Network is sent — another router on
 * the network may know it — only Who-Is-Router-To-Network on the other
 * ports (counted in dropped).
 */
int bacsc_router_input_broadcast(bacsc_router *r, unsigned port, const bacsc_address *src,
                                 const uint8_t *npdu, size_t len, uint64_t now);

/*
 * Send an NPDU that the application entity produced (its datalink send):
 * with a DNET it is routed (a directly connected network: DNET removed and
 * sent to DADR there; a learned network: to the next router; global
 * broadcast: every port); without one it goes to `dest->mac` on `port`
 * (the port the request came in on), or — a local broadcast with `port`
 * BACSC_ROUTER_LOCAL_PORT — on every port. Returns BACSC_OK,
 * BACSC_ERR_NOT_FOUND (no route to DNET), BACSC_ERR_LIMIT (too long for the
 * port), BACSC_ERR_MALFORMED, BACSC_ERR_INVALID_ARG, or the send error.
 */
int bacsc_router_originate(bacsc_router *r, unsigned port, const bacsc_address *dest,
                           const uint8_t *npdu, size_t len, uint64_t now);

/* Broadcast I-Am-Router-To-Network on every port, listing the networks
 * reachable through the other ports (at start-up, and when a port comes
 * back). `port` BACSC_ROUTER_LOCAL_PORT = every port, else only that one. */
void bacsc_router_announce(bacsc_router *r, unsigned port, uint64_t now);

/* Broadcast Who-Is-Router-To-Network (no network) on `port` (or every port:
 * BACSC_ROUTER_LOCAL_PORT) so that routers already running there answer
 * with the networks they reach (learned from their I-Am-Router-To-Network). */
void bacsc_router_discover(bacsc_router *r, unsigned port, uint64_t now);

/* Broadcast Router-Busy-To-Network (busy) or Router-Available-To-Network on
 * every port but `port`, listing the networks reachable through `port`
 * (e.g. while a port's link is down). */
void bacsc_router_port_busy(bacsc_router *r, unsigned port, bool busy, uint64_t now);

/* Routing table: entries (directly connected networks first). */
size_t bacsc_router_route_count(const bacsc_router *r);
const bacsc_router_route *bacsc_router_route_at(const bacsc_router *r, size_t i);
/* The route to `network` or NULL. */
const bacsc_router_route *bacsc_router_find_route(const bacsc_router *r, uint16_t network);
unsigned bacsc_router_port_count(const bacsc_router *r);
uint16_t bacsc_router_port_network(const bacsc_router *r, unsigned port);

void bacsc_router_get_stats(const bacsc_router *r, bacsc_router_stats *st);

/* "unknown network" etc. for a Reject-Message-To-Network reason, or NULL. */
const char *bacsc_router_reject_reason_name(uint8_t reason);

#ifdef __cplusplus
}
#endif
#endif
