/*
 * bacsc/bip.h — BACnet/IP BVLL codec (ASHRAE 135 Annex J).
 *
 * Pure functions, no allocation (see tags.h for the shared conventions).
 *
 *   Type(1)=0x81  Function(1)  Length(2, big-endian, whole BVLL message)  data
 *
 *   0x00 BVLC-Result             Result-Code(2)
 *   0x01 Write-BDT               BDT entries (10 octets each)
 *   0x02 Read-BDT                -
 *   0x03 Read-BDT-ACK            BDT entries
 *   0x04 Forwarded-NPDU          B/IP address of the originator (4 IP + 2 port), NPDU
 *   0x05 Register-Foreign-Device Time-To-Live(2)
 *   0x06 Read-FDT                -
 *   0x07 Read-FDT-ACK            FDT entries (10 octets each)
 *   0x08 Delete-FDT-Entry        B/IP address(6)
 *   0x09 Distribute-Broadcast-To-Network  NPDU
 *   0x0A Original-Unicast-NPDU   NPDU
 *   0x0B Original-Broadcast-NPDU NPDU
 *   0x0C Secure-BVLL             security wrapper
 *
 * Decoding rejects (BACSC_ERR_MALFORMED): a type other than 0x81, an unknown
 * function (> 0x0C), a Length field below 4 or different from the datagram
 * length, and a body of the wrong size for its function (Result ≠ 2,
 * Register-FD ≠ 2, Delete-FDT-Entry ≠ 6, Forwarded-NPDU < 6, BDT/FDT tables
 * not a multiple of 10, empty NPDU). Such a datagram is dropped.
 */
#ifndef BACSC_BIP_H
#define BACSC_BIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_BIP_TYPE 0x81
#define BACSC_BIP_PORT 47808
#define BACSC_BIP_HEADER_LEN 4
#define BACSC_BIP_ADDR_LEN 6
#define BACSC_BIP_MAX_LEN (1497 + 4 + 6) /* a Forwarded-NPDU with the largest NPDU */

enum bacsc_bip_function {
    BACSC_BIP_RESULT = 0x00,
    BACSC_BIP_WRITE_BDT = 0x01,
    BACSC_BIP_READ_BDT = 0x02,
    BACSC_BIP_READ_BDT_ACK = 0x03,
    BACSC_BIP_FORWARDED_NPDU = 0x04,
    BACSC_BIP_REGISTER_FOREIGN_DEVICE = 0x05,
    BACSC_BIP_READ_FDT = 0x06,
    BACSC_BIP_READ_FDT_ACK = 0x07,
    BACSC_BIP_DELETE_FDT_ENTRY = 0x08,
    BACSC_BIP_DISTRIBUTE_BROADCAST = 0x09,
    BACSC_BIP_ORIGINAL_UNICAST = 0x0A,
    BACSC_BIP_ORIGINAL_BROADCAST = 0x0B,
    BACSC_BIP_SECURE_BVLL = 0x0C
};

/* BVLC-Result codes. */
enum bacsc_bip_result {
    BACSC_BIP_RESULT_SUCCESS = 0x0000,
    BACSC_BIP_RESULT_WRITE_BDT_NAK = 0x0010,
    BACSC_BIP_RESULT_READ_BDT_NAK = 0x0020,
    BACSC_BIP_RESULT_REGISTER_FD_NAK = 0x0030,
    BACSC_BIP_RESULT_READ_FDT_NAK = 0x0040,
    BACSC_BIP_RESULT_DELETE_FDT_NAK = 0x0050,
    BACSC_BIP_RESULT_DISTRIBUTE_BROADCAST_NAK = 0x0060
};

/* A B/IP address: IPv4 address and UDP port, both in network order. */
typedef struct bacsc_bip_addr {
    uint8_t ip[4];
    uint16_t port;             /* host value */
} bacsc_bip_addr;

/* A decoded (or to-be-encoded) BVLL message. */
typedef struct bacsc_bip_msg {
    uint8_t function;          /* enum bacsc_bip_function */
    uint16_t result;           /* BVLC-Result */
    uint16_t ttl;              /* Register-Foreign-Device, seconds */
    bacsc_bip_addr addr;       /* Forwarded-NPDU originator, Delete-FDT-Entry */
    /* NPDU for 0x04, 0x09, 0x0A, 0x0B; the raw table for 0x01, 0x03, 0x07;
     * the raw body for 0x0C; empty otherwise. */
    const uint8_t *payload;
    size_t payload_len;
} bacsc_bip_msg;

/* Decode the BVLL datagram of `len` octets at buf. Returns the message length
 * (== len) or BACSC_ERR_MALFORMED. */
int bacsc_bip_decode(const uint8_t *buf, size_t len, bacsc_bip_msg *m);

/* Encode `m`. Returns the length, BACSC_ERR_BUFFER_TOO_SMALL, or
 * BACSC_ERR_INVALID_ARG (unknown function, total length > 65535, a table
 * length not a multiple of 10, an empty NPDU). buf == NULL returns the size. */
int bacsc_bip_encode(uint8_t *buf, size_t cap, const bacsc_bip_msg *m);

/* Convenience: wrap an NPDU as Original-Unicast/Broadcast-NPDU. */
int bacsc_bip_encode_npdu(uint8_t *buf, size_t cap, bool broadcast,
                          const uint8_t *npdu, size_t npdu_len);

const char *bacsc_bip_function_name(uint8_t function);  /* "Original-Unicast-NPDU" or NULL */
const char *bacsc_bip_result_name(uint16_t result);     /* "Successful completion" or NULL */

#ifdef __cplusplus
}
#endif
#endif
