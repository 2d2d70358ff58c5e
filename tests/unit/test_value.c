/*
 * test_value.c — text and JSON forms of object ids, properties and values
 * (bacsc/value.h and the CLI's value_json.c, compiled in here).
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bacsc/apdu.h"
#include "bacsc/error.h"
#include "bacsc/tags.h"
#include "bacsc/value.h"
#include "cli/value_json.h"

static void test_object_id_parse(void **state)
{
    (void)state;
    bacsc_object_id o;
    assert_int_equal(bacsc_object_id_parse("analog-value,1", &o), BACSC_OK);
    assert_int_equal(o.type, BACSC_OBJ_ANALOG_VALUE);
    assert_int_equal(o.instance, 1);
    assert_int_equal(bacsc_object_id_parse("device,1001", &o), BACSC_OK);
    assert_int_equal(o.type, BACSC_OBJ_DEVICE);
    assert_int_equal(bacsc_object_id_parse("8,1001", &o), BACSC_OK);
    assert_int_equal(o.type, 8);
    assert_int_equal(o.instance, 1001);
    assert_int_equal(bacsc_object_id_parse("Network_Port,4194303", &o), BACSC_OK);
    assert_int_equal(o.type, BACSC_OBJ_NETWORK_PORT);
    assert_int_equal(o.instance, 4194303);
    const char *bad[] = {"", ",", "device", "device,", ",1", "device,4194304", "1024,1",
                         "nosuch,1", "device,1x", "device,-1", "device, 1",
                         "device,99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bacsc_object_id_parse(bad[i], &o), BACSC_ERR_MALFORMED);
    char buf[64];
    o.type = BACSC_OBJ_ANALOG_VALUE;
    o.instance = 7;
    assert_string_equal(bacsc_object_id_format(&o, buf, sizeof buf), "analog-value,7");
    o.type = 1000;
    assert_string_equal(bacsc_object_id_format(&o, buf, sizeof buf), "1000,7");
}

static void test_property_ref_parse(void **state)
{
    (void)state;
    uint32_t p, i;
    assert_int_equal(bacsc_property_ref_parse("present-value", &p, &i), BACSC_OK);
    assert_int_equal(p, BACSC_PROP_PRESENT_VALUE);
    assert_int_equal(i, BACSC_ARRAY_ALL);
    assert_int_equal(bacsc_property_ref_parse("object-list[0]", &p, &i), BACSC_OK);
    assert_int_equal(p, BACSC_PROP_OBJECT_LIST);
    assert_int_equal(i, 0);
    assert_int_equal(bacsc_property_ref_parse("Priority_Array[16]", &p, &i), BACSC_OK);
    assert_int_equal(p, BACSC_PROP_PRIORITY_ARRAY);
    assert_int_equal(i, 16);
    assert_int_equal(bacsc_property_ref_parse("507", &p, &i), BACSC_OK);
    assert_int_equal(p, BACSC_PROP_DEVICE_UUID);
    assert_int_equal(bacsc_property_ref_parse("sc-hub-connector-state", &p, &i), BACSC_OK);
    assert_int_equal(p, BACSC_PROP_SC_HUB_CONNECTOR_STATE);
    const char *bad[] = {"", "[1]", "present-value[", "present-value[]", "present-value[x]",
                         "present-value[1]x", "no-such-property", "present-value[4294967295]"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_int_equal(bacsc_property_ref_parse(bad[k], &p, &i), BACSC_ERR_MALFORMED);
}

static void test_datatypes(void **state)
{
    (void)state;
    assert_int_equal(bacsc_property_datatype(BACSC_OBJ_ANALOG_VALUE, BACSC_PROP_PRESENT_VALUE),
                     BACSC_TAG_REAL);
    assert_int_equal(bacsc_property_datatype(BACSC_OBJ_BINARY_VALUE, BACSC_PROP_PRESENT_VALUE),
                     BACSC_TAG_ENUMERATED);
    assert_int_equal(bacsc_property_datatype(BACSC_OBJ_NETWORK_PORT,
                                             BACSC_PROP_SC_PRIMARY_HUB_URI),
                     BACSC_TAG_CHARACTER_STRING);
    assert_int_equal(bacsc_property_datatype(BACSC_OBJ_NETWORK_PORT,
                                             BACSC_PROP_SC_HEARTBEAT_TIMEOUT),
                     BACSC_TAG_UNSIGNED);
    assert_int_equal(bacsc_property_datatype(BACSC_OBJ_DEVICE, 9999), -1);
    assert_int_equal(bacsc_value_type_parse("real"), BACSC_TAG_REAL);
    assert_int_equal(bacsc_value_type_parse("Character_String"), BACSC_TAG_CHARACTER_STRING);
    assert_int_equal(bacsc_value_type_parse("uint"), BACSC_TAG_UNSIGNED);
    assert_int_equal(bacsc_value_type_parse("nonsense"), -1);
    assert_int_equal(bacsc_value_type_parse(""), -1);
}

/* Parse, then format the encoding back. */
static void round_trip(const char *text, int type, const char *expect_hex, const char *expect_text)
{
    uint8_t buf[64];
    const char *what = NULL;
    int n = bacsc_value_parse(text, type, buf, sizeof buf, &what);
    if (n < 0)
        fail_msg("parse of '%s' failed: %s", text, what ? what : "?");
    char hex[160] = "";
    for (int i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    assert_string_equal(hex, expect_hex);
    char out[128];
    int m = bacsc_value_format(buf, (size_t)n, out, sizeof out);
    assert_true(m > 0);
    assert_string_equal(out, expect_text);
}

static void test_value_parse_and_format(void **state)
{
    (void)state;
    round_trip("21.5", BACSC_TAG_REAL, "4441ac0000", "21.5");
    round_trip("null", BACSC_TAG_REAL, "00", "null");
    round_trip("true", BACSC_TAG_BOOLEAN, "11", "true");
    round_trip("inactive", BACSC_TAG_BOOLEAN, "10", "false");
    round_trip("300", BACSC_TAG_UNSIGNED, "22012c", "300");
    round_trip("-2", BACSC_TAG_SIGNED, "31fe", "-2");
    round_trip("1.25", BACSC_TAG_DOUBLE, "5508" "3ff4000000000000", "1.25");
    round_trip("a0:b1 c2", BACSC_TAG_OCTET_STRING, "63a0b1c2", "a0b1c2");
    round_trip("wss://hub:443", BACSC_TAG_CHARACTER_STRING, "750e00" "7773733a2f2f6875623a343433",
               "\"wss://hub:443\"");
    round_trip("0101", BACSC_TAG_BIT_STRING, "820450", "{0,1,0,1}");
    round_trip("62", BACSC_TAG_ENUMERATED, "913e", "62");
    round_trip("2026-11-26", BACSC_TAG_DATE, "a47e0b1a04", "2026-11-26");
    round_trip("*-12-*", BACSC_TAG_DATE, "a4ff0cffff", "*-12-*");
    round_trip("08:30:05.25", BACSC_TAG_TIME, "b4081e0519", "08:30:05.25");
    round_trip("23:59:59", BACSC_TAG_TIME, "b4173b3b00", "23:59:59.00");
    round_trip("analog-value,3", BACSC_TAG_OBJECT_ID, "c400800003", "analog-value,3");
    const struct {
        const char *text;
        int type;
    } bad[] = {
        {"abc", BACSC_TAG_REAL},   {"1e99", BACSC_TAG_REAL},     {"-1", BACSC_TAG_UNSIGNED},
        {"", BACSC_TAG_UNSIGNED},  {"maybe", BACSC_TAG_BOOLEAN}, {"0g", BACSC_TAG_OCTET_STRING},
        {"012", BACSC_TAG_BIT_STRING}, {"", BACSC_TAG_BIT_STRING}, {"4294967296", BACSC_TAG_ENUMERATED},
        {"2026-15-01", BACSC_TAG_DATE}, {"2026-1", BACSC_TAG_DATE}, {"24:00:00", BACSC_TAG_TIME},
        {"device", BACSC_TAG_OBJECT_ID}, {"x", BACSC_TAG_NULL}, {"1", 99},
    };
    uint8_t buf[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *what = NULL;
        if (bacsc_value_parse(bad[i].text, bad[i].type, buf, sizeof buf, &what) !=
            BACSC_ERR_MALFORMED)
            fail_msg("'%s' as type %d was accepted", bad[i].text, bad[i].type);
        assert_non_null(what);
    }
}

static void test_format_constructed(void **state)
{
    (void)state;
    /* BACnetSCHubConnection as the Network Port sends it */
    const uint8_t enc[] = {0x09, 0x03, 0x1e, 0xa4, 0xff, 0xff, 0xff, 0xff, 0xb4, 0xff, 0xff, 0xff,
                           0xff, 0x1f, 0x3e, 0x91, 0x07, 0x91, 0xc2, 0x3f, 0x4d, 0x08, 0x00, 'r',
                           'e',  'f',  'u',  's',  'e',  'd'};
    char out[256];
    int n = bacsc_value_format(enc, sizeof enc, out, sizeof out);
    assert_true(n > 0);
    assert_string_equal(out, "[0]03, [1]{*-*-*, *:*:*.*}, [3]{7, 194}, [4]0072656675736564");
    /* truncation reports the full length */
    char small[8];
    int m = bacsc_value_format(enc, sizeof enc, small, sizeof small);
    assert_int_equal(m, n);
    assert_int_equal(strlen(small), 7);
    /* malformed input */
    const uint8_t broken[] = {0x1e, 0x21, 0x01};
    assert_int_equal(bacsc_value_format(broken, sizeof broken, out, sizeof out),
                     BACSC_ERR_MALFORMED);
    /* strings are escaped */
    const uint8_t s[] = {0x75, 0x05, 0x00, 'a', '"', '\n', 'b'};
    bacsc_value_format(s, sizeof s, out, sizeof out);
    assert_string_equal(out, "\"a\\\"\\x0ab\"");
}

/* A value whose text is longer than any fixed buffer (an Object_List of
 * 3,000 entries, ~57 KB of text) comes out whole from
 * bacsc_value_format_alloc, the last entry included. */
static void test_format_alloc_long(void **state)
{
    (void)state;
    enum { N = 3000 };
    static uint8_t enc[N * 5];
    for (uint32_t i = 0; i < N; i++) { /* analog-value,i+1 */
        uint32_t v = (2u << 22) | (i + 1);
        uint8_t *p = enc + i * 5;
        p[0] = 0xc4;
        p[1] = (uint8_t)(v >> 24);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 8);
        p[4] = (uint8_t)v;
    }
    char *text = NULL;
    int n = bacsc_value_format_alloc(enc, sizeof enc, &text);
    assert_non_null(text);
    assert_true(n > 50000);
    assert_int_equal(strlen(text), (size_t)n);
    assert_int_equal(strncmp(text, "analog-value,1, analog-value,2, ", 32), 0);
    const char *tail = "analog-value,2999, analog-value,3000";
    assert_string_equal(text + n - strlen(tail), tail);
    char small[64]; /* the same length as the fixed-buffer form reports */
    assert_int_equal(bacsc_value_format(enc, sizeof enc, small, sizeof small), n);
    free(text);
    /* malformed input: what decoded, and the error */
    uint8_t broken[sizeof enc + 2];
    memcpy(broken, enc, sizeof enc);
    broken[sizeof enc] = 0x1e; /* an opening tag never closed */
    broken[sizeof enc + 1] = 0x21;
    assert_int_equal(bacsc_value_format_alloc(broken, sizeof broken, &text),
                     BACSC_ERR_MALFORMED);
    assert_non_null(text);
    assert_true(strstr(text, tail) != NULL);
    free(text);
    /* empty value */
    assert_int_equal(bacsc_value_format_alloc(enc, 0, &text), 0);
    assert_string_equal(text, "");
    free(text);
}

static void assert_json(const uint8_t *enc, size_t len, const char *expect)
{
    json_t *j = bacsc_value_json(enc, len);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_non_null(s);
    assert_string_equal(s, expect);
    free(s);
    json_decref(j);
}

static void test_json(void **state)
{
    (void)state;
    const uint8_t real[] = {0x44, 0x41, 0xac, 0x00, 0x00};
    assert_json(real, sizeof real, "21.5");
    const uint8_t oid[] = {0xc4, 0x00, 0x80, 0x00, 0x03};
    assert_json(oid, sizeof oid, "{\"instance\":3,\"type\":\"analog-value\"}");
    const uint8_t list[] = {0x21, 0x01, 0x00, 0x10};
    assert_json(list, sizeof list, "[1,null,false]");
    assert_json(NULL, 0, "[]");
    const uint8_t bits[] = {0x82, 0x04, 0x50};
    assert_json(bits, sizeof bits, "[false,true,false,true]");
    const uint8_t uuid[] = {0x63, 0xa0, 0xa1, 0xa2};
    assert_json(uuid, sizeof uuid, "\"a0a1a2\"");
    const uint8_t hub[] = {0x09, 0x01, 0x1e, 0xa4, 0x7e, 0x0b, 0x1a, 0x04, 0xb4, 0x08, 0x1e, 0x00,
                           0x00, 0x1f};
    assert_json(hub, sizeof hub,
                "[{\"context\":0,\"hex\":\"01\"},{\"context\":1,\"value\":[\"2026-11-26\","
                "\"08:30:00.00\"]}]");
    const uint8_t broken[] = {0x1e, 0x21};
    assert_null(bacsc_value_json(broken, sizeof broken));
    const uint8_t big[] = {0x25, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_json(big, sizeof big, "\"18446744073709551615\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_id_parse),
        cmocka_unit_test(test_property_ref_parse),
        cmocka_unit_test(test_datatypes),
        cmocka_unit_test(test_value_parse_and_format),
        cmocka_unit_test(test_format_constructed),
        cmocka_unit_test(test_format_alloc_long),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
