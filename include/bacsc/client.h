/*
 * bacsc/client.h — the BACnet client side, sans-I/O: confirmed requests with
 * invoke-ID management, APDU timeout and retries, response matching, and
 * Who-Is / I-Am discovery.
 *
 * A bacsc_client sends through the bacsc_datalink callback given at
 * creation and is fed every received NPDU that is not a request for a local
 * device (bacsc_client_handle_npdu(); bacsc_device_handle_npdu() returns
 * BACSC_ERR_NOT_FOUND for exactly those). Time is the `now` argument; the
 * event loop calls bacsc_client_handle_expiry(now) at bacsc_client_expiry().
 *
 * Invoke IDs are 0..255 per destination; an ID is never reused while a
 * request with it is in flight to that destination. A response is matched
 * by (source address, invoke id); one from another address is ignored.
 * Every request ends in exactly one completion callback: an ACK, an Error,
 * a Reject, an Abort, a timeout (after the configured retries), or a
 * cancellation (bacsc_client_free()).
 */
#ifndef BACSC_CLIENT_H
#define BACSC_CLIENT_H

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

typedef struct bacsc_client bacsc_client;

#define BACSC_CLIENT_MAX_PENDING_DEFAULT 64
#define BACSC_CLIENT_MAX_PENDING_LIMIT 4096
#define BACSC_CLIENT_MAX_DEVICES_DEFAULT 1024

/* How a request ended. */
enum bacsc_client_outcome {
    BACSC_CLIENT_SIMPLE_ACK = 0,
    BACSC_CLIENT_COMPLEX_ACK = 1,    /* ack/ack_len hold the service ACK data */
    BACSC_CLIENT_ERROR = 2,          /* error_class/error_code */
    BACSC_CLIENT_REJECT = 3,         /* reason (enum bacsc_reject_reason) */
    BACSC_CLIENT_ABORT = 4,          /* reason (enum bacsc_abort_reason) */
    BACSC_CLIENT_TIMEOUT = 5,        /* no answer after all retries */
    BACSC_CLIENT_CANCELLED = 6,      /* the client was freed */
    BACSC_CLIENT_BAD_ACK = 7         /* an ACK or Error that does not decode
                                        (reason other), or a segmented ACK we
                                        could not take (the reason the client
                                        sent the server in an Abort:
                                        segmentation-not-supported when
                                        no_segmentation, buffer-overflow past
                                        max_ack_len, invalid-apdu-in-this-state,
                                        tsm-timeout when segments stop) */
};

/* The result of one confirmed request, passed to its completion callback.
 * Pointers are valid only during the callback. */
typedef struct bacsc_client_result {
    uint8_t outcome;                 /* enum bacsc_client_outcome */
    uint8_t service;                 /* the confirmed service requested */
    uint8_t invoke_id;
    const bacsc_address *peer;       /* the destination the request went to */
    const uint8_t *ack;              /* COMPLEX_ACK: service ACK data */
    size_t ack_len;
    uint16_t error_class;            /* ERROR */
    uint16_t error_code;
    uint8_t reason;                  /* REJECT / ABORT / BAD_ACK (abort reason sent) */
    bool abort_by_server;            /* ABORT: SRV bit */
    unsigned attempts;               /* transmissions made (1 + retries used) */
} bacsc_client_result;

typedef void (*bacsc_client_done_fn)(void *user, const bacsc_client_result *r);

/* A device that answered Who-Is (or sent an unsolicited I-Am). */
typedef struct bacsc_client_device {
    uint32_t instance;
    bacsc_address address;
    uint32_t max_apdu;
    uint8_t segmentation;
    uint16_t vendor_id;
    uint64_t last_seen;              /* `now` of the last I-Am */
} bacsc_client_device;

typedef void (*bacsc_client_iam_fn)(void *user, const bacsc_client_device *d);

typedef struct bacsc_client_config {
    bacsc_datalink link;
    uint64_t apdu_timeout_us;        /* per transmission; 0 = 3 s */
    unsigned retries;                /* retransmissions after the first; default 3
                                        unless retries_set */
    bool retries_set;
    size_t max_pending;              /* requests in flight; 0 = 64; max 4096 */
    unsigned max_apdu;               /* Max-APDU we accept in answers; 0 = 1476 */
    size_t max_devices;              /* I-Am table size; 0 = 1024 */
    bacsc_client_iam_fn on_iam;      /* optional, each I-Am received */
    void *user;                      /* for on_iam */
    /* Segmented answers (clause 5.4.4): requests say they accept them (SA,
     * max-segments "more than 64") and segments are reassembled up to
     * max_ack_len octets (0 = 1 MiB), acknowledged per window (window 0 =
     * 16); no_segmentation turns it off (a segmented ACK is then aborted). */
    bool no_segmentation;
    size_t max_ack_len;
    uint8_t window;
} bacsc_client_config;

/*
 * Create a client. Returns BACSC_OK, BACSC_ERR_INVALID_ARG (no send
 * callback, max_pending > 4096, max_apdu outside 50..1476),
 * BACSC_ERR_NOMEM.
 */
int bacsc_client_new(const bacsc_client_config *cfg, bacsc_client **out);
/* Complete every pending request with CANCELLED, then free the client. */
void bacsc_client_free(bacsc_client *cl);

/*
 * Handle a received NPDU from `src`. Returns BACSC_OK when it was an answer
 * to one of our requests or an I-Am (consumed), BACSC_ERR_NOT_FOUND when it
 * is nothing for the client (a request, or an answer matching no pending
 * request), BACSC_ERR_MALFORMED for an NPDU or APDU header that does not
 * decode. Completion callbacks run before this returns.
 */
int bacsc_client_handle_npdu(bacsc_client *cl, const bacsc_address *src, const uint8_t *npdu,
                             size_t len, uint64_t now);

/* When the client next needs bacsc_client_handle_expiry() (UINT64_MAX: never). */
uint64_t bacsc_client_expiry(const bacsc_client *cl);
/* Retransmit requests whose timer ran out (while retries remain) and
 * complete the others with TIMEOUT. Returns BACSC_OK. */
int bacsc_client_handle_expiry(bacsc_client *cl, uint64_t now);

/* Number of requests in flight. */
size_t bacsc_client_pending(const bacsc_client *cl);

/*
 * Send a confirmed request: `payload` is the encoded service request.
 * `done(user, result)` is called exactly once — later, from
 * bacsc_client_handle_npdu()/handle_expiry()/free(); only a datalink whose
 * send callback delivers the answer synchronously (an in-memory test
 * harness) sees it called from within this call, after the request is
 * fully registered.
 * Returns the invoke id (0..255), BACSC_ERR_LIMIT (max_pending requests in
 * flight, or — bacsc_client_too_large() then says so — the APDU is larger
 * than the Max_APDU_Length_Accepted `dest` announced in its I-Am; nothing is
 * sent), BACSC_ERR_AGAIN (all 256 invoke ids in flight to `dest`),
 * BACSC_ERR_INVALID_ARG (broadcast destination, payload too large for the
 * datalink), BACSC_ERR_NOMEM. A send callback failure is not an error here:
 * the retry timer covers it.
 */
int bacsc_client_request(bacsc_client *cl, const bacsc_address *dest, uint8_t service,
                         const uint8_t *payload, size_t payload_len, bacsc_client_done_fn done,
                         void *user, uint64_t now);

/* Whether the last bacsc_client_request() (or wrapper) was refused because
 * the request (*apdu_len octets) is larger than the destination accepts
 * (*peer_max, from its I-Am). Either pointer may be NULL. */
bool bacsc_client_too_large(const bacsc_client *cl, size_t *apdu_len, unsigned *peer_max);

/* Convenience wrappers: encode the service request and call
 * bacsc_client_request(). Same returns, plus the encoder's
 * BACSC_ERR_INVALID_ARG. */
int bacsc_client_read_property(bacsc_client *cl, const bacsc_address *dest,
                               const bacsc_rp_request *rp, bacsc_client_done_fn done, void *user,
                               uint64_t now);
int bacsc_client_write_property(bacsc_client *cl, const bacsc_address *dest,
                                const bacsc_wp_request *wp, bacsc_client_done_fn done, void *user,
                                uint64_t now);

/* One object's part of a ReadPropertyMultiple request. */
typedef struct bacsc_rpm_spec {
    bacsc_object_id object;
    const bacsc_rpm_ref *refs;
    size_t nrefs;                    /* >= 1 */
} bacsc_rpm_spec;
int bacsc_client_read_property_multiple(bacsc_client *cl, const bacsc_address *dest,
                                        const bacsc_rpm_spec *specs, size_t nspecs,
                                        bacsc_client_done_fn done, void *user, uint64_t now);
int bacsc_client_atomic_read_file(bacsc_client *cl, const bacsc_address *dest,
                                  const bacsc_arf_request *r, bacsc_client_done_fn done,
                                  void *user, uint64_t now);
int bacsc_client_atomic_write_file(bacsc_client *cl, const bacsc_address *dest,
                                   const bacsc_awf_request *r, bacsc_client_done_fn done,
                                   void *user, uint64_t now);
int bacsc_client_reinitialize(bacsc_client *cl, const bacsc_address *dest,
                              const bacsc_reinit_request *r, bacsc_client_done_fn done,
                              void *user, uint64_t now);
/* DeviceCommunicationControl; with state enable and the device's password
 * this also opens a commissioning session for this client's address (see
 * bacsc/device.h). */
int bacsc_client_dcc(bacsc_client *cl, const bacsc_address *dest, const bacsc_dcc_request *r,
                     bacsc_client_done_fn done, void *user, uint64_t now);

/*
 * Send a Who-Is to `dest` (NULL = local broadcast) for instances low..high
 * (has_range false = all). Answers land in the device table and on_iam.
 * Returns BACSC_OK or the encoder's / send callback's error.
 */
int bacsc_client_whois(bacsc_client *cl, const bacsc_address *dest, const bacsc_whois *w,
                       uint64_t now);

/* Devices seen in I-Am answers, in order of first appearance (a device that
 * moves keeps its slot with the new address). When the table is full, new
 * devices are reported through on_iam only. */
size_t bacsc_client_device_count(const bacsc_client *cl);
const bacsc_client_device *bacsc_client_device_at(const bacsc_client *cl, size_t i);
const bacsc_client_device *bacsc_client_find_device(const bacsc_client *cl, uint32_t instance);
/* Forget all devices. */
void bacsc_client_clear_devices(bacsc_client *cl);

/* A one-line description of a result ("ack", "error: property/unknown-property",
 * "reject: unrecognized-service", "abort: segmentation-not-supported",
 * "timeout after 4 attempts"), into buf; returns buf. */
char *bacsc_client_result_format(const bacsc_client_result *r, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
