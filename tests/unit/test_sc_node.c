/*
 * test_sc_node.c — the BACnet/SC runtime glue (sc_hubd.h, sc_node.h) in one
 * process: real epoll loop, real TLS 1.3 sockets on 127.0.0.1, the sans-I/O
 * hub and connector underneath.
 *
 *   - two nodes join a hub server; broadcast and unicast NPDUs arrive with
 *     the sender's VMAC as source; the hub lists both peers with addresses;
 *     the Network Port state says connected-to-primary;
 *   - a node stops (Disconnect-Request) and goes idle; the hub shuts down and
 *     the other node sees no-hub-connection; the hub goes idle;
 *   - failover: the primary disappears → the node is on the failover
 *     (state 2); a primary reappears on the same port → back to state 1;
 *   - URI policy: ws:// without insecure_plaintext, other schemes refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/sc_hubd.h"
#include "bacsc/sc_node.h"
#include "support_sc.h"

static sct_env env;
static bacsc_loop *loop;
static bacsc_tls_ctx *stls, *ctls;

struct rx {
    int count;
    bacsc_address src;
    uint8_t last[64];
    size_t len;
    int state;
    int state_changes;
};

static void on_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                    uint64_t now)
{
    (void)now;
    struct rx *r = user;
    r->count++;
    r->src = *src;
    r->len = len < sizeof r->last ? len : sizeof r->last;
    memcpy(r->last, npdu, r->len);
}

static void on_state(void *user, int state)
{
    struct rx *r = user;
    r->state = state;
    r->state_changes++;
}

typedef bool (*pred_fn)(void *arg);

static bool run_until(pred_fn pred, void *arg, int ms)
{
    uint64_t end = bacsc_loop_update_time(loop) + (uint64_t)ms * 1000;
    while (!pred(arg)) {
        if (bacsc_loop_update_time(loop) > end)
            return false;
        bacsc_loop_run_once(loop, 10000);
    }
    return true;
}

static bool both_connected(void *arg)
{
    struct rx *r = arg;
    return r[0].state == 1 && r[1].state == 1;
}

static bool got_one(void *arg)
{
    return ((struct rx *)arg)->count > 0;
}

static bool node_idle(void *arg)
{
    return bacsc_sc_node_idle(arg);
}

static bool hubd_idle(void *arg)
{
    return bacsc_hubd_idle(arg);
}

static bool state_is_0(void *arg)
{
    return ((struct rx *)arg)->state == 0;
}

static bool state_is_1(void *arg)
{
    return ((struct rx *)arg)->state == 1;
}

static bool state_is_2(void *arg)
{
    return ((struct rx *)arg)->state == 2;
}

static int setup(void **state)
{
    (void)state;
    if (sct_env_setup(&env, "test-sc-node") != 0)
        return -1;
    loop = env.loop;
    stls = sct_tls(&env, true, "server", "ca1", NULL, NULL);
    ctls = sct_tls(&env, false, "client", "ca1", NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bacsc_tls_ctx_free(stls);
    bacsc_tls_ctx_free(ctls);
    return sct_env_teardown(&env);
}

static bacsc_hubd *make_hub(const char *listen)
{
    /* Every node here shares one test certificate but has its own UUID. */
    bacsc_hubd_config hc = {.listen = listen, .tls = stls,
                            .uuid_binding = BACSC_SC_UUID_BINDING_OFF};
    bacsc_sc_hub_config_default(&hc.hub);
    hc.hub.vmac.b[0] = 0x02;
    hc.hub.vmac.b[5] = 0x99;
    char err[256];
    bacsc_hubd *h = NULL;
    assert_int_equal(bacsc_hubd_new(loop, &hc, &h, err, sizeof err), BACSC_OK);
    return h;
}

static bacsc_sc_node *make_node(const char *primary, const char *failover, uint8_t id,
                                struct rx *r)
{
    bacsc_sc_node_config nc = {.name = "test node",
                               .primary_uri = primary,
                               .failover_uri = failover,
                               .tls = ctls,
                               .connect_wait_us = 2000000,
                               .reconnect_min_us = 100000,
                               .reconnect_max_us = 400000};
    nc.uuid.b[0] = id;
    nc.uuid.b[15] = 0x42;
    bacsc_sc_node_callbacks cb = {.npdu = on_npdu, .state_changed = on_state, .user = r};
    char err[256];
    bacsc_sc_node *n = NULL;
    assert_int_equal(bacsc_sc_node_new(loop, &nc, &cb, &n, err, sizeof err), BACSC_OK);
    assert_int_equal(bacsc_sc_node_start(n), BACSC_OK);
    return n;
}

static int count_peers;
static void count_peer(const bacsc_hubd_peer_info *pi, void *arg)
{
    (void)arg;
    if (pi->hub.connected && strncmp(pi->address, "127.0.0.1:", 10) == 0)
        count_peers++;
}

static void two_nodes_through_a_hub(void **state)
{
    (void)state;
    bacsc_hubd *h = make_hub("127.0.0.1:0");
    char uri[64];
    snprintf(uri, sizeof uri, "wss://127.0.0.1:%u", bacsc_hubd_port(h));
    struct rx r[2] = {{0}};
    bacsc_sc_node *a = make_node(uri, NULL, 1, &r[0]);
    bacsc_sc_node *b = make_node(uri, NULL, 2, &r[1]);
    assert_true(run_until(both_connected, r, 5000));
    count_peers = 0;
    bacsc_hubd_foreach_peer(h, count_peer, NULL);
    assert_int_equal(count_peers, 2);

    /* broadcast from a → b only */
    const uint8_t npdu[] = {0x01, 0x00, 0x10, 0x08};
    bacsc_address bc = bacsc_address_local_broadcast();
    assert_int_equal(bacsc_sc_node_send(a, &bc, npdu, sizeof npdu), BACSC_OK);
    assert_true(run_until(got_one, &r[1], 3000));
    assert_int_equal(r[1].len, sizeof npdu);
    assert_memory_equal(r[1].last, npdu, sizeof npdu);
    assert_int_equal(r[1].src.mac_len, 6);
    assert_memory_equal(r[1].src.mac, bacsc_sc_node_vmac(a)->b, 6);
    for (int i = 0; i < 20; i++)
        bacsc_loop_run_once(loop, 1000);
    assert_int_equal(r[0].count, 0);

    /* unicast b → a through the datalink interface */
    bacsc_address to_a = bacsc_address_local(bacsc_sc_node_vmac(a)->b, 6);
    bacsc_datalink dl = bacsc_sc_node_datalink(b);
    const uint8_t npdu2[] = {0x01, 0x04, 0x00, 0x05, 0x01, 0x0c};
    assert_int_equal(dl.send(dl.user, &to_a, npdu2, sizeof npdu2), BACSC_OK);
    assert_true(run_until(got_one, &r[0], 3000));
    assert_memory_equal(r[0].last, npdu2, sizeof npdu2);
    assert_memory_equal(r[0].src.mac, bacsc_sc_node_vmac(b)->b, 6);

    /* Network Port live state */
    bacsc_sc_port_state ps;
    memset(&ps, 0, sizeof ps);
    bacsc_sc_node_port_state(a, &ps);
    assert_int_equal(ps.connector_state, 1);
    assert_int_equal(ps.primary.state, 1);
    assert_int_not_equal(ps.primary.connect_time.date.year_1900, 0xFF);
    assert_int_equal(ps.failover.state, 0);
    assert_memory_equal(ps.vmac, bacsc_sc_node_vmac(a)->b, 6);
    assert_true(bacsc_sc_node_peer_max_npdu(a) >= 1497);
    assert_non_null(bacsc_sc_node_hub_peer(a));

    /* a leaves cleanly */
    bacsc_sc_node_stop(a);
    assert_true(run_until(node_idle, a, 5000));
    assert_int_equal(bacsc_sc_node_state(a), 0);

    /* the hub shuts down: b loses it, the hub goes idle */
    bacsc_hubd_shutdown(h);
    assert_true(run_until(state_is_0, &r[1], 5000));
    assert_true(run_until(hubd_idle, h, 5000));
    const bacsc_sc_hub_stats *st = bacsc_sc_hub_stats_get(bacsc_hubd_hub(h));
    assert_int_equal(st->accepted, 2);
    assert_true(st->broadcast_forwarded >= 1);
    assert_true(st->unicast_forwarded >= 1);
    bacsc_sc_node_free(a);
    bacsc_sc_node_free(b);
    bacsc_hubd_free(h);
}

static void failover_and_back(void **state)
{
    (void)state;
    bacsc_hubd *p = make_hub("127.0.0.1:0");
    bacsc_hubd *f = make_hub("127.0.0.1:0");
    uint16_t pport = bacsc_hubd_port(p);
    char puri[64], furi[64], plisten[64];
    snprintf(puri, sizeof puri, "wss://127.0.0.1:%u", pport);
    snprintf(furi, sizeof furi, "wss://127.0.0.1:%u", bacsc_hubd_port(f));
    snprintf(plisten, sizeof plisten, "127.0.0.1:%u", pport);
    struct rx r = {0};
    bacsc_sc_node *n = make_node(puri, furi, 7, &r);
    assert_true(run_until(state_is_1, &r, 5000));
    bacsc_hubd_free(p); /* abrupt: sockets closed, no Disconnect-Request */
    assert_true(run_until(state_is_2, &r, 5000));
    bacsc_sc_port_state ps;
    memset(&ps, 0, sizeof ps);
    bacsc_sc_node_port_state(n, &ps);
    assert_int_equal(ps.connector_state, 2);
    assert_int_equal(ps.failover.state, 1);
    assert_true(ps.primary.state == 2 || ps.primary.state == 3);
    assert_int_equal(ps.primary.error_class, 7);
    assert_int_not_equal(ps.primary.error_code, 0);
    p = make_hub(plisten);
    assert_true(run_until(state_is_1, &r, 5000));
    bacsc_sc_node_stop(n);
    assert_true(run_until(node_idle, n, 5000));
    bacsc_sc_node_free(n);
    bacsc_hubd_free(p);
    bacsc_hubd_free(f);
}

static void uri_policy(void **state)
{
    (void)state;
    struct rx r = {0};
    bacsc_sc_node_callbacks cb = {.npdu = on_npdu, .user = &r};
    char err[256];
    bacsc_sc_node *n = NULL;
    bacsc_sc_node_config nc = {.primary_uri = "ws://127.0.0.1:1", .tls = ctls};
    assert_int_equal(bacsc_sc_node_new(loop, &nc, &cb, &n, err, sizeof err), BACSC_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "insecure-plaintext"));
    nc.primary_uri = "https://127.0.0.1:1";
    assert_int_equal(bacsc_sc_node_new(loop, &nc, &cb, &n, err, sizeof err), BACSC_ERR_INVALID_ARG);
    nc.primary_uri = "wss://127.0.0.1:1";
    nc.failover_uri = "ftp://x";
    assert_int_equal(bacsc_sc_node_new(loop, &nc, &cb, &n, err, sizeof err), BACSC_ERR_INVALID_ARG);
    nc.failover_uri = NULL;
    nc.primary_uri = NULL;
    assert_int_equal(bacsc_sc_node_new(loop, &nc, &cb, &n, err, sizeof err), BACSC_ERR_INVALID_ARG);
    bacsc_hubd_config hc = {.listen = "127.0.0.1:0"};
    bacsc_sc_hub_config_default(&hc.hub);
    bacsc_hubd *h = NULL;
    assert_int_equal(bacsc_hubd_new(loop, &hc, &h, err, sizeof err), BACSC_ERR_POLICY);
    hc.tls = stls;
    hc.listen = "not an address";
    assert_int_equal(bacsc_hubd_new(loop, &hc, &h, err, sizeof err), BACSC_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_nodes_through_a_hub),
        cmocka_unit_test(failover_and_back),
        cmocka_unit_test(uri_policy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
