/* test_npdu.c — NPDU header codec: known frames, routed and network-layer
 * forms, every truncation and reserved-bit case, random round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "support_bacnet.h"

static void shared_vector_read_property(void **state)
{
    (void)state;
    /* shared/vectors (independent implementation): ReadProperty device,1001 object-name, expecting reply */
    uint8_t b[32];
    size_t n = bt_hex("01040005010c0c020003e9194d", b, sizeof b);
    bacsc_npdu npdu;
    assert_int_equal(bacsc_npdu_decode(b, n, &npdu), 2);
    assert_true(npdu.expecting_reply);
    assert_false(npdu.network_msg);
    assert_false(npdu.has_dnet);
    assert_false(npdu.has_snet);
    assert_int_equal(npdu.priority, 0);
    assert_ptr_equal(npdu.payload, b + 2);
    assert_int_equal(npdu.payload_len, n - 2);
    uint8_t out[32];
    assert_int_equal(bacsc_npdu_encode(out, sizeof out, &npdu), (int)n);
    assert_memory_equal(out, b, n);
}

static void routed_and_network_messages(void **state)
{
    (void)state;
    uint8_t b[64], out[64];
    /* global broadcast Who-Is: DNET 0xFFFF, DLEN 0, hop count 255 */
    size_t n = bt_hex("0120ffff00ff1008", b, sizeof b);
    bacsc_npdu npdu;
    assert_int_equal(bacsc_npdu_decode(b, n, &npdu), 6);
    assert_true(npdu.has_dnet);
    assert_int_equal(npdu.dnet, BACSC_NPDU_GLOBAL_BROADCAST);
    assert_int_equal(npdu.dlen, 0);
    assert_int_equal(npdu.hop_count, 255);
    assert_int_equal(npdu.payload_len, 2);
    assert_int_equal(bacsc_npdu_encode(out, sizeof out, &npdu), (int)n);
    assert_memory_equal(out, b, n);
    /* DNET 5 / 6-octet DADR, SNET 7 / 1-octet SADR, hop 254, priority life-safety */
    n = bt_hex("012b 0005 06 aabbccddeeff 0007 01 33 fe 300112", b, sizeof b);
    assert_int_equal(bacsc_npdu_decode(b, n, &npdu), 16);
    assert_int_equal(npdu.dnet, 5);
    assert_int_equal(npdu.dlen, 6);
    assert_memory_equal(npdu.dadr, "\xaa\xbb\xcc\xdd\xee\xff", 6);
    assert_int_equal(npdu.snet, 7);
    assert_int_equal(npdu.slen, 1);
    assert_int_equal(npdu.sadr[0], 0x33);
    assert_int_equal(npdu.hop_count, 254);
    assert_int_equal(npdu.priority, BACSC_PRIO_LIFE_SAFETY);
    assert_int_equal(bacsc_npdu_encode(out, sizeof out, &npdu), (int)n);
    assert_memory_equal(out, b, n);
    /* Who-Is-Router-To-Network, then a proprietary message with vendor id */
    n = bt_hex("018000", b, sizeof b);
    assert_int_equal(bacsc_npdu_decode(b, n, &npdu), 3);
    assert_true(npdu.network_msg);
    assert_int_equal(npdu.msg_type, BACSC_NMSG_WHO_IS_ROUTER_TO_NETWORK);
    assert_int_equal(npdu.payload_len, 0);
    n = bt_hex("0180 85 0104 dead", b, sizeof b);
    assert_int_equal(bacsc_npdu_decode(b, n, &npdu), 5);
    assert_int_equal(npdu.msg_type, 0x85);
    assert_int_equal(npdu.vendor_id, 0x0104);
    assert_int_equal(npdu.payload_len, 2);
    assert_int_equal(bacsc_npdu_encode(out, sizeof out, &npdu), (int)n);
    assert_memory_equal(out, b, n);
    assert_string_equal(bacsc_network_msg_name(0x13), "Network-Number-Is");
    assert_null(bacsc_network_msg_name(0x14));
}

static void malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                 /* empty */
        "01",               /* no control octet */
        "0204",             /* version 2 */
        "0044",             /* version 0 */
        "0144",             /* reserved bit 6 */
        "0114",             /* reserved bit 4 */
        "0120",             /* DNET truncated */
        "0120ff",           /* DNET truncated */
        "0120ffff",         /* DLEN missing */
        "0120ffff02aa",     /* DADR truncated */
        "0120ffff00",       /* hop count missing */
        "0120000000ff",     /* DNET 0 */
        "0108",             /* SNET missing */
        "0108000501",       /* SADR missing */
        "010800050033",     /* SLEN 0 */
        "0108ffff0133",     /* SNET 0xFFFF */
        "0108000001 33",    /* SNET 0 */
        "0180",             /* message type missing */
        "018080",           /* vendor id missing */
        "01808001",         /* vendor id truncated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[32];
        size_t n = bt_hex(bad[i], b, sizeof b);
        bacsc_npdu npdu;
        if (bacsc_npdu_decode(b, n, &npdu) != BACSC_ERR_MALFORMED)
            fail_msg("accepted malformed NPDU %s", bad[i]);
    }
    /* every truncation of a full routed network-message header is rejected */
    uint8_t full[64];
    size_t n = bt_hex("01a8 0005 06 aabbccddeeff 0007 02 3344 fe 85 0104", full, sizeof full);
    bacsc_npdu npdu;
    assert_int_equal(bacsc_npdu_decode(full, n, &npdu), (int)n);
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(bacsc_npdu_decode(full, cut, &npdu), BACSC_ERR_MALFORMED);
}

static void encoder_arguments(void **state)
{
    (void)state;
    uint8_t out[32];
    bacsc_npdu n;
    bacsc_npdu_init(&n, true);
    assert_int_equal(n.hop_count, 255);
    assert_int_equal(bacsc_npdu_encode_header(NULL, 0, &n), 2);
    assert_int_equal(bacsc_npdu_encode_header(out, 1, &n), BACSC_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(bacsc_npdu_control(&n), 0x04);
    n.priority = 4;
    assert_int_equal(bacsc_npdu_encode_header(out, sizeof out, &n), BACSC_ERR_INVALID_ARG);
    n.priority = 0;
    n.has_snet = true;
    n.snet = 0xFFFF;
    n.slen = 1;
    n.sadr = out;
    assert_int_equal(bacsc_npdu_encode_header(out, sizeof out, &n), BACSC_ERR_INVALID_ARG);
    n.snet = 1;
    n.slen = 0;
    assert_int_equal(bacsc_npdu_encode_header(out, sizeof out, &n), BACSC_ERR_INVALID_ARG);
    n.has_snet = false;
    n.has_dnet = true;
    n.dnet = 0;
    assert_int_equal(bacsc_npdu_encode_header(out, sizeof out, &n), BACSC_ERR_INVALID_ARG);
    n.dnet = 1;
    n.dlen = 3;
    n.dadr = NULL;
    assert_int_equal(bacsc_npdu_encode_header(out, sizeof out, &n), BACSC_ERR_INVALID_ARG);
    bacsc_npdu_init(&n, false);
    n.payload_len = 3;
    assert_int_equal(bacsc_npdu_encode(out, sizeof out, &n), BACSC_ERR_INVALID_ARG);
}

static void roundtrip_random(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0002;
    uint8_t addr[2][255], payload[64], enc[700];
    for (int k = 0; k < 10000; k++) {
        bacsc_npdu n, back;
        bacsc_npdu_init(&n, bt_rand(&seed) & 1);
        n.priority = (uint8_t)bt_below(&seed, 4);
        if (bt_rand(&seed) & 1) {
            n.has_dnet = true;
            n.dnet = (uint16_t)(1 + bt_below(&seed, 0xFFFF));
            n.dlen = (uint8_t)bt_below(&seed, 256);
            for (int i = 0; i < n.dlen; i++)
                addr[0][i] = (uint8_t)bt_rand(&seed);
            n.dadr = n.dlen ? addr[0] : NULL;
            n.hop_count = (uint8_t)bt_rand(&seed);
        }
        if (bt_rand(&seed) & 1) {
            n.has_snet = true;
            n.snet = (uint16_t)(1 + bt_below(&seed, 0xFFFE));
            n.slen = (uint8_t)(1 + bt_below(&seed, 255));
            for (int i = 0; i < n.slen; i++)
                addr[1][i] = (uint8_t)bt_rand(&seed);
            n.sadr = addr[1];
        }
        if (bt_rand(&seed) & 1) {
            n.network_msg = true;
            n.msg_type = (uint8_t)bt_rand(&seed);
            n.vendor_id = n.msg_type >= 0x80 ? (uint16_t)bt_rand(&seed) : 0;
        }
        n.payload_len = bt_below(&seed, sizeof payload);
        for (size_t i = 0; i < n.payload_len; i++)
            payload[i] = (uint8_t)bt_rand(&seed);
        n.payload = payload;
        int len = bacsc_npdu_encode(enc, sizeof enc, &n);
        assert_true(len > 0);
        assert_int_equal(bacsc_npdu_encode(NULL, 0, &n), len);
        assert_int_equal(bacsc_npdu_encode(enc, (size_t)len - 1, &n), BACSC_ERR_BUFFER_TOO_SMALL);
        int h = bacsc_npdu_decode(enc, (size_t)len, &back);
        assert_int_equal(h, len - (int)n.payload_len);
        assert_int_equal(back.network_msg, n.network_msg);
        assert_int_equal(back.expecting_reply, n.expecting_reply);
        assert_int_equal(back.priority, n.priority);
        assert_int_equal(back.has_dnet, n.has_dnet);
        if (n.has_dnet) {
            assert_int_equal(back.dnet, n.dnet);
            assert_int_equal(back.dlen, n.dlen);
            if (n.dlen)
                assert_memory_equal(back.dadr, n.dadr, n.dlen);
            assert_int_equal(back.hop_count, n.hop_count);
        }
        assert_int_equal(back.has_snet, n.has_snet);
        if (n.has_snet) {
            assert_int_equal(back.snet, n.snet);
            assert_int_equal(back.slen, n.slen);
            assert_memory_equal(back.sadr, n.sadr, n.slen);
        }
        if (n.network_msg) {
            assert_int_equal(back.msg_type, n.msg_type);
            assert_int_equal(back.vendor_id, n.vendor_id);
        }
        assert_int_equal(back.payload_len, n.payload_len);
        if (n.payload_len)
            assert_memory_equal(back.payload, payload, n.payload_len);
        /* header truncations fail */
        assert_int_equal(bacsc_npdu_decode(enc, bt_below(&seed, (uint32_t)h), &back),
                         BACSC_ERR_MALFORMED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_vector_read_property),
        cmocka_unit_test(routed_and_network_messages),
        cmocka_unit_test(malformed),
        cmocka_unit_test(encoder_arguments),
        cmocka_unit_test(roundtrip_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
