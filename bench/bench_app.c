/*
 * bench_app.c — cost of the BACnet application layer without any I/O:
 * ns per request handled by a device (NPDU in → answer NPDU out through the
 * datalink callback) and per client+device round trip in memory.
 *
 *   build/bench/bench_app [iterations]      (default 1,000,000)
 *
 * Each figure is the best of 5 runs (monotonic clock), so it reflects the
 * code and not scheduler noise on a shared machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bacsc/client.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/services.h"

static volatile uint64_t sink;
static uint8_t last[1600];
static size_t last_len;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int keep(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    (void)user;
    (void)dest;
    memcpy(last, npdu, len);
    last_len = len;
    sink += len;
    return 0;
}

static bacsc_device *make_device(void)
{
    bacsc_device_config c;
    memset(&c, 0, sizeof c);
    c.instance = 1001;
    c.name = "bench";
    c.vendor_name = "bacsc";
    c.link.send = keep;
    bacsc_device *dev;
    if (bacsc_device_new(&c, &dev) != BACSC_OK)
        exit(1);
    char name[32];
    for (uint32_t i = 1; i <= 20; i++) {
        snprintf(name, sizeof name, "AV %u", (unsigned)i);
        bacsc_device_add_analog_value(dev, i, name, 21.5f, 62, NULL);
    }
    bacsc_device_add_netport_sc(dev, 1, "SC port", NULL, NULL, NULL);
    return dev;
}

static size_t build(uint8_t *out, uint8_t service, const uint8_t *body, size_t n)
{
    uint8_t apdu[256];
    int a = bacsc_encode_confirmed(apdu, sizeof apdu, service, 7, 5, body, n);
    bacsc_npdu np;
    bacsc_npdu_init(&np, true);
    np.payload = apdu;
    np.payload_len = (size_t)a;
    return (size_t)bacsc_npdu_encode(out, 300, &np);
}

/* The floor of a request: handing its answer of `len` octets to the datalink
 * callback (which copies it), the one thing every handled request must do. */
static double floor_ns(size_t len, long iters)
{
    static uint8_t ans[1600];
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 2};
    bacsc_address dst = bacsc_address_local(mac, 6);
    size_t keep_len = last_len;
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            ans[0] = (uint8_t)i;
            keep(NULL, &dst, ans, len);
        }
        double ns = (double)(now_ns() - t0) / (double)iters;
        if (ns < best)
            best = ns;
    }
    last_len = keep_len;
    return best;
}

static void run(const char *label, bacsc_device *dev, const uint8_t *req, size_t len, long iters)
{
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 2};
    bacsc_address src = bacsc_address_local(mac, 6);
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = now_ns();
        for (long i = 0; i < iters; i++)
            bacsc_device_handle_npdu(dev, &src, req, len, (uint64_t)i);
        double ns = (double)(now_ns() - t0) / (double)iters;
        if (ns < best)
            best = ns;
    }
    double fl = floor_ns(last_len, iters);
    printf("%-44s %9.1f ns/op %12.0f ops/s  (answer %zu octets)  floor %.1f ns  ratio %.1f×\n",
           label, best, 1e9 / best, last_len, fl, best / fl);
}

/* Client + device round trip in memory. */
static bacsc_device *rt_dev;
static bacsc_client *rt_cl;
static int rt_done;

static int to_device(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    (void)user;
    (void)dest;
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 2};
    bacsc_address src = bacsc_address_local(mac, 6);
    return bacsc_device_handle_npdu(rt_dev, &src, npdu, len, 0) == BACSC_OK ? 0 : -1;
}

static int to_client(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    (void)user;
    (void)dest;
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    bacsc_address src = bacsc_address_local(mac, 6);
    bacsc_client_handle_npdu(rt_cl, &src, npdu, len, 0);
    return 0;
}

static void rt_done_cb(void *user, const bacsc_client_result *r)
{
    (void)user;
    if (r->outcome == BACSC_CLIENT_COMPLEX_ACK)
        rt_done++;
}

static void round_trip(long iters)
{
    bacsc_device_config c;
    memset(&c, 0, sizeof c);
    c.instance = 1001;
    c.name = "rt";
    c.link.send = to_client;
    bacsc_device_new(&c, &rt_dev);
    bacsc_device_add_analog_value(rt_dev, 1, "AV 1", 21.5f, 62, NULL);
    bacsc_client_config cc;
    memset(&cc, 0, sizeof cc);
    cc.link.send = to_device;
    bacsc_client_new(&cc, &rt_cl);
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    bacsc_address dest = bacsc_address_local(mac, 6);
    bacsc_rp_request rp = {{BACSC_OBJ_ANALOG_VALUE, 1}, BACSC_PROP_PRESENT_VALUE, false, 0};
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        rt_done = 0;
        uint64_t t0 = now_ns();
        for (long i = 0; i < iters; i++)
            bacsc_client_read_property(rt_cl, &dest, &rp, rt_done_cb, NULL, 0);
        double ns = (double)(now_ns() - t0) / (double)iters;
        if (rt_done != iters) {
            fprintf(stderr, "round trip: %d of %ld completed\n", rt_done, iters);
            exit(1);
        }
        if (ns < best)
            best = ns;
    }
    double fl = 2 * floor_ns(19, iters); /* request and answer handed over */
    printf("%-44s %9.1f ns/op %12.0f ops/s  floor %.1f ns  ratio %.1f×\n",
           "client RP -> device -> client (in memory)", best, 1e9 / best, fl, best / fl);
    printf("floor: handing the answer (round trip: request and answer) to the datalink callback, "
           "which copies it, through the same harness\n");
    bacsc_client_free(rt_cl);
    bacsc_device_free(rt_dev);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    if (iters <= 0)
        iters = 1000000;
    bacsc_device *dev = make_device();
    uint8_t req[300], body[64];
    bacsc_rp_request rp = {{BACSC_OBJ_ANALOG_VALUE, 20}, BACSC_PROP_PRESENT_VALUE, false, 0};
    int n = bacsc_rp_request_encode(body, sizeof body, &rp);
    size_t len = build(req, BACSC_SERVICE_READ_PROPERTY, body, (size_t)n);
    run("device ReadProperty analog-value,20 pv", dev, req, len, iters);

    rp = (bacsc_rp_request){{BACSC_OBJ_NETWORK_PORT, 1},
                            BACSC_PROP_SC_PRIMARY_HUB_CONNECTION_STATUS, false, 0};
    n = bacsc_rp_request_encode(body, sizeof body, &rp);
    len = build(req, BACSC_SERVICE_READ_PROPERTY, body, (size_t)n);
    run("device ReadProperty sc-primary-hub-conn-status", dev, req, len, iters);

    uint8_t val[8];
    int vn = bacsc_app_encode_real(val, sizeof val, 42.0f);
    bacsc_wp_request wp = {{BACSC_OBJ_ANALOG_VALUE, 10}, BACSC_PROP_PRESENT_VALUE, false, 0,
                           val, (size_t)vn, true, 8};
    n = bacsc_wp_request_encode(body, sizeof body, &wp);
    len = build(req, BACSC_SERVICE_WRITE_PROPERTY, body, (size_t)n);
    run("device WriteProperty analog-value,10 pv @8", dev, req, len, iters);

    size_t pos = 0;
    bacsc_object_id devid = {BACSC_OBJ_DEVICE, 1001};
    bacsc_rpm_ref all = {BACSC_PROP_ALL, false, 0};
    pos += (size_t)bacsc_rpm_encode_object_begin(body + pos, sizeof body - pos, &devid);
    pos += (size_t)bacsc_rpm_encode_ref(body + pos, sizeof body - pos, &all);
    pos += (size_t)bacsc_rpm_encode_object_end(body + pos, sizeof body - pos);
    len = build(req, BACSC_SERVICE_READ_PROPERTY_MULTIPLE, body, pos);
    run("device ReadPropertyMultiple device ALL", dev, req, len, iters / 10 ? iters / 10 : 1);

    round_trip(iters);
    bacsc_device_free(dev);
    return sink == 0;
}
