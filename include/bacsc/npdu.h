/*
 * bacsc/npdu.h — BACnet NPDU header codec (ASHRAE 135 clause 6.2).
 *
 * Pure functions, no allocation (see tags.h for the shared conventions).
 *
 *   Version(1)=0x01  Control(1)
 *   [DNET(2) DLEN(1) DADR(DLEN)]      control bit 5
 *   [SNET(2) SLEN(1) SADR(SLEN)]      control bit 3
 *   [Hop-Count(1)]                    when DNET is present
 *   [Message-Type(1) [Vendor-ID(2)]]  control bit 7 (Vendor-ID when type >= 0x80)
 *   APDU or network-layer message data
 *
 * Control: bit 7 network-layer message, bit 6 reserved, bit 5 DNET present,
 * bit 4 reserved, bit 3 SNET present, bit 2 expecting reply, bits 1..0
 * priority (0 normal, 1 urgent, 2 critical-equipment, 3 life-safety).
 *
 * Decoding rejects (BACSC_ERR_MALFORMED): a version other than 1, reserved
 * control bits set, truncation anywhere, SNET 0 or 0xFFFF, SLEN 0, DNET 0.
 * DLEN 0 (a broadcast on DNET) is valid. Such an NPDU is dropped; the
 * standard has no reply for a malformed NPDU header.
 */
#ifndef BACSC_NPDU_H
#define BACSC_NPDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_NPDU_VERSION 1
#define BACSC_NPDU_CTRL_NETWORK_MSG 0x80
#define BACSC_NPDU_CTRL_DNET 0x20
#define BACSC_NPDU_CTRL_SNET 0x08
#define BACSC_NPDU_CTRL_EXPECTING_REPLY 0x04
#define BACSC_NPDU_CTRL_PRIORITY_MASK 0x03
#define BACSC_NPDU_CTRL_RESERVED 0x50
#define BACSC_NPDU_GLOBAL_BROADCAST 0xFFFFu   /* DNET of a global broadcast */
#define BACSC_NPDU_MAX_HEADER (2 + 3 + 255 + 3 + 255 + 1 + 3)
#define BACSC_NPDU_MIN_MAX_LEN 1497            /* smallest Max-NPDU a node must take */

enum bacsc_npdu_priority {
    BACSC_PRIO_NORMAL = 0,
    BACSC_PRIO_URGENT = 1,
    BACSC_PRIO_CRITICAL_EQUIPMENT = 2,
    BACSC_PRIO_LIFE_SAFETY = 3
};

/* Network-layer message types (clause 6.2.4). */
enum bacsc_network_msg {
    BACSC_NMSG_WHO_IS_ROUTER_TO_NETWORK = 0x00,
    BACSC_NMSG_I_AM_ROUTER_TO_NETWORK = 0x01,
    BACSC_NMSG_I_COULD_BE_ROUTER_TO_NETWORK = 0x02,
    BACSC_NMSG_REJECT_MESSAGE_TO_NETWORK = 0x03,
    BACSC_NMSG_ROUTER_BUSY_TO_NETWORK = 0x04,
    BACSC_NMSG_ROUTER_AVAILABLE_TO_NETWORK = 0x05,
    BACSC_NMSG_INITIALIZE_ROUTING_TABLE = 0x06,
    BACSC_NMSG_INITIALIZE_ROUTING_TABLE_ACK = 0x07,
    BACSC_NMSG_ESTABLISH_CONNECTION_TO_NETWORK = 0x08,
    BACSC_NMSG_DISCONNECT_CONNECTION_TO_NETWORK = 0x09,
    BACSC_NMSG_CHALLENGE_REQUEST = 0x0A,
    BACSC_NMSG_SECURITY_PAYLOAD = 0x0B,
    BACSC_NMSG_SECURITY_RESPONSE = 0x0C,
    BACSC_NMSG_REQUEST_KEY_UPDATE = 0x0D,
    BACSC_NMSG_UPDATE_KEY_SET = 0x0E,
    BACSC_NMSG_UPDATE_DISTRIBUTION_KEY = 0x0F,
    BACSC_NMSG_REQUEST_MASTER_KEY = 0x10,
    BACSC_NMSG_SET_MASTER_KEY = 0x11,
    BACSC_NMSG_WHAT_IS_NETWORK_NUMBER = 0x12,
    BACSC_NMSG_NETWORK_NUMBER_IS = 0x13
};

/*
 * A decoded (or to-be-encoded) NPDU. Addresses point into the input buffer
 * on decode and into caller memory on encode. `payload` is the APDU (or the
 * network-layer message data after type/vendor id).
 */
typedef struct bacsc_npdu {
    bool network_msg;          /* control bit 7 */
    bool expecting_reply;      /* control bit 2 */
    uint8_t priority;          /* 0..3 */
    bool has_dnet;
    uint16_t dnet;             /* 1..65535 (0xFFFF = global broadcast) */
    uint8_t dlen;              /* 0 = broadcast on dnet */
    const uint8_t *dadr;
    uint8_t hop_count;         /* present iff has_dnet */
    bool has_snet;
    uint16_t snet;             /* 1..65534 */
    uint8_t slen;              /* 1..255 */
    const uint8_t *sadr;
    uint8_t msg_type;          /* iff network_msg */
    uint16_t vendor_id;        /* iff network_msg && msg_type >= 0x80 */
    const uint8_t *payload;
    size_t payload_len;
} bacsc_npdu;

/* Zero `n` and set the defaults of a local APDU: no addresses, normal
 * priority, hop count 255 (used only when has_dnet is later set). */
void bacsc_npdu_init(bacsc_npdu *n, bool expecting_reply);

/*
 * Decode the NPDU of `len` octets at buf. Fills `n` (payload = the rest of
 * the input after the header). Returns the header length or
 * BACSC_ERR_MALFORMED.
 */
int bacsc_npdu_decode(const uint8_t *buf, size_t len, bacsc_npdu *n);

/* Encode only the NPDU header (the caller appends the APDU). Returns the
 * header length, BACSC_ERR_BUFFER_TOO_SMALL, or BACSC_ERR_INVALID_ARG
 * (priority > 3, SNET 0/0xFFFF, SLEN 0, DNET 0, address pointer NULL with a
 * non-zero length). buf == NULL returns the size. */
int bacsc_npdu_encode_header(uint8_t *buf, size_t cap, const bacsc_npdu *n);

/* Encode header plus `n->payload` (copied). Returns the total length. */
int bacsc_npdu_encode(uint8_t *buf, size_t cap, const bacsc_npdu *n);

/* The control octet `n` encodes to. */
uint8_t bacsc_npdu_control(const bacsc_npdu *n);

/* Name of a network-layer message type ("Who-Is-Router-To-Network") or NULL. */
const char *bacsc_network_msg_name(uint8_t type);

#ifdef __cplusplus
}
#endif
#endif
