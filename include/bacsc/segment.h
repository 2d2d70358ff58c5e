/*
 * bacsc/segment.h — segmentation of ComplexACKs (ASHRAE 135 clause 5.2,
 * 5.4.4 and 5.4.5), sans-I/O: both ends of a segmented answer as small state
 * machines driven by received APDUs and `now` (monotonic microseconds).
 *
 *  - bacsc_segtx, the sending side (a server's segmented ComplexACK or —
 *    bacsc_segtx_start_request() — a client's segmented Confirmed-Request,
 *    clause 5.4.4.2): the whole ACK body (or service request) is kept, cut into
 *    segments of `seg_len` octets (ComplexACK header SEG, MOR, sequence
 *    number, proposed window size) and sent a window at a time: the first
 *    segment alone, then as many as the client's actual window size allows
 *    after each Segment-ACK. A Segment-ACK (or NAK) for a segment in the
 *    window moves the window on past it; one outside is a duplicate and only
 *    restarts the timer. When the segment timer runs out the window is sent
 *    again, `retries` times, then the transaction is dropped (clause 5.4.5.3).
 *  - bacsc_segrx, the receiving side (a client taking a segmented ComplexACK,
 *    or — `server` set — a server taking a segmented Confirmed-Request,
 *    clause 5.4.5.2): segments are reassembled in order; the
 *    first one, the last one, and every one that fills the actual window are
 *    acknowledged; a segment out of order (lost or duplicate) is dropped and
 *    answered with a Segment-NAK naming the last good one (clause 5.4.4.3).
 *    More than `max_len` octets, or no segment within the timeout, ends the
 *    transaction with an Abort reason for the caller to send.
 *
 * Sequence numbers are modulo 256 on the wire; the sender counts segments
 * absolutely, so answers may have more than 256 segments. No I/O: APDUs to
 * send go out through the `emit` callback given to each call.
 */
#ifndef BACSC_SEGMENT_H
#define BACSC_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/apdu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Octets of a segmented ComplexACK header (type, invoke id, sequence number,
 * proposed window size, service choice). */
#define BACSC_SEG_ACK_HEADER 5
/* Octets of a segmented Confirmed-Request header (type, max segs/APDU,
 * invoke id, sequence number, proposed window size, service choice). */
#define BACSC_SEG_REQ_HEADER 6
#define BACSC_SEG_WINDOW_DEFAULT 16
#define BACSC_SEG_TIMEOUT_DEFAULT_US 2000000ull

/* An APDU to send (valid during the call). */
typedef void (*bacsc_seg_emit_fn)(void *user, const uint8_t *apdu, size_t len);

/* ---- sender --------------------------------------------------------------- */

typedef struct bacsc_segtx {
    bool active;
    uint8_t invoke_id;
    uint8_t service;
    uint8_t *data;             /* the whole ACK body (owned) */
    size_t len;
    size_t seg_len;            /* ACK data octets per segment */
    uint32_t nsegs;
    uint32_t initial;          /* first segment not yet acknowledged */
    uint32_t window;           /* actual window size (1 until the first ACK) */
    uint8_t proposed;          /* our proposed window size */
    uint64_t timeout;
    unsigned retries;
    unsigned retry_count;
    uint64_t deadline;
    /* Confirmed-Request segments (bacsc_segtx_start_request()) */
    bool request;
    uint8_t max_resp;          /* max-APDU code of the request header */
    uint8_t max_segs;          /* max-segments code */
    bool sa;                   /* segmented response accepted */
} bacsc_segtx;

/*
 * Start sending `len` octets of ACK data (copied) for `invoke_id`/`service`
 * in segments of `seg_len` octets (max APDU - BACSC_SEG_ACK_HEADER); sends
 * the first segment. Returns BACSC_OK, BACSC_ERR_INVALID_ARG (seg_len 0,
 * window outside 1..127, a single segment would do), BACSC_ERR_NOMEM.
 */
int bacsc_segtx_start(bacsc_segtx *t, uint8_t invoke_id, uint8_t service, const uint8_t *data,
                      size_t len, size_t seg_len, uint8_t window, uint64_t timeout,
                      unsigned retries, uint64_t now, bacsc_seg_emit_fn emit, void *user);
/*
 * The same for a segmented Confirmed-Request (clause 5.4.4.2): `data` is the
 * service request, cut into segments of `seg_len` octets (the server's max
 * APDU - BACSC_SEG_REQ_HEADER); each segment's header carries max_resp /
 * max_segs codes and SA as given. The server's Segment-ACKs (SRV set) go
 * to bacsc_segtx_ack() as for an answer.
 */
int bacsc_segtx_start_request(bacsc_segtx *t, uint8_t invoke_id, uint8_t service,
                              uint8_t max_resp, uint8_t max_segs, bool sa, const uint8_t *data,
                              size_t len, size_t seg_len, uint8_t window, uint64_t timeout,
                              unsigned retries, uint64_t now, bacsc_seg_emit_fn emit,
                              void *user);
/* Number of segments `len` octets take at `seg_len` per segment. */
uint32_t bacsc_segtx_count(size_t len, size_t seg_len);
/*
 * A Segment-ACK (a->type BACSC_PDU_SEGMENT_ACK from the client) for this
 * transaction. Returns 1 when the last segment is acknowledged (the
 * transaction is over: call bacsc_segtx_free()), else 0 (next window sent,
 * or a duplicate ignored).
 */
int bacsc_segtx_ack(bacsc_segtx *t, const bacsc_apdu *a, uint64_t now, bacsc_seg_emit_fn emit,
                    void *user);
/* Timer: at or after t->deadline, resend the window; returns 1 when the
 * retries are used up (drop the transaction), else 0. */
int bacsc_segtx_expiry(bacsc_segtx *t, uint64_t now, bacsc_seg_emit_fn emit, void *user);
void bacsc_segtx_free(bacsc_segtx *t);

/* ---- receiver ------------------------------------------------------------- */

typedef struct bacsc_segrx {
    bool active;
    uint8_t *data;             /* reassembled ACK data (owned) */
    size_t len, cap;
    uint8_t last_seq;          /* last segment received in order */
    uint8_t initial_seq;       /* first segment of the current window */
    uint8_t window;            /* actual window size */
    uint64_t deadline;         /* no segment by then: give up */
    /* Set by the caller before the first segment (zero: a client, no limit). */
    bool server;               /* Segment-ACKs go out with SRV set */
    uint32_t max_segs;         /* more segments than this: buffer-overflow */
    uint32_t count;            /* segments taken so far */
} bacsc_segrx;

enum { BACSC_SEGRX_MORE = 0, BACSC_SEGRX_DONE = 1 };

/*
 * Take one segment (a ComplexACK with SEG set) of the answer being
 * received. `our_window` (1..127) caps the actual window size; `max_len`
 * bounds the reassembled length; the deadline becomes now + timeout.
 * A Segment-ACK to send, if any, goes out through `emit` (invoke id from
 * the segment). Returns BACSC_SEGRX_MORE, BACSC_SEGRX_DONE (r->data/len
 * hold the whole ACK data; the caller takes it and calls bacsc_segrx_free()),
 * or BACSC_ERR_MALFORMED with *abort_reason set (the caller sends that
 * Abort and ends the transaction): invalid-apdu-in-this-state (a first
 * segment that is not sequence number 0), buffer-overflow (too long, or
 * more than r->max_segs segments), out-of-resources (memory).
 */
int bacsc_segrx_segment(bacsc_segrx *r, const bacsc_apdu *a, uint8_t our_window, size_t max_len,
                        uint64_t timeout, uint64_t now, bacsc_seg_emit_fn emit, void *user,
                        uint8_t *abort_reason);
void bacsc_segrx_free(bacsc_segrx *r);

/* Encode a Segment-ACK (`server` = sent by the server). Returns the length. */
int bacsc_segment_ack_encode(uint8_t *buf, size_t cap, uint8_t invoke_id, uint8_t seq,
                             uint8_t window, bool nak, bool server);

/* Max-segments-accepted code (0..7) → segments (0 = unspecified/unlimited). */
unsigned bacsc_max_segments(uint8_t code);

#ifdef __cplusplus
}
#endif
#endif
