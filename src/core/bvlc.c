/*
 * bvlc.c — BVLC-SC message codec (ASHRAE 135 Annex AB), see bacsc/bvlc.h.
 *
 * Decoding walks the input once, left to right: fixed header, optional
 * VMACs, the two header-option lists, then the function's payload. Nothing
 * is copied except fixed-size fields; every variable part points into the
 * input. The message struct is never cleared as a whole (its option arrays
 * are large): only the fields a decoded message defines are written.
 *
 * The error code chosen for each malformed case, and why, is documented in
 * docs/bvlc-sc.md; keep the two in step.
 */
#include "bacsc/bvlc.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/error.h"
#include "bacsc/hex.h"

const bacsc_vmac BACSC_VMAC_BROADCAST = {{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};
const bacsc_vmac BACSC_VMAC_UNKNOWN = {{0, 0, 0, 0, 0, 0}};

#define CONNECT_PAYLOAD_LEN 26
#define ADVERTISEMENT_PAYLOAD_LEN 6
#define RESULT_ACK_LEN 2
#define RESULT_NAK_MIN 7
#define PROPRIETARY_MIN 3

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static int fail(bacsc_bvlc_error *err, uint16_t code, uint8_t marker, size_t offset,
                const char *reason)
{
    if (err) {
        err->error_code = code;
        err->marker = marker;
        err->offset = offset;
        err->reason = reason;
    }
    return BACSC_ERR_MALFORMED;
}

/* ---- decoding ------------------------------------------------------------ */

/* Decode one header-option list starting at *pos. `is_data_list` selects
 * which option types bacsc understands (Secure-Path only in the data list).
 * Updates *pos, *count and msg->not_understood_marker. */
static int decode_options(const uint8_t *buf, size_t len, size_t *pos, bool is_data_list,
                          bacsc_bvlc_option *opts, uint8_t *count, uint8_t *not_understood,
                          bacsc_bvlc_error *err)
{
    size_t p = *pos;
    uint8_t n = 0;
    uint8_t prev_marker = 0;
    for (;;) {
        if (p >= len) {
            /* The control octet or the previous option's "more" flag promised
             * an option that is not there. */
            if (n == 0)
                return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, p,
                            "header option list announced but message ends");
            return fail(err, BACSC_EC_HEADER_ENCODING_ERROR, prev_marker, p,
                        "'more options' flag set on the last header option");
        }
        uint8_t marker = buf[p];
        if (n == BACSC_BVLC_MAX_OPTIONS)
            return fail(err, BACSC_EC_HEADER_ENCODING_ERROR, marker, p,
                        "more than 16 header options in one list");
        bacsc_bvlc_option *o = &opts[n];
        uint8_t type = marker & BACSC_OPT_TYPE_MASK;
        o->marker = marker;
        o->type = type;
        o->must_understand = (marker & BACSC_OPT_MUST_UNDERSTAND) != 0;
        o->has_data = (marker & BACSC_OPT_HAS_DATA) != 0;
        o->vendor_id = 0;
        o->proprietary_type = 0;
        o->proprietary_data = NULL;
        o->proprietary_len = 0;
        size_t opt_off = p;
        p++;
        if (o->has_data) {
            if (type == BACSC_OPT_SECURE_PATH)
                return fail(err, BACSC_EC_HEADER_ENCODING_ERROR, marker, opt_off,
                            "Secure-Path header option carries data");
            if (len - p < 2)
                return fail(err, BACSC_EC_HEADER_ENCODING_ERROR, marker, p,
                            "header option has the data flag but no length");
            uint16_t dl = get16(buf + p);
            p += 2;
            if (len - p < dl)
                return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, marker, p,
                            "header option data runs past the end of the message");
            o->data = buf + p;
            o->data_len = dl;
            p += dl;
        } else {
            o->data = NULL;
            o->data_len = 0;
        }
        if (type == BACSC_OPT_PROPRIETARY) {
            if (o->data_len < PROPRIETARY_MIN)
                return fail(err, BACSC_EC_HEADER_ENCODING_ERROR, marker, opt_off,
                            "proprietary header option shorter than 3 octets");
            o->vendor_id = get16(o->data);
            o->proprietary_type = o->data[2];
            o->proprietary_data = o->data + 3;
            o->proprietary_len = (uint16_t)(o->data_len - 3);
        }
        if (o->must_understand && *not_understood == 0 &&
            !(is_data_list && type == BACSC_OPT_SECURE_PATH))
            *not_understood = marker;
        n++;
        prev_marker = marker;
        if (!(marker & BACSC_OPT_MORE))
            break;
    }
    *pos = p;
    *count = n;
    return BACSC_OK;
}

static int decode_payload(const uint8_t *buf, size_t len, size_t off, bacsc_bvlc_msg *msg,
                          bacsc_bvlc_error *err)
{
    const uint8_t *pl = buf + off;
    size_t n = len - off;
    switch (msg->function) {
    case BACSC_BVLC_RESULT: {
        bacsc_bvlc_result *r = &msg->u.result;
        if (n == 0)
            return fail(err, BACSC_EC_PAYLOAD_EXPECTED, 0, off, "BVLC-Result without payload");
        if (n < RESULT_ACK_LEN)
            return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, len,
                        "BVLC-Result payload truncated (no result code)");
        r->result_for = pl[0];
        r->result_code = pl[1];
        if (r->result_code == BACSC_RESULT_ACK) {
            if (n > RESULT_ACK_LEN)
                return fail(err, BACSC_EC_UNEXPECTED_DATA, 0, off + RESULT_ACK_LEN,
                            "BVLC-Result ACK longer than 2 octets");
            r->error_marker = 0;
            r->error_class = 0;
            r->error_code = 0;
            r->details = NULL;
            r->details_len = 0;
            return BACSC_OK;
        }
        if (r->result_code != BACSC_RESULT_NAK)
            return fail(err, BACSC_EC_UNEXPECTED_DATA, 0, off + 1,
                        "BVLC-Result code is neither ACK (0) nor NAK (1)");
        if (n < RESULT_NAK_MIN)
            return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, len,
                        "BVLC-Result NAK payload truncated");
        r->error_marker = pl[2];
        r->error_class = get16(pl + 3);
        r->error_code = get16(pl + 5);
        r->details = pl + RESULT_NAK_MIN;
        r->details_len = n - RESULT_NAK_MIN;
        return BACSC_OK;
    }
    case BACSC_BVLC_ENCAPSULATED_NPDU:
        if (n == 0)
            return fail(err, BACSC_EC_PAYLOAD_EXPECTED, 0, off, "Encapsulated-NPDU without NPDU");
        return BACSC_OK;
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK:
        return BACSC_OK; /* URIs, possibly none */
    case BACSC_BVLC_ADVERTISEMENT: {
        if (n == 0)
            return fail(err, BACSC_EC_PAYLOAD_EXPECTED, 0, off, "Advertisement without payload");
        if (n < ADVERTISEMENT_PAYLOAD_LEN)
            return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, len,
                        "Advertisement payload truncated");
        if (n > ADVERTISEMENT_PAYLOAD_LEN)
            return fail(err, BACSC_EC_UNEXPECTED_DATA, 0, off + ADVERTISEMENT_PAYLOAD_LEN,
                        "Advertisement payload longer than 6 octets");
        bacsc_bvlc_advertisement *a = &msg->u.advertisement;
        a->hub_status = pl[0];
        a->accept_direct = pl[1];
        a->max_bvlc_len = get16(pl + 2);
        a->max_npdu_len = get16(pl + 4);
        return BACSC_OK;
    }
    case BACSC_BVLC_CONNECT_REQUEST:
    case BACSC_BVLC_CONNECT_ACCEPT: {
        if (n == 0)
            return fail(err, BACSC_EC_PAYLOAD_EXPECTED, 0, off, "Connect message without payload");
        if (n < CONNECT_PAYLOAD_LEN)
            return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, len,
                        "Connect message payload truncated");
        if (n > CONNECT_PAYLOAD_LEN)
            return fail(err, BACSC_EC_UNEXPECTED_DATA, 0, off + CONNECT_PAYLOAD_LEN,
                        "Connect message payload longer than 26 octets");
        bacsc_bvlc_connect *c = &msg->u.connect;
        memcpy(c->vmac.b, pl, BACSC_VMAC_LEN);
        memcpy(c->uuid.b, pl + 6, BACSC_UUID_LEN);
        c->max_bvlc_len = get16(pl + 22);
        c->max_npdu_len = get16(pl + 24);
        return BACSC_OK;
    }
    case BACSC_BVLC_PROPRIETARY_MESSAGE: {
        if (n == 0)
            return fail(err, BACSC_EC_PAYLOAD_EXPECTED, 0, off,
                        "Proprietary-Message without payload");
        if (n < PROPRIETARY_MIN)
            return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, len,
                        "Proprietary-Message payload truncated");
        bacsc_bvlc_proprietary *p = &msg->u.proprietary;
        p->vendor_id = get16(pl);
        p->function = pl[2];
        p->data = pl + 3;
        p->data_len = n - 3;
        return BACSC_OK;
    }
    default: /* the functions without payload */
        if (n != 0)
            return fail(err, BACSC_EC_UNEXPECTED_DATA, 0, off,
                        "payload on a function that carries none");
        return BACSC_OK;
    }
}

int bacsc_bvlc_decode(const uint8_t *buf, size_t len, bacsc_bvlc_msg *msg,
                      bacsc_bvlc_error *err)
{
    if (!msg || (!buf && len))
        return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, 0, "no input");
    if (len < BACSC_BVLC_HEADER_MIN)
        return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, len,
                    "message shorter than the 4-octet BVLC-SC header");
    uint8_t ctrl = buf[1];
    msg->function = buf[0];
    msg->control = ctrl;
    msg->message_id = get16(buf + 2);
    msg->has_orig = (ctrl & BACSC_BVLC_CTRL_ORIG_VMAC) != 0;
    msg->has_dest = (ctrl & BACSC_BVLC_CTRL_DEST_VMAC) != 0;
    msg->n_dest_options = 0;
    msg->n_data_options = 0;
    msg->not_understood_marker = 0;
    msg->payload = NULL;
    msg->payload_len = 0;
    if (ctrl & BACSC_BVLC_CTRL_RESERVED)
        return fail(err, BACSC_EC_HEADER_ENCODING_ERROR, 0, 1,
                    "reserved bits set in the control octet");
    size_t p = BACSC_BVLC_HEADER_MIN;
    if (msg->has_orig) {
        if (len - p < BACSC_VMAC_LEN)
            return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, p, "originating VMAC truncated");
        memcpy(msg->orig.b, buf + p, BACSC_VMAC_LEN);
        p += BACSC_VMAC_LEN;
    }
    if (msg->has_dest) {
        if (len - p < BACSC_VMAC_LEN)
            return fail(err, BACSC_EC_MESSAGE_INCOMPLETE, 0, p, "destination VMAC truncated");
        memcpy(msg->dest.b, buf + p, BACSC_VMAC_LEN);
        p += BACSC_VMAC_LEN;
    }
    /* Checked after the VMACs so the caller can tell a unicast (to be NAKed)
     * from a broadcast (to be dropped) — AB.3.1.5. */
    if (msg->function >= BACSC_BVLC_FUNCTION_COUNT)
        return fail(err, BACSC_EC_BVLC_FUNCTION_UNKNOWN, 0, 0, "unknown BVLC function");
    if (ctrl & BACSC_BVLC_CTRL_DEST_OPTIONS) {
        int rc = decode_options(buf, len, &p, false, msg->dest_options, &msg->n_dest_options,
                                &msg->not_understood_marker, err);
        if (rc != BACSC_OK)
            return rc;
    }
    if (ctrl & BACSC_BVLC_CTRL_DATA_OPTIONS) {
        int rc = decode_options(buf, len, &p, true, msg->data_options, &msg->n_data_options,
                                &msg->not_understood_marker, err);
        if (rc != BACSC_OK)
            return rc;
    }
    msg->payload = buf + p;
    msg->payload_len = len - p;
    return decode_payload(buf, len, p, msg, err);
}

/* ---- encoding ------------------------------------------------------------ */

/* Size of one option's encoding, or -1 if it cannot be encoded. */
static long option_size(const bacsc_bvlc_option *o)
{
    if (o->type > BACSC_OPT_TYPE_MASK)
        return -1;
    if (o->type == BACSC_OPT_PROPRIETARY) {
        if (!o->has_data)
            return -1;
        if (o->data)
            return o->data_len < PROPRIETARY_MIN ? -1 : 3L + o->data_len;
        if (o->proprietary_len > 0xFFFF - 3 || (o->proprietary_len && !o->proprietary_data))
            return -1;
        return 3L + 3 + o->proprietary_len;
    }
    if (!o->has_data)
        return 1;
    if (o->type == BACSC_OPT_SECURE_PATH || (o->data_len && !o->data))
        return -1;
    return 3L + o->data_len;
}

static long options_size(const bacsc_bvlc_option *opts, uint8_t n)
{
    if (n > BACSC_BVLC_MAX_OPTIONS)
        return -1;
    long total = 0;
    for (uint8_t i = 0; i < n; i++) {
        long s = option_size(&opts[i]);
        if (s < 0)
            return -1;
        total += s;
    }
    return total;
}

/* Payload size for `msg`, or -1 if the payload cannot be encoded. */
static long payload_size(const bacsc_bvlc_msg *m)
{
    switch (m->function) {
    case BACSC_BVLC_RESULT:
        if (m->u.result.result_code == BACSC_RESULT_ACK)
            return RESULT_ACK_LEN;
        if (m->u.result.result_code != BACSC_RESULT_NAK)
            return -1;
        if (m->u.result.details_len > INT_MAX || (m->u.result.details_len && !m->u.result.details))
            return -1;
        return RESULT_NAK_MIN + (long)m->u.result.details_len;
    case BACSC_BVLC_ENCAPSULATED_NPDU:
        if (m->payload_len == 0 || !m->payload || m->payload_len > INT_MAX)
            return -1;
        return (long)m->payload_len;
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK:
        if (m->payload_len > INT_MAX || (m->payload_len && !m->payload))
            return -1;
        return (long)m->payload_len;
    case BACSC_BVLC_ADVERTISEMENT:
        return ADVERTISEMENT_PAYLOAD_LEN;
    case BACSC_BVLC_CONNECT_REQUEST:
    case BACSC_BVLC_CONNECT_ACCEPT:
        return CONNECT_PAYLOAD_LEN;
    case BACSC_BVLC_PROPRIETARY_MESSAGE:
        if (m->u.proprietary.data_len > INT_MAX ||
            (m->u.proprietary.data_len && !m->u.proprietary.data))
            return -1;
        return PROPRIETARY_MIN + (long)m->u.proprietary.data_len;
    case BACSC_BVLC_ADDRESS_RESOLUTION:
    case BACSC_BVLC_ADVERTISEMENT_SOLICITATION:
    case BACSC_BVLC_DISCONNECT_REQUEST:
    case BACSC_BVLC_DISCONNECT_ACK:
    case BACSC_BVLC_HEARTBEAT_REQUEST:
    case BACSC_BVLC_HEARTBEAT_ACK:
        return 0;
    }
    return -1;
}

/* Shared by encoded_size() and encode(); inlined into the latter so the
 * common case (no options) costs a few compares. */
static inline int encoded_size(const bacsc_bvlc_msg *msg)
{
    long total = BACSC_BVLC_HEADER_MIN;
    if (msg->has_orig)
        total += BACSC_VMAC_LEN;
    if (msg->has_dest)
        total += BACSC_VMAC_LEN;
    long s;
    if (msg->n_dest_options | msg->n_data_options) {
        s = options_size(msg->dest_options, msg->n_dest_options);
        if (s < 0)
            return BACSC_ERR_INVALID_ARG;
        total += s;
        s = options_size(msg->data_options, msg->n_data_options);
        if (s < 0)
            return BACSC_ERR_INVALID_ARG;
        total += s;
    }
    s = payload_size(msg);
    if (s < 0)
        return BACSC_ERR_INVALID_ARG;
    total += s;
    if (total > INT_MAX)
        return BACSC_ERR_INVALID_ARG;
    return (int)total;
}

int bacsc_bvlc_encoded_size(const bacsc_bvlc_msg *msg)
{
    if (!msg)
        return BACSC_ERR_INVALID_ARG;
    return encoded_size(msg);
}

static uint8_t *put_options(uint8_t *w, const bacsc_bvlc_option *opts, uint8_t n)
{
    for (uint8_t i = 0; i < n; i++) {
        const bacsc_bvlc_option *o = &opts[i];
        uint8_t marker = o->type;
        if (i + 1 < n)
            marker |= BACSC_OPT_MORE;
        if (o->must_understand)
            marker |= BACSC_OPT_MUST_UNDERSTAND;
        if (o->has_data)
            marker |= BACSC_OPT_HAS_DATA;
        *w++ = marker;
        if (!o->has_data)
            continue;
        if (o->type == BACSC_OPT_PROPRIETARY && !o->data) {
            put16(w, (uint16_t)(3 + o->proprietary_len));
            put16(w + 2, o->vendor_id);
            w[4] = o->proprietary_type;
            w += 5;
            if (o->proprietary_len)
                memcpy(w, o->proprietary_data, o->proprietary_len);
            w += o->proprietary_len;
        } else {
            put16(w, o->data_len);
            w += 2;
            if (o->data_len)
                memcpy(w, o->data, o->data_len);
            w += o->data_len;
        }
    }
    return w;
}

int bacsc_bvlc_encode(const bacsc_bvlc_msg *msg, uint8_t *out, size_t cap)
{
    if (!msg)
        return BACSC_ERR_INVALID_ARG;
    int size = encoded_size(msg);
    if (size < 0)
        return size;
    if (!out || (size_t)size > cap)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    uint8_t ctrl = 0;
    if (msg->has_orig)
        ctrl |= BACSC_BVLC_CTRL_ORIG_VMAC;
    if (msg->has_dest)
        ctrl |= BACSC_BVLC_CTRL_DEST_VMAC;
    if (msg->n_dest_options)
        ctrl |= BACSC_BVLC_CTRL_DEST_OPTIONS;
    if (msg->n_data_options)
        ctrl |= BACSC_BVLC_CTRL_DATA_OPTIONS;
    uint8_t *w = out;
    w[0] = msg->function;
    w[1] = ctrl;
    put16(w + 2, msg->message_id);
    w += 4;
    if (msg->has_orig) {
        memcpy(w, msg->orig.b, BACSC_VMAC_LEN);
        w += BACSC_VMAC_LEN;
    }
    if (msg->has_dest) {
        memcpy(w, msg->dest.b, BACSC_VMAC_LEN);
        w += BACSC_VMAC_LEN;
    }
    if (msg->n_dest_options)
        w = put_options(w, msg->dest_options, msg->n_dest_options);
    if (msg->n_data_options)
        w = put_options(w, msg->data_options, msg->n_data_options);
    switch (msg->function) {
    case BACSC_BVLC_RESULT: {
        const bacsc_bvlc_result *r = &msg->u.result;
        w[0] = r->result_for;
        w[1] = r->result_code;
        w += 2;
        if (r->result_code == BACSC_RESULT_NAK) {
            w[0] = r->error_marker;
            put16(w + 1, r->error_class);
            put16(w + 3, r->error_code);
            w += 5;
            if (r->details_len)
                memcpy(w, r->details, r->details_len);
            w += r->details_len;
        }
        break;
    }
    case BACSC_BVLC_ENCAPSULATED_NPDU:
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK:
        if (msg->payload_len)
            memcpy(w, msg->payload, msg->payload_len);
        w += msg->payload_len;
        break;
    case BACSC_BVLC_ADVERTISEMENT: {
        const bacsc_bvlc_advertisement *a = &msg->u.advertisement;
        w[0] = a->hub_status;
        w[1] = a->accept_direct;
        put16(w + 2, a->max_bvlc_len);
        put16(w + 4, a->max_npdu_len);
        w += ADVERTISEMENT_PAYLOAD_LEN;
        break;
    }
    case BACSC_BVLC_CONNECT_REQUEST:
    case BACSC_BVLC_CONNECT_ACCEPT: {
        const bacsc_bvlc_connect *c = &msg->u.connect;
        memcpy(w, c->vmac.b, BACSC_VMAC_LEN);
        memcpy(w + 6, c->uuid.b, BACSC_UUID_LEN);
        put16(w + 22, c->max_bvlc_len);
        put16(w + 24, c->max_npdu_len);
        w += CONNECT_PAYLOAD_LEN;
        break;
    }
    case BACSC_BVLC_PROPRIETARY_MESSAGE: {
        const bacsc_bvlc_proprietary *pm = &msg->u.proprietary;
        put16(w, pm->vendor_id);
        w[2] = pm->function;
        w += 3;
        if (pm->data_len)
            memcpy(w, pm->data, pm->data_len);
        w += pm->data_len;
        break;
    }
    default:
        break;
    }
    return (int)(w - out);
}

void bacsc_bvlc_init(bacsc_bvlc_msg *msg, uint8_t function, uint16_t message_id)
{
    memset(msg, 0, sizeof(*msg));
    msg->function = function;
    msg->message_id = message_id;
}

void bacsc_bvlc_make_nak(bacsc_bvlc_msg *msg, uint8_t request_function, uint16_t message_id,
                         uint8_t error_marker, uint16_t error_code, const char *details)
{
    bacsc_bvlc_init(msg, BACSC_BVLC_RESULT, message_id);
    bacsc_bvlc_result *r = &msg->u.result;
    r->result_for = request_function;
    r->result_code = BACSC_RESULT_NAK;
    r->error_marker = error_marker;
    r->error_class = BACSC_ERROR_CLASS_COMMUNICATION;
    r->error_code = error_code;
    r->details = (const uint8_t *)details;
    r->details_len = details ? strlen(details) : 0;
}

/* ---- hub rewrites -------------------------------------------------------- */

/* Rewrite the VMAC part of the header to "orig present, dest as `keep_dest`". */
static int rewrite(uint8_t *buf, size_t *len, size_t cap, const bacsc_vmac *orig,
                   bool keep_dest)
{
    if (!buf || !len || !orig || *len < BACSC_BVLC_HEADER_MIN)
        return BACSC_ERR_INVALID_ARG;
    uint8_t ctrl = buf[1];
    bool had_orig = (ctrl & BACSC_BVLC_CTRL_ORIG_VMAC) != 0;
    bool had_dest = (ctrl & BACSC_BVLC_CTRL_DEST_VMAC) != 0;
    size_t old_vmacs = (had_orig ? 6u : 0u) + (had_dest ? 6u : 0u);
    if (*len < BACSC_BVLC_HEADER_MIN + old_vmacs)
        return BACSC_ERR_MALFORMED;
    bool new_dest = keep_dest && had_dest;
    size_t new_vmacs = 6u + (new_dest ? 6u : 0u);
    size_t tail_off = BACSC_BVLC_HEADER_MIN + old_vmacs;
    size_t tail_len = *len - tail_off;
    size_t new_len = *len - old_vmacs + new_vmacs;
    if (new_len > cap)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    uint8_t *h = buf + BACSC_BVLC_HEADER_MIN;
    if (new_vmacs != old_vmacs) {
        /* Destination VMAC (when kept) sits after the originating one. */
        uint8_t dest[BACSC_VMAC_LEN];
        if (new_dest)
            memcpy(dest, h + (had_orig ? 6 : 0), BACSC_VMAC_LEN);
        memmove(buf + BACSC_BVLC_HEADER_MIN + new_vmacs, buf + tail_off, tail_len);
        if (new_dest)
            memcpy(h + 6, dest, BACSC_VMAC_LEN);
    }
    memcpy(h, orig->b, BACSC_VMAC_LEN);
    ctrl |= BACSC_BVLC_CTRL_ORIG_VMAC;
    if (!new_dest)
        ctrl &= (uint8_t)~BACSC_BVLC_CTRL_DEST_VMAC;
    buf[1] = ctrl;
    *len = new_len;
    return BACSC_OK;
}

int bacsc_bvlc_rewrite_unicast(uint8_t *buf, size_t *len, size_t cap, const bacsc_vmac *orig)
{
    return rewrite(buf, len, cap, orig, false);
}

int bacsc_bvlc_rewrite_broadcast(uint8_t *buf, size_t *len, size_t cap, const bacsc_vmac *orig)
{
    return rewrite(buf, len, cap, orig, true);
}

/* ---- names and helpers --------------------------------------------------- */

static const char *const function_names[BACSC_BVLC_FUNCTION_COUNT] = {
    "BVLC-Result",
    "Encapsulated-NPDU",
    "Address-Resolution",
    "Address-Resolution-ACK",
    "Advertisement",
    "Advertisement-Solicitation",
    "Connect-Request",
    "Connect-Accept",
    "Disconnect-Request",
    "Disconnect-ACK",
    "Heartbeat-Request",
    "Heartbeat-ACK",
    "Proprietary-Message",
};

const char *bacsc_bvlc_function_name(uint8_t function)
{
    return function < BACSC_BVLC_FUNCTION_COUNT ? function_names[function] : "unknown";
}

/* Error codes 143..199 of class COMMUNICATION (Annex AB): their names are
 * those of the one BACnetErrorCode table (bacnet_names.c). */
const char *bacsc_sc_error_name(uint16_t error_code)
{
    const char *n = error_code >= 143 && error_code <= 199 ? bacsc_error_code_name(error_code) : NULL;
    return n ? n : "unknown";
}

bool bacsc_vmac_equal(const bacsc_vmac *a, const bacsc_vmac *b)
{
    return memcmp(a->b, b->b, BACSC_VMAC_LEN) == 0;
}

bool bacsc_vmac_is_broadcast(const bacsc_vmac *v)
{
    return bacsc_vmac_equal(v, &BACSC_VMAC_BROADCAST);
}

static const char hexdig[] = "0123456789abcdef";

char *bacsc_vmac_format(const bacsc_vmac *v, char *buf)
{
    char *w = buf;
    for (int i = 0; i < BACSC_VMAC_LEN; i++) {
        if (i)
            *w++ = ':';
        *w++ = hexdig[v->b[i] >> 4];
        *w++ = hexdig[v->b[i] & 15];
    }
    *w = '\0';
    return buf;
}

int bacsc_vmac_parse(const char *s, bacsc_vmac *v)
{
    if (!s || !v)
        return BACSC_ERR_MALFORMED;
    size_t n = strlen(s);
    bool colons = n == 17;
    if (n != 12 && !colons)
        return BACSC_ERR_MALFORMED;
    bacsc_vmac tmp;
    for (int i = 0; i < BACSC_VMAC_LEN; i++) {
        const char *p = s + (colons ? 3 * i : 2 * i);
        int hi = bacsc_hex_digit((unsigned char)p[0]), lo = bacsc_hex_digit((unsigned char)p[1]);
        if (hi < 0 || lo < 0)
            return BACSC_ERR_MALFORMED;
        if (colons && i < BACSC_VMAC_LEN - 1 && p[2] != ':')
            return BACSC_ERR_MALFORMED;
        tmp.b[i] = (uint8_t)(hi << 4 | lo);
    }
    *v = tmp;
    return BACSC_OK;
}
