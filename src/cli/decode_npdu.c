/*
 * decode_npdu.c — `bacsc decode` helpers below the BVLC layer: the NPDU, the
 * APDU header and the service payloads bacsc knows (Who-Is, I-Am,
 * ReadProperty, WriteProperty, Error/Reject/Abort), and BACnet/IP BVLL
 * datagrams for `--bip`. Field names: docs/decode.md.
 */
#include "decode_npdu.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/bip.h"
#include "bacsc/error.h"
#include "bacsc/hex.h"
#include "bacsc/npdu.h"
#include "bacsc/services.h"
#include "bacsc/tags.h"
#include "cli.h"

#define MAX_VALUES_SHOWN 64

static const char *or_unknown(const char *s)
{
    return s ? s : "unknown";
}

char *decode_hex_dup(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (!s) {
        cli_error("decode", "out of memory");
        exit(EXIT_FAIL);
    }
    return bacsc_hex_encode(p, n, s);
}

json_t *decode_json_hex(const uint8_t *p, size_t n)
{
    char *s = decode_hex_dup(p, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* ---- output sink: JSON object or indented text --------------------------- */

/* Text-mode label: the JSON key with '-' for '_' (as in the BVLC lines). */
static const char *label(const char *key)
{
    static char buf[64];
    size_t i = 0;
    for (; key[i] && i + 1 < sizeof buf; i++)
        buf[i] = key[i] == '_' ? '-' : key[i];
    buf[i] = '\0';
    return buf;
}

typedef struct out {
    json_t *obj;   /* JSON mode: fields go here */
    int indent;    /* text mode */
} out;

static void put_int(out *o, const char *key, long long v)
{
    if (o->obj)
        json_object_set_new(o->obj, key, json_integer(v));
    else
        printf("%*s%-22s %lld\n", o->indent, "", label(key), v);
}

static void put_str(out *o, const char *key, const char *v)
{
    if (o->obj)
        json_object_set_new(o->obj, key, json_string(v));
    else
        printf("%*s%-22s %s\n", o->indent, "", label(key), v);
}

static void put_named(out *o, const char *key, long long v, const char *name)
{
    if (o->obj) {
        char k[64];
        json_object_set_new(o->obj, key, json_integer(v));
        snprintf(k, sizeof k, "%s_name", key);
        json_object_set_new(o->obj, k, json_string(or_unknown(name)));
    } else {
        printf("%*s%-22s %s (%lld)\n", o->indent, "", label(key), or_unknown(name), v);
    }
}

static void put_bool(out *o, const char *key, bool v)
{
    if (o->obj)
        json_object_set_new(o->obj, key, json_boolean(v));
    else
        printf("%*s%-22s %s\n", o->indent, "", label(key), v ? "yes" : "no");
}

static void put_hex(out *o, const char *key, const uint8_t *p, size_t n)
{
    if (o->obj) {
        json_object_set_new(o->obj, key, decode_json_hex(p, n));
    } else {
        char *s = decode_hex_dup(p, n);
        printf("%*s%-22s %s%s(%zu octets)\n", o->indent, "", label(key), s, n ? " " : "", n);
        free(s);
    }
}

/* Open a nested section: a JSON sub-object, or a heading and more indent. */
static out sub(out *o, const char *key)
{
    out s = {NULL, o->indent + 2};
    if (o->obj) {
        s.obj = json_object();
        json_object_set_new(o->obj, key, s.obj);
    } else {
        printf("%*s%s:\n", o->indent, "", label(key));
    }
    return s;
}

/* ---- values -------------------------------------------------------------- */

static void format_oid(const bacsc_object_id *oid, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s,%" PRIu32, or_unknown(bacsc_object_type_name(oid->type)), oid->instance);
}

/* One value as text, e.g. `Real 21.5`, `CharacterString "abc"`. */
static void format_value(const bacsc_value *v, char *buf, size_t cap)
{
    char tmp[160];
    const char *tn = bacsc_app_tag_name(v->type);
    switch (v->type) {
    case BACSC_TAG_NULL: snprintf(buf, cap, "Null"); return;
    case BACSC_TAG_BOOLEAN: snprintf(buf, cap, "Boolean %s", v->v.boolean ? "true" : "false"); return;
    case BACSC_TAG_UNSIGNED: snprintf(buf, cap, "Unsigned %" PRIu64, v->v.unsigned_); return;
    case BACSC_TAG_SIGNED: snprintf(buf, cap, "Signed %" PRId64, v->v.signed_); return;
    case BACSC_TAG_REAL: snprintf(buf, cap, "Real %g", (double)v->v.real); return;
    case BACSC_TAG_DOUBLE: snprintf(buf, cap, "Double %g", v->v.dbl); return;
    case BACSC_TAG_ENUMERATED: snprintf(buf, cap, "Enumerated %" PRIu32, v->v.enumerated); return;
    case BACSC_TAG_OBJECT_ID:
        format_oid(&v->v.oid, tmp, sizeof tmp);
        snprintf(buf, cap, "ObjectIdentifier %s", tmp);
        return;
    case BACSC_TAG_DATE: {
        const bacsc_date *d = &v->v.date;
        snprintf(buf, cap, "Date %u-%u-%u wday %u", d->year_1900 == 255 ? 255u : 1900u + d->year_1900,
                 d->month, d->day, d->wday);
        return;
    }
    case BACSC_TAG_TIME: {
        const bacsc_time *t = &v->v.time;
        snprintf(buf, cap, "Time %02u:%02u:%02u.%02u", t->hour, t->minute, t->second,
                 t->hundredths);
        return;
    }
    case BACSC_TAG_CHARACTER_STRING: {
        const bacsc_charstring *c = &v->v.chars;
        size_t n = 0;
        n += (size_t)snprintf(buf + n, cap - n, "CharacterString ");
        if (c->charset != BACSC_CHARSET_UTF8) {
            char *h = decode_hex_dup(c->data, c->len > 60 ? 60 : c->len);
            snprintf(buf + n, cap - n, "charset %u %s", c->charset, h);
            free(h);
            return;
        }
        if (n < cap)
            buf[n++] = '"';
        for (size_t i = 0; i < c->len && n + 6 < cap; i++) {
            uint8_t ch = c->data[i];
            if (ch >= 0x20 && ch != 0x7F && ch != '"' && ch != '\\')
                buf[n++] = (char)ch; /* UTF-8 continuation octets pass through */
            else
                n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", ch);
        }
        if (n + 2 <= cap) {
            buf[n++] = '"';
            buf[n] = '\0';
        } else {
            buf[cap - 1] = '\0';
        }
        return;
    }
    case BACSC_TAG_OCTET_STRING: {
        char *h = decode_hex_dup(v->v.octets.data, v->v.octets.len > 60 ? 60 : v->v.octets.len);
        snprintf(buf, cap, "OctetString %s", h);
        free(h);
        return;
    }
    case BACSC_TAG_BIT_STRING: {
        size_t n = (size_t)snprintf(buf, cap, "BitString ");
        size_t bits = v->v.bits.len * 8 - (v->v.bits.len ? v->v.bits.unused : 0);
        for (size_t i = 0; i < bits && n + 1 < cap; i++)
            buf[n++] = (v->v.bits.data[i / 8] >> (7 - i % 8)) & 1 ? '1' : '0';
        buf[n < cap ? n : cap - 1] = '\0';
        return;
    }
    case BACSC_VALUE_CONTEXT: {
        char *h = decode_hex_dup(v->v.raw.data, v->v.raw.len > 60 ? 60 : v->v.raw.len);
        snprintf(buf, cap, "[%u] %s", v->ctx_tag, h);
        free(h);
        return;
    }
    case BACSC_VALUE_OPENING: snprintf(buf, cap, "{%u", v->ctx_tag); return;
    case BACSC_VALUE_CLOSING: snprintf(buf, cap, "}%u", v->ctx_tag); return;
    }
    snprintf(buf, cap, "%s", or_unknown(tn));
}

/* A property value (octets between context tags) as a list of items. */
static void put_values(out *o, const char *key, const uint8_t *p, size_t n)
{
    bacsc_value_iter it;
    bacsc_value v;
    char text[256];
    json_t *arr = o->obj ? json_array() : NULL;
    if (!o->obj)
        printf("%*s%-22s", o->indent, "", label(key));
    bacsc_value_iter_init(&it, p, n);
    int rc, shown = 0;
    while ((rc = bacsc_value_iter_next(&it, &v)) == 1 && shown < MAX_VALUES_SHOWN) {
        format_value(&v, text, sizeof text);
        if (arr)
            {
            json_t *t = json_string(text);
            json_array_append_new(arr, t ? t : json_null());
        }
        else
            printf("%s%s", shown ? ", " : " ", text);
        shown++;
    }
    if (arr)
        json_object_set_new(o->obj, key, arr);
    else
        printf("%s\n", rc < 0 ? " (malformed value)" : rc == 1 ? ", ..." : "");
    if (rc < 0 && o->obj)
        json_object_set_new(o->obj, "value_malformed", json_true());
}

static void put_oid(out *o, const char *key, const bacsc_object_id *oid)
{
    char s[96];
    format_oid(oid, s, sizeof s);
    put_str(o, key, s);
}

/* "object", "property" and, when there is one, "array_index". */
static void put_object_property(out *o, const bacsc_object_id *object, uint32_t property,
                                bool has_index, uint32_t index)
{
    put_oid(o, "object", object);
    put_named(o, "property", property, bacsc_property_name(property));
    if (has_index)
        put_int(o, "array_index", index);
}

static void put_fault(out *o, const bacsc_fault *f)
{
    put_str(o, "service_error", f->what ? f->what : "malformed service data");
}

/* ---- services ------------------------------------------------------------ */

static void print_service(out *o, const bacsc_apdu *a)
{
    bacsc_fault f = {0};
    const uint8_t *d = a->data;
    size_t n = a->data_len;
    if (a->type == BACSC_PDU_UNCONFIRMED_REQUEST && a->service == BACSC_SERVICE_WHO_IS) {
        bacsc_whois w;
        if (bacsc_whois_decode(d, n, &w, &f) < 0) {
            put_fault(o, &f);
            return;
        }
        out s = sub(o, "who_is");
        if (w.has_range) {
            put_int(&s, "low_limit", w.low);
            put_int(&s, "high_limit", w.high);
        } else {
            put_str(&s, "range", "all");
        }
    } else if (a->type == BACSC_PDU_UNCONFIRMED_REQUEST && a->service == BACSC_SERVICE_I_AM) {
        bacsc_iam i;
        if (bacsc_iam_decode(d, n, &i, &f) < 0) {
            put_fault(o, &f);
            return;
        }
        out s = sub(o, "i_am");
        put_oid(&s, "device", &i.device);
        put_int(&s, "max_apdu", i.max_apdu);
        put_named(&s, "segmentation", i.segmentation, bacsc_segmentation_name(i.segmentation));
        put_int(&s, "vendor_id", i.vendor_id);
    } else if (a->type == BACSC_PDU_CONFIRMED_REQUEST && !a->segmented &&
               a->service == BACSC_SERVICE_READ_PROPERTY) {
        bacsc_rp_request r;
        if (bacsc_rp_request_decode(d, n, &r, &f) < 0) {
            put_fault(o, &f);
            return;
        }
        out s = sub(o, "read_property");
        put_object_property(&s, &r.object, r.property, r.has_index, r.index);
    } else if (a->type == BACSC_PDU_COMPLEX_ACK && !a->segmented &&
               a->service == BACSC_SERVICE_READ_PROPERTY) {
        bacsc_rp_ack r;
        if (bacsc_rp_ack_decode(d, n, &r, &f) < 0) {
            put_fault(o, &f);
            return;
        }
        out s = sub(o, "read_property_ack");
        put_object_property(&s, &r.object, r.property, r.has_index, r.index);
        put_values(&s, "value", r.value, r.value_len);
    } else if (a->type == BACSC_PDU_CONFIRMED_REQUEST && !a->segmented &&
               a->service == BACSC_SERVICE_WRITE_PROPERTY) {
        bacsc_wp_request w;
        if (bacsc_wp_request_decode(d, n, &w, &f) < 0) {
            put_fault(o, &f);
            return;
        }
        out s = sub(o, "write_property");
        put_object_property(&s, &w.object, w.property, w.has_index, w.index);
        put_values(&s, "value", w.value, w.value_len);
        if (w.has_priority)
            put_int(&s, "priority", w.priority);
    } else if (a->type == BACSC_PDU_ERROR) {
        bacsc_error e;
        if (bacsc_error_decode(d, n, &e, &f) < 0) {
            put_fault(o, &f);
            return;
        }
        out s = sub(o, "error");
        put_named(&s, "error_class", e.error_class, bacsc_error_class_name(e.error_class));
        put_named(&s, "error_code", e.error_code, bacsc_error_code_name(e.error_code));
    }
}

/* A confirmed request's or ComplexACK's invoke id, segment (when
 * segmented) and service. */
static void put_confirmed_invoke(out *s, const bacsc_apdu *a)
{
    put_int(s, "invoke_id", a->invoke_id);
    if (a->segmented) {
        put_int(s, "sequence_number", a->sequence_number);
        put_int(s, "window_size", a->window_size);
    }
    put_named(s, "service", a->service, bacsc_confirmed_service_name(a->service));
}

static void print_apdu(out *o, const uint8_t *p, size_t n)
{
    bacsc_apdu a;
    bacsc_fault f = {0};
    if (bacsc_apdu_decode(p, n, &a, &f) < 0) {
        put_str(o, "apdu_error", f.what ? f.what : "malformed APDU header");
        return;
    }
    out s = sub(o, "apdu");
    put_named(&s, "pdu_type", a.type, bacsc_pdu_type_name(a.type));
    switch (a.type) {
    case BACSC_PDU_CONFIRMED_REQUEST:
        put_bool(&s, "segmented", a.segmented);
        put_bool(&s, "more_follows", a.more_follows);
        put_bool(&s, "segmented_response_accepted", a.segmented_response_accepted);
        put_int(&s, "max_segments", bacsc_max_segs_count(a.max_segs));
        put_int(&s, "max_apdu", bacsc_max_apdu_octets(a.max_apdu));
        put_confirmed_invoke(&s, &a);
        break;
    case BACSC_PDU_UNCONFIRMED_REQUEST:
        put_named(&s, "service", a.service, bacsc_unconfirmed_service_name(a.service));
        break;
    case BACSC_PDU_SIMPLE_ACK:
    case BACSC_PDU_ERROR:
        put_int(&s, "invoke_id", a.invoke_id);
        put_named(&s, "service", a.service, bacsc_confirmed_service_name(a.service));
        break;
    case BACSC_PDU_COMPLEX_ACK:
        put_bool(&s, "segmented", a.segmented);
        put_bool(&s, "more_follows", a.more_follows);
        put_confirmed_invoke(&s, &a);
        break;
    case BACSC_PDU_SEGMENT_ACK:
        put_bool(&s, "nak", a.nak);
        put_bool(&s, "server", a.server);
        put_int(&s, "invoke_id", a.invoke_id);
        put_int(&s, "sequence_number", a.sequence_number);
        put_int(&s, "window_size", a.window_size);
        break;
    case BACSC_PDU_REJECT:
        put_int(&s, "invoke_id", a.invoke_id);
        put_named(&s, "reason", a.reason, bacsc_reject_reason_name(a.reason));
        break;
    case BACSC_PDU_ABORT:
        put_bool(&s, "server", a.server);
        put_int(&s, "invoke_id", a.invoke_id);
        put_named(&s, "reason", a.reason, bacsc_abort_reason_name(a.reason));
        break;
    }
    if (a.data_len)
        put_hex(&s, "service_data", a.data, a.data_len);
    print_service(&s, &a);
}

static const char *priority_name(uint8_t p)
{
    static const char *const names[] = {"normal", "urgent", "critical-equipment", "life-safety"};
    return p < 4 ? names[p] : NULL;
}

void decode_npdu_print(const uint8_t *npdu, size_t len, json_t *obj, int indent)
{
    out o = {obj, indent};
    bacsc_npdu n;
    int hl = bacsc_npdu_decode(npdu, len, &n);
    if (hl < 0) {
        put_str(&o, "npdu_error", "malformed NPDU header");
        return;
    }
    out s = sub(&o, "npdu_header");
    put_int(&s, "control", npdu[1]);
    put_bool(&s, "network_message", n.network_msg);
    put_bool(&s, "expecting_reply", n.expecting_reply);
    put_named(&s, "priority", n.priority, priority_name(n.priority));
    if (n.has_dnet) {
        put_int(&s, "dnet", n.dnet);
        put_hex(&s, "dadr", n.dadr, n.dlen);
        put_int(&s, "hop_count", n.hop_count);
    }
    if (n.has_snet) {
        put_int(&s, "snet", n.snet);
        put_hex(&s, "sadr", n.sadr, n.slen);
    }
    if (n.network_msg) {
        put_named(&s, "message_type", n.msg_type, bacsc_network_msg_name(n.msg_type));
        if (n.msg_type >= 0x80)
            put_int(&s, "vendor_id", n.vendor_id);
        put_hex(&s, "network_message_data", n.payload, n.payload_len);
        return;
    }
    print_apdu(&s, n.payload, n.payload_len);
}

int decode_bip_print(const uint8_t *buf, size_t len, bool json)
{
    bacsc_bip_msg m;
    if (bacsc_bip_decode(buf, len, &m) < 0)
        return -1;
    json_t *root = json ? json_object() : NULL;
    out o = {root, 2};
    if (!json)
        printf("BACnet/IP BVLL message, %zu octets\n", len);
    put_int(&o, "length", (long long)len);
    put_str(&o, "function", or_unknown(bacsc_bip_function_name(m.function)));
    put_int(&o, "function_code", m.function);
    switch (m.function) {
    case BACSC_BIP_RESULT:
        put_named(&o, "result", m.result, bacsc_bip_result_name(m.result));
        break;
    case BACSC_BIP_REGISTER_FOREIGN_DEVICE:
        put_int(&o, "ttl", m.ttl);
        break;
    case BACSC_BIP_FORWARDED_NPDU:
    case BACSC_BIP_DELETE_FDT_ENTRY: {
        char a[32];
        snprintf(a, sizeof a, "%u.%u.%u.%u:%u", m.addr.ip[0], m.addr.ip[1], m.addr.ip[2],
                 m.addr.ip[3], m.addr.port);
        put_str(&o, "address", a);
        break;
    }
    default:
        break;
    }
    bool carries_npdu = m.function == BACSC_BIP_FORWARDED_NPDU ||
                        m.function == BACSC_BIP_DISTRIBUTE_BROADCAST ||
                        m.function == BACSC_BIP_ORIGINAL_UNICAST ||
                        m.function == BACSC_BIP_ORIGINAL_BROADCAST;
    if (carries_npdu) {
        put_hex(&o, "npdu", m.payload, m.payload_len);
        decode_npdu_print(m.payload, m.payload_len, root, 2);
    } else if (m.payload_len) {
        put_hex(&o, "payload", m.payload, m.payload_len);
    }
    if (root) {
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
    }
    return 0;
}
