/*
 * bacsc/bvlc.h — BVLC-SC message codec (ASHRAE 135 Annex AB).
 *
 * Pure functions over byte buffers: no allocation, no I/O, no clock.
 *
 * Decoding fills a bacsc_bvlc_msg whose variable parts (options' data,
 * payloads, URIs, error details, the NPDU) point into the caller's input
 * buffer, which must outlive the message. Every malformed input is rejected
 * with the BACnet error code the standard uses (class COMMUNICATION) and, for
 * header-option errors, the offending option's marker octet, so a transport
 * can answer with a precise BVLC-Result NAK.
 *
 * Encoding writes into a caller's buffer; bacsc_bvlc_encoded_size() reports
 * the exact size first. The control octet is derived from the message
 * (has_orig, has_dest, option counts); the "more options" bit of each marker
 * is recomputed from the option's position in its list.
 *
 * All multi-octet fields are big-endian on the wire.
 */
#ifndef BACSC_BVLC_H
#define BACSC_BVLC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/error_code.h"
#include "bacsc/uuid.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_VMAC_LEN 6
#define BACSC_BVLC_HEADER_MIN 4          /* Function, Control, Message-ID */
#define BACSC_BVLC_MAX_OPTIONS 16        /* per option list; more is rejected (145) */

/* BVLC-SC functions. */
enum bacsc_bvlc_function {
    BACSC_BVLC_RESULT = 0x00,
    BACSC_BVLC_ENCAPSULATED_NPDU = 0x01,
    BACSC_BVLC_ADDRESS_RESOLUTION = 0x02,
    BACSC_BVLC_ADDRESS_RESOLUTION_ACK = 0x03,
    BACSC_BVLC_ADVERTISEMENT = 0x04,
    BACSC_BVLC_ADVERTISEMENT_SOLICITATION = 0x05,
    BACSC_BVLC_CONNECT_REQUEST = 0x06,
    BACSC_BVLC_CONNECT_ACCEPT = 0x07,
    BACSC_BVLC_DISCONNECT_REQUEST = 0x08,
    BACSC_BVLC_DISCONNECT_ACK = 0x09,
    BACSC_BVLC_HEARTBEAT_REQUEST = 0x0A,
    BACSC_BVLC_HEARTBEAT_ACK = 0x0B,
    BACSC_BVLC_PROPRIETARY_MESSAGE = 0x0C
};
#define BACSC_BVLC_FUNCTION_COUNT 13

/* Control octet flags. */
#define BACSC_BVLC_CTRL_ORIG_VMAC 0x08
#define BACSC_BVLC_CTRL_DEST_VMAC 0x04
#define BACSC_BVLC_CTRL_DEST_OPTIONS 0x02
#define BACSC_BVLC_CTRL_DATA_OPTIONS 0x01
#define BACSC_BVLC_CTRL_RESERVED 0xF0

/* Header option marker bits and types. */
#define BACSC_OPT_MORE 0x80
#define BACSC_OPT_MUST_UNDERSTAND 0x40
#define BACSC_OPT_HAS_DATA 0x20
#define BACSC_OPT_TYPE_MASK 0x1F
#define BACSC_OPT_SECURE_PATH 1
#define BACSC_OPT_PROPRIETARY 31

/* BVLC-Result codes. */
#define BACSC_RESULT_ACK 0
#define BACSC_RESULT_NAK 1

/* Hub-Connection-Status values (Advertisement). */
#define BACSC_HUB_STATUS_NONE 0
#define BACSC_HUB_STATUS_PRIMARY 1
#define BACSC_HUB_STATUS_FAILOVER 2


typedef struct bacsc_vmac {
    uint8_t b[BACSC_VMAC_LEN];
} bacsc_vmac;

extern const bacsc_vmac BACSC_VMAC_BROADCAST; /* FF:FF:FF:FF:FF:FF */
extern const bacsc_vmac BACSC_VMAC_UNKNOWN;   /* 00:00:00:00:00:00 */

/* One header option. On decode all fields are filled; on encode only
 * `type`, `must_understand`, `has_data` and `data`/`data_len` are read
 * (for a Proprietary option the caller may instead fill vendor_id,
 * proprietary_type and proprietary_data/len and leave data NULL; the
 * encoder then builds the data). */
typedef struct bacsc_bvlc_option {
    uint8_t marker;           /* marker octet as received (decode only) */
    uint8_t type;             /* 1..31 */
    bool must_understand;
    bool has_data;
    const uint8_t *data;      /* header data after the 2-octet Length */
    uint16_t data_len;
    /* Proprietary (type 31) only: */
    uint16_t vendor_id;
    uint8_t proprietary_type;
    const uint8_t *proprietary_data;
    uint16_t proprietary_len;
} bacsc_bvlc_option;

typedef struct bacsc_bvlc_result {
    uint8_t result_for;       /* the BVLC function this result answers */
    uint8_t result_code;      /* BACSC_RESULT_ACK or BACSC_RESULT_NAK */
    /* NAK only: */
    uint8_t error_marker;     /* 0, or the marker of the offending header option */
    uint16_t error_class;
    uint16_t error_code;
    const uint8_t *details;   /* UTF-8, not terminated; may be empty */
    size_t details_len;
} bacsc_bvlc_result;

/* Connect-Request and Connect-Accept share this layout. */
typedef struct bacsc_bvlc_connect {
    bacsc_vmac vmac;
    bacsc_uuid uuid;
    uint16_t max_bvlc_len;
    uint16_t max_npdu_len;
} bacsc_bvlc_connect;

typedef struct bacsc_bvlc_advertisement {
    uint8_t hub_status;       /* BACSC_HUB_STATUS_* */
    uint8_t accept_direct;    /* 0 or 1 */
    uint16_t max_bvlc_len;
    uint16_t max_npdu_len;
} bacsc_bvlc_advertisement;

typedef struct bacsc_bvlc_proprietary {
    uint16_t vendor_id;
    uint8_t function;
    const uint8_t *data;
    size_t data_len;
} bacsc_bvlc_proprietary;

typedef struct bacsc_bvlc_msg {
    uint8_t function;         /* enum bacsc_bvlc_function */
    uint8_t control;          /* as received (decode only) */
    uint16_t message_id;
    bool has_orig;
    bool has_dest;
    bacsc_vmac orig;
    bacsc_vmac dest;
    uint8_t n_dest_options;
    uint8_t n_data_options;
    bacsc_bvlc_option dest_options[BACSC_BVLC_MAX_OPTIONS];
    bacsc_bvlc_option data_options[BACSC_BVLC_MAX_OPTIONS];
    /* Raw payload (everything after the header); always set on decode.
     * On encode it is used for ENCAPSULATED_NPDU (the NPDU) and
     * ADDRESS_RESOLUTION_ACK (the space-separated URIs); other functions
     * are encoded from the typed union below. */
    const uint8_t *payload;
    size_t payload_len;
    union {
        bacsc_bvlc_result result;
        bacsc_bvlc_connect connect;              /* CONNECT_REQUEST, CONNECT_ACCEPT */
        bacsc_bvlc_advertisement advertisement;
        bacsc_bvlc_proprietary proprietary;
    } u;
    /* Decode only: the first must-understand header option (destination list
     * first, then data list) that bacsc does not understand, i.e. any type
     * other than Secure-Path in the data-option list. 0 when none. The message
     * is otherwise well formed; a receiver that is the destination answers
     * with a NAK 146 naming this marker. */
    uint8_t not_understood_marker;
} bacsc_bvlc_msg;

/* Why a decode failed. */
typedef struct bacsc_bvlc_error {
    uint16_t error_code;      /* BACSC_EC_* (143, 145, 147, 149, 150) */
    uint8_t marker;           /* offending header option marker, else 0 */
    size_t offset;            /* octet offset in the input where the problem is */
    const char *reason;       /* constant one-line English description */
} bacsc_bvlc_error;

/*
 * Decode one BVLC-SC message of `len` octets at `buf` into `msg`.
 * Returns BACSC_OK, or BACSC_ERR_MALFORMED with `err` (may be NULL) filled.
 * An unknown function is BACSC_ERR_MALFORMED with error code 143; `msg`
 * still has function, control and message_id set (when at least 4 octets
 * were present) so the caller can NAK it with the right Message-ID.
 * Only the union member of the decoded function is written (the others keep
 * their previous contents). The decoder checks the layout only; placement
 * rules (e.g. VMACs on Connect-Request, data options on functions other than
 * Encapsulated-NPDU) are left to the caller. Error codes, markers and offsets
 * per malformed case: docs/bvlc-sc.md.
 */
int bacsc_bvlc_decode(const uint8_t *buf, size_t len, bacsc_bvlc_msg *msg,
                      bacsc_bvlc_error *err);

/* Exact number of octets bacsc_bvlc_encode() will write for `msg`, or a
 * negative BACSC_ERR_INVALID_ARG if the message cannot be encoded (e.g. an
 * option count above BACSC_BVLC_MAX_OPTIONS, a proprietary option shorter than
 * 3 octets, a field out of range). */
int bacsc_bvlc_encoded_size(const bacsc_bvlc_msg *msg);

/* Encode `msg` into `out` (capacity `cap`). Returns the number of octets
 * written, BACSC_ERR_BUFFER_TOO_SMALL, or BACSC_ERR_INVALID_ARG. */
int bacsc_bvlc_encode(const bacsc_bvlc_msg *msg, uint8_t *out, size_t cap);

/* Convenience initialisers: zero `msg` and set function and message id. */
void bacsc_bvlc_init(bacsc_bvlc_msg *msg, uint8_t function, uint16_t message_id);

/* Build a BVLC-Result NAK answering `request_function`/`message_id`. */
void bacsc_bvlc_make_nak(bacsc_bvlc_msg *msg, uint8_t request_function, uint16_t message_id,
                         uint8_t error_marker, uint16_t error_code, const char *details);

/*
 * Hub forwarding rewrites, in place on an encoded message of `*len` octets
 * in a buffer of capacity `cap`. The message must have been validated by
 * bacsc_bvlc_decode() first.
 *
 * bacsc_bvlc_rewrite_unicast(): set the Originating VMAC to `orig` and remove
 * the Destination VMAC (the form a node receives a unicast relayed by a hub).
 * bacsc_bvlc_rewrite_broadcast(): set the Originating VMAC to `orig` and keep
 * the (broadcast) Destination VMAC.
 *
 * Both return BACSC_OK with *len updated, or BACSC_ERR_BUFFER_TOO_SMALL when
 * growing the header by 6 octets does not fit `cap`.
 */
int bacsc_bvlc_rewrite_unicast(uint8_t *buf, size_t *len, size_t cap, const bacsc_vmac *orig);
int bacsc_bvlc_rewrite_broadcast(uint8_t *buf, size_t *len, size_t cap, const bacsc_vmac *orig);

/* Names for printing. Unknown values give "unknown". */
const char *bacsc_bvlc_function_name(uint8_t function);    /* "Encapsulated-NPDU" */
const char *bacsc_sc_error_name(uint16_t error_code);      /* "node-duplicate-vmac" */

/* Helpers. */
bool bacsc_vmac_equal(const bacsc_vmac *a, const bacsc_vmac *b);
bool bacsc_vmac_is_broadcast(const bacsc_vmac *v);
/* Format as "aa:bb:cc:dd:ee:ff" into buf (at least 18 octets). */
char *bacsc_vmac_format(const bacsc_vmac *v, char *buf);
/* Parse "aabbccddeeff" or "aa:bb:cc:dd:ee:ff". Returns BACSC_OK or BACSC_ERR_MALFORMED. */
int bacsc_vmac_parse(const char *s, bacsc_vmac *v);

#ifdef __cplusplus
}
#endif
#endif
