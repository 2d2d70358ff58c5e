/*
 * test_segment.c — segmented ComplexACKs (bacsc/segment.h) on simulated
 * time: a sender and a receiver joined by a hand-run "wire" that can lose,
 * repeat or reorder APDUs; then the device and client doing it for real
 * over the in-memory datalink (5,000-object Object_List read whole and by
 * element, RPM ALL of 1,000 objects, the aborts).
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
#include "bacsc/segment.h"
#include "bacsc/services.h"
#include "support_fake_datalink.h"

#define SEC 1000000ull
#define TMO (2 * SEC)

/* ---- a wire of APDUs ------------------------------------------------------------ */

typedef struct wire {
    uint8_t q[512][1600];
    size_t len[512];
    size_t n;
} wire;

static void put(void *user, const uint8_t *apdu, size_t len)
{
    wire *w = user;
    assert_true(w->n < 512 && len <= 1600);
    memcpy(w->q[w->n], apdu, len);
    w->len[w->n++] = len;
}

static void decode(const wire *w, size_t i, bacsc_apdu *a)
{
    assert_true(i < w->n);
    assert_true(bacsc_apdu_decode(w->q[i], w->len[i], a, NULL) >= 0);
}

typedef struct pair {
    bacsc_segtx tx;
    bacsc_segrx rx;
    wire down, up;             /* server → client, client → server */
    uint8_t data[40000];
    size_t len;
    uint64_t now;
    int done;
} pair;

static void pair_start(pair *p, size_t len, size_t seg_len, uint8_t window)
{
    memset(p, 0, sizeof *p);
    p->len = len;
    for (size_t i = 0; i < len; i++)
        p->data[i] = (uint8_t)(i * 7 + 3);
    p->now = 1000;
    assert_int_equal(bacsc_segtx_start(&p->tx, 9, 14, p->data, len, seg_len, window, TMO, 2,
                                       p->now, put, &p->down),
                     BACSC_OK);
}

/* Deliver the server's queued segments to the receiver, skipping those whose
 * absolute index is in `drop` (a bitmask over the batch). */
static void deliver_down(pair *p, uint64_t drop, uint8_t our_window)
{
    wire w = p->down;
    p->down.n = 0;
    for (size_t i = 0; i < w.n; i++) {
        if (drop & (1ull << i))
            continue;
        bacsc_apdu a;
        decode(&w, i, &a);
        assert_int_equal(a.type, BACSC_PDU_COMPLEX_ACK);
        assert_true(a.segmented);
        uint8_t reason = 0;
        int rc = bacsc_segrx_segment(&p->rx, &a, our_window, sizeof p->data, TMO, p->now, put,
                                     &p->up, &reason);
        assert_true(rc >= 0);
        if (rc == BACSC_SEGRX_DONE)
            p->done++;
    }
}

static void deliver_up(pair *p)
{
    wire w = p->up;
    p->up.n = 0;
    for (size_t i = 0; i < w.n; i++) {
        bacsc_apdu a;
        decode(&w, i, &a);
        assert_int_equal(a.type, BACSC_PDU_SEGMENT_ACK);
        assert_false(a.server);
        if (bacsc_segtx_ack(&p->tx, &a, p->now, put, &p->down) == 1)
            bacsc_segtx_free(&p->tx);
    }
}

static void run(pair *p, uint8_t our_window)
{
    for (int round = 0; round < 1000 && (p->down.n || p->up.n); round++) {
        deliver_down(p, 0, our_window);
        deliver_up(p);
    }
}

static void check_data(const pair *p)
{
    assert_int_equal(p->done, 1);
    assert_int_equal(p->rx.len, p->len);
    assert_memory_equal(p->rx.data, p->data, p->len);
}

static void test_window_flow(void **state)
{
    (void)state;
    pair *p = malloc(sizeof *p);
    pair_start(p, 10000, 480, 4);    /* 21 segments */
    /* the first segment goes alone */
    assert_int_equal(p->down.n, 1);
    deliver_down(p, 0, 3);
    assert_int_equal(p->up.n, 1);     /* ACK of 0 with the actual window 3 */
    bacsc_apdu a;
    decode(&p->up, 0, &a);
    assert_int_equal(a.sequence_number, 0);
    assert_int_equal(a.window_size, 3);
    deliver_up(p);
    assert_int_equal(p->down.n, 3);   /* segments 1..3 */
    decode(&p->down, 2, &a);
    assert_int_equal(a.sequence_number, 3);
    assert_int_equal(a.window_size, 4);   /* the proposed window */
    assert_true(a.more_follows);
    run(p, 3);
    check_data(p);
    assert_false(p->tx.active);          /* the final ACK ended it */
    bacsc_segrx_free(&p->rx);
    free(p);
}

static void test_lost_segment_nak(void **state)
{
    (void)state;
    pair *p = malloc(sizeof *p);
    pair_start(p, 5000, 400, 4);      /* 13 segments */
    deliver_down(p, 0, 4);
    deliver_up(p);                    /* 1..4 queued */
    deliver_down(p, 1ull << 1, 4);    /* segment 2 lost: 3 and 4 are out of order */
    assert_int_equal(p->up.n, 2);
    bacsc_apdu a;
    decode(&p->up, 0, &a);
    assert_true(a.nak);
    assert_int_equal(a.sequence_number, 1);
    deliver_up(p);                    /* resend from 2 */
    decode(&p->down, 0, &a);
    assert_int_equal(a.sequence_number, 2);
    run(p, 4);
    check_data(p);
    bacsc_segrx_free(&p->rx);
    free(p);
}

static void test_duplicates_and_timeout(void **state)
{
    (void)state;
    pair *p = malloc(sizeof *p);
    pair_start(p, 3000, 1000, 2);     /* 3 segments */
    wire first = p->down;
    deliver_down(p, 0, 2);
    /* the ACK of segment 0 is lost: the sender times out and repeats 0 */
    p->up.n = 0;
    p->now += TMO;
    assert_int_equal(bacsc_segtx_expiry(&p->tx, p->now, put, &p->down), 0);
    assert_int_equal(p->down.n, 1);
    assert_int_equal(p->down.len[0], first.len[0]);
    /* the receiver sees a duplicate first segment: NAK naming 0 */
    deliver_down(p, 0, 2);
    bacsc_apdu a;
    decode(&p->up, 0, &a);
    assert_true(a.nak);
    assert_int_equal(a.sequence_number, 0);
    deliver_up(p);                    /* → segments 1, 2 */
    assert_int_equal(p->down.n, 2);
    /* deliver segment 1 twice */
    memcpy(p->down.q[2], p->down.q[0], p->down.len[0]);
    p->down.len[2] = p->down.len[0];
    p->down.n = 3;
    wire w = p->down;
    p->down.n = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t order[3] = {0, 2, 1};
        bacsc_apdu s;
        decode(&w, order[i], &s);
        uint8_t reason;
        int rc = bacsc_segrx_segment(&p->rx, &s, 2, sizeof p->data, TMO, p->now, put, &p->up,
                                     &reason);
        if (rc == BACSC_SEGRX_DONE)
            p->done++;
    }
    check_data(p);
    deliver_up(p);
    assert_false(p->tx.active);
    bacsc_segrx_free(&p->rx);
    free(p);
}

static void test_retries_exhausted(void **state)
{
    (void)state;
    pair *p = malloc(sizeof *p);
    pair_start(p, 3000, 1000, 2);
    p->down.n = 0;
    for (int i = 0; i < 2; i++) {
        p->now += TMO;
        assert_int_equal(bacsc_segtx_expiry(&p->tx, p->now, put, &p->down), 0);
    }
    assert_int_equal(p->down.n, 2);    /* two retransmissions */
    p->now += TMO - 1;
    assert_int_equal(bacsc_segtx_expiry(&p->tx, p->now, put, &p->down), 0);  /* not yet */
    p->now += 1;
    assert_int_equal(bacsc_segtx_expiry(&p->tx, p->now, put, &p->down), 1);
    bacsc_segtx_free(&p->tx);
    free(p);
}

static void test_receiver_limits(void **state)
{
    (void)state;
    pair *p = malloc(sizeof *p);
    pair_start(p, 3000, 1000, 2);
    /* a first segment other than 0 */
    bacsc_apdu a;
    decode(&p->down, 0, &a);
    a.sequence_number = 1;
    uint8_t reason = 0;
    assert_int_equal(bacsc_segrx_segment(&p->rx, &a, 2, 100000, TMO, p->now, put, &p->up,
                                         &reason),
                     BACSC_ERR_MALFORMED);
    assert_int_equal(reason, BACSC_ABORT_INVALID_APDU_IN_THIS_STATE);
    /* longer than we take */
    a.sequence_number = 0;
    assert_int_equal(bacsc_segrx_segment(&p->rx, &a, 2, 500, TMO, p->now, put, &p->up, &reason),
                     BACSC_ERR_MALFORMED);
    assert_int_equal(reason, BACSC_ABORT_BUFFER_OVERFLOW);
    bacsc_segrx_free(&p->rx);
    bacsc_segtx_free(&p->tx);
    assert_int_equal(bacsc_max_segments(0), 0);
    assert_int_equal(bacsc_max_segments(3), 8);
    assert_int_equal(bacsc_max_segments(6), 64);
    assert_int_equal(bacsc_max_segments(7), 0);
    free(p);
}

static void test_more_than_256_segments(void **state)
{
    (void)state;
    pair *p = malloc(sizeof *p);
    pair_start(p, 30000, 100, 16);     /* 300 segments: sequence numbers wrap */
    run(p, 16);
    check_data(p);
    bacsc_segrx_free(&p->rx);
    free(p);
}

/* ---- device and client ------------------------------------------------------------- */

typedef struct result {
    int count;
    bacsc_client_result r;
    uint8_t *ack;
    size_t ack_len;
} result;

static void on_done(void *user, const bacsc_client_result *r)
{
    result *res = user;
    res->count++;
    res->r = *r;
    res->ack_len = r->ack_len;
    res->ack = malloc(r->ack_len + 1);
    if (r->ack_len)
        memcpy(res->ack, r->ack, r->ack_len);
}

typedef struct fx {
    fdl_net net;
    fdl_node *dn, *cn;
    bacsc_device *dev;
    bacsc_client *cl;
} fx;

static fx *fx_new(unsigned navs, bool client_segments)
{
    fx *f = calloc(1, sizeof *f);
    fdl_init(&f->net);
    f->dn = fdl_add_node(&f->net, 1);
    f->cn = fdl_add_node(&f->net, 2);
    bacsc_device_config dc = {.instance = 77, .name = "big"};
    f->dev = fdl_host_device(f->dn, &dc);
    for (unsigned i = 1; i <= navs; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "AV-%u", i);
        assert_int_equal(bacsc_device_add_analog_value(f->dev, i, nm, 1.0f, 95, NULL), BACSC_OK);
    }
    bacsc_client_config cc = {.no_segmentation = !client_segments};
    f->cl = fdl_host_client(f->cn, &cc);
    return f;
}

static void fx_free(fx *f)
{
    fdl_free_hosted(&f->net);
    free(f);
}

static result rp(fx *f, uint16_t type, uint32_t inst, uint32_t prop, bool has_index,
                 uint32_t index)
{
    result res;
    memset(&res, 0, sizeof res);
    bacsc_rp_request req = {{type, inst}, prop, has_index, index};
    bacsc_address a = fdl_addr(f->dn);
    assert_true(bacsc_client_read_property(f->cl, &a, &req, on_done, &res, 1000) >= 0);
    fdl_pump(&f->net, 1000);
    assert_int_equal(res.count, 1);
    return res;
}

static void test_object_list_5000(void **state)
{
    (void)state;
    fx *f = fx_new(5000, true);
    result r = rp(f, BACSC_OBJ_DEVICE, 77, BACSC_PROP_OBJECT_LIST, false, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_rp_ack ack;
    assert_true(bacsc_rp_ack_decode(r.ack, r.ack_len, &ack, NULL) > 0);
    assert_int_equal(ack.value_len, 5001 * 5);
    /* the last entry is analog-value,5000 */
    const uint8_t last[5] = {0xC4, 0x00, 0x80, 0x13, 0x88};
    assert_memory_equal(ack.value + 5000 * 5, last, 5);
    free(r.ack);
    bacsc_device_stats st;
    bacsc_device_get_stats(f->dev, &st);
    assert_int_equal(st.segmented, 1);
    /* element by element: the count, and each element */
    r = rp(f, BACSC_OBJ_DEVICE, 77, BACSC_PROP_OBJECT_LIST, true, 0);
    assert_true(bacsc_rp_ack_decode(r.ack, r.ack_len, &ack, NULL) > 0);
    bacsc_value v;
    assert_true(bacsc_value_decode(ack.value, ack.value_len, &v) > 0);
    assert_int_equal(v.v.unsigned_, 5001);
    free(r.ack);
    for (uint32_t i = 1; i <= 5001; i += 1) {
        r = rp(f, BACSC_OBJ_DEVICE, 77, BACSC_PROP_OBJECT_LIST, true, i);
        assert_int_equal(r.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
        assert_true(bacsc_rp_ack_decode(r.ack, r.ack_len, &ack, NULL) > 0);
        assert_true(bacsc_value_decode(ack.value, ack.value_len, &v) > 0);
        assert_int_equal(v.v.oid.instance, i == 1 ? 77 : i - 1);
        free(r.ack);
    }
    r = rp(f, BACSC_OBJ_DEVICE, 77, BACSC_PROP_OBJECT_LIST, true, 5002);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(r.r.error_code, BACSC_EC_INVALID_ARRAY_INDEX);
    free(r.ack);
    fx_free(f);
}

static void test_rpm_all_1000(void **state)
{
    (void)state;
    fx *f = fx_new(1000, true);
    bacsc_rpm_ref all = {BACSC_PROP_ALL, false, 0};
    bacsc_rpm_spec *specs = calloc(1001, sizeof *specs);
    specs[0] = (bacsc_rpm_spec){{BACSC_OBJ_DEVICE, 77}, &all, 1};
    /* as many objects as fit one request; the answer is ~100 segments */
    size_t n = 1;
    for (uint32_t i = 1; i < 150; i++)
        specs[n++] = (bacsc_rpm_spec){{BACSC_OBJ_ANALOG_VALUE, i}, &all, 1};
    result res;
    memset(&res, 0, sizeof res);
    bacsc_address a = fdl_addr(f->dn);
    assert_true(bacsc_client_read_property_multiple(f->cl, &a, specs, n, on_done, &res, 1000) >=
                0);
    fdl_pump(&f->net, 1000);
    assert_int_equal(res.count, 1);
    assert_int_equal(res.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    assert_true(res.ack_len > 20000);
    int count = bacsc_rpm_validate(res.ack, res.ack_len, true, NULL);
    assert_int_equal(count, 28 + 149 * 13);
    free(res.ack);
    free(specs);
    fx_free(f);
}

static void test_aborts(void **state)
{
    (void)state;
    /* a client that does not take segments: Abort segmentation-not-supported */
    fx *f = fx_new(1000, false);
    result r = rp(f, BACSC_OBJ_DEVICE, 77, BACSC_PROP_OBJECT_LIST, false, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_ABORT);
    assert_int_equal(r.r.reason, BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED);
    free(r.ack);
    /* a request accepting only 2 segments: buffer-overflow */
    const uint8_t apdu[] = {0x02, 0x15, 0x01, 0x0C, 0x0C, 0x02, 0x00, 0x00, 0x4D, 0x19, 0x4C};
    uint8_t npdu[64];
    size_t n = fdl_npdu(npdu, sizeof npdu, apdu, sizeof apdu);
    bacsc_address src = fdl_addr(f->cn);
    bacsc_device_handle_npdu(f->dev, &src, npdu, n, 1000);
    fdl_frame fr;
    assert_true(fdl_take(&f->net, &fr));
    bacsc_apdu ap;
    fdl_frame_apdu(&fr, &ap);
    assert_int_equal(ap.type, BACSC_PDU_ABORT);
    assert_int_equal(ap.reason, BACSC_ABORT_BUFFER_OVERFLOW);
    /* 64 segments is plenty: the first segment comes, then a client Abort ends it */
    const uint8_t apdu64[] = {0x02, 0x65, 0x02, 0x0C, 0x0C, 0x02, 0x00, 0x00, 0x4D, 0x19, 0x4C};
    n = fdl_npdu(npdu, sizeof npdu, apdu64, sizeof apdu64);
    bacsc_device_handle_npdu(f->dev, &src, npdu, n, 1000);
    assert_true(fdl_take(&f->net, &fr));
    fdl_frame_apdu(&fr, &ap);
    assert_int_equal(ap.type, BACSC_PDU_COMPLEX_ACK);
    assert_true(ap.segmented);
    assert_int_equal(bacsc_device_expiry(f->dev), 1000 + TMO);
    const uint8_t ab[] = {0x70, 0x02, 0x0A};
    n = fdl_npdu(npdu, sizeof npdu, ab, sizeof ab);
    npdu[1] = 0;    /* not expecting a reply */
    assert_int_equal(bacsc_device_handle_npdu(f->dev, &src, npdu, n, 1000), BACSC_OK);
    assert_int_equal(bacsc_device_expiry(f->dev), UINT64_MAX);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_flow),
        cmocka_unit_test(test_lost_segment_nak),
        cmocka_unit_test(test_duplicates_and_timeout),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_receiver_limits),
        cmocka_unit_test(test_more_than_256_segments),
        cmocka_unit_test(test_object_list_5000),
        cmocka_unit_test(test_rpm_all_1000),
        cmocka_unit_test(test_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
