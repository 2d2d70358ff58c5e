/*
 * bacsc/router_host.h — a BACnet router process on the event loop: the
 * sans-I/O network layer (router.h) with real ports — one BACnet/IP link
 * (bip_link.h) and one or more BACnet/SC nodes (sc_node.h) — and the
 * router's own Device object with one Network Port object per port.
 *
 * Port 0 is the BACnet/IP network; ports 1..n the BACnet/SC networks, in
 * configuration order. Each SC port is an ordinary bacsc node: hub
 * connector with failover and return, direct connections only when its
 * node configuration enables them, the node's limits and rejections.
 *
 * The Device object answers on every network (the router's application
 * entity): requests reach it through bacsc_router's `local` callback and
 * its answers go back through bacsc_router_originate(), so an answer to a
 * station behind another router is routed like any NPDU. Network Port
 * objects: instance 1 IPV4 (IP_Address, BACnet_IP_UDP_Port, Network_Number
 * = the B/IP network), instances 2.. SECURE_CONNECT (hub URIs, live
 * connector state, Network_Number = the SC network).
 *
 * Start-up: the SC nodes start connecting; I-Am-Router-To-Network (our
 * networks) and Who-Is-Router-To-Network (the routers already there) are
 * broadcast on the B/IP port at once and on each SC port whenever its hub
 * connection comes up (connect and every failover or return); the I-Am of
 * the Device object goes out on the same occasions.
 */
#ifndef BACSC_ROUTER_HOST_H
#define BACSC_ROUTER_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bip_link.h"
#include "bacsc/device.h"
#include "bacsc/loop.h"
#include "bacsc/router.h"
#include "bacsc/sc_node.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_ROUTER_HOST_MAX_SC (BACSC_ROUTER_MAX_PORTS - 1)

typedef struct bacsc_router_host bacsc_router_host;

/* One BACnet/SC port. */
typedef struct bacsc_router_host_sc {
    uint16_t network;                /* its network number */
    bacsc_sc_node_config node;       /* the node (name filled in when NULL) */
    const char *hub_listen;          /* shown in the Network Port when the process
                                        also hosts the hub function (else NULL) */
} bacsc_router_host_sc;

typedef struct bacsc_router_host_config {
    bacsc_loop *loop;
    /* BACnet/IP port */
    bacsc_bip_addr bip;
    bacsc_bip_addr bip_broadcast;    /* see bip_link.h (zero = default) */
    unsigned bip_broadcast_port_count;
    uint16_t bip_network;
    /* BACnet/SC ports */
    bacsc_router_host_sc sc[BACSC_ROUTER_HOST_MAX_SC];
    unsigned nsc;                    /* 1..7 */
    size_t max_routes;               /* learned routes; 0 = default */
    /* Device object */
    uint32_t instance;
    const char *name;                /* Object_Name; NULL = "bacsc-router-<instance>" */
    uint8_t uuid[16];
} bacsc_router_host_config;

/*
 * Create the router: bind the B/IP socket, create the SC nodes (not yet
 * started), the router core and the Device object. On failure `err` holds
 * a one-line message. Returns BACSC_OK, BACSC_ERR_INVALID_ARG (bad
 * configuration: network numbers, no SC port, node configuration),
 * BACSC_ERR_IO (bind failed), BACSC_ERR_NOMEM.
 */
int bacsc_router_host_new(const bacsc_router_host_config *cfg, bacsc_router_host **out,
                          char *err, size_t errlen);
/* Start the SC nodes and announce the router on B/IP. */
int bacsc_router_host_start(bacsc_router_host *h);
/* Graceful stop of the SC nodes (Disconnect-Request); idle() once closed. */
void bacsc_router_host_stop(bacsc_router_host *h);
bool bacsc_router_host_idle(const bacsc_router_host *h);
void bacsc_router_host_free(bacsc_router_host *h);

bacsc_router *bacsc_router_host_router(bacsc_router_host *h);
bacsc_device *bacsc_router_host_device(bacsc_router_host *h);
bacsc_bip_link *bacsc_router_host_bip(bacsc_router_host *h);
/* The SC node of SC port i (0-based, i.e. router port i + 1). */
bacsc_sc_node *bacsc_router_host_sc_node(bacsc_router_host *h, unsigned i);
unsigned bacsc_router_host_sc_count(const bacsc_router_host *h);

#ifdef __cplusplus
}
#endif
#endif
