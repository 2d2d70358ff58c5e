/*
 * apdu.c — BACnet APDU header codec (bacsc/apdu.h). The enumeration names
 * live in bacnet_names.c.
 */
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/error.h"

static int fail(bacsc_fault *f, uint8_t kind, uint8_t reason, size_t offset, const char *what)
{
    if (f) {
        memset(f, 0, sizeof *f);
        f->kind = kind;
        f->reason = reason;
        f->offset = offset;
        f->what = what;
    }
    return BACSC_ERR_MALFORMED;
}

static int drop(bacsc_fault *f, size_t offset, const char *what)
{
    return fail(f, BACSC_FAULT_NONE, 0, offset, what);
}

/* The Confirmed-Request header (octet 0 read into a->type, `flags`).
 * Returns its length or BACSC_ERR_MALFORMED with *f set. */
static int decode_confirmed(const uint8_t *buf, size_t len, uint8_t flags, bacsc_apdu *a,
                            bacsc_fault *f)
{
    if (len < 3)
        return drop(f, len, "truncated Confirmed-Request header");
    a->invoke_id = buf[2];
    if (flags & 0x01)
        return fail(f, BACSC_FAULT_REJECT, BACSC_REJECT_OTHER, 0,
                    "reserved bit set in Confirmed-Request octet 0");
    a->segmented = (flags & BACSC_APDU_SEG) != 0;
    a->more_follows = (flags & BACSC_APDU_MOR) != 0;
    a->segmented_response_accepted = (flags & BACSC_APDU_SA) != 0;
    if (!a->segmented && a->more_follows)
        return fail(f, BACSC_FAULT_REJECT, BACSC_REJECT_OTHER, 0,
                    "more-follows set on an unsegmented request");
    if (buf[1] & 0x80)
        return fail(f, BACSC_FAULT_REJECT, BACSC_REJECT_OTHER, 1,
                    "reserved bit set in Confirmed-Request octet 1");
    a->max_segs = (buf[1] >> 4) & 0x07;
    a->max_apdu = buf[1] & 0x0F;
    if (a->max_apdu > 5)
        return fail(f, BACSC_FAULT_REJECT, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, 1,
                    "reserved max-APDU-length-accepted code");
    size_t pos = 3;
    if (a->segmented) {
        if (len - pos < 2)
            return fail(f, BACSC_FAULT_REJECT, BACSC_REJECT_MISSING_REQUIRED_PARAMETER, len,
                        "truncated segmented Confirmed-Request header");
        a->sequence_number = buf[pos];
        a->window_size = buf[pos + 1];
        if (a->window_size == 0 || a->window_size > 127)
            return fail(f, BACSC_FAULT_ABORT, BACSC_ABORT_WINDOW_SIZE_OUT_OF_RANGE, pos + 1,
                        "proposed window size outside 1..127");
        pos += 2;
    }
    if (len - pos < 1)
        return fail(f, BACSC_FAULT_REJECT, BACSC_REJECT_MISSING_REQUIRED_PARAMETER, len,
                    "Confirmed-Request without a service choice");
    a->service = buf[pos++];
    return (int)pos;
}

/* The ComplexACK header. Returns its length or BACSC_ERR_MALFORMED. */
static int decode_complex_ack(const uint8_t *buf, size_t len, uint8_t flags, bacsc_apdu *a,
                              bacsc_fault *f)
{
    if (flags & 0x03)
        return drop(f, 0, "reserved bits set in ComplexACK");
    a->segmented = (flags & BACSC_APDU_SEG) != 0;
    a->more_follows = (flags & BACSC_APDU_MOR) != 0;
    if (!a->segmented && a->more_follows)
        return drop(f, 0, "more-follows set on an unsegmented ComplexACK");
    if (len < 2)
        return drop(f, len, "truncated ComplexACK header");
    a->invoke_id = buf[1];
    size_t pos = 2;
    if (a->segmented) {
        if (len - pos < 2)
            return drop(f, len, "truncated segmented ComplexACK header");
        a->sequence_number = buf[pos];
        a->window_size = buf[pos + 1];
        if (a->window_size == 0 || a->window_size > 127)
            return fail(f, BACSC_FAULT_ABORT, BACSC_ABORT_WINDOW_SIZE_OUT_OF_RANGE, pos + 1,
                        "proposed window size outside 1..127");
        pos += 2;
    }
    if (len - pos < 1)
        return drop(f, len, "ComplexACK without a service choice");
    a->service = buf[pos++];
    return (int)pos;
}

int bacsc_apdu_decode(const uint8_t *buf, size_t len, bacsc_apdu *a, bacsc_fault *f)
{
    if (f)
        memset(f, 0, sizeof *f);
    if (buf == NULL || len < 1)
        return drop(f, 0, "empty APDU");
    memset(a, 0, sizeof *a);
    uint8_t o = buf[0];
    a->type = o >> 4;
    uint8_t flags = o & 0x0F;
    size_t pos = 1;
    switch (a->type) {
    case BACSC_PDU_CONFIRMED_REQUEST:
    case BACSC_PDU_COMPLEX_ACK: {
        int r = a->type == BACSC_PDU_CONFIRMED_REQUEST ? decode_confirmed(buf, len, flags, a, f)
                                                       : decode_complex_ack(buf, len, flags, a, f);
        if (r < 0)
            return r;
        pos = (size_t)r;
        break;
    }
    case BACSC_PDU_UNCONFIRMED_REQUEST:
        if (flags)
            return drop(f, 0, "reserved bits set in Unconfirmed-Request");
        if (len < 2)
            return drop(f, len, "Unconfirmed-Request without a service choice");
        a->service = buf[1];
        pos = 2;
        break;
    case BACSC_PDU_SIMPLE_ACK:
        if (flags)
            return drop(f, 0, "reserved bits set in SimpleACK");
        if (len != 3)
            return drop(f, len < 3 ? len : 3, "SimpleACK is not 3 octets");
        a->invoke_id = buf[1];
        a->service = buf[2];
        pos = 3;
        break;
    case BACSC_PDU_SEGMENT_ACK:
        if (flags & 0x0C)
            return drop(f, 0, "reserved bits set in SegmentACK");
        a->nak = (flags & BACSC_APDU_NAK) != 0;
        a->server = (flags & BACSC_APDU_SRV) != 0;
        if (len != 4)
            return drop(f, len < 4 ? len : 4, "SegmentACK is not 4 octets");
        a->invoke_id = buf[1];
        a->sequence_number = buf[2];
        a->window_size = buf[3];
        if (a->window_size == 0 || a->window_size > 127)
            return drop(f, 3, "actual window size outside 1..127");
        pos = 4;
        break;
    case BACSC_PDU_ERROR:
        if (flags)
            return drop(f, 0, "reserved bits set in Error PDU");
        if (len < 3)
            return drop(f, len, "truncated Error PDU header");
        a->invoke_id = buf[1];
        a->service = buf[2];
        pos = 3;
        break;
    case BACSC_PDU_REJECT:
        if (flags)
            return drop(f, 0, "reserved bits set in Reject PDU");
        if (len != 3)
            return drop(f, len < 3 ? len : 3, "Reject PDU is not 3 octets");
        a->invoke_id = buf[1];
        a->reason = buf[2];
        pos = 3;
        break;
    case BACSC_PDU_ABORT:
        if (flags & 0x0E)
            return drop(f, 0, "reserved bits set in Abort PDU");
        a->server = (flags & BACSC_APDU_SRV) != 0;
        if (len != 3)
            return drop(f, len < 3 ? len : 3, "Abort PDU is not 3 octets");
        a->invoke_id = buf[1];
        a->reason = buf[2];
        pos = 3;
        break;
    default:
        return drop(f, 0, "unknown PDU type");
    }
    a->data = buf + pos;
    a->data_len = len - pos;
    return (int)pos;
}

static int header_size(const bacsc_apdu *a)
{
    switch (a->type) {
    case BACSC_PDU_CONFIRMED_REQUEST:
        if (a->max_segs > 7 || a->max_apdu > 5)
            return BACSC_ERR_INVALID_ARG;
        if (!a->segmented && a->more_follows)
            return BACSC_ERR_INVALID_ARG;
        if (a->segmented && (a->window_size == 0 || a->window_size > 127))
            return BACSC_ERR_INVALID_ARG;
        return a->segmented ? 6 : 4;
    case BACSC_PDU_UNCONFIRMED_REQUEST:
        return 2;
    case BACSC_PDU_COMPLEX_ACK:
        if (!a->segmented && a->more_follows)
            return BACSC_ERR_INVALID_ARG;
        if (a->segmented && (a->window_size == 0 || a->window_size > 127))
            return BACSC_ERR_INVALID_ARG;
        return a->segmented ? 5 : 3;
    case BACSC_PDU_SEGMENT_ACK:
        if (a->window_size == 0 || a->window_size > 127)
            return BACSC_ERR_INVALID_ARG;
        return 4;
    case BACSC_PDU_SIMPLE_ACK:
    case BACSC_PDU_ERROR:
    case BACSC_PDU_REJECT:
    case BACSC_PDU_ABORT:
        return 3;
    }
    return BACSC_ERR_INVALID_ARG;
}

int bacsc_apdu_encode_header(uint8_t *buf, size_t cap, const bacsc_apdu *a)
{
    int size = header_size(a);
    if (size < 0 || buf == NULL)
        return size;
    if (cap < (size_t)size)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    uint8_t *p = buf;
    uint8_t o = (uint8_t)(a->type << 4);
    switch (a->type) {
    case BACSC_PDU_CONFIRMED_REQUEST:
        if (a->segmented) o |= BACSC_APDU_SEG;
        if (a->more_follows) o |= BACSC_APDU_MOR;
        if (a->segmented_response_accepted) o |= BACSC_APDU_SA;
        *p++ = o;
        *p++ = (uint8_t)(a->max_segs << 4 | a->max_apdu);
        *p++ = a->invoke_id;
        if (a->segmented) {
            *p++ = a->sequence_number;
            *p++ = a->window_size;
        }
        *p++ = a->service;
        break;
    case BACSC_PDU_UNCONFIRMED_REQUEST:
        *p++ = o;
        *p++ = a->service;
        break;
    case BACSC_PDU_SIMPLE_ACK:
    case BACSC_PDU_ERROR:
        *p++ = o;
        *p++ = a->invoke_id;
        *p++ = a->service;
        break;
    case BACSC_PDU_COMPLEX_ACK:
        if (a->segmented) o |= BACSC_APDU_SEG;
        if (a->more_follows) o |= BACSC_APDU_MOR;
        *p++ = o;
        *p++ = a->invoke_id;
        if (a->segmented) {
            *p++ = a->sequence_number;
            *p++ = a->window_size;
        }
        *p++ = a->service;
        break;
    case BACSC_PDU_SEGMENT_ACK:
        if (a->nak) o |= BACSC_APDU_NAK;
        if (a->server) o |= BACSC_APDU_SRV;
        *p++ = o;
        *p++ = a->invoke_id;
        *p++ = a->sequence_number;
        *p++ = a->window_size;
        break;
    case BACSC_PDU_REJECT:
        *p++ = o;
        *p++ = a->invoke_id;
        *p++ = a->reason;
        break;
    case BACSC_PDU_ABORT:
        if (a->server) o |= BACSC_APDU_SRV;
        *p++ = o;
        *p++ = a->invoke_id;
        *p++ = a->reason;
        break;
    }
    return size;
}

int bacsc_apdu_encode(uint8_t *buf, size_t cap, const bacsc_apdu *a)
{
    int h = header_size(a);
    if (h < 0)
        return h;
    size_t data_len = a->data_len;
    if (data_len && a->data == NULL)
        return BACSC_ERR_INVALID_ARG;
    /* PDUs without a data part carry none */
    if (data_len && (a->type == BACSC_PDU_SIMPLE_ACK || a->type == BACSC_PDU_SEGMENT_ACK ||
                     a->type == BACSC_PDU_REJECT || a->type == BACSC_PDU_ABORT))
        return BACSC_ERR_INVALID_ARG;
    if (data_len > (size_t)0x7FFFFFFF - (size_t)h)
        return BACSC_ERR_INVALID_ARG;
    size_t total = (size_t)h + data_len;
    if (buf == NULL)
        return (int)total;
    if (cap < total)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    bacsc_apdu_encode_header(buf, cap, a);
    if (data_len)
        memmove(buf + h, a->data, data_len);
    return (int)total;
}

void bacsc_apdu_init_confirmed(bacsc_apdu *a, uint8_t service, uint8_t invoke_id,
                               uint8_t max_apdu_code)
{
    memset(a, 0, sizeof *a);
    a->type = BACSC_PDU_CONFIRMED_REQUEST;
    a->service = service;
    a->invoke_id = invoke_id;
    a->max_apdu = max_apdu_code;
}

void bacsc_apdu_init_unconfirmed(bacsc_apdu *a, uint8_t service)
{
    memset(a, 0, sizeof *a);
    a->type = BACSC_PDU_UNCONFIRMED_REQUEST;
    a->service = service;
}

void bacsc_apdu_init_simple_ack(bacsc_apdu *a, uint8_t service, uint8_t invoke_id)
{
    memset(a, 0, sizeof *a);
    a->type = BACSC_PDU_SIMPLE_ACK;
    a->service = service;
    a->invoke_id = invoke_id;
}

void bacsc_apdu_init_complex_ack(bacsc_apdu *a, uint8_t service, uint8_t invoke_id)
{
    memset(a, 0, sizeof *a);
    a->type = BACSC_PDU_COMPLEX_ACK;
    a->service = service;
    a->invoke_id = invoke_id;
}

void bacsc_apdu_init_error(bacsc_apdu *a, uint8_t service, uint8_t invoke_id)
{
    memset(a, 0, sizeof *a);
    a->type = BACSC_PDU_ERROR;
    a->service = service;
    a->invoke_id = invoke_id;
}

void bacsc_apdu_init_reject(bacsc_apdu *a, uint8_t invoke_id, uint8_t reason)
{
    memset(a, 0, sizeof *a);
    a->type = BACSC_PDU_REJECT;
    a->invoke_id = invoke_id;
    a->reason = reason;
}

void bacsc_apdu_init_abort(bacsc_apdu *a, uint8_t invoke_id, uint8_t reason, bool server)
{
    memset(a, 0, sizeof *a);
    a->type = BACSC_PDU_ABORT;
    a->invoke_id = invoke_id;
    a->reason = reason;
    a->server = server;
}

static const unsigned max_apdu_sizes[6] = {50, 128, 206, 480, 1024, 1476};

unsigned bacsc_max_apdu_octets(uint8_t code)
{
    return code < 6 ? max_apdu_sizes[code] : 0;
}

uint8_t bacsc_max_apdu_code(unsigned octets)
{
    uint8_t code = 0;
    for (uint8_t i = 0; i < 6; i++)
        if (max_apdu_sizes[i] <= octets)
            code = i;
    return code;
}

unsigned bacsc_max_segs_count(uint8_t code)
{
    if (code == 0 || code > 7)
        return 0;
    if (code == 7)
        return 65;
    return 1u << code;
}
