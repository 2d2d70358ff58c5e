/*
 * test_client.c — the BACnet client: invoke ids, timeouts and retries under
 * simulated time, response matching, and every kind of answer, against a
 * real device over the in-memory datalink or hand-built answers.
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
#include "support_fake_datalink.h"
#include "support_fixture.h"

#define SEC 1000000ull
#define TIMEOUT (3 * SEC)

typedef struct rec {
    int count;
    bacsc_client_result r;
    bacsc_address peer;
} rec;

typedef struct fx {
    fdl_net net;
    fdl_node *dn, *cn, *other;
    bacsc_device *dev;
    bacsc_client *cl;
    uint64_t now;
    rec recs[300];
    int iams;
} fx;

static void on_done(void *user, const bacsc_client_result *r)
{
    rec *x = user;
    x->count++;
    x->r = *r;
    x->peer = *r->peer;
    x->r.peer = NULL;
    x->r.ack = NULL;
}

static void on_iam(void *user, const bacsc_client_device *d)
{
    fx *f = user;
    (void)d;
    f->iams++;
}

static fx *fx_new(size_t max_pending, unsigned retries)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fdl_init(&f->net);
    f->dn = fdl_add_node(&f->net, 1);
    f->cn = fdl_add_node(&f->net, 2);
    f->other = fdl_add_node(&f->net, 3);
    bacsc_device_config dc = {.instance = 77, .name = "dev"};
    f->dev = fdl_host_device(f->dn, &dc);
    assert_int_equal(bacsc_device_add_analog_value(f->dev, 1, "av", 1.5f, 95, NULL), BACSC_OK);
    bacsc_client_config cc = {.apdu_timeout_us = TIMEOUT, .retries = retries, .retries_set = true,
                              .max_pending = max_pending, .on_iam = on_iam, .user = f};
    f->cl = fdl_host_client(f->cn, &cc);
    f->now = 5 * SEC;
    return f;
}

static void fx_free(fx *f)
{
    fdl_free_hosted(&f->net);
    free(f);
}

FIXTURE_SETUP(setup, fx_new(0, 2))
FIXTURE_TEARDOWN(teardown, fx_free)

static int send_rp(fx *f, const bacsc_address *to, rec *x)
{
    bacsc_rp_request rp = {{BACSC_OBJ_ANALOG_VALUE, 1}, BACSC_PROP_PRESENT_VALUE, false, 0};
    return bacsc_client_read_property(f->cl, to, &rp, on_done, x, f->now);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_round_trip(void **state)
{
    fx *f = *state;
    bacsc_address d = fdl_addr(f->dn);
    rec x = {0};
    int id = send_rp(f, &d, &x);
    assert_true(id >= 0 && id <= 255);
    assert_int_equal(bacsc_client_pending(f->cl), 1);
    assert_int_equal(bacsc_client_expiry(f->cl), f->now + TIMEOUT);
    fdl_pump(&f->net, f->now);
    assert_int_equal(x.count, 1);
    assert_int_equal(x.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    assert_int_equal(x.r.invoke_id, id);
    assert_int_equal(x.r.service, BACSC_SERVICE_READ_PROPERTY);
    assert_int_equal(x.r.attempts, 1);
    assert_true(bacsc_address_equal(&x.peer, &d));
    assert_int_equal(bacsc_client_pending(f->cl), 0);
    assert_int_equal(bacsc_client_expiry(f->cl), UINT64_MAX);
}

static void test_timeout_after_retries(void **state)
{
    fx *f = *state;
    bacsc_address d = fdl_addr(f->dn);
    rec x = {0};
    uint64_t t0 = f->now;
    assert_true(send_rp(f, &d, &x) >= 0);
    f->net.drop_next = 100;   /* the network loses everything */
    fdl_pump(&f->net, f->now);
    /* before the deadline nothing happens */
    assert_int_equal(bacsc_client_handle_expiry(f->cl, t0 + TIMEOUT - 1), BACSC_OK);
    assert_int_equal(f->cn->sent, 1);
    /* two retransmissions, each at the timer */
    for (int i = 1; i <= 2; i++) {
        uint64_t t = bacsc_client_expiry(f->cl);
        assert_int_equal(t, t0 + (uint64_t)i * TIMEOUT);
        bacsc_client_handle_expiry(f->cl, t);
        assert_int_equal(f->cn->sent, (size_t)(1 + i));
        assert_int_equal(x.count, 0);
    }
    uint64_t t = bacsc_client_expiry(f->cl);
    assert_int_equal(t, t0 + 3 * TIMEOUT);
    bacsc_client_handle_expiry(f->cl, t);
    assert_int_equal(x.count, 1);
    assert_int_equal(x.r.outcome, BACSC_CLIENT_TIMEOUT);
    assert_int_equal(x.r.attempts, 3);
    assert_int_equal(f->cn->sent, 3);
    assert_int_equal(bacsc_client_pending(f->cl), 0);
    char buf[64];
    assert_string_equal(bacsc_client_result_format(&x.r, buf, sizeof buf),
                        "timeout after 3 attempts");
}

static void test_retry_answered(void **state)
{
    fx *f = *state;
    bacsc_address d = fdl_addr(f->dn);
    rec x = {0};
    f->net.drop_next = 1;     /* the first transmission is lost */
    int id = send_rp(f, &d, &x);
    fdl_pump(&f->net, f->now);
    assert_int_equal(x.count, 0);
    f->now = bacsc_client_expiry(f->cl);
    bacsc_client_handle_expiry(f->cl, f->now);
    fdl_pump(&f->net, f->now);
    assert_int_equal(x.count, 1);
    assert_int_equal(x.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    assert_int_equal(x.r.attempts, 2);
    assert_int_equal(x.r.invoke_id, id);   /* a retry keeps its invoke id */
}

static void test_send_failure_is_a_lost_message(void **state)
{
    fx *f = *state;
    bacsc_address d = fdl_addr(f->dn);
    rec x = {0};
    f->net.send_rc = BACSC_ERR_IO;
    assert_true(send_rp(f, &d, &x) >= 0);
    assert_int_equal(x.count, 0);
    f->net.send_rc = 0;
    f->now = bacsc_client_expiry(f->cl);
    bacsc_client_handle_expiry(f->cl, f->now);
    fdl_pump(&f->net, f->now);
    assert_int_equal(x.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
}

static void test_invoke_id_exhaustion(void **state)
{
    (void)state;
    fx *f = fx_new(300, 0);
    bacsc_address d = fdl_addr(f->dn);
    bool seen[256] = {false};
    for (int i = 0; i < 256; i++) {
        int id = send_rp(f, &d, &f->recs[i]);
        assert_true(id >= 0 && id <= 255);
        assert_false(seen[id]);
        seen[id] = true;
    }
    /* every id is in flight to that device */
    assert_int_equal(send_rp(f, &d, &f->recs[256]), BACSC_ERR_AGAIN);
    /* another destination still gets one */
    bacsc_address o = fdl_addr(f->other);
    assert_true(send_rp(f, &o, &f->recs[257]) >= 0);
    /* the answers free them; drop the queue of requests into the device */
    fdl_pump(&f->net, f->now);
    for (int i = 0; i < 256; i++) {
        assert_int_equal(f->recs[i].count, 1);
        assert_int_equal(f->recs[i].r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    }
    assert_true(send_rp(f, &d, &f->recs[258]) >= 0);
    fx_free(f);
}

static void test_no_reuse_while_in_flight(void **state)
{
    (void)state;
    fx *f = fx_new(8, 0);
    bacsc_address d = fdl_addr(f->dn);
    /* one request stays in flight while 600 others come and go */
    f->net.drop_next = 1;
    int held = send_rp(f, &d, &f->recs[0]);
    fdl_pump(&f->net, f->now);
    for (int i = 0; i < 600; i++) {
        rec x = {0};
        int id = send_rp(f, &d, &x);
        assert_true(id >= 0);
        assert_int_not_equal(id, held);
        fdl_pump(&f->net, f->now);
        assert_int_equal(x.count, 1);
    }
    assert_int_equal(f->recs[0].count, 0);
    fx_free(f);
}

static void test_pending_limit(void **state)
{
    (void)state;
    fx *f = fx_new(2, 0);
    bacsc_address d = fdl_addr(f->dn);
    assert_true(send_rp(f, &d, &f->recs[0]) >= 0);
    assert_true(send_rp(f, &d, &f->recs[1]) >= 0);
    assert_int_equal(send_rp(f, &d, &f->recs[2]), BACSC_ERR_LIMIT);
    assert_int_equal(bacsc_client_pending(f->cl), 2);
    fx_free(f);
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    bacsc_address b = bacsc_address_local_broadcast();
    rec x = {0};
    assert_int_equal(send_rp(f, &b, &x), BACSC_ERR_INVALID_ARG);
    bacsc_address g = bacsc_address_global_broadcast();
    assert_int_equal(send_rp(f, &g, &x), BACSC_ERR_INVALID_ARG);
    bacsc_address d = fdl_addr(f->dn);
    bacsc_rp_request rp = {{BACSC_OBJ_ANALOG_VALUE, 5000000}, 85, false, 0};
    assert_int_equal(bacsc_client_read_property(f->cl, &d, &rp, on_done, &x, f->now),
                     BACSC_ERR_INVALID_ARG);
    static uint8_t big[2000];
    assert_int_equal(bacsc_client_request(f->cl, &d, 12, big, sizeof big, on_done, &x, f->now),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_client_pending(f->cl), 0);
    bacsc_client_config cc;
    memset(&cc, 0, sizeof cc);
    bacsc_client *cl;
    assert_int_equal(bacsc_client_new(&cc, &cl), BACSC_ERR_INVALID_ARG);
    cc.link = fdl_link(f->cn);
    cc.max_pending = BACSC_CLIENT_MAX_PENDING_LIMIT + 1;
    assert_int_equal(bacsc_client_new(&cc, &cl), BACSC_ERR_INVALID_ARG);
}

/* Inject an APDU as if sent by `from`. */
static int inject(fx *f, const fdl_node *from, const uint8_t *apdu, size_t len)
{
    return fdl_apdu_to(from, f->cn, apdu, len, f->now);
}

static void test_answers_matched_by_source_and_id(void **state)
{
    fx *f = *state;
    bacsc_address d = fdl_addr(f->dn);
    rec x = {0};
    f->net.drop_next = 1;
    int id = send_rp(f, &d, &x);
    /* an Error from another node with the same invoke id: ignored */
    uint8_t err[] = {0x50, (uint8_t)id, 0x0C, 0x91, 0x01, 0x91, 0x1F};
    assert_int_equal(inject(f, f->other, err, sizeof err), BACSC_ERR_NOT_FOUND);
    assert_int_equal(x.count, 0);
    /* another invoke id: ignored */
    err[1] = (uint8_t)(id + 1);
    assert_int_equal(inject(f, f->dn, err, sizeof err), BACSC_ERR_NOT_FOUND);
    /* an Error for another service: ignored */
    err[1] = (uint8_t)id;
    err[2] = 0x0F;
    assert_int_equal(inject(f, f->dn, err, sizeof err), BACSC_ERR_NOT_FOUND);
    /* the right one */
    err[2] = 0x0C;
    assert_int_equal(inject(f, f->dn, err, sizeof err), BACSC_OK);
    assert_int_equal(x.count, 1);
    assert_int_equal(x.r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(x.r.error_class, BACSC_ERROR_CLASS_OBJECT);
    assert_int_equal(x.r.error_code, BACSC_EC_UNKNOWN_OBJECT);
    char buf[64];
    assert_string_equal(bacsc_client_result_format(&x.r, buf, sizeof buf),
                        "error: object/unknown-object");
    /* a late duplicate is not for anyone */
    assert_int_equal(inject(f, f->dn, err, sizeof err), BACSC_ERR_NOT_FOUND);
    assert_int_equal(x.count, 1);
}

static void test_reject_abort_results(void **state)
{
    fx *f = *state;
    bacsc_address d = fdl_addr(f->dn);
    rec x = {0}, y = {0}, z = {0}, w = {0};
    f->net.drop_next = 4;
    int a = send_rp(f, &d, &x);
    int b = send_rp(f, &d, &y);
    int c = send_rp(f, &d, &z);
    int e = send_rp(f, &d, &w);
    uint8_t rej[] = {0x60, (uint8_t)a, BACSC_REJECT_UNRECOGNIZED_SERVICE};
    assert_int_equal(inject(f, f->dn, rej, sizeof rej), BACSC_OK);
    assert_int_equal(x.r.outcome, BACSC_CLIENT_REJECT);
    assert_int_equal(x.r.reason, BACSC_REJECT_UNRECOGNIZED_SERVICE);
    char buf[64];
    assert_string_equal(bacsc_client_result_format(&x.r, buf, sizeof buf),
                        "reject: unrecognized-service");
    /* an Abort from the client side (SRV=0) is not an answer */
    uint8_t abc[] = {0x70, (uint8_t)b, BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED};
    assert_int_equal(inject(f, f->dn, abc, sizeof abc), BACSC_ERR_NOT_FOUND);
    uint8_t ab[] = {0x71, (uint8_t)b, BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED};
    assert_int_equal(inject(f, f->dn, ab, sizeof ab), BACSC_OK);
    assert_int_equal(y.r.outcome, BACSC_CLIENT_ABORT);
    assert_true(y.r.abort_by_server);
    assert_string_equal(bacsc_client_result_format(&y.r, buf, sizeof buf),
                        "abort: segmentation-not-supported");
    /* a one-segment segmented ComplexACK: acknowledged (Segment-ACK), then
     * its data does not decode: BAD_ACK (segmentation itself: test_segment.c) */
    uint8_t seg[] = {0x38, (uint8_t)c, 0x00, 0x01, 0x0C, 0x0C};
    size_t before = f->cn->sent;
    assert_int_equal(inject(f, f->dn, seg, sizeof seg), BACSC_OK);
    assert_int_equal(z.r.outcome, BACSC_CLIENT_BAD_ACK);
    assert_int_equal(z.r.reason, BACSC_ABORT_OTHER);
    assert_int_equal(f->cn->sent, before + 1);
    fdl_frame fr;
    while (fdl_take(&f->net, &fr))
        ;
    /* a ComplexACK whose ReadProperty-ACK does not decode */
    uint8_t bad[] = {0x30, (uint8_t)e, 0x0C, 0x0C, 0x00};
    assert_int_equal(inject(f, f->dn, bad, sizeof bad), BACSC_OK);
    assert_int_equal(w.r.outcome, BACSC_CLIENT_BAD_ACK);
}

static void ignore_done(void *user, const bacsc_client_result *r)
{
    (void)user;
    (void)r;
}

/* A peer that announced Max_APDU_Length_Accepted 480 and no segmentation in
 * its I-Am gets a 480-octet request, never a 481-octet one (refused locally,
 * nothing sent). One that takes segmented requests: test_device_segrx.c. */
static void test_request_over_peer_max_apdu(void **state)
{
    (void)state;
    fx *f = fx_new(0, 0);
    bacsc_device_config dc = {.instance = 79, .name = "small", .max_apdu = 480,
                              .no_segmentation = true};
    fdl_host_device(f->other, &dc);
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    const bacsc_client_device *x = bacsc_client_find_device(f->cl, 79);
    assert_non_null(x);
    assert_int_equal(x->max_apdu, 480);
    bacsc_address a = fdl_addr(f->other);
    static uint8_t payload[600];
    /* confirmed-request header: 4 octets; 477 + 4 = 481 > 480 */
    assert_int_equal(bacsc_client_request(f->cl, &a, 15, payload, 477, ignore_done, NULL, f->now),
                     BACSC_ERR_LIMIT);
    size_t len = 0;
    unsigned max = 0;
    assert_true(bacsc_client_too_large(f->cl, &len, &max));
    assert_int_equal(len, 481);
    assert_int_equal(max, 480);
    assert_int_equal(bacsc_client_pending(f->cl), 0);
    assert_true(bacsc_client_request(f->cl, &a, 15, payload, 476, ignore_done, NULL, f->now) >= 0);
    assert_false(bacsc_client_too_large(f->cl, NULL, NULL));
    /* a device that announced nothing smaller keeps the local limit */
    bacsc_address big = fdl_addr(f->dn);
    assert_true(bacsc_client_request(f->cl, &big, 15, payload, 600, ignore_done, NULL, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    fx_free(f);
}

static void test_whois_collects_iams(void **state)
{
    (void)state;
    fx *f = fx_new(0, 0);
    /* a second device on node `other` */
    bacsc_device_config dc = {.instance = 78, .name = "dev2", .vendor_id = 15};
    fdl_host_device(f->other, &dc);
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    assert_int_equal(bacsc_client_device_count(f->cl), 2);
    assert_int_equal(f->iams, 2);
    const bacsc_client_device *x = bacsc_client_find_device(f->cl, 78);
    assert_non_null(x);
    assert_int_equal(x->vendor_id, 15);
    bacsc_address a = fdl_addr(f->other);
    assert_true(bacsc_address_equal(&x->address, &a));
    /* again: no duplicates */
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    assert_int_equal(bacsc_client_device_count(f->cl), 2);
    assert_int_equal(f->iams, 4);
    /* a directed Who-Is with a range */
    bacsc_client_clear_devices(f->cl);
    bacsc_whois w = {true, 78, 78};
    assert_int_equal(bacsc_client_whois(f->cl, NULL, &w, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    assert_int_equal(bacsc_client_device_count(f->cl), 1);
    assert_int_equal(bacsc_client_device_at(f->cl, 0)->instance, 78);
    assert_null(bacsc_client_device_at(f->cl, 1));
    fx_free(f);
}

static void test_free_cancels(void **state)
{
    (void)state;
    fx *f = fx_new(0, 0);
    bacsc_address d = fdl_addr(f->dn);
    rec x = {0};
    assert_true(send_rp(f, &d, &x) >= 0);
    bacsc_client_free(f->cl);
    f->cn->cl = NULL;
    assert_int_equal(x.count, 1);
    assert_int_equal(x.r.outcome, BACSC_CLIENT_CANCELLED);
    fdl_frame fr;
    while (fdl_take(&f->net, &fr))
        ;
    fx_free(f);
}

/* A completion callback may start the next request (a read loop). */
typedef struct chain {
    fx *f;
    int left;
    int done;
} chain;

static void chain_done(void *user, const bacsc_client_result *r)
{
    chain *c = user;
    assert_int_equal(r->outcome, BACSC_CLIENT_COMPLEX_ACK);
    c->done++;
    if (--c->left > 0) {
        bacsc_address d = fdl_addr(c->f->dn);
        bacsc_rp_request rp = {{BACSC_OBJ_DEVICE, 77}, BACSC_PROP_OBJECT_NAME, false, 0};
        assert_true(bacsc_client_read_property(c->f->cl, &d, &rp, chain_done, c, c->f->now) >= 0);
    }
}

static void test_callback_reentrancy(void **state)
{
    fx *f = *state;
    chain c = {f, 50, 0};
    bacsc_address d = fdl_addr(f->dn);
    bacsc_rp_request rp = {{BACSC_OBJ_DEVICE, 77}, BACSC_PROP_OBJECT_NAME, false, 0};
    assert_true(bacsc_client_read_property(f->cl, &d, &rp, chain_done, &c, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(c.done, 50);
    assert_int_equal(bacsc_client_pending(f->cl), 0);
}

static void test_all_request_kinds_encode(void **state)
{
    fx *f = *state;
    bacsc_address d = fdl_addr(f->dn);
    rec x[6];
    memset(x, 0, sizeof x);
    uint8_t val[8];
    int n = bacsc_app_encode_real(val, sizeof val, 3.0f);
    bacsc_wp_request wp = {{BACSC_OBJ_ANALOG_VALUE, 1}, 85, false, 0, val, (size_t)n, true, 9};
    assert_true(bacsc_client_write_property(f->cl, &d, &wp, on_done, &x[0], f->now) >= 0);
    bacsc_rpm_ref refs[2] = {{85, false, 0}, {87, true, 9}};
    bacsc_rpm_spec spec = {{BACSC_OBJ_ANALOG_VALUE, 1}, refs, 2};
    assert_true(bacsc_client_read_property_multiple(f->cl, &d, &spec, 1, on_done, &x[1], f->now) >=
                0);
    bacsc_arf_request arf = {{BACSC_OBJ_FILE, 1}, BACSC_FILE_STREAM, 0, 100};
    assert_true(bacsc_client_atomic_read_file(f->cl, &d, &arf, on_done, &x[2], f->now) >= 0);
    bacsc_awf_request awf = {{BACSC_OBJ_FILE, 1}, BACSC_FILE_STREAM, 0, 0, val, 3};
    assert_true(bacsc_client_atomic_write_file(f->cl, &d, &awf, on_done, &x[3], f->now) >= 0);
    bacsc_reinit_request ri = {BACSC_REINIT_ACTIVATE_CHANGES, false, {0, NULL, 0}};
    assert_true(bacsc_client_reinitialize(f->cl, &d, &ri, on_done, &x[4], f->now) >= 0);
    uint8_t sub[] = {0x09, 0x01};
    assert_true(bacsc_client_request(f->cl, &d, BACSC_SERVICE_SUBSCRIBE_COV, sub, sizeof sub,
                                     on_done, &x[5], f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(x[0].r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(x[1].r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    assert_int_equal(x[2].r.outcome, BACSC_CLIENT_ERROR);   /* no File 1 */
    assert_int_equal(x[2].r.error_code, BACSC_EC_UNKNOWN_OBJECT);
    assert_int_equal(x[3].r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(x[4].r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(x[5].r.outcome, BACSC_CLIENT_REJECT);
    assert_int_equal(x[5].r.reason, BACSC_REJECT_UNRECOGNIZED_SERVICE);
    bacsc_rpm_spec empty = {{BACSC_OBJ_ANALOG_VALUE, 1}, refs, 0};
    assert_int_equal(
        bacsc_client_read_property_multiple(f->cl, &d, &empty, 1, on_done, &x[0], f->now),
        BACSC_ERR_INVALID_ARG);
}

static void test_malformed_input(void **state)
{
    fx *f = *state;
    bacsc_address src = fdl_addr(f->dn);
    uint8_t bad_npdu[] = {0x07, 0x00, 0x20, 0x01, 0x0C};
    assert_int_equal(bacsc_client_handle_npdu(f->cl, &src, bad_npdu, sizeof bad_npdu, f->now),
                     BACSC_ERR_MALFORMED);
    uint8_t bad_apdu[] = {0x01, 0x00, 0x90};
    assert_int_equal(bacsc_client_handle_npdu(f->cl, &src, bad_apdu, sizeof bad_apdu, f->now),
                     BACSC_ERR_MALFORMED);
    uint8_t bad_iam[] = {0x01, 0x00, 0x10, 0x00, 0xC4, 0x02};
    assert_int_equal(bacsc_client_handle_npdu(f->cl, &src, bad_iam, sizeof bad_iam, f->now),
                     BACSC_ERR_MALFORMED);
    uint8_t request[] = {0x01, 0x04, 0x00, 0x05, 0x01, 0x0C};
    assert_int_equal(bacsc_client_handle_npdu(f->cl, &src, request, sizeof request, f->now),
                     BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_client_device_count(f->cl), 0);
}

static void test_address_helpers(void **state)
{
    (void)state;
    char buf[BACSC_ADDRESS_STRLEN];
    bacsc_address a;
    assert_int_equal(bacsc_address_parse("02:41:b3:00:12:9f", &a), BACSC_OK);
    assert_int_equal(a.mac_len, 6);
    assert_string_equal(bacsc_address_format(&a, BACSC_DATALINK_SC, buf, sizeof buf),
                        "02:41:b3:00:12:9f");
    assert_int_equal(bacsc_address_parse("127.0.0.1:47808", &a), BACSC_OK);
    assert_string_equal(bacsc_address_format(&a, BACSC_DATALINK_BIP, buf, sizeof buf),
                        "127.0.0.1:47808");
    assert_string_equal(bacsc_address_format(&a, BACSC_DATALINK_SC, buf, sizeof buf),
                        "7f:00:00:01:ba:c0");
    assert_int_equal(bacsc_address_parse("broadcast", &a), BACSC_OK);
    assert_true(bacsc_address_is_broadcast(&a));
    assert_string_equal(bacsc_address_format(&a, 0, buf, sizeof buf), "broadcast");
    a = bacsc_address_global_broadcast();
    assert_string_equal(bacsc_address_format(&a, 0, buf, sizeof buf), "global-broadcast");
    a.net = 5;
    a.adr_len = 1;
    a.adr[0] = 0x0A;
    assert_string_equal(bacsc_address_format(&a, 0, buf, sizeof buf), "5:0a");
    assert_false(bacsc_address_is_broadcast(&a));
    const char *bad[] = {"", "0", "zz", "01:02:03:04:05:06:07:08", "01:", "1.2.3.4", "1.2.3.4:0",
                         "256.1.1.1:5", "1.2.3.4:70000", "01-02"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bacsc_address_parse(bad[i], &a), BACSC_ERR_MALFORMED);
    uint8_t m[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    a = bacsc_address_local(m, 8);
    assert_int_equal(a.mac_len, 0);
    bacsc_address x = bacsc_address_local(m, 6), y = bacsc_address_local(m, 6);
    y.adr[3] = 9;  /* unused fields do not matter */
    assert_true(bacsc_address_equal(&x, &y));
    y.mac[5] = 0;
    assert_false(bacsc_address_equal(&x, &y));
}

/* The NPDU header for a destination: none of DNET/DADR for a local station,
 * DNET + DADR + hop count for a remote one, DNET 0xFFFF without DADR for a
 * global broadcast. */
static void test_address_to_npdu(void **state)
{
    (void)state;
    uint8_t m[6] = {2, 0, 0, 0, 0, 9};
    bacsc_address a = bacsc_address_local(m, 6);
    bacsc_npdu n;
    bacsc_address_to_npdu(&a, true, &n);
    assert_false(n.has_dnet);
    assert_true(n.expecting_reply);
    a.net = 5;
    a.adr_len = 1;
    a.adr[0] = 0x0A;
    bacsc_address_to_npdu(&a, false, &n);
    assert_true(n.has_dnet);
    assert_false(n.expecting_reply);
    assert_int_equal(n.dnet, 5);
    assert_int_equal(n.dlen, 1);
    assert_int_equal(n.dadr[0], 0x0A);
    assert_int_equal(n.hop_count, 255);
    a = bacsc_address_global_broadcast();
    a.adr_len = 3;                 /* ignored: a global broadcast has no DADR */
    bacsc_address_to_npdu(&a, false, &n);
    assert_true(n.has_dnet);
    assert_int_equal(n.dnet, BACSC_NET_GLOBAL);
    assert_int_equal(n.dlen, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_after_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_failure_is_a_lost_message, setup, teardown),
        cmocka_unit_test(test_invoke_id_exhaustion),
        cmocka_unit_test(test_no_reuse_while_in_flight),
        cmocka_unit_test(test_pending_limit),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answers_matched_by_source_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_abort_results, setup, teardown),
        cmocka_unit_test(test_whois_collects_iams),
        cmocka_unit_test(test_request_over_peer_max_apdu),
        cmocka_unit_test(test_free_cancels),
        cmocka_unit_test_setup_teardown(test_callback_reentrancy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_request_kinds_encode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_input, setup, teardown),
        cmocka_unit_test(test_address_helpers),
        cmocka_unit_test(test_address_to_npdu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
