/* test_services.c — service payloads: known encodings (ASHRAE 135 Annex F
 * style examples), both directions, malformed inputs with the Reject reason a
 * server answers, RPM iteration, random round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/services.h"
#include "support_bacnet.h"

static uint8_t hexbuf[2048];
static size_t H(const char *hex)
{
    size_t n = bt_hex(hex, hexbuf, sizeof hexbuf);
    if (n == 0 && hex[0])
        fail_msg("bad test hex %s", hex);
    return n;
}

static void expect_bytes(const uint8_t *got, int n, const char *hex)
{
    uint8_t want[2048];
    char h[4200];
    size_t wn = bt_hex(hex, want, sizeof want);
    if (n != (int)wn || memcmp(got, want, wn) != 0)
        fail_msg("encoded %s (%d), want %s", n > 0 ? bt_tohex(got, (size_t)n, h) : "-", n, hex);
}

/* Decoder type-erased for the malformed-input table. */
typedef int (*decode_fn)(const uint8_t *, size_t, bacsc_fault *);
static int d_whois(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_whois x; return bacsc_whois_decode(b, n, &x, f); }
static int d_iam(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_iam x; return bacsc_iam_decode(b, n, &x, f); }
static int d_rp(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_rp_request x; return bacsc_rp_request_decode(b, n, &x, f); }
static int d_rpack(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_rp_ack x; return bacsc_rp_ack_decode(b, n, &x, f); }
static int d_rpm(const uint8_t *b, size_t n, bacsc_fault *f) { return bacsc_rpm_validate(b, n, false, f); }
static int d_rpmack(const uint8_t *b, size_t n, bacsc_fault *f) { return bacsc_rpm_validate(b, n, true, f); }
static int d_wp(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_wp_request x; return bacsc_wp_request_decode(b, n, &x, f); }
static int d_arf(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_arf_request x; return bacsc_arf_request_decode(b, n, &x, f); }
static int d_arfack(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_arf_ack x; return bacsc_arf_ack_decode(b, n, &x, f); }
static int d_awf(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_awf_request x; return bacsc_awf_request_decode(b, n, &x, f); }
static int d_awfack(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_awf_ack x; return bacsc_awf_ack_decode(b, n, &x, f); }
static int d_reinit(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_reinit_request x; return bacsc_reinit_request_decode(b, n, &x, f); }
static int d_error(const uint8_t *b, size_t n, bacsc_fault *f) { bacsc_error x; return bacsc_error_decode(b, n, &x, f); }

static void who_is_and_i_am(void **state)
{
    (void)state;
    uint8_t out[64];
    bacsc_whois w = {0};
    assert_int_equal(bacsc_whois_encode(out, sizeof out, &w), 0);
    assert_int_equal(bacsc_whois_decode(out, 0, &w, NULL), 0);
    assert_false(w.has_range);
    assert_true(bacsc_whois_matches(&w, 123));
    w = (bacsc_whois){true, 3, 1000};
    expect_bytes(out, bacsc_whois_encode(out, sizeof out, &w), "0903 1a03e8");
    size_t n = H("0903 1a03e8");
    memset(&w, 0, sizeof w);
    assert_int_equal(bacsc_whois_decode(hexbuf, n, &w, NULL), (int)n);
    assert_true(w.has_range);
    assert_int_equal(w.low, 3);
    assert_int_equal(w.high, 1000);
    assert_true(bacsc_whois_matches(&w, 3));
    assert_false(bacsc_whois_matches(&w, 1001));
    w = (bacsc_whois){true, 0, BACSC_MAX_INSTANCE + 1};
    assert_int_equal(bacsc_whois_encode(out, sizeof out, &w), BACSC_ERR_INVALID_ARG);

    bacsc_iam iam = {{BACSC_OBJ_DEVICE, 1234}, 1476, BACSC_SEGMENTATION_NONE, 260};
    expect_bytes(out, bacsc_iam_encode(out, sizeof out, &iam), "c4020004d2 2205c4 9103 220104");
    n = H("c4020004d2 2205c4 9103 220104");
    bacsc_iam back;
    assert_int_equal(bacsc_iam_decode(hexbuf, n, &back, NULL), (int)n);
    assert_int_equal(back.device.instance, 1234);
    assert_int_equal(back.max_apdu, 1476);
    assert_int_equal(back.segmentation, 3);
    assert_int_equal(back.vendor_id, 260);
    iam.segmentation = 4;
    assert_int_equal(bacsc_iam_encode(out, sizeof out, &iam), BACSC_ERR_INVALID_ARG);
}

static void read_property(void **state)
{
    (void)state;
    uint8_t out[64];
    /* ReadProperty analog-input,5 present-value and its ACK (72.3) */
    bacsc_rp_request rp = {{BACSC_OBJ_ANALOG_INPUT, 5}, BACSC_PROP_PRESENT_VALUE, false, 0};
    expect_bytes(out, bacsc_rp_request_encode(out, sizeof out, &rp), "0c00000005 1955");
    rp = (bacsc_rp_request){{BACSC_OBJ_DEVICE, 1234}, BACSC_PROP_PRESENT_VALUE, false, 0};
    expect_bytes(out, bacsc_rp_request_encode(out, sizeof out, &rp), "0c020004d2 1955");
    rp = (bacsc_rp_request){{BACSC_OBJ_DEVICE, 1234}, BACSC_PROP_OBJECT_LIST, true, 0};
    expect_bytes(out, bacsc_rp_request_encode(out, sizeof out, &rp), "0c020004d2 194c 2900");
    size_t n = H("0c020004d2 194c 2900");
    bacsc_rp_request back;
    assert_int_equal(bacsc_rp_request_decode(hexbuf, n, &back, NULL), (int)n);
    assert_int_equal(back.object.type, 8);
    assert_int_equal(back.object.instance, 1234);
    assert_int_equal(back.property, 76);
    assert_true(back.has_index);
    assert_int_equal(back.index, 0);
    /* SC property id above 22 bits */
    rp = (bacsc_rp_request){{BACSC_OBJ_NETWORK_PORT, 1}, BACSC_PROP_SC_HUB_CONNECTOR_STATE, false, 0};
    expect_bytes(out, bacsc_rp_request_encode(out, sizeof out, &rp), "0c0e000001 1b40000e");

    static const uint8_t real723[] = {0x44, 0x42, 0x90, 0x99, 0x9a};
    bacsc_rp_ack ack = {{BACSC_OBJ_ANALOG_INPUT, 5}, 85, false, 0, real723, sizeof real723};
    expect_bytes(out, bacsc_rp_ack_encode(out, sizeof out, &ack), "0c00000005 1955 3e444290999a3f");
    n = H("0c00000005 1955 3e444290999a3f");
    bacsc_rp_ack aback;
    assert_int_equal(bacsc_rp_ack_decode(hexbuf, n, &aback, NULL), (int)n);
    assert_int_equal(aback.value_len, 5);
    assert_ptr_equal(aback.value, hexbuf + 8);
    bacsc_value vals[4];
    assert_int_equal(bacsc_values_decode(aback.value, aback.value_len, vals, 4), 1);
    assert_int_equal(vals[0].type, BACSC_TAG_REAL);
    assert_true(vals[0].v.real > 72.29f && vals[0].v.real < 72.31f);
    /* a list value: object-list with three identifiers */
    n = H("0c020004d2 194c 3e c4020004d2 c400000001 c402800002 3f");
    assert_int_equal(bacsc_rp_ack_decode(hexbuf, n, &aback, NULL), (int)n);
    assert_int_equal(bacsc_values_decode(aback.value, aback.value_len, vals, 4), 3);
    assert_int_equal(vals[2].v.oid.type, BACSC_OBJ_FILE);
    assert_int_equal(bacsc_values_decode(aback.value, aback.value_len, vals, 2), BACSC_ERR_LIMIT);
    /* an empty value list is well formed */
    n = H("0c00000005 1955 3e3f");
    assert_int_equal(bacsc_rp_ack_decode(hexbuf, n, &aback, NULL), (int)n);
    assert_int_equal(aback.value_len, 0);
    /* ACK with a malformed value is refused at encode */
    static const uint8_t badval[] = {0x44, 0x42};
    ack.value = badval;
    ack.value_len = 2;
    assert_int_equal(bacsc_rp_ack_encode(out, sizeof out, &ack), BACSC_ERR_INVALID_ARG);
}

static void read_property_multiple(void **state)
{
    (void)state;
    uint8_t out[128];
    int pos = 0;
    /* request: analog-input,16 { present-value, reliability } */
    bacsc_object_id ai16 = {BACSC_OBJ_ANALOG_INPUT, 16};
    bacsc_rpm_ref r1 = {85, false, 0}, r2 = {103, false, 0};
    pos += bacsc_rpm_encode_object_begin(out + pos, sizeof out - (size_t)pos, &ai16);
    pos += bacsc_rpm_encode_ref(out + pos, sizeof out - (size_t)pos, &r1);
    pos += bacsc_rpm_encode_ref(out + pos, sizeof out - (size_t)pos, &r2);
    pos += bacsc_rpm_encode_object_end(out + pos, sizeof out - (size_t)pos);
    expect_bytes(out, pos, "0c00000010 1e 0955 0967 1f");
    assert_int_equal(bacsc_rpm_validate(out, (size_t)pos, false, NULL), 2);

    /* two objects, one reference with an array index */
    size_t n = H("0c00000010 1e 0955 0967 1f 0c020004d2 1e 094c 1900 1f");
    bacsc_rpm_iter it;
    bacsc_object_id oid;
    bacsc_rpm_ref ref;
    bacsc_rpm_iter_init(&it, hexbuf, n, false);
    assert_int_equal(bacsc_rpm_next_object(&it, &oid, NULL), 1);
    assert_int_equal(oid.instance, 16);
    assert_int_equal(bacsc_rpm_next_ref(&it, &ref, NULL), 1);
    assert_int_equal(ref.property, 85);
    /* skip the rest of the first object's list */
    assert_int_equal(bacsc_rpm_next_object(&it, &oid, NULL), 1);
    assert_int_equal(oid.type, 8);
    assert_int_equal(bacsc_rpm_next_ref(&it, &ref, NULL), 1);
    assert_int_equal(ref.property, 76);
    assert_true(ref.has_index);
    assert_int_equal(ref.index, 0);
    assert_int_equal(bacsc_rpm_next_ref(&it, &ref, NULL), 0);
    assert_int_equal(bacsc_rpm_next_object(&it, &oid, NULL), 0);

    /* ACK: present-value 72.3, reliability no-fault-detected(0), then an error */
    pos = 0;
    static const uint8_t real723[] = {0x44, 0x42, 0x90, 0x99, 0x9a}, enum0[] = {0x91, 0x00};
    bacsc_rpm_result res1 = {.property = 85, .value = real723, .value_len = 5};
    bacsc_rpm_result res2 = {.property = 103, .value = enum0, .value_len = 2};
    bacsc_rpm_result res3 = {.property = 200, .is_error = true, .error_class = 2, .error_code = 32};
    pos += bacsc_rpm_encode_object_begin(out + pos, sizeof out - (size_t)pos, &ai16);
    pos += bacsc_rpm_encode_result(out + pos, sizeof out - (size_t)pos, &res1);
    pos += bacsc_rpm_encode_result(out + pos, sizeof out - (size_t)pos, &res2);
    pos += bacsc_rpm_encode_result(out + pos, sizeof out - (size_t)pos, &res3);
    pos += bacsc_rpm_encode_object_end(out + pos, sizeof out - (size_t)pos);
    expect_bytes(out, pos,
                 "0c00000010 1e 2955 4e444290999a4f 2967 4e91004f 29c8 5e91029120 5f 1f");
    bacsc_rpm_result r;
    bacsc_rpm_iter_init(&it, out, (size_t)pos, true);
    assert_int_equal(bacsc_rpm_next_object(&it, &oid, NULL), 1);
    assert_int_equal(bacsc_rpm_next_result(&it, &r, NULL), 1);
    assert_false(r.is_error);
    assert_int_equal(r.value_len, 5);
    assert_int_equal(bacsc_rpm_next_result(&it, &r, NULL), 1);
    assert_int_equal(r.property, 103);
    assert_int_equal(bacsc_rpm_next_result(&it, &r, NULL), 1);
    assert_true(r.is_error);
    assert_int_equal(r.error_class, 2);
    assert_int_equal(r.error_code, 32);
    assert_int_equal(bacsc_rpm_next_result(&it, &r, NULL), 0);
    assert_int_equal(bacsc_rpm_next_object(&it, &oid, NULL), 0);
    assert_int_equal(bacsc_rpm_validate(out, (size_t)pos, true, NULL), 3);
    /* an ACK may carry an empty result list; a request may not */
    n = H("0c00000010 1e 1f");
    assert_int_equal(bacsc_rpm_validate(hexbuf, n, true, NULL), 0);
    bacsc_fault f;
    assert_int_equal(bacsc_rpm_validate(hexbuf, n, false, &f), BACSC_ERR_MALFORMED);
    assert_int_equal(f.reason, BACSC_REJECT_MISSING_REQUIRED_PARAMETER);
}

static void write_property(void **state)
{
    (void)state;
    uint8_t out[64];
    static const uint8_t v180[] = {0x44, 0x43, 0x34, 0x00, 0x00};
    bacsc_wp_request wp = {{BACSC_OBJ_ANALOG_VALUE, 1}, 85, false, 0, v180, 5, false, 0};
    expect_bytes(out, bacsc_wp_request_encode(out, sizeof out, &wp), "0c00800001 1955 3e4443340000 3f");
    wp.has_priority = true;
    wp.priority = 8;
    expect_bytes(out, bacsc_wp_request_encode(out, sizeof out, &wp),
                 "0c00800001 1955 3e4443340000 3f 4908");
    size_t n = H("0c00800001 1955 2901 3e00 3f 4910");  /* Null to priority-array[1] @16 */
    bacsc_wp_request back;
    assert_int_equal(bacsc_wp_request_decode(hexbuf, n, &back, NULL), (int)n);
    assert_true(back.has_index);
    assert_int_equal(back.index, 1);
    assert_int_equal(back.value_len, 1);
    assert_true(back.has_priority);
    assert_int_equal(back.priority, 16);
    wp.priority = 17;
    assert_int_equal(bacsc_wp_request_encode(out, sizeof out, &wp), BACSC_ERR_INVALID_ARG);
    wp.priority = 0;
    assert_int_equal(bacsc_wp_request_encode(out, sizeof out, &wp), BACSC_ERR_INVALID_ARG);
}

static void file_access(void **state)
{
    (void)state;
    uint8_t out[128];
    bacsc_arf_request arf = {{BACSC_OBJ_FILE, 1}, BACSC_FILE_STREAM, 0, 1024};
    expect_bytes(out, bacsc_arf_request_encode(out, sizeof out, &arf), "c402800001 0e 3100 220400 0f");
    arf = (bacsc_arf_request){{BACSC_OBJ_FILE, 2}, BACSC_FILE_RECORD, 14, 3};
    expect_bytes(out, bacsc_arf_request_encode(out, sizeof out, &arf), "c402800002 1e 310e 2103 1f");
    size_t n = H("c402800002 1e 31ff 2103 1f");
    bacsc_arf_request arfb;
    assert_int_equal(bacsc_arf_request_decode(hexbuf, n, &arfb, NULL), (int)n);
    assert_int_equal(arfb.access, BACSC_FILE_RECORD);
    assert_int_equal(arfb.start, -1);   /* -1 = append/end in some uses */
    assert_int_equal(arfb.count, 3);

    static const uint8_t data[] = {1, 2, 3};
    bacsc_arf_ack ack = {true, BACSC_FILE_STREAM, 0, 0, data, 3};
    expect_bytes(out, bacsc_arf_ack_encode(out, sizeof out, &ack), "11 0e 3100 63010203 0f");
    n = H("10 1e 310e 2102 62aabb 61cc 1f");
    bacsc_arf_ack ackb;
    assert_int_equal(bacsc_arf_ack_decode(hexbuf, n, &ackb, NULL), (int)n);
    assert_false(ackb.end_of_file);
    assert_int_equal(ackb.access, BACSC_FILE_RECORD);
    assert_int_equal(ackb.start, 14);
    assert_int_equal(ackb.count, 2);
    const uint8_t *p = ackb.data;
    size_t left = ackb.data_len;
    bacsc_octets rec;
    assert_int_equal(bacsc_records_next(&p, &left, &rec), 1);
    assert_int_equal(rec.len, 2);
    assert_int_equal(bacsc_records_next(&p, &left, &rec), 1);
    assert_int_equal(rec.data[0], 0xcc);
    assert_int_equal(bacsc_records_next(&p, &left, &rec), 0);
    /* encode the same record ACK */
    static const uint8_t r1[] = {0xaa, 0xbb}, r2[] = {0xcc};
    bacsc_octets recs[2] = {{r1, 2}, {r2, 1}};
    uint8_t rdata[16];
    int rn = bacsc_records_encode(rdata, sizeof rdata, recs, 2);
    assert_int_equal(rn, 5);
    ack = (bacsc_arf_ack){false, BACSC_FILE_RECORD, 14, 2, rdata, (size_t)rn};
    expect_bytes(out, bacsc_arf_ack_encode(out, sizeof out, &ack), "10 1e 310e 2102 62aabb 61cc 1f");
    ack.count = 3;   /* count inconsistent with the records */
    assert_int_equal(bacsc_arf_ack_encode(out, sizeof out, &ack), BACSC_ERR_INVALID_ARG);

    bacsc_awf_request awf = {{BACSC_OBJ_FILE, 1}, BACSC_FILE_STREAM, 30, 0, data, 3};
    expect_bytes(out, bacsc_awf_request_encode(out, sizeof out, &awf), "c402800001 0e 311e 63010203 0f");
    awf = (bacsc_awf_request){{BACSC_OBJ_FILE, 1}, BACSC_FILE_RECORD, -1, 2, rdata, (size_t)rn};
    expect_bytes(out, bacsc_awf_request_encode(out, sizeof out, &awf),
                 "c402800001 1e 31ff 2102 62aabb 61cc 1f");
    n = H("c402800001 1e 31ff 2102 62aabb 61cc 1f");
    bacsc_awf_request awfb;
    assert_int_equal(bacsc_awf_request_decode(hexbuf, n, &awfb, NULL), (int)n);
    assert_int_equal(awfb.count, 2);
    assert_int_equal(awfb.start, -1);

    bacsc_awf_ack wack = {BACSC_FILE_STREAM, 30};
    expect_bytes(out, bacsc_awf_ack_encode(out, sizeof out, &wack), "091e");
    wack = (bacsc_awf_ack){BACSC_FILE_RECORD, 14};
    expect_bytes(out, bacsc_awf_ack_encode(out, sizeof out, &wack), "190e");
    bacsc_awf_ack wb;
    assert_int_equal(bacsc_awf_ack_decode(out, 2, &wb, NULL), 2);
    assert_int_equal(wb.access, BACSC_FILE_RECORD);
    assert_int_equal(wb.start, 14);
}

static void reinitialize_device(void **state)
{
    (void)state;
    uint8_t out[64];
    bacsc_reinit_request r = {BACSC_REINIT_ACTIVATE_CHANGES, false, {0}};
    expect_bytes(out, bacsc_reinit_request_encode(out, sizeof out, &r), "0907");
    r = (bacsc_reinit_request){BACSC_REINIT_WARMSTART, true, {0, (const uint8_t *)"AbCdEfGh", 8}};
    expect_bytes(out, bacsc_reinit_request_encode(out, sizeof out, &r), "0901 1d09 00 4162436445664768");
    bacsc_reinit_request b;
    size_t n = H("0901 1d09 00 4162436445664768");
    assert_int_equal(bacsc_reinit_request_decode(hexbuf, n, &b, NULL), (int)n);
    assert_int_equal(b.state, 1);
    assert_true(b.has_password);
    assert_int_equal(b.password.len, 8);
    assert_memory_equal(b.password.data, "AbCdEfGh", 8);
    r.state = 8;
    assert_int_equal(bacsc_reinit_request_encode(out, sizeof out, &r), BACSC_ERR_INVALID_ARG);
    assert_string_equal(bacsc_reinit_state_name(7), "activate-changes");
    assert_null(bacsc_reinit_state_name(8));
    uint8_t st;
    assert_int_equal(bacsc_reinit_state_parse("Activate_Changes", &st), BACSC_OK);
    assert_int_equal(st, 7);
    assert_int_equal(bacsc_reinit_state_parse("warmstart", &st), BACSC_OK);
    assert_int_equal(st, 1);
    assert_int_equal(bacsc_reinit_state_parse("3", &st), BACSC_OK);
    assert_int_equal(st, 3);
    assert_int_equal(bacsc_reinit_state_parse("warm", &st), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_reinit_state_parse("8", &st), BACSC_ERR_NOT_FOUND);
}

static void error_payloads(void **state)
{
    (void)state;
    uint8_t out[64];
    bacsc_error e = {BACSC_ERROR_CLASS_OBJECT, BACSC_EC_UNKNOWN_OBJECT, false, NULL, 0};
    expect_bytes(out, bacsc_error_encode(out, sizeof out, &e), "9101 911f");
    bacsc_error b;
    size_t n = H("9101 911f");
    assert_int_equal(bacsc_error_decode(hexbuf, n, &b, NULL), (int)n);
    assert_false(b.complex);
    assert_int_equal(b.error_class, 1);
    assert_int_equal(b.error_code, 31);
    /* AddListElement-Error: [0]{class, code} [1] firstFailedElementNumber */
    static const uint8_t extra[] = {0x19, 0x01};
    e = (bacsc_error){BACSC_ERROR_CLASS_SERVICES, BACSC_EC_INVALID_DATA_ENCODING, true, extra, 2};
    expect_bytes(out, bacsc_error_encode(out, sizeof out, &e), "0e 9105 918e 0f 1901");
    n = H("0e 9105 918e 0f 1901");
    assert_int_equal(bacsc_error_decode(hexbuf, n, &b, NULL), (int)n);
    assert_true(b.complex);
    assert_int_equal(b.error_code, 142);
    assert_int_equal(b.extra_len, 2);
    assert_true(bacsc_service_has_complex_error(BACSC_SERVICE_CREATE_OBJECT));
    assert_true(bacsc_service_has_complex_error(BACSC_SERVICE_WRITE_PROPERTY_MULTIPLE));
    assert_false(bacsc_service_has_complex_error(BACSC_SERVICE_READ_PROPERTY));
    /* two-octet error code (Annex AB) */
    e = (bacsc_error){7, 151, false, NULL, 0};
    expect_bytes(out, bacsc_error_encode(out, sizeof out, &e), "9107 9197");
}

static void whole_apdus(void **state)
{
    (void)state;
    uint8_t out[64], pl[32];
    bacsc_rp_request rp = {{BACSC_OBJ_DEVICE, 1001}, BACSC_PROP_OBJECT_NAME, false, 0};
    int pn = bacsc_rp_request_encode(pl, sizeof pl, &rp);
    int n = bacsc_encode_confirmed(out, sizeof out, BACSC_SERVICE_READ_PROPERTY, 1, 5, pl, (size_t)pn);
    expect_bytes(out, n, "0005010c0c020003e9194d");
    n = bacsc_encode_unconfirmed(out, sizeof out, BACSC_SERVICE_WHO_IS, NULL, 0);
    expect_bytes(out, n, "1008");
    n = bacsc_encode_complex_ack(out, sizeof out, BACSC_SERVICE_READ_PROPERTY, 1, pl, (size_t)pn);
    expect_bytes(out, n, "30010c0c020003e9194d");
    assert_int_equal(bacsc_encode_confirmed(out, 5, 12, 1, 5, pl, (size_t)pn), BACSC_ERR_BUFFER_TOO_SMALL);
}

/* ---- malformed inputs: every decoder, with the Reject reason ------------------ */

static const struct {
    decode_fn fn;
    const char *name;
    const char *hex;
    uint8_t reason;
} bad[] = {
    {d_whois, "whois", "0903", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_whois, "whois", "1903", BACSC_REJECT_INVALID_TAG},
    {d_whois, "whois", "0903 1903 2901", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_whois, "whois", "0b400000 1903", BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
    {d_whois, "whois", "0a", BACSC_REJECT_INVALID_TAG},
    {d_iam, "iam", "", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_iam, "iam", "c4020004d2 2205c4 9103", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_iam, "iam", "c4000004d2 2205c4 9103 2104", BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
    {d_iam, "iam", "c4020004d2 2205c4 9104 2104", BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
    {d_iam, "iam", "c4020004d2 2205c4 9103 23010000", BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
    {d_iam, "iam", "c4020004d2 9105 9103 2104", BACSC_REJECT_INVALID_PARAMETER_DATA_TYPE},
    {d_iam, "iam", "0c020004d2 2205c4 9103 2104", BACSC_REJECT_INVALID_TAG},
    {d_iam, "iam", "c4020004d2 2205c4 9103 2104 00", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_rp, "rp", "", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_rp, "rp", "0c00000005", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_rp, "rp", "0c000000", BACSC_REJECT_INVALID_TAG},        /* truncated identifier */
    {d_rp, "rp", "1955", BACSC_REJECT_INVALID_TAG},
    {d_rp, "rp", "c400000005 1955", BACSC_REJECT_INVALID_TAG},
    {d_rp, "rp", "0b00000005 1955", BACSC_REJECT_INVALID_TAG}, /* 3-octet identifier */
    {d_rp, "rp", "0c00000005 1955 29", BACSC_REJECT_INVALID_TAG},
    {d_rp, "rp", "0c00000005 1955 3900", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_rp, "rp", "0c00000005 1955 2900 2900", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_rp, "rp", "0c00000005 1c01000000", BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
    {d_rp, "rp", "0c00000005 1d0501000000", BACSC_REJECT_INVALID_TAG}, /* 5-octet enum */
    {d_rpack, "rpack", "0c00000005 1955", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_rpack, "rpack", "0c00000005 1955 3e4442", BACSC_REJECT_INVALID_TAG},
    {d_rpack, "rpack", "0c00000005 1955 3e444290999a", BACSC_REJECT_INVALID_TAG},
    {d_rpack, "rpack", "0c00000005 1955 3e444290999a4f", BACSC_REJECT_INVALID_TAG},
    {d_rpack, "rpack", "0c00000005 1955 3e 1e 3f", BACSC_REJECT_INVALID_TAG},
    {d_rpack, "rpack", "0c00000005 1955 3e3f 00", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_rpack, "rpack", "0c00000005 1955 4e3f", BACSC_REJECT_INVALID_TAG},
    {d_rpm, "rpm", "", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_rpm, "rpm", "0c00000010", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_rpm, "rpm", "0c00000010 1e", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_rpm, "rpm", "0c00000010 1e 0955", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_rpm, "rpm", "0c00000010 1e 0955 2f", BACSC_REJECT_INVALID_TAG},
    {d_rpm, "rpm", "0c00000010 2e 0955 2f", BACSC_REJECT_INVALID_TAG},
    {d_rpm, "rpm", "0c00000010 1e 1955 1f", BACSC_REJECT_INVALID_TAG},
    {d_rpm, "rpm", "0c00000010 1e 0955 1f 21", BACSC_REJECT_INVALID_TAG},
    {d_rpm, "rpm", "1e 0955 1f", BACSC_REJECT_INVALID_TAG},
    {d_rpmack, "rpmack", "0c00000010 1e 2955 1f", BACSC_REJECT_INVALID_TAG},
    {d_rpmack, "rpmack", "0c00000010 1e 2955 4e44 4f 1f", BACSC_REJECT_INVALID_TAG},
    {d_rpmack, "rpmack", "0c00000010 1e 2955 5e9102 5f 1f", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_rpmack, "rpmack", "0c00000010 1e 2955 5e91029120 2100 5f 1f", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_rpmack, "rpmack", "0c00000010 1e 2955 5e2102 9120 5f 1f", BACSC_REJECT_INVALID_PARAMETER_DATA_TYPE},
    {d_rpmack, "rpmack", "0c00000010 1e 2955 4e4f", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_wp, "wp", "0c00800001 1955", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_wp, "wp", "0c00800001 1955 3e00 3f 4900", BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
    {d_wp, "wp", "0c00800001 1955 3e00 3f 4911", BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
    {d_wp, "wp", "0c00800001 1955 3e00 3f 4908 00", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_wp, "wp", "0c00800001 1955 3e00", BACSC_REJECT_INVALID_TAG},
    {d_wp, "wp", "0c00800001 1955 0e00 0f", BACSC_REJECT_INVALID_TAG},
    {d_arf, "arf", "c402800001", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_arf, "arf", "c402800001 2e 3100 2104 2f", BACSC_REJECT_INVALID_TAG},
    {d_arf, "arf", "c402800001 0e 3100 0f", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_arf, "arf", "c402800001 0e 2100 2104 0f", BACSC_REJECT_INVALID_PARAMETER_DATA_TYPE},
    {d_arf, "arf", "c402800001 0e 3100 2104 2104 0f", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_arf, "arf", "c402800001 0e 3505 0100000000 2104 0f", BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
    {d_arf, "arf", "c402800001 0e 3100 2104", BACSC_REJECT_INVALID_TAG},
    {d_arfack, "arfack", "", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_arfack, "arfack", "11 0e 3100 0f", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_arfack, "arfack", "10 1e 3100 2102 6101 1f", BACSC_REJECT_INCONSISTENT_PARAMETERS},
    {d_arfack, "arfack", "10 1e 3100 2101 6101 2101 1f", BACSC_REJECT_INVALID_PARAMETER_DATA_TYPE},
    {d_awf, "awf", "c402800001 0e 3100 0f", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_awf, "awf", "c402800001 1e 3100 2101 1f", BACSC_REJECT_INCONSISTENT_PARAMETERS},
    {d_awfack, "awfack", "", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_awfack, "awfack", "2900", BACSC_REJECT_INVALID_TAG},
    {d_awfack, "awfack", "3100", BACSC_REJECT_INVALID_TAG},
    {d_awfack, "awfack", "0900 00", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_reinit, "reinit", "", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_reinit, "reinit", "0908", BACSC_REJECT_UNDEFINED_ENUMERATION},
    {d_reinit, "reinit", "0907 2900", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_reinit, "reinit", "0907 18", BACSC_REJECT_INVALID_TAG},
    {d_reinit, "reinit", "0907 1b0041", BACSC_REJECT_INVALID_TAG},
    {d_error, "error", "", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_error, "error", "9101", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_error, "error", "9101 911f 00", BACSC_REJECT_TOO_MANY_ARGUMENTS},
    {d_error, "error", "9101 2101", BACSC_REJECT_INVALID_PARAMETER_DATA_TYPE},
    {d_error, "error", "93010000 911f", BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
    {d_error, "error", "0e 9101 911f", BACSC_REJECT_INVALID_TAG},
    {d_error, "error", "0e 9101 0f", BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
    {d_error, "error", "0e 9101 911f 0f 1e", BACSC_REJECT_INVALID_TAG},
};

static void malformed_with_reasons(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[128];
        size_t n = bt_hex(bad[i].hex, b, sizeof b);
        bacsc_fault f;
        int rc = bad[i].fn(b, n, &f);
        if (rc != BACSC_ERR_MALFORMED)
            fail_msg("%s accepted %s (rc %d)", bad[i].name, bad[i].hex, rc);
        if (f.kind != BACSC_FAULT_REJECT || f.reason != bad[i].reason)
            fail_msg("%s %s: reject %d (%s) want %d", bad[i].name, bad[i].hex, f.reason,
                     f.what ? f.what : "?", bad[i].reason);
        assert_non_null(f.what);
        assert_true(f.offset <= n);
        /* NULL fault pointer is fine too */
        assert_int_equal(bad[i].fn(b, n, NULL), BACSC_ERR_MALFORMED);
    }
}

/* Every strict prefix of a valid request is malformed (except where the
 * prefix is itself a complete encoding: optional trailing items). */
static void truncations(void **state)
{
    (void)state;
    static const struct { decode_fn fn; const char *hex; } good[] = {
        {d_iam, "c4020004d2 2205c4 9103 220104"},
        {d_rpack, "0c00000005 1955 3e444290999a3f"},
        {d_rpm, "0c00000010 1e 0955 0967 1f 0c020004d2 1e 094c 1900 1f"},
        {d_rpmack, "0c00000010 1e 2955 4e444290999a4f 2967 4e91004f 29c8 5e91029120 5f 1f"},
        {d_arf, "c402800001 0e 3100 220400 0f"},
        {d_arfack, "10 1e 310e 2102 62aabb 61cc 1f"},
        {d_awf, "c402800001 1e 31ff 2102 62aabb 61cc 1f"},
        {d_error, "0e 9105 918e 0f"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t b[128];
        size_t n = bt_hex(good[i].hex, b, sizeof b);
        assert_true(good[i].fn(b, n, NULL) >= 0);
        for (size_t cut = 0; cut < n; cut++) {
            /* RPM: a cut exactly after a complete object is a shorter valid request */
            int rc = good[i].fn(b, cut, NULL);
            if (rc >= 0 && (good[i].fn == d_rpm || good[i].fn == d_rpmack))
                continue;
            if (rc != BACSC_ERR_MALFORMED)
                fail_msg("prefix %zu of %s accepted", cut, good[i].hex);
        }
    }
}

/* ---- random round trips --------------------------------------------------------- */

static bacsc_object_id rand_oid(uint64_t *s)
{
    bacsc_object_id o = {(uint16_t)bt_below(s, 1024), bt_below(s, BACSC_MAX_INSTANCE + 1)};
    return o;
}

static uint32_t rand_prop(uint64_t *s)
{
    switch (bt_below(s, 3)) {
    case 0: return bt_below(s, 512);
    case 1: return 4194304 + bt_below(s, 24);
    }
    return bt_below(s, BACSC_PROPERTY_MAX + 1);
}

/* An encoded property value: 1..4 random application values. */
static size_t rand_value(uint64_t *s, uint8_t *out, size_t cap)
{
    uint8_t store[300];
    size_t pos = 0;
    unsigned k = 1 + bt_below(s, 4);
    for (unsigned i = 0; i < k; i++) {
        bacsc_value v;
        bt_random_value(s, &v, store, 40);
        int n = bacsc_value_encode(out + pos, cap - pos, &v);
        assert_true(n > 0);
        pos += (size_t)n;
    }
    return pos;
}

static void roundtrip_random(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0004;
    static uint8_t val[512], enc[8192];
    for (int k = 0; k < 3000; k++) {
        /* ReadProperty request + ACK */
        bacsc_rp_ack ack = {rand_oid(&seed), rand_prop(&seed), bt_rand(&seed) & 1,
                            (uint32_t)bt_rand(&seed), val, 0};
        ack.value_len = rand_value(&seed, val, sizeof val);
        int n = bacsc_rp_ack_encode(enc, sizeof enc, &ack);
        assert_true(n > 0);
        assert_int_equal(bacsc_rp_ack_encode(NULL, 0, &ack), n);
        assert_int_equal(bacsc_rp_ack_encode(enc, (size_t)n - 1, &ack), BACSC_ERR_BUFFER_TOO_SMALL);
        bacsc_rp_ack ab;
        assert_int_equal(bacsc_rp_ack_decode(enc, (size_t)n, &ab, NULL), n);
        assert_int_equal(ab.object.type, ack.object.type);
        assert_int_equal(ab.object.instance, ack.object.instance);
        assert_int_equal(ab.property, ack.property);
        assert_int_equal(ab.has_index, ack.has_index);
        if (ack.has_index)
            assert_int_equal(ab.index, ack.index);
        assert_int_equal(ab.value_len, ack.value_len);
        assert_memory_equal(ab.value, val, ack.value_len);
        bacsc_rp_request rq = {ack.object, ack.property, ack.has_index, ack.index}, rb;
        n = bacsc_rp_request_encode(enc, sizeof enc, &rq);
        assert_int_equal(bacsc_rp_request_decode(enc, (size_t)n, &rb, NULL), n);
        assert_int_equal(rb.property, rq.property);

        /* WriteProperty */
        bacsc_wp_request wp = {ack.object, ack.property, ack.has_index, ack.index, val,
                               ack.value_len, bt_rand(&seed) & 1, 0}, wb;
        wp.priority = wp.has_priority ? (uint8_t)(1 + bt_below(&seed, 16)) : 0;
        n = bacsc_wp_request_encode(enc, sizeof enc, &wp);
        assert_true(n > 0);
        assert_int_equal(bacsc_wp_request_decode(enc, (size_t)n, &wb, NULL), n);
        assert_int_equal(wb.priority, wp.priority);
        assert_int_equal(wb.value_len, wp.value_len);

        /* RPM request and ACK with 1..3 objects of 1..4 items */
        size_t pos = 0, rpos = 0;
        unsigned objs = 1 + bt_below(&seed, 3), items = 0;
        static uint8_t ackbuf[8192];
        for (unsigned o = 0; o < objs; o++) {
            bacsc_object_id oid = rand_oid(&seed);
            pos += (size_t)bacsc_rpm_encode_object_begin(enc + pos, sizeof enc - pos, &oid);
            rpos += (size_t)bacsc_rpm_encode_object_begin(ackbuf + rpos, sizeof ackbuf - rpos, &oid);
            unsigned m = 1 + bt_below(&seed, 4);
            for (unsigned j = 0; j < m; j++) {
                bacsc_rpm_ref ref = {rand_prop(&seed), bt_rand(&seed) & 1, (uint32_t)bt_rand(&seed)};
                pos += (size_t)bacsc_rpm_encode_ref(enc + pos, sizeof enc - pos, &ref);
                bacsc_rpm_result res = {ref.property, ref.has_index, ref.index, bt_rand(&seed) & 1,
                                        val, ack.value_len, (uint16_t)bt_rand(&seed),
                                        (uint16_t)bt_rand(&seed)};
                int rn = bacsc_rpm_encode_result(ackbuf + rpos, sizeof ackbuf - rpos, &res);
                assert_true(rn > 0);
                rpos += (size_t)rn;
                items++;
            }
            pos += (size_t)bacsc_rpm_encode_object_end(enc + pos, sizeof enc - pos);
            rpos += (size_t)bacsc_rpm_encode_object_end(ackbuf + rpos, sizeof ackbuf - rpos);
        }
        assert_int_equal(bacsc_rpm_validate(enc, pos, false, NULL), (int)items);
        assert_int_equal(bacsc_rpm_validate(ackbuf, rpos, true, NULL), (int)items);
        /* a random cut of the request never crashes and, unless it falls on an
         * object boundary, is malformed */
        size_t cut = bt_below(&seed, (uint32_t)pos);
        int rc = bacsc_rpm_validate(enc, cut, false, NULL);
        assert_true(rc == BACSC_ERR_MALFORMED || rc > 0);

        /* file services */
        bacsc_awf_request awf = {rand_oid(&seed), BACSC_FILE_STREAM, (int32_t)bt_rand(&seed), 0,
                                 val, bt_below(&seed, 300)}, awb;
        n = bacsc_awf_request_encode(enc, sizeof enc, &awf);
        assert_int_equal(bacsc_awf_request_decode(enc, (size_t)n, &awb, NULL), n);
        assert_int_equal(awb.start, awf.start);
        assert_int_equal(awb.data_len, awf.data_len);
        bacsc_arf_request arf = {rand_oid(&seed), (uint8_t)bt_below(&seed, 2),
                                 (int32_t)bt_rand(&seed), (uint32_t)bt_rand(&seed)}, arb;
        n = bacsc_arf_request_encode(enc, sizeof enc, &arf);
        assert_int_equal(bacsc_arf_request_decode(enc, (size_t)n, &arb, NULL), n);
        assert_int_equal(arb.start, arf.start);
        assert_int_equal(arb.count, arf.count);
        assert_int_equal(arb.access, arf.access);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(who_is_and_i_am),
        cmocka_unit_test(read_property),
        cmocka_unit_test(read_property_multiple),
        cmocka_unit_test(write_property),
        cmocka_unit_test(file_access),
        cmocka_unit_test(reinitialize_device),
        cmocka_unit_test(error_payloads),
        cmocka_unit_test(whole_apdus),
        cmocka_unit_test(malformed_with_reasons),
        cmocka_unit_test(truncations),
        cmocka_unit_test(roundtrip_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
