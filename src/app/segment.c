/*
 * segment.c — segmented ComplexACKs, both ends (bacsc/segment.h).
 */
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/segment.h"

#define APDU_BUF 1600

unsigned bacsc_max_segments(uint8_t code)
{
    /* 0 unspecified, 1 = 2, 2 = 4, ... 6 = 64, 7 = more than 64 */
    return code == 0 || code >= 7 ? 0 : 1u << code;
}

int bacsc_segment_ack_encode(uint8_t *buf, size_t cap, uint8_t invoke_id, uint8_t seq,
                             uint8_t window, bool nak, bool server)
{
    bacsc_apdu a;
    memset(&a, 0, sizeof a);
    a.type = BACSC_PDU_SEGMENT_ACK;
    a.invoke_id = invoke_id;
    a.sequence_number = seq;
    a.window_size = window;
    a.nak = nak;
    a.server = server;
    return bacsc_apdu_encode(buf, cap, &a);
}

/* ---- sender ------------------------------------------------------------------- */

uint32_t bacsc_segtx_count(size_t len, size_t seg_len)
{
    return seg_len ? (uint32_t)((len + seg_len - 1) / seg_len) : 0;
}

static void send_segment(const bacsc_segtx *t, uint32_t i, bacsc_seg_emit_fn emit, void *user)
{
    uint8_t buf[APDU_BUF];
    size_t off = (size_t)i * t->seg_len;
    size_t n = t->len - off < t->seg_len ? t->len - off : t->seg_len;
    bacsc_apdu a;
    if (t->request) {
        bacsc_apdu_init_confirmed(&a, t->service, t->invoke_id, t->max_resp);
        a.max_segs = t->max_segs;
        a.segmented_response_accepted = t->sa;
    } else {
        bacsc_apdu_init_complex_ack(&a, t->service, t->invoke_id);
    }
    a.segmented = true;
    a.more_follows = i + 1 < t->nsegs;
    a.sequence_number = (uint8_t)i;
    a.window_size = t->proposed;
    a.data = t->data + off;
    a.data_len = n;
    int len = bacsc_apdu_encode(buf, sizeof buf, &a);
    if (len > 0)
        emit(user, buf, (size_t)len);
}

/* Send the segments of the current window (clause 5.4.5.3 FillWindow). */
static void fill_window(bacsc_segtx *t, bacsc_seg_emit_fn emit, void *user)
{
    for (uint32_t i = t->initial; i < t->initial + t->window && i < t->nsegs; i++)
        send_segment(t, i, emit, user);
}

/* Start either kind; t->request and its header fields are set already. */
static int start(bacsc_segtx *t, uint8_t invoke_id, uint8_t service, const uint8_t *data,
                 size_t len, size_t seg_len, uint8_t window, uint64_t timeout, unsigned retries,
                 uint64_t now, bacsc_seg_emit_fn emit, void *user)
{
    if (seg_len == 0 || seg_len > APDU_BUF - BACSC_SEG_REQ_HEADER || window < 1 ||
        window > 127 || len <= seg_len)
        return BACSC_ERR_INVALID_ARG;
    t->data = malloc(len);
    if (t->data == NULL)
        return BACSC_ERR_NOMEM;
    memcpy(t->data, data, len);
    t->active = true;
    t->invoke_id = invoke_id;
    t->service = service;
    t->len = len;
    t->seg_len = seg_len;
    t->nsegs = bacsc_segtx_count(len, seg_len);
    t->initial = 0;
    t->window = 1;              /* the first segment alone (clause 5.4.5.3) */
    t->proposed = window;
    t->timeout = timeout;
    t->retries = retries;
    t->deadline = now + timeout;
    fill_window(t, emit, user);
    return BACSC_OK;
}

int bacsc_segtx_start(bacsc_segtx *t, uint8_t invoke_id, uint8_t service, const uint8_t *data,
                      size_t len, size_t seg_len, uint8_t window, uint64_t timeout,
                      unsigned retries, uint64_t now, bacsc_seg_emit_fn emit, void *user)
{
    memset(t, 0, sizeof *t);
    return start(t, invoke_id, service, data, len, seg_len, window, timeout, retries, now, emit,
                 user);
}

int bacsc_segtx_start_request(bacsc_segtx *t, uint8_t invoke_id, uint8_t service,
                              uint8_t max_resp, uint8_t max_segs, bool sa, const uint8_t *data,
                              size_t len, size_t seg_len, uint8_t window, uint64_t timeout,
                              unsigned retries, uint64_t now, bacsc_seg_emit_fn emit,
                              void *user)
{
    memset(t, 0, sizeof *t);
    t->request = true;
    t->max_resp = max_resp;
    t->max_segs = max_segs;
    t->sa = sa;
    int rc = start(t, invoke_id, service, data, len, seg_len, window, timeout, retries, now, emit,
                   user);
    if (rc != BACSC_OK)
        memset(t, 0, sizeof *t);
    return rc;
}

int bacsc_segtx_ack(bacsc_segtx *t, const bacsc_apdu *a, uint64_t now, bacsc_seg_emit_fn emit,
                    void *user)
{
    if (!t->active || a->type != BACSC_PDU_SEGMENT_ACK)
        return 0;
    /* Which absolute segment does the sequence number name? It must lie in
     * the window sent (initial .. initial + window - 1); a NAK may also name
     * the one before it (nothing of this window arrived). */
    uint32_t first = t->initial ? t->initial - 1 : 0;
    uint32_t last = t->initial + t->window - 1;
    uint32_t hit = UINT32_MAX;
    for (uint32_t i = first; i <= last && i < t->nsegs; i++)
        if ((uint8_t)i == a->sequence_number)
            hit = i;
    if (hit == UINT32_MAX || (hit + 1 == t->initial && !a->nak)) {
        t->deadline = now + t->timeout;      /* duplicate ACK: restart the timer */
        return 0;
    }
    if (hit + 1 >= t->nsegs && !a->nak)
        return 1;                            /* the final segment is acknowledged */
    t->initial = hit + 1;
    t->window = a->window_size ? a->window_size : 1;
    t->retry_count = 0;
    t->deadline = now + t->timeout;
    fill_window(t, emit, user);
    return 0;
}

int bacsc_segtx_expiry(bacsc_segtx *t, uint64_t now, bacsc_seg_emit_fn emit, void *user)
{
    if (!t->active || now < t->deadline)
        return 0;
    if (t->retry_count >= t->retries)
        return 1;
    t->retry_count++;
    t->deadline = now + t->timeout;
    fill_window(t, emit, user);
    return 0;
}

void bacsc_segtx_free(bacsc_segtx *t)
{
    free(t->data);
    memset(t, 0, sizeof *t);
}

/* ---- receiver ----------------------------------------------------------------- */

static void send_ack(const bacsc_segrx *r, uint8_t id, uint8_t seq, bool nak,
                     bacsc_seg_emit_fn emit, void *user)
{
    uint8_t buf[8];
    int n = bacsc_segment_ack_encode(buf, sizeof buf, id, seq, r->window, nak, r->server);
    if (n > 0)
        emit(user, buf, (size_t)n);
}

static int append(bacsc_segrx *r, const uint8_t *d, size_t n, size_t max_len, uint8_t *reason)
{
    if (n > max_len - r->len || (r->max_segs && r->count >= r->max_segs)) {
        *reason = BACSC_ABORT_BUFFER_OVERFLOW;
        return BACSC_ERR_MALFORMED;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4096;
        while (cap < r->len + n)
            cap *= 2;
        if (cap > max_len)
            cap = max_len;
        uint8_t *p = realloc(r->data, cap ? cap : 1);
        if (p == NULL) {
            *reason = BACSC_ABORT_OUT_OF_RESOURCES;
            return BACSC_ERR_MALFORMED;
        }
        r->data = p;
        r->cap = cap;
    }
    if (n)
        memcpy(r->data + r->len, d, n);
    r->len += n;
    r->count++;
    return BACSC_OK;
}

int bacsc_segrx_segment(bacsc_segrx *r, const bacsc_apdu *a, uint8_t our_window, size_t max_len,
                        uint64_t timeout, uint64_t now, bacsc_seg_emit_fn emit, void *user,
                        uint8_t *abort_reason)
{
    if (!r->active) {
        if (a->sequence_number != 0) {
            *abort_reason = BACSC_ABORT_INVALID_APDU_IN_THIS_STATE;
            return BACSC_ERR_MALFORMED;
        }
        r->active = true;
        r->len = 0;
        r->count = 0;
        r->window = a->window_size < our_window ? a->window_size : our_window;
        if (r->window == 0)
            r->window = 1;
        if (append(r, a->data, a->data_len, max_len, abort_reason) < 0)
            return BACSC_ERR_MALFORMED;
        r->last_seq = 0;
        r->initial_seq = 0;
        r->deadline = now + timeout;
        send_ack(r, a->invoke_id, 0, false, emit, user);
        return a->more_follows ? BACSC_SEGRX_MORE : BACSC_SEGRX_DONE;
    }
    r->deadline = now + timeout;
    if (a->sequence_number != (uint8_t)(r->last_seq + 1)) {
        /* lost or duplicate: say where we are (clause 5.4.4.3 SegmentReceivedOutOfOrder) */
        send_ack(r, a->invoke_id, r->last_seq, true, emit, user);
        return BACSC_SEGRX_MORE;
    }
    if (append(r, a->data, a->data_len, max_len, abort_reason) < 0)
        return BACSC_ERR_MALFORMED;
    r->last_seq = a->sequence_number;
    if (!a->more_follows) {
        send_ack(r, a->invoke_id, r->last_seq, false, emit, user);
        return BACSC_SEGRX_DONE;
    }
    if (a->sequence_number == (uint8_t)(r->initial_seq + r->window)) {
        send_ack(r, a->invoke_id, r->last_seq, false, emit, user);
        r->initial_seq = a->sequence_number;
    }
    return BACSC_SEGRX_MORE;
}

void bacsc_segrx_free(bacsc_segrx *r)
{
    bool server = r->server;
    uint32_t max_segs = r->max_segs;
    free(r->data);
    memset(r, 0, sizeof *r);
    r->server = server;        /* the caller's settings outlive a transaction */
    r->max_segs = max_segs;
}
