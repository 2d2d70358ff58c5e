/*
 * device_seg.c — segmented answers of the device server: an ACK longer than
 * the requester's max-APDU goes out in segments (bacsc/segment.h) when the
 * request said it accepts them (SA) and within its max-segments-accepted.
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

int dev_seg_input(bacsc_device *dev, const bacsc_address *from, const bacsc_apdu *a,
                  uint64_t now)
{
    if (a->server)
        return BACSC_ERR_NOT_FOUND;          /* for a client of ours */
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
}

void dev_seg_free_all(bacsc_device *dev)
{
    for (int i = 0; i < DEV_SEG_MAX; i++)
        bacsc_segtx_free(&dev->seg[i].tx);
}
