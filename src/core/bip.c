/*
 * bip.c — BACnet/IP BVLL codec (bacsc/bip.h).
 */
#include <string.h>

#include "bacsc/bip.h"
#include "bacsc/error.h"

static void get_addr(const uint8_t *p, bacsc_bip_addr *a)
{
    memcpy(a->ip, p, 4);
    a->port = (uint16_t)(p[4] << 8 | p[5]);
}

static void put_addr(uint8_t *p, const bacsc_bip_addr *a)
{
    memcpy(p, a->ip, 4);
    p[4] = (uint8_t)(a->port >> 8);
    p[5] = (uint8_t)a->port;
}

int bacsc_bip_decode(const uint8_t *buf, size_t len, bacsc_bip_msg *m)
{
    if (buf == NULL || len < BACSC_BIP_HEADER_LEN || buf[0] != BACSC_BIP_TYPE)
        return BACSC_ERR_MALFORMED;
    size_t total = (size_t)(buf[2] << 8 | buf[3]);
    if (total != len)
        return BACSC_ERR_MALFORMED;
    memset(m, 0, sizeof *m);
    m->function = buf[1];
    const uint8_t *body = buf + BACSC_BIP_HEADER_LEN;
    size_t n = len - BACSC_BIP_HEADER_LEN;
    switch (m->function) {
    case BACSC_BIP_RESULT:
        if (n != 2)
            return BACSC_ERR_MALFORMED;
        m->result = (uint16_t)(body[0] << 8 | body[1]);
        break;
    case BACSC_BIP_REGISTER_FOREIGN_DEVICE:
        if (n != 2)
            return BACSC_ERR_MALFORMED;
        m->ttl = (uint16_t)(body[0] << 8 | body[1]);
        break;
    case BACSC_BIP_DELETE_FDT_ENTRY:
        if (n != 6)
            return BACSC_ERR_MALFORMED;
        get_addr(body, &m->addr);
        break;
    case BACSC_BIP_READ_BDT:
    case BACSC_BIP_READ_FDT:
        if (n != 0)
            return BACSC_ERR_MALFORMED;
        break;
    case BACSC_BIP_WRITE_BDT:
    case BACSC_BIP_READ_BDT_ACK:
    case BACSC_BIP_READ_FDT_ACK:
        if (n % 10 != 0)
            return BACSC_ERR_MALFORMED;
        m->payload = body;
        m->payload_len = n;
        break;
    case BACSC_BIP_FORWARDED_NPDU:
        if (n <= 6)
            return BACSC_ERR_MALFORMED;
        get_addr(body, &m->addr);
        m->payload = body + 6;
        m->payload_len = n - 6;
        break;
    case BACSC_BIP_DISTRIBUTE_BROADCAST:
    case BACSC_BIP_ORIGINAL_UNICAST:
    case BACSC_BIP_ORIGINAL_BROADCAST:
        if (n == 0)
            return BACSC_ERR_MALFORMED;
        m->payload = body;
        m->payload_len = n;
        break;
    case BACSC_BIP_SECURE_BVLL:
        m->payload = body;
        m->payload_len = n;
        break;
    default:
        return BACSC_ERR_MALFORMED;
    }
    return (int)len;
}

static long body_size(const bacsc_bip_msg *m)
{
    if (m->payload_len && m->payload == NULL)
        return -1;
    switch (m->function) {
    case BACSC_BIP_RESULT:
    case BACSC_BIP_REGISTER_FOREIGN_DEVICE:
        return 2;
    case BACSC_BIP_DELETE_FDT_ENTRY:
        return 6;
    case BACSC_BIP_READ_BDT:
    case BACSC_BIP_READ_FDT:
        return 0;
    case BACSC_BIP_WRITE_BDT:
    case BACSC_BIP_READ_BDT_ACK:
    case BACSC_BIP_READ_FDT_ACK:
        return m->payload_len % 10 ? -1 : (long)m->payload_len;
    case BACSC_BIP_FORWARDED_NPDU:
        return m->payload_len == 0 ? -1 : 6 + (long)m->payload_len;
    case BACSC_BIP_DISTRIBUTE_BROADCAST:
    case BACSC_BIP_ORIGINAL_UNICAST:
    case BACSC_BIP_ORIGINAL_BROADCAST:
        return m->payload_len == 0 ? -1 : (long)m->payload_len;
    case BACSC_BIP_SECURE_BVLL:
        return (long)m->payload_len;
    }
    return -1;
}

int bacsc_bip_encode(uint8_t *buf, size_t cap, const bacsc_bip_msg *m)
{
    long body = body_size(m);
    if (body < 0 || body > 0xFFFF - BACSC_BIP_HEADER_LEN)
        return BACSC_ERR_INVALID_ARG;
    size_t total = (size_t)body + BACSC_BIP_HEADER_LEN;
    if (buf == NULL)
        return (int)total;
    if (cap < total)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    uint8_t *p = buf + BACSC_BIP_HEADER_LEN;
    /* body first: the payload may already sit where the header goes after it */
    switch (m->function) {
    case BACSC_BIP_RESULT:
        p[0] = (uint8_t)(m->result >> 8);
        p[1] = (uint8_t)m->result;
        break;
    case BACSC_BIP_REGISTER_FOREIGN_DEVICE:
        p[0] = (uint8_t)(m->ttl >> 8);
        p[1] = (uint8_t)m->ttl;
        break;
    case BACSC_BIP_DELETE_FDT_ENTRY:
        put_addr(p, &m->addr);
        break;
    case BACSC_BIP_FORWARDED_NPDU:
        memmove(p + 6, m->payload, m->payload_len);
        put_addr(p, &m->addr);
        break;
    default:
        if (m->payload_len)
            memmove(p, m->payload, m->payload_len);
        break;
    }
    buf[0] = BACSC_BIP_TYPE;
    buf[1] = m->function;
    buf[2] = (uint8_t)(total >> 8);
    buf[3] = (uint8_t)total;
    return (int)total;
}

int bacsc_bip_encode_npdu(uint8_t *buf, size_t cap, bool broadcast, const uint8_t *npdu,
                          size_t npdu_len)
{
    bacsc_bip_msg m = {.function = broadcast ? BACSC_BIP_ORIGINAL_BROADCAST
                                             : BACSC_BIP_ORIGINAL_UNICAST,
                       .payload = npdu,
                       .payload_len = npdu_len};
    return bacsc_bip_encode(buf, cap, &m);
}

const char *bacsc_bip_function_name(uint8_t function)
{
    static const char *const names[] = {
        "BVLC-Result", "Write-Broadcast-Distribution-Table",
        "Read-Broadcast-Distribution-Table", "Read-Broadcast-Distribution-Table-Ack",
        "Forwarded-NPDU", "Register-Foreign-Device", "Read-Foreign-Device-Table",
        "Read-Foreign-Device-Table-Ack", "Delete-Foreign-Device-Table-Entry",
        "Distribute-Broadcast-To-Network", "Original-Unicast-NPDU", "Original-Broadcast-NPDU",
        "Secure-BVLL"};
    return function < sizeof names / sizeof names[0] ? names[function] : NULL;
}

const char *bacsc_bip_result_name(uint16_t result)
{
    switch (result) {
    case BACSC_BIP_RESULT_SUCCESS: return "Successful completion";
    case BACSC_BIP_RESULT_WRITE_BDT_NAK: return "Write-Broadcast-Distribution-Table NAK";
    case BACSC_BIP_RESULT_READ_BDT_NAK: return "Read-Broadcast-Distribution-Table NAK";
    case BACSC_BIP_RESULT_REGISTER_FD_NAK: return "Register-Foreign-Device NAK";
    case BACSC_BIP_RESULT_READ_FDT_NAK: return "Read-Foreign-Device-Table NAK";
    case BACSC_BIP_RESULT_DELETE_FDT_NAK: return "Delete-Foreign-Device-Table-Entry NAK";
    case BACSC_BIP_RESULT_DISTRIBUTE_BROADCAST_NAK: return "Distribute-Broadcast-To-Network NAK";
    }
    return NULL;
}
