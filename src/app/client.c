/*
 * client.c — the BACnet client side (bacsc/client.h): a bounded table of
 * requests in flight, invoke-ID allocation per destination, retransmission
 * on `now`-driven timers, response matching, and the I-Am table.
 *
 * The pending table is a fixed array (max_pending slots) scanned linearly:
 * a client has tens of requests in flight, and a scan keeps allocation out
 * of the hot path except the one copy of each request's NPDU kept for
 * retransmission.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/client.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/segment.h"

#define APDU_MAX 1476
#define NPDU_HEADROOM 32
#define SEG_ACK_MAX_DEFAULT (1024u * 1024u)
/* The largest WriteProperty / AtomicWriteFile request the wrappers encode
 * (more than one APDU goes out in segments when the device takes them). */
#define REQ_BODY_MAX (16u * 1024u + 64u)

typedef struct pending {
    bool used;
    bacsc_address dest;
    uint8_t invoke_id;
    uint8_t service;
    uint8_t *npdu;             /* the request as sent, for retransmission */
    size_t npdu_len;
    uint64_t deadline;
    unsigned attempts;
    bacsc_client_done_fn done;
    void *user;
    bacsc_segrx rx;            /* a segmented answer being reassembled */
    bacsc_segtx tx;            /* a segmented request being sent (npdu NULL) */
} pending;

struct bacsc_client {
    bacsc_datalink link;
    uint64_t timeout;
    unsigned retries;
    unsigned max_apdu;
    bool segmentation;
    size_t max_ack_len;
    uint8_t window;
    size_t too_large_len;        /* the last request refused as larger than the peer takes */
    unsigned too_large_max;
    bacsc_client_iam_fn on_iam;
    void *user;

    pending *slots;
    size_t max_pending;
    size_t npending;
    uint8_t next_id;           /* where the invoke-id search starts */

    bacsc_client_device *devices;
    size_t ndevices;
    size_t max_devices;

    uint8_t apdu[APDU_MAX + 8];
    uint8_t out[NPDU_HEADROOM + APDU_MAX + 8];
};

int bacsc_client_new(const bacsc_client_config *cfg, bacsc_client **out)
{
    if (cfg == NULL || out == NULL || cfg->link.send == NULL ||
        cfg->max_pending > BACSC_CLIENT_MAX_PENDING_LIMIT)
        return BACSC_ERR_INVALID_ARG;
    unsigned max_apdu = cfg->max_apdu ? cfg->max_apdu : APDU_MAX;
    if (max_apdu < 50 || max_apdu > APDU_MAX)
        return BACSC_ERR_INVALID_ARG;
    bacsc_client *cl = calloc(1, sizeof *cl);
    if (cl == NULL)
        return BACSC_ERR_NOMEM;
    cl->link = cfg->link;
    if (cl->link.max_npdu == 0)
        cl->link.max_npdu = BACSC_NPDU_MIN_MAX_LEN;
    cl->timeout = cfg->apdu_timeout_us ? cfg->apdu_timeout_us : 3000000;
    cl->retries = cfg->retries_set ? cfg->retries : 3;
    cl->max_apdu = max_apdu;
    cl->segmentation = !cfg->no_segmentation;
    cl->max_ack_len = cfg->max_ack_len ? cfg->max_ack_len : SEG_ACK_MAX_DEFAULT;
    cl->window = cfg->window && cfg->window <= 127 ? cfg->window : BACSC_SEG_WINDOW_DEFAULT;
    cl->on_iam = cfg->on_iam;
    cl->user = cfg->user;
    cl->max_pending = cfg->max_pending ? cfg->max_pending : BACSC_CLIENT_MAX_PENDING_DEFAULT;
    cl->max_devices = cfg->max_devices ? cfg->max_devices : BACSC_CLIENT_MAX_DEVICES_DEFAULT;
    cl->slots = calloc(cl->max_pending, sizeof *cl->slots);
    cl->devices = calloc(cl->max_devices, sizeof *cl->devices);
    if (cl->slots == NULL || cl->devices == NULL) {
        free(cl->slots);
        free(cl->devices);
        free(cl);
        return BACSC_ERR_NOMEM;
    }
    *out = cl;
    return BACSC_OK;
}

static void complete(bacsc_client *cl, pending *p, bacsc_client_result *r)
{
    /* Free the slot before the callback, which may issue new requests. */
    bacsc_client_done_fn done = p->done;
    void *user = p->user;
    bacsc_address dest = p->dest;
    r->service = p->service;
    r->invoke_id = p->invoke_id;
    r->attempts = p->attempts;
    r->peer = &dest;
    free(p->npdu);
    bacsc_segtx_free(&p->tx);
    bacsc_segrx rx = p->rx;            /* r->ack may point into it */
    memset(p, 0, sizeof *p);
    cl->npending--;
    if (done)
        done(user, r);
    bacsc_segrx_free(&rx);
}

void bacsc_client_free(bacsc_client *cl)
{
    if (cl == NULL)
        return;
    for (size_t i = 0; i < cl->max_pending; i++) {
        if (cl->slots[i].used) {
            bacsc_client_result r;
            memset(&r, 0, sizeof r);
            r.outcome = BACSC_CLIENT_CANCELLED;
            complete(cl, &cl->slots[i], &r);
        }
    }
    free(cl->slots);
    free(cl->devices);
    free(cl);
}

size_t bacsc_client_pending(const bacsc_client *cl)
{
    return cl->npending;
}

/* ---- sending ----------------------------------------------------------------- */

static int encode_npdu(bacsc_client *cl, const bacsc_address *dest, bool expecting_reply,
                       const uint8_t *apdu, size_t apdu_len)
{
    bacsc_npdu n;
    bacsc_address_to_npdu(dest, expecting_reply, &n);
    n.payload = apdu;
    n.payload_len = apdu_len;
    int len = bacsc_npdu_encode(cl->out, sizeof cl->out, &n);
    if (len < 0)
        return len;
    if ((size_t)len > cl->link.max_npdu)
        return BACSC_ERR_INVALID_ARG;
    return len;
}

static bool id_in_use(const bacsc_client *cl, const bacsc_address *dest, uint8_t id)
{
    for (size_t i = 0; i < cl->max_pending; i++) {
        const pending *p = &cl->slots[i];
        if (p->used && p->invoke_id == id && bacsc_address_equal(&p->dest, dest))
            return true;
    }
    return false;
}

static const bacsc_client_device *find_by_address(const bacsc_client *cl,
                                                  const bacsc_address *a)
{
    for (size_t i = 0; i < cl->ndevices; i++)
        if (bacsc_address_equal(&cl->devices[i].address, a))
            return &cl->devices[i];
    return NULL;
}

bool bacsc_client_too_large(const bacsc_client *cl, size_t *apdu_len, unsigned *peer_max)
{
    if (!cl->too_large_len)
        return false;
    if (apdu_len)
        *apdu_len = cl->too_large_len;
    if (peer_max)
        *peer_max = cl->too_large_max;
    return true;
}

/* The unsegmented Confirmed-Request header: type, max segs/APDU, invoke id,
 * service choice. */
#define CONFIRMED_HEADER 4

typedef struct seg_emit_ctx {
    bacsc_client *cl;
    const bacsc_address *to;
} seg_emit_ctx;

static void seg_emit(void *user, const uint8_t *apdu, size_t len)
{
    seg_emit_ctx *c = user;
    int n = encode_npdu(c->cl, c->to, apdu[0] >> 4 == BACSC_PDU_CONFIRMED_REQUEST, apdu, len);
    if (n > 0)
        (void)c->cl->link.send(c->cl->link.user, c->to, c->cl->out, (size_t)n);
}

/* The largest APDU `pd` (NULL: not known from an I-Am) takes. */
static size_t peer_max_apdu(const bacsc_client_device *pd)
{
    return pd && pd->max_apdu >= 50 && pd->max_apdu < APDU_MAX ? pd->max_apdu : APDU_MAX;
}

/* A request goes out in segments (clause 5.4.4.2) when it is larger than
 * the device takes in one APDU and the device's I-Am says it takes
 * segmented requests (segmented-both or segmented-receive). */
static bool segmented_request_due(const bacsc_client *cl, const bacsc_client_device *pd,
                                  size_t payload_len)
{
    return cl->segmentation && pd &&
           (pd->segmentation == BACSC_SEGMENTATION_BOTH ||
            pd->segmentation == BACSC_SEGMENTATION_RECEIVE) &&
           payload_len + CONFIRMED_HEADER > peer_max_apdu(pd);
}

static void take_slot(bacsc_client *cl, pending *slot, const bacsc_address *dest, uint8_t id,
                      uint8_t service, bacsc_client_done_fn done, void *user, uint64_t now)
{
    slot->used = true;
    slot->dest = *dest;
    slot->invoke_id = id;
    slot->service = service;
    slot->deadline = now + cl->timeout;
    slot->attempts = 1;
    slot->done = done;
    slot->user = user;
    cl->npending++;
    cl->next_id = (uint8_t)(id + 1);
}

/* Send a request in segments of what both the device and the datalink take. */
static int send_segmented(bacsc_client *cl, pending *slot, const bacsc_address *dest, uint8_t id,
                          uint8_t service, const uint8_t *payload, size_t payload_len,
                          const bacsc_client_device *pd, bacsc_client_done_fn done, void *user,
                          uint64_t now)
{
    size_t max = peer_max_apdu(pd);
    size_t room = cl->link.max_npdu > NPDU_HEADROOM ? cl->link.max_npdu - NPDU_HEADROOM : 0;
    if (room < max)
        max = room;
    if (max <= BACSC_SEG_REQ_HEADER)
        return BACSC_ERR_INVALID_ARG;
    take_slot(cl, slot, dest, id, service, done, user, now);
    seg_emit_ctx c = {cl, &slot->dest};
    int rc = bacsc_segtx_start_request(&slot->tx, id, service, bacsc_max_apdu_code(cl->max_apdu),
                                       cl->segmentation ? 7 : 0, cl->segmentation, payload,
                                       payload_len, max - BACSC_SEG_REQ_HEADER, cl->window,
                                       cl->timeout, cl->retries, now, seg_emit, &c);
    if (rc != BACSC_OK) {
        memset(slot, 0, sizeof *slot);
        cl->npending--;
        return rc;
    }
    slot->deadline = slot->tx.deadline;
    return id;
}

int bacsc_client_request(bacsc_client *cl, const bacsc_address *dest, uint8_t service,
                         const uint8_t *payload, size_t payload_len, bacsc_client_done_fn done,
                         void *user, uint64_t now)
{
    if (cl == NULL || dest == NULL || bacsc_address_is_broadcast(dest) ||
        (payload == NULL && payload_len) || dest->mac_len > BACSC_MAC_MAX ||
        dest->adr_len > BACSC_MAC_MAX)
        return BACSC_ERR_INVALID_ARG;
    cl->too_large_len = 0;
    if (cl->npending == cl->max_pending)
        return BACSC_ERR_LIMIT;
    pending *slot = NULL;
    for (size_t i = 0; i < cl->max_pending; i++)
        if (!cl->slots[i].used) {
            slot = &cl->slots[i];
            break;
        }
    if (slot == NULL)
        return BACSC_ERR_LIMIT;
    int id = -1;
    for (unsigned k = 0; k < 256; k++) {
        uint8_t cand = (uint8_t)(cl->next_id + k);
        if (!id_in_use(cl, dest, cand)) {
            id = cand;
            break;
        }
    }
    if (id < 0)
        return BACSC_ERR_AGAIN;
    const bacsc_client_device *pd = find_by_address(cl, dest);
    if (segmented_request_due(cl, pd, payload_len))
        return send_segmented(cl, slot, dest, (uint8_t)id, service, payload, payload_len, pd,
                              done, user, now);
    bacsc_apdu hdr;
    bacsc_apdu_init_confirmed(&hdr, service, (uint8_t)id, bacsc_max_apdu_code(cl->max_apdu));
    if (cl->segmentation) {
        hdr.segmented_response_accepted = true;
        hdr.max_segs = 7;          /* more than 64 (bounded by max_ack_len) */
    }
    hdr.data = payload;
    hdr.data_len = payload_len;
    int alen = bacsc_apdu_encode(cl->apdu, sizeof cl->apdu, &hdr);
    if (alen < 0 && alen != BACSC_ERR_BUFFER_TOO_SMALL)
        return alen;
    /* Never send a confirmed request larger than the destination accepts
     * (its I-Am's Max_APDU_Length_Accepted, clause 5.2.1): it would be
     * dropped there and time out after every retry. */
    if (pd && pd->max_apdu >= 50 && (alen < 0 || (size_t)alen > pd->max_apdu)) {
        cl->too_large_len = payload_len + CONFIRMED_HEADER;
        cl->too_large_max = pd->max_apdu;
        return BACSC_ERR_LIMIT;
    }
    if (alen < 0 || (size_t)alen > APDU_MAX)
        return BACSC_ERR_INVALID_ARG;
    int nlen = encode_npdu(cl, dest, true, cl->apdu, (size_t)alen);
    if (nlen < 0)
        return nlen;
    uint8_t *copy = malloc((size_t)nlen);
    if (copy == NULL)
        return BACSC_ERR_NOMEM;
    memcpy(copy, cl->out, (size_t)nlen);
    take_slot(cl, slot, dest, (uint8_t)id, service, done, user, now);
    slot->npdu = copy;
    slot->npdu_len = (size_t)nlen;
    /* A failed send is a lost message: the retry timer covers it. */
    (void)cl->link.send(cl->link.user, dest, copy, (size_t)nlen);
    return id;
}

/* ---- service wrappers ---------------------------------------------------------- */

static int send_encoded(bacsc_client *cl, const bacsc_address *dest, uint8_t service, int len,
                        uint8_t *body, bacsc_client_done_fn done, void *user, uint64_t now)
{
    if (len < 0)
        return len == BACSC_ERR_BUFFER_TOO_SMALL ? BACSC_ERR_INVALID_ARG : len;
    return bacsc_client_request(cl, dest, service, body, (size_t)len, done, user, now);
}

int bacsc_client_read_property(bacsc_client *cl, const bacsc_address *dest,
                               const bacsc_rp_request *rp, bacsc_client_done_fn done, void *user,
                               uint64_t now)
{
    uint8_t body[32];
    int n = bacsc_rp_request_encode(body, sizeof body, rp);
    return send_encoded(cl, dest, BACSC_SERVICE_READ_PROPERTY, n, body, done, user, now);
}

int bacsc_client_write_property(bacsc_client *cl, const bacsc_address *dest,
                                const bacsc_wp_request *wp, bacsc_client_done_fn done, void *user,
                                uint64_t now)
{
    uint8_t body[REQ_BODY_MAX];
    int n = bacsc_wp_request_encode(body, sizeof body, wp);
    return send_encoded(cl, dest, BACSC_SERVICE_WRITE_PROPERTY, n, body, done, user, now);
}

int bacsc_client_read_property_multiple(bacsc_client *cl, const bacsc_address *dest,
                                        const bacsc_rpm_spec *specs, size_t nspecs,
                                        bacsc_client_done_fn done, void *user, uint64_t now)
{
    uint8_t body[APDU_MAX];
    size_t pos = 0;
    if (specs == NULL || nspecs == 0)
        return BACSC_ERR_INVALID_ARG;
    for (size_t i = 0; i < nspecs; i++) {
        if (specs[i].nrefs == 0 || specs[i].refs == NULL)
            return BACSC_ERR_INVALID_ARG;
        int n = bacsc_rpm_encode_object_begin(body + pos, sizeof body - pos, &specs[i].object);
        if (n < 0)
            return BACSC_ERR_INVALID_ARG;
        pos += (size_t)n;
        for (size_t j = 0; j < specs[i].nrefs; j++) {
            n = bacsc_rpm_encode_ref(body + pos, sizeof body - pos, &specs[i].refs[j]);
            if (n < 0)
                return BACSC_ERR_INVALID_ARG;
            pos += (size_t)n;
        }
        n = bacsc_rpm_encode_object_end(body + pos, sizeof body - pos);
        if (n < 0)
            return BACSC_ERR_INVALID_ARG;
        pos += (size_t)n;
    }
    return bacsc_client_request(cl, dest, BACSC_SERVICE_READ_PROPERTY_MULTIPLE, body, pos, done,
                                user, now);
}

int bacsc_client_atomic_read_file(bacsc_client *cl, const bacsc_address *dest,
                                  const bacsc_arf_request *r, bacsc_client_done_fn done,
                                  void *user, uint64_t now)
{
    uint8_t body[32];
    int n = bacsc_arf_request_encode(body, sizeof body, r);
    return send_encoded(cl, dest, BACSC_SERVICE_ATOMIC_READ_FILE, n, body, done, user, now);
}

int bacsc_client_atomic_write_file(bacsc_client *cl, const bacsc_address *dest,
                                   const bacsc_awf_request *r, bacsc_client_done_fn done,
                                   void *user, uint64_t now)
{
    uint8_t body[REQ_BODY_MAX];
    int n = bacsc_awf_request_encode(body, sizeof body, r);
    return send_encoded(cl, dest, BACSC_SERVICE_ATOMIC_WRITE_FILE, n, body, done, user, now);
}

int bacsc_client_reinitialize(bacsc_client *cl, const bacsc_address *dest,
                              const bacsc_reinit_request *r, bacsc_client_done_fn done,
                              void *user, uint64_t now)
{
    uint8_t body[128];
    int n = bacsc_reinit_request_encode(body, sizeof body, r);
    return send_encoded(cl, dest, BACSC_SERVICE_REINITIALIZE_DEVICE, n, body, done, user, now);
}

int bacsc_client_dcc(bacsc_client *cl, const bacsc_address *dest, const bacsc_dcc_request *r,
                     bacsc_client_done_fn done, void *user, uint64_t now)
{
    uint8_t body[64];
    int n = bacsc_dcc_request_encode(body, sizeof body, r);
    return send_encoded(cl, dest, BACSC_SERVICE_DEVICE_COMMUNICATION_CONTROL, n, body, done, user,
                        now);
}

int bacsc_client_whois(bacsc_client *cl, const bacsc_address *dest, const bacsc_whois *w,
                       uint64_t now)
{
    (void)now;
    uint8_t body[16];
    bacsc_whois all = {.has_range = false};
    int n = bacsc_whois_encode(body, sizeof body, w ? w : &all);
    if (n < 0)
        return n;
    int a = bacsc_encode_unconfirmed(cl->apdu, sizeof cl->apdu, BACSC_SERVICE_WHO_IS, body,
                                     (size_t)n);
    if (a < 0)
        return a;
    bacsc_address bcast = bacsc_address_local_broadcast();
    const bacsc_address *to = dest ? dest : &bcast;
    int len = encode_npdu(cl, to, false, cl->apdu, (size_t)a);
    if (len < 0)
        return len;
    return cl->link.send(cl->link.user, to, cl->out, (size_t)len);
}

static void send_abort(bacsc_client *cl, const bacsc_address *to, uint8_t id, uint8_t reason);

/* ---- expiry ---------------------------------------------------------------------- */

uint64_t bacsc_client_expiry(const bacsc_client *cl)
{
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < cl->max_pending; i++)
        if (cl->slots[i].used && cl->slots[i].deadline < t)
            t = cl->slots[i].deadline;
    return t;
}

int bacsc_client_handle_expiry(bacsc_client *cl, uint64_t now)
{
    for (size_t i = 0; i < cl->max_pending; i++) {
        pending *p = &cl->slots[i];
        if (!p->used || p->deadline > now)
            continue;
        if (p->rx.active) {
            /* segments stopped coming (clause 5.4.4.3: abort the transaction) */
            send_abort(cl, &p->dest, p->invoke_id, BACSC_ABORT_TSM_TIMEOUT);
            bacsc_client_result r;
            memset(&r, 0, sizeof r);
            r.outcome = BACSC_CLIENT_BAD_ACK;
            r.reason = BACSC_ABORT_TSM_TIMEOUT;
            complete(cl, p, &r);
            continue;
        }
        if (p->tx.active) {
            /* a segmented request: the window again, or give up (clause 5.4.4.2) */
            seg_emit_ctx c = {cl, &p->dest};
            if (bacsc_segtx_expiry(&p->tx, now, seg_emit, &c) == 0) {
                p->deadline = p->tx.deadline;
                continue;
            }
            bacsc_client_result r;
            memset(&r, 0, sizeof r);
            r.outcome = BACSC_CLIENT_TIMEOUT;
            p->attempts = p->tx.retry_count + 1;
            complete(cl, p, &r);
            continue;
        }
        if (p->attempts <= cl->retries) {
            p->attempts++;
            p->deadline = now + cl->timeout;
            if (p->npdu)   /* a segmented request sent whole: only wait */
                (void)cl->link.send(cl->link.user, &p->dest, p->npdu, p->npdu_len);
        } else {
            bacsc_client_result r;
            memset(&r, 0, sizeof r);
            r.outcome = BACSC_CLIENT_TIMEOUT;
            complete(cl, p, &r);
        }
    }
    return BACSC_OK;
}

/* ---- receiving ------------------------------------------------------------------- */

static void record_iam(bacsc_client *cl, const bacsc_address *from, const bacsc_iam *iam,
                       uint64_t now)
{
    bacsc_client_device d = {
        .instance = iam->device.instance,
        .address = *from,
        .max_apdu = iam->max_apdu,
        .segmentation = iam->segmentation,
        .vendor_id = iam->vendor_id,
        .last_seen = now,
    };
    size_t i;
    for (i = 0; i < cl->ndevices; i++)
        if (cl->devices[i].instance == d.instance)
            break;
    if (i < cl->ndevices)
        cl->devices[i] = d;
    else if (cl->ndevices < cl->max_devices)
        cl->devices[cl->ndevices++] = d;
    if (cl->on_iam)
        cl->on_iam(cl->user, &d);
}

static pending *find_pending(bacsc_client *cl, const bacsc_address *from, uint8_t id)
{
    for (size_t i = 0; i < cl->max_pending; i++) {
        pending *p = &cl->slots[i];
        if (p->used && p->invoke_id == id && bacsc_address_equal(&p->dest, from))
            return p;
    }
    return NULL;
}

/* Tell a server we will not take its segmented answer. */
static void send_abort(bacsc_client *cl, const bacsc_address *to, uint8_t id, uint8_t reason)
{
    bacsc_apdu a;
    bacsc_apdu_init_abort(&a, id, reason, false);
    int n = bacsc_apdu_encode(cl->apdu, sizeof cl->apdu, &a);
    if (n < 0)
        return;
    int len = encode_npdu(cl, to, false, cl->apdu, (size_t)n);
    if (len > 0)
        (void)cl->link.send(cl->link.user, to, cl->out, (size_t)len);
}

/* Check that a ComplexACK's data decodes as the service's ACK. */
static bool ack_decodes(uint8_t service, const uint8_t *d, size_t n)
{
    switch (service) {
    case BACSC_SERVICE_READ_PROPERTY: {
        bacsc_rp_ack a;
        return bacsc_rp_ack_decode(d, n, &a, NULL) >= 0;
    }
    case BACSC_SERVICE_READ_PROPERTY_MULTIPLE:
        return bacsc_rpm_validate(d, n, true, NULL) >= 0;
    case BACSC_SERVICE_ATOMIC_READ_FILE: {
        bacsc_arf_ack a;
        return bacsc_arf_ack_decode(d, n, &a, NULL) >= 0;
    }
    case BACSC_SERVICE_ATOMIC_WRITE_FILE: {
        bacsc_awf_ack a;
        return bacsc_awf_ack_decode(d, n, &a, NULL) >= 0;
    }
    default:
        return true;
    }
}

/* One segment of a segmented ComplexACK for `p`. Returns 1 when the answer
 * is complete (in p->rx), 0 when more segments are due, -1 when the
 * transaction ended here (an Abort was sent and `p` completed). */
static int take_segment(bacsc_client *cl, pending *p, const bacsc_apdu *a, uint64_t now,
                        bacsc_client_result *r)
{
    uint8_t reason = BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED;
    int rc = BACSC_ERR_MALFORMED;
    if (cl->segmentation) {
        seg_emit_ctx c = {cl, &p->dest};
        rc = bacsc_segrx_segment(&p->rx, a, cl->window, cl->max_ack_len, cl->timeout, now,
                                 seg_emit, &c, &reason);
    }
    if (rc < 0) {
        send_abort(cl, &p->dest, a->invoke_id, reason);
        r->outcome = BACSC_CLIENT_BAD_ACK;
        r->reason = reason;
        complete(cl, p, r);
        return -1;
    }
    /* While segments come, the segment timer replaces the retry timer. */
    p->deadline = now + cl->timeout;
    return rc == BACSC_SEGRX_DONE ? 1 : 0;
}

/* The server's Segment-ACK for a segmented request of ours: the next
 * window, or — the last segment acknowledged — wait for the answer. */
static int take_segment_ack(bacsc_client *cl, pending *p, const bacsc_apdu *a, uint64_t now)
{
    if (!p->tx.active)
        return BACSC_OK;                   /* late or duplicate: nothing to do */
    seg_emit_ctx c = {cl, &p->dest};
    if (bacsc_segtx_ack(&p->tx, a, now, seg_emit, &c) == 1) {
        bacsc_segtx_free(&p->tx);
        p->deadline = now + cl->timeout;
    } else {
        p->deadline = p->tx.deadline;
    }
    return BACSC_OK;
}

int bacsc_client_handle_npdu(bacsc_client *cl, const bacsc_address *src, const uint8_t *npdu,
                             size_t len, uint64_t now)
{
    bacsc_npdu n;
    if (bacsc_npdu_decode(npdu, len, &n) < 0)
        return BACSC_ERR_MALFORMED;
    if (n.network_msg || (n.has_dnet && n.dnet != BACSC_NPDU_GLOBAL_BROADCAST) ||
        (n.has_snet && n.slen > BACSC_MAC_MAX))
        return BACSC_ERR_NOT_FOUND;
    bacsc_address from;
    bacsc_address_from_npdu(src, &n, &from);
    bacsc_apdu a;
    memset(&a, 0, sizeof a);
    if (bacsc_apdu_decode(n.payload, n.payload_len, &a, NULL) < 0)
        return BACSC_ERR_MALFORMED;

    if (a.type == BACSC_PDU_UNCONFIRMED_REQUEST) {
        if (a.service != BACSC_SERVICE_I_AM)
            return BACSC_ERR_NOT_FOUND;
        bacsc_iam iam;
        if (bacsc_iam_decode(a.data, a.data_len, &iam, NULL) < 0)
            return BACSC_ERR_MALFORMED;
        record_iam(cl, &from, &iam, now);
        return BACSC_OK;
    }
    if (a.type == BACSC_PDU_CONFIRMED_REQUEST || (a.type == BACSC_PDU_SEGMENT_ACK && !a.server))
        return BACSC_ERR_NOT_FOUND;

    pending *p = find_pending(cl, &from, a.invoke_id);
    if (p == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (a.type == BACSC_PDU_SEGMENT_ACK)
        return take_segment_ack(cl, p, &a, now);
    bacsc_client_result r;
    memset(&r, 0, sizeof r);
    switch (a.type) {
    case BACSC_PDU_SIMPLE_ACK:
        if (a.service != p->service)
            return BACSC_ERR_NOT_FOUND;   /* not the answer to this request */
        r.outcome = BACSC_CLIENT_SIMPLE_ACK;
        break;
    case BACSC_PDU_COMPLEX_ACK:
        if (a.service != p->service)
            return BACSC_ERR_NOT_FOUND;
        if (a.segmented) {
            int rc = take_segment(cl, p, &a, now, &r);
            if (rc <= 0)
                return BACSC_OK;           /* more to come, or already completed */
            a.data = p->rx.data;
            a.data_len = p->rx.len;
        }
        if (!ack_decodes(a.service, a.data, a.data_len)) {
            r.outcome = BACSC_CLIENT_BAD_ACK;
            r.reason = BACSC_ABORT_OTHER;
        } else {
            r.outcome = BACSC_CLIENT_COMPLEX_ACK;
            r.ack = a.data;
            r.ack_len = a.data_len;
        }
        break;
    case BACSC_PDU_ERROR: {
        bacsc_error e;
        if (a.service != p->service)
            return BACSC_ERR_NOT_FOUND;
        if (bacsc_error_decode(a.data, a.data_len, &e, NULL) < 0) {
            r.outcome = BACSC_CLIENT_BAD_ACK;
            r.reason = BACSC_ABORT_OTHER;
        } else {
            r.outcome = BACSC_CLIENT_ERROR;
            r.error_class = e.error_class;
            r.error_code = e.error_code;
        }
        break;
    }
    case BACSC_PDU_REJECT:
        r.outcome = BACSC_CLIENT_REJECT;
        r.reason = a.reason;
        break;
    case BACSC_PDU_ABORT:
        if (!a.server)
            return BACSC_ERR_NOT_FOUND;   /* an abort of a transaction we serve */
        r.outcome = BACSC_CLIENT_ABORT;
        r.reason = a.reason;
        r.abort_by_server = true;
        break;
    default:
        return BACSC_ERR_NOT_FOUND;
    }
    complete(cl, p, &r);
    return BACSC_OK;
}

/* ---- device table ------------------------------------------------------------------ */

size_t bacsc_client_device_count(const bacsc_client *cl)
{
    return cl->ndevices;
}

const bacsc_client_device *bacsc_client_device_at(const bacsc_client *cl, size_t i)
{
    return i < cl->ndevices ? &cl->devices[i] : NULL;
}

const bacsc_client_device *bacsc_client_find_device(const bacsc_client *cl, uint32_t instance)
{
    for (size_t i = 0; i < cl->ndevices; i++)
        if (cl->devices[i].instance == instance)
            return &cl->devices[i];
    return NULL;
}

void bacsc_client_clear_devices(bacsc_client *cl)
{
    cl->ndevices = 0;
}

char *bacsc_client_result_format(const bacsc_client_result *r, char *buf, size_t cap)
{
    const char *s;
    switch (r->outcome) {
    case BACSC_CLIENT_SIMPLE_ACK:
    case BACSC_CLIENT_COMPLEX_ACK:
        snprintf(buf, cap, "ack");
        break;
    case BACSC_CLIENT_ERROR: {
        const char *c = bacsc_error_class_name(r->error_class);
        const char *e = bacsc_error_code_name(r->error_code);
        char cn[16], en[16];
        if (!c) {
            snprintf(cn, sizeof cn, "%u", (unsigned)r->error_class);
            c = cn;
        }
        if (!e) {
            snprintf(en, sizeof en, "%u", (unsigned)r->error_code);
            e = en;
        }
        snprintf(buf, cap, "error: %s/%s", c, e);
        break;
    }
    case BACSC_CLIENT_REJECT:
        s = bacsc_reject_reason_name(r->reason);
        if (s)
            snprintf(buf, cap, "reject: %s", s);
        else
            snprintf(buf, cap, "reject: %u", (unsigned)r->reason);
        break;
    case BACSC_CLIENT_ABORT:
        s = bacsc_abort_reason_name(r->reason);
        if (s)
            snprintf(buf, cap, "abort: %s", s);
        else
            snprintf(buf, cap, "abort: %u", (unsigned)r->reason);
        break;
    case BACSC_CLIENT_TIMEOUT:
        snprintf(buf, cap, "timeout after %u attempts", r->attempts);
        break;
    case BACSC_CLIENT_CANCELLED:
        snprintf(buf, cap, "cancelled");
        break;
    default:
        snprintf(buf, cap, "undecodable answer");
        break;
    }
    return buf;
}
