/*
 * test_bvlc.c — BVLC-SC codec: the independent vectors, every function and
 * option kind in both directions, every malformed case with its error code,
 * hub rewrites, helpers, and a randomised decode(encode(m)) == m property.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "bacsc/bvlc.h"
#include "bacsc/error.h"
#include "bacsc/hex.h"

/* ---- helpers ------------------------------------------------------------- */

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    int n = bacsc_hex_decode(s, strlen(s), out, cap, NULL);
    assert_true(n >= 0);
    return (size_t)n;
}

static void assert_hex(const uint8_t *data, size_t len, const char *hex)
{
    char buf[2048];
    assert_true(len * 2 + 1 <= sizeof buf);
    bacsc_hex_encode(data, len, buf);
    assert_string_equal(buf, hex);
}

static void assert_vmac_hex(const bacsc_vmac *v, const char *hex)
{
    assert_hex(v->b, BACSC_VMAC_LEN, hex);
}

/* Decode `hex`, expecting success. */
static size_t decode_ok(const char *hex, uint8_t *buf, size_t cap, bacsc_bvlc_msg *m)
{
    size_t n = unhex(hex, buf, cap);
    bacsc_bvlc_error err = {0};
    int rc = bacsc_bvlc_decode(buf, n, m, &err);
    if (rc != BACSC_OK)
        fail_msg("decode of %s failed: %u %s at %zu", hex, err.error_code, err.reason, err.offset);
    return n;
}

/* Encode `m` and compare with `hex`; then decode the result back. */
static void encode_expect(const bacsc_bvlc_msg *m, const char *hex)
{
    uint8_t out[1024];
    int size = bacsc_bvlc_encoded_size(m);
    assert_true(size > 0);
    int n = bacsc_bvlc_encode(m, out, sizeof out);
    assert_int_equal(n, size);
    assert_hex(out, (size_t)n, hex);
    /* One octet less capacity must be refused, not overrun. */
    assert_int_equal(bacsc_bvlc_encode(m, out, (size_t)size - 1), BACSC_ERR_BUFFER_TOO_SMALL);
}

static bool options_equal(const bacsc_bvlc_option *a, const bacsc_bvlc_option *b, uint8_t n)
{
    for (uint8_t i = 0; i < n; i++) {
        if (a[i].type != b[i].type || a[i].must_understand != b[i].must_understand ||
            a[i].has_data != b[i].has_data)
            return false;
        /* `a` may be a caller-built proprietary option (data NULL). */
        if (a[i].type == BACSC_OPT_PROPRIETARY) {
            if (a[i].vendor_id != b[i].vendor_id ||
                a[i].proprietary_type != b[i].proprietary_type ||
                a[i].proprietary_len != b[i].proprietary_len ||
                (a[i].proprietary_len &&
                 memcmp(a[i].proprietary_data, b[i].proprietary_data, a[i].proprietary_len)))
                return false;
        } else if (a[i].data_len != b[i].data_len ||
                   (a[i].data_len && memcmp(a[i].data, b[i].data, a[i].data_len))) {
            return false;
        }
    }
    return true;
}

static bool bytes_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Semantic equality of an encoder input `a` and its decoded form `b`. */
static bool msg_equal(const bacsc_bvlc_msg *a, const bacsc_bvlc_msg *b)
{
    if (a->function != b->function || a->message_id != b->message_id ||
        a->has_orig != b->has_orig || a->has_dest != b->has_dest ||
        a->n_dest_options != b->n_dest_options || a->n_data_options != b->n_data_options)
        return false;
    if (a->has_orig && !bacsc_vmac_equal(&a->orig, &b->orig))
        return false;
    if (a->has_dest && !bacsc_vmac_equal(&a->dest, &b->dest))
        return false;
    if (!options_equal(a->dest_options, b->dest_options, a->n_dest_options) ||
        !options_equal(a->data_options, b->data_options, a->n_data_options))
        return false;
    switch (a->function) {
    case BACSC_BVLC_RESULT: {
        const bacsc_bvlc_result *x = &a->u.result, *y = &b->u.result;
        if (x->result_for != y->result_for || x->result_code != y->result_code)
            return false;
        if (x->result_code == BACSC_RESULT_NAK &&
            (x->error_marker != y->error_marker || x->error_class != y->error_class ||
             x->error_code != y->error_code ||
             !bytes_equal(x->details, x->details_len, y->details, y->details_len)))
            return false;
        return true;
    }
    case BACSC_BVLC_ENCAPSULATED_NPDU:
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK:
        return bytes_equal(a->payload, a->payload_len, b->payload, b->payload_len);
    case BACSC_BVLC_ADVERTISEMENT:
        return memcmp(&a->u.advertisement, &b->u.advertisement,
                      sizeof(bacsc_bvlc_advertisement)) == 0;
    case BACSC_BVLC_CONNECT_REQUEST:
    case BACSC_BVLC_CONNECT_ACCEPT:
        return memcmp(&a->u.connect, &b->u.connect, sizeof(bacsc_bvlc_connect)) == 0;
    case BACSC_BVLC_PROPRIETARY_MESSAGE:
        return a->u.proprietary.vendor_id == b->u.proprietary.vendor_id &&
               a->u.proprietary.function == b->u.proprietary.function &&
               bytes_equal(a->u.proprietary.data, a->u.proprietary.data_len,
                           b->u.proprietary.data, b->u.proprietary.data_len);
    default:
        return b->payload_len == 0;
    }
}

/* ---- the 18 independent vectors ----------------------------------------- */

static void check_vector_fields(const char *name, json_t *f, const bacsc_bvlc_msg *m)
{
    const char *key;
    json_t *v;
    json_object_foreach(f, key, v) {
        if (!strcmp(key, "function")) {
            assert_string_equal(bacsc_bvlc_function_name(m->function), json_string_value(v));
        } else if (!strcmp(key, "message_id")) {
            assert_int_equal(m->message_id, json_integer_value(v));
        } else if (!strcmp(key, "vmac")) {
            assert_vmac_hex(&m->u.connect.vmac, json_string_value(v));
        } else if (!strcmp(key, "uuid")) {
            assert_hex(m->u.connect.uuid.b, BACSC_UUID_LEN, json_string_value(v));
        } else if (!strcmp(key, "max_bvlc")) {
            uint16_t x = m->function == BACSC_BVLC_ADVERTISEMENT ? m->u.advertisement.max_bvlc_len
                                                                 : m->u.connect.max_bvlc_len;
            assert_int_equal(x, json_integer_value(v));
        } else if (!strcmp(key, "max_npdu")) {
            uint16_t x = m->function == BACSC_BVLC_ADVERTISEMENT ? m->u.advertisement.max_npdu_len
                                                                 : m->u.connect.max_npdu_len;
            assert_int_equal(x, json_integer_value(v));
        } else if (!strcmp(key, "destination")) {
            assert_true(m->has_dest);
            assert_vmac_hex(&m->dest, json_string_value(v));
        } else if (!strcmp(key, "originating")) {
            assert_true(m->has_orig);
            assert_vmac_hex(&m->orig, json_string_value(v));
        } else if (!strcmp(key, "npdu")) {
            assert_int_equal(m->function, BACSC_BVLC_ENCAPSULATED_NPDU);
            assert_hex(m->payload, m->payload_len, json_string_value(v));
        } else if (!strcmp(key, "data_options")) {
            assert_int_equal(m->n_data_options, json_array_size(v));
            for (size_t i = 0; i < json_array_size(v); i++) {
                const bacsc_bvlc_option *o = &m->data_options[i];
                char desc[80];
                if (o->type == BACSC_OPT_SECURE_PATH)
                    snprintf(desc, sizeof desc, "Secure-Path");
                else
                    snprintf(desc, sizeof desc, "Proprietary vendor %u type %u", o->vendor_id,
                             o->proprietary_type);
                assert_string_equal(desc, json_string_value(json_array_get(v, i)));
            }
        } else if (!strcmp(key, "dest_options")) {
            assert_int_equal(m->n_dest_options, json_array_size(v));
            for (size_t i = 0; i < json_array_size(v); i++) {
                json_t *o = json_array_get(v, i);
                const bacsc_bvlc_option *d = &m->dest_options[i];
                assert_int_equal(d->type, json_integer_value(json_object_get(o, "type")));
                assert_int_equal(d->must_understand,
                                 json_is_true(json_object_get(o, "must_understand")));
                assert_int_equal(d->vendor_id, json_integer_value(json_object_get(o, "vendor_id")));
                assert_int_equal(d->proprietary_type,
                                 json_integer_value(json_object_get(o, "option_type")));
                if (d->must_understand)
                    assert_int_equal(m->not_understood_marker, d->marker);
            }
        } else if (!strcmp(key, "uris")) {
            /* Split the payload at single spaces. */
            size_t start = 0, idx = 0;
            for (size_t i = 0; i <= m->payload_len; i++) {
                if (i == m->payload_len || m->payload[i] == ' ') {
                    const char *want = json_string_value(json_array_get(v, idx++));
                    assert_non_null(want);
                    assert_int_equal(strlen(want), i - start);
                    assert_memory_equal(want, m->payload + start, i - start);
                    start = i + 1;
                }
            }
            assert_int_equal(idx, json_array_size(v));
        } else if (!strcmp(key, "hub_connection_status")) {
            assert_int_equal(m->u.advertisement.hub_status, json_integer_value(v));
        } else if (!strcmp(key, "accept_direct")) {
            assert_int_equal(m->u.advertisement.accept_direct, json_is_true(v));
        } else if (!strcmp(key, "for")) {
            assert_string_equal(bacsc_bvlc_function_name(m->u.result.result_for),
                                json_string_value(v));
        } else if (!strcmp(key, "result")) {
            assert_string_equal(m->u.result.result_code ? "NAK" : "ACK", json_string_value(v));
        } else if (!strcmp(key, "error_header_marker")) {
            assert_int_equal(m->u.result.error_marker, json_integer_value(v));
        } else if (!strcmp(key, "error_class")) {
            assert_int_equal(m->u.result.error_class, json_integer_value(v));
        } else if (!strcmp(key, "error_code")) {
            assert_int_equal(m->u.result.error_code, json_integer_value(v));
        } else if (!strcmp(key, "details")) {
            const char *d = json_string_value(v);
            assert_int_equal(m->u.result.details_len, strlen(d));
            assert_memory_equal(m->u.result.details, d, strlen(d));
        } else if (!strcmp(key, "vendor_id")) {
            assert_int_equal(m->u.proprietary.vendor_id, json_integer_value(v));
        } else if (!strcmp(key, "proprietary_function")) {
            assert_int_equal(m->u.proprietary.function, json_integer_value(v));
        } else if (!strcmp(key, "data")) {
            assert_hex(m->u.proprietary.data, m->u.proprietary.data_len, json_string_value(v));
        } else {
            fail_msg("vector %s: field %s not checked by this test", name, key);
        }
    }
}

static void independent_vectors(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file(BACSC_TESTDATA "/bvlc-sc-independent.json", 0, &jerr);
    if (!root)
        fail_msg("cannot load vectors: %s", jerr.text);
    assert_int_equal(json_array_size(root), 18);
    bool seen[BACSC_BVLC_FUNCTION_COUNT] = {false};
    size_t i;
    json_t *vec;
    json_array_foreach(root, i, vec) {
        const char *name = json_string_value(json_object_get(vec, "name"));
        const char *hex = json_string_value(json_object_get(vec, "hex"));
        uint8_t buf[512], out[512];
        bacsc_bvlc_msg m;
        size_t n = decode_ok(hex, buf, sizeof buf, &m);
        check_vector_fields(name, json_object_get(vec, "fields"), &m);
        seen[m.function] = true;
        /* Our encoder reproduces the independent encoding octet for octet. */
        int en = bacsc_bvlc_encode(&m, out, sizeof out);
        assert_int_equal(en, (int)n);
        assert_memory_equal(out, buf, n);
        assert_int_equal(m.control, buf[1]);
    }
    for (int f = 0; f < BACSC_BVLC_FUNCTION_COUNT; f++)
        assert_true(seen[f]);
    json_decref(root);
}

/* ---- every function, both directions ------------------------------------ */

static const bacsc_vmac V1 = {{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
static const bacsc_vmac V2 = {{0x06, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE}};

static void roundtrip_expect(const bacsc_bvlc_msg *m, const char *hex)
{
    encode_expect(m, hex);
    uint8_t buf[1024];
    bacsc_bvlc_msg d;
    decode_ok(hex, buf, sizeof buf, &d);
    assert_true(msg_equal(m, &d));
}

static void each_function(void **state)
{
    (void)state;
    bacsc_bvlc_msg m;
    static const uint8_t npdu[] = {0x01, 0x00, 0x10, 0x08};

    bacsc_bvlc_init(&m, BACSC_BVLC_RESULT, 0x1234);
    m.u.result.result_for = BACSC_BVLC_CONNECT_REQUEST;
    roundtrip_expect(&m, "000012340600");

    bacsc_bvlc_make_nak(&m, BACSC_BVLC_CONNECT_REQUEST, 7, 0, BACSC_EC_NODE_DUPLICATE_VMAC, "dup");
    roundtrip_expect(&m, "0000000706010000070097647570");

    bacsc_bvlc_make_nak(&m, 0x1F, 8, 0, BACSC_EC_BVLC_FUNCTION_UNKNOWN, NULL);
    roundtrip_expect(&m, "000000081f01000007008f");

    bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, 1);
    m.has_dest = true;
    m.dest = V2;
    m.payload = npdu;
    m.payload_len = sizeof npdu;
    roundtrip_expect(&m, "01040001" "06aabbccddee" "01001008");
    m.has_orig = true;
    m.orig = V1;
    roundtrip_expect(&m, "010c0001" "021122334455" "06aabbccddee" "01001008");

    bacsc_bvlc_init(&m, BACSC_BVLC_ADDRESS_RESOLUTION, 2);
    m.has_dest = true;
    m.dest = V2;
    roundtrip_expect(&m, "02040002" "06aabbccddee");

    bacsc_bvlc_init(&m, BACSC_BVLC_ADDRESS_RESOLUTION_ACK, 2);
    m.has_orig = true;
    m.orig = V2;
    roundtrip_expect(&m, "03080002" "06aabbccddee");
    m.payload = (const uint8_t *)"wss://a:1";
    m.payload_len = 9;
    roundtrip_expect(&m, "03080002" "06aabbccddee" "7773733a2f2f613a31");

    bacsc_bvlc_init(&m, BACSC_BVLC_ADVERTISEMENT, 3);
    m.u.advertisement.hub_status = BACSC_HUB_STATUS_PRIMARY;
    m.u.advertisement.accept_direct = 0;
    m.u.advertisement.max_bvlc_len = 0x0640;
    m.u.advertisement.max_npdu_len = 0x05D9;
    roundtrip_expect(&m, "04000003" "0100064005d9");

    bacsc_bvlc_init(&m, BACSC_BVLC_ADVERTISEMENT_SOLICITATION, 4);
    roundtrip_expect(&m, "05000004");

    for (uint8_t f = BACSC_BVLC_CONNECT_REQUEST; f <= BACSC_BVLC_CONNECT_ACCEPT; f++) {
        bacsc_bvlc_init(&m, f, 5);
        m.u.connect.vmac = V1;
        for (int i = 0; i < BACSC_UUID_LEN; i++)
            m.u.connect.uuid.b[i] = (uint8_t)(0xF0 + i);
        m.u.connect.max_bvlc_len = 0xFFFF;
        m.u.connect.max_npdu_len = 1497;
        char hex[128];
        snprintf(hex, sizeof hex, "0%u000005021122334455f0f1f2f3f4f5f6f7f8f9fafbfcfdfeffffff05d9",
                 f);
        roundtrip_expect(&m, hex);
    }

    static const char *const bare[] = {"08000009", "09000009", "0a000009", "0b000009"};
    for (uint8_t f = BACSC_BVLC_DISCONNECT_REQUEST; f <= BACSC_BVLC_HEARTBEAT_ACK; f++) {
        bacsc_bvlc_init(&m, f, 9);
        roundtrip_expect(&m, bare[f - BACSC_BVLC_DISCONNECT_REQUEST]);
    }

    bacsc_bvlc_init(&m, BACSC_BVLC_PROPRIETARY_MESSAGE, 10);
    m.u.proprietary.vendor_id = 0x0102;
    m.u.proprietary.function = 0x33;
    roundtrip_expect(&m, "0c00000a" "010233");
    m.u.proprietary.data = npdu;
    m.u.proprietary.data_len = 2;
    roundtrip_expect(&m, "0c00000a" "0102330100");
}

static void option_kinds(void **state)
{
    (void)state;
    bacsc_bvlc_msg m;
    static const uint8_t npdu[] = {0x01, 0x00};
    static const uint8_t raw[] = {0xDE, 0xAD};
    static const uint8_t pdata[] = {0x00, 0x07, 0x05, 0x99};
    bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, 0x0102);
    m.payload = npdu;
    m.payload_len = sizeof npdu;

    /* Destination list: proprietary built from fields (must-understand),
     * unknown type 7 with data, unknown type 9 without data. */
    m.n_dest_options = 3;
    m.dest_options[0] = (bacsc_bvlc_option){.type = BACSC_OPT_PROPRIETARY, .must_understand = true,
                                            .has_data = true, .vendor_id = 555,
                                            .proprietary_type = 9,
                                            .proprietary_data = raw, .proprietary_len = 2};
    m.dest_options[1] = (bacsc_bvlc_option){.type = 7, .has_data = true, .data = raw,
                                            .data_len = 2};
    m.dest_options[2] = (bacsc_bvlc_option){.type = 9};
    /* Data list: Secure-Path (must-understand, understood), proprietary
     * given as raw data, unknown type 2 must-understand. */
    m.n_data_options = 3;
    m.data_options[0] = (bacsc_bvlc_option){.type = BACSC_OPT_SECURE_PATH,
                                            .must_understand = true};
    m.data_options[1] = (bacsc_bvlc_option){.type = BACSC_OPT_PROPRIETARY, .has_data = true,
                                            .data = pdata, .data_len = sizeof pdata,
                                            .vendor_id = 7, .proprietary_type = 5,
                                            .proprietary_data = pdata + 3, .proprietary_len = 1};
    m.data_options[2] = (bacsc_bvlc_option){.type = 2, .must_understand = true};
    const char *hex = "01030102"
                      "ff0005022b09dead" "a70002dead" "09"
                      "c1" "bf000400070599" "42"
                      "0100";
    roundtrip_expect(&m, hex);

    uint8_t buf[128];
    bacsc_bvlc_msg d;
    decode_ok(hex, buf, sizeof buf, &d);
    assert_int_equal(d.control, 0x03);
    assert_int_equal(d.dest_options[0].marker, 0xFF);
    assert_int_equal(d.dest_options[0].data_len, 5);
    assert_int_equal(d.dest_options[1].marker, 0xA7);
    assert_int_equal(d.dest_options[2].marker, 0x09);
    assert_null(d.dest_options[2].data);
    assert_int_equal(d.data_options[0].marker, 0xC1);
    assert_int_equal(d.data_options[2].marker, 0x42);
    /* First not-understood must-understand option: the proprietary one. */
    assert_int_equal(d.not_understood_marker, 0xFF);

    /* Only Secure-Path must-understand in the data list: all understood. */
    m.n_dest_options = 0;
    m.n_data_options = 1;
    encode_expect(&m, "01010102410100");
    decode_ok("01010102410100", buf, sizeof buf, &d);
    assert_int_equal(d.not_understood_marker, 0);
    /* Must-understand Secure-Path in the destination list is not understood. */
    decode_ok("01020102410100", buf, sizeof buf, &d);
    assert_int_equal(d.not_understood_marker, 0x41);
    /* A must-understand unknown type in the data list decodes, marker set. */
    decode_ok("01010102530100", buf, sizeof buf, &d);
    assert_int_equal(d.n_data_options, 1);
    assert_int_equal(d.data_options[0].type, 0x13);
    assert_int_equal(d.not_understood_marker, 0x53);
    /* Not marked must-understand: ignored. */
    decode_ok("01010102130100", buf, sizeof buf, &d);
    assert_int_equal(d.not_understood_marker, 0);

    /* Exactly 16 options in each list is fine; 17 is not encodable. */
    bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, 1);
    m.payload = npdu;
    m.payload_len = 1;
    m.n_data_options = 16;
    m.n_dest_options = 16;
    for (int i = 0; i < 16; i++) {
        m.data_options[i] = (bacsc_bvlc_option){.type = BACSC_OPT_SECURE_PATH};
        m.dest_options[i] = (bacsc_bvlc_option){.type = 3};
    }
    uint8_t out[128];
    int n = bacsc_bvlc_encode(&m, out, sizeof out);
    assert_int_equal(n, 4 + 32 + 1);
    assert_int_equal(bacsc_bvlc_decode(out, (size_t)n, &d, NULL), BACSC_OK);
    assert_true(msg_equal(&m, &d));
    m.n_data_options = 17;
    assert_int_equal(bacsc_bvlc_encoded_size(&m), BACSC_ERR_INVALID_ARG);
}

static void encode_rejects(void **state)
{
    (void)state;
    bacsc_bvlc_msg m;
    uint8_t out[64];
    static const uint8_t two[] = {1, 2};
    bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, 1);
    assert_int_equal(bacsc_bvlc_encoded_size(&m), BACSC_ERR_INVALID_ARG); /* no NPDU */
    m.payload = two;
    m.payload_len = 2;
    assert_int_equal(bacsc_bvlc_encoded_size(&m), 6);
    m.n_data_options = 1;
    m.data_options[0] = (bacsc_bvlc_option){.type = BACSC_OPT_SECURE_PATH, .has_data = true,
                                            .data = two, .data_len = 2};
    assert_int_equal(bacsc_bvlc_encode(&m, out, sizeof out), BACSC_ERR_INVALID_ARG);
    m.data_options[0] = (bacsc_bvlc_option){.type = BACSC_OPT_PROPRIETARY, .has_data = true,
                                            .data = two, .data_len = 2};
    assert_int_equal(bacsc_bvlc_encode(&m, out, sizeof out), BACSC_ERR_INVALID_ARG);
    m.data_options[0] = (bacsc_bvlc_option){.type = BACSC_OPT_PROPRIETARY};
    assert_int_equal(bacsc_bvlc_encode(&m, out, sizeof out), BACSC_ERR_INVALID_ARG);
    m.data_options[0] = (bacsc_bvlc_option){.type = 32};
    assert_int_equal(bacsc_bvlc_encode(&m, out, sizeof out), BACSC_ERR_INVALID_ARG);
    bacsc_bvlc_init(&m, 13, 1);
    assert_int_equal(bacsc_bvlc_encoded_size(&m), BACSC_ERR_INVALID_ARG);
    bacsc_bvlc_init(&m, BACSC_BVLC_RESULT, 1);
    m.u.result.result_code = 2;
    assert_int_equal(bacsc_bvlc_encoded_size(&m), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_bvlc_encoded_size(NULL), BACSC_ERR_INVALID_ARG);
    bacsc_bvlc_init(&m, BACSC_BVLC_HEARTBEAT_ACK, 1);
    assert_int_equal(bacsc_bvlc_encode(&m, NULL, 0), BACSC_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(bacsc_bvlc_encode(&m, out, 3), BACSC_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(bacsc_bvlc_encode(&m, out, 4), 4);
}

/* ---- malformed input ---------------------------------------------------- */

typedef struct bad_case {
    const char *what;
    const char *hex;
    uint16_t code;
    uint8_t marker;
    size_t offset;
} bad_case;

static const bad_case bad_cases[] = {
    {"empty", "", 147, 0, 0},
    {"1 octet", "01", 147, 0, 1},
    {"2 octets", "0100", 147, 0, 2},
    {"3 octets", "010000", 147, 0, 3},
    {"reserved bit 0x10", "0a100001", 145, 0, 1},
    {"reserved bit 0x80", "0a800001", 145, 0, 1},
    {"reserved bits on unknown function", "ee f0 0001", 145, 0, 1},
    {"orig VMAC truncated", "0108000102030405", 147, 0, 4},
    {"dest VMAC truncated", "01040001 0203040506", 147, 0, 4},
    {"dest after orig truncated", "010c0001010203040506070809", 147, 0, 10},
    {"dest VMAC missing", "01040001", 147, 0, 4},
    {"option list announced, none", "01010001", 147, 0, 4},
    {"dest options announced, none", "0a020001", 147, 0, 4},
    {"data flag but no length", "0101000123", 145, 0x23, 5},
    {"data flag, 1 octet of length", "010100012300", 145, 0x23, 5},
    {"length past the end", "01010001230005aabb", 147, 0x23, 7},
    {"proprietary length past end", "010200017f0004000102", 147, 0x7f, 7},
    {"more flag on the last option", "0101000181", 145, 0x81, 5},
    {"more flag on last of two", "010100018181", 145, 0x81, 6},
    {"more flag, data option, end", "01010001a30001ff", 145, 0xa3, 8},
    {"proprietary 2 octets", "010100013f0002000101", 145, 0x3f, 4},
    {"proprietary 0 octets", "010100013f000001", 145, 0x3f, 4},
    {"proprietary without data flag", "010100011f01", 145, 0x1f, 4},
    {"second option short proprietary", "01010001813f000100", 145, 0x3f, 5},
    {"secure path with data", "0101000121000100 01", 145, 0x21, 4},
    {"secure path with data in dest list", "0102000161000001", 145, 0x61, 4},
    {"17 data options", "01010001 8181818181818181 8181818181818181 01 01", 145, 0x01, 20},
    {"17 dest options", "0a020001 8383838383838383 8383838383838383 03", 145, 0x03, 20},
    {"unknown function 0x0d", "0d000001", 143, 0, 0},
    {"unknown function 0xff w/ payload", "ff0400010102030405060708", 143, 0, 0},
    /* payloads: absent, one short, one long */
    {"result no payload", "00000001", 149, 0, 4},
    {"result 1 octet", "0000000101", 147, 0, 5},
    {"result ack one long", "00000001010000", 150, 0, 6},
    {"result code 2", "000000010102", 150, 0, 5},
    {"result nak one short", "000000010101000007 00", 147, 0, 10},
    {"result nak no marker", "0000000101 01", 147, 0, 6},
    {"npdu absent", "01000001", 149, 0, 4},
    {"npdu absent after options", "01010001 01", 149, 0, 5},
    {"address resolution one long", "0200000100", 150, 0, 4},
    {"advertisement absent", "04000001", 149, 0, 4},
    {"advertisement one short", "040000010100064005", 147, 0, 9},
    {"advertisement one long", "040000010100064005d900", 150, 0, 10},
    {"solicitation one long", "0500000100", 150, 0, 4},
    {"connect-request absent", "06000001", 149, 0, 4},
    {"connect-request one short",
     "06000001" "0a0b0c0d0e0f00112233445566778899aabbccddeeff064005", 147, 0, 29},
    {"connect-request one long",
     "06000001" "0a0b0c0d0e0f00112233445566778899aabbccddeeff064005d9ff", 150, 0, 30},
    {"connect-accept one short",
     "07000001" "0a0b0c0d0e0f00112233445566778899aabbccddeeff064005", 147, 0, 29},
    {"connect-accept one long",
     "07000001" "0a0b0c0d0e0f00112233445566778899aabbccddeeff064005d9ff", 150, 0, 30},
    {"disconnect-request one long", "0800000100", 150, 0, 4},
    {"disconnect-ack one long", "0900000100", 150, 0, 4},
    {"heartbeat-request one long", "0a00000100", 150, 0, 4},
    {"heartbeat-ack one long", "0b00000100", 150, 0, 4},
    {"proprietary msg absent", "0c000001", 149, 0, 4},
    {"proprietary msg one short", "0c0000010102", 147, 0, 6},
};

static void malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        uint8_t buf[128];
        size_t n = unhex(c->hex, buf, sizeof buf);
        bacsc_bvlc_msg m;
        bacsc_bvlc_error err = {0, 0xEE, 9999, NULL};
        int rc = bacsc_bvlc_decode(buf, n, &m, &err);
        if (rc != BACSC_ERR_MALFORMED || err.error_code != c->code || err.marker != c->marker ||
            err.offset != c->offset)
            fail_msg("case '%s': rc %d code %u marker 0x%02x offset %zu (want %u 0x%02x %zu)",
                     c->what, rc, err.error_code, err.marker, err.offset, c->code, c->marker,
                     c->offset);
        assert_non_null(err.reason);
        /* A NULL err pointer is allowed. */
        assert_int_equal(bacsc_bvlc_decode(buf, n, &m, NULL), BACSC_ERR_MALFORMED);
        /* Every strict prefix also fails cleanly (never reads past len). */
        for (size_t k = 0; k < n; k++) {
            uint8_t *copy = malloc(k ? k : 1);
            memcpy(copy, buf, k);
            (void)bacsc_bvlc_decode(copy, k, &m, &err);
            free(copy);
        }
    }
}

static void unknown_function_keeps_header(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t n = unhex("2a04beef010203040506", buf, sizeof buf);
    bacsc_bvlc_msg m;
    bacsc_bvlc_error err;
    assert_int_equal(bacsc_bvlc_decode(buf, n, &m, &err), BACSC_ERR_MALFORMED);
    assert_int_equal(err.error_code, BACSC_EC_BVLC_FUNCTION_UNKNOWN);
    assert_int_equal(m.function, 0x2a);
    assert_int_equal(m.message_id, 0xBEEF);
    assert_int_equal(m.control, 0x04);
    assert_true(m.has_dest);
    assert_vmac_hex(&m.dest, "010203040506");
}

/* ---- hub rewrites ------------------------------------------------------- */

static void rewrite_helpers(void **state)
{
    (void)state;
    uint8_t buf[64];
    bacsc_vmac orig = {{0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6}};
    bacsc_bvlc_msg m;

    /* unicast with dest only: same size, dest replaced by orig */
    size_t n = unhex("010500071122334455660101001008", buf, sizeof buf);
    assert_int_equal(bacsc_bvlc_rewrite_unicast(buf, &n, n, &orig), BACSC_OK);
    assert_hex(buf, n, "01090007a1a2a3a4a5a60101001008");
    assert_int_equal(bacsc_bvlc_decode(buf, n, &m, NULL), BACSC_OK);

    /* unicast with both: orig overwritten, dest removed, shrinks by 6 */
    n = unhex("010c0007010203040506112233445566 01", buf, sizeof buf);
    assert_int_equal(bacsc_bvlc_rewrite_unicast(buf, &n, sizeof buf, &orig), BACSC_OK);
    assert_hex(buf, n, "01080007a1a2a3a4a5a601");

    /* unicast with neither (direct): orig inserted */
    n = unhex("0a000007", buf, sizeof buf);
    assert_int_equal(bacsc_bvlc_rewrite_unicast(buf, &n, 9, &orig), BACSC_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 4);
    assert_int_equal(bacsc_bvlc_rewrite_unicast(buf, &n, 10, &orig), BACSC_OK);
    assert_hex(buf, n, "0a080007a1a2a3a4a5a6");

    /* broadcast: orig inserted, dest kept, options and payload moved */
    n = unhex("010500ffffffffffffff8141 01001008", buf, sizeof buf);
    size_t before = n;
    assert_int_equal(bacsc_bvlc_rewrite_broadcast(buf, &n, before + 5, &orig),
                     BACSC_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(n, before);
    assert_hex(buf, n, "010500ffffffffffffff814101001008");
    assert_int_equal(bacsc_bvlc_rewrite_broadcast(buf, &n, before + 6, &orig), BACSC_OK);
    assert_int_equal(n, before + 6);
    assert_hex(buf, n, "010d00ffa1a2a3a4a5a6ffffffffffff814101001008");
    assert_int_equal(bacsc_bvlc_decode(buf, n, &m, NULL), BACSC_OK);
    assert_true(bacsc_vmac_is_broadcast(&m.dest));
    assert_true(bacsc_vmac_equal(&m.orig, &orig));
    assert_int_equal(m.n_data_options, 2);

    /* broadcast that already has an orig: overwritten in place */
    n = unhex("010c00ff010203040506ffffffffffff01", buf, sizeof buf);
    assert_int_equal(bacsc_bvlc_rewrite_broadcast(buf, &n, n, &orig), BACSC_OK);
    assert_hex(buf, n, "010c00ffa1a2a3a4a5a6ffffffffffff01");

    /* truncated / bad input refused */
    n = unhex("010400ff0102", buf, sizeof buf);
    assert_int_equal(bacsc_bvlc_rewrite_unicast(buf, &n, sizeof buf, &orig), BACSC_ERR_MALFORMED);
    n = 3;
    assert_int_equal(bacsc_bvlc_rewrite_broadcast(buf, &n, sizeof buf, &orig),
                     BACSC_ERR_INVALID_ARG);
}

/* ---- names and helpers -------------------------------------------------- */

static void names_and_helpers(void **state)
{
    (void)state;
    assert_string_equal(bacsc_bvlc_function_name(1), "Encapsulated-NPDU");
    assert_string_equal(bacsc_bvlc_function_name(12), "Proprietary-Message");
    assert_string_equal(bacsc_bvlc_function_name(13), "unknown");
    assert_string_equal(bacsc_sc_error_name(143), "bvlc-function-unknown");
    assert_string_equal(bacsc_sc_error_name(145), "header-encoding-error");
    assert_string_equal(bacsc_sc_error_name(151), "node-duplicate-vmac");
    assert_string_equal(bacsc_sc_error_name(169), "websocket-closed-by-peer");
    assert_string_equal(bacsc_sc_error_name(188), "tls-error");
    assert_string_equal(bacsc_sc_error_name(197), "tcp-error");
    assert_string_equal(bacsc_sc_error_name(199), "ip-error");
    assert_string_equal(bacsc_sc_error_name(200), "unknown");
    assert_string_equal(bacsc_sc_error_name(142), "unknown");
    for (uint16_t c = 143; c <= 199; c++)
        assert_string_not_equal(bacsc_sc_error_name(c), "unknown");

    char s[40];
    bacsc_vmac v;
    assert_int_equal(bacsc_vmac_parse("0A:0b:0c:0d:0e:FF", &v), BACSC_OK);
    assert_string_equal(bacsc_vmac_format(&v, s), "0a:0b:0c:0d:0e:ff");
    assert_int_equal(bacsc_vmac_parse("ffffffffffff", &v), BACSC_OK);
    assert_true(bacsc_vmac_is_broadcast(&v));
    assert_false(bacsc_vmac_is_broadcast(&BACSC_VMAC_UNKNOWN));
    assert_int_equal(bacsc_vmac_parse("ffffffffff", &v), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_vmac_parse("0a-0b-0c-0d-0e-0f", &v), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_vmac_parse("0g0b0c0d0e0f", &v), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_vmac_parse(NULL, &v), BACSC_ERR_MALFORMED);

    bacsc_uuid u;
    assert_int_equal(bacsc_uuid_parse("urn:uuid:00112233-4455-6677-8899-AABBCCDDEEFF", &u),
                     BACSC_OK);
    assert_string_equal(bacsc_uuid_format(&u, s), "00112233-4455-6677-8899-aabbccddeeff");
    assert_int_equal(bacsc_uuid_parse(s, &u), BACSC_OK);
    assert_int_equal(bacsc_uuid_parse("00112233445566778899aabbccddeeff", &u),
                     BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_uuid_parse("00112233-4455-6677-8899_aabbccddeeff", &u),
                     BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_uuid_parse("00112233-4455-6677-8899-aabbccddeefg", &u),
                     BACSC_ERR_MALFORMED);
}

static void hex_decoder(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t bad = 0;
    const char *t = " 0x01:02-0A,fF.\n 10\t";
    assert_int_equal(bacsc_hex_decode(t, strlen(t), out, sizeof out, &bad), 5);
    assert_hex(out, 5, "01020aff10");
    assert_int_equal(bacsc_hex_decode("", 0, out, sizeof out, &bad), 0);
    assert_int_equal(bacsc_hex_decode("abc", 3, out, sizeof out, &bad), BACSC_ERR_MALFORMED);
    assert_int_equal(bad, 3);
    assert_int_equal(bacsc_hex_decode("a b", 3, out, sizeof out, &bad), BACSC_ERR_MALFORMED);
    assert_int_equal(bad, 1);
    assert_int_equal(bacsc_hex_decode("01zz", 4, out, sizeof out, &bad), BACSC_ERR_MALFORMED);
    assert_int_equal(bad, 2);
    assert_int_equal(bacsc_hex_decode("010203", 6, out, 2, &bad), BACSC_ERR_BUFFER_TOO_SMALL);
    /* Length is honoured: no terminator needed. */
    assert_int_equal(bacsc_hex_decode("0102zz", 4, out, sizeof out, NULL), 2);
}

/* ---- property: decode(encode(m)) == m ------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: small, seeded, repeatable. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint8_t pool[4096];

static void random_option(bacsc_bvlc_option *o, bool data_list)
{
    memset(o, 0, sizeof *o);
    uint32_t kind = rnd() % 4;
    o->must_understand = rnd() & 1;
    if (kind == 0 && data_list) {
        o->type = BACSC_OPT_SECURE_PATH;
    } else if (kind <= 1) {
        o->type = BACSC_OPT_PROPRIETARY;
        o->has_data = true;
        o->vendor_id = (uint16_t)rnd();
        o->proprietary_type = (uint8_t)rnd();
        o->proprietary_len = (uint16_t)(rnd() % 12);
        o->proprietary_data = pool + 3 + rnd() % 1024;
        if (rnd() & 1) { /* give it as raw data instead */
            o->data = o->proprietary_data - 3;
            o->data_len = (uint16_t)(o->proprietary_len + 3);
            o->vendor_id = (uint16_t)(o->data[0] << 8 | o->data[1]);
            o->proprietary_type = o->data[2];
        }
    } else {
        do
            o->type = (uint8_t)(rnd() % 32);
        while (o->type == BACSC_OPT_PROPRIETARY || o->type == BACSC_OPT_SECURE_PATH);
        o->has_data = rnd() & 1;
        if (o->has_data) {
            o->data_len = (uint16_t)(rnd() % 10);
            o->data = pool + rnd() % 1024;
        }
    }
}

static void random_msg(bacsc_bvlc_msg *m)
{
    bacsc_bvlc_init(m, (uint8_t)(rnd() % BACSC_BVLC_FUNCTION_COUNT), (uint16_t)rnd());
    m->has_orig = rnd() & 1;
    m->has_dest = rnd() & 1;
    for (int i = 0; i < BACSC_VMAC_LEN; i++) {
        m->orig.b[i] = (uint8_t)rnd();
        m->dest.b[i] = (uint8_t)rnd();
    }
    m->n_dest_options = (uint8_t)(rnd() % 4 == 0 ? rnd() % 17 : rnd() % 3);
    m->n_data_options = (uint8_t)(rnd() % 4 == 0 ? rnd() % 17 : rnd() % 3);
    for (uint8_t i = 0; i < m->n_dest_options; i++)
        random_option(&m->dest_options[i], false);
    for (uint8_t i = 0; i < m->n_data_options; i++)
        random_option(&m->data_options[i], true);
    const uint8_t *p = pool + rnd() % 2048;
    size_t plen = rnd() % 40;
    switch (m->function) {
    case BACSC_BVLC_RESULT:
        m->u.result.result_for = (uint8_t)rnd();
        m->u.result.result_code = (uint8_t)(rnd() & 1);
        if (m->u.result.result_code) {
            m->u.result.error_marker = (uint8_t)rnd();
            m->u.result.error_class = (uint16_t)rnd();
            m->u.result.error_code = (uint16_t)rnd();
            m->u.result.details = p;
            m->u.result.details_len = plen;
        }
        break;
    case BACSC_BVLC_ENCAPSULATED_NPDU:
        m->payload = p;
        m->payload_len = plen + 1;
        break;
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK:
        m->payload = p;
        m->payload_len = plen;
        break;
    case BACSC_BVLC_ADVERTISEMENT:
        m->u.advertisement.hub_status = (uint8_t)(rnd() % 3);
        m->u.advertisement.accept_direct = (uint8_t)(rnd() & 1);
        m->u.advertisement.max_bvlc_len = (uint16_t)rnd();
        m->u.advertisement.max_npdu_len = (uint16_t)rnd();
        break;
    case BACSC_BVLC_CONNECT_REQUEST:
    case BACSC_BVLC_CONNECT_ACCEPT:
        memcpy(m->u.connect.vmac.b, p, BACSC_VMAC_LEN);
        memcpy(m->u.connect.uuid.b, p + 6, BACSC_UUID_LEN);
        m->u.connect.max_bvlc_len = (uint16_t)rnd();
        m->u.connect.max_npdu_len = (uint16_t)rnd();
        break;
    case BACSC_BVLC_PROPRIETARY_MESSAGE:
        m->u.proprietary.vendor_id = (uint16_t)rnd();
        m->u.proprietary.function = (uint8_t)rnd();
        m->u.proprietary.data = p;
        m->u.proprietary.data_len = plen;
        break;
    default:
        break;
    }
}

static void roundtrip_property(void **state)
{
    (void)state;
    rng_state = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = (uint8_t)rnd();
    int per_function[BACSC_BVLC_FUNCTION_COUNT] = {0};
    for (int iter = 0; iter < 20000; iter++) {
        bacsc_bvlc_msg m, d;
        random_msg(&m);
        uint8_t out[1024];
        int size = bacsc_bvlc_encoded_size(&m);
        assert_true(size >= 4);
        int n = bacsc_bvlc_encode(&m, out, sizeof out);
        assert_int_equal(n, size);
        bacsc_bvlc_error err;
        if (bacsc_bvlc_decode(out, (size_t)n, &d, &err) != BACSC_OK)
            fail_msg("iteration %d: own encoding rejected: %u %s", iter, err.error_code,
                     err.reason);
        if (!msg_equal(&m, &d))
            fail_msg("iteration %d: decode(encode(m)) != m (function %u)", iter, m.function);
        /* Re-encoding the decoded form reproduces the octets. */
        uint8_t again[1024];
        assert_int_equal(bacsc_bvlc_encode(&d, again, sizeof again), n);
        assert_memory_equal(again, out, (size_t)n);
        per_function[m.function]++;
    }
    for (int f = 0; f < BACSC_BVLC_FUNCTION_COUNT; f++)
        assert_true(per_function[f] > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(independent_vectors),
        cmocka_unit_test(each_function),
        cmocka_unit_test(option_kinds),
        cmocka_unit_test(encode_rejects),
        cmocka_unit_test(malformed),
        cmocka_unit_test(unknown_function_keeps_header),
        cmocka_unit_test(rewrite_helpers),
        cmocka_unit_test(names_and_helpers),
        cmocka_unit_test(hex_decoder),
        cmocka_unit_test(roundtrip_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
