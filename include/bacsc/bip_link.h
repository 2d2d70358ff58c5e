/*
 * bacsc/bip_link.h — the BACnet/IP datalink (ASHRAE 135 Annex J) on the
 * event loop: one non-blocking UDP socket, for devices and client tools.
 *
 * A bacsc_bip_link owns a UDP socket bound exclusively to ADDR:PORT
 * (SO_BROADCAST; no SO_REUSEADDR: a port in use fails with EADDRINUSE) and
 * watched by a bacsc_loop. It plugs into the application
 * layer through bacsc_bip_link_datalink() (datalink.h):
 *
 *   send to a 6-octet MAC (IPv4 + port)  → Original-Unicast-NPDU to that address
 *   send to mac_len 0 (local broadcast)  → Original-Broadcast-NPDU to the
 *                                          configured broadcast address
 *
 * and hands every received NPDU to the `recv` callback with the source
 * address as a 6-octet B/IP MAC:
 *
 *   Original-Unicast-NPDU, Original-Broadcast-NPDU → src = the UDP source
 *   Forwarded-NPDU                                  → src = the originator
 *                                                     address in the message
 *
 * BBMD/foreign-device functions are answered as a node that is not a BBMD
 * (Annex J.2): Write-BDT → BVLC-Result 0x0010, Read-BDT → 0x0020,
 * Register-Foreign-Device → 0x0030, Read-FDT → 0x0040, Delete-FDT-Entry →
 * 0x0050, Distribute-Broadcast-To-Network → 0x0060 (unicast to the sender).
 * BVLC-Results, Read-BDT/FDT-ACKs and Secure-BVLL are counted and dropped;
 * datagrams that do not decode (bip.h: wrong type, unknown function, length
 * mismatch) are counted and dropped — Annex J has no NAK for them. Our own
 * broadcasts echoed back by the kernel are dropped.
 *
 * Broadcast domain on one host: all simulated devices share 127.0.0.1, so a
 * real broadcast address cannot reach devices on different ports. The link
 * can instead emulate a broadcast by sending the Original-Broadcast-NPDU as
 * unicast datagrams to `broadcast_port_count` consecutive ports starting at
 * the broadcast address's port (e.g. 127.0.0.1:47808 × 500). Documented in
 * docs/device-commissioning.md; count 1 (default) is a plain broadcast.
 *
 * Limits: datagrams larger than BACSC_BIP_MAX_LEN are dropped; an NPDU
 * larger than 1497 octets is refused (BACSC_ERR_LIMIT). Sends never block:
 * EAGAIN counts as a lost message (BACnet's retries cover it).
 */
#ifndef BACSC_BIP_LINK_H
#define BACSC_BIP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bip.h"
#include "bacsc/datalink.h"
#include "bacsc/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_bip_link bacsc_bip_link;

/*
 * An NPDU arrived. `src` is a local 6-octet B/IP address (bacsc_address_bip):
 * the sender, or the originator of a Forwarded-NPDU. `broadcast` is true for
 * Original-Broadcast-NPDU and Forwarded-NPDU. The NPDU is valid only during
 * the call. `now` is the loop time (µs). The callback may send and may free
 * the link (then it must not touch it afterwards; the link notices).
 */
typedef void (*bacsc_bip_link_recv_fn)(void *user, bacsc_bip_link *link,
                                       const bacsc_address *src, const uint8_t *npdu,
                                       size_t len, bool broadcast, uint64_t now);

typedef struct bacsc_bip_link_config {
    bacsc_bip_addr bind;             /* local address; ip 0.0.0.0 = any; port 0 = ephemeral */
    /* Where local broadcasts go: ip 0.0.0.0 = 255.255.255.255 (or
     * 127.255.255.255 when bound to a 127/8 address); port 0 = our bound port. */
    bacsc_bip_addr broadcast;
    unsigned broadcast_port_count;   /* 0/1 = one broadcast datagram; N > 1 = unicast
                                        copies to ports port..port+N-1 (max 65535) */
    bacsc_bip_link_recv_fn recv;     /* required */
    void *user;
} bacsc_bip_link_config;

/* Counters for status displays and tests. */
typedef struct bacsc_bip_link_stats {
    uint64_t rx_datagrams;           /* every datagram read */
    uint64_t rx_npdus;               /* NPDUs handed to recv */
    uint64_t rx_malformed;           /* did not decode, or too large */
    uint64_t rx_ignored;             /* valid but not for us (results, ACKs, own echo, Secure-BVLL) */
    uint64_t tx_datagrams;
    uint64_t tx_naks;                /* BVLC-Result NAKs sent */
    uint64_t tx_errors;              /* sendto failures (incl. EAGAIN) */
} bacsc_bip_link_stats;

/*
 * Parse "A.B.C.D:PORT", "A.B.C.D" (port = default_port) or ":PORT"
 * (0.0.0.0). Returns BACSC_OK or BACSC_ERR_MALFORMED.
 */
int bacsc_bip_addr_parse(const char *s, uint16_t default_port, bacsc_bip_addr *out);
/* "A.B.C.D:PORT" into buf (at least 22 octets). Returns buf. */
char *bacsc_bip_addr_format(const bacsc_bip_addr *a, char *buf, size_t cap);
/* The BACnet address (6-octet MAC) of a B/IP address, and back (mac_len must
 * be 6: BACSC_OK, else BACSC_ERR_INVALID_ARG). */
bacsc_address bacsc_bip_addr_to_address(const bacsc_bip_addr *a);
int bacsc_bip_addr_from_address(const bacsc_address *a, bacsc_bip_addr *out);

/*
 * Open the socket, bind it and watch it on `loop`. Returns BACSC_OK with *out,
 * BACSC_ERR_INVALID_ARG (no recv callback), BACSC_ERR_NOMEM, BACSC_ERR_IO
 * (socket/bind failed: errno kept, e.g. EADDRINUSE).
 */
int bacsc_bip_link_new(bacsc_loop *loop, const bacsc_bip_link_config *cfg,
                       bacsc_bip_link **out);
/* Unwatch and close the socket, free the link. NULL is ignored. Safe inside
 * the link's own recv callback. */
void bacsc_bip_link_free(bacsc_bip_link *link);

/* The datalink for bacsc_device_config.link / bacsc_client_config.link:
 * send = bacsc_bip_link_send, user = link, max_npdu 1497. */
bacsc_datalink bacsc_bip_link_datalink(bacsc_bip_link *link);

/*
 * The datalink send callback (`user` is the bacsc_bip_link *). dest->mac_len
 * 6 = unicast to that IPv4:port; 0 = local broadcast; anything else
 * BACSC_ERR_INVALID_ARG. Returns BACSC_OK, BACSC_ERR_LIMIT (NPDU > 1497),
 * BACSC_ERR_IO (sendto failed, incl. EAGAIN).
 */
int bacsc_bip_link_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len);

/* Send a raw BVLL datagram (tests, tools). Returns BACSC_OK or BACSC_ERR_IO. */
int bacsc_bip_link_send_raw(bacsc_bip_link *link, const bacsc_bip_addr *to,
                            const uint8_t *data, size_t len);

/* The address actually bound (the ephemeral port filled in). */
void bacsc_bip_link_local(const bacsc_bip_link *link, bacsc_bip_addr *out);
/* The link's local address as a BACnet address (6-octet MAC). When bound to
 * 0.0.0.0 the IP part is 0.0.0.0. */
bacsc_address bacsc_bip_link_address(const bacsc_bip_link *link);
void bacsc_bip_link_get_stats(const bacsc_bip_link *link, bacsc_bip_link_stats *st);
/* The socket fd (for tests); -1 if closed. */
int bacsc_bip_link_fd(const bacsc_bip_link *link);

/*
 * Handle one received datagram as if read from the socket (the receive path
 * without the socket: used by the socket callback, the fuzz target and
 * tests). `from` is the UDP source. Returns BACSC_OK (handled),
 * BACSC_ERR_MALFORMED (dropped) — never fails otherwise.
 */
int bacsc_bip_link_input(bacsc_bip_link *link, const bacsc_bip_addr *from,
                         const uint8_t *data, size_t len, uint64_t now);

#ifdef __cplusplus
}
#endif
#endif
