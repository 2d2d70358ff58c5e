/*
 * bacsc/datalink.h — the boundary between the BACnet application layer
 * (device.h, client.h) and whatever carries its NPDUs (BACnet/SC hub
 * connector, BACnet/IP, an in-memory fake in tests).
 *
 * The application layer never knows which datalink it runs on. It sees:
 *  - a BACnet address (bacsc_address): the local next hop's MAC (a 6-octet
 *    VMAC on BACnet/SC, 4-octet IP + 2-octet port on BACnet/IP, 0 octets for
 *    a local broadcast), plus an optional remote network number and station
 *    address when the peer sits behind a router;
 *  - incoming NPDUs, handed to it by the I/O layer together with the source
 *    address (bacsc_device_handle_npdu(), bacsc_client_handle_npdu());
 *  - outgoing NPDUs, complete (NPDU header with any DNET/DADR already
 *    encoded), handed to the I/O layer through one callback,
 *    bacsc_datalink.send, with the next hop in dest->mac.
 *
 * No I/O, no allocation in this module.
 */
#ifndef BACSC_DATALINK_H
#define BACSC_DATALINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_MAC_MAX 7              /* octets of a MAC / station address */
#define BACSC_NET_LOCAL 0            /* network number of the local network */
#define BACSC_NET_GLOBAL 0xFFFFu     /* global broadcast network number */

/* Datalink kinds, for formatting/parsing addresses only. */
enum bacsc_datalink_kind {
    BACSC_DATALINK_ANY = 0,
    BACSC_DATALINK_SC = 1,           /* MAC = 6-octet VMAC */
    BACSC_DATALINK_BIP = 2           /* MAC = 4-octet IPv4 + 2-octet port (big-endian) */
};

/*
 * A BACnet address.
 *   mac/mac_len  the local datalink address of the next hop: the station
 *                itself when net == 0, else the router toward `net`;
 *                mac_len 0 = local broadcast.
 *   net          0 = the station is on the local network; 1..65534 a remote
 *                network; 0xFFFF global broadcast.
 *   adr/adr_len  when net != 0: the station's MAC on network `net`
 *                (adr_len 0 = broadcast on that network).
 * Two addresses are equal when every used field is equal
 * (bacsc_address_equal()).
 */
typedef struct bacsc_address {
    uint8_t mac_len;
    uint8_t mac[BACSC_MAC_MAX];
    uint16_t net;
    uint8_t adr_len;
    uint8_t adr[BACSC_MAC_MAX];
} bacsc_address;

/*
 * Send one NPDU. `dest->mac` (mac_len 0: local broadcast) is the next hop;
 * the NPDU header already carries DNET/DADR when dest->net != 0. Called
 * synchronously from within the application layer's functions; the NPDU
 * buffer is only valid during the call (copy it to queue it).
 * Returns 0, or a negative BACSC_ERR_* (the application layer treats a
 * failed send like a lost message: the client's retry timer still runs).
 */
typedef int (*bacsc_datalink_send_fn)(void *user, const bacsc_address *dest,
                                      const uint8_t *npdu, size_t len);

/* What the application layer needs to know about a datalink. */
typedef struct bacsc_datalink {
    bacsc_datalink_send_fn send;
    void *user;                      /* passed to send */
    size_t max_npdu;                 /* largest NPDU the link carries (0 = 1497) */
} bacsc_datalink;

/* ---- address helpers ---------------------------------------------------- */

/* A local station: mac_len octets of `mac` (0..7), net 0. Returns a zeroed
 * address (a local broadcast) when len > 7. */
bacsc_address bacsc_address_local(const uint8_t *mac, size_t len);
/* The local broadcast address (mac_len 0, net 0). */
bacsc_address bacsc_address_local_broadcast(void);
/* The global broadcast address (mac_len 0, net 0xFFFF). */
bacsc_address bacsc_address_global_broadcast(void);
/* A BACnet/IP station: IPv4 address (4 octets) and UDP port (host order). */
bacsc_address bacsc_address_bip(const uint8_t ip[4], uint16_t port);

/* True if `a` is a (local, remote or global) broadcast. */
bool bacsc_address_is_broadcast(const bacsc_address *a);
/* Field-by-field equality of two addresses (unused octets ignored). */
bool bacsc_address_equal(const bacsc_address *a, const bacsc_address *b);

/*
 * Text form: "broadcast", "global-broadcast", a MAC as colon-separated hex
 * ("02:41:b3:00:12:9f"; a 6-octet BACnet/IP MAC as "127.0.0.1:47808" when
 * kind is BACSC_DATALINK_BIP), and a remote station as "NET:MAC" with NET in
 * decimal ("5:0a" — the router MAC is not shown). Writes at most cap-1
 * characters plus NUL; returns `buf`. 48 octets always suffice.
 */
#define BACSC_ADDRESS_STRLEN 48
char *bacsc_address_format(const bacsc_address *a, int kind, char *buf, size_t cap);

/*
 * Parse a local address: "broadcast", hex octets separated by ':' (1..7
 * octets), or "A.B.C.D:PORT" (a BACnet/IP MAC). Returns BACSC_OK or
 * BACSC_ERR_MALFORMED.
 */
int bacsc_address_parse(const char *s, bacsc_address *a);

/*
 * Build the NPDU header fields for sending to `dest` and learn the reply
 * address of a received NPDU: used by device.c and client.c, public so other
 * application code (and the I/O layer's routers, later) can share them.
 *
 * bacsc_address_to_npdu(): bacsc_npdu_init(npdu, expecting_reply), then, when
 * `dest` is on another network (net != 0), DNET = dest->net, DADR = dest->adr
 * (none for a global broadcast) and hop count 255. The caller sets the
 * priority and the payload.
 *
 * bacsc_address_from_npdu(): the address to answer a received NPDU whose
 * header is `npdu` (has_snet, snet, slen, sadr) and that arrived from the
 * next hop `link_src`.
 */
struct bacsc_npdu;
void bacsc_address_to_npdu(const bacsc_address *dest, bool expecting_reply,
                           struct bacsc_npdu *npdu);
void bacsc_address_from_npdu(const bacsc_address *link_src, const struct bacsc_npdu *npdu,
                             bacsc_address *reply);

#ifdef __cplusplus
}
#endif
#endif
