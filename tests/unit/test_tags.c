/* test_tags.c — BACnet application/context tag codec: known encodings, every
 * malformed form, and seeded round-trip properties over generated values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/tags.h"
#include "support_bacnet.h"

static void expect_value_bytes(const bacsc_value *v, const char *hex)
{
    uint8_t want[600], got[600];
    char h[1300];
    size_t n = bt_hex(hex, want, sizeof want);
    assert_true(n > 0);
    assert_int_equal(bacsc_value_encode(NULL, 0, v), (int)n);
    int w = bacsc_value_encode(got, sizeof got, v);
    assert_int_equal(w, (int)n);
    if (memcmp(got, want, n) != 0)
        fail_msg("encoded %s, want %s", bt_tohex(got, n, h), hex);
    bacsc_value back;
    assert_int_equal(bacsc_value_decode(want, n, &back), (int)n);
    assert_true(bacsc_value_equal(v, &back));
}

static void known_application_encodings(void **state)
{
    (void)state;
    bacsc_value v = {.type = BACSC_TAG_NULL};
    expect_value_bytes(&v, "00");
    v = (bacsc_value){.type = BACSC_TAG_BOOLEAN, .v.boolean = false};
    expect_value_bytes(&v, "10");
    v.v.boolean = true;
    expect_value_bytes(&v, "11");
    v = (bacsc_value){.type = BACSC_TAG_UNSIGNED, .v.unsigned_ = 0};
    expect_value_bytes(&v, "2100");
    v.v.unsigned_ = 255;
    expect_value_bytes(&v, "21ff");
    v.v.unsigned_ = 256;
    expect_value_bytes(&v, "220100");
    v.v.unsigned_ = 0x10000;
    expect_value_bytes(&v, "23010000");
    v.v.unsigned_ = 0xFFFFFFFFu;
    expect_value_bytes(&v, "24ffffffff");
    v.v.unsigned_ = 0x100000000ULL;  /* 5 octets: extended length */
    expect_value_bytes(&v, "25050100000000");
    v.v.unsigned_ = UINT64_MAX;
    expect_value_bytes(&v, "2508ffffffffffffffff");
    v = (bacsc_value){.type = BACSC_TAG_SIGNED, .v.signed_ = -1};
    expect_value_bytes(&v, "31ff");
    v.v.signed_ = 127;
    expect_value_bytes(&v, "317f");
    v.v.signed_ = 128;
    expect_value_bytes(&v, "320080");
    v.v.signed_ = -128;
    expect_value_bytes(&v, "3180");
    v.v.signed_ = -129;
    expect_value_bytes(&v, "32ff7f");
    v.v.signed_ = INT64_MIN;
    expect_value_bytes(&v, "35088000000000000000");
    v = (bacsc_value){.type = BACSC_TAG_REAL, .v.real = 72.3f};
    expect_value_bytes(&v, "444290999a");
    v = (bacsc_value){.type = BACSC_TAG_DOUBLE, .v.dbl = 1.0};
    expect_value_bytes(&v, "55083ff0000000000000");
    static const uint8_t os[] = {0x12, 0x34, 0x56};
    v = (bacsc_value){.type = BACSC_TAG_OCTET_STRING, .v.octets = {os, 3}};
    expect_value_bytes(&v, "63123456");
    v.v.octets.len = 0;
    expect_value_bytes(&v, "60");
    v = (bacsc_value){.type = BACSC_TAG_CHARACTER_STRING,
                      .v.chars = {0, (const uint8_t *)"This is a BACnet string!", 24}};
    expect_value_bytes(&v, "751900546869732069732061204241436e657420737472696e6721");
    v.v.chars.len = 0;
    expect_value_bytes(&v, "7100");
    static const uint8_t bits[] = {0xA8};
    v = (bacsc_value){.type = BACSC_TAG_BIT_STRING, .v.bits = {3, bits, 1}};
    expect_value_bytes(&v, "8203a8");
    v = (bacsc_value){.type = BACSC_TAG_BIT_STRING, .v.bits = {0, NULL, 0}};
    expect_value_bytes(&v, "8100");
    v = (bacsc_value){.type = BACSC_TAG_ENUMERATED, .v.enumerated = 0};
    expect_value_bytes(&v, "9100");
    v.v.enumerated = 4194318;
    expect_value_bytes(&v, "9340000e");
    /* 1991-01-24 Thursday(4); 17:35:45.17 */
    v = (bacsc_value){.type = BACSC_TAG_DATE, .v.date = {91, 1, 24, 4}};
    expect_value_bytes(&v, "a45b011804");
    v = (bacsc_value){.type = BACSC_TAG_TIME, .v.time = {17, 35, 45, 17}};
    expect_value_bytes(&v, "b411232d11");
    v = (bacsc_value){.type = BACSC_TAG_OBJECT_ID, .v.oid = {0, 15}};
    expect_value_bytes(&v, "c40000000f");
    v.v.oid = (bacsc_object_id){8, 1234};
    expect_value_bytes(&v, "c4020004d2");
    v.v.oid = (bacsc_object_id){1023, BACSC_MAX_INSTANCE};
    expect_value_bytes(&v, "c4ffffffff");
}

static void long_lengths(void **state)
{
    (void)state;
    static uint8_t data[70000], buf[70010];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    struct { size_t len; const char *hdr; } cases[] = {
        {4, "64"}, {5, "6505"}, {253, "65fd"}, {254, "65fe00fe"}, {255, "65fe00ff"},
        {65535, "65feffff"}, {65536, "65ff00010000"}, {70000, "65ff00011170"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t hdr[8];
        size_t hn = bt_hex(cases[i].hdr, hdr, sizeof hdr);
        int n = bacsc_app_encode_octet_string(buf, sizeof buf, data, cases[i].len);
        assert_int_equal(n, (int)(hn + cases[i].len));
        assert_memory_equal(buf, hdr, hn);
        bacsc_value v;
        assert_int_equal(bacsc_value_decode(buf, (size_t)n, &v), n);
        assert_int_equal(v.v.octets.len, cases[i].len);
        assert_ptr_equal(v.v.octets.data, buf + hn);
        /* one octet short anywhere: rejected */
        assert_int_equal(bacsc_value_decode(buf, (size_t)n - 1, &v), BACSC_ERR_MALFORMED);
        assert_int_equal(bacsc_value_decode(buf, hn - 1, &v), BACSC_ERR_MALFORMED);
    }
}

static void context_and_extended_tags(void **state)
{
    (void)state;
    uint8_t buf[32];
    assert_int_equal(bacsc_ctx_encode_unsigned(buf, sizeof buf, 0, 5), 2);
    assert_memory_equal(buf, "\x09\x05", 2);
    assert_int_equal(bacsc_ctx_encode_unsigned(buf, sizeof buf, 15, 5), 3);
    assert_memory_equal(buf, "\xf9\x0f\x05", 3);
    assert_int_equal(bacsc_ctx_encode_unsigned(buf, sizeof buf, 254, 0x1234), 4);
    assert_memory_equal(buf, "\xfa\xfe\x12\x34", 4);
    assert_int_equal(bacsc_tag_encode_opening(buf, sizeof buf, 3), 1);
    assert_int_equal(buf[0], 0x3e);
    assert_int_equal(bacsc_tag_encode_closing(buf, sizeof buf, 3), 1);
    assert_int_equal(buf[0], 0x3f);
    assert_int_equal(bacsc_tag_encode_opening(buf, sizeof buf, 20), 2);
    assert_memory_equal(buf, "\xfe\x14", 2);
    assert_int_equal(bacsc_tag_encode_closing(buf, sizeof buf, 20), 2);
    assert_memory_equal(buf, "\xff\x14", 2);
    assert_int_equal(bacsc_tag_encode(buf, sizeof buf, 255, true, 0), BACSC_ERR_INVALID_ARG);
    /* context boolean has one content octet */
    assert_int_equal(bacsc_ctx_encode_boolean(buf, sizeof buf, 2, true), 2);
    assert_memory_equal(buf, "\x29\x01", 2);
    bool b = false;
    assert_int_equal(bacsc_ctx_decode_boolean(buf, 2, 2, &b), 2);
    assert_true(b);
    /* decode helpers: NOT_FOUND for another tag, empty input, or opening tag */
    uint64_t u;
    assert_int_equal(bacsc_ctx_decode_unsigned(buf, 2, 3, &u), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_ctx_decode_unsigned(buf, 0, 2, &u), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_ctx_decode_unsigned((const uint8_t *)"\x2e", 1, 2, &u),
                     BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_ctx_decode_unsigned((const uint8_t *)"\x21\x05", 2, 2, &u),
                     BACSC_ERR_NOT_FOUND);   /* application tag 2, not context 2 */
    /* our tag, bad content: MALFORMED */
    assert_int_equal(bacsc_ctx_decode_unsigned((const uint8_t *)"\x28", 1, 2, &u),
                     BACSC_ERR_MALFORMED);   /* zero-length unsigned */
    assert_int_equal(bacsc_ctx_decode_unsigned((const uint8_t *)"\x2a\x01", 2, 2, &u),
                     BACSC_ERR_MALFORMED);   /* truncated content */
    uint32_t u32;
    assert_int_equal(bacsc_ctx_decode_unsigned32((const uint8_t *)"\x0d\x05\x01\x00\x00\x00\x00",
                                                 7, 0, &u32), BACSC_ERR_MALFORMED);
    bacsc_object_id oid;
    assert_int_equal(bacsc_ctx_decode_object_id((const uint8_t *)"\x0c\x02\x00\x04\xd2", 5, 0,
                                                &oid), 5);
    assert_int_equal(oid.type, 8);
    assert_int_equal(oid.instance, 1234);
    int64_t i;
    assert_int_equal(bacsc_ctx_decode_signed((const uint8_t *)"\x1a\xff\x7f", 3, 1, &i), 3);
    assert_int_equal(i, -129);
    /* every context-tag form round-trips for every type */
    uint64_t seed = 7;
    uint8_t store[300], enc[400];
    for (int k = 0; k < 2000; k++) {
        bacsc_value v, back;
        bt_random_value(&seed, &v, store, sizeof store);
        uint8_t tag = (uint8_t)bt_below(&seed, 255);
        int n = bacsc_ctx_encode_value(enc, sizeof enc, tag, &v);
        assert_true(n > 0);
        assert_int_equal(bacsc_ctx_encode_value(NULL, 0, tag, &v), n);
        assert_int_equal(bacsc_ctx_decode_value(enc, (size_t)n, tag, v.type, &back), n);
        assert_true(bacsc_value_equal(&v, &back));
    }
}

static void malformed_tags(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",              /* empty */
        "f9",            /* extended tag number missing */
        "f9ff05",        /* tag number 255 reserved */
        "f90205",        /* extended form for a short tag number */
        "25",            /* extended length missing */
        "25fe00",        /* 2-octet length truncated */
        "25ff000000",    /* 4-octet length truncated */
        "2505010203",    /* content past end */
        "65ffffffffff",  /* 4 GB length past end */
        "0e",            /* application tag with opening L/V/T */
        "0f",            /* application tag with closing L/V/T */
        "12",            /* Boolean L/V/T 2 */
        "15",            /* Boolean with extended length */
        "0100",          /* Null with content */
        "20",            /* Unsigned of 0 octets */
        "2509010203040506070809", /* Unsigned of 9 octets */
        "30",            /* Signed of 0 octets */
        "4342909a",      /* Real of 3 octets */
        "5403ff0000",    /* Double of 4 octets */
        "70",            /* CharacterString without charset */
        "80",            /* BitString without unused-bits octet */
        "8108",          /* BitString with 8 unused bits */
        "8103",          /* unused bits but no octets */
        "950501020304",  /* Enumerated of 5 octets */
        "a3010203",      /* Date of 3 octets */
        "b5050102030405",/* Time of 5 octets */
        "c3020004",      /* ObjectIdentifier of 3 octets */
        "d100",          /* application tag 13 (reserved) */
        "e100",          /* application tag 14 */
        "0905",          /* context tag where an application value is required */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[32];
        size_t n = bt_hex(bad[i], b, sizeof b);
        bacsc_value v;
        if (bacsc_value_decode(b, n, &v) != BACSC_ERR_MALFORMED)
            fail_msg("accepted malformed value %s", bad[i]);
    }
    bacsc_value v;
    assert_int_equal(bacsc_value_decode(NULL, 0, &v), BACSC_ERR_MALFORMED);
    bacsc_tag t;
    assert_int_equal(bacsc_tag_decode((const uint8_t *)"\x3e", 1, &t), 1);
    assert_true(t.opening && t.context && t.number == 3);
    assert_true(bacsc_tag_is_opening((const uint8_t *)"\x3e", 1, 3));
    assert_false(bacsc_tag_is_opening((const uint8_t *)"\x3e", 1, 2));
    assert_true(bacsc_tag_is_closing((const uint8_t *)"\x3f", 1, 3));
    /* wrong type through decode_expect */
    assert_int_equal(bacsc_app_decode_expect((const uint8_t *)"\x21\x05", 2, BACSC_TAG_ENUMERATED,
                                             &v), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_app_decode_expect((const uint8_t *)"\x91\x05", 2, BACSC_TAG_ENUMERATED,
                                             &v), 2);
}

static void encoder_arguments(void **state)
{
    (void)state;
    uint8_t buf[16];
    bacsc_value v = {.type = 13};
    assert_int_equal(bacsc_value_encode(buf, sizeof buf, &v), BACSC_ERR_INVALID_ARG);
    v = (bacsc_value){.type = BACSC_TAG_OBJECT_ID, .v.oid = {1024, 0}};
    assert_int_equal(bacsc_value_encode(buf, sizeof buf, &v), BACSC_ERR_INVALID_ARG);
    v.v.oid = (bacsc_object_id){8, BACSC_MAX_INSTANCE + 1};
    assert_int_equal(bacsc_value_encode(buf, sizeof buf, &v), BACSC_ERR_INVALID_ARG);
    v = (bacsc_value){.type = BACSC_TAG_BIT_STRING, .v.bits = {8, buf, 1}};
    assert_int_equal(bacsc_value_encode(buf, sizeof buf, &v), BACSC_ERR_INVALID_ARG);
    v.v.bits = (bacsc_bitstring){1, NULL, 0};
    assert_int_equal(bacsc_value_encode(buf, sizeof buf, &v), BACSC_ERR_INVALID_ARG);
    v = (bacsc_value){.type = BACSC_TAG_OCTET_STRING, .v.octets = {NULL, 3}};
    assert_int_equal(bacsc_value_encode(buf, sizeof buf, &v), BACSC_ERR_INVALID_ARG);
    /* every capacity below the size is refused */
    assert_int_equal(bacsc_app_encode_unsigned(NULL, 0, 0x123456), 4);
    for (size_t cap = 0; cap < 4; cap++)
        assert_int_equal(bacsc_app_encode_unsigned(buf, cap, 0x123456), BACSC_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(bacsc_tag_encode_opening(buf, 1, 20), BACSC_ERR_BUFFER_TOO_SMALL);
}

static void nesting(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = bt_hex("3e 0c02000001 1e 21 05 1f 3f", b, sizeof b);
    assert_int_equal(bacsc_element_len(b, n), (int)n);
    const uint8_t *content;
    size_t clen;
    assert_int_equal(bacsc_enclosed_decode(b, n, 3, &content, &clen), (int)n);
    assert_ptr_equal(content, b + 1);
    assert_int_equal(clen, n - 2);
    assert_int_equal(bacsc_enclosed_decode(b, n, 4, &content, &clen), BACSC_ERR_NOT_FOUND);
    /* a primitive element */
    assert_int_equal(bacsc_element_len(b + 1, n - 1), 5);
    static const char *const bad[] = {
        "3e 21 05",          /* never closed */
        "3e 21 05 4f",       /* closed with the wrong number */
        "3f",                /* stray closing tag */
        "3e 1e 3f 1f",       /* crossed nesting */
        "3e 2a 01 3f",       /* truncated primitive inside */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t m = bt_hex(bad[i], b, sizeof b);
        if (bacsc_element_len(b, m) != BACSC_ERR_MALFORMED)
            fail_msg("element_len accepted %s", bad[i]);
    }
    /* depth limit: 32 nested is fine, 33 is not */
    for (int depth = 32; depth <= 33; depth++) {
        size_t m = 0;
        for (int i = 0; i < depth; i++)
            b[m++] = 0x0e;
        for (int i = 0; i < depth; i++)
            b[m++] = 0x0f;
        assert_int_equal(bacsc_element_len(b, m), depth == 32 ? (int)m : BACSC_ERR_MALFORMED);
    }
}

static void value_iterator(void **state)
{
    (void)state;
    uint8_t b[64];
    /* Real, [0]{ [1] 5, Boolean }, Enumerated */
    size_t n = bt_hex("4442c80000 0e 1905 11 0f 9103", b, sizeof b);
    bacsc_value_iter it;
    bacsc_value v;
    bacsc_value_iter_init(&it, b, n);
    uint8_t want[] = {BACSC_TAG_REAL, BACSC_VALUE_OPENING, BACSC_VALUE_CONTEXT,
                      BACSC_TAG_BOOLEAN, BACSC_VALUE_CLOSING, BACSC_TAG_ENUMERATED};
    for (size_t i = 0; i < sizeof want; i++) {
        assert_int_equal(bacsc_value_iter_next(&it, &v), 1);
        assert_int_equal(v.type, want[i]);
    }
    assert_int_equal(bacsc_value_iter_next(&it, &v), 0);
    /* unbalanced at end */
    n = bt_hex("0e 2105", b, sizeof b);
    bacsc_value_iter_init(&it, b, n);
    assert_int_equal(bacsc_value_iter_next(&it, &v), 1);
    assert_int_equal(bacsc_value_iter_next(&it, &v), 1);
    assert_int_equal(bacsc_value_iter_next(&it, &v), BACSC_ERR_MALFORMED);
    /* flat counting */
    n = bt_hex("2105 9100 4400000000", b, sizeof b);
    assert_int_equal(bacsc_value_list_count(b, n), 3);
    assert_int_equal(bacsc_value_list_count(b, n - 1), BACSC_ERR_MALFORMED);
    n = bt_hex("2105 0e0f", b, sizeof b);
    assert_int_equal(bacsc_value_list_count(b, n), BACSC_ERR_MALFORMED);
}

static void roundtrip_random_values(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0001;
    uint8_t store[300], enc[400];
    for (int k = 0; k < 20000; k++) {
        bacsc_value v, back;
        bt_random_value(&seed, &v, store, sizeof store);
        int n = bacsc_value_encode(enc, sizeof enc, &v);
        assert_true(n > 0);
        assert_int_equal(bacsc_value_encode(NULL, 0, &v), n);
        assert_int_equal(bacsc_value_encode(enc, (size_t)n - 1, &v), BACSC_ERR_BUFFER_TOO_SMALL);
        assert_int_equal(bacsc_value_decode(enc, (size_t)n, &back), n);
        if (!bacsc_value_equal(&v, &back))
            fail_msg("iteration %d: type %d did not round-trip", k, v.type);
        /* re-encoding the decoded value gives identical bytes */
        uint8_t enc2[400];
        assert_int_equal(bacsc_value_encode(enc2, sizeof enc2, &back), n);
        assert_memory_equal(enc, enc2, (size_t)n);
        /* every strict prefix is rejected (lengths are self-describing) */
        size_t cut = bt_below(&seed, (uint32_t)n);
        assert_int_equal(bacsc_value_decode(enc, cut, &back), BACSC_ERR_MALFORMED);
    }
}

static void misc_helpers(void **state)
{
    (void)state;
    assert_int_equal(bacsc_unsigned_size(0), 1);
    assert_int_equal(bacsc_unsigned_size(0xFFFFFF), 3);
    assert_int_equal(bacsc_unsigned_size(UINT64_MAX), 8);
    assert_int_equal(bacsc_signed_size(-32768), 2);
    assert_int_equal(bacsc_signed_size(32768), 3);
    assert_int_equal(bacsc_object_id_pack(8, 1234), 0x020004d2);
    bacsc_object_id o = bacsc_object_id_unpack(0x020004d2);
    assert_int_equal(o.type, 8);
    assert_int_equal(o.instance, 1234);
    assert_string_equal(bacsc_app_tag_name(BACSC_TAG_CHARACTER_STRING), "CharacterString");
    assert_null(bacsc_app_tag_name(13));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_application_encodings),
        cmocka_unit_test(long_lengths),
        cmocka_unit_test(context_and_extended_tags),
        cmocka_unit_test(malformed_tags),
        cmocka_unit_test(encoder_arguments),
        cmocka_unit_test(nesting),
        cmocka_unit_test(value_iterator),
        cmocka_unit_test(roundtrip_random_values),
        cmocka_unit_test(misc_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
