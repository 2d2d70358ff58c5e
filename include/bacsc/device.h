/*
 * bacsc/device.h — a BACnet device server, sans-I/O.
 *
 * A bacsc_device owns an object table (the Device object itself, Analog
 * Value, File and Network Port objects, and any object type an application
 * plugs in through a bacsc_object_class) and answers the services a BACnet
 * device answers: Who-Is, ReadProperty, ReadPropertyMultiple, WriteProperty,
 * AtomicReadFile, AtomicWriteFile, ReinitializeDevice.
 *
 * It never does I/O. The I/O layer hands it each received NPDU with
 * bacsc_device_handle_npdu(); every answer (I-Am, ACK, Error, Reject, Abort)
 * goes out synchronously through the bacsc_datalink send callback given at
 * creation. Time is the `now` argument (monotonic microseconds).
 *
 * Answering policy (ASHRAE 135 clause 5.4 and 18):
 *  - malformed NPDU header, network-layer messages, NPDUs for another
 *    network: dropped silently (the standard has no answer);
 *  - a Confirmed-Request received as a broadcast (datalink broadcast or
 *    DNET 0xFFFF): ignored (clause 5.4.5.1);
 *  - a Confirmed-Request whose APDU header is broken past the invoke id:
 *    Reject/Abort as the decoder says (bacsc_fault);
 *  - a segmented Confirmed-Request: Abort segmentation-not-supported;
 *  - an unknown confirmed service: Reject unrecognized-service;
 *  - a service request that does not decode: Reject with the decoder's reason;
 *  - an answer larger than the client's max-APDU (or ours): sent in
 *    segments when the request accepts them (SA) and within its
 *    max-segments-accepted, else Abort segmentation-not-supported (no SA),
 *    buffer-overflow (too many segments) or out-of-resources (too many
 *    segmented answers at once);
 *  - an unknown unconfirmed service: ignored;
 *  - ACKs, Errors, Rejects, Aborts and I-Am: not for the server; the call
 *    returns BACSC_ERR_NOT_FOUND so the caller can give them to a client.
 * Every other Confirmed-Request gets exactly one answer.
 */
#ifndef BACSC_DEVICE_H
#define BACSC_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/apdu.h"
#include "bacsc/datalink.h"
#include "bacsc/services.h"
#include "bacsc/tags.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_device bacsc_device;
typedef struct bacsc_object bacsc_object;

#define BACSC_DEVICE_NAME_MAX 64         /* octets of an Object_Name (UTF-8) */
#define BACSC_DEVICE_STRING_MAX 128      /* other configurable strings */
#define BACSC_DEVICE_MAX_OBJECTS_DEFAULT 65536
#define BACSC_PROPERTY_LIST_END 0xFFFFFFFFu  /* terminates property id lists */

/* ---- configuration --------------------------------------------------------- */

/* Callbacks into the embedding application (all optional: NULL = not used). */
typedef struct bacsc_device_callbacks {
    /*
     * ReinitializeDevice was accepted (password already checked). Return 0
     * to answer SimpleACK, or a negative value and fill *err to answer Error
     * (e.g. SERVICES/OPTIONAL-FUNCTIONALITY-NOT-SUPPORTED for backup states).
     * For ACTIVATE_CHANGES (7) and WARMSTART (1) the application applies
     * the Network Port objects' pending configuration
     * (bacsc_netport_sc_pending()) and then calls
     * bacsc_netport_sc_changes_applied(). The restart itself must happen
     * after this call returns (the ACK goes out first).
     * Without this callback: COLDSTART/WARMSTART/ACTIVATE_CHANGES are
     * acknowledged (pending Network Port changes are marked applied) and the
     * backup/restore states answer Error(services,
     * optional-functionality-not-supported).
     */
    int (*reinitialize)(void *user, bacsc_device *dev, uint8_t state, bacsc_error *err);
    /*
     * A property was written successfully (for persistence or to act on
     * it). `obj` is the object written. A successful AtomicWriteFile is
     * reported as a write of File_Size (42) of the File object.
     */
    void (*written)(void *user, bacsc_device *dev, bacsc_object *obj, uint32_t property);
    /*
     * ReinitializeDevice COLDSTART or WARMSTART was acknowledged (after the
     * reinitialize callback, if any, accepted it; the SimpleACK has gone
     * out): the runtime must now really re-initialise — warmstart: rebuild
     * the objects from the configuration the device was started with,
     * dropping what was written over BACnet since (priority arrays,
     * Description, Location, DCC state); coldstart: the same from the
     * saved state (a state-dir device reloads its stored configuration) —
     * and call bacsc_device_restarted() on the new (or reset) device with
     * the restart reason (1 coldstart, 2 warmstart) and the wall-clock
     * time. Do not free `dev` inside this callback: schedule the restart.
     * Without this callback (and without a reinitialize callback that
     * accepts them) COLDSTART/WARMSTART are refused with Error(services,
     * optional-functionality-not-supported): never ACK a restart that does
     * not happen.
     */
    void (*restart)(void *user, bacsc_device *dev, uint8_t state);
    /*
     * Check a ReinitializeDevice / DeviceCommunicationControl password
     * (e.g. against a stored hash): return 1 when it matches. When set, the
     * device has a password (reinit_password is not used).
     */
    int (*check_password)(void *user, const uint8_t *pw, size_t len);
    /*
     * Something security relevant happened for the log: a password failure
     * or lock-out of `src`, a change refused (no session, commissioning
     * lock). `what` is one line of English.
     */
    void (*security_event)(void *user, const bacsc_address *src, const char *what);
    /*
     * The commissioning lock: while this returns true, every write to a
     * Network Port or File object is refused, password or not.
     */
    bool (*locked)(void *user);
    void *user;
} bacsc_device_callbacks;

/*
 * Who may change the device (docs/security.md): while the device has a
 * password (reinit_password or check_password), writes to its Network Port
 * and File objects — trust, certificate, key, hub URIs, mode — are accepted
 * only from a source address that gave the correct password to
 * DeviceCommunicationControl or ReinitializeDevice within the last 10
 * minutes (each accepted change renews it); others get Error(property,
 * write-access-denied), or for AtomicWriteFile Error(services,
 * file-access-denied). Password failures are counted per source: after 3
 * a source is refused for 1 s, doubling up to 15 minutes, correct password
 * or not (Error(security, password-failure)).
 */

/* Device object configuration. Strings are copied (truncated to
 * BACSC_DEVICE_STRING_MAX / BACSC_DEVICE_NAME_MAX octets). NULL strings
 * become "". */
typedef struct bacsc_device_config {
    uint32_t instance;               /* 0..4194302 */
    const char *name;                /* Object_Name; unique in the device */
    const char *vendor_name;
    uint16_t vendor_id;
    const char *model_name;
    const char *firmware_revision;
    const char *application_software_version;
    const char *description;
    const char *location;
    uint8_t uuid[16];                /* Device_UUID (property 507) */
    unsigned max_apdu;               /* Max_APDU_Length_Accepted; 0 = 1476 (50..1476) */
    unsigned apdu_timeout_ms;        /* APDU_Timeout; 0 = 3000 */
    unsigned apdu_retries;           /* Number_Of_APDU_Retries (default 3 if 0 and
                                        apdu_retries_set is false) */
    bool apdu_retries_set;
    /* ReinitializeDevice password (1..20 characters), NULL = none: then
     * any password (or none) is accepted. */
    const char *reinit_password;
    /* Segmented answers (clause 5.4.5.3) are sent when the requester accepts
     * them; true turns that off (Segmentation_Supported no-segmentation). */
    bool no_segmentation;
    unsigned segment_timeout_ms;     /* APDU_Segment_Timeout; 0 = 2000 */
    size_t max_objects;              /* object table limit; 0 = default (65536); the
                                        table grows as objects are added */
    bacsc_datalink link;             /* where answers go */
    bacsc_device_callbacks cb;
} bacsc_device_config;

/* ---- lifecycle -------------------------------------------------------------- */

/*
 * Create a device with its Device object. Returns BACSC_OK with *out set,
 * BACSC_ERR_INVALID_ARG (instance > 4194302, no send callback, max_apdu
 * outside 50..1476, password longer than 20), BACSC_ERR_NOMEM.
 */
int bacsc_device_new(const bacsc_device_config *cfg, bacsc_device **out);
/* Destroy the device and every object in it (calling their classes' destroy). */
void bacsc_device_free(bacsc_device *dev);

/* The Device object's instance number. */
uint32_t bacsc_device_instance(const bacsc_device *dev);

/* ---- the network side -------------------------------------------------------- */

/*
 * Handle one received NPDU of `len` octets from `src` (the next hop as the
 * datalink saw it). Answers go out through the datalink send callback before
 * this returns. Returns BACSC_OK (handled: answered, or dropped by policy),
 * BACSC_ERR_NOT_FOUND (an ACK/Error/Reject/Abort/I-Am — for a client;
 * nothing was sent), BACSC_ERR_MALFORMED (NPDU header invalid; dropped).
 * Send failures are not reported (they count as lost messages).
 */
int bacsc_device_handle_npdu(bacsc_device *dev, const bacsc_address *src, const uint8_t *npdu,
                             size_t len, uint64_t now);

/*
 * As bacsc_device_handle_npdu(), telling whether the datalink received the
 * NPDU as a broadcast (a BACnet/IP Original-Broadcast-NPDU or
 * Forwarded-NPDU, a BACnet/SC Encapsulated-NPDU to the broadcast VMAC).
 * Confirmed requests received as a broadcast — this way or with DNET
 * 0xFFFF — are ignored (clause 5.4.5.1) and counted as dropped.
 */
int bacsc_device_handle_npdu_rx(bacsc_device *dev, const bacsc_address *src, const uint8_t *npdu,
                                size_t len, bool broadcast, uint64_t now);

/*
 * The datalink's current maximum NPDU length (e.g. the Max-NPDU-Length the
 * hub accepted; 0 = 1497). Answers that would not fit are answered with
 * Abort segmentation-not-supported instead.
 */
void bacsc_device_set_max_npdu(bacsc_device *dev, size_t max_npdu);

/*
 * Send an I-Am to `dest` (NULL = local broadcast), e.g. at start-up or after
 * a datalink change. Returns BACSC_OK or the send callback's error.
 */
int bacsc_device_send_iam(bacsc_device *dev, const bacsc_address *dest, uint64_t now);

/* BACnetRestartReason values for bacsc_device_restarted(). */
enum bacsc_restart_reason {
    BACSC_RESTART_UNKNOWN = 0,
    BACSC_RESTART_COLDSTART = 1,
    BACSC_RESTART_WARMSTART = 2,
    BACSC_RESTART_DETECTED_POWER_LOST = 3,
    BACSC_RESTART_DETECTED_POWERED_OFF = 4,
    BACSC_RESTART_HARDWARE_WATCHDOG = 5,
    BACSC_RESTART_SOFTWARE_WATCHDOG = 6,
    BACSC_RESTART_SUSPENDED = 7,
    BACSC_RESTART_ACTIVATE_CHANGES = 8
};

/*
 * The device (re)started: Last_Restart_Reason becomes `reason` and
 * Time_Of_Device_Restart `when` (NULL = unspecified); communication is
 * enabled again (DeviceCommunicationControl state reset). A runtime calls
 * this at start-up (e.g. BACSC_RESTART_COLDSTART, or UNKNOWN) and after the
 * restart callback's re-initialisation.
 */
struct bacsc_datetime;
void bacsc_device_restarted(bacsc_device *dev, uint8_t reason, const struct bacsc_datetime *when);

/*
 * Segmented answers have a segment timer: call bacsc_device_handle_expiry()
 * at bacsc_device_expiry() (UINT64_MAX = nothing pending) so a lost window
 * is sent again (APDU retries times) and a silent client is given up on.
 * (bacsc_device_handle_npdu() also checks the timers on every call.)
 */
uint64_t bacsc_device_expiry(const bacsc_device *dev);
void bacsc_device_handle_expiry(bacsc_device *dev, uint64_t now);

/*
 * A PICS-style summary of what this library's device implements, as
 * Markdown lines handed to `out` one by one: every built-in object type with
 * its properties (required/optional, writable — found by writing each
 * property's own value back on a scratch device), the services (execute /
 * initiate), the BIBBs claimed and the segmentation support. Generated from
 * the same tables the device runs on (`bacsc device --pics`; the copy in
 * docs/application.md is checked against it). Returns BACSC_OK or
 * BACSC_ERR_NOMEM.
 */
int bacsc_device_pics(void (*out)(void *user, const char *line), void *user);

/* Counters, for status displays. */
typedef struct bacsc_device_stats {
    uint64_t requests;               /* confirmed requests answered */
    uint64_t unconfirmed;            /* unconfirmed requests handled */
    uint64_t errors;                 /* Error PDUs sent */
    uint64_t rejects;
    uint64_t aborts;
    uint64_t dropped;                /* NPDUs dropped by policy */
    uint64_t segmented;              /* answers sent in segments */
} bacsc_device_stats;
void bacsc_device_get_stats(const bacsc_device *dev, bacsc_device_stats *st);

/* ---- the object model --------------------------------------------------------- */

/* A property reference handed to an object class's read handler. */
typedef struct bacsc_prop_ref {
    uint32_t property;
    uint32_t index;                  /* BACSC_ARRAY_ALL when no index was given */
} bacsc_prop_ref;

/* A write handed to an object class's write handler. */
typedef struct bacsc_prop_write {
    uint32_t property;
    uint32_t index;                  /* BACSC_ARRAY_ALL when no index was given */
    const uint8_t *value;            /* the encoded value (between tags [3]) */
    size_t value_len;
    uint8_t priority;                /* 1..16; 16 when none was given */
    bool has_priority;
} bacsc_prop_write;

/*
 * An object type. Plug a new type in by defining one of these (static
 * const) and adding objects with bacsc_device_add_object().
 *
 * The device answers Object_Identifier, Object_Name, Object_Type and
 * Property_List for every object itself, and handles ALL/REQUIRED/OPTIONAL
 * in ReadPropertyMultiple from the two lists; the class handles the rest.
 *
 * read: encode property ref->property (index ref->index) as the
 *   application-tagged value(s) that go between tags [3] of a
 *   ReadProperty-ACK, into buf (cap octets). Returns the length (>= 0),
 *   BACSC_ERR_BUFFER_TOO_SMALL (the device answers Abort
 *   segmentation-not-supported), or BACSC_ERR_NOT_FOUND / any other negative
 *   code with *err set to the BACnet error to answer (e.g. PROPERTY/
 *   UNKNOWN-PROPERTY, PROPERTY/PROPERTY-IS-NOT-AN-ARRAY,
 *   PROPERTY/INVALID-ARRAY-INDEX).
 * write: apply a write; returns 0, or negative with *err set (e.g.
 *   PROPERTY/WRITE-ACCESS-DENIED, PROPERTY/INVALID-DATA-TYPE,
 *   PROPERTY/VALUE-OUT-OF-RANGE). NULL = every property read-only.
 * destroy: free obj->impl (may be NULL).
 * required/optional: property ids the class supports, each list ended by
 *   BACSC_PROPERTY_LIST_END. List the four common properties in `required`
 *   too (they are answered by the device but listed for ALL/REQUIRED).
 */
typedef struct bacsc_object_class {
    uint16_t type;                   /* enum bacsc_object_type */
    const uint32_t *required;
    const uint32_t *optional;
    int (*read)(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_ref *ref, uint8_t *buf,
                size_t cap, bacsc_error *err);
    int (*write)(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_write *w,
                 bacsc_error *err);
    void (*destroy)(bacsc_object *obj);
    /* Optional: the lists of one object when they depend on its
     * configuration (an Analog Value that is not commandable has no
     * Priority_Array; a port without certificate files has no file
     * properties). Set *required and *optional (both start as the class's
     * lists, which stay the superset every object of the class draws
     * from). Property_List, ALL/REQUIRED/OPTIONAL and unknown-property
     * all follow what it says. */
    void (*lists)(const bacsc_object *obj, const uint32_t **required, const uint32_t **optional);
} bacsc_object_class;

/* One object in the table. Classes keep their state behind `impl`. */
struct bacsc_object {
    const bacsc_object_class *cls;
    uint32_t instance;
    char name[BACSC_DEVICE_NAME_MAX + 1];
    void *impl;
};

/*
 * Add an object of class `cls` with `instance` and `name` (copied), owning
 * `impl` (freed through cls->destroy when the object goes). On success
 * *out (may be NULL) points at the object, valid until it is removed.
 * Returns BACSC_OK, BACSC_ERR_EXISTS (same type+instance, or same name),
 * BACSC_ERR_LIMIT (table full), BACSC_ERR_INVALID_ARG (instance > 4194302,
 * empty name or name longer than BACSC_DEVICE_NAME_MAX), BACSC_ERR_NOMEM.
 * On failure impl is NOT freed (the caller still owns it).
 * Object_List and Database_Revision follow the table.
 */
int bacsc_device_add_object(bacsc_device *dev, const bacsc_object_class *cls, uint32_t instance,
                            const char *name, void *impl, bacsc_object **out);
/* Remove (and destroy) an object. The Device object cannot be removed.
 * Returns BACSC_OK, BACSC_ERR_NOT_FOUND, BACSC_ERR_INVALID_ARG. */
int bacsc_device_remove_object(bacsc_device *dev, uint16_t type, uint32_t instance);
/* Look an object up (NULL if absent). */
bacsc_object *bacsc_device_find_object(bacsc_device *dev, uint16_t type, uint32_t instance);
/* Number of objects (including the Device object) and the i-th one, in
 * Object_List order (Device first, then in order of addition). */
size_t bacsc_device_object_count(const bacsc_device *dev);
bacsc_object *bacsc_device_object_at(bacsc_device *dev, size_t i);

/*
 * Read a property locally, exactly as ReadProperty would (including the
 * common properties). Same returns as bacsc_object_class.read.
 */
int bacsc_device_read_property(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_ref *ref,
                               uint8_t *buf, size_t cap, bacsc_error *err);
/* Write a property locally, exactly as WriteProperty would. */
int bacsc_device_write_property(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_write *w,
                                bacsc_error *err);

/* Set the Device object's System_Status (BACnetDeviceStatus: 0 operational,
 * 1 operational-read-only, 2 download-required, 3 download-in-progress,
 * 4 non-operational, 5 backup-in-progress). */
void bacsc_device_set_system_status(bacsc_device *dev, uint8_t status);
/* Increment Database_Revision (done automatically on object add/remove and
 * on Object_Name writes). */
void bacsc_device_bump_database_revision(bacsc_device *dev);

/* ---- helpers for object classes --------------------------------------------- */

/* Fill *err and return BACSC_ERR_NOT_FOUND — for `return bacsc_prop_error(...)`. */
int bacsc_prop_error(bacsc_error *err, uint16_t error_class, uint16_t error_code);
/* True if `property` is in the list `ids` (ended by BACSC_PROPERTY_LIST_END). */
bool bacsc_prop_in_list(const uint32_t *ids, uint32_t property);
/*
 * Encode a property that is not an array: index must be BACSC_ARRAY_ALL,
 * else PROPERTY/PROPERTY-IS-NOT-AN-ARRAY. Returns BACSC_OK or the error.
 */
int bacsc_prop_check_not_array(const bacsc_prop_ref *ref, bacsc_error *err);
/*
 * Encode an array property of `count` elements: index ALL → every element,
 * index 0 → the count as Unsigned, 1..count → that element, else
 * PROPERTY/INVALID-ARRAY-INDEX. `elem(ctx, i, buf, cap)` encodes element i
 * (0-based) and returns its length or a negative BACSC_ERR_*.
 */
int bacsc_prop_encode_array(const bacsc_prop_ref *ref, uint32_t count,
                            int (*elem)(const void *ctx, uint32_t i, uint8_t *buf, size_t cap),
                            const void *ctx, uint8_t *buf, size_t cap, bacsc_error *err);
/*
 * Decode a write's value as exactly one application-tagged value of type
 * `type` (enum bacsc_app_tag). Returns BACSC_OK, or PROPERTY/INVALID-DATA-TYPE
 * (other type, or more than one value) via *err.
 */
int bacsc_prop_decode_single(const bacsc_prop_write *w, uint8_t type, bacsc_value *v,
                             bacsc_error *err);

/* ---- Analog Value ----------------------------------------------------------- */

/*
 * Add a commandable Analog Value: Present_Value (REAL) with a 16-level
 * Priority_Array and Relinquish_Default, Status_Flags, Event_State (normal),
 * Out_Of_Service, Units (enumerated BACnetEngineeringUnits, 95 = no-units),
 * Description. Present_Value writes take a priority (default 16); writing
 * Null relinquishes that level. Out_Of_Service is writable.
 * Returns as bacsc_device_add_object().
 */
int bacsc_device_add_analog_value(bacsc_device *dev, uint32_t instance, const char *name,
                                  float relinquish_default, uint32_t units,
                                  bacsc_object **out);
/* Make an Analog Value commandable (the default) or not. A commandable one
 * has Priority_Array, Relinquish_Default and Current_Command_Priority
 * (Null while Relinquish_Default applies) and refuses priority 6 (reserved
 * for Minimum On/Off) with write-access-denied; one that is not has none of
 * the three (nor in Property_List) and takes Present_Value writes at any
 * priority as the value. Returns BACSC_OK or BACSC_ERR_INVALID_ARG. */
int bacsc_analog_value_set_commandable(bacsc_object *obj, bool commandable);
/* Present_Value of an Analog Value (the highest-priority non-Null level,
 * else Relinquish_Default). Returns BACSC_OK or BACSC_ERR_INVALID_ARG. */
int bacsc_analog_value_get(const bacsc_object *obj, float *value);
/* Set the value at `priority` (1..16), or relinquish it when `relinquish`.
 * Returns BACSC_OK or BACSC_ERR_INVALID_ARG. */
int bacsc_analog_value_set(bacsc_object *obj, uint8_t priority, float value, bool relinquish);

/* ---- File ------------------------------------------------------------------- */

/*
 * Storage behind File objects. The device never touches files: it calls
 * these with the File object's instance. All return 0 or a negative
 * BACSC_ERR_* (mapped to FILE/... errors: NOT_FOUND → object/unknown-object,
 * POLICY → file-access-denied, LIMIT → file-full, MALFORMED →
 * property/invalid-data-type (bytes the storage refuses), others →
 * device/operational-problem).
 *   size:  current size in octets.
 *   read:  up to `count` octets from `offset` into buf; *n set; *eof true if
 *          the read reached the end of the file.
 *   write: `len` octets at `offset` (offset == size appends); the file grows
 *          as needed. *start = the offset actually written at.
 *   set_size: truncate/extend (File_Size writes; e.g. 0 before a rewrite).
 *          NULL = File_Size read-only.
 */
typedef struct bacsc_file_ops {
    int (*size)(void *user, uint32_t instance, uint64_t *size);
    int (*read)(void *user, uint32_t instance, uint64_t offset, size_t count, uint8_t *buf,
                size_t *n, bool *eof);
    int (*write)(void *user, uint32_t instance, uint64_t offset, const uint8_t *data, size_t len);
    int (*set_size)(void *user, uint32_t instance, uint64_t size);
    void *user;
    /* Optional: File_Type for the current content (e.g. a certificate slot
     * holding DER or PEM); NULL or a NULL return = the type given to
     * bacsc_device_add_file(). */
    const char *(*type)(void *user, uint32_t instance);
} bacsc_file_ops;

/*
 * Add a stream-access File object: File_Type (e.g. "application/x-pem-file"),
 * File_Size (from ops.size), Modification_Date (not tracked: unspecified),
 * Archive, Read_Only, File_Access_Method (stream-access). `read_only` files
 * refuse AtomicWriteFile with OBJECT/FILE-ACCESS-DENIED; `readable` = false
 * makes AtomicReadFile answer the same (a key file must never be readable).
 * Record access is answered with SERVICES/INVALID-FILE-ACCESS-METHOD.
 * Returns as bacsc_device_add_object().
 */
int bacsc_device_add_file(bacsc_device *dev, uint32_t instance, const char *name,
                          const char *file_type, bool read_only, bool readable,
                          const bacsc_file_ops *ops, bacsc_object **out);

/* ---- Network Port (BACnet/SC) ------------------------------------------------ */

/* Property ids not (yet) in apdu.h's enumeration. */
#define BACSC_PROP_ID_PROTOCOL_LEVEL 482
#define BACSC_PROP_ID_COMMAND_VALIDATION_RESULT 510
#define BACSC_PROP_ID_BACNET_IP_MODE 408
/* Proprietary (vendor range 512..4194303): the site domain the device puts
 * in its CSR's common name, CharacterString, on the SC Network Port. */
#define BACSC_PROP_ID_SITE_DOMAIN 4100
/* Proprietary: the File object holding the issuers' CRLs (BACnetObjectIdentifier,
 * read-only, on the SC Network Port; absent when the device has none). */
#define BACSC_PROP_ID_CRL_FILE 4101
#define BACSC_COMMAND_RESULT_MAX 160     /* octets of Command_Validation_Result */

#define BACSC_NETWORK_TYPE_IPV4 5
#define BACSC_NETWORK_TYPE_SECURE_CONNECT 11
#define BACSC_URI_MAX 256                /* octets of a hub/accept URI */
#define BACSC_SC_ACCEPT_URIS_MAX 4
#define BACSC_ISSUER_FILES_MAX 2

/* SC_Hub_Connector_State (BACnetSCHubConnectorState). */
#ifndef BACSC_SC_CONNECTOR_STATE_DEFINED /* also in sc_connector.h / device.h */
#define BACSC_SC_CONNECTOR_STATE_DEFINED
enum bacsc_sc_connector_state {
    BACSC_SC_NO_HUB_CONNECTION = 0,
    BACSC_SC_CONNECTED_TO_PRIMARY = 1,
    BACSC_SC_CONNECTED_TO_FAILOVER = 2
};
#endif

/* BACnetSCConnectionState. */
enum bacsc_sc_connection_state {
    BACSC_SC_NOT_CONNECTED = 0,
    BACSC_SC_CONNECTED = 1,
    BACSC_SC_DISCONNECTED_WITH_ERRORS = 2,
    BACSC_SC_FAILED_TO_CONNECT = 3
};

/* Network Port Command (BACnetNetworkPortCommand). */
enum bacsc_netport_command {
    BACSC_NPC_IDLE = 0,
    BACSC_NPC_DISCARD_CHANGES = 1,
    BACSC_NPC_RENEW_FD_REGISTRATION = 2,
    BACSC_NPC_RESTART_SLAVE_DISCOVERY = 3,
    BACSC_NPC_RENEW_DHCP = 4,
    BACSC_NPC_RESTART_AUTONEGOTIATION = 5,
    BACSC_NPC_DISCONNECT = 6,
    BACSC_NPC_RESTART_PORT = 7,
    BACSC_NPC_GENERATE_CSR_FILE = 8,
    BACSC_NPC_VALIDATE_CHANGES = 9,
    BACSC_NPC_RESTART_DISCOVERY = 10
};

/* A BACnetDateTime; all 0xFF = unspecified. */
typedef struct bacsc_datetime {
    bacsc_date date;
    bacsc_time time;
} bacsc_datetime;

/*
 * Fill a BACnetDateTime from seconds since the Unix epoch (UTC) plus
 * `utc_offset_s` (local time = UTC + offset), e.g. for the connect and
 * disconnect timestamps the I/O layer records. Pure arithmetic (proleptic
 * Gregorian calendar); years outside 1900..2154 give an all-unspecified
 * (0xFF) value.
 */
void bacsc_datetime_from_unix(int64_t secs, int32_t utc_offset_s, bacsc_datetime *dt);
/* An all-unspecified BACnetDateTime (every field 0xFF). */
void bacsc_datetime_unspecified(bacsc_datetime *dt);

/*
 * BACnetSCHubConnection ::= SEQUENCE {
 *   connection-state     [0] BACnetSCConnectionState,
 *   connect-timestamp    [1] BACnetDateTime,
 *   disconnect-timestamp [2] BACnetDateTime,
 *   error                [3] Error OPTIONAL,          -- { class, code }
 *   error-details        [4] CharacterString OPTIONAL }
 * error/error_details are encoded when state is disconnected-with-errors or
 * failed-to-connect. (bacnet-stack encodes [3] as a bare Enumerated error
 * code; bacnet4j and the ASN.1 use the Error SEQUENCE — we follow the ASN.1.)
 */
typedef struct bacsc_sc_hub_connection {
    uint8_t state;                   /* enum bacsc_sc_connection_state */
    bacsc_datetime connect_time;
    bacsc_datetime disconnect_time;
    uint16_t error_class;
    uint16_t error_code;
    char error_details[128];
} bacsc_sc_hub_connection;

/*
 * One entry of SC_Direct_Connect_Connection_Status (BACnetSCDirectConnection)
 * or of SC_Hub_Function_Connection_Status (BACnetSCHubFunctionConnection,
 * which has no uri: every context tag below [0] is one lower):
 *   uri                  [0] CharacterString          (direct only)
 *   connection-state     [1] BACnetSCConnectionState
 *   connect-timestamp    [2] BACnetDateTime
 *   disconnect-timestamp [3] BACnetDateTime
 *   peer-address         [4] BACnetHostNPort          -- ip-address when
 *                            peer_address is "A.B.C.D:PORT", else name
 *                            (none when empty)
 *   peer-vmac            [5] OCTET STRING (SIZE(6))
 *   peer-uuid            [6] OCTET STRING (SIZE(16))
 *   error                [7] Error OPTIONAL            -- as BACnetSCHubConnection
 *   error-details        [8] CharacterString OPTIONAL
 * (layout as in bacnet-stack's bacapp_encode_SCDirectConnection and
 * bac-py; error/error-details only for disconnected-with-errors and
 * failed-to-connect.)
 */
typedef struct bacsc_sc_direct_connection {
    char uri[BACSC_URI_MAX];
    uint8_t state;                   /* enum bacsc_sc_connection_state */
    bacsc_datetime connect_time;
    bacsc_datetime disconnect_time;
    char peer_address[64];           /* "IP:PORT", a host name, or "" */
    uint8_t peer_vmac[6];
    uint8_t peer_uuid[16];
    uint16_t error_class;
    uint16_t error_code;
    char error_details[128];
} bacsc_sc_direct_connection;

/*
 * Configuration of a BACnet/SC port: what the writable properties hold.
 * The "active" copy is what the datalink runs with; writes go to the
 * "pending" copy, set Changes_Pending, and take effect when the application
 * applies them (ReinitializeDevice activate-changes/warmstart).
 */
typedef struct bacsc_sc_port_config {
    char primary_hub_uri[BACSC_URI_MAX];
    char failover_hub_uri[BACSC_URI_MAX];
    uint32_t min_reconnect_time;     /* s, 2..300 */
    uint32_t max_reconnect_time;     /* s, 2..600, >= min */
    uint32_t connect_wait_timeout;   /* s, 5..300 */
    uint32_t disconnect_wait_timeout;/* s, 1..300 */
    uint32_t heartbeat_timeout;      /* s, 1..300 */
    bool hub_function_enable;
    char hub_function_accept_uris[BACSC_SC_ACCEPT_URIS_MAX][BACSC_URI_MAX];
    char hub_function_binding[BACSC_URI_MAX];     /* "host:port" or "" */
    bool direct_connect_initiate_enable;
    bool direct_connect_accept_enable;
    char direct_connect_accept_uris[BACSC_SC_ACCEPT_URIS_MAX][BACSC_URI_MAX];
    char direct_connect_binding[BACSC_URI_MAX];
    uint16_t network_number;         /* 0 = unknown/local */
    /* File object instances (type file) behind the certificate properties;
     * BACSC_MAX_INSTANCE (4194303) = none configured. */
    uint32_t operational_certificate_file;
    uint32_t issuer_certificate_files[BACSC_ISSUER_FILES_MAX];
    uint32_t certificate_signing_request_file;
    uint32_t crl_file;               /* proprietary BACSC_PROP_ID_CRL_FILE */
    /* Out_Of_Service written over BACnet (pending like the rest): true = the
     * port is switched off (mode switching). */
    bool out_of_service;
    /* Site domain for the CSR common name (proprietary property
     * BACSC_PROP_ID_SITE_DOMAIN); "" = none. */
    char site_domain[BACSC_DEVICE_STRING_MAX + 1];
} bacsc_sc_port_config;

/* Live state the I/O layer keeps current (read-only over BACnet). */
typedef struct bacsc_sc_port_state {
    uint8_t connector_state;         /* enum bacsc_sc_connector_state */
    bacsc_sc_hub_connection primary;
    bacsc_sc_hub_connection failover;
    uint32_t max_bvlc_len;           /* Max_BVLC_Length_Accepted */
    uint32_t max_npdu_len;           /* Max_NPDU_Length_Accepted */
    uint8_t reliability;             /* BACnetReliability: 0 no-fault-detected */
    bool out_of_service;
    uint8_t vmac[6];                 /* MAC_Address */
    /* Lists owned by the I/O layer (valid until the next refresh):
     * SC_Direct_Connect_Connection_Status and, for a device hosting the hub
     * function, SC_Hub_Function_Connection_Status (uri unused). */
    const bacsc_sc_direct_connection *direct;
    size_t direct_count;
    const bacsc_sc_direct_connection *hub_function;
    size_t hub_function_count;
} bacsc_sc_port_state;

/* Network Port callbacks (optional). */
typedef struct bacsc_netport_callbacks {
    /* Refresh `state` right before it is read (instead of pushing updates). */
    void (*refresh)(void *user, bacsc_object *port, bacsc_sc_port_state *state);
    /*
     * Command was written with `cmd` (not idle/discard-changes, which the
     * object handles). Return 0 to accept (Command reads back `cmd` until
     * bacsc_netport_sc_command_done() is called), 1 when the command already
     * completed (Command reads idle again), or negative with *err
     * (e.g. PROPERTY/VALUE-OUT-OF-RANGE for unsupported commands — the
     * default without a callback). discard-changes is handled by the
     * object and then also reported here (return value ignored) so the
     * application can drop its own pending state.
     */
    int (*command)(void *user, bacsc_object *port, uint8_t cmd, bacsc_error *err);
    void *user;
    /*
     * A configuration write decoded fine; `pending` is the pending
     * configuration it would produce (a bacsc_sc_port_config * for SC ports,
     * a bacsc_ip_port_config * for IP ports). Return 0 to commit it, or
     * negative with *err set to refuse the write (e.g. switching the last
     * working port off). Optional.
     */
    int (*check_write)(void *user, bacsc_object *port, uint32_t property, const void *pending,
                       bacsc_error *err);
} bacsc_netport_callbacks;

/*
 * Add a Network Port object of type SECURE_CONNECT (Network_Type 11,
 * Protocol_Level bacnet-application (2)) with `config` as both the active
 * and pending configuration. Returns as bacsc_device_add_object().
 */
int bacsc_device_add_netport_sc(bacsc_device *dev, uint32_t instance, const char *name,
                                const bacsc_sc_port_config *config,
                                const bacsc_netport_callbacks *cb, bacsc_object **out);

/* The live state struct of an SC Network Port, for the I/O layer to update
 * in place (NULL if `port` is not one). */
bacsc_sc_port_state *bacsc_netport_sc_state(bacsc_object *port);
/* The configuration written over BACnet but not yet applied (NULL if not an
 * SC port) and whether there is any (Changes_Pending). */
const bacsc_sc_port_config *bacsc_netport_sc_pending(const bacsc_object *port);
const bacsc_sc_port_config *bacsc_netport_sc_active(const bacsc_object *port);
bool bacsc_netport_sc_changes_pending(const bacsc_object *port);
/* The application has applied the pending configuration: it becomes the
 * active one and Changes_Pending goes false. */
void bacsc_netport_sc_changes_applied(bacsc_object *port);
/* The pending configuration is dropped (Command discard-changes does this). */
void bacsc_netport_sc_discard_changes(bacsc_object *port);
/* A command accepted by the command callback has finished: Command reads
 * idle again. */
void bacsc_netport_sc_command_done(bacsc_object *port);
/* Set a configuration programmatically (both copies; no Changes_Pending). */
void bacsc_netport_sc_set_config(bacsc_object *port, const bacsc_sc_port_config *config);
/* Set only the pending copy (e.g. restored from storage); Changes_Pending
 * becomes true when it differs from the active copy. */
void bacsc_netport_sc_restore_pending(bacsc_object *port, const bacsc_sc_port_config *pending);
/* Fill `cfg` with defaults: reconnect 2..300 s, connect wait 10, disconnect
 * wait 5, heartbeat 60, everything else empty/false, no files. */
void bacsc_sc_port_config_defaults(bacsc_sc_port_config *cfg);

/*
 * Command_Validation_Result (510) of an SC port, a CharacterString
 * (truncated to BACSC_COMMAND_RESULT_MAX; NULL or "" = no validation run
 * yet, read as ""). The standard's datatype could not be confirmed from a
 * public implementation — see docs/device-commissioning.md.
 */
void bacsc_netport_sc_set_validation_result(bacsc_object *port, const char *text);
/* Changes the application keeps itself (e.g. certificate files written but
 * not activated) also make Changes_Pending read TRUE until
 * bacsc_netport_sc_changes_applied()/discard_changes(). */
void bacsc_netport_sc_set_other_pending(bacsc_object *port, bool pending);
/* The current text ("" when none yet). */
const char *bacsc_netport_sc_validation_result(const bacsc_object *port);

/* ---- Network Port (BACnet/IP, Network_Type IPV4) --------------------------------- */

/* BACnet_IP_Mode (BACnetIPMode). */
enum bacsc_ip_mode { BACSC_IP_MODE_NORMAL = 0, BACSC_IP_MODE_FOREIGN = 1, BACSC_IP_MODE_BBMD = 2 };

/* A BACnet/IP port. Only Out_Of_Service is writable over BACnet (pending
 * until activate-changes, like the SC port); the rest describes the socket. */
typedef struct bacsc_ip_port_config {
    uint8_t ip[4];                   /* IP_Address */
    uint8_t mask[4];                 /* IP_Subnet_Mask */
    uint16_t udp_port;               /* BACnet_IP_UDP_Port */
    uint16_t network_number;         /* Network_Number, 0 = unknown */
    bool out_of_service;             /* Out_Of_Service */
} bacsc_ip_port_config;

/*
 * Add a Network Port of type IPV4 (Network_Type 5): Status_Flags,
 * Reliability, Out_Of_Service (writable, pending), Network_Type,
 * Protocol_Level, Network_Number, Network_Number_Quality, Changes_Pending,
 * Command (idle / discard-changes; others → cb.command or
 * value-out-of-range), APDU_Length, Link_Speed (0.0), MAC_Address (6 octets
 * IP + port), BACnet_IP_Mode (normal), IP_Address, IP_Subnet_Mask,
 * BACnet_IP_UDP_Port. `cb` may be NULL (refresh is not used by IP ports).
 * Returns as bacsc_device_add_object().
 */
int bacsc_device_add_netport_ip(bacsc_device *dev, uint32_t instance, const char *name,
                                const bacsc_ip_port_config *config,
                                const bacsc_netport_callbacks *cb, bacsc_object **out);
const bacsc_ip_port_config *bacsc_netport_ip_pending(const bacsc_object *port);
const bacsc_ip_port_config *bacsc_netport_ip_active(const bacsc_object *port);
bool bacsc_netport_ip_changes_pending(const bacsc_object *port);
void bacsc_netport_ip_changes_applied(bacsc_object *port);
void bacsc_netport_ip_discard_changes(bacsc_object *port);
/* Set both copies (no Changes_Pending). */
void bacsc_netport_ip_set_config(bacsc_object *port, const bacsc_ip_port_config *config);
/* Set only the pending copy (Changes_Pending when it differs). */
void bacsc_netport_ip_restore_pending(bacsc_object *port, const bacsc_ip_port_config *pending);
/* Reliability reported by the port (0 = no-fault-detected). */
void bacsc_netport_ip_set_reliability(bacsc_object *port, uint8_t reliability);

#ifdef __cplusplus
}
#endif
#endif
