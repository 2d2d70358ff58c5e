/* test_bip.c — BACnet/IP BVLL codec: every function both ways, malformed
 * datagrams, random round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/bip.h"
#include "bacsc/error.h"
#include "support_bacnet.h"

static void roundtrip_hex(const char *hex, uint8_t function)
{
    uint8_t b[128], out[128];
    size_t n = bt_hex(hex, b, sizeof b);
    bacsc_bip_msg m;
    assert_int_equal(bacsc_bip_decode(b, n, &m), (int)n);
    assert_int_equal(m.function, function);
    assert_int_equal(bacsc_bip_encode(NULL, 0, &m), (int)n);
    assert_int_equal(bacsc_bip_encode(out, sizeof out, &m), (int)n);
    assert_memory_equal(out, b, n);
    assert_non_null(bacsc_bip_function_name(function));
}

static void every_function(void **state)
{
    (void)state;
    uint8_t b[64];
    bacsc_bip_msg m;
    /* Original-Unicast-NPDU carrying the shared ReadProperty vector */
    size_t n = bt_hex("810a0011 01040005010c0c020003e9194d", b, sizeof b);
    assert_int_equal(bacsc_bip_decode(b, n, &m), (int)n);
    assert_int_equal(m.function, BACSC_BIP_ORIGINAL_UNICAST);
    assert_int_equal(m.payload_len, 13);
    assert_ptr_equal(m.payload, b + 4);
    roundtrip_hex("810a0011 01040005010c0c020003e9194d", BACSC_BIP_ORIGINAL_UNICAST);
    roundtrip_hex("810b000c 0120ffff00ff1008", BACSC_BIP_ORIGINAL_BROADCAST);
    roundtrip_hex("81090008 01001008", BACSC_BIP_DISTRIBUTE_BROADCAST);
    roundtrip_hex("81000006 0000", BACSC_BIP_RESULT);
    roundtrip_hex("81000006 0030", BACSC_BIP_RESULT);
    roundtrip_hex("81050006 003c", BACSC_BIP_REGISTER_FOREIGN_DEVICE);
    roundtrip_hex("8108000a c0a80001bac0", BACSC_BIP_DELETE_FDT_ENTRY);
    roundtrip_hex("81020004", BACSC_BIP_READ_BDT);
    roundtrip_hex("81060004", BACSC_BIP_READ_FDT);
    roundtrip_hex("8101000e c0a80001bac0ffffff00", BACSC_BIP_WRITE_BDT);
    roundtrip_hex("81030004", BACSC_BIP_READ_BDT_ACK);
    roundtrip_hex("8107000e c0a80002bac0003c0010", BACSC_BIP_READ_FDT_ACK);
    roundtrip_hex("810c0006 abcd", BACSC_BIP_SECURE_BVLL);
    /* Forwarded-NPDU from 192.168.0.1:47808 */
    n = bt_hex("81040012 c0a80001bac0 0120ffff00ff1008", b, sizeof b);
    assert_int_equal(bacsc_bip_decode(b, n, &m), (int)n);
    assert_memory_equal(m.addr.ip, "\xc0\xa8\x00\x01", 4);
    assert_int_equal(m.addr.port, 47808);
    assert_int_equal(m.payload_len, 8);
    roundtrip_hex("81040012 c0a80001bac0 0120ffff00ff1008", BACSC_BIP_FORWARDED_NPDU);
    /* Result name */
    assert_string_equal(bacsc_bip_result_name(0), "Successful completion");
    assert_string_equal(bacsc_bip_result_name(0x30), "Register-Foreign-Device NAK");
    assert_null(bacsc_bip_result_name(0x70));
    assert_null(bacsc_bip_function_name(0x0d));
}

static void malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "810a00",               /* short header */
        "820a0006 0100",        /* type 0x82 (BACnet/IPv6) */
        "810a0003",             /* length below 4 */
        "810a0004",             /* empty NPDU */
        "810a0007 0100",        /* length longer than datagram */
        "810a0005 010010",      /* length shorter than datagram */
        "810d0004",             /* unknown function 0x0D */
        "81ff0004",             /* unknown function 0xFF */
        "81000005 00",          /* Result of 1 octet */
        "81000007 000000",      /* Result of 3 octets */
        "81050004",             /* Register-FD without TTL */
        "81080009 c0a8000100",  /* Delete-FDT-Entry of 5 octets */
        "81020005 00",          /* Read-BDT with data */
        "8101000d c0a80001bac0ffffff",  /* BDT entry of 9 octets */
        "8104000a c0a80001bac0",        /* Forwarded-NPDU without NPDU */
        "81040009 c0a80001ba",          /* Forwarded-NPDU short address */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[64];
        size_t n = bt_hex(bad[i], b, sizeof b);
        bacsc_bip_msg m;
        if (bacsc_bip_decode(b, n, &m) != BACSC_ERR_MALFORMED)
            fail_msg("accepted malformed BVLL %s", bad[i]);
    }
    uint8_t out[16];
    bacsc_bip_msg m = {.function = 0x0d};
    assert_int_equal(bacsc_bip_encode(out, sizeof out, &m), BACSC_ERR_INVALID_ARG);
    m = (bacsc_bip_msg){.function = BACSC_BIP_ORIGINAL_UNICAST};
    assert_int_equal(bacsc_bip_encode(out, sizeof out, &m), BACSC_ERR_INVALID_ARG);
    m.payload = out;
    m.payload_len = 0xFFFC;
    assert_int_equal(bacsc_bip_encode(NULL, 0, &m), BACSC_ERR_INVALID_ARG);
    m.payload_len = 13;
    assert_int_equal(bacsc_bip_encode(out, sizeof out, &m), BACSC_ERR_BUFFER_TOO_SMALL);
    m = (bacsc_bip_msg){.function = BACSC_BIP_WRITE_BDT, .payload = out, .payload_len = 9};
    assert_int_equal(bacsc_bip_encode(out, sizeof out, &m), BACSC_ERR_INVALID_ARG);
}

static void npdu_wrapper_in_place(void **state)
{
    (void)state;
    /* an NPDU already sitting 4 octets into the buffer is wrapped in place */
    uint8_t buf[32];
    size_t n = bt_hex("00000000 01040005010c0c020003e9194d", buf, sizeof buf);
    assert_int_equal(bacsc_bip_encode_npdu(buf, sizeof buf, false, buf + 4, n - 4), (int)n);
    assert_memory_equal(buf, "\x81\x0a\x00\x11\x01\x04", 6);
    assert_int_equal(bacsc_bip_encode_npdu(buf, sizeof buf, true, buf + 4, n - 4), (int)n);
    assert_int_equal(buf[1], 0x0b);
}

static void roundtrip_random(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0005;
    static const uint8_t fns[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint8_t payload[200], enc[300];
    for (int k = 0; k < 10000; k++) {
        bacsc_bip_msg m = {0}, b;
        m.function = fns[bt_below(&seed, sizeof fns)];
        m.result = (uint16_t)bt_rand(&seed);
        m.ttl = (uint16_t)bt_rand(&seed);
        for (int i = 0; i < 4; i++)
            m.addr.ip[i] = (uint8_t)bt_rand(&seed);
        m.addr.port = (uint16_t)bt_rand(&seed);
        size_t len = 1 + bt_below(&seed, sizeof payload - 1);
        if (m.function == 1 || m.function == 3 || m.function == 7)
            len = 10 * bt_below(&seed, 20);
        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)bt_rand(&seed);
        m.payload = payload;
        m.payload_len = len;
        int n = bacsc_bip_encode(enc, sizeof enc, &m);
        assert_true(n >= 4);
        assert_int_equal(bacsc_bip_decode(enc, (size_t)n, &b), n);
        assert_int_equal(b.function, m.function);
        uint8_t enc2[300];
        assert_int_equal(bacsc_bip_encode(enc2, sizeof enc2, &b), n);
        assert_memory_equal(enc, enc2, (size_t)n);
        /* every other length is refused */
        assert_int_equal(bacsc_bip_decode(enc, (size_t)n - 1, &b), BACSC_ERR_MALFORMED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_function),
        cmocka_unit_test(malformed),
        cmocka_unit_test(npdu_wrapper_in_place),
        cmocka_unit_test(roundtrip_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
