/*
 * value.c — text forms of object identifiers, property references and
 * BACnet values for tools (bacsc/value.h). Pure functions over buffers.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bacsc/apdu.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/hex.h"
#include "bacsc/value.h"

/* ---- object identifiers and property references -------------------------------- */

static bool parse_u32(const char *s, size_t n, uint32_t max, uint32_t *out)
{
    if (n == 0 || n > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

int bacsc_object_id_parse(const char *s, bacsc_object_id *oid)
{
    if (s == NULL || oid == NULL)
        return BACSC_ERR_MALFORMED;
    const char *comma = strchr(s, ',');
    if (comma == NULL || comma == s)
        return BACSC_ERR_MALFORMED;
    char type[64];
    size_t tl = (size_t)(comma - s);
    if (tl >= sizeof type)
        return BACSC_ERR_MALFORMED;
    memcpy(type, s, tl);
    type[tl] = '\0';
    uint16_t t;
    uint32_t inst;
    if (bacsc_object_type_parse(type, &t) != BACSC_OK)
        return BACSC_ERR_MALFORMED;
    if (!parse_u32(comma + 1, strlen(comma + 1), BACSC_MAX_INSTANCE, &inst))
        return BACSC_ERR_MALFORMED;
    oid->type = t;
    oid->instance = inst;
    return BACSC_OK;
}

char *bacsc_object_id_format(const bacsc_object_id *oid, char *buf, size_t cap)
{
    const char *name = bacsc_object_type_name(oid->type);
    if (name)
        snprintf(buf, cap, "%s,%u", name, (unsigned)oid->instance);
    else
        snprintf(buf, cap, "%u,%u", (unsigned)oid->type, (unsigned)oid->instance);
    return buf;
}

int bacsc_property_ref_parse(const char *s, uint32_t *property, uint32_t *index)
{
    if (s == NULL || property == NULL || index == NULL)
        return BACSC_ERR_MALFORMED;
    char name[96];
    const char *br = strchr(s, '[');
    size_t nl = br ? (size_t)(br - s) : strlen(s);
    if (nl == 0 || nl >= sizeof name)
        return BACSC_ERR_MALFORMED;
    memcpy(name, s, nl);
    name[nl] = '\0';
    if (bacsc_property_parse(name, property) != BACSC_OK)
        return BACSC_ERR_MALFORMED;
    *index = BACSC_ARRAY_ALL;
    if (br) {
        const char *end = strchr(br, ']');
        if (end == NULL || end[1] != '\0')
            return BACSC_ERR_MALFORMED;
        if (!parse_u32(br + 1, (size_t)(end - br - 1), 0xFFFFFFFEu, index))
            return BACSC_ERR_MALFORMED;
    }
    return BACSC_OK;
}

/* ---- datatypes -------------------------------------------------------------------- */

static int present_value_type(uint16_t object_type)
{
    switch (object_type) {
    case BACSC_OBJ_ANALOG_INPUT:
    case BACSC_OBJ_ANALOG_OUTPUT:
    case BACSC_OBJ_ANALOG_VALUE:
        return BACSC_TAG_REAL;
    case BACSC_OBJ_BINARY_INPUT:
    case BACSC_OBJ_BINARY_OUTPUT:
    case BACSC_OBJ_BINARY_VALUE:
        return BACSC_TAG_ENUMERATED;
    case BACSC_OBJ_MULTI_STATE_INPUT:
    case BACSC_OBJ_MULTI_STATE_OUTPUT:
    case BACSC_OBJ_MULTI_STATE_VALUE:
    case BACSC_OBJ_POSITIVE_INTEGER_VALUE:
        return BACSC_TAG_UNSIGNED;
    case BACSC_OBJ_CHARACTERSTRING_VALUE:
        return BACSC_TAG_CHARACTER_STRING;
    case BACSC_OBJ_INTEGER_VALUE:
        return BACSC_TAG_SIGNED;
    case BACSC_OBJ_OCTETSTRING_VALUE:
        return BACSC_TAG_OCTET_STRING;
    default:
        return -1;
    }
}

int bacsc_property_datatype(uint16_t object_type, uint32_t property)
{
    switch (property) {
    case BACSC_PROP_PRESENT_VALUE:
    case BACSC_PROP_RELINQUISH_DEFAULT:
        return present_value_type(object_type);
    case BACSC_PROP_COV_INCREMENT:
    case BACSC_PROP_LINK_SPEED:
        return BACSC_TAG_REAL;
    case BACSC_PROP_OBJECT_NAME:
    case BACSC_PROP_DESCRIPTION:
    case BACSC_PROP_LOCATION:
    case BACSC_PROP_VENDOR_NAME:
    case BACSC_PROP_MODEL_NAME:
    case BACSC_PROP_FIRMWARE_REVISION:
    case BACSC_PROP_APPLICATION_SOFTWARE_VERSION:
    case BACSC_PROP_FILE_TYPE:
    case BACSC_PROP_SC_PRIMARY_HUB_URI:
    case BACSC_PROP_SC_FAILOVER_HUB_URI:
    case BACSC_PROP_SC_HUB_FUNCTION_ACCEPT_URIS:
    case BACSC_PROP_SC_HUB_FUNCTION_BINDING:
    case BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_URIS:
    case BACSC_PROP_SC_DIRECT_CONNECT_BINDING:
        return BACSC_TAG_CHARACTER_STRING;
    case BACSC_PROP_OUT_OF_SERVICE:
    case BACSC_PROP_ARCHIVE:
    case BACSC_PROP_READ_ONLY:
    case BACSC_PROP_CHANGES_PENDING:
    case BACSC_PROP_SC_HUB_FUNCTION_ENABLE:
    case BACSC_PROP_SC_DIRECT_CONNECT_INITIATE_ENABLE:
    case BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_ENABLE:
        return BACSC_TAG_BOOLEAN;
    case BACSC_PROP_UNITS:
    case BACSC_PROP_COMMAND:
    case BACSC_PROP_SYSTEM_STATUS:
    case BACSC_PROP_EVENT_STATE:
    case BACSC_PROP_RELIABILITY:
    case BACSC_PROP_OBJECT_TYPE:
    case BACSC_PROP_SEGMENTATION_SUPPORTED:
    case BACSC_PROP_NETWORK_TYPE:
    case BACSC_PROP_SC_HUB_CONNECTOR_STATE:
        return BACSC_TAG_ENUMERATED;
    case BACSC_PROP_FILE_SIZE:
    case BACSC_PROP_APDU_TIMEOUT:
    case BACSC_PROP_NUMBER_OF_APDU_RETRIES:
    case BACSC_PROP_VENDOR_IDENTIFIER:
    case BACSC_PROP_MAX_APDU_LENGTH_ACCEPTED:
    case BACSC_PROP_DATABASE_REVISION:
    case BACSC_PROP_NETWORK_NUMBER:
    case BACSC_PROP_APDU_LENGTH:
    case BACSC_PROP_PROTOCOL_VERSION:
    case BACSC_PROP_PROTOCOL_REVISION:
    case BACSC_PROP_MAX_BVLC_LENGTH_ACCEPTED:
    case BACSC_PROP_MAX_NPDU_LENGTH_ACCEPTED:
    case BACSC_PROP_SC_MINIMUM_RECONNECT_TIME:
    case BACSC_PROP_SC_MAXIMUM_RECONNECT_TIME:
    case BACSC_PROP_SC_CONNECT_WAIT_TIMEOUT:
    case BACSC_PROP_SC_DISCONNECT_WAIT_TIMEOUT:
    case BACSC_PROP_SC_HEARTBEAT_TIMEOUT:
        return BACSC_TAG_UNSIGNED;
    case BACSC_PROP_OBJECT_IDENTIFIER:
    case BACSC_PROP_OPERATIONAL_CERTIFICATE_FILE:
    case BACSC_PROP_ISSUER_CERTIFICATE_FILES:
    case BACSC_PROP_CERTIFICATE_SIGNING_REQUEST_FILE:
    case BACSC_PROP_OBJECT_LIST:
        return BACSC_TAG_OBJECT_ID;
    case BACSC_PROP_DEVICE_UUID:
    case BACSC_PROP_MAC_ADDRESS:
        return BACSC_TAG_OCTET_STRING;
    case BACSC_PROP_STATUS_FLAGS:
    case BACSC_PROP_PROTOCOL_SERVICES_SUPPORTED:
    case BACSC_PROP_PROTOCOL_OBJECT_TYPES_SUPPORTED:
        return BACSC_TAG_BIT_STRING;
    default:
        return -1;
    }
}

/* ---- parsing values --------------------------------------------------------------- */

int bacsc_value_type_parse(const char *name)
{
    static const struct {
        const char *name;
        int tag;
    } aliases[] = {
        {"null", BACSC_TAG_NULL},
        {"boolean", BACSC_TAG_BOOLEAN},
        {"bool", BACSC_TAG_BOOLEAN},
        {"unsigned", BACSC_TAG_UNSIGNED},
        {"uint", BACSC_TAG_UNSIGNED},
        {"signed", BACSC_TAG_SIGNED},
        {"int", BACSC_TAG_SIGNED},
        {"integer", BACSC_TAG_SIGNED},
        {"real", BACSC_TAG_REAL},
        {"float", BACSC_TAG_REAL},
        {"double", BACSC_TAG_DOUBLE},
        {"octet-string", BACSC_TAG_OCTET_STRING},
        {"octets", BACSC_TAG_OCTET_STRING},
        {"character-string", BACSC_TAG_CHARACTER_STRING},
        {"string", BACSC_TAG_CHARACTER_STRING},
        {"bit-string", BACSC_TAG_BIT_STRING},
        {"bits", BACSC_TAG_BIT_STRING},
        {"enumerated", BACSC_TAG_ENUMERATED},
        {"enum", BACSC_TAG_ENUMERATED},
        {"date", BACSC_TAG_DATE},
        {"time", BACSC_TAG_TIME},
        {"object-id", BACSC_TAG_OBJECT_ID},
        {"object-identifier", BACSC_TAG_OBJECT_ID},
        {"oid", BACSC_TAG_OBJECT_ID},
    };
    if (name == NULL)
        return -1;
    char norm[32];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof norm)
        return -1;
    for (size_t i = 0; i <= n; i++)
        norm[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(norm, aliases[i].name) == 0)
            return aliases[i].tag;
    for (int t = 0; t < BACSC_APP_TAG_COUNT; t++) {
        const char *tn = bacsc_app_tag_name((uint8_t)t);
        if (tn && strcasecmp(tn, name) == 0)
            return t;
    }
    return -1;
}

static int bad(const char **what, const char *msg)
{
    if (what)
        *what = msg;
    return BACSC_ERR_MALFORMED;
}

/* Day of week (1 Monday .. 7 Sunday) of a Gregorian date. */
static uint8_t weekday(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y -= 1;
    int w = (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7; /* 0 Sunday */
    return (uint8_t)(w == 0 ? 7 : w);
}

/* One numeric date/time field or '*' (255). */
static bool field(const char **p, unsigned lo, unsigned hi, char stop, unsigned *out)
{
    const char *s = *p;
    if (*s == '*') {
        *out = 255;
        s++;
    } else {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || errno || !isdigit((unsigned char)*s) || v < lo || v > hi)
            return false;
        *out = (unsigned)v;
        s = end;
    }
    if (*s != stop)
        return false;
    *p = stop ? s + 1 : s;
    return true;
}

static int parse_date(const char *text, bacsc_value *v, const char **what)
{
    const char *p = text;
    unsigned y, m, d;
    if (!field(&p, 1900, 2154, '-', &y) || !field(&p, 1, 14, '-', &m) ||
        !field(&p, 1, 34, '\0', &d))
        return bad(what, "a date is YYYY-MM-DD ('*' for any field)");
    v->type = BACSC_TAG_DATE;
    v->v.date.year_1900 = (uint8_t)(y == 255 ? 255 : y - 1900);
    v->v.date.month = (uint8_t)m;
    v->v.date.day = (uint8_t)d;
    v->v.date.wday = (y != 255 && m <= 12 && d <= 31) ? weekday((int)y, (int)m, (int)d) : 255;
    return BACSC_OK;
}

static int parse_time(const char *text, bacsc_value *v, const char **what)
{
    const char *p = text;
    unsigned h, mi, s, hs = 0;
    bool has_hs = strchr(text, '.') != NULL;
    if (!field(&p, 0, 23, ':', &h) || !field(&p, 0, 59, ':', &mi) ||
        !field(&p, 0, 59, has_hs ? '.' : '\0', &s) || (has_hs && !field(&p, 0, 99, '\0', &hs)))
        return bad(what, "a time is HH:MM:SS[.hh] ('*' for any field)");
    v->type = BACSC_TAG_TIME;
    v->v.time.hour = (uint8_t)h;
    v->v.time.minute = (uint8_t)mi;
    v->v.time.second = (uint8_t)s;
    v->v.time.hundredths = (uint8_t)hs;
    return BACSC_OK;
}

/* Hex octets, optionally separated by ':' or ' ', into `scratch`. */
static int parse_octets(const char *text, uint8_t *scratch, size_t cap, bacsc_value *v,
                        const char **what)
{
    size_t n = 0;
    for (const char *p = text; *p;) {
        if (*p == ':' || *p == ' ') {
            p++;
            continue;
        }
        int hi = bacsc_hex_digit(p[0]), lo = hi >= 0 ? bacsc_hex_digit(p[1]) : -1;
        if (hi < 0 || lo < 0)
            return bad(what, "an octet string is written in hex");
        if (n == cap)
            return bad(what, "octet string too long");
        scratch[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    v->type = BACSC_TAG_OCTET_STRING;
    v->v.octets.data = scratch;
    v->v.octets.len = n;
    return BACSC_OK;
}

/* A string of '0' and '1', first character = bit 0, into `scratch`. */
static int parse_bits(const char *text, uint8_t *scratch, size_t cap, bacsc_value *v,
                      const char **what)
{
    size_t nbits = strlen(text);
    if (nbits == 0 || nbits > 8 * cap)
        return bad(what, "a bit string is a string of 0 and 1");
    memset(scratch, 0, cap);
    for (size_t i = 0; i < nbits; i++) {
        if (text[i] != '0' && text[i] != '1')
            return bad(what, "a bit string is a string of 0 and 1");
        if (text[i] == '1')
            scratch[i / 8] |= (uint8_t)(0x80 >> (i % 8));
    }
    v->type = BACSC_TAG_BIT_STRING;
    v->v.bits.data = scratch;
    v->v.bits.len = (nbits + 7) / 8;
    v->v.bits.unused = (uint8_t)(v->v.bits.len * 8 - nbits);
    return BACSC_OK;
}

int bacsc_value_parse(const char *text, int type, uint8_t *buf, size_t cap, const char **what)
{
    if (what)
        *what = NULL;
    if (text == NULL)
        return bad(what, "no value");
    bacsc_value v;
    memset(&v, 0, sizeof v);
    uint8_t scratch[256];
    char *end;
    if (strcasecmp(text, "null") == 0) {
        v.type = BACSC_TAG_NULL;
        return bacsc_value_encode(buf, cap, &v);
    }
    switch (type) {
    case BACSC_TAG_NULL:
        return bad(what, "a Null value is written as \"null\"");
    case BACSC_TAG_BOOLEAN:
        v.type = BACSC_TAG_BOOLEAN;
        if (!strcasecmp(text, "true") || !strcmp(text, "1") || !strcasecmp(text, "active"))
            v.v.boolean = true;
        else if (!strcasecmp(text, "false") || !strcmp(text, "0") ||
                 !strcasecmp(text, "inactive"))
            v.v.boolean = false;
        else
            return bad(what, "a Boolean is true or false");
        break;
    case BACSC_TAG_UNSIGNED:
        errno = 0;
        v.v.unsigned_ = strtoull(text, &end, 10);
        if (!isdigit((unsigned char)text[0]) || *end || errno)
            return bad(what, "not an unsigned integer");
        v.type = BACSC_TAG_UNSIGNED;
        break;
    case BACSC_TAG_SIGNED:
        errno = 0;
        v.v.signed_ = strtoll(text, &end, 10);
        if (end == text || *end || errno)
            return bad(what, "not an integer");
        v.type = BACSC_TAG_SIGNED;
        break;
    case BACSC_TAG_REAL:
        errno = 0;
        v.v.real = strtof(text, &end);
        if (end == text || *end)
            return bad(what, "not a number");
        if (errno == ERANGE && !isfinite(v.v.real))
            return bad(what, "number out of the range of a Real");
        v.type = BACSC_TAG_REAL;
        break;
    case BACSC_TAG_DOUBLE:
        errno = 0;
        v.v.dbl = strtod(text, &end);
        if (end == text || *end || (errno == ERANGE && !isfinite(v.v.dbl)))
            return bad(what, "not a number");
        v.type = BACSC_TAG_DOUBLE;
        break;
    case BACSC_TAG_OCTET_STRING:
        if (parse_octets(text, scratch, sizeof scratch, &v, what) < 0)
            return BACSC_ERR_MALFORMED;
        break;
    case BACSC_TAG_CHARACTER_STRING:
        return bacsc_app_encode_char_string(buf, cap, text, strlen(text));
    case BACSC_TAG_BIT_STRING:
        if (parse_bits(text, scratch, sizeof scratch, &v, what) < 0)
            return BACSC_ERR_MALFORMED;
        break;
    case BACSC_TAG_ENUMERATED: {
        uint32_t e;
        if (!parse_u32(text, strlen(text), UINT32_MAX, &e))
            return bad(what, "an enumerated value is a number");
        v.type = BACSC_TAG_ENUMERATED;
        v.v.enumerated = e;
        break;
    }
    case BACSC_TAG_DATE:
        if (parse_date(text, &v, what) < 0)
            return BACSC_ERR_MALFORMED;
        break;
    case BACSC_TAG_TIME:
        if (parse_time(text, &v, what) < 0)
            return BACSC_ERR_MALFORMED;
        break;
    case BACSC_TAG_OBJECT_ID:
        if (bacsc_object_id_parse(text, &v.v.oid) < 0)
            return bad(what, "an object identifier is TYPE,INSTANCE");
        v.type = BACSC_TAG_OBJECT_ID;
        break;
    default:
        return bad(what, "unknown value type");
    }
    return bacsc_value_encode(buf, cap, &v);
}

/* ---- formatting --------------------------------------------------------------------- */

/* snprintf-style accumulation: `need` counts the full length. */
typedef struct out {
    char *buf;
    size_t cap;
    size_t need;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t pos = o->need < o->cap ? o->need : (o->cap ? o->cap - 1 : 0);
    int n = vsnprintf(o->cap ? o->buf + pos : NULL, o->cap ? o->cap - pos : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->need += (size_t)n;
}

static void put_hex(out *o, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(o, "%02x", p[i]);
}

static void put_date(out *o, const bacsc_date *d)
{
    if (d->year_1900 == 255)
        put(o, "*-");
    else
        put(o, "%u-", 1900u + d->year_1900);
    if (d->month == 255)
        put(o, "*-");
    else
        put(o, "%02u-", d->month);
    if (d->day == 255)
        put(o, "*");
    else
        put(o, "%02u", d->day);
}

static void put_time_field(out *o, uint8_t v, const char *sep)
{
    if (v == 255)
        put(o, "*%s", sep);
    else
        put(o, "%02u%s", v, sep);
}

static void put_one(out *o, const bacsc_value *v)
{
    char name[64];
    switch (v->type) {
    case BACSC_TAG_NULL:
        put(o, "null");
        break;
    case BACSC_TAG_BOOLEAN:
        put(o, "%s", v->v.boolean ? "true" : "false");
        break;
    case BACSC_TAG_UNSIGNED:
        put(o, "%llu", (unsigned long long)v->v.unsigned_);
        break;
    case BACSC_TAG_SIGNED:
        put(o, "%lld", (long long)v->v.signed_);
        break;
    case BACSC_TAG_REAL:
        put(o, "%.7g", (double)v->v.real);
        break;
    case BACSC_TAG_DOUBLE:
        put(o, "%.15g", v->v.dbl);
        break;
    case BACSC_TAG_OCTET_STRING:
        put_hex(o, v->v.octets.data, v->v.octets.len);
        break;
    case BACSC_TAG_CHARACTER_STRING:
        if (v->v.chars.charset != BACSC_CHARSET_UTF8) {
            put(o, "charset%u:", v->v.chars.charset);
            put_hex(o, v->v.chars.data, v->v.chars.len);
            break;
        }
        put(o, "\"");
        for (size_t i = 0; i < v->v.chars.len; i++) {
            unsigned char c = v->v.chars.data[i];
            if (c == '"' || c == '\\')
                put(o, "\\%c", c);
            else if (c < 0x20 || c == 0x7F)
                put(o, "\\x%02x", c);
            else
                put(o, "%c", c);
        }
        put(o, "\"");
        break;
    case BACSC_TAG_BIT_STRING: {
        size_t nbits = v->v.bits.len * 8 - v->v.bits.unused;
        put(o, "{");
        for (size_t i = 0; i < nbits; i++)
            put(o, "%s%d", i ? "," : "", (v->v.bits.data[i / 8] >> (7 - i % 8)) & 1);
        put(o, "}");
        break;
    }
    case BACSC_TAG_ENUMERATED:
        put(o, "%u", (unsigned)v->v.enumerated);
        break;
    case BACSC_TAG_DATE:
        put_date(o, &v->v.date);
        break;
    case BACSC_TAG_TIME:
        put_time_field(o, v->v.time.hour, ":");
        put_time_field(o, v->v.time.minute, ":");
        put_time_field(o, v->v.time.second, ".");
        put_time_field(o, v->v.time.hundredths, "");
        break;
    case BACSC_TAG_OBJECT_ID:
        put(o, "%s", bacsc_object_id_format(&v->v.oid, name, sizeof name));
        break;
    case BACSC_VALUE_CONTEXT:
        put(o, "[%u]", v->ctx_tag);
        put_hex(o, v->v.raw.data, v->v.raw.len);
        break;
    default:
        put(o, "?");
        break;
    }
}

static int finish(out *o)
{
    if (o->cap)
        o->buf[o->need < o->cap ? o->need : o->cap - 1] = '\0';
    return o->need > (size_t)INT32_MAX ? INT32_MAX : (int)o->need;
}

int bacsc_value_format_one(const bacsc_value *v, char *buf, size_t cap)
{
    out o = {buf, cap, 0};
    put_one(&o, v);
    return finish(&o);
}

/* Formats into o; o->need is the length of the whole text (of what decoded,
 * for malformed input). Returns BACSC_ERR_MALFORMED or 0. */
static int format_into(out *o, const uint8_t *enc, size_t len)
{
    bacsc_value_iter it;
    bacsc_value v;
    bool first = true;
    int rc;
    bacsc_value_iter_init(&it, enc, len);
    while ((rc = bacsc_value_iter_next(&it, &v)) == 1) {
        if (v.type == BACSC_VALUE_CLOSING) {
            put(o, "}");
            first = false;
            continue;
        }
        if (!first)
            put(o, ", ");
        if (v.type == BACSC_VALUE_OPENING) {
            put(o, "[%u]{", v.ctx_tag);
            first = true;
            continue;
        }
        put_one(o, &v);
        first = false;
    }
    return rc < 0 ? BACSC_ERR_MALFORMED : 0;
}

int bacsc_value_format(const uint8_t *enc, size_t len, char *buf, size_t cap)
{
    out o = {buf, cap, 0};
    int rc = format_into(&o, enc, len);
    int n = finish(&o);
    return rc < 0 ? rc : n;
}

int bacsc_value_format_alloc(const uint8_t *enc, size_t len, char **out_text)
{
    out o = {NULL, 0, 0};
    *out_text = NULL;
    format_into(&o, enc, len); /* measures */
    if (o.need >= (size_t)INT32_MAX)
        return BACSC_ERR_NOMEM;
    char *buf = malloc(o.need + 1);
    if (!buf)
        return BACSC_ERR_NOMEM;
    o = (out){buf, o.need + 1, 0};
    int rc = format_into(&o, enc, len);
    int n = finish(&o);
    *out_text = buf;
    return rc < 0 ? rc : n;
}
