/* support_bacnet.c — see support_bacnet.h. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "support_bacnet.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t bt_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (*p == ' ' || *p == ':' || *p == '\n')
            continue;
        int v = hexval((unsigned char)*p);
        if (v < 0)
            return 0;
        if (hi < 0) {
            hi = v;
        } else {
            if (n == cap)
                return 0;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? n : 0;
}

char *bt_tohex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
    return out;
}

uint64_t bt_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

uint32_t bt_below(uint64_t *s, uint32_t n)
{
    return n ? (uint32_t)(bt_rand(s) % n) : 0;
}

/* Values biased towards the edges where encodings change size. */
static uint64_t edgy(uint64_t *s)
{
    static const uint64_t edges[] = {0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
                                     0x10000, 0xFFFFFF, 0x1000000, 0xFFFFFFFF, 0x100000000ULL,
                                     0x7FFFFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFFFULL};
    uint64_t r = bt_rand(s);
    if (r & 1)
        return edges[bt_below(s, sizeof edges / sizeof edges[0])] + (uint64_t)(int)bt_below(s, 3) - 1;
    return bt_rand(s) >> bt_below(s, 64);
}

void bt_random_value(uint64_t *s, bacsc_value *v, uint8_t *storage, size_t cap)
{
    memset(v, 0, sizeof *v);
    v->type = (uint8_t)bt_below(s, BACSC_APP_TAG_COUNT);
    /* string lengths around the 4 / 253 / 65535 length-encoding edges */
    static const size_t lens[] = {0, 1, 3, 4, 5, 252, 253, 254, 255, 300};
    size_t n = lens[bt_below(s, sizeof lens / sizeof lens[0])];
    if (n > cap)
        n = cap;
    for (size_t i = 0; i < n; i++)
        storage[i] = (uint8_t)bt_rand(s);
    switch (v->type) {
    case BACSC_TAG_NULL: break;
    case BACSC_TAG_BOOLEAN: v->v.boolean = bt_rand(s) & 1; break;
    case BACSC_TAG_UNSIGNED: v->v.unsigned_ = edgy(s); break;
    case BACSC_TAG_SIGNED: v->v.signed_ = (int64_t)edgy(s); break;
    case BACSC_TAG_REAL: {
        uint32_t u = (uint32_t)bt_rand(s);
        memcpy(&v->v.real, &u, 4);
        break;
    }
    case BACSC_TAG_DOUBLE: {
        uint64_t u = bt_rand(s);
        memcpy(&v->v.dbl, &u, 8);
        break;
    }
    case BACSC_TAG_OCTET_STRING: v->v.octets.data = storage; v->v.octets.len = n; break;
    case BACSC_TAG_CHARACTER_STRING:
        v->v.chars.charset = (uint8_t)bt_below(s, 6);
        v->v.chars.data = storage;
        v->v.chars.len = n;
        break;
    case BACSC_TAG_BIT_STRING:
        v->v.bits.data = storage;
        v->v.bits.len = n;
        v->v.bits.unused = n ? (uint8_t)bt_below(s, 8) : 0;
        break;
    case BACSC_TAG_ENUMERATED: v->v.enumerated = (uint32_t)edgy(s); break;
    case BACSC_TAG_DATE: {
        uint32_t r = (uint32_t)bt_rand(s);
        v->v.date = (bacsc_date){(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16), (uint8_t)(r >> 24)};
        break;
    }
    case BACSC_TAG_TIME: {
        uint32_t r = (uint32_t)bt_rand(s);
        v->v.time = (bacsc_time){(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16), (uint8_t)(r >> 24)};
        break;
    }
    case BACSC_TAG_OBJECT_ID:
        v->v.oid.type = (uint16_t)bt_below(s, 1024);
        v->v.oid.instance = bt_below(s, BACSC_MAX_INSTANCE + 1);
        break;
    }
}

void bt_on_done(void *user, const bacsc_client_result *r)
{
    bt_result *res = user;
    res->count++;
    res->r = *r;
    res->r.peer = NULL;
    res->ack_len = 0;
    if (r->ack && r->ack_len) {
        assert_true(r->ack_len <= sizeof res->ack);
        memcpy(res->ack, r->ack, r->ack_len);
        res->ack_len = r->ack_len;
    }
    res->r.ack = res->ack;
}
