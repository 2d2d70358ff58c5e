/*
 * support_fake_datalink.h — an in-memory BACnet network for application
 * layer tests: nodes with 6-octet MACs (like BACnet/SC VMACs), each hosting
 * a device and/or a client, joined through bacsc_datalink callbacks. Frames
 * queue up when sent and are delivered by fdl_pump() (or taken raw with
 * fdl_take()), so tests control ordering, loss and time exactly.
 */
#ifndef BACSC_TEST_FAKE_DATALINK_H
#define BACSC_TEST_FAKE_DATALINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/client.h"
#include "bacsc/datalink.h"
#include "bacsc/device.h"

#define FDL_MAX_NODES 8
#define FDL_QUEUE 512
#define FDL_FRAME_MAX 1600

typedef struct fdl_frame {
    bacsc_address src;         /* the sender's MAC */
    bacsc_address dest;        /* as passed to send (mac_len 0 = broadcast) */
    uint8_t data[FDL_FRAME_MAX];
    size_t len;
} fdl_frame;

typedef struct fdl_net fdl_net;

typedef struct fdl_node {
    fdl_net *net;
    uint8_t mac[6];
    bacsc_device *dev;
    bacsc_client *cl;
    size_t sent;               /* frames this node sent */
} fdl_node;

struct fdl_net {
    fdl_frame *q;              /* ring of FDL_QUEUE frames */
    size_t head, count;
    fdl_node nodes[FDL_MAX_NODES];
    size_t nnodes;
    unsigned drop_next;        /* drop this many next frames (loss) */
    size_t dropped;
    size_t delivered;
    int send_rc;               /* returned by send (0 normally) */
};

void fdl_init(fdl_net *net);
void fdl_destroy(fdl_net *net);
/* Add a node with MAC 02:00:00:00:00:<id>. */
fdl_node *fdl_add_node(fdl_net *net, uint8_t id);
/* The datalink handle for a node. */
bacsc_datalink fdl_link(fdl_node *n);
/* The address of a node. */
bacsc_address fdl_addr(const fdl_node *n);
/* Deliver queued frames (including those sent while delivering) until the
 * queue is empty; returns how many were delivered. */
size_t fdl_pump(fdl_net *net, uint64_t now);
/* Take the next queued frame without delivering it. False if none. */
bool fdl_take(fdl_net *net, fdl_frame *f);
/* Queue length. */
size_t fdl_queued(const fdl_net *net);

/* Make a device from dc (its link set to node n's) and host it on n;
 * asserts it was made. */
bacsc_device *fdl_host_device(fdl_node *n, bacsc_device_config *dc);
/* Likewise a client from cc. */
bacsc_client *fdl_host_client(fdl_node *n, bacsc_client_config *cc);
/* Free the clients and devices the nodes host, then the network. */
void fdl_free_hosted(fdl_net *net);

/* Hand an APDU (in an NPDU made by fdl_npdu) straight to node `to`, as sent
 * by `from`: to its device, or to its client when it hosts no device.
 * Returns what that handler returned. */
int fdl_apdu_to(const fdl_node *from, fdl_node *to, const uint8_t *apdu, size_t len,
                uint64_t now);
/* Take the next queued frame into *keep and decode its APDU into *a (which
 * points into *keep). False when nothing is queued. */
bool fdl_next_apdu(fdl_net *net, fdl_frame *keep, bacsc_apdu *a);

/* Build an NPDU (no addresses, expecting_reply set for confirmed) around
 * an APDU; returns its length. */
size_t fdl_npdu(uint8_t *out, size_t cap, const uint8_t *apdu, size_t apdu_len);
/* Decode the APDU of a frame (asserts it decodes). */
void fdl_frame_apdu(const fdl_frame *f, bacsc_apdu *a);

#endif
