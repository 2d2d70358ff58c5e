/* test_router.c — the router network layer (router.h) in isolation: NPDUs in
 * with their port, NPDUs out with port and MAC, checked octet by octet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/router.h"
#include "support_bacnet.h"

#define NET_IP 1
#define NET_SC 2
#define MAXOUT 16

typedef struct sent {
    unsigned port;
    bacsc_address mac;
    uint8_t npdu[2100];
    size_t len;
} sent;

typedef struct harness {
    bacsc_router *r;
    sent out[MAXOUT];
    size_t nout;
    sent local[MAXOUT];
    size_t nlocal;
    int send_rc;
} harness;

static harness H;

static int fake_send(void *user, unsigned port, const bacsc_address *mac, const uint8_t *npdu,
                     size_t len)
{
    harness *h = user;
    assert_true(h->nout < MAXOUT);
    assert_true(len <= sizeof h->out[0].npdu);
    assert_int_equal(mac->net, 0);
    sent *s = &h->out[h->nout++];
    s->port = port;
    s->mac = *mac;
    memcpy(s->npdu, npdu, len);
    s->len = len;
    return h->send_rc;
}

static void fake_local(void *user, unsigned port, const bacsc_address *src, const uint8_t *npdu,
                       size_t len, uint64_t now)
{
    harness *h = user;
    assert_true(h->nlocal < MAXOUT);
    sent *s = &h->local[h->nlocal++];
    s->port = port;
    s->mac = *src;
    memcpy(s->npdu, npdu, len);
    s->len = len;
}

static const uint8_t MAC_A[6] = {127, 0, 0, 1, 0xBA, 0xC0};       /* a B/IP client */
static const uint8_t VMAC_D[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}; /* an SC device */
static const uint8_t VMAC_R[6] = {0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE}; /* another router on SC */

static int setup_sizes(size_t ip_max, size_t sc_max, size_t max_routes)
{
    memset(&H, 0, sizeof H);
    bacsc_router_config c = {0};
    c.nports = 2;
    c.ports[0] = (bacsc_router_port_config){.network = NET_IP, .max_npdu = ip_max, .mac_len = 6};
    c.ports[1] = (bacsc_router_port_config){.network = NET_SC, .max_npdu = sc_max, .mac_len = 6};
    c.max_routes = max_routes;
    c.send = fake_send;
    c.local = fake_local;
    c.user = &H;
    return bacsc_router_new(&c, &H.r);
}

static int setup(void **state)
{
    (void)state;
    return setup_sizes(0, 0, 0);
}

static int teardown(void **state)
{
    (void)state;
    bacsc_router_free(H.r);
    H.r = NULL;
    return 0;
}

static void input_hex(unsigned port, const uint8_t *mac, const char *hex, uint64_t now)
{
    uint8_t b[2100];
    size_t n = bt_hex(hex, b, sizeof b);
    bacsc_address src = bacsc_address_local(mac, 6);
    assert_int_equal(bacsc_router_input(H.r, port, &src, b, n, now), BACSC_OK);
}

static void expect_sent(size_t i, unsigned port, const uint8_t *mac, const char *hex)
{
    uint8_t b[2100];
    size_t n = bt_hex(hex, b, sizeof b);
    assert_true(i < H.nout);
    assert_int_equal(H.out[i].port, port);
    if (mac) {
        assert_int_equal(H.out[i].mac.mac_len, 6);
        assert_memory_equal(H.out[i].mac.mac, mac, 6);
    } else {
        assert_int_equal(H.out[i].mac.mac_len, 0);  /* broadcast */
    }
    assert_int_equal(H.out[i].len, n);
    assert_memory_equal(H.out[i].npdu, b, n);
}

static void reset_out(void)
{
    H.nout = 0;
    H.nlocal = 0;
}

static bacsc_router_stats stats(void)
{
    bacsc_router_stats st;
    bacsc_router_get_stats(H.r, &st);
    return st;
}

/* ReadProperty device,1001 object-name, as in the shared vectors */
#define RP_APDU "0005010c0c020003e9194d"

static void ip_to_sc_unicast_strips_dnet_adds_snet(void **state)
{
    (void)state;
    /* DNET 2, DADR VMAC_D, hop 255, expecting reply */
    input_hex(0, MAC_A, "0124 0002 06 021122334455 ff" RP_APDU, 1);
    assert_int_equal(H.nout, 1);
    /* no DNET, SNET 1 SADR = the client's B/IP MAC */
    expect_sent(0, 1, VMAC_D, "010c 0001 06 7f000001bac0" RP_APDU);
    assert_int_equal(H.nlocal, 0);
    assert_int_equal(stats().forwarded, 1);
}

static void sc_to_ip_answer(void **state)
{
    (void)state;
    /* the device's answer: DNET 1 DADR = client, hop 255 */
    input_hex(1, VMAC_D, "0120 0001 06 7f000001bac0 ff 30010c0c020003e9", 1);
    expect_sent(0, 0, MAC_A, "0108 0002 06 021122334455 30010c0c020003e9");
    assert_int_equal(H.nout, 1);
}

static void existing_snet_kept(void **state)
{
    (void)state;
    /* came through another router already: SNET 7 SADR 0x33 stays */
    input_hex(0, MAC_A, "0128 0002 06 021122334455 0007 01 33 0a" RP_APDU, 1);
    expect_sent(0, 1, VMAC_D, "0108 0007 01 33" RP_APDU);
}

static void global_broadcast_everywhere(void **state)
{
    (void)state;
    /* Who-Is, DNET 0xFFFF, hop 255, from the B/IP side */
    input_hex(0, MAC_A, "0120 ffff 00 ff 1008", 1);
    assert_int_equal(H.nout, 1);
    /* on SC: broadcast, DNET 0xFFFF kept, SNET 1/SADR added, hop 254 */
    expect_sent(0, 1, NULL, "0128 ffff 00 0001 06 7f000001bac0 fe 1008");
    /* and to the router's own device, as received */
    assert_int_equal(H.nlocal, 1);
    assert_int_equal(H.local[0].port, 0);
    assert_int_equal(H.local[0].len, 8);
}

static void global_broadcast_three_ports(void **state)
{
    (void)state;
    bacsc_router_free(H.r);
    memset(&H, 0, sizeof H);
    bacsc_router_config c = {0};
    c.nports = 3;
    for (unsigned i = 0; i < 3; i++)
        c.ports[i] = (bacsc_router_port_config){.network = (uint16_t)(10 + i), .mac_len = 6};
    c.send = fake_send;
    c.user = &H;
    assert_int_equal(bacsc_router_new(&c, &H.r), BACSC_OK);
    input_hex(1, VMAC_D, "0120 ffff 00 ff 1008", 1);
    assert_int_equal(H.nout, 2);
    expect_sent(0, 0, NULL, "0128 ffff 00 000b 06 021122334455 fe 1008");
    expect_sent(1, 2, NULL, "0128 ffff 00 000b 06 021122334455 fe 1008");
}

static void remote_broadcast_only_its_network(void **state)
{
    (void)state;
    /* DNET 2, DLEN 0: a broadcast on network 2 only */
    input_hex(0, MAC_A, "0120 0002 00 ff 1008", 1);
    assert_int_equal(H.nout, 1);
    expect_sent(0, 1, NULL, "0108 0001 06 7f000001bac0 1008");
    /* we are on network 2 too: our device sees it (DNET removed) */
    assert_int_equal(H.nlocal, 1);
    assert_int_equal(H.local[0].len, 4);  /* 01 00 10 08: answered straight back */
    /* the same on the arrival network: for us only, never echoed back */
    reset_out();
    input_hex(0, MAC_A, "0120 0001 00 ff 1008", 1);
    assert_int_equal(H.nout, 0);
    assert_int_equal(H.nlocal, 1);
}

static void hop_count_exhausted_dropped(void **state)
{
    (void)state;
    input_hex(0, MAC_A, "0124 0002 06 021122334455 01" RP_APDU, 1);
    input_hex(0, MAC_A, "0124 0002 06 021122334455 00" RP_APDU, 1);
    input_hex(0, MAC_A, "0120 ffff 00 01 1008", 1);
    assert_int_equal(H.nout, 0);
    assert_int_equal(stats().hop_exhausted, 3);
    /* the global broadcast still reaches our own device */
    assert_int_equal(H.nlocal, 1);
    /* hop count 2 is decremented to 1 and delivered */
    input_hex(0, MAC_A, "0124 0002 06 021122334455 02" RP_APDU, 1);
    assert_int_equal(H.nout, 1);
}

static void unknown_dnet_rejected(void **state)
{
    (void)state;
    input_hex(0, MAC_A, "0124 0063 06 021122334455 ff" RP_APDU, 1);
    assert_int_equal(H.nout, 2);
    /* Reject-Message-To-Network, reason 1, DNET 99, back to the sender */
    expect_sent(0, 0, MAC_A, "0180 03 01 0063");
    /* and a Who-Is-Router-To-Network(99) on the other side */
    expect_sent(1, 1, NULL, "0180 00 0063");
    assert_int_equal(stats().rejects_unknown_net, 1);
    /* from behind another router: the reject goes to SNET/SADR through it */
    reset_out();
    input_hex(1, VMAC_R, "0128 0063 00 0007 01 33 ff 1008", 1);
    expect_sent(0, 1, VMAC_R, "01a0 0007 01 33 ff 03 01 0063");
    /* received as a link broadcast: not ours to refuse, only asked about */
    reset_out();
    uint8_t b[32];
    size_t n = bt_hex("0120 0063 00 ff 1008", b, sizeof b);
    bacsc_address src = bacsc_address_local(MAC_A, 6);
    assert_int_equal(bacsc_router_input_broadcast(H.r, 0, &src, b, n, 1), BACSC_OK);
    assert_int_equal(H.nout, 1);
    expect_sent(0, 1, NULL, "0180 00 0063");
    assert_int_equal(stats().rejects_unknown_net, 2);
}

static void too_long_rejected_never_truncated(void **state)
{
    (void)state;
    bacsc_router_free(H.r);
    assert_int_equal(setup_sizes(1497, 1800, 0), BACSC_OK);
    /* a 1600-octet NPDU from SC to a B/IP station: fits SC, not B/IP */
    uint8_t b[1600];
    memset(b, 0x11, sizeof b);
    size_t h = bt_hex("0120 0001 06 7f000001bac0 ff 30010c", b, sizeof b);
    (void)h;
    bacsc_address src = bacsc_address_local(VMAC_D, 6);
    assert_int_equal(bacsc_router_input(H.r, 1, &src, b, sizeof b, 1), BACSC_OK);
    assert_int_equal(H.nout, 1);
    expect_sent(0, 1, VMAC_D, "0180 03 04 0001");
    assert_int_equal(stats().rejects_too_long, 1);
    assert_int_equal(stats().forwarded, 0);
    /* 1480 octets fit: the header loses DNET/DADR/hop (10) and gains SNET/SADR (9) */
    reset_out();
    assert_int_equal(bacsc_router_input(H.r, 1, &src, b, 1480, 1), BACSC_OK);
    assert_int_equal(H.nout, 1);
    assert_int_equal(H.out[0].port, 0);
    assert_int_equal(H.out[0].len, 1479);
}

static void port_down_answered_busy(void **state)
{
    (void)state;
    assert_int_equal(bacsc_router_set_port_up(H.r, 1, false), BACSC_OK);
    input_hex(0, MAC_A, "0124 0002 06 021122334455 ff" RP_APDU, 1);
    assert_int_equal(H.nout, 1);
    expect_sent(0, 0, MAC_A, "0180 03 02 0002");  /* reason 2: router busy */
    reset_out();
    input_hex(0, MAC_A, "0120 ffff 00 ff 1008", 1);  /* broadcast copy skipped */
    assert_int_equal(H.nout, 0);
    assert_int_equal(stats().port_down, 2);
    assert_int_equal(bacsc_router_set_port_up(H.r, 1, true), BACSC_OK);
    input_hex(0, MAC_A, "0124 0002 06 021122334455 ff" RP_APDU, 1);
    expect_sent(0, 1, VMAC_D, "010c 0001 06 7f000001bac0" RP_APDU);
    assert_int_equal(bacsc_router_set_port_up(H.r, 5, true), BACSC_ERR_INVALID_ARG);
}

static void who_is_router_answered(void **state)
{
    (void)state;
    input_hex(0, MAC_A, "0180 00", 1);
    expect_sent(0, 0, NULL, "0180 01 0002");
    /* for a network behind us, and one on the asker's side (no answer) */
    reset_out();
    input_hex(0, MAC_A, "0180 00 0002", 1);
    input_hex(0, MAC_A, "0180 00 0001", 1);
    assert_int_equal(H.nout, 1);
    expect_sent(0, 0, NULL, "0180 01 0002");
    /* an unknown network: asked on the other side for the requester */
    reset_out();
    input_hex(0, MAC_A, "0180 00 0005", 1);
    assert_int_equal(H.nout, 1);
    expect_sent(0, 1, NULL, "0188 0001 06 7f000001bac0 00 0005");
}

static void learn_from_i_am_router(void **state)
{
    (void)state;
    input_hex(1, VMAC_R, "0180 01 0005 0006", 1);
    /* passed on to the other side */
    expect_sent(0, 0, NULL, "0180 01 0005 0006");
    const bacsc_router_route *rt = bacsc_router_find_route(H.r, 5);
    assert_non_null(rt);
    assert_false(rt->direct);
    assert_int_equal(rt->port, 1);
    assert_memory_equal(rt->next_hop.mac, VMAC_R, 6);
    assert_int_equal(bacsc_router_route_count(H.r), 4);
    /* the same again changes nothing and is not passed on */
    reset_out();
    input_hex(1, VMAC_R, "0180 01 0005 0006", 1);
    assert_int_equal(H.nout, 0);
    /* traffic for 5: to the next router, DNET kept, hop count - 1, SNET added */
    input_hex(0, MAC_A, "0124 0005 01 09 ff" RP_APDU, 1);
    expect_sent(0, 1, VMAC_R, "012c 0005 01 09 0001 06 7f000001bac0 fe" RP_APDU);
    /* for 5 arriving from the SC side would go back out: dropped */
    reset_out();
    input_hex(1, VMAC_D, "0124 0005 01 09 ff" RP_APDU, 1);
    assert_int_equal(H.nout, 0);
    /* our Who-Is-Router answer now lists 5 and 6 on the B/IP side */
    input_hex(0, MAC_A, "0180 00", 1);
    expect_sent(0, 0, NULL, "0180 01 0002 0005 0006");
    /* a directly connected network is never taken over */
    reset_out();
    input_hex(1, VMAC_R, "0180 01 0001", 1);
    assert_true(bacsc_router_find_route(H.r, 1)->direct);
    assert_int_equal(H.nout, 0);
    /* a reason-1 reject from that router forgets the route */
    input_hex(1, VMAC_R, "0180 03 01 0005", 1);
    assert_null(bacsc_router_find_route(H.r, 5));
    assert_non_null(bacsc_router_find_route(H.r, 6));
    assert_int_equal(stats().rejects_received, 1);
    assert_int_equal(H.nout, 0);  /* a reject is never answered */
}

static void routes_table_full(void **state)
{
    (void)state;
    bacsc_router_free(H.r);
    assert_int_equal(setup_sizes(0, 0, 2), BACSC_OK);
    input_hex(1, VMAC_R, "0180 01 0005 0006 0007", 1);
    assert_int_equal(bacsc_router_route_count(H.r), 4);
    assert_int_equal(stats().routes_full, 1);
    assert_null(bacsc_router_find_route(H.r, 7));
}

static void router_busy_and_available(void **state)
{
    (void)state;
    input_hex(1, VMAC_R, "0180 01 0005", 1);
    reset_out();
    input_hex(1, VMAC_R, "0180 04 0005", 10);
    expect_sent(0, 0, NULL, "0180 04 0005");  /* passed on */
    reset_out();
    input_hex(0, MAC_A, "0124 0005 01 09 ff" RP_APDU, 11);
    assert_int_equal(H.nout, 0);
    assert_int_equal(stats().busy_dropped, 1);
    input_hex(1, VMAC_R, "0180 05 0005", 12);
    expect_sent(0, 0, NULL, "0180 05 0005");
    reset_out();
    input_hex(0, MAC_A, "0124 0005 01 09 ff" RP_APDU, 13);
    assert_int_equal(H.nout, 1);
    /* busy with an empty list (all its networks) lapses after 30 s */
    input_hex(1, VMAC_R, "0180 04", 20);
    reset_out();
    input_hex(0, MAC_A, "0124 0005 01 09 ff" RP_APDU, 21);
    assert_int_equal(H.nout, 0);
    input_hex(0, MAC_A, "0124 0005 01 09 ff" RP_APDU, 20 + BACSC_ROUTER_BUSY_US);
    assert_int_equal(H.nout, 1);
    /* our own port going down is announced on the others */
    reset_out();
    bacsc_router_port_busy(H.r, 1, true, 30);
    expect_sent(0, 0, NULL, "0180 04 0002 0005");
}

static void initialize_routing_table(void **state)
{
    (void)state;
    input_hex(1, VMAC_R, "0180 01 0005", 1);
    reset_out();
    input_hex(0, MAC_A, "0180 06 00", 1);
    /* Ack: 3 entries (network, port id, info length 0), to the asker */
    expect_sent(0, 0, MAC_A, "0180 07 03 0001 01 00 0002 02 00 0005 02 00");
    /* an update is refused: reason 0 */
    reset_out();
    input_hex(0, MAC_A, "0180 06 01 0009 01 00", 1);
    expect_sent(0, 0, MAC_A, "0180 03 00 0001");
    assert_non_null(bacsc_router_find_route(H.r, 5));
    assert_null(bacsc_router_find_route(H.r, 9));
    /* the Ack from someone else is ignored */
    reset_out();
    input_hex(0, MAC_A, "0180 07 00", 1);
    assert_int_equal(H.nout, 0);
}

static void network_numbers(void **state)
{
    (void)state;
    input_hex(1, VMAC_D, "0180 12", 1);
    expect_sent(0, 1, NULL, "0180 13 0002 01");
    reset_out();
    /* only asked locally: with SNET it is ignored */
    input_hex(1, VMAC_R, "0188 0007 01 33 12", 1);
    assert_int_equal(H.nout, 0);
    input_hex(1, VMAC_R, "0180 13 0002 01", 1);
    assert_int_equal(stats().number_conflicts, 0);
    input_hex(1, VMAC_R, "0180 13 0009 01", 1);
    assert_int_equal(stats().number_conflicts, 1);
}

static void unknown_message_type_rejected(void **state)
{
    (void)state;
    input_hex(0, MAC_A, "0180 20 0102", 1);
    expect_sent(0, 0, MAC_A, "0180 03 03 0001");
    reset_out();
    input_hex(0, MAC_A, "0180 80 0104", 1);  /* proprietary, vendor 260 */
    expect_sent(0, 0, MAC_A, "0180 03 03 0001");
    /* network messages for a network behind us are routed like APDUs */
    reset_out();
    input_hex(0, MAC_A, "01a0 0002 00 ff 12", 1);
    expect_sent(0, 1, NULL, "0188 0001 06 7f000001bac0 12");
}

static void arrival_network_dnet(void **state)
{
    (void)state;
    bacsc_address own = bacsc_address_local(VMAC_R, 6);
    assert_int_equal(bacsc_router_set_port_mac(H.r, 1, &own), BACSC_OK);
    input_hex(1, VMAC_D, "0120 0002 06 021122334455 ff" RP_APDU, 1);
    assert_int_equal(H.nout, 0);
    assert_int_equal(H.nlocal, 0);
    assert_int_equal(stats().dropped, 1);
    /* to our own VMAC: for our device, DNET removed */
    input_hex(1, VMAC_D, "0124 0002 06 02aabbccddee ff" RP_APDU, 1);
    assert_int_equal(H.nlocal, 1);
    /* from B/IP to our SC VMAC: our device, not forwarded */
    input_hex(0, MAC_A, "0124 0002 06 02aabbccddee ff" RP_APDU, 1);
    assert_int_equal(H.nlocal, 2);
    assert_int_equal(H.nout, 0);
    uint8_t b[64];
    size_t n = bt_hex("0104" RP_APDU, b, sizeof b);
    assert_int_equal(H.local[1].len, n);
    assert_memory_equal(H.local[1].npdu, b, n);
}

static void originate_from_device(void **state)
{
    (void)state;
    uint8_t b[64];
    /* the device answers a routed request: DNET 1 DADR client → B/IP, stripped */
    size_t n = bt_hex("0120 0001 06 7f000001bac0 ff 30010c", b, sizeof b);
    bacsc_address dest = {0};
    assert_int_equal(bacsc_router_originate(H.r, 1, &dest, b, n, 1), BACSC_OK);
    expect_sent(0, 0, MAC_A, "0100 30010c");
    /* a local answer goes back out of the port it names */
    reset_out();
    n = bt_hex("0100 30010c", b, sizeof b);
    dest = bacsc_address_local(VMAC_D, 6);
    assert_int_equal(bacsc_router_originate(H.r, 1, &dest, b, n, 1), BACSC_OK);
    expect_sent(0, 1, VMAC_D, "0100 30010c");
    /* a local broadcast with no port: every port */
    reset_out();
    n = bt_hex("0100 1000c4020003e9", b, sizeof b);
    dest = bacsc_address_local_broadcast();
    assert_int_equal(bacsc_router_originate(H.r, BACSC_ROUTER_LOCAL_PORT, &dest, b, n, 1),
                     BACSC_OK);
    assert_int_equal(H.nout, 2);
    /* a global broadcast: every port, as is */
    reset_out();
    n = bt_hex("0120 ffff 00 ff 1000c4020003e9", b, sizeof b);
    assert_int_equal(bacsc_router_originate(H.r, 0, &dest, b, n, 1), BACSC_OK);
    assert_int_equal(H.nout, 2);
    expect_sent(1, 1, NULL, "0120 ffff 00 ff 1000c4020003e9");
    /* no route */
    reset_out();
    n = bt_hex("0120 0063 00 ff 1000", b, sizeof b);
    assert_int_equal(bacsc_router_originate(H.r, 0, &dest, b, n, 1), BACSC_ERR_NOT_FOUND);
    /* a learned route: as is, to the next router */
    input_hex(1, VMAC_R, "0180 01 0005", 1);
    reset_out();
    n = bt_hex("0120 0005 01 09 ff 1000", b, sizeof b);
    assert_int_equal(bacsc_router_originate(H.r, 0, &dest, b, n, 1), BACSC_OK);
    expect_sent(0, 1, VMAC_R, "0120 0005 01 09 ff 1000");
}

static void announce_at_start(void **state)
{
    (void)state;
    bacsc_router_announce(H.r, BACSC_ROUTER_LOCAL_PORT, 1);
    assert_int_equal(H.nout, 2);
    expect_sent(0, 0, NULL, "0180 01 0002");
    expect_sent(1, 1, NULL, "0180 01 0001");
    reset_out();
    bacsc_router_discover(H.r, 1, 1);
    assert_int_equal(H.nout, 1);
    expect_sent(0, 1, NULL, "0180 00");
}

static void malformed_and_bad_config(void **state)
{
    (void)state;
    uint8_t b[8] = {0x02, 0x00};
    bacsc_address src = bacsc_address_local(MAC_A, 6);
    assert_int_equal(bacsc_router_input(H.r, 0, &src, b, 2, 1), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_router_input(H.r, 2, &src, b, 2, 1), BACSC_ERR_INVALID_ARG);
    input_hex(0, MAC_A, "0180 01 000500", 1);    /* odd I-Am-Router list */
    input_hex(0, MAC_A, "0180 00 05", 1);        /* 1-octet network */
    input_hex(0, MAC_A, "0180 06", 1);           /* no port count */
    assert_int_equal(H.nout, 0);
    assert_int_equal(stats().rx_malformed, 4);
    /* a source without a MAC cannot be named in SADR */
    bacsc_address none = bacsc_address_local_broadcast();
    uint8_t g[8];
    size_t n = bt_hex("0120 ffff 00 ff 1008", g, sizeof g);
    assert_int_equal(bacsc_router_input(H.r, 0, &none, g, n, 1), BACSC_OK);
    assert_int_equal(H.nout, 0);

    bacsc_router *r = NULL;
    bacsc_router_config c = {0};
    c.nports = 2;
    c.send = fake_send;
    c.ports[0] = (bacsc_router_port_config){.network = 1, .mac_len = 6};
    c.ports[1] = (bacsc_router_port_config){.network = 1, .mac_len = 6};
    assert_int_equal(bacsc_router_new(&c, &r), BACSC_ERR_INVALID_ARG);
    c.ports[1].network = 0xFFFF;
    assert_int_equal(bacsc_router_new(&c, &r), BACSC_ERR_INVALID_ARG);
    c.ports[1].network = 2;
    c.ports[1].max_npdu = 100;
    assert_int_equal(bacsc_router_new(&c, &r), BACSC_ERR_INVALID_ARG);
    c.ports[1].max_npdu = 0;
    c.nports = 1;
    assert_int_equal(bacsc_router_new(&c, &r), BACSC_ERR_INVALID_ARG);
    c.nports = 2;
    c.send = NULL;
    assert_int_equal(bacsc_router_new(&c, &r), BACSC_ERR_INVALID_ARG);
    assert_string_equal(bacsc_router_reject_reason_name(4), "message too long");
    assert_null(bacsc_router_reject_reason_name(9));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ip_to_sc_unicast_strips_dnet_adds_snet, setup, teardown),
        cmocka_unit_test_setup_teardown(sc_to_ip_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(existing_snet_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(global_broadcast_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(global_broadcast_three_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(remote_broadcast_only_its_network, setup, teardown),
        cmocka_unit_test_setup_teardown(hop_count_exhausted_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_dnet_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(too_long_rejected_never_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(port_down_answered_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(who_is_router_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(learn_from_i_am_router, setup, teardown),
        cmocka_unit_test_setup_teardown(routes_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(router_busy_and_available, setup, teardown),
        cmocka_unit_test_setup_teardown(initialize_routing_table, setup, teardown),
        cmocka_unit_test_setup_teardown(network_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_message_type_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(arrival_network_dnet, setup, teardown),
        cmocka_unit_test_setup_teardown(originate_from_device, setup, teardown),
        cmocka_unit_test_setup_teardown(announce_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_and_bad_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
