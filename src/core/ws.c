/*
 * ws.c — WebSocket frame decoder and encoder (RFC 6455 section 5).
 *
 * The decoder is a small state machine over the byte stream: collect the
 * 2..14 header octets, validate them as early as possible (after two octets
 * for opcode/RSV/mask/control-length rules, after the full header for the
 * length encoding and the size limit), then move the payload: control
 * payloads into the decoder's 125-octet area, data into the caller's
 * reassembly buffer — or, for a whole unfragmented frame already in the
 * input, nowhere at all (unmasked in place, reported zero-copy).
 */
#include "bacsc/ws.h"

#include <string.h>

#include "bacsc/error.h"

void bacsc_ws_decoder_init(bacsc_ws_decoder *d, bool server, size_t max_message)
{
    memset(d, 0, sizeof *d);
    d->server = server;
    d->max_message = max_message ? max_message : BACSC_WS_DEFAULT_MAX_MESSAGE;
}

int bacsc_ws_set_buffer(bacsc_ws_decoder *d, uint8_t *buf, size_t cap)
{
    if (cap < d->msg_len || (!buf && cap))
        return BACSC_ERR_INVALID_ARG;
    d->buf = buf;
    d->cap = cap;
    return BACSC_OK;
}

static int fail(bacsc_ws_decoder *d, int rc, uint16_t close_code, uint16_t error_code,
                const char *text)
{
    d->failed = true;
    d->close_code = close_code;
    d->error_code = error_code;
    d->error_text = text;
    return rc;
}

static int protocol_error(bacsc_ws_decoder *d, const char *text)
{
    return fail(d, BACSC_ERR_PROTOCOL, BACSC_WS_CLOSE_PROTOCOL_ERROR, BACSC_EC_WS_PROTOCOL_ERROR,
                text);
}

void bacsc_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset)
{
    size_t i = 0;
    /* Align to the key, then 8 and 4 octets per step (compilers vectorise this). */
    while (i < len && ((offset + i) & 3) != 0) {
        data[i] ^= mask[(offset + i) & 3];
        i++;
    }
    uint32_t m;
    memcpy(&m, mask, 4);
    uint64_t m2 = ((uint64_t)m << 32) | m;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        w ^= m2;
        memcpy(data + i, &w, 8);
    }
    for (; i + 4 <= len; i += 4) {
        uint32_t w;
        memcpy(&w, data + i, 4);
        w ^= m;
        memcpy(data + i, &w, 4);
    }
    for (; i < len; i++)
        data[i] ^= mask[(offset + i) & 3];
}

bool bacsc_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

bool bacsc_ws_close_code_valid(uint16_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

uint16_t bacsc_ws_close_to_error(uint16_t close_code)
{
    switch (close_code) {
    case BACSC_WS_CLOSE_NORMAL: return BACSC_EC_WS_CLOSED_BY_PEER;
    case BACSC_WS_CLOSE_GOING_AWAY: return BACSC_EC_WS_ENDPOINT_LEAVES;
    case BACSC_WS_CLOSE_PROTOCOL_ERROR: return BACSC_EC_WS_PROTOCOL_ERROR;
    case BACSC_WS_CLOSE_UNSUPPORTED_DATA: return BACSC_EC_WS_DATA_NOT_ACCEPTED;
    case BACSC_WS_CLOSE_ABNORMAL: return BACSC_EC_WS_CLOSED_ABNORMALLY;
    case BACSC_WS_CLOSE_INVALID_DATA: return BACSC_EC_WS_DATA_INCONSISTENT;
    case BACSC_WS_CLOSE_POLICY: return BACSC_EC_WS_DATA_AGAINST_POLICY;
    case BACSC_WS_CLOSE_TOO_BIG: return BACSC_EC_WS_FRAME_TOO_LONG;
    case BACSC_WS_CLOSE_EXTENSION: return BACSC_EC_WS_EXTENSION_MISSING;
    case BACSC_WS_CLOSE_INTERNAL: return BACSC_EC_WS_REQUEST_UNAVAILABLE;
    }
    return BACSC_EC_WS_ERROR;
}

static bool is_control(uint8_t op)
{
    return (op & 0x8) != 0;
}

/* Rules checkable from the first two header octets. */
static int check_first_two(bacsc_ws_decoder *d)
{
    uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
    d->fin = (b0 & 0x80) != 0;
    d->opcode = b0 & 0x0F;
    d->masked = (b1 & 0x80) != 0;
    uint8_t len7 = b1 & 0x7F;
    if (b0 & 0x70)
        return fail(d, BACSC_ERR_PROTOCOL, BACSC_WS_CLOSE_PROTOCOL_ERROR,
                    BACSC_EC_WS_PROTOCOL_ERROR, "RSV bit set without a negotiated extension");
    switch (d->opcode) {
    case BACSC_WS_OP_CONT:
        if (!d->in_message)
            return protocol_error(d, "continuation frame outside a fragmented message");
        break;
    case BACSC_WS_OP_TEXT:
        return fail(d, BACSC_ERR_PROTOCOL, BACSC_WS_CLOSE_UNSUPPORTED_DATA,
                    BACSC_EC_WS_DATA_NOT_ACCEPTED, "text frame (BACnet/SC uses binary frames only)");
    case BACSC_WS_OP_BINARY:
        if (d->in_message)
            return protocol_error(d, "new data frame inside a fragmented message");
        break;
    case BACSC_WS_OP_CLOSE:
    case BACSC_WS_OP_PING:
    case BACSC_WS_OP_PONG:
        if (!d->fin)
            return protocol_error(d, "fragmented control frame");
        if (len7 > BACSC_WS_MAX_CONTROL)
            return protocol_error(d, "control frame payload over 125 octets");
        break;
    default:
        if (is_control(d->opcode))
            return fail(d, BACSC_ERR_PROTOCOL, BACSC_WS_CLOSE_PROTOCOL_ERROR,
                        BACSC_EC_WS_UNKNOWN_CONTROL_MESSAGE, "unknown control opcode");
        return protocol_error(d, "reserved opcode");
    }
    if (d->close_received)
        return protocol_error(d, "frame after a close frame");
    if (d->masked != d->server)
        return protocol_error(d, d->server ? "unmasked frame from a client"
                                           : "masked frame from a server");
    d->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (d->masked ? 4 : 0));
    return BACSC_OK;
}

/* Rules checkable once the whole header is in. */
static int check_header(bacsc_ws_decoder *d)
{
    uint8_t len7 = d->hdr[1] & 0x7F;
    size_t p = 2;
    uint64_t n = len7;
    if (len7 == 126) {
        n = ((uint64_t)d->hdr[2] << 8) | d->hdr[3];
        p = 4;
        if (n < 126)
            return protocol_error(d, "16-bit length used for a length under 126");
    } else if (len7 == 127) {
        n = 0;
        for (int k = 0; k < 8; k++)
            n = (n << 8) | d->hdr[2 + k];
        p = 10;
        if (n >> 63)
            return protocol_error(d, "64-bit length with the top bit set");
        if (n < 65536)
            return protocol_error(d, "64-bit length used for a length under 65536");
    }
    if (d->masked)
        memcpy(d->mask, d->hdr + p, 4);
    d->frame_len = n;
    d->frame_done = 0;
    if (!is_control(d->opcode) && n > d->max_message - d->msg_len)
        return fail(d, BACSC_ERR_LIMIT, BACSC_WS_CLOSE_TOO_BIG, BACSC_EC_WS_FRAME_TOO_LONG,
                    "message larger than the limit");
    d->have_header = true;
    return BACSC_OK;
}

static void end_frame(bacsc_ws_decoder *d)
{
    d->have_header = false;
    d->hdr_len = 0;
    d->hdr_need = 2;
}

/* A complete control frame is in d->ctl. */
static int control_event(bacsc_ws_decoder *d, bacsc_ws_event *ev)
{
    size_t n = (size_t)d->frame_len;
    ev->data = d->ctl;
    ev->len = n;
    end_frame(d);
    if (d->opcode == BACSC_WS_OP_PING) {
        ev->type = BACSC_WS_EV_PING;
        return ev->type;
    }
    if (d->opcode == BACSC_WS_OP_PONG) {
        ev->type = BACSC_WS_EV_PONG;
        return ev->type;
    }
    /* close */
    if (n == 1)
        return protocol_error(d, "close frame with a 1-octet payload");
    ev->close_code = BACSC_WS_CLOSE_NO_STATUS;
    if (n >= 2) {
        uint16_t code = (uint16_t)((d->ctl[0] << 8) | d->ctl[1]);
        if (!bacsc_ws_close_code_valid(code))
            return protocol_error(d, "invalid close code");
        if (!bacsc_utf8_valid(d->ctl + 2, n - 2))
            return fail(d, BACSC_ERR_PROTOCOL, BACSC_WS_CLOSE_INVALID_DATA,
                        BACSC_EC_WS_DATA_INCONSISTENT, "close reason is not UTF-8");
        ev->close_code = code;
        ev->data = d->ctl + 2;
        ev->len = n - 2;
    }
    d->close_received = true;
    ev->type = BACSC_WS_EV_CLOSE;
    return ev->type;
}

int bacsc_ws_decode(bacsc_ws_decoder *d, uint8_t *in, size_t len, size_t *consumed,
                    bacsc_ws_event *ev)
{
    memset(ev, 0, sizeof *ev);
    *consumed = 0;
    if (d->failed)
        return d->close_code == BACSC_WS_CLOSE_TOO_BIG ? BACSC_ERR_LIMIT : BACSC_ERR_PROTOCOL;
    if (d->hdr_need == 0)
        d->hdr_need = 2;
    size_t i = 0;
    int rc;
    for (;;) {
        while (!d->have_header) {
            if (i == len) {
                *consumed = i;
                return BACSC_WS_EV_NONE;
            }
            /* as much of the header as is needed and here: the first two
             * octets (which tell the header's size), then the rest */
            size_t take = (size_t)(d->hdr_need - d->hdr_len);
            if (take > len - i)
                take = len - i;
            memcpy(d->hdr + d->hdr_len, in + i, take);
            d->hdr_len = (uint8_t)(d->hdr_len + take);
            i += take;
            if (d->hdr_len == 2 && d->hdr_need == 2 && (rc = check_first_two(d)) < 0)
                goto out;
            if (d->hdr_len >= 2 && d->hdr_len == d->hdr_need && (rc = check_header(d)) < 0)
                goto out;
        }
        size_t avail = len - i;
        uint64_t left = d->frame_len - d->frame_done;
        size_t n = left < avail ? (size_t)left : avail;

        if (is_control(d->opcode)) {
            memcpy(d->ctl + d->frame_done, in + i, n);
            if (d->masked)
                bacsc_ws_mask(d->ctl + d->frame_done, n, d->mask, (size_t)d->frame_done);
            d->frame_done += n;
            i += n;
            if (d->frame_done < d->frame_len) {
                *consumed = i;
                return BACSC_WS_EV_NONE;
            }
            rc = control_event(d, ev);
            goto out;
        }

        if (!d->in_message && d->fin && d->frame_done == 0 && avail >= d->frame_len) {
            /* The whole message is in the input: zero copy. */
            if (d->masked)
                bacsc_ws_mask(in + i, (size_t)d->frame_len, d->mask, 0);
            ev->type = BACSC_WS_EV_MESSAGE;
            ev->data = in + i;
            ev->len = (size_t)d->frame_len;
            i += (size_t)d->frame_len;
            end_frame(d);
            rc = ev->type;
            goto out;
        }

        size_t need = d->msg_len + (size_t)left;
        if (d->cap < need && left > 0) {
            d->in_message = true; /* the frame header is consumed: the message is open */
            ev->type = BACSC_WS_EV_NEED_BUFFER;
            ev->need = need;
            rc = ev->type;
            goto out;
        }
        d->in_message = true;
        if (n) {
            memcpy(d->buf + d->msg_len, in + i, n);
            if (d->masked)
                bacsc_ws_mask(d->buf + d->msg_len, n, d->mask, (size_t)d->frame_done);
        }
        d->msg_len += n;
        d->frame_done += n;
        i += n;
        if (d->frame_done < d->frame_len) {
            *consumed = i;
            return BACSC_WS_EV_NONE;
        }
        bool fin = d->fin;
        end_frame(d);
        if (fin) {
            ev->type = BACSC_WS_EV_MESSAGE;
            ev->data = d->buf ? d->buf : in + i; /* empty message without a buffer */
            ev->len = d->msg_len;
            d->msg_len = 0;
            d->in_message = false;
            rc = ev->type;
            goto out;
        }
    }
out:
    *consumed = i;
    return rc;
}

size_t bacsc_ws_header_size(uint64_t payload_len, bool masked)
{
    size_t n = payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10;
    return n + (masked ? 4 : 0);
}

int bacsc_ws_encode_header(uint8_t *out, size_t cap, int opcode, bool fin,
                           uint64_t payload_len, const uint8_t mask[4])
{
    switch (opcode) {
    case BACSC_WS_OP_CONT:
    case BACSC_WS_OP_TEXT:
    case BACSC_WS_OP_BINARY:
        break;
    case BACSC_WS_OP_CLOSE:
    case BACSC_WS_OP_PING:
    case BACSC_WS_OP_PONG:
        if (!fin || payload_len > BACSC_WS_MAX_CONTROL)
            return BACSC_ERR_INVALID_ARG;
        break;
    default:
        return BACSC_ERR_INVALID_ARG;
    }
    if (payload_len >> 63)
        return BACSC_ERR_INVALID_ARG;
    size_t n = bacsc_ws_header_size(payload_len, mask != NULL);
    if (cap < n)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    uint8_t m = mask ? 0x80 : 0;
    size_t p;
    if (payload_len < 126) {
        out[1] = (uint8_t)(m | payload_len);
        p = 2;
    } else if (payload_len <= 0xFFFF) {
        out[1] = m | 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        p = 4;
    } else {
        out[1] = m | 127;
        for (int k = 0; k < 8; k++)
            out[2 + k] = (uint8_t)(payload_len >> (56 - 8 * k));
        p = 10;
    }
    if (mask)
        memcpy(out + p, mask, 4);
    return (int)n;
}

int bacsc_ws_encode_frame(uint8_t *out, size_t cap, int opcode, bool fin, const uint8_t *payload,
                          size_t len, const uint8_t mask[4])
{
    if (len > (size_t)INT32_MAX - BACSC_WS_MAX_HEADER || (len && !payload))
        return BACSC_ERR_INVALID_ARG;
    int h = bacsc_ws_encode_header(out, cap, opcode, fin, len, mask);
    if (h < 0)
        return h;
    if (cap - (size_t)h < len)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    if (len)
        memmove(out + h, payload, len);
    if (mask)
        bacsc_ws_mask(out + h, len, mask, 0);
    return h + (int)len;
}

int bacsc_ws_encode_close(uint8_t *out, size_t cap, uint16_t code, const char *reason,
                          const uint8_t mask[4])
{
    uint8_t body[BACSC_WS_MAX_CONTROL];
    size_t n = 0;
    if (code) {
        if (!bacsc_ws_close_code_valid(code))
            return BACSC_ERR_INVALID_ARG;
        body[0] = (uint8_t)(code >> 8);
        body[1] = (uint8_t)code;
        n = 2;
        if (reason) {
            size_t r = strlen(reason);
            if (r > BACSC_WS_MAX_CONTROL - 2) {
                r = BACSC_WS_MAX_CONTROL - 2;
                while (r > 0 && ((uint8_t)reason[r] & 0xC0) == 0x80)
                    r--; /* cut at a character boundary */
            }
            if (!bacsc_utf8_valid((const uint8_t *)reason, r))
                return BACSC_ERR_INVALID_ARG;
            memcpy(body + 2, reason, r);
            n += r;
        }
    }
    return bacsc_ws_encode_frame(out, cap, BACSC_WS_OP_CLOSE, true, body, n, mask);
}
