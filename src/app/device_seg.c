/*
 * device_seg.c — segmentation in the device server (bacsc/segment.h):
 *  - answers: an ACK longer than the requester's max-APDU goes out in
 *    segments when the request said it accepts them (SA) and within its
 *    max-segments-accepted;
 *  - requests (clause 5.4.5.2): a segmented Confirmed-Request is reassembled
 *    — Segment-ACK (SRV set) for the first segment, each full window and the
 *    last; a segment out of order or a duplicate is dropped and NAKed —
 *    then carried out like any request. Limits: DEV_SEGRX_MAX requests at
 *    once (else Abort out-of-resources), DEV_SEGRX_SEGS segments and
 *    DEV_SEGRX_BODY_MAX octets each (else Abort buffer-overflow); a request
 *    whose segments stop for 4 x APDU_Segment_Timeout is dropped silently
 *    (clause 5.4.5.2 SEGMENTED_REQUEST Timeout); a later segment of a
 *    request not under way is dropped (its final Segment-ACK may have been
 *    lost after the answer went out).
 */
#include <stdlib.h>
#include <string.h>

#include "app/device_internal.h"

/* Grow the value/body buffers to DEV_SEG_BODY_MAX (once). */
static bool grow_buffers(bacsc_device *dev)
{
    if (dev->buf_cap >= DEV_SEG_BODY_MAX)
        return true;
    uint8_t *v = malloc(DEV_SEG_BODY_MAX);
    uint8_t *b = malloc(DEV_SEG_BODY_MAX);
    if (v == NULL || b == NULL) {
        free(v);
        free(b);
        return false;
    }
    free(dev->value);
    free(dev->body);
    dev->value = v;
    dev->body = b;
    dev->buf_cap = DEV_SEG_BODY_MAX;
    return true;
}

void dev_seg_prepare(bacsc_device *dev, dev_request *rq, uint8_t max_segs_code)
{
    rq->seg_total = 0;
    if (!rq->seg_accepted || !dev->seg_enabled || rq->max_resp <= BACSC_SEG_ACK_HEADER ||
        !grow_buffers(dev))
        return;
    size_t seg_len = rq->max_resp - BACSC_SEG_ACK_HEADER;
    unsigned segs = bacsc_max_segments(max_segs_code);
    size_t total = dev->buf_cap;
    if (segs && (size_t)segs * seg_len < total)
        total = (size_t)segs * seg_len;
    rq->seg_total = total;
}

static dev_segtxn *find(bacsc_device *dev, const bacsc_address *from, uint8_t id)
{
    for (int i = 0; i < DEV_SEG_MAX; i++) {
        dev_segtxn *s = &dev->seg[i];
        if (s->tx.active && s->tx.invoke_id == id && bacsc_address_equal(&s->to, from))
            return s;
    }
    return NULL;
}

bool dev_seg_busy(const bacsc_device *dev, const bacsc_address *from, uint8_t invoke_id)
{
    return find((bacsc_device *)dev, from, invoke_id) != NULL;
}

typedef struct emit_ctx {
    bacsc_device *dev;
    const dev_segtxn *s;
} emit_ctx;

static void emit(void *user, const uint8_t *apdu, size_t len)
{
    emit_ctx *c = user;
    /* A failed send is a lost segment: the segment timer covers it. */
    dev_send_npdu(c->dev, &c->s->to, c->s->priority, false, apdu, len);
}

bool dev_seg_send(bacsc_device *dev, const dev_request *rq, size_t len, uint64_t now)
{
    if (rq->seg_total == 0 || len > rq->seg_total)
        return false;
    dev_segtxn *s = NULL;
    for (int i = 0; i < DEV_SEG_MAX && !s; i++)
        if (!dev->seg[i].tx.active)
            s = &dev->seg[i];
    if (s == NULL)
        return false;
    s->to = rq->reply;
    s->priority = rq->priority;
    emit_ctx c = {dev, s};
    int rc = bacsc_segtx_start(&s->tx, rq->invoke_id, rq->service, dev->body, len,
                               rq->max_resp - BACSC_SEG_ACK_HEADER, dev->seg_window,
                               dev->seg_timeout_us, dev->apdu_retries, now, emit, &c);
    if (rc != BACSC_OK)
        return false;
    dev->stats.segmented++;
    return true;
}

/* ---- segmented requests ----------------------------------------------------------- */

static dev_segrxn *find_rx(bacsc_device *dev, const bacsc_address *from, uint8_t id)
{
    for (int i = 0; i < DEV_SEGRX_MAX; i++) {
        dev_segrxn *s = &dev->segrx[i];
        if (s->rx.active && s->invoke_id == id && bacsc_address_equal(&s->from, from))
            return s;
    }
    return NULL;
}

typedef struct emit_rx_ctx {
    bacsc_device *dev;
    const dev_segrxn *s;
} emit_rx_ctx;

static void emit_rx(void *user, const uint8_t *apdu, size_t len)
{
    emit_rx_ctx *c = user;
    dev_send_npdu(c->dev, &c->s->from, c->s->priority, false, apdu, len);
}

/* A free slot for the first segment of a new request (NULL: all busy). */
static dev_segrxn *new_rx(bacsc_device *dev, const dev_request *rq, const bacsc_apdu *a)
{
    for (int i = 0; i < DEV_SEGRX_MAX; i++) {
        dev_segrxn *s = &dev->segrx[i];
        if (s->rx.active)
            continue;
        bacsc_segrx_free(&s->rx);
        s->rx.server = true;
        s->rx.max_segs = DEV_SEGRX_SEGS;
        s->from = rq->reply;
        s->invoke_id = a->invoke_id;
        s->service = a->service;
        s->priority = rq->priority;
        return s;
    }
    return NULL;
}

void dev_segrx_input(bacsc_device *dev, dev_request *rq, const bacsc_apdu *a, uint64_t now)
{
    if (!dev->seg_enabled) {
        dev->stats.requests++;
        dev_send_abort(dev, rq, BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED);
        return;
    }
    dev_segrxn *s = find_rx(dev, &rq->reply, a->invoke_id);
    if (s == NULL) {
        if (a->sequence_number != 0) {
            dev->stats.dropped++;            /* nothing under way: a stray segment */
            return;
        }
        s = new_rx(dev, rq, a);
        if (s == NULL) {
            dev->stats.requests++;
            dev_send_abort(dev, rq, BACSC_ABORT_OUT_OF_RESOURCES);
            return;
        }
    }
    emit_rx_ctx c = {dev, s};
    uint8_t reason = BACSC_ABORT_OTHER;
    int rc = bacsc_segrx_segment(&s->rx, a, dev->seg_window, DEV_SEGRX_BODY_MAX,
                                 4 * dev->seg_timeout_us, now, emit_rx, &c, &reason);
    if (rc == BACSC_SEGRX_MORE)
        return;
    rq->service = s->service;
    dev->stats.requests++;
    if (rc < 0) {
        bacsc_segrx_free(&s->rx);
        dev_send_abort(dev, rq, reason);
        return;
    }
    uint8_t *data = s->rx.data;              /* the whole request: ours now */
    size_t len = s->rx.len;
    s->rx.data = NULL;
    bacsc_segrx_free(&s->rx);
    dev_dispatch_confirmed(dev, rq, data, len, now);
    free(data);
}

/* ---- Segment-ACKs and Aborts from clients ------------------------------------------- */

int dev_seg_input(bacsc_device *dev, const bacsc_address *from, const bacsc_apdu *a,
                  uint64_t now)
{
    if (a->server)
        return BACSC_ERR_NOT_FOUND;          /* for a client of ours */
    if (a->type == BACSC_PDU_ABORT) {
        dev_segrxn *r = find_rx(dev, from, a->invoke_id);
        if (r) {
            bacsc_segrx_free(&r->rx);        /* the client gave up sending */
            return BACSC_OK;
        }
    }
    dev_segtxn *s = find(dev, from, a->invoke_id);
    if (s == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (a->type == BACSC_PDU_ABORT) {
        bacsc_segtx_free(&s->tx);            /* the client gave up */
        return BACSC_OK;
    }
    emit_ctx c = {dev, s};
    if (bacsc_segtx_ack(&s->tx, a, now, emit, &c) == 1)
        bacsc_segtx_free(&s->tx);
    return BACSC_OK;
}

uint64_t bacsc_device_expiry(const bacsc_device *dev)
{
    uint64_t t = UINT64_MAX;
    for (int i = 0; i < DEV_SEG_MAX; i++)
        if (dev->seg[i].tx.active && dev->seg[i].tx.deadline < t)
            t = dev->seg[i].tx.deadline;
    for (int i = 0; i < DEV_SEGRX_MAX; i++)
        if (dev->segrx[i].rx.active && dev->segrx[i].rx.deadline < t)
            t = dev->segrx[i].rx.deadline;
    return t;
}

void bacsc_device_handle_expiry(bacsc_device *dev, uint64_t now)
{
    for (int i = 0; i < DEV_SEG_MAX; i++) {
        dev_segtxn *s = &dev->seg[i];
        emit_ctx c = {dev, s};
        if (s->tx.active && bacsc_segtx_expiry(&s->tx, now, emit, &c) == 1) {
            bacsc_segtx_free(&s->tx);        /* retries used up (clause 5.4.5.3) */
            dev->stats.aborts++;
        }
    }
    for (int i = 0; i < DEV_SEGRX_MAX; i++) {
        dev_segrxn *r = &dev->segrx[i];
        if (r->rx.active && now >= r->rx.deadline) {
            bacsc_segrx_free(&r->rx);        /* the segments stopped coming */
            dev->stats.dropped++;
        }
    }
}

void dev_seg_free_all(bacsc_device *dev)
{
    for (int i = 0; i < DEV_SEG_MAX; i++)
        bacsc_segtx_free(&dev->seg[i].tx);
    for (int i = 0; i < DEV_SEGRX_MAX; i++)
        bacsc_segrx_free(&dev->segrx[i].rx);
}
