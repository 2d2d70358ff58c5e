/*
 * bench_sc_hub.c — cost of the sans-I/O hub function per relayed message.
 *
 * N nodes join one bacsc_sc_hub with scripted Connect-Requests; then node i
 * sends Encapsulated-NPDUs to node i^1 (pairs) and the destination's FIFO is
 * drained, as the event loop would: decode + validate + copy + rewrite +
 * enqueue + dequeue. No sockets, TLS or WebSocket framing: this is the upper
 * bound the core allows, to compare with `bacsc bench hub` end to end.
 *
 *   build/bench/bench_sc_hub [MESSAGES]     default 2,000,000 per case
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bacsc/error.h"
#include "bacsc/sc_hub.h"

#define NODES 1000

static bacsc_sc_hub_peer *peer[NODES];
static int dummy_io[NODES];
static volatile size_t sink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    static uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < len; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        buf[i] = (uint8_t)s;
    }
    return 0;
}

static bacsc_vmac vmac_of(int i)
{
    bacsc_vmac v = {{0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i}};
    return v;
}

static void drain(int i)
{
    const uint8_t *d;
    size_t n;
    while (bacsc_sc_hub_peek_output(peer[i], &d, &n)) {
        sink += n + d[0];
        bacsc_sc_hub_pop_output(peer[i]);
    }
}

static bacsc_sc_hub *setup(void)
{
    bacsc_sc_hub_config cfg;
    bacsc_sc_hub_config_default(&cfg);
    bacsc_sc_hub_callbacks cb = {.random = bench_random};
    bacsc_sc_hub *hub = bacsc_sc_hub_new(&cfg, &cb, NULL);
    for (int i = 0; i < NODES; i++) {
        peer[i] = bacsc_sc_hub_accept(hub, &dummy_io[i], 0, NULL);
        bacsc_bvlc_msg m;
        bacsc_bvlc_init(&m, BACSC_BVLC_CONNECT_REQUEST, (uint16_t)i);
        m.u.connect.vmac = vmac_of(i);
        memset(m.u.connect.uuid.b, 0x42, BACSC_UUID_LEN);
        m.u.connect.uuid.b[14] = (uint8_t)(i >> 8);
        m.u.connect.uuid.b[15] = (uint8_t)i;
        m.u.connect.max_bvlc_len = 1600;
        m.u.connect.max_npdu_len = 1497;
        uint8_t buf[64];
        int n = bacsc_bvlc_encode(&m, buf, sizeof buf);
        bacsc_sc_hub_recv(hub, peer[i], buf, (size_t)n, 0);
        drain(i);
    }
    return hub;
}

static void unicast_case(long count, size_t npdu_len)
{
    bacsc_sc_hub *hub = setup();
    static uint8_t npdu[1497];
    static uint8_t msgs[NODES][1600];
    static size_t lens[NODES];
    for (int i = 0; i < NODES; i++) {
        bacsc_bvlc_msg m;
        bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, 1);
        m.has_dest = true;
        m.dest = vmac_of(i ^ 1);
        m.payload = npdu;
        m.payload_len = npdu_len;
        lens[i] = (size_t)bacsc_bvlc_encode(&m, msgs[i], sizeof msgs[i]);
    }
    double best = 1e9;
    for (int run = 0; run < 3; run++) {
        double t0 = now_s();
        for (long k = 0; k < count; k++) {
            int i = (int)(k % NODES);
            bacsc_sc_hub_recv(hub, peer[i], msgs[i], lens[i], (uint64_t)k);
            drain(i ^ 1);
        }
        double dt = now_s() - t0;
        if (dt < best)
            best = dt;
    }
    /* floor: copying each message once (the core keeps one copy per message) */
    static uint8_t copy[1600];
    double fbest = 1e9;
    for (int run = 0; run < 3; run++) {
        double t0 = now_s();
        for (long k = 0; k < count; k++) {
            int i = (int)(k % NODES);
            memcpy(copy, msgs[i], lens[i]);
            sink += copy[k & 7];
        }
        double dt = now_s() - t0;
        if (dt < fbest)
            fbest = dt;
    }
    const bacsc_sc_hub_stats *s = bacsc_sc_hub_stats_get(hub);
    double ns = best / (double)count * 1e9, fns = fbest / (double)count * 1e9;
    printf("unicast  %4zu-octet NPDU  %8.0f ns/msg  %10.0f msgs/s  (forwarded %llu, dropped %llu)"
           "  floor %.1f ns  ratio %.1f×\n",
           npdu_len, ns, (double)count / best, (unsigned long long)s->unicast_forwarded,
           (unsigned long long)s->queue_dropped, fns, ns / fns);
    bacsc_sc_hub_free(hub);
}

static void broadcast_case(long count)
{
    bacsc_sc_hub *hub = setup();
    uint8_t msg[64];
    static const uint8_t npdu[13] = {1};
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, 1);
    m.has_dest = true;
    m.dest = BACSC_VMAC_BROADCAST;
    m.payload = npdu;
    m.payload_len = sizeof npdu;
    size_t len = (size_t)bacsc_bvlc_encode(&m, msg, sizeof msg);
    double t0 = now_s();
    long copies = 0;
    for (long k = 0; k < count; k++) {
        bacsc_sc_hub_recv(hub, peer[k % NODES], msg, len, (uint64_t)k);
        for (int i = 0; i < NODES; i++)
            drain(i);
        copies += NODES - 1;
    }
    double dt = now_s() - t0;
    /* floor per copy: storing a reference to the one shared buffer in each
     * destination's slot */
    static const uint8_t *slot[NODES];
    double f0 = now_s();
    for (long k = 0; k < count; k++)
        for (int i = 0; i < NODES; i++) {
            slot[i] = msg + (k & 1);
            __asm__ volatile("" ::: "memory");
        }
    double fns = (now_s() - f0) / (double)copies * 1e9, ns = dt / (double)copies * 1e9;
    sink += slot[3][0];
    printf("broadcast to %d nodes       %8.0f ns/copy %10.0f copies/s  floor %.1f ns  ratio "
           "%.1f×\n",
           NODES - 1, ns, (double)copies / dt, fns, ns / fns);
    bacsc_sc_hub_free(hub);
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 2000000;
    if (count <= 0)
        count = 2000000;
    printf("bacsc hub function core, %d nodes, best of 3 runs\n", NODES);
    unicast_case(count, 64);
    unicast_case(count, 1400);
    broadcast_case(count / 1000 > 0 ? count / 1000 : 1);
    printf("floors: unicast, copying each message once; broadcast, storing a reference per "
           "destination (same loops, same run)\n");
    return sink == 42;
}
