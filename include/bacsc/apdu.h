/*
 * bacsc/apdu.h — BACnet APDU headers (ASHRAE 135 clause 20.1) and the
 * application-layer enumerations: services, object types, property
 * identifiers, error classes/codes, reject and abort reasons, with names.
 *
 * Pure functions, no allocation (see tags.h for the shared conventions).
 *
 * PDU layouts (octet 0 high nibble = PDU type):
 *   0 Confirmed-Request  [0|SEG|MOR|SA|0] [0|max-segs(3)|max-apdu(4)] invoke-id
 *                        [sequence-number proposed-window-size]  service-choice  request...
 *   1 Unconfirmed-Request [1|0000] service-choice request...
 *   2 SimpleACK          [2|0000] invoke-id service-ack-choice
 *   3 ComplexACK         [3|SEG|MOR|00] invoke-id [sequence-number proposed-window-size]
 *                        service-ack-choice ack...
 *   4 SegmentACK         [4|00|NAK|SRV] invoke-id sequence-number actual-window-size
 *   5 Error              [5|0000] invoke-id error-choice error...
 *   6 Reject             [6|0000] invoke-id reject-reason
 *   7 Abort              [7|000|SRV] invoke-id abort-reason
 *
 * Malformed-input policy: bacsc_apdu_decode() returns BACSC_ERR_MALFORMED
 * for truncation, reserved bits set, an unknown PDU type (8..15), a reserved
 * max-APDU code (6..15), a window size outside 1..127, and data after a PDU
 * that carries none (SimpleACK, SegmentACK, Reject, Abort). When the PDU is a
 * Confirmed-Request whose header got as far as the invoke id, `fault` tells
 * what a server answers (see bacsc_fault); otherwise a server drops it.
 */
#ifndef BACSC_APDU_H
#define BACSC_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/error_code.h"

#ifdef __cplusplus
extern "C" {
#endif

enum bacsc_pdu_type {
    BACSC_PDU_CONFIRMED_REQUEST = 0,
    BACSC_PDU_UNCONFIRMED_REQUEST = 1,
    BACSC_PDU_SIMPLE_ACK = 2,
    BACSC_PDU_COMPLEX_ACK = 3,
    BACSC_PDU_SEGMENT_ACK = 4,
    BACSC_PDU_ERROR = 5,
    BACSC_PDU_REJECT = 6,
    BACSC_PDU_ABORT = 7
};

/* Confirmed service choices (BACnetConfirmedServiceChoice). */
enum bacsc_confirmed_service {
    BACSC_SERVICE_ACKNOWLEDGE_ALARM = 0,
    BACSC_SERVICE_CONFIRMED_COV_NOTIFICATION = 1,
    BACSC_SERVICE_CONFIRMED_EVENT_NOTIFICATION = 2,
    BACSC_SERVICE_GET_ALARM_SUMMARY = 3,
    BACSC_SERVICE_GET_ENROLLMENT_SUMMARY = 4,
    BACSC_SERVICE_SUBSCRIBE_COV = 5,
    BACSC_SERVICE_ATOMIC_READ_FILE = 6,
    BACSC_SERVICE_ATOMIC_WRITE_FILE = 7,
    BACSC_SERVICE_ADD_LIST_ELEMENT = 8,
    BACSC_SERVICE_REMOVE_LIST_ELEMENT = 9,
    BACSC_SERVICE_CREATE_OBJECT = 10,
    BACSC_SERVICE_DELETE_OBJECT = 11,
    BACSC_SERVICE_READ_PROPERTY = 12,
    BACSC_SERVICE_READ_PROPERTY_CONDITIONAL = 13,
    BACSC_SERVICE_READ_PROPERTY_MULTIPLE = 14,
    BACSC_SERVICE_WRITE_PROPERTY = 15,
    BACSC_SERVICE_WRITE_PROPERTY_MULTIPLE = 16,
    BACSC_SERVICE_DEVICE_COMMUNICATION_CONTROL = 17,
    BACSC_SERVICE_CONFIRMED_PRIVATE_TRANSFER = 18,
    BACSC_SERVICE_CONFIRMED_TEXT_MESSAGE = 19,
    BACSC_SERVICE_REINITIALIZE_DEVICE = 20,
    BACSC_SERVICE_VT_OPEN = 21,
    BACSC_SERVICE_VT_CLOSE = 22,
    BACSC_SERVICE_VT_DATA = 23,
    BACSC_SERVICE_AUTHENTICATE = 24,
    BACSC_SERVICE_REQUEST_KEY = 25,
    BACSC_SERVICE_READ_RANGE = 26,
    BACSC_SERVICE_LIFE_SAFETY_OPERATION = 27,
    BACSC_SERVICE_SUBSCRIBE_COV_PROPERTY = 28,
    BACSC_SERVICE_GET_EVENT_INFORMATION = 29,
    BACSC_SERVICE_SUBSCRIBE_COV_PROPERTY_MULTIPLE = 30,
    BACSC_SERVICE_CONFIRMED_COV_NOTIFICATION_MULTIPLE = 31,
    BACSC_SERVICE_CONFIRMED_AUDIT_NOTIFICATION = 32,
    BACSC_SERVICE_AUDIT_LOG_QUERY = 33
};
#define BACSC_CONFIRMED_SERVICE_COUNT 34

/* Unconfirmed service choices (BACnetUnconfirmedServiceChoice). */
enum bacsc_unconfirmed_service {
    BACSC_SERVICE_I_AM = 0,
    BACSC_SERVICE_I_HAVE = 1,
    BACSC_SERVICE_UNCONFIRMED_COV_NOTIFICATION = 2,
    BACSC_SERVICE_UNCONFIRMED_EVENT_NOTIFICATION = 3,
    BACSC_SERVICE_UNCONFIRMED_PRIVATE_TRANSFER = 4,
    BACSC_SERVICE_UNCONFIRMED_TEXT_MESSAGE = 5,
    BACSC_SERVICE_TIME_SYNCHRONIZATION = 6,
    BACSC_SERVICE_WHO_HAS = 7,
    BACSC_SERVICE_WHO_IS = 8,
    BACSC_SERVICE_UTC_TIME_SYNCHRONIZATION = 9,
    BACSC_SERVICE_WRITE_GROUP = 10,
    BACSC_SERVICE_UNCONFIRMED_COV_NOTIFICATION_MULTIPLE = 11,
    BACSC_SERVICE_UNCONFIRMED_AUDIT_NOTIFICATION = 12,
    BACSC_SERVICE_WHO_AM_I = 13,
    BACSC_SERVICE_YOU_ARE = 14
};
#define BACSC_UNCONFIRMED_SERVICE_COUNT 15

/* Object types (BACnetObjectType), 0..1023; 128+ proprietary. */
enum bacsc_object_type {
    BACSC_OBJ_ANALOG_INPUT = 0,
    BACSC_OBJ_ANALOG_OUTPUT = 1,
    BACSC_OBJ_ANALOG_VALUE = 2,
    BACSC_OBJ_BINARY_INPUT = 3,
    BACSC_OBJ_BINARY_OUTPUT = 4,
    BACSC_OBJ_BINARY_VALUE = 5,
    BACSC_OBJ_CALENDAR = 6,
    BACSC_OBJ_COMMAND = 7,
    BACSC_OBJ_DEVICE = 8,
    BACSC_OBJ_EVENT_ENROLLMENT = 9,
    BACSC_OBJ_FILE = 10,
    BACSC_OBJ_GROUP = 11,
    BACSC_OBJ_LOOP = 12,
    BACSC_OBJ_MULTI_STATE_INPUT = 13,
    BACSC_OBJ_MULTI_STATE_OUTPUT = 14,
    BACSC_OBJ_NOTIFICATION_CLASS = 15,
    BACSC_OBJ_PROGRAM = 16,
    BACSC_OBJ_SCHEDULE = 17,
    BACSC_OBJ_AVERAGING = 18,
    BACSC_OBJ_MULTI_STATE_VALUE = 19,
    BACSC_OBJ_TREND_LOG = 20,
    BACSC_OBJ_NETWORK_SECURITY = 38,
    BACSC_OBJ_CHARACTERSTRING_VALUE = 40,
    BACSC_OBJ_INTEGER_VALUE = 45,
    BACSC_OBJ_OCTETSTRING_VALUE = 47,
    BACSC_OBJ_POSITIVE_INTEGER_VALUE = 48,
    BACSC_OBJ_NETWORK_PORT = 56,
    BACSC_OBJ_COLOR_TEMPERATURE = 64
};
#define BACSC_OBJECT_TYPE_PROPRIETARY_MIN 128

/* Property identifiers (BACnetPropertyIdentifier) used by bacsc; every
 * number 0..511 with a standard name is known to the name functions. */
enum bacsc_property_id {
    BACSC_PROP_ALL = 8,
    BACSC_PROP_APDU_SEGMENT_TIMEOUT = 10,
    BACSC_PROP_APDU_TIMEOUT = 11,
    BACSC_PROP_APPLICATION_SOFTWARE_VERSION = 12,
    BACSC_PROP_ARCHIVE = 13,
    BACSC_PROP_COV_INCREMENT = 22,
    BACSC_PROP_DAYLIGHT_SAVINGS_STATUS = 24,
    BACSC_PROP_DESCRIPTION = 28,
    BACSC_PROP_DEVICE_ADDRESS_BINDING = 30,
    BACSC_PROP_EVENT_STATE = 36,
    BACSC_PROP_FILE_ACCESS_METHOD = 41,
    BACSC_PROP_FILE_SIZE = 42,
    BACSC_PROP_FILE_TYPE = 43,
    BACSC_PROP_FIRMWARE_REVISION = 44,
    BACSC_PROP_LOCAL_DATE = 56,
    BACSC_PROP_LOCAL_TIME = 57,
    BACSC_PROP_LOCATION = 58,
    BACSC_PROP_MAX_APDU_LENGTH_ACCEPTED = 62,
    BACSC_PROP_MODEL_NAME = 70,
    BACSC_PROP_MODIFICATION_DATE = 71,
    BACSC_PROP_NUMBER_OF_APDU_RETRIES = 73,
    BACSC_PROP_OBJECT_IDENTIFIER = 75,
    BACSC_PROP_OBJECT_LIST = 76,
    BACSC_PROP_OBJECT_NAME = 77,
    BACSC_PROP_OBJECT_TYPE = 79,
    BACSC_PROP_OPTIONAL = 80,
    BACSC_PROP_OUT_OF_SERVICE = 81,
    BACSC_PROP_PRESENT_VALUE = 85,
    BACSC_PROP_PRIORITY_ARRAY = 87,
    BACSC_PROP_PROTOCOL_OBJECT_TYPES_SUPPORTED = 96,
    BACSC_PROP_PROTOCOL_SERVICES_SUPPORTED = 97,
    BACSC_PROP_PROTOCOL_VERSION = 98,
    BACSC_PROP_READ_ONLY = 99,
    BACSC_PROP_RELIABILITY = 103,
    BACSC_PROP_RELINQUISH_DEFAULT = 104,
    BACSC_PROP_REQUIRED = 105,
    BACSC_PROP_SEGMENTATION_SUPPORTED = 107,
    BACSC_PROP_STATUS_FLAGS = 111,
    BACSC_PROP_SYSTEM_STATUS = 112,
    BACSC_PROP_UNITS = 117,
    BACSC_PROP_UTC_OFFSET = 119,
    BACSC_PROP_VENDOR_IDENTIFIER = 120,
    BACSC_PROP_VENDOR_NAME = 121,
    BACSC_PROP_RECORD_COUNT = 141,
    BACSC_PROP_PROTOCOL_REVISION = 139,
    BACSC_PROP_DATABASE_REVISION = 155,
    BACSC_PROP_MAX_SEGMENTS_ACCEPTED = 167,
    BACSC_PROP_LAST_RESTART_REASON = 196,
    BACSC_PROP_TIME_OF_DEVICE_RESTART = 203,
    BACSC_PROP_PROPERTY_LIST = 371,
    BACSC_PROP_CURRENT_COMMAND_PRIORITY = 431,
    BACSC_PROP_SERIAL_NUMBER = 372,
    BACSC_PROP_APDU_LENGTH = 399,
    BACSC_PROP_IP_ADDRESS = 400,
    BACSC_PROP_IP_SUBNET_MASK = 411,
    BACSC_PROP_BACNET_IP_UDP_PORT = 412,
    BACSC_PROP_CHANGES_PENDING = 416,
    BACSC_PROP_COMMAND = 417,
    BACSC_PROP_LINK_SPEED = 420,
    BACSC_PROP_MAC_ADDRESS = 423,
    BACSC_PROP_NETWORK_INTERFACE_NAME = 424,
    BACSC_PROP_NETWORK_NUMBER = 425,
    BACSC_PROP_NETWORK_NUMBER_QUALITY = 426,
    BACSC_PROP_NETWORK_TYPE = 427,
    BACSC_PROP_ROUTING_TABLE = 428,
    BACSC_PROP_VIRTUAL_MAC_ADDRESS_TABLE = 429,
    BACSC_PROP_REFERENCE_PORT = 483,
    BACSC_PROP_DEVICE_UUID = 507,
    BACSC_PROP_ADDITIONAL_REFERENCE_PORTS = 508,
    BACSC_PROP_CERTIFICATE_SIGNING_REQUEST_FILE = 509,
    BACSC_PROP_COMMAND_VALIDATION_RESULT = 510,
    BACSC_PROP_ISSUER_CERTIFICATE_FILES = 511,
    BACSC_PROP_MAX_BVLC_LENGTH_ACCEPTED = 4194304,
    BACSC_PROP_MAX_NPDU_LENGTH_ACCEPTED = 4194305,
    BACSC_PROP_OPERATIONAL_CERTIFICATE_FILE = 4194306,
    BACSC_PROP_CURRENT_HEALTH = 4194307,
    BACSC_PROP_SC_CONNECT_WAIT_TIMEOUT = 4194308,
    BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_ENABLE = 4194309,
    BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_URIS = 4194310,
    BACSC_PROP_SC_DIRECT_CONNECT_BINDING = 4194311,
    BACSC_PROP_SC_DIRECT_CONNECT_CONNECTION_STATUS = 4194312,
    BACSC_PROP_SC_DIRECT_CONNECT_INITIATE_ENABLE = 4194313,
    BACSC_PROP_SC_DISCONNECT_WAIT_TIMEOUT = 4194314,
    BACSC_PROP_SC_FAILED_CONNECTION_REQUESTS = 4194315,
    BACSC_PROP_SC_FAILOVER_HUB_CONNECTION_STATUS = 4194316,
    BACSC_PROP_SC_FAILOVER_HUB_URI = 4194317,
    BACSC_PROP_SC_HUB_CONNECTOR_STATE = 4194318,
    BACSC_PROP_SC_HUB_FUNCTION_ACCEPT_URIS = 4194319,
    BACSC_PROP_SC_HUB_FUNCTION_BINDING = 4194320,
    BACSC_PROP_SC_HUB_FUNCTION_CONNECTION_STATUS = 4194321,
    BACSC_PROP_SC_HUB_FUNCTION_ENABLE = 4194322,
    BACSC_PROP_SC_HEARTBEAT_TIMEOUT = 4194323,
    BACSC_PROP_SC_PRIMARY_HUB_CONNECTION_STATUS = 4194324,
    BACSC_PROP_SC_PRIMARY_HUB_URI = 4194325,
    BACSC_PROP_SC_MAXIMUM_RECONNECT_TIME = 4194326,
    BACSC_PROP_SC_MINIMUM_RECONNECT_TIME = 4194327
};
#define BACSC_PROPERTY_MAX 0xFFFFFFu      /* largest property identifier (ASHRAE range ends at 16777215) */
#define BACSC_ARRAY_ALL 0xFFFFFFFFu       /* "no array index" marker (BACNET_ARRAY_ALL) */


/* Reject reasons (BACnetRejectReason). */
enum bacsc_reject_reason {
    BACSC_REJECT_OTHER = 0,
    BACSC_REJECT_BUFFER_OVERFLOW = 1,
    BACSC_REJECT_INCONSISTENT_PARAMETERS = 2,
    BACSC_REJECT_INVALID_PARAMETER_DATA_TYPE = 3,
    BACSC_REJECT_INVALID_TAG = 4,
    BACSC_REJECT_MISSING_REQUIRED_PARAMETER = 5,
    BACSC_REJECT_PARAMETER_OUT_OF_RANGE = 6,
    BACSC_REJECT_TOO_MANY_ARGUMENTS = 7,
    BACSC_REJECT_UNDEFINED_ENUMERATION = 8,
    BACSC_REJECT_UNRECOGNIZED_SERVICE = 9,
    BACSC_REJECT_INVALID_DATA_ENCODING = 10
};

/* Abort reasons (BACnetAbortReason). */
enum bacsc_abort_reason {
    BACSC_ABORT_OTHER = 0,
    BACSC_ABORT_BUFFER_OVERFLOW = 1,
    BACSC_ABORT_INVALID_APDU_IN_THIS_STATE = 2,
    BACSC_ABORT_PREEMPTED_BY_HIGHER_PRIORITY_TASK = 3,
    BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED = 4,
    BACSC_ABORT_SECURITY_ERROR = 5,
    BACSC_ABORT_INSUFFICIENT_SECURITY = 6,
    BACSC_ABORT_WINDOW_SIZE_OUT_OF_RANGE = 7,
    BACSC_ABORT_APPLICATION_EXCEEDED_REPLY_TIME = 8,
    BACSC_ABORT_OUT_OF_RESOURCES = 9,
    BACSC_ABORT_TSM_TIMEOUT = 10,
    BACSC_ABORT_APDU_TOO_LONG = 11
};

/* Segmentation support (BACnetSegmentation), e.g. in I-Am. */
enum bacsc_segmentation {
    BACSC_SEGMENTATION_BOTH = 0,
    BACSC_SEGMENTATION_TRANSMIT = 1,
    BACSC_SEGMENTATION_RECEIVE = 2,
    BACSC_SEGMENTATION_NONE = 3
};

/*
 * What a server answers to a request it could not decode: set by the APDU
 * and service decoders when they return BACSC_ERR_MALFORMED.
 *   kind  BACSC_FAULT_NONE (drop silently), _REJECT (send Reject with
 *         `reason`), _ABORT (send Abort with `reason`), _ERROR (send Error
 *         with error_class/error_code).
 * `what` is a constant one-line English description naming the problem.
 */
enum bacsc_fault_kind {
    BACSC_FAULT_NONE = 0,
    BACSC_FAULT_REJECT = 1,
    BACSC_FAULT_ABORT = 2,
    BACSC_FAULT_ERROR = 3
};
typedef struct bacsc_fault {
    uint8_t kind;
    uint8_t reason;            /* enum bacsc_reject_reason / bacsc_abort_reason */
    uint16_t error_class;
    uint16_t error_code;
    size_t offset;             /* octet offset of the problem in the decoded input */
    const char *what;
} bacsc_fault;

/* Segmented-message header flags, octet 0. */
#define BACSC_APDU_SEG 0x08
#define BACSC_APDU_MOR 0x04
#define BACSC_APDU_SA 0x02
#define BACSC_APDU_NAK 0x02   /* SegmentACK */
#define BACSC_APDU_SRV 0x01   /* SegmentACK, Abort: sent by server */

/* A decoded (or to-be-encoded) APDU header. Fields not used by `type` are
 * ignored on encode and zero on decode. */
typedef struct bacsc_apdu {
    uint8_t type;              /* enum bacsc_pdu_type */
    /* Confirmed-Request, ComplexACK: */
    bool segmented;            /* SEG */
    bool more_follows;         /* MOR */
    /* Confirmed-Request: */
    bool segmented_response_accepted;  /* SA */
    uint8_t max_segs;          /* raw 3-bit code: 0 unspecified, 1=2, 2=4 ... 6=64, 7 >64 */
    uint8_t max_apdu;          /* raw 4-bit code: 0=50 1=128 2=206 3=480 4=1024 5=1476 */
    /* all but Unconfirmed: */
    uint8_t invoke_id;
    /* segmented Confirmed-Request/ComplexACK, and SegmentACK: */
    uint8_t sequence_number;
    uint8_t window_size;       /* proposed (or, SegmentACK, actual) window size 1..127 */
    /* SegmentACK: */
    bool nak;
    /* SegmentACK, Abort: */
    bool server;
    /* Confirmed, Unconfirmed, SimpleACK, ComplexACK, Error: */
    uint8_t service;           /* service (ack/error) choice */
    /* Reject, Abort: */
    uint8_t reason;
    /* service request / ack / error data after the header */
    const uint8_t *data;
    size_t data_len;
} bacsc_apdu;

/*
 * Decode the APDU of `len` octets at buf. Returns the header length (data
 * follows at buf + return value, also in apdu->data/data_len) or
 * BACSC_ERR_MALFORMED with `fault` (may be NULL) filled: for a broken
 * Confirmed-Request with a readable invoke id, kind REJECT (reason other for
 * reserved bits or MOR without SEG, parameter-out-of-range for a reserved
 * max-APDU code, missing-required-parameter for a missing service choice or
 * segment fields) or ABORT (window-size-out-of-range, also for a segmented
 * ComplexACK); otherwise kind NONE (drop). `fault->what` names the problem.
 */
int bacsc_apdu_decode(const uint8_t *buf, size_t len, bacsc_apdu *apdu, bacsc_fault *fault);

/* Encode the header only. Returns its length, BACSC_ERR_BUFFER_TOO_SMALL, or
 * BACSC_ERR_INVALID_ARG (type > 7, max_segs > 7, max_apdu > 5, window size 0
 * or > 127 where sent). buf == NULL returns the size. */
int bacsc_apdu_encode_header(uint8_t *buf, size_t cap, const bacsc_apdu *apdu);

/* Encode header plus apdu->data (copied). Returns the total length. */
int bacsc_apdu_encode(uint8_t *buf, size_t cap, const bacsc_apdu *apdu);

/* Convenience header initialisers (zero the struct, then set the fields). */
void bacsc_apdu_init_confirmed(bacsc_apdu *a, uint8_t service, uint8_t invoke_id,
                               uint8_t max_apdu_code);
void bacsc_apdu_init_unconfirmed(bacsc_apdu *a, uint8_t service);
void bacsc_apdu_init_simple_ack(bacsc_apdu *a, uint8_t service, uint8_t invoke_id);
void bacsc_apdu_init_complex_ack(bacsc_apdu *a, uint8_t service, uint8_t invoke_id);
void bacsc_apdu_init_error(bacsc_apdu *a, uint8_t service, uint8_t invoke_id);
void bacsc_apdu_init_reject(bacsc_apdu *a, uint8_t invoke_id, uint8_t reason);
void bacsc_apdu_init_abort(bacsc_apdu *a, uint8_t invoke_id, uint8_t reason, bool server);

/* Max-APDU code <-> octets: 0→50 1→128 2→206 3→480 4→1024 5→1476; other
 * codes give 0. bacsc_max_apdu_code() gives the largest code whose size is
 * <= octets (0 for anything below 128). */
unsigned bacsc_max_apdu_octets(uint8_t code);
uint8_t bacsc_max_apdu_code(unsigned octets);
/* Max-segments code → count: 0 unspecified (0), 1→2 ... 6→64, 7 → >64 (65). */
unsigned bacsc_max_segs_count(uint8_t code);

/* ---- names -------------------------------------------------------------- *
 * Name functions return a constant lower-case hyphenated name ("analog-value",
 * "present-value", "read-property", "unknown-object"), or NULL for a number
 * without a standard name. Parse functions accept such a name
 * (case-insensitive; '_' is accepted for '-') or a decimal number within the
 * enumeration's range and return BACSC_OK or BACSC_ERR_NOT_FOUND. */
const char *bacsc_pdu_type_name(uint8_t type);
const char *bacsc_confirmed_service_name(uint8_t service);
const char *bacsc_unconfirmed_service_name(uint8_t service);
const char *bacsc_object_type_name(uint32_t type);
const char *bacsc_property_name(uint32_t property);
const char *bacsc_error_class_name(uint32_t error_class);
const char *bacsc_error_code_name(uint32_t error_code);
const char *bacsc_reject_reason_name(uint8_t reason);
const char *bacsc_abort_reason_name(uint8_t reason);
const char *bacsc_segmentation_name(uint32_t segmentation);
/* The name of value `value` of enumerated property `property` (sc-hub-
 * connector-state 1 → "connected-to-primary", system-status, event-state,
 * reliability, network-type, …), or NULL when unknown. */
const char *bacsc_property_enum_name(uint32_t property, uint32_t value);

int bacsc_confirmed_service_parse(const char *s, uint8_t *service);
int bacsc_object_type_parse(const char *s, uint16_t *type);        /* 0..1023 */
int bacsc_property_parse(const char *s, uint32_t *property);       /* 0..16777215 */
int bacsc_error_class_parse(const char *s, uint16_t *error_class); /* 0..65535 */
int bacsc_error_code_parse(const char *s, uint16_t *error_code);   /* 0..65535 */

#ifdef __cplusplus
}
#endif
#endif
