/*
 * npdu.c — BACnet NPDU header codec (bacsc/npdu.h).
 *
 * The header is walked field by field with an explicit bound check before
 * each read; addresses are returned as pointers into the input.
 */
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/npdu.h"

void bacsc_npdu_init(bacsc_npdu *n, bool expecting_reply)
{
    memset(n, 0, sizeof *n);
    n->expecting_reply = expecting_reply;
    n->hop_count = 255;
}

uint8_t bacsc_npdu_control(const bacsc_npdu *n)
{
    uint8_t c = n->priority & BACSC_NPDU_CTRL_PRIORITY_MASK;
    if (n->network_msg)
        c |= BACSC_NPDU_CTRL_NETWORK_MSG;
    if (n->has_dnet)
        c |= BACSC_NPDU_CTRL_DNET;
    if (n->has_snet)
        c |= BACSC_NPDU_CTRL_SNET;
    if (n->expecting_reply)
        c |= BACSC_NPDU_CTRL_EXPECTING_REPLY;
    return c;
}

int bacsc_npdu_decode(const uint8_t *buf, size_t len, bacsc_npdu *n)
{
    if (buf == NULL || len < 2 || buf[0] != BACSC_NPDU_VERSION)
        return BACSC_ERR_MALFORMED;
    uint8_t c = buf[1];
    if (c & BACSC_NPDU_CTRL_RESERVED)
        return BACSC_ERR_MALFORMED;
    memset(n, 0, sizeof *n);
    n->network_msg = (c & BACSC_NPDU_CTRL_NETWORK_MSG) != 0;
    n->has_dnet = (c & BACSC_NPDU_CTRL_DNET) != 0;
    n->has_snet = (c & BACSC_NPDU_CTRL_SNET) != 0;
    n->expecting_reply = (c & BACSC_NPDU_CTRL_EXPECTING_REPLY) != 0;
    n->priority = c & BACSC_NPDU_CTRL_PRIORITY_MASK;
    size_t pos = 2;
    if (n->has_dnet) {
        if (len - pos < 3)
            return BACSC_ERR_MALFORMED;
        n->dnet = (uint16_t)(buf[pos] << 8 | buf[pos + 1]);
        n->dlen = buf[pos + 2];
        pos += 3;
        if (n->dnet == 0 || len - pos < n->dlen)
            return BACSC_ERR_MALFORMED;
        n->dadr = n->dlen ? buf + pos : NULL;
        pos += n->dlen;
    }
    if (n->has_snet) {
        if (len - pos < 3)
            return BACSC_ERR_MALFORMED;
        n->snet = (uint16_t)(buf[pos] << 8 | buf[pos + 1]);
        n->slen = buf[pos + 2];
        pos += 3;
        if (n->snet == 0 || n->snet == 0xFFFF || n->slen == 0 || len - pos < n->slen)
            return BACSC_ERR_MALFORMED;
        n->sadr = buf + pos;
        pos += n->slen;
    }
    if (n->has_dnet) {
        if (len - pos < 1)
            return BACSC_ERR_MALFORMED;
        n->hop_count = buf[pos++];
    }
    if (n->network_msg) {
        if (len - pos < 1)
            return BACSC_ERR_MALFORMED;
        n->msg_type = buf[pos++];
        if (n->msg_type >= 0x80) {
            if (len - pos < 2)
                return BACSC_ERR_MALFORMED;
            n->vendor_id = (uint16_t)(buf[pos] << 8 | buf[pos + 1]);
            pos += 2;
        }
    }
    n->payload = buf + pos;
    n->payload_len = len - pos;
    return (int)pos;
}

static int header_size(const bacsc_npdu *n)
{
    if (n->priority > 3)
        return BACSC_ERR_INVALID_ARG;
    size_t size = 2;
    if (n->has_dnet) {
        if (n->dnet == 0 || (n->dlen && n->dadr == NULL))
            return BACSC_ERR_INVALID_ARG;
        size += 3 + n->dlen + 1;
    }
    if (n->has_snet) {
        if (n->snet == 0 || n->snet == 0xFFFF || n->slen == 0 || n->sadr == NULL)
            return BACSC_ERR_INVALID_ARG;
        size += 3 + n->slen;
    }
    if (n->network_msg)
        size += n->msg_type >= 0x80 ? 3 : 1;
    return (int)size;
}

int bacsc_npdu_encode_header(uint8_t *buf, size_t cap, const bacsc_npdu *n)
{
    int size = header_size(n);
    if (size < 0 || buf == NULL)
        return size;
    if (cap < (size_t)size)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    uint8_t *p = buf;
    *p++ = BACSC_NPDU_VERSION;
    *p++ = bacsc_npdu_control(n);
    if (n->has_dnet) {
        *p++ = (uint8_t)(n->dnet >> 8);
        *p++ = (uint8_t)n->dnet;
        *p++ = n->dlen;
        if (n->dlen) {
            memcpy(p, n->dadr, n->dlen);
            p += n->dlen;
        }
    }
    if (n->has_snet) {
        *p++ = (uint8_t)(n->snet >> 8);
        *p++ = (uint8_t)n->snet;
        *p++ = n->slen;
        memcpy(p, n->sadr, n->slen);
        p += n->slen;
    }
    if (n->has_dnet)
        *p++ = n->hop_count;
    if (n->network_msg) {
        *p++ = n->msg_type;
        if (n->msg_type >= 0x80) {
            *p++ = (uint8_t)(n->vendor_id >> 8);
            *p++ = (uint8_t)n->vendor_id;
        }
    }
    return size;
}

int bacsc_npdu_encode(uint8_t *buf, size_t cap, const bacsc_npdu *n)
{
    int h = header_size(n);
    if (h < 0)
        return h;
    if (n->payload_len && n->payload == NULL)
        return BACSC_ERR_INVALID_ARG;
    if (n->payload_len > (size_t)0x7FFFFFFF - (size_t)h)
        return BACSC_ERR_INVALID_ARG;
    size_t total = (size_t)h + n->payload_len;
    if (buf == NULL)
        return (int)total;
    if (cap < total)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    bacsc_npdu_encode_header(buf, cap, n);
    if (n->payload_len)
        memmove(buf + h, n->payload, n->payload_len);
    return (int)total;
}

const char *bacsc_network_msg_name(uint8_t type)
{
    static const char *const names[] = {
        "Who-Is-Router-To-Network", "I-Am-Router-To-Network", "I-Could-Be-Router-To-Network",
        "Reject-Message-To-Network", "Router-Busy-To-Network", "Router-Available-To-Network",
        "Initialize-Routing-Table", "Initialize-Routing-Table-Ack",
        "Establish-Connection-To-Network", "Disconnect-Connection-To-Network",
        "Challenge-Request", "Security-Payload", "Security-Response", "Request-Key-Update",
        "Update-Key-Set", "Update-Distribution-Key", "Request-Master-Key", "Set-Master-Key",
        "What-Is-Network-Number", "Network-Number-Is"};
    if (type < sizeof names / sizeof names[0])
        return names[type];
    return NULL;
}
