/*
 * tags.c — BACnet application/context tag codec (bacsc/tags.h).
 *
 * Every decoder here bounds-checks against the caller's length before it
 * reads; nothing is copied or allocated. Encoders compute the exact size
 * first, so buf == NULL gives the size and a short buffer is refused before
 * anything is written.
 */
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/tags.h"

/* ---- small helpers -------------------------------------------------------- */

static size_t tag_header_size(uint8_t number, uint32_t len)
{
    size_t n = number >= 15 ? 2 : 1;
    if (len <= 4)
        return n;
    if (len < 254)
        return n + 1;
    if (len <= 0xFFFF)
        return n + 3;
    return n + 5;
}

static size_t put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return n;
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Write a tag header with L/V/T `lvt_kind`: 0 = length/value `len`,
 * 6 = opening, 7 = closing. Caller checked the size. */
static size_t write_tag(uint8_t *p, uint8_t number, bool context, uint32_t len, int special)
{
    size_t pos = 1;
    uint8_t o = context ? 0x08 : 0x00;
    if (number >= 15) {
        o |= 0xF0;
        p[1] = number;
        pos = 2;
    } else {
        o |= (uint8_t)(number << 4);
    }
    if (special) {
        p[0] = o | (uint8_t)special;
        return pos;
    }
    if (len <= 4) {
        p[0] = o | (uint8_t)len;
        return pos;
    }
    p[0] = o | 5;
    if (len < 254) {
        p[pos++] = (uint8_t)len;
    } else if (len <= 0xFFFF) {
        p[pos++] = 254;
        pos += put_be(p + pos, len, 2);
    } else {
        p[pos++] = 255;
        pos += put_be(p + pos, len, 4);
    }
    return pos;
}

unsigned bacsc_unsigned_size(uint64_t u)
{
    unsigned n = 1;
    while (n < 8 && (u >> (8 * n)) != 0)
        n++;
    return n;
}

unsigned bacsc_signed_size(int64_t i)
{
    unsigned n = 1;
    while (n < 8) {
        int64_t lo = -((int64_t)1 << (8 * n - 1));
        int64_t hi = ((int64_t)1 << (8 * n - 1)) - 1;
        if (i >= lo && i <= hi)
            break;
        n++;
    }
    return n;
}

uint32_t bacsc_object_id_pack(uint16_t type, uint32_t instance)
{
    return ((uint32_t)(type & BACSC_MAX_OBJECT_TYPE) << 22) | (instance & BACSC_MAX_INSTANCE);
}

bacsc_object_id bacsc_object_id_unpack(uint32_t packed)
{
    bacsc_object_id o = {(uint16_t)(packed >> 22), packed & BACSC_MAX_INSTANCE};
    return o;
}

/* ---- tag headers ------------------------------------------------------------ */

int bacsc_tag_decode(const uint8_t *buf, size_t len, bacsc_tag *tag)
{
    if (buf == NULL || len < 1)
        return BACSC_ERR_MALFORMED;
    uint8_t o = buf[0];
    size_t pos = 1;
    uint8_t number = o >> 4;
    bool context = (o & 0x08) != 0;
    uint8_t lvt = o & 0x07;
    if (number == 15) {
        if (len < 2)
            return BACSC_ERR_MALFORMED;
        number = buf[1];
        /* 255 is reserved; 0..14 must use the short form */
        if (number == 255 || number < 15)
            return BACSC_ERR_MALFORMED;
        pos = 2;
    }
    tag->number = number;
    tag->context = context;
    tag->opening = false;
    tag->closing = false;
    uint32_t content = 0;
    if (lvt < 5) {
        /* the common case: length (or Boolean value) in the tag octet */
        content = lvt;
        tag->lvt = lvt;
    } else if (lvt == 5) {
        if (len - pos < 1)
            return BACSC_ERR_MALFORMED;
        uint8_t ext = buf[pos++];
        if (ext < 254) {
            content = ext;
        } else {
            unsigned n = ext == 254 ? 2 : 4;
            if (len - pos < n)
                return BACSC_ERR_MALFORMED;
            content = (uint32_t)get_be(buf + pos, n);
            pos += n;
        }
        tag->lvt = content;
    } else {
        if (!context)
            return BACSC_ERR_MALFORMED;   /* opening/closing are context-only */
        tag->opening = lvt == 6;
        tag->closing = lvt == 7;
        tag->lvt = lvt;
    }
    if (!context && number == 1) {
        /* Application Boolean: the value lives in L/V/T, no content. */
        if (lvt > 1)
            return BACSC_ERR_MALFORMED;
        content = 0;
    }
    tag->len = content;
    tag->header_len = (uint8_t)pos;
    if (content > len - pos)
        return BACSC_ERR_MALFORMED;
    return (int)pos;
}

/* Inline fast path for the one-octet tag headers that make up nearly all
 * BACnet data (tag number < 15, no extended length); everything else goes
 * through bacsc_tag_decode(). Same results, same checks. */
static inline int tag_fast(const uint8_t *buf, size_t len, bacsc_tag *t)
{
    if (len == 0 || buf == NULL)
        return BACSC_ERR_MALFORMED;
    uint8_t o = buf[0];
    uint8_t lvt = o & 7;
    if ((o >> 4) == 15 || lvt == 5 || (!(o & 0x08) && ((o >> 4) == 1 || lvt > 5)))
        return bacsc_tag_decode(buf, len, t);
    t->number = o >> 4;
    t->context = (o & 0x08) != 0;
    t->opening = lvt == 6;
    t->closing = lvt == 7;
    t->lvt = lvt;
    t->len = lvt < 5 ? lvt : 0;
    t->header_len = 1;
    if (t->len > len - 1)
        return BACSC_ERR_MALFORMED;
    return 1;
}

int bacsc_tag_encode(uint8_t *buf, size_t cap, uint8_t number, bool context,
                     uint32_t content_len)
{
    if (number == 255)
        return BACSC_ERR_INVALID_ARG;
    size_t n = tag_header_size(number, content_len);
    if (buf == NULL)
        return (int)n;
    if (cap < n)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    return (int)write_tag(buf, number, context, content_len, 0);
}

static int encode_open_close(uint8_t *buf, size_t cap, uint8_t number, int kind)
{
    if (number == 255)
        return BACSC_ERR_INVALID_ARG;
    size_t n = number >= 15 ? 2 : 1;
    if (buf == NULL)
        return (int)n;
    if (cap < n)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    return (int)write_tag(buf, number, true, 0, kind);
}

int bacsc_tag_encode_opening(uint8_t *buf, size_t cap, uint8_t number)
{
    return encode_open_close(buf, cap, number, 6);
}

int bacsc_tag_encode_closing(uint8_t *buf, size_t cap, uint8_t number)
{
    return encode_open_close(buf, cap, number, 7);
}

bool bacsc_tag_is_opening(const uint8_t *buf, size_t len, uint8_t number)
{
    bacsc_tag t;
    return bacsc_tag_decode(buf, len, &t) > 0 && t.opening && t.number == number;
}

bool bacsc_tag_is_closing(const uint8_t *buf, size_t len, uint8_t number)
{
    bacsc_tag t;
    return bacsc_tag_decode(buf, len, &t) > 0 && t.closing && t.number == number;
}

int bacsc_element_len(const uint8_t *buf, size_t len)
{
    uint8_t stack[BACSC_MAX_NESTING];
    unsigned depth = 0;
    size_t pos = 0;
    if (buf == NULL || len == 0)
        return BACSC_ERR_MALFORMED;
    if (len > (size_t)0x7FFFFFFF)
        len = 0x7FFFFFFF;   /* results must fit an int; longer elements are refused */
    for (;;) {
        if (pos >= len)
            return BACSC_ERR_MALFORMED;
        uint8_t o = buf[pos];
        uint8_t lvt = o & 7;
        bool context = (o & 0x08) != 0;
        if ((o >> 4) != 15 && context && lvt >= 6) {
            /* opening or closing tag, one octet */
            if (lvt == 6) {
                if (depth == BACSC_MAX_NESTING)
                    return BACSC_ERR_MALFORMED;
                stack[depth++] = o >> 4;
            } else if (depth == 0 || stack[--depth] != (o >> 4)) {
                return BACSC_ERR_MALFORMED;
            }
            pos++;
        } else if ((o >> 4) != 15 && lvt < 5 && (context || (o >> 4) != 1)) {
            /* primitive with the length in the tag octet */
            if (lvt > len - pos - 1)
                return BACSC_ERR_MALFORMED;
            pos += 1u + lvt;
        } else {
            bacsc_tag t;
            int h = bacsc_tag_decode(buf + pos, len - pos, &t);
            if (h < 0)
                return BACSC_ERR_MALFORMED;
            pos += (size_t)h + t.len;
            if (t.opening) {
                if (depth == BACSC_MAX_NESTING)
                    return BACSC_ERR_MALFORMED;
                stack[depth++] = t.number;
            } else if (t.closing) {
                if (depth == 0 || stack[--depth] != t.number)
                    return BACSC_ERR_MALFORMED;
            }
        }
        if (depth == 0)
            return (int)pos;
    }
}

int bacsc_enclosed_decode(const uint8_t *buf, size_t len, uint8_t number,
                          const uint8_t **content, size_t *content_len)
{
    bacsc_tag t;
    int h;
    if (number < 15) {
        /* one-octet opening tag */
        if (len == 0 || buf == NULL || buf[0] != (uint8_t)(number << 4 | 0x0E))
            return BACSC_ERR_NOT_FOUND;
        h = 1;
    } else {
        h = tag_fast(buf, len, &t);
        if (h < 0 || !t.opening || t.number != number)
            return BACSC_ERR_NOT_FOUND;
    }
    int total = bacsc_element_len(buf, len);
    if (total < 0)
        return BACSC_ERR_MALFORMED;
    /* the closing tag has the same header length as the opening tag */
    *content = buf + h;
    *content_len = (size_t)total - 2 * (size_t)h;
    return total;
}

/* ---- primitive contents ------------------------------------------------------ */

/* Size of the content of `v` (application type), or -1 if not encodable. */
static long content_size(const bacsc_value *v)
{
    switch (v->type) {
    case BACSC_TAG_NULL: return 0;
    case BACSC_TAG_BOOLEAN: return 0;   /* application form; context form: 1 */
    case BACSC_TAG_UNSIGNED: return bacsc_unsigned_size(v->v.unsigned_);
    case BACSC_TAG_SIGNED: return bacsc_signed_size(v->v.signed_);
    case BACSC_TAG_REAL: return 4;
    case BACSC_TAG_DOUBLE: return 8;
    case BACSC_TAG_OCTET_STRING:
        if (v->v.octets.len > 0 && v->v.octets.data == NULL)
            return -1;
        return v->v.octets.len > 0x7FFFFFF0 ? -1 : (long)v->v.octets.len;
    case BACSC_TAG_CHARACTER_STRING:
        if (v->v.chars.len > 0 && v->v.chars.data == NULL)
            return -1;
        return v->v.chars.len > 0x7FFFFFF0 ? -1 : (long)v->v.chars.len + 1;
    case BACSC_TAG_BIT_STRING:
        if (v->v.bits.unused > 7 || (v->v.bits.unused > 0 && v->v.bits.len == 0))
            return -1;
        if (v->v.bits.len > 0 && v->v.bits.data == NULL)
            return -1;
        return v->v.bits.len > 0x7FFFFFF0 ? -1 : (long)v->v.bits.len + 1;
    case BACSC_TAG_ENUMERATED: return bacsc_unsigned_size(v->v.enumerated);
    case BACSC_TAG_DATE:
    case BACSC_TAG_TIME: return 4;
    case BACSC_TAG_OBJECT_ID:
        if (v->v.oid.type > BACSC_MAX_OBJECT_TYPE || v->v.oid.instance > BACSC_MAX_INSTANCE)
            return -1;
        return 4;
    }
    return -1;
}

static void write_content(uint8_t *p, const bacsc_value *v, size_t n)
{
    switch (v->type) {
    case BACSC_TAG_NULL: break;
    case BACSC_TAG_BOOLEAN: if (n) p[0] = v->v.boolean ? 1 : 0; break;
    case BACSC_TAG_UNSIGNED: put_be(p, v->v.unsigned_, (unsigned)n); break;
    case BACSC_TAG_SIGNED: put_be(p, (uint64_t)v->v.signed_, (unsigned)n); break;
    case BACSC_TAG_REAL: {
        uint32_t u;
        memcpy(&u, &v->v.real, 4);
        put_be(p, u, 4);
        break;
    }
    case BACSC_TAG_DOUBLE: {
        uint64_t u;
        memcpy(&u, &v->v.dbl, 8);
        put_be(p, u, 8);
        break;
    }
    case BACSC_TAG_OCTET_STRING:
        if (n)
            memcpy(p, v->v.octets.data, n);
        break;
    case BACSC_TAG_CHARACTER_STRING:
        p[0] = v->v.chars.charset;
        if (n > 1)
            memcpy(p + 1, v->v.chars.data, n - 1);
        break;
    case BACSC_TAG_BIT_STRING:
        p[0] = v->v.bits.unused;
        if (n > 1)
            memcpy(p + 1, v->v.bits.data, n - 1);
        break;
    case BACSC_TAG_ENUMERATED: put_be(p, v->v.enumerated, (unsigned)n); break;
    case BACSC_TAG_DATE:
        p[0] = v->v.date.year_1900; p[1] = v->v.date.month;
        p[2] = v->v.date.day; p[3] = v->v.date.wday;
        break;
    case BACSC_TAG_TIME:
        p[0] = v->v.time.hour; p[1] = v->v.time.minute;
        p[2] = v->v.time.second; p[3] = v->v.time.hundredths;
        break;
    case BACSC_TAG_OBJECT_ID:
        put_be(p, bacsc_object_id_pack(v->v.oid.type, v->v.oid.instance), 4);
        break;
    }
}

/* Decode `n` content octets at p as application type `type`. */
static int read_content(const uint8_t *p, uint32_t n, uint8_t type, bacsc_value *v)
{
    v->type = type;
    v->ctx_tag = 0;
    switch (type) {
    case BACSC_TAG_NULL:
        return n == 0 ? 0 : BACSC_ERR_MALFORMED;
    case BACSC_TAG_BOOLEAN:   /* context form: one octet 0/1 */
        if (n != 1 || p[0] > 1)
            return BACSC_ERR_MALFORMED;
        v->v.boolean = p[0] == 1;
        return 0;
    case BACSC_TAG_UNSIGNED:
        if (n < 1 || n > 8)
            return BACSC_ERR_MALFORMED;
        v->v.unsigned_ = get_be(p, n);
        return 0;
    case BACSC_TAG_SIGNED: {
        if (n < 1 || n > 8)
            return BACSC_ERR_MALFORMED;
        uint64_t u = get_be(p, n);
        if (n < 8 && (p[0] & 0x80))
            u |= ~(uint64_t)0 << (8 * n);
        v->v.signed_ = (int64_t)u;
        return 0;
    }
    case BACSC_TAG_REAL: {
        if (n != 4)
            return BACSC_ERR_MALFORMED;
        uint32_t u = (uint32_t)get_be(p, 4);
        memcpy(&v->v.real, &u, 4);
        return 0;
    }
    case BACSC_TAG_DOUBLE: {
        if (n != 8)
            return BACSC_ERR_MALFORMED;
        uint64_t u = get_be(p, 8);
        memcpy(&v->v.dbl, &u, 8);
        return 0;
    }
    case BACSC_TAG_OCTET_STRING:
        v->v.octets.data = p;
        v->v.octets.len = n;
        return 0;
    case BACSC_TAG_CHARACTER_STRING:
        if (n < 1)
            return BACSC_ERR_MALFORMED;
        v->v.chars.charset = p[0];
        v->v.chars.data = p + 1;
        v->v.chars.len = n - 1;
        return 0;
    case BACSC_TAG_BIT_STRING:
        if (n < 1 || p[0] > 7 || (n == 1 && p[0] != 0))
            return BACSC_ERR_MALFORMED;
        v->v.bits.unused = p[0];
        v->v.bits.data = p + 1;
        v->v.bits.len = n - 1;
        return 0;
    case BACSC_TAG_ENUMERATED:
        if (n < 1 || n > 4)
            return BACSC_ERR_MALFORMED;
        v->v.enumerated = (uint32_t)get_be(p, n);
        return 0;
    case BACSC_TAG_DATE:
        if (n != 4)
            return BACSC_ERR_MALFORMED;
        v->v.date.year_1900 = p[0]; v->v.date.month = p[1];
        v->v.date.day = p[2]; v->v.date.wday = p[3];
        return 0;
    case BACSC_TAG_TIME:
        if (n != 4)
            return BACSC_ERR_MALFORMED;
        v->v.time.hour = p[0]; v->v.time.minute = p[1];
        v->v.time.second = p[2]; v->v.time.hundredths = p[3];
        return 0;
    case BACSC_TAG_OBJECT_ID:
        if (n != 4)
            return BACSC_ERR_MALFORMED;
        v->v.oid = bacsc_object_id_unpack((uint32_t)get_be(p, 4));
        return 0;
    }
    return BACSC_ERR_MALFORMED;
}

/* ---- application-tagged values -------------------------------------------- */

int bacsc_value_encode(uint8_t *buf, size_t cap, const bacsc_value *v)
{
    long c = content_size(v);
    if (c < 0)
        return BACSC_ERR_INVALID_ARG;
    uint32_t lvt = v->type == BACSC_TAG_BOOLEAN ? (v->v.boolean ? 1 : 0) : (uint32_t)c;
    size_t n = tag_header_size(v->type, lvt) + (size_t)c;
    if (buf == NULL)
        return (int)n;
    if (cap < n)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    size_t h = write_tag(buf, v->type, false, lvt, 0);
    write_content(buf + h, v, (size_t)c);
    return (int)n;
}

int bacsc_value_decode(const uint8_t *buf, size_t len, bacsc_value *v)
{
    if (buf != NULL && len >= 5 && buf[0] == 0x44) {
        /* Real, the most common present-value */
        uint32_t u = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
        v->type = BACSC_TAG_REAL;
        v->ctx_tag = 0;
        memcpy(&v->v.real, &u, 4);
        return 5;
    }
    bacsc_tag t;
    int h = tag_fast(buf, len, &t);
    if (h < 0 || t.context || t.number >= BACSC_APP_TAG_COUNT)
        return BACSC_ERR_MALFORMED;
    if (t.number == BACSC_TAG_BOOLEAN) {
        v->type = BACSC_TAG_BOOLEAN;
        v->ctx_tag = 0;
        v->v.boolean = t.lvt == 1;
        return h;
    }
    if (read_content(buf + h, t.len, t.number, v) < 0)
        return BACSC_ERR_MALFORMED;
    return h + (int)t.len;
}

int bacsc_app_decode_expect(const uint8_t *buf, size_t len, uint8_t type, bacsc_value *v)
{
    int n = bacsc_value_decode(buf, len, v);
    if (n < 0 || v->type != type)
        return BACSC_ERR_MALFORMED;
    return n;
}

int bacsc_app_encode_null(uint8_t *buf, size_t cap)
{
    bacsc_value v = {.type = BACSC_TAG_NULL};
    return bacsc_value_encode(buf, cap, &v);
}

int bacsc_app_encode_boolean(uint8_t *buf, size_t cap, bool b)
{
    bacsc_value v = {.type = BACSC_TAG_BOOLEAN, .v.boolean = b};
    return bacsc_value_encode(buf, cap, &v);
}

int bacsc_app_encode_unsigned(uint8_t *buf, size_t cap, uint64_t u)
{
    bacsc_value v = {.type = BACSC_TAG_UNSIGNED, .v.unsigned_ = u};
    return bacsc_value_encode(buf, cap, &v);
}

int bacsc_app_encode_signed(uint8_t *buf, size_t cap, int64_t i)
{
    bacsc_value v = {.type = BACSC_TAG_SIGNED, .v.signed_ = i};
    return bacsc_value_encode(buf, cap, &v);
}

int bacsc_app_encode_real(uint8_t *buf, size_t cap, float f)
{
    /* the most common present-value: written directly */
    if (buf == NULL)
        return 5;
    if (cap < 5)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    uint32_t u;
    memcpy(&u, &f, 4);
    buf[0] = 0x44;
    put_be(buf + 1, u, 4);
    return 5;
}

int bacsc_app_encode_double(uint8_t *buf, size_t cap, double d)
{
    bacsc_value v = {.type = BACSC_TAG_DOUBLE, .v.dbl = d};
    return bacsc_value_encode(buf, cap, &v);
}

int bacsc_app_encode_octet_string(uint8_t *buf, size_t cap, const uint8_t *data, size_t n)
{
    bacsc_value v = {.type = BACSC_TAG_OCTET_STRING, .v.octets = {data, n}};
    return bacsc_value_encode(buf, cap, &v);
}

int bacsc_app_encode_char_string(uint8_t *buf, size_t cap, const char *s, size_t n)
{
    bacsc_value v = {.type = BACSC_TAG_CHARACTER_STRING,
                     .v.chars = {BACSC_CHARSET_UTF8, (const uint8_t *)s, n}};
    return bacsc_value_encode(buf, cap, &v);
}

int bacsc_app_encode_enumerated(uint8_t *buf, size_t cap, uint32_t e)
{
    bacsc_value v = {.type = BACSC_TAG_ENUMERATED, .v.enumerated = e};
    return bacsc_value_encode(buf, cap, &v);
}

int bacsc_app_encode_object_id(uint8_t *buf, size_t cap, uint16_t type, uint32_t instance)
{
    bacsc_value v = {.type = BACSC_TAG_OBJECT_ID, .v.oid = {type, instance}};
    return bacsc_value_encode(buf, cap, &v);
}

/* ---- context-tagged primitives -------------------------------------------- */

int bacsc_ctx_encode_value(uint8_t *buf, size_t cap, uint8_t number, const bacsc_value *v)
{
    if (number == 255)
        return BACSC_ERR_INVALID_ARG;
    long c = content_size(v);
    if (c < 0)
        return BACSC_ERR_INVALID_ARG;
    if (v->type == BACSC_TAG_BOOLEAN)
        c = 1;
    size_t n = tag_header_size(number, (uint32_t)c) + (size_t)c;
    if (buf == NULL)
        return (int)n;
    if (cap < n)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    size_t h = write_tag(buf, number, true, (uint32_t)c, 0);
    write_content(buf + h, v, (size_t)c);
    return (int)n;
}

int bacsc_ctx_encode_unsigned(uint8_t *buf, size_t cap, uint8_t number, uint64_t u)
{
    bacsc_value v = {.type = BACSC_TAG_UNSIGNED, .v.unsigned_ = u};
    return bacsc_ctx_encode_value(buf, cap, number, &v);
}

int bacsc_ctx_encode_signed(uint8_t *buf, size_t cap, uint8_t number, int64_t i)
{
    bacsc_value v = {.type = BACSC_TAG_SIGNED, .v.signed_ = i};
    return bacsc_ctx_encode_value(buf, cap, number, &v);
}

int bacsc_ctx_encode_enumerated(uint8_t *buf, size_t cap, uint8_t number, uint32_t e)
{
    bacsc_value v = {.type = BACSC_TAG_ENUMERATED, .v.enumerated = e};
    return bacsc_ctx_encode_value(buf, cap, number, &v);
}

int bacsc_ctx_encode_boolean(uint8_t *buf, size_t cap, uint8_t number, bool b)
{
    bacsc_value v = {.type = BACSC_TAG_BOOLEAN, .v.boolean = b};
    return bacsc_ctx_encode_value(buf, cap, number, &v);
}

int bacsc_ctx_encode_real(uint8_t *buf, size_t cap, uint8_t number, float f)
{
    bacsc_value v = {.type = BACSC_TAG_REAL, .v.real = f};
    return bacsc_ctx_encode_value(buf, cap, number, &v);
}

int bacsc_ctx_encode_object_id(uint8_t *buf, size_t cap, uint8_t number,
                               uint16_t type, uint32_t instance)
{
    bacsc_value v = {.type = BACSC_TAG_OBJECT_ID, .v.oid = {type, instance}};
    return bacsc_ctx_encode_value(buf, cap, number, &v);
}

int bacsc_ctx_encode_char_string(uint8_t *buf, size_t cap, uint8_t number,
                                 const char *s, size_t n)
{
    bacsc_value v = {.type = BACSC_TAG_CHARACTER_STRING,
                     .v.chars = {BACSC_CHARSET_UTF8, (const uint8_t *)s, n}};
    return bacsc_ctx_encode_value(buf, cap, number, &v);
}

int bacsc_ctx_encode_octet_string(uint8_t *buf, size_t cap, uint8_t number,
                                  const uint8_t *data, size_t n)
{
    bacsc_value v = {.type = BACSC_TAG_OCTET_STRING, .v.octets = {data, n}};
    return bacsc_ctx_encode_value(buf, cap, number, &v);
}

int bacsc_ctx_decode_value(const uint8_t *buf, size_t len, uint8_t number, uint8_t type,
                           bacsc_value *v)
{
    if (len == 0 || buf == NULL)
        return BACSC_ERR_NOT_FOUND;
    /* fast path: one-octet tag header [number] with length 0..4 */
    if (number < 15 && (buf[0] & 0xF8) == (uint8_t)(number << 4 | 0x08) && (buf[0] & 7) <= 4) {
        uint32_t n = buf[0] & 7u;
        if (n > len - 1)
            return BACSC_ERR_MALFORMED;
        if (type >= BACSC_APP_TAG_COUNT || read_content(buf + 1, n, type, v) < 0)
            return BACSC_ERR_MALFORMED;
        return 1 + (int)n;
    }
    /* quick exits: plainly another item (the slow path below agrees) */
    if (!(buf[0] & 0x08) || ((buf[0] >> 4) != number && (buf[0] >> 4) != 15) ||
        (number < 15 && (buf[0] & 7) > 5))
        return BACSC_ERR_NOT_FOUND;
    bacsc_tag t;
    int h = bacsc_tag_decode(buf, len, &t);
    if (h < 0) {
        /* a malformed tag is malformed only if it claims to be ours */
        uint8_t num = buf[0] >> 4;
        if ((buf[0] & 0x08) && (num == number || num == 15))
            return BACSC_ERR_MALFORMED;
        return BACSC_ERR_NOT_FOUND;
    }
    if (!t.context || t.number != number || t.opening || t.closing)
        return BACSC_ERR_NOT_FOUND;
    if (type >= BACSC_APP_TAG_COUNT || read_content(buf + h, t.len, type, v) < 0)
        return BACSC_ERR_MALFORMED;
    return h + (int)t.len;
}

int bacsc_ctx_decode_unsigned(const uint8_t *buf, size_t len, uint8_t number, uint64_t *u)
{
    bacsc_value v;
    int n = bacsc_ctx_decode_value(buf, len, number, BACSC_TAG_UNSIGNED, &v);
    if (n > 0)
        *u = v.v.unsigned_;
    return n;
}

int bacsc_ctx_decode_unsigned32(const uint8_t *buf, size_t len, uint8_t number, uint32_t *u)
{
    uint64_t w;
    int n = bacsc_ctx_decode_unsigned(buf, len, number, &w);
    if (n > 0) {
        if (w > 0xFFFFFFFFu)
            return BACSC_ERR_MALFORMED;
        *u = (uint32_t)w;
    }
    return n;
}

int bacsc_ctx_decode_signed(const uint8_t *buf, size_t len, uint8_t number, int64_t *i)
{
    bacsc_value v;
    int n = bacsc_ctx_decode_value(buf, len, number, BACSC_TAG_SIGNED, &v);
    if (n > 0)
        *i = v.v.signed_;
    return n;
}

int bacsc_ctx_decode_enumerated(const uint8_t *buf, size_t len, uint8_t number, uint32_t *e)
{
    bacsc_value v;
    int n = bacsc_ctx_decode_value(buf, len, number, BACSC_TAG_ENUMERATED, &v);
    if (n > 0)
        *e = v.v.enumerated;
    return n;
}

int bacsc_ctx_decode_boolean(const uint8_t *buf, size_t len, uint8_t number, bool *b)
{
    bacsc_value v;
    int n = bacsc_ctx_decode_value(buf, len, number, BACSC_TAG_BOOLEAN, &v);
    if (n > 0)
        *b = v.v.boolean;
    return n;
}

int bacsc_ctx_decode_object_id(const uint8_t *buf, size_t len, uint8_t number,
                               bacsc_object_id *oid)
{
    bacsc_value v;
    int n = bacsc_ctx_decode_value(buf, len, number, BACSC_TAG_OBJECT_ID, &v);
    if (n > 0)
        *oid = v.v.oid;
    return n;
}

/* ---- iteration ------------------------------------------------------------ */

void bacsc_value_iter_init(bacsc_value_iter *it, const uint8_t *buf, size_t len)
{
    it->p = buf;
    it->left = buf ? len : 0;
    it->depth = 0;
}

int bacsc_value_iter_next(bacsc_value_iter *it, bacsc_value *v)
{
    if (it->left == 0)
        return it->depth == 0 ? 0 : BACSC_ERR_MALFORMED;
    bacsc_tag t;
    int h = tag_fast(it->p, it->left, &t);
    if (h < 0)
        return BACSC_ERR_MALFORMED;
    size_t used = (size_t)h + t.len;
    memset(v, 0, sizeof *v);
    if (t.opening) {
        if (it->depth == BACSC_MAX_NESTING)
            return BACSC_ERR_MALFORMED;
        it->stack[it->depth++] = t.number;
        v->type = BACSC_VALUE_OPENING;
        v->ctx_tag = t.number;
    } else if (t.closing) {
        if (it->depth == 0 || it->stack[it->depth - 1] != t.number)
            return BACSC_ERR_MALFORMED;
        it->depth--;
        v->type = BACSC_VALUE_CLOSING;
        v->ctx_tag = t.number;
    } else if (t.context) {
        v->type = BACSC_VALUE_CONTEXT;
        v->ctx_tag = t.number;
        v->v.raw.data = it->p + h;
        v->v.raw.len = t.len;
    } else {
        int n = bacsc_value_decode(it->p, it->left, v);
        if (n < 0)
            return BACSC_ERR_MALFORMED;
    }
    it->p += used;
    it->left -= used;
    return 1;
}

int bacsc_value_list_count(const uint8_t *buf, size_t len)
{
    int count = 0;
    size_t pos = 0;
    while (pos < len) {
        bacsc_value v;
        int n = bacsc_value_decode(buf + pos, len - pos, &v);
        if (n < 0 || count == 0x7FFFFFFF)
            return BACSC_ERR_MALFORMED;
        pos += (size_t)n;
        count++;
    }
    return count;
}

/* ---- misc ----------------------------------------------------------------- */

bool bacsc_value_equal(const bacsc_value *a, const bacsc_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case BACSC_TAG_NULL: return true;
    case BACSC_TAG_BOOLEAN: return a->v.boolean == b->v.boolean;
    case BACSC_TAG_UNSIGNED: return a->v.unsigned_ == b->v.unsigned_;
    case BACSC_TAG_SIGNED: return a->v.signed_ == b->v.signed_;
    case BACSC_TAG_REAL: return memcmp(&a->v.real, &b->v.real, 4) == 0;
    case BACSC_TAG_DOUBLE: return memcmp(&a->v.dbl, &b->v.dbl, 8) == 0;
    case BACSC_TAG_OCTET_STRING:
    case BACSC_VALUE_CONTEXT:
        return a->v.octets.len == b->v.octets.len &&
               (a->v.octets.len == 0 ||
                memcmp(a->v.octets.data, b->v.octets.data, a->v.octets.len) == 0) &&
               a->ctx_tag == b->ctx_tag;
    case BACSC_TAG_CHARACTER_STRING:
        return a->v.chars.charset == b->v.chars.charset && a->v.chars.len == b->v.chars.len &&
               (a->v.chars.len == 0 ||
                memcmp(a->v.chars.data, b->v.chars.data, a->v.chars.len) == 0);
    case BACSC_TAG_BIT_STRING:
        return a->v.bits.unused == b->v.bits.unused && a->v.bits.len == b->v.bits.len &&
               (a->v.bits.len == 0 || memcmp(a->v.bits.data, b->v.bits.data, a->v.bits.len) == 0);
    case BACSC_TAG_ENUMERATED: return a->v.enumerated == b->v.enumerated;
    case BACSC_TAG_DATE: return memcmp(&a->v.date, &b->v.date, sizeof a->v.date) == 0;
    case BACSC_TAG_TIME: return memcmp(&a->v.time, &b->v.time, sizeof a->v.time) == 0;
    case BACSC_TAG_OBJECT_ID:
        return a->v.oid.type == b->v.oid.type && a->v.oid.instance == b->v.oid.instance;
    case BACSC_VALUE_OPENING:
    case BACSC_VALUE_CLOSING:
        return a->ctx_tag == b->ctx_tag;
    }
    return false;
}

const char *bacsc_app_tag_name(uint8_t tag)
{
    static const char *const names[BACSC_APP_TAG_COUNT] = {
        "Null", "Boolean", "Unsigned", "Signed", "Real", "Double", "OctetString",
        "CharacterString", "BitString", "Enumerated", "Date", "Time", "ObjectIdentifier"};
    return tag < BACSC_APP_TAG_COUNT ? names[tag] : NULL;
}
