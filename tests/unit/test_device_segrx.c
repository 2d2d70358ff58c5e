/*
 * test_device_segrx.c — segmented confirmed requests received by the device
 * server (clause 5.4.5.2), on simulated time over the in-memory datalink:
 * Segment-ACKs (SRV set) for the first segment, each full window and the
 * last; duplicate and out-of-order segments dropped and NAKed; the request
 * carried out once whole; the segment timer (4 x APDU_Segment_Timeout)
 * dropping a stalled request; the client's Abort; the limits (64 segments →
 * Abort buffer-overflow, 8 requests at once → out-of-resources, no
 * segmentation → segmentation-not-supported); Segmentation_Supported and
 * Max_Segments_Accepted claim what is done. And the client side: a request
 * larger than the device's Max_APDU goes out in segments (each within it)
 * when the device's I-Am says it takes them, windows after Segment-ACKs, a
 * lost segment resent on the segment timer.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bacsc/client.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/services.h"
#include "support_bacnet.h"
#include "support_fake_datalink.h"
#include "support_fixture.h"

#define INSTANCE 1001
#define SEG_TIMEOUT_US 2000000ull

typedef struct fx {
    fdl_net net;
    fdl_node *dn, *cn;
    bacsc_device *dev;
    bacsc_client *cl;
    uint64_t now;
    uint8_t body[8192];           /* the request being segmented */
    size_t body_len;
} fx;

static uint8_t file_data[8192];
static size_t file_len;

static int f_size(void *u, uint32_t i, uint64_t *sz)
{
    (void)u;
    (void)i;
    *sz = file_len;
    return 0;
}

static int f_read(void *u, uint32_t i, uint64_t off, size_t count, uint8_t *buf, size_t *n,
                  bool *eof)
{
    (void)u;
    (void)i;
    size_t avail = off < file_len ? file_len - (size_t)off : 0;
    *n = count < avail ? count : avail;
    memcpy(buf, file_data + off, *n);
    *eof = off + *n >= file_len;
    return 0;
}

static int f_write(void *u, uint32_t i, uint64_t off, const uint8_t *d, size_t len)
{
    (void)u;
    (void)i;
    if (off + len > sizeof file_data)
        return BACSC_ERR_LIMIT;
    memcpy(file_data + off, d, len);
    if (off + len > file_len)
        file_len = (size_t)(off + len);
    return 0;
}

static int f_set_size(void *u, uint32_t i, uint64_t sz)
{
    (void)u;
    (void)i;
    file_len = (size_t)sz;
    return 0;
}

static fx *fx_new_max(bool no_segmentation, unsigned max_apdu)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fdl_init(&f->net);
    f->dn = fdl_add_node(&f->net, 1);
    f->cn = fdl_add_node(&f->net, 2);
    bacsc_device_config dc = {.instance = INSTANCE, .name = "segrx",
                              .no_segmentation = no_segmentation, .max_apdu = max_apdu};
    f->dev = fdl_host_device(f->dn, &dc);
    bacsc_file_ops ops = {f_size, f_read, f_write, f_set_size, NULL, NULL};
    file_len = 0;
    assert_int_equal(bacsc_device_add_file(f->dev, 0, "f0", "text/plain", false, true, &ops, NULL),
                     BACSC_OK);
    bacsc_client_config cc = {0};
    f->cl = fdl_host_client(f->cn, &cc);
    f->now = 1000;
    return f;
}

static fx *fx_new(bool no_segmentation)
{
    return fx_new_max(no_segmentation, 0);
}

static void fx_free(fx *f)
{
    fdl_free_hosted(&f->net);
    free(f);
}

FIXTURE_SETUP(setup, fx_new(false))
FIXTURE_SETUP(setup_small, fx_new_max(false, 206))
FIXTURE_SETUP(setup_noseg, fx_new(true))
FIXTURE_TEARDOWN(teardown, fx_free)

/* A WriteProperty of the Device's Description, `n` characters, into f->body. */
static void wp_description(fx *f, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    uint8_t val[8192];
    int m = bacsc_app_encode_char_string(val, sizeof val, s, n);
    assert_true(m > 0);
    bacsc_wp_request wp = {{BACSC_OBJ_DEVICE, INSTANCE}, BACSC_PROP_DESCRIPTION, false, 0,
                           val, (size_t)m, false, 0};
    int len = bacsc_wp_request_encode(f->body, sizeof f->body, &wp);
    assert_true(len > 0);
    f->body_len = (size_t)len;
    free(s);
}

/* Send segment `seq` (of `seg_len` octets of f->body) of request `invoke`. */
static void send_seg(fx *f, uint8_t invoke, uint32_t seq, size_t seg_len, uint8_t window)
{
    size_t off = seq * seg_len;
    size_t n = f->body_len - off < seg_len ? f->body_len - off : seg_len;
    bool more = off + n < f->body_len;
    uint8_t apdu[1600] = {(uint8_t)(0x08 | (more ? 0x04 : 0) | 0x02), 0x75, invoke, (uint8_t)seq,
                          window, BACSC_SERVICE_WRITE_PROPERTY};
    memcpy(apdu + 6, f->body + off, n);
    fdl_apdu_to(f->cn, f->dn, apdu, 6 + n, f->now);
}

static void expect_segack(fx *f, uint8_t invoke, uint8_t seq, bool nak, uint8_t window)
{
    bacsc_apdu a;
    fdl_frame fr;
    assert_true(fdl_next_apdu(&f->net, &fr, &a));
    assert_int_equal(a.type, BACSC_PDU_SEGMENT_ACK);
    assert_true(a.server);
    assert_int_equal(a.invoke_id, invoke);
    assert_int_equal(a.sequence_number, seq);
    assert_int_equal(a.nak, nak);
    assert_int_equal(a.window_size, window);
}

static void expect_type(fx *f, uint8_t invoke, uint8_t type)
{
    bacsc_apdu a;
    fdl_frame fr;
    assert_true(fdl_next_apdu(&f->net, &fr, &a));
    assert_int_equal(a.type, type);
    assert_int_equal(a.invoke_id, invoke);
}

static void expect_abort(fx *f, uint8_t invoke, uint8_t reason)
{
    bacsc_apdu a;
    fdl_frame fr;
    assert_true(fdl_next_apdu(&f->net, &fr, &a));
    assert_int_equal(a.type, BACSC_PDU_ABORT);
    assert_true(a.server);
    assert_int_equal(a.invoke_id, invoke);
    assert_int_equal(a.reason, reason);
}

static void expect_silence(fx *f)
{
    assert_int_equal(fdl_queued(&f->net), 0);
}

/* The Device's Description, read back with the client. */
static size_t description_len(fx *f, char first)
{
    bt_result res;
    memset(&res, 0, sizeof res);
    bacsc_rp_request rp = {{BACSC_OBJ_DEVICE, INSTANCE}, BACSC_PROP_DESCRIPTION, false, 0};
    bacsc_address a = fdl_addr(f->dn);
    assert_true(bacsc_client_read_property(f->cl, &a, &rp, bt_on_done, &res, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(res.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_rp_ack ack;
    assert_true(bacsc_rp_ack_decode(res.ack, res.ack_len, &ack, NULL) > 0);
    bacsc_value v;
    assert_true(bacsc_value_decode(ack.value, ack.value_len, &v) > 0);
    assert_int_equal(v.type, BACSC_TAG_CHARACTER_STRING);
    if (v.v.chars.len)
        assert_int_equal(v.v.chars.data[0], first);
    for (size_t i = 0; i < v.v.chars.len; i++)
        assert_int_equal(v.v.chars.data[i], 'a' + i % 26);   /* nothing twice, nothing lost */
    return v.v.chars.len;
}

/* Four segments, window 2: ACK for 0, 2 (window full) and 3 (last), then
 * the SimpleACK; the write took effect. */
static void test_window_and_acks(void **state)
{
    fx *f = *state;
    wp_description(f, 100);                 /* ~112 octets: 4 segments of 30 */
    send_seg(f, 7, 0, 30, 2);
    expect_segack(f, 7, 0, false, 2);
    send_seg(f, 7, 1, 30, 2);
    expect_silence(f);
    send_seg(f, 7, 2, 30, 2);
    expect_segack(f, 7, 2, false, 2);
    send_seg(f, 7, 3, 30, 2);
    expect_segack(f, 7, 3, false, 2);
    expect_type(f, 7, BACSC_PDU_SIMPLE_ACK);
    expect_silence(f);
    assert_int_equal(description_len(f, 'a'), 100);
    /* the device's proposal caps the window: ours is 16 */
    send_seg(f, 8, 0, 30, 100);
    expect_segack(f, 8, 0, false, 16);
}

/* A duplicate and a segment ahead of its turn are dropped and NAKed with
 * the last good one; the request is then completed once, intact. */
static void test_duplicate_and_out_of_order(void **state)
{
    fx *f = *state;
    wp_description(f, 100);
    send_seg(f, 9, 0, 30, 2);
    expect_segack(f, 9, 0, false, 2);
    send_seg(f, 9, 0, 30, 2);               /* the first again (our ACK was lost) */
    expect_segack(f, 9, 0, true, 2);
    send_seg(f, 9, 1, 30, 2);
    expect_silence(f);
    send_seg(f, 9, 1, 30, 2);               /* duplicate */
    expect_segack(f, 9, 1, true, 2);
    send_seg(f, 9, 3, 30, 2);               /* 2 lost */
    expect_segack(f, 9, 1, true, 2);
    send_seg(f, 9, 2, 30, 2);
    expect_segack(f, 9, 2, false, 2);
    send_seg(f, 9, 3, 30, 2);
    expect_segack(f, 9, 3, false, 2);
    expect_type(f, 9, BACSC_PDU_SIMPLE_ACK);
    assert_int_equal(description_len(f, 'a'), 100);
    send_seg(f, 9, 3, 30, 2);               /* after the end: a stray segment, dropped */
    expect_silence(f);
}

/* Segments stop: after 4 x APDU_Segment_Timeout the request is dropped
 * silently; a later segment finds nothing and is dropped. */
static void test_segment_timeout(void **state)
{
    fx *f = *state;
    wp_description(f, 100);
    send_seg(f, 11, 0, 30, 4);
    expect_segack(f, 11, 0, false, 4);
    send_seg(f, 11, 1, 30, 4);
    assert_int_equal(bacsc_device_expiry(f->dev), f->now + 4 * SEG_TIMEOUT_US);
    f->now += 4 * SEG_TIMEOUT_US - 1;
    bacsc_device_handle_expiry(f->dev, f->now);
    send_seg(f, 11, 2, 30, 4);              /* still alive: taken */
    expect_silence(f);
    f->now += 4 * SEG_TIMEOUT_US;
    bacsc_device_handle_expiry(f->dev, f->now);
    assert_int_equal(bacsc_device_expiry(f->dev), UINT64_MAX);
    send_seg(f, 11, 3, 30, 4);
    expect_silence(f);
    assert_int_equal(description_len(f, 'a'), 0);   /* never written */
}

/* The client's Abort ends the request being received. */
static void test_client_abort(void **state)
{
    fx *f = *state;
    wp_description(f, 100);
    send_seg(f, 12, 0, 30, 4);
    expect_segack(f, 12, 0, false, 4);
    uint8_t ab[] = {0x70, 12, 0};
    assert_int_equal(fdl_apdu_to(f->cn, f->dn, ab, sizeof ab, f->now), BACSC_OK);
    assert_int_equal(bacsc_device_expiry(f->dev), UINT64_MAX);
    send_seg(f, 12, 1, 30, 4);
    expect_silence(f);
}

/* More than Max_Segments_Accepted (64) segments: Abort buffer-overflow. */
static void test_too_many_segments(void **state)
{
    fx *f = *state;
    wp_description(f, 120);                 /* ~132 octets: 66 segments of 2 */
    for (uint32_t i = 0; i < 64; i++) {
        send_seg(f, 13, i, 2, 127);
        fdl_frame fr;
        while (fdl_take(&f->net, &fr)) {
            bacsc_apdu a;
            fdl_frame_apdu(&fr, &a);
            assert_int_equal(a.type, BACSC_PDU_SEGMENT_ACK);
        }
    }
    send_seg(f, 13, 64, 2, 127);
    expect_abort(f, 13, BACSC_ABORT_BUFFER_OVERFLOW);
    expect_silence(f);
    assert_int_equal(bacsc_device_expiry(f->dev), UINT64_MAX);
    assert_int_equal(description_len(f, 'a'), 0);
}

/* A request larger than one APDU is reassembled and answered by the service
 * itself (here: a Description too long → an Error, not an Abort). */
static void test_large_request_reaches_the_service(void **state)
{
    fx *f = *state;
    wp_description(f, 3000);
    uint32_t segs = (uint32_t)((f->body_len + 1399) / 1400);
    assert_int_equal(segs, 3);
    for (uint32_t i = 0; i < segs; i++) {
        send_seg(f, 14, i, 1400, 16);
        if (i == 0 || i == segs - 1)
            expect_segack(f, 14, (uint8_t)i, false, 16);
    }
    bacsc_apdu a;
    fdl_frame fr;
    assert_true(fdl_next_apdu(&f->net, &fr, &a));
    assert_int_equal(a.type, BACSC_PDU_ERROR);
    assert_int_equal(a.invoke_id, 14);
    assert_int_equal(a.service, BACSC_SERVICE_WRITE_PROPERTY);
}

/* Eight requests under way at once; a ninth: Abort out-of-resources. Other
 * requests are still served meanwhile. */
static void test_busy(void **state)
{
    fx *f = *state;
    wp_description(f, 100);
    for (uint8_t id = 20; id < 28; id++) {
        send_seg(f, id, 0, 30, 4);
        expect_segack(f, id, 0, false, 4);
    }
    send_seg(f, 28, 0, 30, 4);
    expect_abort(f, 28, BACSC_ABORT_OUT_OF_RESOURCES);
    assert_int_equal(description_len(f, 'a'), 0);
    for (uint32_t s = 1; s < 4; s++)
        send_seg(f, 20, s, 30, 4);
    expect_segack(f, 20, 3, false, 4);
    expect_type(f, 20, BACSC_PDU_SIMPLE_ACK);
}

/* What the Device object and I-Am claim. */
static void test_claims(void **state)
{
    fx *f = *state;
    bt_result res;
    memset(&res, 0, sizeof res);
    bacsc_rp_request rp = {{BACSC_OBJ_DEVICE, INSTANCE}, BACSC_PROP_MAX_SEGMENTS_ACCEPTED, false,
                           0};
    bacsc_address a = fdl_addr(f->dn);
    assert_true(bacsc_client_read_property(f->cl, &a, &rp, bt_on_done, &res, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    bacsc_rp_ack ack;
    bacsc_value v;
    assert_true(bacsc_rp_ack_decode(res.ack, res.ack_len, &ack, NULL) > 0);
    assert_true(bacsc_value_decode(ack.value, ack.value_len, &v) > 0);
    assert_int_equal(v.v.unsigned_, 64);
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    const bacsc_client_device *d = bacsc_client_find_device(f->cl, INSTANCE);
    assert_non_null(d);
    assert_int_equal(d->segmentation, BACSC_SEGMENTATION_BOTH);
}

/* Segmentation off: a segmented request is aborted, nothing claimed. */
static void test_no_segmentation(void **state)
{
    fx *f = *state;
    wp_description(f, 100);
    send_seg(f, 30, 0, 30, 4);
    expect_abort(f, 30, BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED);
    expect_silence(f);
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    const bacsc_client_device *d = bacsc_client_find_device(f->cl, INSTANCE);
    assert_non_null(d);
    assert_int_equal(d->segmentation, BACSC_SEGMENTATION_NONE);
}

/* Deliver every queued frame by hand, checking what the client sends:
 * nothing larger than `max_apdu`; counts its request segments. */
static void pump_checked(fx *f, size_t max_apdu, unsigned *segments)
{
    fdl_frame fr;
    while (fdl_take(&f->net, &fr)) {
        bacsc_apdu a;
        fdl_frame_apdu(&fr, &a);
        if (fr.src.mac[5] == 2) {          /* from the client */
            bacsc_npdu n;
            assert_true(bacsc_npdu_decode(fr.data, fr.len, &n) >= 0);
            assert_true(n.payload_len <= max_apdu);
            if (a.type == BACSC_PDU_CONFIRMED_REQUEST && a.segmented)
                (*segments)++;
            bacsc_device_handle_npdu(f->dev, &fr.src, fr.data, fr.len, f->now);
        } else {
            bacsc_client_handle_npdu(f->cl, &fr.src, fr.data, fr.len, f->now);
        }
    }
}

static void awf(fx *f, const uint8_t *data, size_t len, bt_result *res)
{
    bacsc_awf_request r = {{BACSC_OBJ_FILE, 0}, 0, 0, 0, data, len};
    bacsc_address a = fdl_addr(f->dn);
    assert_true(bacsc_client_atomic_write_file(f->cl, &a, &r, bt_on_done, res, f->now) >= 0);
}

/* A 2,000-octet AtomicWriteFile to a device with Max_APDU 206: 11 segments
 * of at most 206 octets, windows after Segment-ACKs, written intact. */
static void test_client_sends_segments(void **state)
{
    fx *f = *state;
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    const bacsc_client_device *d = bacsc_client_find_device(f->cl, INSTANCE);
    assert_non_null(d);
    assert_int_equal(d->max_apdu, 206);
    assert_int_equal(d->segmentation, BACSC_SEGMENTATION_BOTH);
    static uint8_t data[2000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    bt_result res;
    memset(&res, 0, sizeof res);
    awf(f, data, sizeof data, &res);
    unsigned segs = 0;
    pump_checked(f, 206, &segs);
    assert_int_equal(res.count, 1);
    assert_int_equal(res.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    assert_int_equal(segs, 11);
    assert_int_equal(file_len, sizeof data);
    assert_memory_equal(file_data, data, sizeof data);
    assert_int_equal(bacsc_client_pending(f->cl), 0);
}

/* The first segment is lost: the segment timer sends it again; a later
 * lost segment is NAKed by the device and the window resent. */
static void test_client_segment_lost(void **state)
{
    fx *f = *state;
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    static uint8_t data[1500];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 3 + 1);
    bt_result res;
    memset(&res, 0, sizeof res);
    fdl_frame fr;
    awf(f, data, sizeof data, &res);
    assert_true(fdl_take(&f->net, &fr));     /* segment 0 lost */
    assert_int_equal(fdl_queued(&f->net), 0);
    uint64_t t = bacsc_client_expiry(f->cl);
    assert_true(t > f->now && t != UINT64_MAX);
    f->now = t;
    bacsc_client_handle_expiry(f->cl, f->now);
    assert_true(fdl_take(&f->net, &fr));     /* segment 0 again */
    bacsc_device_handle_npdu(f->dev, &fr.src, fr.data, fr.len, f->now);
    assert_true(fdl_take(&f->net, &fr));     /* its Segment-ACK */
    bacsc_client_handle_npdu(f->cl, &fr.src, fr.data, fr.len, f->now);
    assert_true(fdl_take(&f->net, &fr));     /* the window's first segment (1) lost */
    unsigned segs = 0;
    pump_checked(f, 206, &segs);             /* the rest: NAK, window again */
    assert_int_equal(res.count, 1);
    assert_int_equal(res.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    assert_memory_equal(file_data, data, sizeof data);
}

/* Segments never acknowledged: the client gives up with a timeout after
 * its retries. */
static void test_client_segments_unanswered(void **state)
{
    fx *f = *state;
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    static uint8_t data[1000];
    bt_result res;
    memset(&res, 0, sizeof res);
    awf(f, data, sizeof data, &res);
    fdl_frame fr;
    for (int i = 0; i < 10 && res.count == 0; i++) {
        while (fdl_take(&f->net, &fr))
            ;
        f->now = bacsc_client_expiry(f->cl);
        bacsc_client_handle_expiry(f->cl, f->now);
    }
    assert_int_equal(res.count, 1);
    assert_int_equal(res.r.outcome, BACSC_CLIENT_TIMEOUT);
    assert_int_equal(bacsc_client_pending(f->cl), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_window_and_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_request_reaches_the_service, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_segmentation, setup_noseg, teardown),
        cmocka_unit_test_setup_teardown(test_client_sends_segments, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_client_segment_lost, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_client_segments_unanswered, setup_small, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
