/* test_apdu.c — APDU headers of every PDU type (known bytes, malformed
 * forms with the fault a server answers, random round trips) and the
 * enumeration name/parse functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/apdu.h"
#include "bacsc/bvlc.h"
#include "bacsc/error.h"
#include "support_bacnet.h"

static void check_roundtrip(const char *hex, const bacsc_apdu *want, int header_len)
{
    uint8_t b[64], out[64];
    size_t n = bt_hex(hex, b, sizeof b);
    bacsc_apdu a;
    bacsc_fault f;
    assert_int_equal(bacsc_apdu_decode(b, n, &a, &f), header_len);
    assert_int_equal(a.type, want->type);
    assert_int_equal(a.segmented, want->segmented);
    assert_int_equal(a.more_follows, want->more_follows);
    assert_int_equal(a.segmented_response_accepted, want->segmented_response_accepted);
    assert_int_equal(a.max_segs, want->max_segs);
    assert_int_equal(a.max_apdu, want->max_apdu);
    assert_int_equal(a.invoke_id, want->invoke_id);
    assert_int_equal(a.sequence_number, want->sequence_number);
    assert_int_equal(a.window_size, want->window_size);
    assert_int_equal(a.nak, want->nak);
    assert_int_equal(a.server, want->server);
    assert_int_equal(a.service, want->service);
    assert_int_equal(a.reason, want->reason);
    assert_int_equal(a.data_len, n - (size_t)header_len);
    assert_int_equal(bacsc_apdu_encode(out, sizeof out, &a), (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(bacsc_apdu_encode_header(NULL, 0, &a), header_len);
}

static void every_pdu_type(void **state)
{
    (void)state;
    bacsc_apdu a = {.type = BACSC_PDU_CONFIRMED_REQUEST, .max_apdu = 5, .invoke_id = 1,
                    .service = BACSC_SERVICE_READ_PROPERTY};
    check_roundtrip("0005010c0c020003e9194d", &a, 4);
    a = (bacsc_apdu){.type = BACSC_PDU_CONFIRMED_REQUEST, .segmented = true, .more_follows = true,
                     .segmented_response_accepted = true, .max_segs = 7, .max_apdu = 3,
                     .invoke_id = 0x42, .sequence_number = 9, .window_size = 127,
                     .service = BACSC_SERVICE_ATOMIC_WRITE_FILE};
    check_roundtrip("0e7342097f07c4", &a, 6);
    a = (bacsc_apdu){.type = BACSC_PDU_UNCONFIRMED_REQUEST, .service = BACSC_SERVICE_WHO_IS};
    check_roundtrip("1008", &a, 2);
    a = (bacsc_apdu){.type = BACSC_PDU_SIMPLE_ACK, .invoke_id = 7,
                     .service = BACSC_SERVICE_WRITE_PROPERTY};
    check_roundtrip("20070f", &a, 3);
    a = (bacsc_apdu){.type = BACSC_PDU_COMPLEX_ACK, .invoke_id = 1,
                     .service = BACSC_SERVICE_READ_PROPERTY};
    check_roundtrip("30010c0c00000005195500", &a, 3);
    a = (bacsc_apdu){.type = BACSC_PDU_COMPLEX_ACK, .segmented = true, .more_follows = true,
                     .invoke_id = 3, .sequence_number = 0, .window_size = 4,
                     .service = BACSC_SERVICE_READ_PROPERTY_MULTIPLE};
    check_roundtrip("3c0300040e01", &a, 5);
    a = (bacsc_apdu){.type = BACSC_PDU_SEGMENT_ACK, .nak = true, .server = true, .invoke_id = 3,
                     .sequence_number = 2, .window_size = 4};
    check_roundtrip("43030204", &a, 4);
    a = (bacsc_apdu){.type = BACSC_PDU_ERROR, .invoke_id = 1,
                     .service = BACSC_SERVICE_READ_PROPERTY};
    check_roundtrip("50010c9101911f", &a, 3);
    a = (bacsc_apdu){.type = BACSC_PDU_REJECT, .invoke_id = 1,
                     .reason = BACSC_REJECT_MISSING_REQUIRED_PARAMETER};
    check_roundtrip("600105", &a, 3);
    a = (bacsc_apdu){.type = BACSC_PDU_ABORT, .server = true, .invoke_id = 9,
                     .reason = BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED};
    check_roundtrip("710904", &a, 3);
}

static void malformed(void **state)
{
    (void)state;
    static const struct { const char *hex; uint8_t kind; uint8_t reason; } bad[] = {
        {"", BACSC_FAULT_NONE, 0},
        {"00", BACSC_FAULT_NONE, 0},                  /* truncated */
        {"0005", BACSC_FAULT_NONE, 0},                /* no invoke id: cannot reject */
        {"000501", BACSC_FAULT_REJECT, BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
        {"0105010c", BACSC_FAULT_REJECT, BACSC_REJECT_OTHER},      /* reserved bit 0 */
        {"0405010c", BACSC_FAULT_REJECT, BACSC_REJECT_OTHER},      /* MOR without SEG */
        {"0085010c", BACSC_FAULT_REJECT, BACSC_REJECT_OTHER},      /* reserved bit in octet 1 */
        {"0006010c", BACSC_FAULT_REJECT, BACSC_REJECT_PARAMETER_OUT_OF_RANGE}, /* max-apdu 6 */
        {"000f010c", BACSC_FAULT_REJECT, BACSC_REJECT_PARAMETER_OUT_OF_RANGE},
        {"08050100", BACSC_FAULT_REJECT, BACSC_REJECT_MISSING_REQUIRED_PARAMETER}, /* SEG, no window */
        {"080501000000", BACSC_FAULT_ABORT, BACSC_ABORT_WINDOW_SIZE_OUT_OF_RANGE}, /* window 0 */
        {"08050100800c", BACSC_FAULT_ABORT, BACSC_ABORT_WINDOW_SIZE_OUT_OF_RANGE}, /* window 128 */
        {"0805010001", BACSC_FAULT_REJECT, BACSC_REJECT_MISSING_REQUIRED_PARAMETER},
        {"10", BACSC_FAULT_NONE, 0},                  /* Unconfirmed without service */
        {"1108", BACSC_FAULT_NONE, 0},                /* reserved bits */
        {"2001", BACSC_FAULT_NONE, 0},                /* SimpleACK truncated */
        {"20010f00", BACSC_FAULT_NONE, 0},            /* SimpleACK with data */
        {"28010f", BACSC_FAULT_NONE, 0},              /* SimpleACK reserved bits */
        {"3001", BACSC_FAULT_NONE, 0},                /* ComplexACK no service */
        {"3101 0c", BACSC_FAULT_NONE, 0},             /* ComplexACK reserved bit */
        {"340c", BACSC_FAULT_NONE, 0},                /* MOR without SEG */
        {"3801000c", BACSC_FAULT_NONE, 0},            /* segmented, truncated */
        {"380100000c", BACSC_FAULT_ABORT, BACSC_ABORT_WINDOW_SIZE_OUT_OF_RANGE},
        {"400102", BACSC_FAULT_NONE, 0},              /* SegmentACK truncated */
        {"4001020304", BACSC_FAULT_NONE, 0},          /* SegmentACK with data */
        {"44010204", BACSC_FAULT_NONE, 0},            /* SegmentACK reserved bit */
        {"40010200", BACSC_FAULT_NONE, 0},            /* window 0 */
        {"5001", BACSC_FAULT_NONE, 0},                /* Error truncated */
        {"51010c", BACSC_FAULT_NONE, 0},              /* Error reserved bits */
        {"6001", BACSC_FAULT_NONE, 0},                /* Reject truncated */
        {"60010500", BACSC_FAULT_NONE, 0},            /* Reject with data */
        {"610105", BACSC_FAULT_NONE, 0},              /* Reject reserved bits */
        {"720104", BACSC_FAULT_NONE, 0},              /* Abort reserved bits */
        {"70010400", BACSC_FAULT_NONE, 0},            /* Abort with data */
        {"800100", BACSC_FAULT_NONE, 0},              /* PDU type 8 */
        {"f00100", BACSC_FAULT_NONE, 0},              /* PDU type 15 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[32];
        size_t n = bt_hex(bad[i].hex, b, sizeof b);
        bacsc_apdu a;
        bacsc_fault f;
        if (bacsc_apdu_decode(b, n, &a, &f) != BACSC_ERR_MALFORMED)
            fail_msg("accepted malformed APDU %s", bad[i].hex);
        if (f.kind != bad[i].kind || f.reason != bad[i].reason)
            fail_msg("APDU %s: fault %d/%d, want %d/%d", bad[i].hex, f.kind, f.reason,
                     bad[i].kind, bad[i].reason);
        assert_non_null(f.what);
    }
    /* every PDU type 8..15 is unknown, whatever follows */
    for (int t = 8; t < 16; t++) {
        uint8_t b[4] = {(uint8_t)(t << 4), 1, 2, 3};
        bacsc_apdu a;
        assert_int_equal(bacsc_apdu_decode(b, sizeof b, &a, NULL), BACSC_ERR_MALFORMED);
    }
}

static void encoder_arguments(void **state)
{
    (void)state;
    uint8_t out[16];
    bacsc_apdu a;
    bacsc_apdu_init_confirmed(&a, 12, 1, 6);
    assert_int_equal(bacsc_apdu_encode_header(out, sizeof out, &a), BACSC_ERR_INVALID_ARG);
    bacsc_apdu_init_confirmed(&a, 12, 1, 5);
    a.segmented = true;
    a.window_size = 0;
    assert_int_equal(bacsc_apdu_encode_header(out, sizeof out, &a), BACSC_ERR_INVALID_ARG);
    a.window_size = 1;
    assert_int_equal(bacsc_apdu_encode_header(out, sizeof out, &a), 6);
    assert_int_equal(bacsc_apdu_encode_header(out, 5, &a), BACSC_ERR_BUFFER_TOO_SMALL);
    bacsc_apdu_init_simple_ack(&a, 15, 1);
    a.data = out;
    a.data_len = 1;
    assert_int_equal(bacsc_apdu_encode(out, sizeof out, &a), BACSC_ERR_INVALID_ARG);
    a.type = 8;
    assert_int_equal(bacsc_apdu_encode_header(out, sizeof out, &a), BACSC_ERR_INVALID_ARG);
    bacsc_apdu_init_reject(&a, 4, BACSC_REJECT_INVALID_TAG);
    assert_int_equal(bacsc_apdu_encode(out, sizeof out, &a), 3);
    assert_memory_equal(out, "\x60\x04\x04", 3);
    bacsc_apdu_init_abort(&a, 4, BACSC_ABORT_OUT_OF_RESOURCES, false);
    assert_int_equal(bacsc_apdu_encode(out, sizeof out, &a), 3);
    assert_memory_equal(out, "\x70\x04\x09", 3);
    bacsc_apdu_init_error(&a, 12, 4);
    assert_int_equal(bacsc_apdu_encode(out, sizeof out, &a), 3);
    bacsc_apdu_init_unconfirmed(&a, 0);
    assert_int_equal(bacsc_apdu_encode(out, sizeof out, &a), 2);
    bacsc_apdu_init_complex_ack(&a, 12, 4);
    assert_int_equal(bacsc_apdu_encode(out, sizeof out, &a), 3);
}

static void roundtrip_random(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0003;
    uint8_t data[32], enc[64];
    for (int k = 0; k < 20000; k++) {
        bacsc_apdu a, back;
        memset(&a, 0, sizeof a);
        a.type = (uint8_t)bt_below(&seed, 8);
        a.invoke_id = (uint8_t)bt_rand(&seed);
        a.service = (uint8_t)bt_rand(&seed);
        a.reason = (uint8_t)bt_rand(&seed);
        bool has_data = false;
        switch (a.type) {
        case BACSC_PDU_CONFIRMED_REQUEST:
            a.segmented_response_accepted = bt_rand(&seed) & 1;
            a.max_segs = (uint8_t)bt_below(&seed, 8);
            a.max_apdu = (uint8_t)bt_below(&seed, 6);
            /* fall through */
        case BACSC_PDU_COMPLEX_ACK:
            a.segmented = bt_rand(&seed) & 1;
            a.more_follows = a.segmented && (bt_rand(&seed) & 1);
            if (a.segmented) {
                a.sequence_number = (uint8_t)bt_rand(&seed);
                a.window_size = (uint8_t)(1 + bt_below(&seed, 127));
            }
            has_data = true;
            break;
        case BACSC_PDU_SEGMENT_ACK:
            a.nak = bt_rand(&seed) & 1;
            a.server = bt_rand(&seed) & 1;
            a.sequence_number = (uint8_t)bt_rand(&seed);
            a.window_size = (uint8_t)(1 + bt_below(&seed, 127));
            break;
        case BACSC_PDU_ABORT:
            a.server = bt_rand(&seed) & 1;
            break;
        case BACSC_PDU_UNCONFIRMED_REQUEST:
        case BACSC_PDU_ERROR:
            has_data = true;
            break;
        }
        if (has_data) {
            a.data_len = bt_below(&seed, sizeof data);
            for (size_t i = 0; i < a.data_len; i++)
                data[i] = (uint8_t)bt_rand(&seed);
            a.data = data;
        }
        int n = bacsc_apdu_encode(enc, sizeof enc, &a);
        assert_true(n > 0);
        assert_int_equal(bacsc_apdu_encode(NULL, 0, &a), n);
        int h = bacsc_apdu_decode(enc, (size_t)n, &back, NULL);
        assert_int_equal(h, n - (int)a.data_len);
        uint8_t enc2[64];
        assert_int_equal(bacsc_apdu_encode(enc2, sizeof enc2, &back), n);
        assert_memory_equal(enc, enc2, (size_t)n);
        assert_int_equal(back.invoke_id,
                         a.type == BACSC_PDU_UNCONFIRMED_REQUEST ? 0 : a.invoke_id);
        /* every header truncation fails */
        for (int cut = 0; cut < h; cut++)
            assert_int_equal(bacsc_apdu_decode(enc, (size_t)cut, &back, NULL), BACSC_ERR_MALFORMED);
    }
}

static void sizes(void **state)
{
    (void)state;
    assert_int_equal(bacsc_max_apdu_octets(0), 50);
    assert_int_equal(bacsc_max_apdu_octets(5), 1476);
    assert_int_equal(bacsc_max_apdu_octets(6), 0);
    assert_int_equal(bacsc_max_apdu_code(1476), 5);
    assert_int_equal(bacsc_max_apdu_code(1497), 5);
    assert_int_equal(bacsc_max_apdu_code(480), 3);
    assert_int_equal(bacsc_max_apdu_code(479), 2);
    assert_int_equal(bacsc_max_segs_count(0), 0);
    assert_int_equal(bacsc_max_segs_count(1), 2);
    assert_int_equal(bacsc_max_segs_count(6), 64);
    assert_int_equal(bacsc_max_segs_count(7), 65);
}

static void names(void **state)
{
    (void)state;
    assert_string_equal(bacsc_pdu_type_name(BACSC_PDU_COMPLEX_ACK), "complex-ack");
    assert_null(bacsc_pdu_type_name(8));
    assert_string_equal(bacsc_confirmed_service_name(12), "read-property");
    assert_string_equal(bacsc_confirmed_service_name(20), "reinitialize-device");
    assert_string_equal(bacsc_confirmed_service_name(6), "atomic-read-file");
    assert_null(bacsc_confirmed_service_name(34));
    assert_string_equal(bacsc_unconfirmed_service_name(8), "who-is");
    assert_string_equal(bacsc_unconfirmed_service_name(0), "i-am");
    assert_string_equal(bacsc_object_type_name(2), "analog-value");
    assert_string_equal(bacsc_object_type_name(8), "device");
    assert_string_equal(bacsc_object_type_name(10), "file");
    assert_string_equal(bacsc_object_type_name(56), "network-port");
    assert_null(bacsc_object_type_name(200));
    assert_string_equal(bacsc_property_name(85), "present-value");
    assert_string_equal(bacsc_property_name(77), "object-name");
    assert_string_equal(bacsc_property_name(BACSC_PROP_DEVICE_UUID), "device-uuid");
    assert_string_equal(bacsc_property_name(509), "certificate-signing-request-file");
    assert_string_equal(bacsc_property_name(511), "issuer-certificate-files");
    assert_string_equal(bacsc_property_name(416), "changes-pending");
    assert_string_equal(bacsc_property_name(417), "command");
    assert_string_equal(bacsc_property_name(4194304), "max-bvlc-length-accepted");
    assert_string_equal(bacsc_property_name(4194306), "operational-certificate-file");
    assert_string_equal(bacsc_property_name(4194318), "sc-hub-connector-state");
    assert_string_equal(bacsc_property_name(4194327), "sc-minimum-reconnect-time");
    assert_null(bacsc_property_name(4194328));
    assert_null(bacsc_property_name(18));
    assert_null(bacsc_property_name(600));
    assert_string_equal(bacsc_error_class_name(2), "property");
    assert_string_equal(bacsc_error_class_name(7), "communication");
    assert_string_equal(bacsc_error_code_name(31), "unknown-object");
    assert_string_equal(bacsc_error_code_name(32), "unknown-property");
    assert_string_equal(bacsc_error_code_name(42), "invalid-array-index");
    assert_string_equal(bacsc_error_code_name(BACSC_EC_NODE_DUPLICATE_VMAC), "node-duplicate-vmac");
    assert_string_equal(bacsc_error_code_name(BACSC_EC_INVALID_DATA_ENCODING),
                        "invalid-data-encoding");
    assert_null(bacsc_error_code_name(33));
    assert_null(bacsc_error_code_name(300));
    assert_string_equal(bacsc_reject_reason_name(BACSC_REJECT_TOO_MANY_ARGUMENTS), "too-many-arguments");
    assert_string_equal(bacsc_abort_reason_name(BACSC_ABORT_APDU_TOO_LONG), "apdu-too-long");
    assert_string_equal(bacsc_segmentation_name(3), "no-segmentation");
    /* every SC property id from the reference sheet has a name */
    for (uint32_t p = 4194304; p <= 4194327; p++)
        assert_non_null(bacsc_property_name(p));
}

static void parsing(void **state)
{
    (void)state;
    uint16_t t, code;
    uint32_t p;
    uint8_t s;
    assert_int_equal(bacsc_object_type_parse("analog-value", &t), BACSC_OK);
    assert_int_equal(t, 2);
    assert_int_equal(bacsc_object_type_parse("Network_Port", &t), BACSC_OK);
    assert_int_equal(t, 56);
    assert_int_equal(bacsc_object_type_parse("DEVICE", &t), BACSC_OK);
    assert_int_equal(t, 8);
    assert_int_equal(bacsc_object_type_parse("1023", &t), BACSC_OK);
    assert_int_equal(t, 1023);
    assert_int_equal(bacsc_object_type_parse("1024", &t), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_object_type_parse("analog", &t), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_object_type_parse("", &t), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_property_parse("present-value", &p), BACSC_OK);
    assert_int_equal(p, 85);
    assert_int_equal(bacsc_property_parse("Object_Name", &p), BACSC_OK);
    assert_int_equal(p, 77);
    assert_int_equal(bacsc_property_parse("sc-primary-hub-uri", &p), BACSC_OK);
    assert_int_equal(p, 4194325);
    assert_int_equal(bacsc_property_parse("85", &p), BACSC_OK);
    assert_int_equal(p, 85);
    assert_int_equal(bacsc_property_parse("4194304", &p), BACSC_OK);
    assert_int_equal(p, 4194304);
    assert_int_equal(bacsc_property_parse("16777215", &p), BACSC_OK);
    assert_int_equal(bacsc_property_parse("16777216", &p), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_property_parse("99999999999999999999", &p), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_property_parse("85x", &p), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_property_parse("-1", &p), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_property_parse(NULL, &p), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_confirmed_service_parse("read-property-multiple", &s), BACSC_OK);
    assert_int_equal(s, 14);
    assert_int_equal(bacsc_error_code_parse("unknown-object", &code), BACSC_OK);
    assert_int_equal(code, 31);
    assert_int_equal(bacsc_error_code_parse("65535", &code), BACSC_OK);
    assert_int_equal(bacsc_error_class_parse("Security", &code), BACSC_OK);
    assert_int_equal(code, 4);
    /* name -> number -> name is the identity for every known property */
    for (uint32_t i = 0; i < 512; i++) {
        const char *n = bacsc_property_name(i);
        if (!n)
            continue;
        assert_int_equal(bacsc_property_parse(n, &p), BACSC_OK);
        assert_int_equal(p, i);
    }
    for (uint32_t i = 0; i < 1024; i++) {
        const char *n = bacsc_object_type_name(i);
        if (!n)
            continue;
        assert_int_equal(bacsc_object_type_parse(n, &t), BACSC_OK);
        assert_int_equal(t, i);
    }
    for (uint32_t i = 0; i <= BACSC_ERROR_CODE_LAST_KNOWN; i++) {
        const char *n = bacsc_error_code_name(i);
        if (!n)
            continue;
        assert_int_equal(bacsc_error_code_parse(n, &code), BACSC_OK);
        assert_int_equal(code, i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pdu_type),
        cmocka_unit_test(malformed),
        cmocka_unit_test(encoder_arguments),
        cmocka_unit_test(roundtrip_random),
        cmocka_unit_test(sizes),
        cmocka_unit_test(names),
        cmocka_unit_test(parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
