/*
 * bench_router — what one `bacsc router` hop costs (bench/router.sh runs it).
 *
 *   bench_router --router A.B.C.D:PORT --bip-net N --sc-net M --hub URI
 *                --cert F --key F --cert2 F --key2 F --ca F --device INSTANCE [--seconds S]
 *                [--requests R] [--window W] [--bind A.B.C.D:PORT]
 *
 * One process, one event loop, three endpoints: a BACnet/IP socket on
 * 127.0.0.1 (network N; --bind, where the router's broadcasts must go) and
 * two BACnet/SC nodes (network M, through the hub).
 *
 *  1. forwarding rate IP→SC: the B/IP endpoint sends small NPDUs (14
 *     octets: DNET M, DADR = our SC VMAC, an unconfirmed APDU) to the
 *     router, W in flight; the SC endpoint counts what arrives. SC→IP the
 *     same the other way (DNET N, DADR = our B/IP address, to the router's
 *     VMAC). Floor, same run: the same NPDUs SC→SC through the hub alone
 *     (the path without the router).
 *  2. latency: R sequential ReadProperty (device object-name) to device
 *     INSTANCE on the SC network, from the SC endpoint straight through the
 *     hub (floor) and from the B/IP endpoint through the router; median and
 *     p99 round trip, and the difference = the router hop.
 *
 * Loss: a window that makes no progress for 200 ms is refilled and the
 * missing NPDUs counted as lost (UDP may drop under load).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench_floor.h"
#include "bacsc/bip_link.h"
#include "bacsc/client.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/npdu.h"
#include "bacsc/sc_node.h"
#include "bacsc/tls.h"
#include "cli/sc_cli.h"

enum { MODE_IDLE, MODE_FLOOD, MODE_RP };
enum { DIR_IP_SC, DIR_SC_IP, DIR_SC_SC };

typedef struct bench {
    bacsc_loop *loop;
    bacsc_bip_link *bip;
    bacsc_sc_node *node, *node2;   /* node2: the floor's receiver */
    bacsc_client *bip_cl, *sc_cl;
    bacsc_address router_bip, router_vmac;
    bool have_router_vmac;
    uint16_t bip_net, sc_net;
    int mode, dir;
    /* flood */
    uint64_t sent, recvd, lost, last_progress_recvd, last_progress_at, end_at, started;
    unsigned window;
    uint8_t npdu[32];
    size_t npdu_len;
    bacsc_address flood_to;
    bacsc_timer check;
    /* latency */
    bacsc_address dev_bip, dev_sc;
    uint32_t instance;
    unsigned nreq, done_req;
    uint64_t t0, *rtt;
    bool on_bip;
    bool failed;
} bench;

static bench B;

static void sc_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                    uint64_t now)
{
    (void)user;
    bacsc_npdu n;
    if (B.mode == MODE_FLOOD && B.dir == DIR_IP_SC &&
        bacsc_npdu_decode(npdu, len, &n) >= 0 && !n.network_msg && n.payload_len == 2 &&
        n.payload[0] == 0x10 && n.payload[1] == 0x99) {
        B.recvd++;
        return;
    }
    if (bacsc_npdu_decode(npdu, len, &n) >= 0 && n.network_msg &&
        n.msg_type == BACSC_NMSG_I_AM_ROUTER_TO_NETWORK && !B.have_router_vmac) {
        B.router_vmac = *src;
        B.have_router_vmac = true;
    }
    bacsc_client_handle_npdu(B.sc_cl, src, npdu, len, now);
}

static void sc2_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                     uint64_t now)
{
    (void)user;
    (void)src;
    (void)now;
    bacsc_npdu n;
    if (B.mode == MODE_FLOOD && B.dir == DIR_SC_SC && bacsc_npdu_decode(npdu, len, &n) >= 0 &&
        !n.network_msg && n.payload_len == 2 && n.payload[1] == 0x99)
        B.recvd++;
}

static void bip_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                     const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    (void)user;
    (void)link;
    (void)broadcast;
    bacsc_npdu n;
    if (B.mode == MODE_FLOOD && B.dir == DIR_SC_IP && bacsc_npdu_decode(npdu, len, &n) >= 0 &&
        !n.network_msg && n.payload_len == 2 && n.payload[1] == 0x99) {
        B.recvd++;
        return;
    }
    bacsc_client_handle_npdu(B.bip_cl, src, npdu, len, now);
}

static void flood_fill(void)
{
    while (B.sent - B.recvd - B.lost < B.window) {
        int rc = B.dir == DIR_IP_SC ? bacsc_bip_link_send(B.bip, &B.flood_to, B.npdu, B.npdu_len)
                                    : bacsc_sc_node_send(B.node, &B.flood_to, B.npdu, B.npdu_len);
        if (rc < 0)
            break;
        B.sent++;
    }
}

static void on_check(bacsc_loop *loop, void *user)
{
    (void)user;
    uint64_t now = bacsc_loop_update_time(loop);
    if (B.mode != MODE_FLOOD)
        return;
    if (now >= B.end_at) {
        bacsc_loop_stop(loop);
        return;
    }
    if (B.recvd != B.last_progress_recvd) {
        B.last_progress_recvd = B.recvd;
        B.last_progress_at = now;
    } else if (now - B.last_progress_at > 200000) {
        B.lost += B.sent - B.recvd - B.lost;  /* the window stalled: count it lost */
        B.last_progress_at = now;
    }
    flood_fill();
    bacsc_timer_start(loop, &B.check, 200);
}

static void run_loop_for(uint64_t us)
{
    uint64_t end = bacsc_loop_update_time(B.loop) + us;
    while (bacsc_loop_update_time(B.loop) < end && !B.failed) {
        bacsc_loop_run_once(B.loop, 1000);
        uint64_t now = bacsc_loop_now(B.loop);
        if (B.bip_cl && bacsc_client_expiry(B.bip_cl) <= now)
            bacsc_client_handle_expiry(B.bip_cl, now);
        if (B.sc_cl && bacsc_client_expiry(B.sc_cl) <= now)
            bacsc_client_handle_expiry(B.sc_cl, now);
        if (B.mode == MODE_IDLE && us == UINT64_MAX)
            break;
    }
}

/* One flood run; returns NPDUs/s delivered. */
static double flood(int dir, double seconds, const char *label)
{
    B.dir = dir;
    bacsc_npdu n;
    bacsc_npdu_init(&n, false);
    static const uint8_t apdu[2] = {0x10, 0x99};  /* unconfirmed, proprietary-range choice */
    n.payload = apdu;
    n.payload_len = 2;
    const bacsc_vmac *v = bacsc_sc_node_vmac(B.node);
    bacsc_address me_bip = bacsc_bip_link_address(B.bip);
    memcpy(me_bip.mac, "\x7f\x00\x00\x01", 4);
    if (dir == DIR_IP_SC) {
        n.has_dnet = true;
        n.dnet = B.sc_net;
        n.dlen = 6;
        n.dadr = v->b;
        B.flood_to = B.router_bip;
    } else if (dir == DIR_SC_IP) {
        n.has_dnet = true;
        n.dnet = B.bip_net;
        n.dlen = 6;
        n.dadr = me_bip.mac;
        B.flood_to = B.router_vmac;
    } else {
        const bacsc_vmac *v2 = bacsc_sc_node_vmac(B.node2);
        B.flood_to = bacsc_address_local(v2->b, 6);  /* to the other node, through the hub */
    }
    int len = bacsc_npdu_encode(B.npdu, sizeof B.npdu, &n);
    B.npdu_len = (size_t)len;
    B.sent = B.recvd = B.lost = B.last_progress_recvd = 0;
    B.mode = MODE_FLOOD;
    uint64_t now = bacsc_loop_update_time(B.loop);
    B.started = B.last_progress_at = now;
    B.end_at = now + (uint64_t)(seconds * 1e6);
    flood_fill();
    bacsc_timer_start(B.loop, &B.check, 200);
    bacsc_loop_run(B.loop);
    B.mode = MODE_IDLE;
    double el = (double)(bacsc_loop_update_time(B.loop) - B.started) / 1e6;
    run_loop_for(300000);  /* drain */
    double rate = (double)B.recvd / el;
    printf("%-44s %10.0f NPDU/s  (%llu sent, %llu delivered, %llu lost, %u-octet NPDUs)\n", label,
           rate, (unsigned long long)B.sent, (unsigned long long)B.recvd,
           (unsigned long long)B.lost, (unsigned)B.npdu_len);
    fflush(stdout);
    return rate;
}

static void rp_done(void *user, const bacsc_client_result *r);

static void rp_send(void)
{
    bacsc_rp_request rp = {.object = {.type = 8, .instance = B.instance}, .property = 77,
                           .index = BACSC_ARRAY_ALL};
    B.t0 = bacsc_loop_update_time(B.loop);
    int rc = bacsc_client_read_property(B.on_bip ? B.bip_cl : B.sc_cl,
                                        B.on_bip ? &B.dev_bip : &B.dev_sc, &rp, rp_done, NULL, B.t0);
    if (rc < 0)
        B.failed = true;
}

static void rp_done(void *user, const bacsc_client_result *r)
{
    (void)user;
    if (r->outcome != BACSC_CLIENT_COMPLEX_ACK) {
        char buf[120];
        fprintf(stderr, "bench_router: ReadProperty failed: %s\n",
                bacsc_client_result_format(r, buf, sizeof buf));
        B.failed = true;
        return;
    }
    B.rtt[B.done_req++] = bacsc_loop_update_time(B.loop) - B.t0;
    if (B.done_req < B.nreq)
        rp_send();
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double latency(bool on_bip, const char *label, double *p99)
{
    B.on_bip = on_bip;
    B.done_req = 0;
    B.mode = MODE_RP;
    rp_send();
    while (B.done_req < B.nreq && !B.failed)
        run_loop_for(10000);
    B.mode = MODE_IDLE;
    if (B.failed)
        return -1;
    qsort(B.rtt, B.nreq, sizeof *B.rtt, cmp_u64);
    double med = (double)B.rtt[B.nreq / 2], q = (double)B.rtt[B.nreq * 99 / 100];
    printf("%-44s %10.1f us median  %8.1f us p99  (%u requests)\n", label, med, q, B.nreq);
    fflush(stdout);
    *p99 = q;
    return med;
}

static const char *arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

static void found_iam(void *user, const bacsc_client_device *d)
{
    (void)user;
    (void)d;
}

static int setup(int argc, char **argv)
{
    const char *router = arg(argc, argv, "--router", NULL), *hub = arg(argc, argv, "--hub", NULL);
    const char *cert = arg(argc, argv, "--cert", NULL), *key = arg(argc, argv, "--key", NULL);
    const char *ca = arg(argc, argv, "--ca", NULL);
    if (!router || !hub || !cert || !key || !ca) {
        fprintf(stderr, "usage: bench_router --router ADDR:PORT --bip-net N --sc-net M --hub URI "
                        "--cert F --key F --ca F --device I [--seconds S] [--requests R] "
                        "[--window W]\n");
        return 2;
    }
    B.bip_net = (uint16_t)atoi(arg(argc, argv, "--bip-net", "1"));
    B.sc_net = (uint16_t)atoi(arg(argc, argv, "--sc-net", "2"));
    B.instance = (uint32_t)atoi(arg(argc, argv, "--device", "1001"));
    B.nreq = (unsigned)atoi(arg(argc, argv, "--requests", "1000"));
    B.window = (unsigned)atoi(arg(argc, argv, "--window", "32"));
    B.rtt = calloc(B.nreq ? B.nreq : 1, sizeof *B.rtt);
    bacsc_bip_addr ra;
    if (bacsc_bip_addr_parse(router, 47808, &ra) != BACSC_OK)
        return 2;
    B.router_bip = bacsc_bip_addr_to_address(&ra);
    B.loop = bacsc_loop_new();
    bacsc_timer_init(&B.check, on_check, NULL);
    bacsc_bip_link_config bc = {.recv = bip_recv};
    if (bacsc_bip_addr_parse(arg(argc, argv, "--bind", "127.0.0.1:0"), 0, &bc.bind) != BACSC_OK)
        return 2;
    if (bacsc_bip_link_new(B.loop, &bc, &B.bip) != BACSC_OK)
        return 1;
    /* two nodes, each with its own certificate and that certificate's
     * Device UUID (hubs may bind the UUID to the certificate) */
    const char *cert2 = arg(argc, argv, "--cert2", cert), *key2 = arg(argc, argv, "--key2", key);
    bacsc_tls_config tc = {.cert_file = cert, .key_file = key, .issuer_files = {ca}};
    bacsc_tls_config tc2 = {.cert_file = cert2, .key_file = key2, .issuer_files = {ca}};
    char err[256];
    bacsc_tls_ctx *tls = bacsc_tls_ctx_new(&tc, false, err, sizeof err);
    bacsc_tls_ctx *tls2 = tls ? bacsc_tls_ctx_new(&tc2, false, err, sizeof err) : NULL;
    if (!tls || !tls2) {
        fprintf(stderr, "bench_router: %s\n", err);
        return 1;
    }
    bacsc_sc_node_config nc = {.name = "bench", .primary_uri = hub, .tls = tls};
    if (sc_cert_uuid(cert, &nc.uuid) != 0)
        bacsc_io_random(NULL, nc.uuid.b, 16);
    bacsc_sc_node_callbacks cb = {.npdu = sc_npdu}, cb2 = {.npdu = sc2_npdu};
    bacsc_sc_node_config nc2 = nc;
    nc2.name = "bench-floor";
    nc2.tls = tls2;
    if (sc_cert_uuid(cert2, &nc2.uuid) != 0)
        bacsc_io_random(NULL, nc2.uuid.b, 16);
    if (bacsc_sc_node_new(B.loop, &nc, &cb, &B.node, err, sizeof err) != BACSC_OK ||
        bacsc_sc_node_new(B.loop, &nc2, &cb2, &B.node2, err, sizeof err) != BACSC_OK) {
        fprintf(stderr, "bench_router: %s\n", err);
        return 1;
    }
    bacsc_client_config c1 = {.link = bacsc_bip_link_datalink(B.bip), .on_iam = found_iam};
    bacsc_client_config c2 = {.link = bacsc_sc_node_datalink(B.node), .on_iam = found_iam};
    if (bacsc_client_new(&c1, &B.bip_cl) != BACSC_OK || bacsc_client_new(&c2, &B.sc_cl) != BACSC_OK)
        return 1;
    bacsc_sc_node_start(B.node);
    bacsc_sc_node_start(B.node2);
    return 0;
}

/* Wait (at most 10 s) until `ok()` holds, running the loop. */
static bool wait_for(bool (*ok)(void), const char *what)
{
    uint64_t end = bacsc_loop_update_time(B.loop) + 10000000;
    while (!ok() && bacsc_loop_update_time(B.loop) < end)
        run_loop_for(20000);
    if (!ok())
        fprintf(stderr, "bench_router: no %s within 10 s\n", what);
    return ok();
}

static bool joined(void)
{
    return bacsc_sc_node_state(B.node) != 0 && bacsc_sc_node_state(B.node2) != 0;
}

static bool router_known(void)
{
    return B.have_router_vmac;
}

static bool devices_found(void)
{
    const bacsc_client_device *a = bacsc_client_find_device(B.bip_cl, B.instance);
    const bacsc_client_device *b = bacsc_client_find_device(B.sc_cl, B.instance);
    if (a)
        B.dev_bip = a->address;
    if (b)
        B.dev_sc = b->address;
    return a && b && a->address.net == B.sc_net;
}

int main(int argc, char **argv)
{
    bacsc_log_set_level(BACSC_LOG_WARN);
    int rc = setup(argc, argv);
    if (rc)
        return rc;
    double seconds = atof(arg(argc, argv, "--seconds", "3"));
    if (!wait_for(joined, "hub connection"))
        return 1;
    /* the router's VMAC: ask it (Who-Is-Router-To-Network) on the SC side */
    static const uint8_t wirtn[] = {0x01, 0x80, 0x00};
    bacsc_address bcast = bacsc_address_local_broadcast();
    for (int i = 0; i < 20 && !B.have_router_vmac; i++) {
        bacsc_sc_node_send(B.node, &bcast, wirtn, sizeof wirtn);
        run_loop_for(200000);
    }
    if (!wait_for(router_known, "I-Am-Router-To-Network from the router"))
        return 1;
    bacsc_whois w = {.has_range = true, .low = B.instance, .high = B.instance};
    bacsc_address remote = B.router_bip;  /* a remote broadcast on M, handed to the router */
    remote.net = B.sc_net;
    for (int i = 0; i < 20 && !devices_found(); i++) {
        bacsc_client_whois(B.bip_cl, &remote, &w, bacsc_loop_now(B.loop));
        bacsc_client_whois(B.sc_cl, NULL, &w, bacsc_loop_now(B.loop));
        run_loop_for(300000);
    }
    if (!wait_for(devices_found, "I-Am from the device on both sides"))
        return 1;
    printf("# bench_router: window %u, %.1f s per flood run, %u ReadProperty per latency run\n",
           B.window, seconds, B.nreq);
    double floor_rate = flood(DIR_SC_SC, seconds, "floor: SC -> hub -> SC (no router)");
    double ip_sc = flood(DIR_IP_SC, seconds, "IP -> router -> hub -> SC");
    double sc_ip = flood(DIR_SC_IP, seconds, "SC -> hub -> router -> IP");
    double p99a, p99b;
    double direct = latency(false, "floor: ReadProperty SC client -> hub -> dev", &p99a);
    double routed = latency(true, "ReadProperty IP client -> router -> hub -> dev", &p99b);
    if (direct < 0 || routed < 0)
        return 1;
    printf("%-44s %10.1f us median  %8.1f us p99\n", "added by one router hop", routed - direct,
           p99b - p99a);
    printf("forwarding IP->SC %.0f%% and SC->IP %.0f%% of the hub-only floor\n",
           100.0 * ip_sc / (floor_rate > 0 ? floor_rate : 1),
           100.0 * sc_ip / (floor_rate > 0 ? floor_rate : 1));
    printf("ratio to the floor (cost per NPDU or per request / the floor's): IP->SC %.2f×, "
           "SC->IP %.2f×, ReadProperty median %.2f×, p99 %.2f×\n",
           ip_sc > 0 ? floor_rate / ip_sc : 0, sc_ip > 0 ? floor_rate / sc_ip : 0,
           direct > 0 ? routed / direct : 0, p99a > 0 ? p99b / p99a : 0);
    /* and the machine's floor under both: plain loopback TCP between two processes */
    bench_floor_lat tcp;
    if (bench_floor_tcp_rtt(16, 2, 0.5, 100000, &tcp) == 0)
        printf("machine floor: 2 plain loopback TCP round trips (client -> hub -> dev and back) "
               "p50 %.1f us, p99 %.1f us: ReadProperty direct %.2f×, routed %.2f× at the "
               "median\n",
               tcp.p50_us, tcp.p99_us, direct / tcp.p50_us, routed / tcp.p50_us);
    bacsc_client_free(B.bip_cl);
    bacsc_client_free(B.sc_cl);
    bacsc_sc_node_free(B.node);
    bacsc_sc_node_free(B.node2);
    bacsc_bip_link_free(B.bip);
    bacsc_loop_free(B.loop);
    free(B.rtt);
    return 0;
}
