/*
 * device_internal.h — what the device core (device.c) and the object classes
 * (device_object.c, device_av.c, device_file.c, device_netport.c) share.
 * Not installed; not part of the public API.
 */
#ifndef BACSC_APP_DEVICE_INTERNAL_H
#define BACSC_APP_DEVICE_INTERNAL_H

#include <stdint.h>

#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/segment.h"

/* Largest APDU we build, and room for the NPDU header in front of it. */
#define DEV_APDU_MAX 1476
#define DEV_NPDU_HEADROOM 32
/* Segmented answers: the largest ACK body (the value and body buffers grow
 * to this on the first request that accepts a segmented answer) and the
 * number of segmented answers in progress at once. */
#define DEV_SEG_BODY_MAX (512u * 1024u)
#define DEV_SEG_MAX 8

/* A segmented answer in progress. */
typedef struct dev_segtxn {
    bacsc_segtx tx;
    bacsc_address to;
    uint8_t priority;
} dev_segtxn;

/* Segmented requests: received at once, segments per request
 * (Max_Segments_Accepted), and the largest reassembled request. */
#define DEV_SEGRX_MAX 8
#define DEV_SEGRX_SEGS 64
#define DEV_SEGRX_BODY_MAX ((size_t)DEV_SEGRX_SEGS * DEV_APDU_MAX)

/* A segmented request being received. */
typedef struct dev_segrxn {
    bacsc_segrx rx;
    bacsc_address from;
    uint8_t invoke_id;
    uint8_t service;
    uint8_t priority;
} dev_segrxn;

/* Per-source password state (device_guard.c). */
#define DEV_GUARD_SOURCES 32
typedef struct dev_guard_entry {
    bool used;
    bacsc_address src;
    unsigned failures;          /* consecutive password failures */
    uint64_t locked_until;      /* refused until (monotonic us) */
    uint64_t session_until;     /* commissioning session open until */
    uint64_t last;              /* last seen, for replacement */
} dev_guard_entry;

enum { DEV_GUARD_OK = 0, DEV_GUARD_WRONG = 1, DEV_GUARD_LOCKED = 2 };

struct bacsc_device {
    uint32_t instance;
    char vendor_name[BACSC_DEVICE_STRING_MAX + 1];
    uint16_t vendor_id;
    char model_name[BACSC_DEVICE_STRING_MAX + 1];
    char firmware_revision[BACSC_DEVICE_STRING_MAX + 1];
    char app_version[BACSC_DEVICE_STRING_MAX + 1];
    char description[BACSC_DEVICE_STRING_MAX + 1];
    char location[BACSC_DEVICE_STRING_MAX + 1];
    char password[BACSC_REINIT_PASSWORD_MAX + 1];
    bool has_password;
    uint8_t uuid[16];
    unsigned max_apdu;
    unsigned apdu_timeout_ms;
    unsigned apdu_retries;
    uint8_t system_status;
    uint32_t database_revision;
    bacsc_datalink link;
    bacsc_device_callbacks cb;

    /* Object table: an array of pointers in Object_List order, linear
     * lookup (devices hold tens of objects; a scan of a few cache lines
     * beats hashing at that size). objects[0] is the Device object. */
    bacsc_object **objects;
    size_t nobjects;
    size_t cap_objects;         /* allocated slots */
    size_t max_objects;

    bacsc_device_stats stats;

    /* DeviceCommunicationControl: enum bacsc_dcc_state, until `dcc_until`
     * (monotonic us; 0 = indefinitely). */
    uint8_t segmentation;       /* Segmentation_Supported (enum bacsc_segmentation) */
    uint8_t dcc_state;
    uint64_t dcc_until;
    /* Last_Restart_Reason (BACnetRestartReason) and Time_Of_Device_Restart. */
    uint8_t restart_reason;
    bacsc_datetime restart_time;

    dev_guard_entry guard[DEV_GUARD_SOURCES];

    /* Scratch buffers, so handling a request never allocates (except the
     * one-time growth of value/body for segmented answers). */
    uint8_t *value;                            /* one property value */
    uint8_t *body;                             /* service ACK data */
    size_t buf_cap;                            /* octets of each */
    uint8_t apdu[DEV_APDU_MAX + 8];            /* an APDU to send */
    uint8_t out[DEV_NPDU_HEADROOM + DEV_APDU_MAX + 8]; /* NPDU to send */

    /* Segmentation (transmit): enabled, timer, window, answers in progress. */
    bool seg_enabled;
    uint64_t seg_timeout_us;
    uint8_t seg_window;
    dev_segtxn seg[DEV_SEG_MAX];
    dev_segrxn segrx[DEV_SEGRX_MAX];
};

extern const bacsc_object_class bacsc_device_object_class;

/* A confirmed request being answered. */
typedef struct dev_request {
    bacsc_address reply;
    uint8_t priority;           /* NPDU priority of the request, echoed */
    uint8_t invoke_id;
    uint8_t service;
    size_t max_resp;            /* largest APDU the requester takes */
    uint64_t now;
    bool seg_accepted;          /* the requester takes a segmented answer (SA) */
    size_t seg_total;           /* when we may segment: largest ACK body, else 0 */
} dev_request;

/* Answers (device.c). */
int dev_send_npdu(bacsc_device *dev, const bacsc_address *dest, uint8_t priority,
                  bool expecting_reply, const uint8_t *apdu, size_t apdu_len);
void dev_send_reject(bacsc_device *dev, const dev_request *rq, uint8_t reason);
void dev_send_abort(bacsc_device *dev, const dev_request *rq, uint8_t reason);
void dev_send_error(bacsc_device *dev, const dev_request *rq, const bacsc_error *e);
void dev_send_error_code(bacsc_device *dev, const dev_request *rq, uint16_t cls, uint16_t code);
void dev_send_simple_ack(bacsc_device *dev, const dev_request *rq);
void dev_answer_fault(bacsc_device *dev, const dev_request *rq, const bacsc_fault *f);

/* Device management services (device_dm.c). */
void dev_do_reinitialize(bacsc_device *dev, const dev_request *rq, const uint8_t *data,
                         size_t len, uint64_t now);
void dev_do_dcc(bacsc_device *dev, const dev_request *rq, const uint8_t *data, size_t len,
                uint64_t now);
/* Who-Is, Who-Has (others ignored). */
void dev_handle_unconfirmed(bacsc_device *dev, const dev_request *rq, const bacsc_apdu *a,
                            uint64_t now);
/* Carry out a (whole, reassembled) confirmed request (device.c). */
void dev_dispatch_confirmed(bacsc_device *dev, dev_request *rq, const uint8_t *data, size_t len,
                            uint64_t now);
/* One segment of a segmented confirmed request (device_seg.c): Segment-ACK,
 * NAK, Abort, or — the last one — the whole request dispatched. */
void dev_segrx_input(bacsc_device *dev, dev_request *rq, const bacsc_apdu *a, uint64_t now);
/* Segmented answers (device_seg.c). */
/* Work out rq->seg_total for a request with SA set and max-segments `code`. */
void dev_seg_prepare(bacsc_device *dev, dev_request *rq, uint8_t max_segs_code);
/* Send dev->body[0..len) segmented; false when it cannot be (the caller
 * answers with an Abort). */
bool dev_seg_send(bacsc_device *dev, const dev_request *rq, size_t len, uint64_t now);
/* A Segment-ACK or client Abort for a segmented answer (or, the Abort, for a
 * segmented request being received): BACSC_OK if it was ours,
 * BACSC_ERR_NOT_FOUND otherwise. */
int dev_seg_input(bacsc_device *dev, const bacsc_address *from, const bacsc_apdu *a,
                  uint64_t now);
/* True while a segmented answer to (from, invoke_id) is in progress. */
bool dev_seg_busy(const bacsc_device *dev, const bacsc_address *from, uint8_t invoke_id);
void dev_seg_free_all(bacsc_device *dev);

/* The DCC state now (an expired duration re-enables). */
uint8_t dev_dcc_state(bacsc_device *dev, uint64_t now);

/* device_guard.c: passwords per source (with lock-out) and who may change
 * the Network Port and File objects. Return DEV_GUARD_*. */
bool dev_guard_has_password(const bacsc_device *dev);
int dev_guard_password(bacsc_device *dev, const bacsc_address *src, bool has,
                       const bacsc_charstring *pw, uint64_t now);
int dev_guard_may_change(bacsc_device *dev, const bacsc_address *src, uint16_t obj_type,
                         uint64_t now);

/* The property lists of `obj` (its class's, or what cls->lists says for
 * this object's configuration): lists[0] required, lists[1] optional. */
void dev_object_lists(const bacsc_object *obj, const uint32_t *lists[2]);
/* A service of Protocol_Services_Supported (device_object.c). */
enum { DEV_SVC_EXECUTE = 1, DEV_SVC_INITIATE = 2, DEV_SVC_NEEDS_FILE = 4 };
typedef struct dev_service {
    uint8_t bit;                     /* BACnetServicesSupported bit */
    const char *name;                /* as in the standard's ASN.1 */
    uint8_t flags;                   /* DEV_SVC_* */
} dev_service;
const dev_service *dev_services(size_t *n);
/* True if the device holds a File object. */
bool dev_has_file(const bacsc_device *dev);

/* True if `obj` has property `p` (in either list). */
bool dev_object_has_property(const bacsc_object *obj, uint32_t p);

/* Object names are unique in a device: true if `name` is used by an object
 * other than `except`. */
bool dev_name_taken(const bacsc_device *dev, const char *name, size_t len,
                    const bacsc_object *except);

/* Encoding helpers returning the length or a negative BACSC_ERR_*; they all
 * follow the codec convention (buf NULL = size only). */
int dev_encode_string(uint8_t *buf, size_t cap, const char *s);
int dev_encode_bitstring(uint8_t *buf, size_t cap, const uint8_t *bits, size_t nbits);
int dev_encode_datetime(uint8_t *buf, size_t cap, const bacsc_datetime *dt);
int dev_encode_status_flags(uint8_t *buf, size_t cap, bool in_alarm, bool fault,
                            bool overridden, bool out_of_service);

/* Decode a single-value write of type CharacterString (UTF-8 only) into
 * out (cap includes the NUL). Errors: INVALID_DATA_TYPE,
 * CHARACTER_SET_NOT_SUPPORTED, VALUE_TOO_LONG (via *err). */
int dev_decode_string_write(const bacsc_prop_write *w, char *out, size_t cap, bacsc_error *err);
/* Decode a single Unsigned write within lo..hi (VALUE_OUT_OF_RANGE). */
int dev_decode_unsigned_write(const bacsc_prop_write *w, uint64_t lo, uint64_t hi,
                              uint64_t *out, bacsc_error *err);
/* Decode a single Boolean write. */
int dev_decode_boolean_write(const bacsc_prop_write *w, bool *out, bacsc_error *err);

/* True if `obj` is an SC Network Port (device_netport.c). */
bool dev_is_netport_sc(const bacsc_object *obj);
/* Network Port (SC and IP) shared handling (device_netport.c). */
/* A write of Command to port `obj`: `*command` is its Command property, `cb`
 * its callbacks, `discard` drops its pending changes. Returns BACSC_OK or an
 * error with *err set (BUSY, VALUE_OUT_OF_RANGE or the callback's error). */
int dev_netport_write_command(bacsc_object *obj, uint8_t *command,
                              const bacsc_netport_callbacks *cb,
                              void (*discard)(bacsc_object *port), const bacsc_prop_write *w,
                              bacsc_error *err);
/* Ask cb->check_write (if set) whether `pending` may be taken for `property`.
 * Returns 0 (yes) or an error with *err set (VALUE_OUT_OF_RANGE when the
 * callback gives none). */
/* Encode `property` if it is one whose encoding every Network Port shares
 * (Protocol_Level, Network_Number(_Quality), Changes_Pending, Command,
 * APDU_Length, Link_Speed); *done says whether it was. Returns the length or
 * an error. */
int dev_netport_read_common(uint32_t property, uint32_t network_number, bool changes_pending,
                            uint8_t command, unsigned apdu_length, uint8_t *buf, size_t cap,
                            bool *done);
int dev_netport_check_write(bacsc_object *obj, const bacsc_netport_callbacks *cb,
                            uint32_t property, const void *pending, bacsc_error *err);
/* File object access for AtomicReadFile/AtomicWriteFile (device_file.c). */
bool dev_is_file(const bacsc_object *obj);
int dev_file_read(bacsc_object *obj, int32_t start, uint32_t count, uint8_t *buf, size_t cap,
                  size_t *n, bool *eof, bacsc_error *err);
int dev_file_write(bacsc_object *obj, int32_t start, const uint8_t *data, size_t len,
                   int32_t *written_at, bacsc_error *err);

#endif
