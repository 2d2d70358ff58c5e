/*
 * test_sc_hub.c — the hub function with simulated time: joins, byte-exact
 * unicast and broadcast rewrites, fan-out sharing one buffer, spoof drop,
 * unknown destinations, duplicate VMAC (151) vs. same-UUID replacement, the
 * hub's own NAKs (143, 144, 146), per-destination size limits, queue limits,
 * timers, and 10,000 connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/sc_hub.h"
#include "support_sc.h"

#define S 1000000ull

typedef struct io_peer {
    int id;
    int want_write;
    int close_requested;
    uint16_t close_code;
    int joined, left, refused;
    uint16_t refused_code;
    bacsc_sc_hub_peer *peer;
    bacsc_sc_conn *node;      /* a real initiating connection, or NULL */
} io_peer;

static void h_want_write(void *io, void *user)
{
    (void)user;
    ((io_peer *)io)->want_write++;
}

static void h_close(void *io, uint16_t code, void *user)
{
    (void)user;
    ((io_peer *)io)->close_requested++;
    ((io_peer *)io)->close_code = code;
}

static void h_joined(void *io, const bacsc_vmac *v, const bacsc_uuid *u, void *user)
{
    (void)v;
    (void)u;
    (void)user;
    ((io_peer *)io)->joined++;
}

static void h_left(void *io, const bacsc_vmac *v, const bacsc_sc_close_info *info, void *user)
{
    (void)v;
    (void)info;
    (void)user;
    ((io_peer *)io)->left++;
}

static void h_refused(void *io, const bacsc_bvlc_connect *req, uint16_t code, void *user)
{
    (void)req;
    (void)user;
    ((io_peer *)io)->refused++;
    ((io_peer *)io)->refused_code = code;
}

static const bacsc_sc_hub_callbacks HCB = {
    .want_write = h_want_write,
    .close = h_close,
    .joined = h_joined,
    .left = h_left,
    .random = sct_random,
    .refused = h_refused,
};

static bacsc_sc_hub *make_hub(size_t queue_msgs)
{
    bacsc_sc_hub_config cfg;
    bacsc_sc_hub_config_default(&cfg);
    cfg.vmac = sct_vmac(0xAA, 0xAA);
    cfg.uuid = sct_uuid(0xAA, 0xAA);
    if (queue_msgs)
        cfg.max_queue_msgs = queue_msgs;
    bacsc_sc_hub *hub = bacsc_sc_hub_new(&cfg, &HCB, NULL);
    assert_non_null(hub);
    return hub;
}

/* Join a scripted node (raw Connect-Request; no node state machine). */
static void join_raw(bacsc_sc_hub *hub, io_peer *io, int id, const bacsc_vmac *v,
                     const bacsc_uuid *u, uint16_t max_bvlc, uint16_t max_npdu, uint64_t now)
{
    memset(io, 0, sizeof *io);
    io->id = id;
    int err;
    io->peer = bacsc_sc_hub_accept(hub, io, now, &err);
    assert_non_null(io->peer);
    uint8_t buf[64];
    size_t n = sct_connect_request(buf, sizeof buf, (uint16_t)id, v, u, max_bvlc, max_npdu);
    assert_int_equal(bacsc_sc_hub_recv(hub, io->peer, buf, n, now), BACSC_OK);
}

/* Pop one queued message for `io`; returns its length (0 if none). */
static size_t pop_out(io_peer *io, uint8_t *out, size_t cap)
{
    const uint8_t *d;
    size_t n;
    if (!bacsc_sc_hub_peek_output(io->peer, &d, &n))
        return 0;
    assert_true(n <= cap);
    memcpy(out, d, n);
    bacsc_sc_hub_pop_output(io->peer);
    return n;
}

static void drain(io_peer *io)
{
    uint8_t tmp[10000];
    while (pop_out(io, tmp, sizeof tmp))
        ;
}

static size_t queued(io_peer *io)
{
    return bacsc_sc_conn_output_count(bacsc_sc_hub_peer_conn(io->peer));
}

static void expect_nak(io_peer *io, uint8_t for_fn, uint16_t id, uint16_t code, uint8_t marker)
{
    uint8_t buf[512];
    size_t n = pop_out(io, buf, sizeof buf);
    assert_true(n > 0);
    bacsc_bvlc_msg m;
    assert_int_equal(bacsc_bvlc_decode(buf, n, &m, NULL), BACSC_OK);
    assert_int_equal(m.function, BACSC_BVLC_RESULT);
    assert_int_equal(m.message_id, id);
    assert_int_equal(m.u.result.result_for, for_fn);
    assert_int_equal(m.u.result.result_code, BACSC_RESULT_NAK);
    assert_int_equal(m.u.result.error_code, code);
    assert_int_equal(m.u.result.error_marker, marker);
}

/* Three nodes A, B, C joined and drained. */
typedef struct trio {
    bacsc_sc_hub *hub;
    io_peer a, b, c;
    bacsc_vmac va, vb, vc;
} trio;

static void trio_setup(trio *t, size_t queue_msgs, uint16_t c_max_npdu)
{
    t->hub = make_hub(queue_msgs);
    t->va = sct_vmac(0, 0xA);
    t->vb = sct_vmac(0, 0xB);
    t->vc = sct_vmac(0, 0xC);
    bacsc_uuid ua = sct_uuid(0, 0xA), ub = sct_uuid(0, 0xB), uc = sct_uuid(0, 0xC);
    join_raw(t->hub, &t->a, 1, &t->va, &ua, 1600, 1497, 0);
    join_raw(t->hub, &t->b, 2, &t->vb, &ub, 1600, 1497, 0);
    join_raw(t->hub, &t->c, 3, &t->vc, &uc, (uint16_t)(c_max_npdu + 100), c_max_npdu, 0);
    drain(&t->a);
    drain(&t->b);
    drain(&t->c);
    assert_int_equal(bacsc_sc_hub_connected_count(t->hub), 3);
    assert_int_equal(bacsc_sc_hub_check(t->hub), BACSC_OK);
}

static const uint8_t NPDU[] = {0x01, 0x04, 0x00, 0x05, 0x01, 0x0C, 0x0C, 0x02, 0x00, 0x03, 0xE9,
                               0x19, 0x4D};

/* ---- joining ------------------------------------------------------------- */

static void nodes_join_and_get_connect_accept(void **st)
{
    (void)st;
    bacsc_sc_hub *hub = make_hub(0);
    io_peer a;
    bacsc_vmac v = sct_vmac(1, 1);
    bacsc_uuid u = sct_uuid(1, 1);
    join_raw(hub, &a, 0x77, &v, &u, 1600, 1497, 5 * S);
    assert_int_equal(a.joined, 1);
    assert_int_equal(a.want_write, 1);
    uint8_t buf[64];
    size_t n = pop_out(&a, buf, sizeof buf);
    bacsc_bvlc_msg m;
    assert_int_equal(bacsc_bvlc_decode(buf, n, &m, NULL), BACSC_OK);
    assert_int_equal(m.function, BACSC_BVLC_CONNECT_ACCEPT);
    assert_int_equal(m.message_id, 0x77);
    bacsc_vmac hv = sct_vmac(0xAA, 0xAA);
    assert_memory_equal(m.u.connect.vmac.b, hv.b, 6);
    assert_int_equal(m.u.connect.max_bvlc_len, BACSC_SC_HUB_DEFAULT_MAX_BVLC_LEN);
    assert_ptr_equal(bacsc_sc_hub_find_vmac(hub, &v), a.peer);
    bacsc_sc_hub_peer_info info;
    bacsc_sc_hub_peer_get_info(a.peer, &info);
    assert_true(info.connected);
    assert_int_equal(info.since, 5 * S);
    assert_memory_equal(info.uuid.b, u.b, 16);
    assert_ptr_equal(info.io_peer, &a);
    assert_int_equal(bacsc_sc_hub_stats_get(hub)->accepted, 1);
    bacsc_sc_hub_free(hub);
}

static void real_node_state_machines_talk_through_hub(void **st)
{
    (void)st;
    bacsc_sc_hub *hub = make_hub(0);
    io_peer io[2];
    bacsc_sc_conn *node[2];
    for (int i = 0; i < 2; i++) {
        memset(&io[i], 0, sizeof io[i]);
        bacsc_sc_conn_config cfg;
        bacsc_sc_conn_config_default(&cfg, BACSC_SC_ROLE_INITIATING);
        cfg.vmac = sct_vmac(3, (uint8_t)i);
        cfg.uuid = sct_uuid(3, (uint8_t)i);
        bacsc_sc_conn_callbacks cb = {.random = sct_random};
        node[i] = bacsc_sc_conn_new(&cfg, &cb, NULL);
        io[i].peer = bacsc_sc_hub_accept(hub, &io[i], 0, NULL);
        bacsc_sc_conn_start(node[i], 0);
    }
    /* Pump for an hour of simulated time with heartbeats. */
    uint64_t now = 0;
    for (int round = 0; round < 200 && now < 3600 * S; round++) {
        for (int moved = 1; moved;) {
            moved = 0;
            for (int i = 0; i < 2; i++) {
                const uint8_t *d;
                size_t n;
                uint8_t tmp[2048];
                while (bacsc_sc_conn_peek_output(node[i], &d, &n)) {
                    memcpy(tmp, d, n);
                    bacsc_sc_conn_pop_output(node[i]);
                    bacsc_sc_hub_recv(hub, io[i].peer, tmp, n, now);
                    moved = 1;
                }
                while (bacsc_sc_hub_peek_output(io[i].peer, &d, &n)) {
                    memcpy(tmp, d, n);
                    bacsc_sc_hub_pop_output(io[i].peer);
                    bacsc_sc_conn_recv(node[i], tmp, n, now);
                    moved = 1;
                }
            }
        }
        uint64_t t = bacsc_sc_hub_expiry(hub);
        for (int i = 0; i < 2; i++)
            if (bacsc_sc_conn_expiry(node[i]) < t)
                t = bacsc_sc_conn_expiry(node[i]);
        now = t;
        bacsc_sc_hub_handle_expiry(hub, now);
        for (int i = 0; i < 2; i++)
            bacsc_sc_conn_handle_expiry(node[i], now);
    }
    assert_true(now >= 3600 * S);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(bacsc_sc_conn_state(node[i]), BACSC_SC_STATE_CONNECTED);
        assert_int_equal(io[i].close_requested, 0);
    }
    assert_int_equal(bacsc_sc_hub_connected_count(hub), 2);
    for (int i = 0; i < 2; i++)
        bacsc_sc_conn_free(node[i]);
    bacsc_sc_hub_free(hub);
}

/* ---- forwarding ---------------------------------------------------------- */

static void unicast_rewrite_is_byte_exact(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    uint8_t in[256], want[256], got[256];
    size_t n = sct_npdu(in, sizeof in, 0x1111, NULL, &t.vb, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    size_t wn = sct_npdu(want, sizeof want, 0x1111, &t.va, NULL, NPDU, sizeof NPDU);
    size_t gn = pop_out(&t.b, got, sizeof got);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    assert_int_equal(queued(&t.a) + queued(&t.c), 0);
    /* With the Originating VMAC already set (to the sender) and a data option. */
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, 0x2222);
    m.has_orig = true;
    m.orig = t.va;
    m.has_dest = true;
    m.dest = t.vb;
    m.n_data_options = 1;
    m.data_options[0].type = BACSC_OPT_SECURE_PATH;
    m.payload = NPDU;
    m.payload_len = sizeof NPDU;
    n = sct_encode(&m, in, sizeof in);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    m.has_dest = false;
    wn = sct_encode(&m, want, sizeof want);
    gn = pop_out(&t.b, got, sizeof got);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->unicast_forwarded, 2);
    /* Non-NPDU functions are relayed too (Address-Resolution B -> C). */
    bacsc_bvlc_init(&m, BACSC_BVLC_ADDRESS_RESOLUTION, 0x3333);
    m.has_dest = true;
    m.dest = t.vc;
    n = sct_encode(&m, in, sizeof in);
    bacsc_sc_hub_recv(t.hub, t.b.peer, in, n, S);
    m.has_dest = false;
    m.has_orig = true;
    m.orig = t.vb;
    wn = sct_encode(&m, want, sizeof want);
    gn = pop_out(&t.c, got, sizeof got);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    bacsc_sc_hub_free(t.hub);
}

static void broadcast_fans_out_one_shared_buffer(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    uint8_t in[256], want[256];
    size_t n = sct_npdu(in, sizeof in, 0x4444, NULL, &BACSC_VMAC_BROADCAST, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    size_t wn = sct_npdu(want, sizeof want, 0x4444, &t.va, &BACSC_VMAC_BROADCAST, NPDU,
                         sizeof NPDU);
    const uint8_t *db, *dc;
    size_t nb, nc;
    assert_int_equal(bacsc_sc_hub_peek_output(t.b.peer, &db, &nb), 1);
    assert_int_equal(bacsc_sc_hub_peek_output(t.c.peer, &dc, &nc), 1);
    assert_int_equal(nb, wn);
    assert_memory_equal(db, want, wn);
    assert_ptr_equal(db, dc); /* rewritten once, queued twice */
    assert_int_equal(queued(&t.a), 0); /* not back to the sender */
    bacsc_sc_hub_pop_output(t.b.peer);
    /* The buffer outlives the first consumer. */
    assert_int_equal(bacsc_sc_hub_peek_output(t.c.peer, &dc, &nc), 1);
    assert_memory_equal(dc, want, wn);
    bacsc_sc_hub_pop_output(t.c.peer);
    const bacsc_sc_hub_stats *s = bacsc_sc_hub_stats_get(t.hub);
    assert_int_equal(s->broadcast_forwarded, 1);
    assert_int_equal(s->broadcast_copies, 2);
    bacsc_sc_hub_free(t.hub);
}

static void spoofed_originator_dropped(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    uint8_t in[256];
    size_t n = sct_npdu(in, sizeof in, 1, &t.vc, &t.vb, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    n = sct_npdu(in, sizeof in, 2, &t.vc, &BACSC_VMAC_BROADCAST, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    assert_int_equal(queued(&t.a) + queued(&t.b) + queued(&t.c), 0);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->spoofed_dropped, 2);
    assert_int_equal(bacsc_sc_hub_connected_count(t.hub), 3);
    bacsc_sc_hub_free(t.hub);
}

static void unknown_destination(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    bacsc_vmac nobody = sct_vmac(0x55, 0x55);
    uint8_t in[256];
    size_t n = sct_npdu(in, sizeof in, 1, NULL, &nobody, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    assert_int_equal(queued(&t.a), 0);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->unknown_dest_dropped, 1);
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ADDRESS_RESOLUTION, 0x0909);
    m.has_dest = true;
    m.dest = nobody;
    n = sct_encode(&m, in, sizeof in);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    expect_nak(&t.a, BACSC_BVLC_ADDRESS_RESOLUTION, 0x0909, 0, 0);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->unknown_dest_naked, 1);
    bacsc_sc_hub_free(t.hub);
}

/* ---- duplicate VMAC / replacement ----------------------------------------- */

static void duplicate_vmac_other_uuid_naked_151(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    io_peer d;
    bacsc_uuid ud = sct_uuid(0, 0xD);
    join_raw(t.hub, &d, 0x0D, &t.vb, &ud, 1600, 1497, S);
    expect_nak(&d, BACSC_BVLC_CONNECT_REQUEST, 0x0D, BACSC_EC_NODE_DUPLICATE_VMAC, 0);
    assert_int_equal(d.close_requested, 1);
    assert_int_equal(d.close_code, BACSC_EC_NODE_DUPLICATE_VMAC);
    assert_int_equal(d.joined, 0);
    assert_int_equal(d.refused, 1);
    assert_int_equal(d.refused_code, BACSC_EC_NODE_DUPLICATE_VMAC);
    assert_int_equal(t.b.close_requested, 0);
    assert_ptr_equal(bacsc_sc_hub_find_vmac(t.hub, &t.vb), t.b.peer);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->refused, 1);
    assert_int_equal(bacsc_sc_hub_recv(t.hub, d.peer, (const uint8_t *)"\x0a\x00\x00\x01", 4, S),
                     BACSC_ERR_STATE);
    bacsc_sc_hub_peer_gone(t.hub, d.peer, 0, S);
    assert_int_equal(bacsc_sc_hub_check(t.hub), BACSC_OK);
    /* The broadcast and unknown VMACs and the hub's own are never given out. */
    io_peer e;
    join_raw(t.hub, &e, 0x0E, &BACSC_VMAC_BROADCAST, &ud, 1600, 1497, S);
    expect_nak(&e, BACSC_BVLC_CONNECT_REQUEST, 0x0E, BACSC_EC_NODE_DUPLICATE_VMAC, 0);
    bacsc_sc_hub_peer_gone(t.hub, e.peer, 0, S);
    join_raw(t.hub, &e, 0x0F, &BACSC_VMAC_UNKNOWN, &ud, 1600, 1497, S);
    expect_nak(&e, BACSC_BVLC_CONNECT_REQUEST, 0x0F, BACSC_EC_NODE_DUPLICATE_VMAC, 0);
    bacsc_sc_hub_peer_gone(t.hub, e.peer, 0, S);
    assert_int_equal(bacsc_sc_hub_peer_count(t.hub), 3);
    bacsc_sc_hub_free(t.hub);
}

static void same_uuid_replaces_old_connection(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    io_peer b2;
    bacsc_uuid ub = sct_uuid(0, 0xB);
    join_raw(t.hub, &b2, 0x22, &t.vb, &ub, 1600, 1497, 2 * S);
    assert_int_equal(b2.joined, 1);
    assert_int_equal(t.b.close_requested, 1);
    assert_int_equal(t.b.left, 1);
    assert_ptr_equal(bacsc_sc_hub_find_vmac(t.hub, &t.vb), b2.peer);
    assert_int_equal(bacsc_sc_hub_connected_count(t.hub), 3);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->replaced, 1);
    assert_int_equal(bacsc_sc_hub_check(t.hub), BACSC_OK);
    drain(&b2);
    /* Traffic for B's VMAC now reaches the new connection only. */
    uint8_t in[256];
    size_t n = sct_npdu(in, sizeof in, 1, NULL, &t.vb, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, 3 * S);
    assert_int_equal(queued(&b2), 1);
    assert_int_equal(queued(&t.b), 0);
    /* The old socket is ignored until the I/O layer reports it gone. */
    assert_int_equal(bacsc_sc_hub_recv(t.hub, t.b.peer, in, n, 3 * S), BACSC_ERR_STATE);
    bacsc_sc_hub_peer_gone(t.hub, t.b.peer, 0, 3 * S);
    assert_int_equal(t.b.left, 1);
    assert_ptr_equal(bacsc_sc_hub_find_vmac(t.hub, &t.vb), b2.peer);
    /* Same device back with a new VMAC: the old entry goes too. */
    io_peer b3;
    bacsc_vmac nv = sct_vmac(0, 0xBB);
    join_raw(t.hub, &b3, 0x33, &nv, &ub, 1600, 1497, 4 * S);
    assert_int_equal(b2.close_requested, 1);
    assert_null(bacsc_sc_hub_find_vmac(t.hub, &t.vb));
    assert_ptr_equal(bacsc_sc_hub_find_vmac(t.hub, &nv), b3.peer);
    assert_int_equal(bacsc_sc_hub_connected_count(t.hub), 3);
    assert_int_equal(bacsc_sc_hub_check(t.hub), BACSC_OK);
    bacsc_sc_hub_free(t.hub);
}

static void vmac_free_again_after_peer_gone(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    bacsc_sc_hub_peer_gone(t.hub, t.b.peer, BACSC_EC_WEBSOCKET_CLOSED_BY_PEER, S);
    assert_int_equal(t.b.left, 1);
    assert_int_equal(t.b.close_requested, 0); /* it is already gone */
    assert_null(bacsc_sc_hub_find_vmac(t.hub, &t.vb));
    io_peer d;
    bacsc_uuid ud = sct_uuid(0, 0xD);
    join_raw(t.hub, &d, 0x0D, &t.vb, &ud, 1600, 1497, S);
    assert_int_equal(d.joined, 1);
    assert_int_equal(bacsc_sc_hub_check(t.hub), BACSC_OK);
    bacsc_sc_hub_free(t.hub);
}

/* ---- the hub as destination ---------------------------------------------- */

static void hub_naks_what_it_does_not_understand(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    const uint8_t unknown_fn[] = {0x0D, 0x00, 0x01, 0x43};
    bacsc_sc_hub_recv(t.hub, t.a.peer, unknown_fn, sizeof unknown_fn, S);
    expect_nak(&t.a, 0x0D, 0x0143, BACSC_EC_BVLC_FUNCTION_UNKNOWN, 0);
    const uint8_t prop[] = {0x0C, 0x00, 0x01, 0x44, 0x01, 0x04, 0x07, 0xAA};
    bacsc_sc_hub_recv(t.hub, t.a.peer, prop, sizeof prop, S);
    expect_nak(&t.a, 0x0C, 0x0144, BACSC_EC_BVLC_PROPRIETARY_FUNCTION_UNKNOWN, 0);
    /* Must-understand destination option type 5 on a message for the hub: 146. */
    const uint8_t mu[] = {0x05, 0x02, 0x01, 0x46, 0x45};
    bacsc_sc_hub_recv(t.hub, t.a.peer, mu, sizeof mu, S);
    expect_nak(&t.a, 0x05, 0x0146, BACSC_EC_HEADER_NOT_UNDERSTOOD, 0x45);
    /* The same on a message for B: forwarded untouched (B decides). */
    uint8_t in[64];
    const uint8_t mu_fwd[] = {0x01, 0x05, 0x01, 0x47, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0B,
                              0x45, 0x01, 0x00};
    memcpy(in, mu_fwd, sizeof mu_fwd);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, sizeof mu_fwd, S);
    assert_int_equal(queued(&t.a), 0);
    uint8_t got[64];
    size_t gn = pop_out(&t.b, got, sizeof got);
    assert_int_equal(gn, sizeof mu_fwd);
    assert_int_equal(got[1], 0x09); /* orig set, dest removed, data options kept */
    assert_memory_equal(got + 4, t.va.b, 6);
    assert_memory_equal(got + 10, mu_fwd + 10, 3);
    /* NPDU for the hub itself: dropped and counted. */
    size_t n = sct_npdu(in, sizeof in, 9, NULL, NULL, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    assert_int_equal(queued(&t.a), 0);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->to_hub_dropped, 1);
    /* Advertisement-Solicitation is answered. */
    n = sct_simple(in, sizeof in, BACSC_BVLC_ADVERTISEMENT_SOLICITATION, 0x0505);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    gn = pop_out(&t.a, got, sizeof got);
    bacsc_bvlc_msg m;
    assert_int_equal(bacsc_bvlc_decode(got, gn, &m, NULL), BACSC_OK);
    assert_int_equal(m.function, BACSC_BVLC_ADVERTISEMENT);
    assert_int_equal(m.message_id, 0x0505);
    assert_int_equal(m.u.advertisement.max_bvlc_len, BACSC_SC_HUB_DEFAULT_MAX_BVLC_LEN);
    /* Malformed message with a destination: NAKed by the hub, not forwarded. */
    const uint8_t bad[] = {0x01, 0x05, 0x01, 0x48, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0B, 0x3F};
    bacsc_sc_hub_recv(t.hub, t.a.peer, bad, sizeof bad, S);
    expect_nak(&t.a, 0x01, 0x0148, BACSC_EC_HEADER_ENCODING_ERROR, 0x3F);
    assert_int_equal(queued(&t.b), 0);
    assert_int_equal(bacsc_sc_hub_connected_count(t.hub), 3);
    bacsc_sc_hub_free(t.hub);
}

static void npdu_before_connect_request_closes_only_that_socket(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    io_peer x;
    memset(&x, 0, sizeof x);
    x.peer = bacsc_sc_hub_accept(t.hub, &x, S, NULL);
    uint8_t in[64];
    size_t n = sct_npdu(in, sizeof in, 1, NULL, &BACSC_VMAC_BROADCAST, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, x.peer, in, n, S);
    assert_int_equal(x.close_requested, 1);
    assert_int_equal(queued(&t.a) + queued(&t.b) + queued(&t.c) + queued(&x), 0);
    bacsc_sc_hub_peer_gone(t.hub, x.peer, 0, S);
    assert_int_equal(bacsc_sc_hub_connected_count(t.hub), 3);
    assert_int_equal(bacsc_sc_hub_check(t.hub), BACSC_OK);
    bacsc_sc_hub_free(t.hub);
}

/* ---- limits -------------------------------------------------------------- */

static void destination_size_limits_enforced(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 100); /* C accepts NPDUs up to 100 octets */
    static uint8_t big[200];
    uint8_t in[512];
    size_t n = sct_npdu(in, sizeof in, 1, NULL, &t.vc, big, sizeof big);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    assert_int_equal(queued(&t.c), 0);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->too_large_dropped, 1);
    n = sct_npdu(in, sizeof in, 2, NULL, &BACSC_VMAC_BROADCAST, big, sizeof big);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    assert_int_equal(queued(&t.b), 1);
    assert_int_equal(queued(&t.c), 0);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->too_large_dropped, 2);
    n = sct_npdu(in, sizeof in, 3, NULL, &t.vc, big, 100);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    assert_int_equal(queued(&t.c), 1);
    bacsc_sc_hub_free(t.hub);
}

static void slow_consumer_queue_is_bounded(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 16, 1497);
    uint8_t in[256];
    size_t n = sct_npdu(in, sizeof in, 1, NULL, &t.vb, NPDU, sizeof NPDU);
    for (int i = 0; i < 1000; i++)
        bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    assert_int_equal(queued(&t.b), 16);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->queue_dropped, 1000 - 16);
    assert_int_equal(bacsc_sc_conn_stats_get(bacsc_sc_hub_peer_conn(t.b.peer))->queue_drops,
                     1000 - 16);
    /* Others are unaffected. */
    n = sct_npdu(in, sizeof in, 2, NULL, &t.vc, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    assert_int_equal(queued(&t.c), 1);
    drain(&t.b);
    n = sct_npdu(in, sizeof in, 3, NULL, &t.vb, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, in, n, S);
    assert_int_equal(queued(&t.b), 1);
    bacsc_sc_hub_free(t.hub);
}

static void max_peers_enforced(void **st)
{
    (void)st;
    bacsc_sc_hub_config cfg;
    bacsc_sc_hub_config_default(&cfg);
    cfg.max_peers = 2;
    bacsc_sc_hub *hub = bacsc_sc_hub_new(&cfg, &HCB, NULL);
    io_peer a, b, c;
    int err;
    assert_non_null(bacsc_sc_hub_accept(hub, &a, 0, &err));
    assert_non_null(bacsc_sc_hub_accept(hub, &b, 0, &err));
    assert_null(bacsc_sc_hub_accept(hub, &c, 0, &err));
    assert_int_equal(err, BACSC_ERR_LIMIT);
    bacsc_sc_hub_free(hub);
}

/* ---- timers -------------------------------------------------------------- */

static void hub_timers(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    const uint64_t T = BACSC_SC_HUB_DEFAULT_HEARTBEAT_US;
    /* A socket that never sends Connect-Request: closed after connect wait. */
    io_peer x;
    memset(&x, 0, sizeof x);
    x.peer = bacsc_sc_hub_accept(t.hub, &x, 0, NULL);
    assert_int_equal(bacsc_sc_hub_expiry(t.hub), BACSC_SC_DEFAULT_CONNECT_WAIT_US);
    bacsc_sc_hub_handle_expiry(t.hub, BACSC_SC_DEFAULT_CONNECT_WAIT_US - 1);
    assert_int_equal(x.close_requested, 0);
    bacsc_sc_hub_handle_expiry(t.hub, BACSC_SC_DEFAULT_CONNECT_WAIT_US);
    assert_int_equal(x.close_requested, 1);
    bacsc_sc_hub_peer_gone(t.hub, x.peer, 0, BACSC_SC_DEFAULT_CONNECT_WAIT_US);
    /* A and B send heartbeats every T; C stays silent and is dropped at 2T. */
    uint8_t hb[8];
    size_t n = sct_simple(hb, sizeof hb, BACSC_BVLC_HEARTBEAT_REQUEST, 1);
    for (uint64_t now = T; now <= 10 * T; now += T) {
        bacsc_sc_hub_recv(t.hub, t.a.peer, hb, n, now);
        bacsc_sc_hub_recv(t.hub, t.b.peer, hb, n, now);
        drain(&t.a);
        drain(&t.b);
        bacsc_sc_hub_handle_expiry(t.hub, now);
        assert_true(bacsc_sc_hub_expiry(t.hub) > now);
        assert_int_equal(bacsc_sc_hub_check(t.hub), BACSC_OK);
        if (now < 2 * T)
            assert_int_equal(t.c.close_requested, 0);
        else
            assert_int_equal(t.c.close_requested, 1);
    }
    assert_int_equal(t.c.left, 1);
    assert_int_equal(t.a.close_requested + t.b.close_requested, 0);
    assert_int_equal(bacsc_sc_hub_connected_count(t.hub), 2);
    bacsc_sc_hub_free(t.hub);
}

static void disconnect_all_on_shutdown(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    bacsc_sc_hub_disconnect_all(t.hub, S);
    io_peer *all[3] = {&t.a, &t.b, &t.c};
    uint8_t buf[64];
    for (int i = 0; i < 3; i++) {
        size_t n = pop_out(all[i], buf, sizeof buf);
        assert_true(n >= 4);
        assert_int_equal(buf[0], BACSC_BVLC_DISCONNECT_REQUEST);
    }
    /* A and B answer; C does not and is closed after the disconnect wait. */
    for (int i = 0; i < 2; i++) {
        size_t n = sct_simple(buf, sizeof buf, BACSC_BVLC_DISCONNECT_ACK, 1);
        bacsc_sc_hub_recv(t.hub, all[i]->peer, buf, n, 2 * S);
        assert_int_equal(all[i]->close_requested, 1);
    }
    assert_int_equal(t.c.close_requested, 0);
    bacsc_sc_hub_handle_expiry(t.hub, S + BACSC_SC_DEFAULT_DISCONNECT_WAIT_US);
    assert_int_equal(t.c.close_requested, 1);
    assert_int_equal(bacsc_sc_hub_connected_count(t.hub), 0);
    assert_int_equal(bacsc_sc_hub_check(t.hub), BACSC_OK);
    bacsc_sc_hub_free(t.hub);
}

static void node_disconnect_request_is_acked_and_leaves(void **st)
{
    (void)st;
    trio t;
    trio_setup(&t, 0, 1497);
    uint8_t buf[64];
    size_t n = sct_simple(buf, sizeof buf, BACSC_BVLC_DISCONNECT_REQUEST, 0x0D0D);
    bacsc_sc_hub_recv(t.hub, t.b.peer, buf, n, S);
    size_t gn = pop_out(&t.b, buf, sizeof buf);
    bacsc_bvlc_msg m;
    assert_int_equal(bacsc_bvlc_decode(buf, gn, &m, NULL), BACSC_OK);
    assert_int_equal(m.function, BACSC_BVLC_DISCONNECT_ACK);
    assert_int_equal(m.message_id, 0x0D0D);
    assert_int_equal(t.b.close_requested, 1);
    assert_int_equal(t.b.close_code, 0);
    assert_int_equal(t.b.left, 1);
    assert_null(bacsc_sc_hub_find_vmac(t.hub, &t.vb));
    assert_int_equal(bacsc_sc_hub_connected_count(t.hub), 2);
    /* Traffic for B is now unknown-destination traffic. */
    n = sct_npdu(buf, sizeof buf, 1, NULL, &t.vb, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(t.hub, t.a.peer, buf, n, S);
    assert_int_equal(bacsc_sc_hub_stats_get(t.hub)->unknown_dest_dropped, 1);
    bacsc_sc_hub_peer_gone(t.hub, t.b.peer, 0, S);
    assert_int_equal(t.b.left, 1);
    assert_int_equal(bacsc_sc_hub_check(t.hub), BACSC_OK);
    bacsc_sc_hub_free(t.hub);
}

/* ---- scale --------------------------------------------------------------- */

static void ten_thousand_connections(void **st)
{
    (void)st;
    enum { N = 10000 };
    bacsc_sc_hub *hub = make_hub(0);
    io_peer *io = calloc(N, sizeof *io);
    assert_non_null(io);
    for (int i = 0; i < N; i++) {
        bacsc_vmac v = sct_vmac((uint8_t)(i >> 8), (uint8_t)i);
        bacsc_uuid u = sct_uuid((uint8_t)(i >> 8), (uint8_t)i);
        join_raw(hub, &io[i], i, &v, &u, 1600, 1497, (uint64_t)i);
        drain(&io[i]);
    }
    assert_int_equal(bacsc_sc_hub_connected_count(hub), N);
    assert_int_equal(bacsc_sc_hub_check(hub), BACSC_OK);
    for (int i = 0; i < N; i += 997) {
        bacsc_vmac v = sct_vmac((uint8_t)(i >> 8), (uint8_t)i);
        assert_ptr_equal(bacsc_sc_hub_find_vmac(hub, &v), io[i].peer);
    }
    /* One broadcast reaches the other 9,999; a unicast reaches exactly one. */
    uint8_t in[128];
    size_t n = sct_npdu(in, sizeof in, 1, NULL, &BACSC_VMAC_BROADCAST, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(hub, io[0].peer, in, n, N);
    assert_int_equal(bacsc_sc_hub_stats_get(hub)->broadcast_copies, N - 1);
    bacsc_vmac last = sct_vmac((uint8_t)((N - 1) >> 8), (uint8_t)(N - 1));
    n = sct_npdu(in, sizeof in, 2, NULL, &last, NPDU, sizeof NPDU);
    bacsc_sc_hub_recv(hub, io[0].peer, in, n, N);
    assert_int_equal(queued(&io[N - 1]), 2);
    /* Everybody goes silent: all dropped after 2 x heartbeat, in deadline
     * order (node i joined at i; node 0 last spoke at N). */
    uint64_t t = 2 * BACSC_SC_HUB_DEFAULT_HEARTBEAT_US;
    bacsc_sc_hub_handle_expiry(hub, t + N / 2);
    assert_int_equal(bacsc_sc_hub_connected_count(hub), N / 2);
    assert_int_equal(io[N / 2].close_requested, 1);
    assert_int_equal(io[N / 2 + 1].close_requested, 0);
    assert_int_equal(io[0].close_requested, 0);
    bacsc_sc_hub_handle_expiry(hub, t + N);
    assert_int_equal(bacsc_sc_hub_connected_count(hub), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(io[i].close_requested, 1);
        bacsc_sc_hub_peer_gone(hub, io[i].peer, 0, t + N);
    }
    assert_int_equal(bacsc_sc_hub_peer_count(hub), 0);
    assert_int_equal(bacsc_sc_hub_check(hub), BACSC_OK);
    free(io);
    bacsc_sc_hub_free(hub);
}

int main(void)
{
    sct_seed(7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nodes_join_and_get_connect_accept),
        cmocka_unit_test(real_node_state_machines_talk_through_hub),
        cmocka_unit_test(unicast_rewrite_is_byte_exact),
        cmocka_unit_test(broadcast_fans_out_one_shared_buffer),
        cmocka_unit_test(spoofed_originator_dropped),
        cmocka_unit_test(unknown_destination),
        cmocka_unit_test(duplicate_vmac_other_uuid_naked_151),
        cmocka_unit_test(same_uuid_replaces_old_connection),
        cmocka_unit_test(vmac_free_again_after_peer_gone),
        cmocka_unit_test(hub_naks_what_it_does_not_understand),
        cmocka_unit_test(npdu_before_connect_request_closes_only_that_socket),
        cmocka_unit_test(destination_size_limits_enforced),
        cmocka_unit_test(slow_consumer_queue_is_bounded),
        cmocka_unit_test(max_peers_enforced),
        cmocka_unit_test(hub_timers),
        cmocka_unit_test(disconnect_all_on_shutdown),
        cmocka_unit_test(node_disconnect_request_is_acked_and_leaves),
        cmocka_unit_test(ten_thousand_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
