/*
 * value_json.c — see value_json.h.
 */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/value.h"
#include "cli/value_json.h"

static json_t *hex_string(const uint8_t *p, size_t n)
{
    char small[129];
    char *s = n * 2 + 1 <= sizeof small ? small : malloc(n * 2 + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = '\0';
    json_t *j = json_string(s);
    if (s != small)
        free(s);
    return j;
}

static json_t *number(double d)
{
    if (isnan(d))
        return json_string("nan");
    if (isinf(d))
        return json_string(d > 0 ? "inf" : "-inf");
    return json_real(d);
}

json_t *bacsc_value_one_json(const bacsc_value *v)
{
    char text[64];
    switch (v->type) {
    case BACSC_TAG_NULL:
        return json_null();
    case BACSC_TAG_BOOLEAN:
        return json_boolean(v->v.boolean);
    case BACSC_TAG_UNSIGNED:
        if (v->v.unsigned_ > (uint64_t)INT64_MAX) {
            snprintf(text, sizeof text, "%llu", (unsigned long long)v->v.unsigned_);
            return json_string(text);
        }
        return json_integer((json_int_t)v->v.unsigned_);
    case BACSC_TAG_SIGNED:
        return json_integer((json_int_t)v->v.signed_);
    case BACSC_TAG_REAL:
        return number((double)v->v.real);
    case BACSC_TAG_DOUBLE:
        return number(v->v.dbl);
    case BACSC_TAG_OCTET_STRING:
        return hex_string(v->v.octets.data, v->v.octets.len);
    case BACSC_TAG_CHARACTER_STRING:
        if (v->v.chars.charset == BACSC_CHARSET_UTF8) {
            json_t *s = json_stringn((const char *)v->v.chars.data, v->v.chars.len);
            if (s)
                return s;
            /* not valid UTF-8: fall through to the raw form */
        }
        return json_pack("{s:i, s:o}", "charset", (int)v->v.chars.charset, "hex",
                         hex_string(v->v.chars.data, v->v.chars.len));
    case BACSC_TAG_BIT_STRING: {
        json_t *a = json_array();
        size_t nbits = v->v.bits.len * 8 - v->v.bits.unused;
        for (size_t i = 0; a && i < nbits; i++)
            json_array_append_new(a, json_boolean((v->v.bits.data[i / 8] >> (7 - i % 8)) & 1));
        return a;
    }
    case BACSC_TAG_ENUMERATED:
        return json_integer((json_int_t)v->v.enumerated);
    case BACSC_TAG_DATE:
    case BACSC_TAG_TIME:
        bacsc_value_format_one(v, text, sizeof text);
        return json_string(text);
    case BACSC_TAG_OBJECT_ID: {
        const char *name = bacsc_object_type_name(v->v.oid.type);
        json_t *t = name ? json_string(name) : json_integer(v->v.oid.type);
        return json_pack("{s:o, s:I}", "type", t, "instance", (json_int_t)v->v.oid.instance);
    }
    case BACSC_VALUE_CONTEXT:
        return json_pack("{s:i, s:o}", "context", (int)v->ctx_tag, "hex",
                         hex_string(v->v.raw.data, v->v.raw.len));
    default:
        return json_null();
    }
}

/* A list of items collapses to its only item. */
static json_t *collapse(json_t *list)
{
    if (json_array_size(list) == 1) {
        json_t *one = json_incref(json_array_get(list, 0));
        json_decref(list);
        return one;
    }
    return list;
}

json_t *bacsc_value_json(const uint8_t *enc, size_t len)
{
    json_t *stack[BACSC_MAX_NESTING + 1];
    uint8_t tags[BACSC_MAX_NESTING + 1];
    unsigned depth = 0;
    stack[0] = json_array();
    if (stack[0] == NULL)
        return NULL;
    bacsc_value_iter it;
    bacsc_value v;
    int rc;
    bacsc_value_iter_init(&it, enc, len);
    while ((rc = bacsc_value_iter_next(&it, &v)) == 1) {
        if (v.type == BACSC_VALUE_OPENING) {
            if (depth == BACSC_MAX_NESTING) {
                rc = -1;
                break;
            }
            stack[++depth] = json_array();
            tags[depth] = v.ctx_tag;
            continue;
        }
        if (v.type == BACSC_VALUE_CLOSING) {
            if (depth == 0) {
                rc = -1;
                break;
            }
            json_t *inner = collapse(stack[depth]);
            json_t *obj = json_pack("{s:i, s:o}", "context", (int)tags[depth], "value", inner);
            depth--;
            json_array_append_new(stack[depth], obj);
            continue;
        }
        json_array_append_new(stack[depth], bacsc_value_one_json(&v));
    }
    if (rc < 0 || depth != 0) {
        for (unsigned i = 0; i <= depth; i++)
            json_decref(stack[i]);
        return NULL;
    }
    return collapse(stack[0]);
}

const char *bacsc_value_enum_name(uint32_t property, const uint8_t *enc, size_t len)
{
    bacsc_value_iter it;
    bacsc_value v;
    bacsc_value_iter_init(&it, enc, len);
    if (bacsc_value_iter_next(&it, &v) != 1 || v.type != BACSC_TAG_ENUMERATED)
        return NULL;
    bacsc_value extra;
    if (bacsc_value_iter_next(&it, &extra) != 0) /* more than one value */
        return NULL;
    return bacsc_property_enum_name(property, v.v.enumerated);
}
