/*
 * bacsc/services.h — BACnet service request/ACK payloads (ASHRAE 135
 * clauses 13–16, 21): Who-Is, I-Am, ReadProperty, ReadPropertyMultiple,
 * WriteProperty, AtomicReadFile, AtomicWriteFile, ReinitializeDevice, and the
 * Error PDU payload.
 *
 * Pure functions, no allocation (see tags.h for the shared conventions).
 * Each function works on the service data only — the octets after the APDU
 * header (bacsc_apdu.data/data_len).
 *
 * Malformed-input policy: every decoder returns BACSC_ERR_MALFORMED for
 * input that is not exactly one valid encoding of the service, and fills
 * `fault` (may be NULL) with the Reject a server answers:
 *   missing-required-parameter  input ends before a required item
 *   invalid-tag                 an item has the wrong tag (number/class), a
 *                               tag is malformed, or opening/closing tags are
 *                               not properly nested
 *   invalid-parameter-data-type a value is of the wrong application type
 *   parameter-out-of-range      a value is outside its range (e.g. priority
 *                               0 or > 16, Who-Is limit > 4194303)
 *   too-many-arguments          octets remain after the last item
 *   undefined-enumeration       an enumerated value the service defines a
 *                               closed set for is outside it (reinit state)
 * Decoders of ACKs fill `fault` the same way although a client answers an
 * ACK it cannot decode with an Abort (or drops it); the reason still names
 * the problem.
 *
 * Encoders validate their inputs (BACSC_ERR_INVALID_ARG: instance > 4194303,
 * type > 1023, property > 16777215, priority outside 1..16, ...).
 */
#ifndef BACSC_SERVICES_H
#define BACSC_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/apdu.h"
#include "bacsc/tags.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Who-Is / I-Am --------------------------------------------------------- */

/* Who-Is: [0] low limit, [1] high limit, both or neither (0..4194303). */
typedef struct bacsc_whois {
    bool has_range;
    uint32_t low;
    uint32_t high;
} bacsc_whois;

int bacsc_whois_encode(uint8_t *buf, size_t cap, const bacsc_whois *w);
int bacsc_whois_decode(const uint8_t *buf, size_t len, bacsc_whois *w, bacsc_fault *fault);
/* True if `instance` is addressed by `w`. */
bool bacsc_whois_matches(const bacsc_whois *w, uint32_t instance);

/* I-Am: application-tagged device ObjectIdentifier, Unsigned max APDU,
 * Enumerated segmentation (0..3), Unsigned vendor id (0..65535). */
typedef struct bacsc_iam {
    bacsc_object_id device;      /* type must be device (8) */
    uint32_t max_apdu;           /* octets */
    uint8_t segmentation;        /* enum bacsc_segmentation */
    uint16_t vendor_id;
} bacsc_iam;

int bacsc_iam_encode(uint8_t *buf, size_t cap, const bacsc_iam *iam);
int bacsc_iam_decode(const uint8_t *buf, size_t len, bacsc_iam *iam, bacsc_fault *fault);

/* ---- ReadProperty ---------------------------------------------------------- */

/* ReadProperty-Request: [0] objectIdentifier, [1] propertyIdentifier,
 * [2] propertyArrayIndex OPTIONAL. */
typedef struct bacsc_rp_request {
    bacsc_object_id object;
    uint32_t property;
    bool has_index;
    uint32_t index;
} bacsc_rp_request;

int bacsc_rp_request_encode(uint8_t *buf, size_t cap, const bacsc_rp_request *rp);
int bacsc_rp_request_decode(const uint8_t *buf, size_t len, bacsc_rp_request *rp,
                            bacsc_fault *fault);

/* ReadProperty-ACK: the request's fields plus [3] propertyValue: `value`
 * points at the octets between opening and closing tag 3 (the encoded value,
 * possibly several application-tagged items or constructed data). */
typedef struct bacsc_rp_ack {
    bacsc_object_id object;
    uint32_t property;
    bool has_index;
    uint32_t index;
    const uint8_t *value;
    size_t value_len;
} bacsc_rp_ack;

int bacsc_rp_ack_encode(uint8_t *buf, size_t cap, const bacsc_rp_ack *ack);
int bacsc_rp_ack_decode(const uint8_t *buf, size_t len, bacsc_rp_ack *ack, bacsc_fault *fault);

/* Decode up to `max` application-tagged values of a property value (e.g.
 * rp_ack.value) into `out`. Returns the number of values, or
 * BACSC_ERR_MALFORMED (a malformed item, or a context/constructed item —
 * use bacsc_value_iter for those), BACSC_ERR_LIMIT when there are more than
 * `max` values. */
int bacsc_values_decode(const uint8_t *buf, size_t len, bacsc_value *out, size_t max);

/* ---- ReadPropertyMultiple -------------------------------------------------- */

/* One BACnetPropertyReference of a request. */
typedef struct bacsc_rpm_ref {
    uint32_t property;
    bool has_index;
    uint32_t index;
} bacsc_rpm_ref;

/* One result of a ReadPropertyMultiple-ACK (BACnetReadAccessResult
 * element): either a value (octets between tags [4]) or an error. */
typedef struct bacsc_rpm_result {
    uint32_t property;
    bool has_index;
    uint32_t index;
    bool is_error;
    const uint8_t *value;
    size_t value_len;
    uint16_t error_class;
    uint16_t error_code;
} bacsc_rpm_result;

/*
 * Iterator over an RPM request (list of ReadAccessSpecification) or ACK
 * (list of ReadAccessResult), without allocation:
 *
 *   bacsc_rpm_iter it;
 *   bacsc_rpm_iter_init(&it, data, len, false);          // request
 *   while ((rc = bacsc_rpm_next_object(&it, &oid, &f)) == 1)
 *       while ((rc = bacsc_rpm_next_ref(&it, &ref, &f)) == 1)
 *           ...;
 *   if (rc < 0) reject with f.reason
 *
 * next_object() returns 1 (an object; its list is now open), 0 (no more
 * objects: the input is fully consumed), or BACSC_ERR_MALFORMED. It skips
 * any references left unread in the previous object's list.
 * next_ref()/next_result() return 1 (an item), 0 (end of this object's list;
 * the closing tag is consumed), or BACSC_ERR_MALFORMED. An empty input or an
 * object with an empty list of references is malformed in a request
 * (missing-required-parameter); an ACK may have an empty result list.
 * bacsc_rpm_validate() runs the whole iteration once (a server calls it before
 * acting on any part of a request) and returns the number of references /
 * results or BACSC_ERR_MALFORMED.
 */
typedef struct bacsc_rpm_iter {
    const uint8_t *p;
    size_t left;
    size_t total;              /* input length, for fault offsets */
    bool ack;
    bool in_list;
    unsigned in_list_count;
} bacsc_rpm_iter;

void bacsc_rpm_iter_init(bacsc_rpm_iter *it, const uint8_t *buf, size_t len, bool ack);
int bacsc_rpm_next_object(bacsc_rpm_iter *it, bacsc_object_id *object, bacsc_fault *fault);
int bacsc_rpm_next_ref(bacsc_rpm_iter *it, bacsc_rpm_ref *ref, bacsc_fault *fault);
int bacsc_rpm_next_result(bacsc_rpm_iter *it, bacsc_rpm_result *res, bacsc_fault *fault);
int bacsc_rpm_validate(const uint8_t *buf, size_t len, bool ack, bacsc_fault *fault);

/* Encoding, piece by piece, into consecutive positions of one buffer:
 *   object_begin  [0] objectIdentifier, opening tag [1]
 *   ref           [0] property, [1] index OPTIONAL              (request)
 *   result        [2] property, [3] index OPTIONAL, then [4] value or
 *                 [5] { Enumerated class, Enumerated code }     (ACK)
 *   object_end    closing tag [1]
 * The same object_begin/object_end serve requests and ACKs. */
int bacsc_rpm_encode_object_begin(uint8_t *buf, size_t cap, const bacsc_object_id *object);
int bacsc_rpm_encode_ref(uint8_t *buf, size_t cap, const bacsc_rpm_ref *ref);
int bacsc_rpm_encode_result(uint8_t *buf, size_t cap, const bacsc_rpm_result *res);
int bacsc_rpm_encode_object_end(uint8_t *buf, size_t cap);

/* ---- WriteProperty --------------------------------------------------------- */

/* WriteProperty-Request: [0] object, [1] property, [2] index OPTIONAL,
 * [3] value (octets between the tags), [4] priority OPTIONAL (1..16). */
typedef struct bacsc_wp_request {
    bacsc_object_id object;
    uint32_t property;
    bool has_index;
    uint32_t index;
    const uint8_t *value;
    size_t value_len;
    bool has_priority;
    uint8_t priority;
} bacsc_wp_request;

int bacsc_wp_request_encode(uint8_t *buf, size_t cap, const bacsc_wp_request *wp);
int bacsc_wp_request_decode(const uint8_t *buf, size_t len, bacsc_wp_request *wp,
                            bacsc_fault *fault);

/* ---- AtomicReadFile / AtomicWriteFile -------------------------------------- */

enum bacsc_file_access {
    BACSC_FILE_STREAM = 0,     /* context tag [0] */
    BACSC_FILE_RECORD = 1      /* context tag [1] */
};

/* AtomicReadFile-Request: File ObjectIdentifier, then
 *  stream [0] { Signed fileStartPosition, Unsigned requestedOctetCount } or
 *  record [1] { Signed fileStartRecord, Unsigned requestedRecordCount }. */
typedef struct bacsc_arf_request {
    bacsc_object_id file;
    uint8_t access;            /* enum bacsc_file_access */
    int32_t start;             /* position or record */
    uint32_t count;            /* octets or records */
} bacsc_arf_request;

int bacsc_arf_request_encode(uint8_t *buf, size_t cap, const bacsc_arf_request *r);
int bacsc_arf_request_decode(const uint8_t *buf, size_t len, bacsc_arf_request *r,
                             bacsc_fault *fault);

/* AtomicReadFile-ACK: Boolean endOfFile, then
 *  stream [0] { Signed fileStartPosition, OctetString fileData } or
 *  record [1] { Signed fileStartRecord, Unsigned returnedRecordCount,
 *               SEQUENCE OF OctetString fileRecordData }.
 * For stream access `data` is the file data; for record access `data` is the
 * encoded sequence of OctetStrings (walk it with bacsc_records_next()) and
 * `count` their number (checked against the sequence on decode). */
typedef struct bacsc_arf_ack {
    bool end_of_file;
    uint8_t access;
    int32_t start;
    uint32_t count;            /* record access: returnedRecordCount */
    const uint8_t *data;
    size_t data_len;
} bacsc_arf_ack;

int bacsc_arf_ack_encode(uint8_t *buf, size_t cap, const bacsc_arf_ack *a);
int bacsc_arf_ack_decode(const uint8_t *buf, size_t len, bacsc_arf_ack *a, bacsc_fault *fault);

/* AtomicWriteFile-Request: File ObjectIdentifier, then
 *  stream [0] { Signed fileStartPosition, OctetString fileData } or
 *  record [1] { Signed fileStartRecord, Unsigned recordCount,
 *               SEQUENCE OF OctetString fileRecordData }.
 * `data` as in bacsc_arf_ack. */
typedef struct bacsc_awf_request {
    bacsc_object_id file;
    uint8_t access;
    int32_t start;
    uint32_t count;            /* record access: recordCount */
    const uint8_t *data;
    size_t data_len;
} bacsc_awf_request;

int bacsc_awf_request_encode(uint8_t *buf, size_t cap, const bacsc_awf_request *r);
int bacsc_awf_request_decode(const uint8_t *buf, size_t len, bacsc_awf_request *r,
                             bacsc_fault *fault);

/* AtomicWriteFile-ACK: [0] Signed fileStartPosition or [1] Signed
 * fileStartRecord (context-tagged primitives). */
typedef struct bacsc_awf_ack {
    uint8_t access;
    int32_t start;
} bacsc_awf_ack;

int bacsc_awf_ack_encode(uint8_t *buf, size_t cap, const bacsc_awf_ack *a);
int bacsc_awf_ack_decode(const uint8_t *buf, size_t len, bacsc_awf_ack *a, bacsc_fault *fault);

/* Record data helpers: encode `n` records as a sequence of application
 * OctetStrings; walk such a sequence (returns 1 with *rec set, 0 at the end,
 * BACSC_ERR_MALFORMED). */
int bacsc_records_encode(uint8_t *buf, size_t cap, const bacsc_octets *records, size_t n);
int bacsc_records_next(const uint8_t **p, size_t *left, bacsc_octets *rec);

/* ---- ReinitializeDevice ---------------------------------------------------- */

enum bacsc_reinit_state {
    BACSC_REINIT_COLDSTART = 0,
    BACSC_REINIT_WARMSTART = 1,
    BACSC_REINIT_START_BACKUP = 2,
    BACSC_REINIT_END_BACKUP = 3,
    BACSC_REINIT_START_RESTORE = 4,
    BACSC_REINIT_END_RESTORE = 5,
    BACSC_REINIT_ABORT_RESTORE = 6,
    BACSC_REINIT_ACTIVATE_CHANGES = 7
};
#define BACSC_REINIT_PASSWORD_MAX 20   /* characters */

/* ReinitializeDevice-Request: [0] Enumerated state, [1] CharacterString
 * password OPTIONAL. The password is kept as received (any charset;
 * `password.charset` says which). Decode rejects a state > 7 (undefined-
 * enumeration); the 1..20-character limit is left to the server, which
 * answers Error(security, password-failure). */
typedef struct bacsc_reinit_request {
    uint8_t state;             /* enum bacsc_reinit_state */
    bool has_password;
    bacsc_charstring password;
} bacsc_reinit_request;

int bacsc_reinit_request_encode(uint8_t *buf, size_t cap, const bacsc_reinit_request *r);
int bacsc_reinit_request_decode(const uint8_t *buf, size_t len, bacsc_reinit_request *r,
                                bacsc_fault *fault);
const char *bacsc_reinit_state_name(uint8_t state);  /* "activate-changes" or NULL */
int bacsc_reinit_state_parse(const char *s, uint8_t *state);

/* ---- DeviceCommunicationControl -------------------------------------------- */

enum bacsc_dcc_state { BACSC_DCC_ENABLE = 0, BACSC_DCC_DISABLE = 1, BACSC_DCC_DISABLE_INITIATION = 2 };

/* DeviceCommunicationControl-Request: [0] timeDuration Unsigned16 (minutes)
 * OPTIONAL, [1] enable-disable Enumerated (0..2, else undefined-enumeration),
 * [2] password CharacterString OPTIONAL (kept as received, as for
 * ReinitializeDevice). */
typedef struct bacsc_dcc_request {
    bool has_duration;
    uint16_t duration_min;
    uint8_t state;             /* enum bacsc_dcc_state */
    bool has_password;
    bacsc_charstring password;
} bacsc_dcc_request;

int bacsc_dcc_request_encode(uint8_t *buf, size_t cap, const bacsc_dcc_request *r);
int bacsc_dcc_request_decode(const uint8_t *buf, size_t len, bacsc_dcc_request *r,
                             bacsc_fault *fault);

/* ---- Who-Has / I-Have -------------------------------------------------------- */

/* Who-Has-Request: optional limits ([0] low, [1] high, both or neither),
 * then the object by [2] objectIdentifier or by [3] objectName. */
typedef struct bacsc_whohas {
    bool has_range;
    uint32_t low;
    uint32_t high;
    bool by_name;              /* else by identifier */
    bacsc_object_id object;
    bacsc_charstring name;
} bacsc_whohas;

int bacsc_whohas_encode(uint8_t *buf, size_t cap, const bacsc_whohas *w);
int bacsc_whohas_decode(const uint8_t *buf, size_t len, bacsc_whohas *w, bacsc_fault *fault);

/* I-Have-Request: application-tagged device identifier, object
 * identifier, object name. */
typedef struct bacsc_ihave {
    bacsc_object_id device;
    bacsc_object_id object;
    bacsc_charstring name;
} bacsc_ihave;

int bacsc_ihave_encode(uint8_t *buf, size_t cap, const bacsc_ihave *h);
int bacsc_ihave_decode(const uint8_t *buf, size_t len, bacsc_ihave *h, bacsc_fault *fault);

/* ---- Error PDU payload ----------------------------------------------------- */

/*
 * The Error PDU data. Plain form (most services):
 *   Enumerated error-class, Enumerated error-code
 * Complex form (e.g. CreateObject-Error, WritePropertyMultiple-Error,
 * AddListElement-Error, ConfirmedPrivateTransfer-Error, SubscribeCOVPropertyMultiple-Error):
 *   [0] { Enumerated error-class, Enumerated error-code } followed by
 *   service-specific items (e.g. [1] firstFailedElementNumber) — `extra`.
 * Decoding accepts both; `complex` says which was seen.
 */
typedef struct bacsc_error {
    uint16_t error_class;
    uint16_t error_code;
    bool complex;
    const uint8_t *extra;      /* complex: the octets after closing tag [0] */
    size_t extra_len;
} bacsc_error;

/* Encodes the plain form, or, if e->complex, [0]{class, code} + extra. */
int bacsc_error_encode(uint8_t *buf, size_t cap, const bacsc_error *e);
int bacsc_error_decode(const uint8_t *buf, size_t len, bacsc_error *e, bacsc_fault *fault);

/* True if confirmed service `service` answers errors in the complex form
 * (bacsc_error.complex) per the standard. */
bool bacsc_service_has_complex_error(uint8_t service);

/* ---- Whole messages -------------------------------------------------------- */

/*
 * Encode a complete NPDU-less APDU for a service in one call: header + the
 * payload already encoded in `payload` (copied). Thin wrappers over
 * bacsc_apdu_encode(), for readability at call sites. Return total length.
 */
int bacsc_encode_confirmed(uint8_t *buf, size_t cap, uint8_t service, uint8_t invoke_id,
                           uint8_t max_apdu_code, const uint8_t *payload, size_t payload_len);
int bacsc_encode_unconfirmed(uint8_t *buf, size_t cap, uint8_t service,
                             const uint8_t *payload, size_t payload_len);
int bacsc_encode_complex_ack(uint8_t *buf, size_t cap, uint8_t service, uint8_t invoke_id,
                             const uint8_t *payload, size_t payload_len);

#ifdef __cplusplus
}
#endif
#endif
