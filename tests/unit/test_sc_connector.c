/*
 * test_sc_connector.c — the hub connector against real bacsc_sc_hub instances
 * through a simulated I/O layer and simulated time: primary/failover, return
 * to the primary, jittered exponential reconnect waits, 200 nodes without a
 * reconnect storm, duplicate VMAC, heartbeat loss, stop, a day of uptime.
 *
 * The simulated I/O layer: an open request is answered 1 ms later (opened when
 * the hub is up, failed 194 when it is down, never when it is hung); close
 * requests from either side are honoured after flushing queued output;
 * messages are delivered instantly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/sc_connector.h"
#include "bacsc/sc_hub.h"
#include "support_sc.h"

#define S 1000000ull
#define MS 1000ull
#define MAXN 200
#define MAXATT 256

enum hub_mode { HUB_UP, HUB_DOWN, HUB_HUNG };

typedef struct simhub {
    bacsc_sc_hub *hub;
    int mode;
} simhub;

struct node;
typedef struct link {
    struct node *n;
    int slot;
    int hub;                   /* index into sim.hubs, -1 none */
    bacsc_sc_hub_peer *peer;
    bool open_pending;
    uint64_t open_at;
    bool close_by_node, close_by_hub;
} link;

typedef struct node {
    bacsc_sc_connector *c;
    link l[2];
    uint64_t att[2][MAXATT];   /* times of open requests per slot */
    int n_att[2];
    int state_changes;
    int rx_npdus;
    int vmac_changes;
} node;

static struct sim {
    simhub hubs[2];
    node nodes[MAXN];
    int n;
    uint64_t now;
} sim;

static const char *URI[2] = {"wss://primary.example:443", "wss://failover.example:443"};

/* ---- hub side ------------------------------------------------------------- */

static void hub_want_write(void *io, void *user)
{
    (void)io;
    (void)user;
}

static void hub_close(void *io, uint16_t code, void *user)
{
    (void)code;
    (void)user;
    ((link *)io)->close_by_hub = true;
}

static const bacsc_sc_hub_callbacks HCB = {
    .want_write = hub_want_write,
    .close = hub_close,
    .random = sct_random,
};

static void hub_start(int h)
{
    bacsc_sc_hub_config cfg;
    bacsc_sc_hub_config_default(&cfg);
    cfg.vmac = sct_vmac(0xEE, (uint8_t)h);
    cfg.uuid = sct_uuid(0xEE, (uint8_t)h);
    sim.hubs[h].hub = bacsc_sc_hub_new(&cfg, &HCB, NULL);
    assert_non_null(sim.hubs[h].hub);
    sim.hubs[h].mode = HUB_UP;
}

/* The hub process dies: every socket to it closes (or, when `hang`, it stops
 * answering and its sockets stay open but silent). */
static void hub_kill(int h, bool hang)
{
    for (int i = 0; i < sim.n; i++)
        for (int s = 0; s < 2; s++) {
            link *l = &sim.nodes[i].l[s];
            if (l->hub != h || !l->peer)
                continue;
            if (hang)
                continue;
            l->peer = NULL;
            l->hub = -1;
            l->close_by_hub = l->close_by_node = false;
            bacsc_sc_connector_closed(sim.nodes[i].c, s, BACSC_EC_TCP_CLOSED_OTHER, sim.now);
        }
    if (!hang) {
        bacsc_sc_hub_free(sim.hubs[h].hub);
        sim.hubs[h].hub = NULL;
        sim.hubs[h].mode = HUB_DOWN;
    } else {
        sim.hubs[h].mode = HUB_HUNG;
    }
}

/* ---- node side ------------------------------------------------------------ */

static void n_open(int slot, const char *uri, void *user)
{
    node *n = user;
    link *l = &n->l[slot];
    assert_false(l->open_pending);
    assert_null(l->peer);
    l->hub = strcmp(uri, URI[0]) == 0 ? 0 : strcmp(uri, URI[1]) == 0 ? 1 : -1;
    assert_true(l->hub >= 0);
    l->open_pending = true;
    l->open_at = sim.now + 1 * MS;
    if (n->n_att[slot] < MAXATT)
        n->att[slot][n->n_att[slot]++] = sim.now;
}

static void n_close(int slot, void *user)
{
    node *n = user;
    n->l[slot].close_by_node = true;
}

static void n_want_write(int slot, void *user)
{
    (void)slot;
    (void)user;
}

static void n_state(int state, void *user)
{
    (void)state;
    ((node *)user)->state_changes++;
}

static void n_message(const bacsc_bvlc_msg *msg, uint64_t now, void *user)
{
    (void)now;
    if (msg->function == BACSC_BVLC_ENCAPSULATED_NPDU)
        ((node *)user)->rx_npdus++;
}

static void n_vmac(const bacsc_vmac *v, void *user)
{
    (void)v;
    ((node *)user)->vmac_changes++;
}

static bool broken_random; /* a random source that always fails with zeros */

static int n_random(void *user, uint8_t *buf, size_t len)
{
    if (broken_random) {
        memset(buf, 0, len);
        return -1;
    }
    return sct_random(user, buf, len);
}

static const bacsc_sc_connector_callbacks NCB = {
    .open = n_open,
    .close = n_close,
    .want_write = n_want_write,
    .state_changed = n_state,
    .message = n_message,
    .vmac_changed = n_vmac,
    .random = n_random,
};

static void sim_reset(void)
{
    memset(&sim, 0, sizeof sim);
}

static void sim_free(void)
{
    for (int i = 0; i < sim.n; i++)
        bacsc_sc_connector_free(sim.nodes[i].c);
    for (int h = 0; h < 2; h++)
        bacsc_sc_hub_free(sim.hubs[h].hub);
    sim_reset();
}

static node *add_node(bacsc_sc_connector_config *cfg)
{
    assert_true(sim.n < MAXN);
    node *n = &sim.nodes[sim.n];
    memset(n, 0, sizeof *n);
    for (int s = 0; s < 2; s++) {
        n->l[s].n = n;
        n->l[s].slot = s;
        n->l[s].hub = -1;
    }
    bacsc_sc_connector_config d;
    if (!cfg) {
        bacsc_sc_connector_config_default(&d);
        d.primary_uri = URI[0];
        d.failover_uri = URI[1];
        d.uuid = sct_uuid(1, (uint8_t)sim.n);
        d.uuid.b[13] = (uint8_t)(sim.n >> 8);
        cfg = &d;
    }
    n->c = bacsc_sc_connector_new(cfg, &NCB, n);
    assert_non_null(n->c);
    sim.n++;
    return n;
}

/* ---- the simulated I/O loop ----------------------------------------------- */

static bool hub_live(int h)
{
    return h >= 0 && sim.hubs[h].hub && sim.hubs[h].mode == HUB_UP;
}

/* Move queued messages between a link's two ends. Returns true if any moved. */
static bool pump_link(node *n, int s)
{
    link *l = &n->l[s];
    if (!l->peer || !hub_live(l->hub))
        return false;
    bacsc_sc_hub *hub = sim.hubs[l->hub].hub;
    bool moved = false;
    const uint8_t *d;
    size_t len;
    uint8_t tmp[2048];
    while (l->peer && bacsc_sc_connector_peek_output(n->c, s, &d, &len)) {
        memcpy(tmp, d, len);
        bacsc_sc_connector_pop_output(n->c, s);
        bacsc_sc_hub_recv(hub, l->peer, tmp, len, sim.now);
        moved = true;
    }
    while (l->peer && bacsc_sc_hub_peek_output(l->peer, &d, &len)) {
        memcpy(tmp, d, len);
        bacsc_sc_hub_pop_output(l->peer);
        bacsc_sc_connector_recv(n->c, s, tmp, len, sim.now);
        moved = true;
    }
    return moved;
}

static bool io_events(node *n, int s)
{
    link *l = &n->l[s];
    bool did = false;
    if (l->close_by_node || l->close_by_hub) {
        pump_link(n, s);
        bool by_hub = l->close_by_hub;
        l->close_by_node = l->close_by_hub = false;
        l->open_pending = false;
        if (l->peer && sim.hubs[l->hub].hub)
            bacsc_sc_hub_peer_gone(sim.hubs[l->hub].hub, l->peer, 0, sim.now);
        l->peer = NULL;
        l->hub = -1;
        bacsc_sc_connector_closed(n->c, s, by_hub ? BACSC_EC_WEBSOCKET_CLOSED_BY_PEER : 0,
                                  sim.now);
        did = true;
    }
    if (l->open_pending && l->open_at <= sim.now) {
        int h = l->hub;
        if (hub_live(h)) {
            l->open_pending = false;
            l->peer = bacsc_sc_hub_accept(sim.hubs[h].hub, l, sim.now, NULL);
            assert_non_null(l->peer);
            bacsc_sc_connector_opened(n->c, s, sim.now);
            did = true;
        } else if (sim.hubs[h].mode == HUB_DOWN) {
            l->open_pending = false;
            l->hub = -1;
            bacsc_sc_connector_failed(n->c, s, BACSC_EC_TCP_CONNECTION_REFUSED, sim.now);
            did = true;
        } /* hung: never answered */
    }
    if (pump_link(n, s))
        did = true;
    return did;
}

static void settle(void)
{
    for (int guard = 0; guard < 10000; guard++) {
        bool did = false;
        for (int i = 0; i < sim.n; i++)
            for (int s = 0; s < 2; s++)
                did |= io_events(&sim.nodes[i], s);
        if (!did)
            return;
    }
    fail_msg("simulation does not settle");
}

static uint64_t next_event(void)
{
    uint64_t t = BACSC_SC_NEVER;
    for (int i = 0; i < sim.n; i++) {
        node *n = &sim.nodes[i];
        uint64_t e = bacsc_sc_connector_expiry(n->c);
        if (e < t)
            t = e;
        for (int s = 0; s < 2; s++)
            if (n->l[s].open_pending && n->l[s].open_at < t &&
                sim.hubs[n->l[s].hub].mode != HUB_HUNG) /* a hung hub never answers */
                t = n->l[s].open_at;
    }
    for (int h = 0; h < 2; h++)
        if (hub_live(h) && bacsc_sc_hub_expiry(sim.hubs[h].hub) < t)
            t = bacsc_sc_hub_expiry(sim.hubs[h].hub);
    return t;
}

/* Run until `until`, or until pred() holds (checked after every event).
 * Returns true if pred held. */
static bool run(uint64_t until, bool (*pred)(void))
{
    settle();
    if (pred && pred())
        return true;
    int stalled = 0;
    for (;;) {
        uint64_t t = next_event();
        /* A deadline that handling does not move would spin an event loop. */
        stalled = t <= sim.now ? stalled + 1 : 0;
        if (stalled > 100)
            fail_msg("an expiry stays at or before now (%llu)", (unsigned long long)t);
        if (t > until) {
            sim.now = until;
            return pred ? pred() : false;
        }
        if (t > sim.now)
            sim.now = t;
        for (int h = 0; h < 2; h++)
            if (hub_live(h))
                bacsc_sc_hub_handle_expiry(sim.hubs[h].hub, sim.now);
        for (int i = 0; i < sim.n; i++)
            bacsc_sc_connector_handle_expiry(sim.nodes[i].c, sim.now);
        settle();
        if (pred && pred())
            return true;
    }
}

static bool all_on_primary(void)
{
    for (int i = 0; i < sim.n; i++)
        if (bacsc_sc_connector_state(sim.nodes[i].c) != BACSC_SC_CONNECTED_TO_PRIMARY)
            return false;
    return true;
}

static bool all_on_failover(void)
{
    for (int i = 0; i < sim.n; i++)
        if (bacsc_sc_connector_state(sim.nodes[i].c) != BACSC_SC_CONNECTED_TO_FAILOVER)
            return false;
    return true;
}

/* ---- tests --------------------------------------------------------------- */

static void connects_to_primary(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(1);
    hub_start(0);
    hub_start(1);
    node *n = add_node(NULL);
    assert_int_equal(bacsc_sc_connector_state(n->c), BACSC_SC_NO_HUB_CONNECTION);
    assert_int_equal(bacsc_sc_connector_start(n->c, 0), BACSC_OK);
    assert_int_equal(bacsc_sc_connector_start(n->c, 0), BACSC_ERR_STATE);
    assert_true(run(1 * S, all_on_primary));
    assert_true(sim.now <= 2 * MS);
    const bacsc_sc_hub_connection_status *ps = bacsc_sc_connector_status(n->c, 0);
    assert_int_equal(ps->state, BACSC_SC_STATUS_CONNECTED);
    assert_int_equal(ps->connect_time, sim.now);
    assert_int_equal(bacsc_sc_connector_status(n->c, 1)->state, BACSC_SC_STATUS_NOT_CONNECTED);
    assert_int_equal(bacsc_sc_hub_connected_count(sim.hubs[0].hub), 1);
    assert_int_equal(bacsc_sc_hub_connected_count(sim.hubs[1].hub), 0);
    const bacsc_vmac *v = bacsc_sc_connector_vmac(n->c);
    assert_int_equal(v->b[0] & 0x03, 0x02); /* random, locally administered, unicast */
    assert_ptr_not_equal(bacsc_sc_hub_find_vmac(sim.hubs[0].hub, v), NULL);
    assert_string_equal(bacsc_sc_connector_uri(n->c, 1), URI[1]);
    assert_string_equal(bacsc_sc_connector_state_name(1), "connected-to-primary");
    sim_free();
}

static void primary_refusing_goes_to_failover_at_once(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(2);
    hub_start(1);
    sim.hubs[0].mode = HUB_DOWN;
    node *n = add_node(NULL);
    bacsc_sc_connector_start(n->c, 0);
    assert_true(run(60 * S, all_on_failover));
    assert_true(sim.now <= 3 * MS);
    const bacsc_sc_hub_connection_status *ps = bacsc_sc_connector_status(n->c, 0);
    assert_int_equal(ps->state, BACSC_SC_STATUS_FAILED_TO_CONNECT);
    assert_int_equal(ps->error_code, BACSC_EC_TCP_CONNECTION_REFUSED);
    assert_int_equal(bacsc_sc_connector_status(n->c, 1)->state, BACSC_SC_STATUS_CONNECTED);
    assert_int_equal(bacsc_sc_connector_stats_get(n->c)->failovers, 1);
    sim_free();
}

static void killed_primary_failover_within_connect_wait_plus_reconnect_wait(void **st)
{
    (void)st;
    for (int hang = 0; hang < 2; hang++) {
        sim_reset();
        sct_seed(3 + (uint64_t)hang);
        hub_start(0);
        hub_start(1);
        for (int i = 0; i < 20; i++)
            bacsc_sc_connector_start(add_node(NULL)->c, 0);
        assert_true(run(1 * S, all_on_primary));
        sim.now = 100 * S;
        hub_kill(0, hang);
        uint64_t t0 = sim.now;
        for (int i = 0; i < sim.n && !hang; i++) {
            const bacsc_sc_hub_connection_status *ps = bacsc_sc_connector_status(sim.nodes[i].c, 0);
            assert_int_equal(ps->state, BACSC_SC_STATUS_DISCONNECTED_WITH_ERRORS);
            assert_int_equal(ps->error_code, BACSC_EC_TCP_CLOSED_OTHER);
            assert_int_equal(bacsc_sc_connector_state(sim.nodes[i].c), BACSC_SC_NO_HUB_CONNECTION);
        }
        /* Killed: noticed at once. Hung: noticed by the heartbeat (2 x 60 s). */
        uint64_t detect = hang ? 2 * BACSC_SC_DEFAULT_HEARTBEAT_US : 0;
        uint64_t bound = detect + BACSC_SC_DEFAULT_CONNECT_WAIT_US +
                         2 * BACSC_SC_DEFAULT_RECONNECT_MIN_US + 10 * MS;
        assert_true(run(t0 + bound, all_on_failover));
        for (int i = 0; i < sim.n; i++) {
            const bacsc_sc_hub_connection_status *ps = bacsc_sc_connector_status(sim.nodes[i].c, 0);
            assert_int_equal(ps->state, BACSC_SC_STATUS_FAILED_TO_CONNECT);
        }
        assert_int_equal(bacsc_sc_hub_connected_count(sim.hubs[1].hub), 20);
        sim_free();
    }
}

static void returns_to_primary_when_it_is_back(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(5);
    hub_start(1);
    sim.hubs[0].mode = HUB_DOWN;
    bacsc_sc_connector_config cfg;
    bacsc_sc_connector_config_default(&cfg);
    cfg.primary_uri = URI[0];
    cfg.failover_uri = URI[1];
    cfg.reconnect_max_us = 60 * S;
    cfg.uuid = sct_uuid(2, 2);
    node *n = add_node(&cfg);
    bacsc_sc_connector_start(n->c, 0);
    assert_true(run(S, all_on_failover));
    /* Primary stays down for 10 minutes: probes keep failing, we stay put. */
    assert_false(run(600 * S, all_on_primary));
    assert_int_equal(bacsc_sc_connector_state(n->c), BACSC_SC_CONNECTED_TO_FAILOVER);
    int probes = n->n_att[0];
    assert_true(probes >= 10); /* kept probing (waits capped at 60 s) */
    assert_true(probes <= 600 / 2 + 1);
    hub_start(0);
    uint64_t t1 = sim.now;
    assert_true(run(t1 + 60 * S + 10 * MS, all_on_primary));
    run(sim.now + 100 * MS, NULL); /* let the failover disconnect finish */
    assert_int_equal(bacsc_sc_connector_stats_get(n->c)->returns_to_primary, 1);
    assert_int_equal(bacsc_sc_hub_connected_count(sim.hubs[0].hub), 1);
    assert_int_equal(bacsc_sc_hub_connected_count(sim.hubs[1].hub), 0);
    assert_int_equal(bacsc_sc_hub_peer_count(sim.hubs[1].hub), 0);
    /* Left cleanly: Disconnect-Request/ACK, so no error on the failover status. */
    const bacsc_sc_hub_connection_status *fs = bacsc_sc_connector_status(n->c, 1);
    assert_int_equal(fs->state, BACSC_SC_STATUS_NOT_CONNECTED);
    assert_int_equal(fs->error_code, 0);
    assert_true(bacsc_sc_connector_idle(n->c) == false);
    /* And it stays there for an hour. */
    int changes = n->state_changes;
    run(sim.now + 3600 * S, NULL);
    assert_int_equal(n->state_changes, changes);
    sim_free();
}

/* Check one node's sequence of primary attempts against the backoff law. */
static void check_backoff(const node *n, uint64_t min, uint64_t max)
{
    int distinct = 0;
    uint64_t prev_iv = 0;
    for (int k = 1; k < n->n_att[0]; k++) {
        uint64_t iv = n->att[0][k] - n->att[0][k - 1];
        uint64_t hi = min;
        for (int j = 0; j < k && hi < max; j++)
            hi *= 2;
        if (hi > max)
            hi = max;
        uint64_t lo = hi / 2 < min ? min : hi / 2;
        /* + 2 ms: the failed primary and failover attempts before the wait. */
        assert_true(iv >= lo);
        assert_true(iv <= hi + 3 * MS);
        if (iv != prev_iv)
            distinct++;
        prev_iv = iv;
    }
    assert_true(distinct >= n->n_att[0] / 2);
}

static void reconnect_waits_grow_with_jitter(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(6);
    sim.hubs[0].mode = HUB_DOWN;
    sim.hubs[1].mode = HUB_DOWN;
    node *n = add_node(NULL);
    bacsc_sc_connector_start(n->c, 0);
    run(6 * 3600 * S, NULL); /* six hours of both hubs down */
    assert_true(n->n_att[0] >= 40);
    assert_int_equal(n->n_att[0], n->n_att[1]); /* each round: primary, then failover */
    check_backoff(n, BACSC_SC_DEFAULT_RECONNECT_MIN_US, BACSC_SC_DEFAULT_RECONNECT_MAX_US);
    /* Reached the cap: the last waits are between max/2 and max. */
    uint64_t last = n->att[0][n->n_att[0] - 1] - n->att[0][n->n_att[0] - 2];
    assert_true(last >= BACSC_SC_DEFAULT_RECONNECT_MAX_US / 2);
    assert_int_equal(bacsc_sc_connector_state(n->c), BACSC_SC_NO_HUB_CONNECTION);
    assert_int_equal(bacsc_sc_connector_status(n->c, 1)->state, BACSC_SC_STATUS_FAILED_TO_CONNECT);
    /* The hub comes back: joined within the current wait. */
    hub_start(0);
    assert_true(run(sim.now + BACSC_SC_DEFAULT_RECONNECT_MAX_US + 10 * MS, all_on_primary));
    sim_free();
}

/* Largest number of times in any window of `w` (times sorted ascending). */
static int max_in_window(uint64_t *t, int n, uint64_t w)
{
    int best = 0;
    for (int i = 0, j = 0; i < n; i++) {
        while (t[i] - t[j] >= w)
            j++;
        if (i - j + 1 > best)
            best = i - j + 1;
    }
    return best;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void two_hundred_nodes_no_reconnect_storm(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(8);
    sim.hubs[0].mode = HUB_DOWN;
    sim.hubs[1].mode = HUB_DOWN;
    for (int i = 0; i < MAXN; i++)
        bacsc_sc_connector_start(add_node(NULL)->c, 0);
    run(60 * S, NULL);
    static uint64_t t[MAXN];
    /* Second, third and fourth attempt rounds: spread, never synchronised. */
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < MAXN; i++) {
            assert_true(sim.nodes[i].n_att[0] > round);
            t[i] = sim.nodes[i].att[0][round];
        }
        qsort(t, MAXN, sizeof t[0], cmp_u64);
        int peak = max_in_window(t, MAXN, 100 * MS);
        printf("round %d: at most %d of %d attempts in any 100 ms window (spread %.2f s)\n",
               round, peak, MAXN, (double)(t[MAXN - 1] - t[0]) / S);
        /* Uniform over >= 2 s puts ~10 (peak ~20) in a 100 ms window; a
         * synchronised storm puts all 200 there. Bound: 15 %. */
        assert_true(peak <= MAXN * 15 / 100);
    }
    /* Hub up: everybody joins; then the hub restarts: everybody rejoins,
     * spread over the first reconnect wait. */
    hub_start(0);
    assert_true(run(sim.now + BACSC_SC_DEFAULT_RECONNECT_MAX_US + S, all_on_primary));
    sim.now += 10 * S;
    int before[MAXN];
    for (int i = 0; i < MAXN; i++)
        before[i] = sim.nodes[i].n_att[0];
    hub_kill(0, false);
    uint64_t t0 = sim.now;
    hub_start(0);
    assert_true(run(t0 + 2 * BACSC_SC_DEFAULT_RECONNECT_MIN_US + 10 * MS, all_on_primary));
    for (int i = 0; i < MAXN; i++) {
        assert_int_equal(sim.nodes[i].n_att[0], before[i] + 1);
        t[i] = sim.nodes[i].att[0][before[i]];
        assert_true(t[i] >= t0 + BACSC_SC_DEFAULT_RECONNECT_MIN_US); /* never at once */
    }
    qsort(t, MAXN, sizeof t[0], cmp_u64);
    printf("hub restart: at most %d of %d reconnects in any 100 ms window (spread %.2f s)\n",
           max_in_window(t, MAXN, 100 * MS), MAXN, (double)(t[MAXN - 1] - t[0]) / S);
    assert_true(max_in_window(t, MAXN, 100 * MS) <= MAXN * 15 / 100);
    assert_true(t[MAXN - 1] - t[0] >= BACSC_SC_DEFAULT_RECONNECT_MIN_US * 8 / 10);
    assert_int_equal(bacsc_sc_hub_connected_count(sim.hubs[0].hub), MAXN);
    sim_free();
}

static void no_storm_even_with_a_broken_random_source(void **st)
{
    (void)st;
    sim_reset();
    sim.hubs[0].mode = HUB_DOWN;
    sim.hubs[1].mode = HUB_DOWN;
    for (int i = 0; i < MAXN; i++) {
        bacsc_sc_connector_config cfg;
        bacsc_sc_connector_config_default(&cfg);
        cfg.primary_uri = URI[0];
        cfg.failover_uri = URI[1];
        cfg.random_vmac = false;
        cfg.vmac = sct_vmac((uint8_t)(i >> 8), (uint8_t)i);
        cfg.uuid = sct_uuid((uint8_t)(i >> 8), (uint8_t)i);
        add_node(&cfg);
    }
    broken_random = true;
    for (int i = 0; i < MAXN; i++)
        bacsc_sc_connector_start(sim.nodes[i].c, 0);
    run(30 * S, NULL);
    broken_random = false;
    static uint64_t t[MAXN];
    for (int i = 0; i < MAXN; i++) {
        assert_true(sim.nodes[i].n_att[0] > 1);
        t[i] = sim.nodes[i].att[0][1];
    }
    qsort(t, MAXN, sizeof t[0], cmp_u64);
    assert_true(max_in_window(t, MAXN, 100 * MS) <= MAXN * 15 / 100);
    sim_free();
}

static void duplicate_vmac_picks_new_vmac_and_joins(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(9);
    hub_start(0);
    hub_start(1);
    /* Another device already holds 02:00:00:00:77:77 on the primary. */
    bacsc_vmac taken = sct_vmac(0x77, 0x77);
    bacsc_sc_connector_config cfg;
    bacsc_sc_connector_config_default(&cfg);
    cfg.primary_uri = URI[0];
    cfg.failover_uri = URI[1];
    cfg.random_vmac = false;
    cfg.vmac = taken;
    cfg.uuid = sct_uuid(7, 1);
    node *first = add_node(&cfg);
    bacsc_sc_connector_start(first->c, 0);
    assert_true(run(S, all_on_primary));
    cfg.uuid = sct_uuid(7, 2);
    node *second = add_node(&cfg);
    bacsc_sc_connector_start(second->c, sim.now);
    assert_true(run(sim.now + S, all_on_primary));
    assert_int_equal(second->vmac_changes, 1);
    const bacsc_vmac *nv = bacsc_sc_connector_vmac(second->c);
    assert_false(bacsc_vmac_equal(nv, &taken));
    assert_int_equal(nv->b[0] & 0x03, 0x02);
    assert_int_equal(bacsc_sc_connector_stats_get(second->c)->vmac_changes, 1);
    assert_ptr_not_equal(bacsc_sc_hub_find_vmac(sim.hubs[0].hub, nv), NULL);
    assert_int_equal(bacsc_sc_hub_connected_count(sim.hubs[0].hub), 2);
    assert_int_equal(first->vmac_changes, 0);
    /* Its VMAC stays the new one across reconnects. */
    hub_kill(0, false);
    hub_start(0);
    assert_true(run(sim.now + 10 * S, all_on_primary));
    assert_true(bacsc_vmac_equal(bacsc_sc_connector_vmac(second->c), nv));
    assert_int_equal(second->vmac_changes, 1);
    sim_free();
}

static void npdus_flow_and_are_refused_while_not_connected(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(10);
    hub_start(0);
    hub_start(1);
    node *a = add_node(NULL);
    node *b = add_node(NULL);
    const uint8_t npdu[] = {0x01, 0x20, 0xFF, 0xFF, 0x00, 0xFF, 0x10, 0x08};
    assert_int_equal(bacsc_sc_connector_send_npdu(a->c, &BACSC_VMAC_BROADCAST, npdu, sizeof npdu, 0),
                     BACSC_ERR_STATE);
    assert_int_equal(bacsc_sc_connector_stats_get(a->c)->tx_not_connected, 1);
    bacsc_sc_connector_start(a->c, 0);
    bacsc_sc_connector_start(b->c, 0);
    assert_true(run(S, all_on_primary));
    assert_int_equal(bacsc_sc_connector_send_npdu(a->c, &BACSC_VMAC_BROADCAST, npdu, sizeof npdu,
                                                  sim.now),
                     BACSC_OK);
    assert_int_equal(bacsc_sc_connector_send_npdu(a->c, bacsc_sc_connector_vmac(b->c), npdu,
                                                  sizeof npdu, sim.now),
                     BACSC_OK);
    settle();
    assert_int_equal(b->rx_npdus, 2);
    assert_int_equal(a->rx_npdus, 0);
    sim_free();
}

static void stop_disconnects_and_stays_down(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(11);
    hub_start(0);
    hub_start(1);
    node *n = add_node(NULL);
    bacsc_sc_connector_start(n->c, 0);
    assert_true(run(S, all_on_primary));
    bacsc_sc_connector_stop(n->c, sim.now);
    assert_int_equal(bacsc_sc_connector_state(n->c), BACSC_SC_NO_HUB_CONNECTION);
    run(sim.now + 3600 * S, NULL);
    assert_true(bacsc_sc_connector_idle(n->c));
    assert_int_equal(n->n_att[0], 1);
    assert_int_equal(bacsc_sc_hub_peer_count(sim.hubs[0].hub), 0);
    assert_int_equal(bacsc_sc_connector_status(n->c, 0)->state, BACSC_SC_STATUS_NOT_CONNECTED);
    assert_int_equal(bacsc_sc_connector_expiry(n->c), BACSC_SC_NEVER);
    sim_free();
}

static void stays_connected_for_a_day(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(12);
    hub_start(0);
    hub_start(1);
    node *n = add_node(NULL);
    bacsc_sc_connector_start(n->c, 0);
    assert_true(run(S, all_on_primary));
    run(24 * 3600 * S, NULL);
    assert_int_equal(bacsc_sc_connector_state(n->c), BACSC_SC_CONNECTED_TO_PRIMARY);
    assert_int_equal(n->state_changes, 1);
    assert_int_equal(bacsc_sc_connector_stats_get(n->c)->losses, 0);
    /* Heartbeats kept both sides alive: about one per minute. */
    const bacsc_sc_conn_stats *cs = bacsc_sc_conn_stats_get(bacsc_sc_connector_conn(n->c, 0));
    assert_true(cs->tx_msgs >= 24 * 60 - 2 && cs->tx_msgs <= 24 * 60 + 2);
    sim_free();
}

static void primary_only_retries_with_backoff(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(13);
    sim.hubs[0].mode = HUB_HUNG; /* accepts nothing, answers nothing */
    bacsc_sc_connector_config cfg;
    bacsc_sc_connector_config_default(&cfg);
    cfg.primary_uri = URI[0];
    cfg.uuid = sct_uuid(3, 3);
    node *n = add_node(&cfg);
    bacsc_sc_connector_start(n->c, 0);
    run(3600 * S, NULL);
    assert_int_equal(n->n_att[1], 0);
    assert_true(n->n_att[0] >= 5);
    const bacsc_sc_hub_connection_status *ps = bacsc_sc_connector_status(n->c, 0);
    assert_int_equal(ps->state, BACSC_SC_STATUS_FAILED_TO_CONNECT);
    assert_int_equal(ps->error_code, BACSC_EC_TCP_CONNECT_TIMEOUT);
    /* Each attempt gives up after the connect wait, then waits >= min. */
    for (int k = 1; k < n->n_att[0]; k++)
        assert_true(n->att[0][k] - n->att[0][k - 1] >=
                    BACSC_SC_DEFAULT_CONNECT_WAIT_US + BACSC_SC_DEFAULT_RECONNECT_MIN_US);
    sim_free();
}

static void hung_primary_failover_after_connect_wait_and_probes_time_out(void **st)
{
    (void)st;
    sim_reset();
    sct_seed(14);
    hub_start(1);
    sim.hubs[0].mode = HUB_HUNG; /* TCP accepted, nothing ever answered */
    node *n = add_node(NULL);
    bacsc_sc_connector_start(n->c, 0);
    assert_true(run(BACSC_SC_DEFAULT_CONNECT_WAIT_US + 10 * MS, all_on_failover));
    assert_true(sim.now >= BACSC_SC_DEFAULT_CONNECT_WAIT_US);
    assert_int_equal(bacsc_sc_connector_status(n->c, 0)->error_code, BACSC_EC_TCP_CONNECT_TIMEOUT);
    /* Two hours of probes that all time out: never leaves the failover. */
    run(2 * 3600 * S, NULL);
    assert_int_equal(bacsc_sc_connector_state(n->c), BACSC_SC_CONNECTED_TO_FAILOVER);
    assert_int_equal(n->state_changes, 1);
    assert_true(n->n_att[0] >= 12);
    /* Probe waits back off to the maximum too. */
    uint64_t last = n->att[0][n->n_att[0] - 1] - n->att[0][n->n_att[0] - 2];
    assert_true(last >= BACSC_SC_DEFAULT_RECONNECT_MAX_US / 2);
    /* The primary recovers: back within one probe wait. */
    bacsc_sc_hub_free(sim.hubs[0].hub);
    hub_start(0);
    assert_true(run(sim.now + BACSC_SC_DEFAULT_RECONNECT_MAX_US + BACSC_SC_DEFAULT_CONNECT_WAIT_US,
                    all_on_primary));
    sim_free();
}

static void invalid_configs_rejected(void **st)
{
    (void)st;
    bacsc_sc_connector_config cfg;
    bacsc_sc_connector_config_default(&cfg);
    assert_null(bacsc_sc_connector_new(&cfg, &NCB, NULL)); /* no primary URI */
    cfg.primary_uri = URI[0];
    cfg.reconnect_min_us = 1000; /* 1 ms: a storm waiting to happen */
    assert_null(bacsc_sc_connector_new(&cfg, &NCB, NULL));
    cfg.reconnect_min_us = 10 * S;
    cfg.reconnect_max_us = 5 * S;
    assert_null(bacsc_sc_connector_new(&cfg, &NCB, NULL));
    cfg.reconnect_max_us = 10 * S;
    bacsc_sc_connector_callbacks cb = NCB;
    cb.random = NULL;
    assert_null(bacsc_sc_connector_new(&cfg, &cb, NULL));
    bacsc_sc_connector *c = bacsc_sc_connector_new(&cfg, &NCB, NULL);
    assert_non_null(c);
    assert_null(bacsc_sc_connector_uri(c, 1));
    assert_int_equal(bacsc_sc_connector_opened(c, 0, 0), BACSC_ERR_STATE);
    assert_int_equal(bacsc_sc_connector_closed(c, 1, 0, 0), BACSC_ERR_STATE);
    assert_int_equal(bacsc_sc_connector_opened(c, 5, 0), BACSC_ERR_INVALID_ARG);
    bacsc_sc_connector_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connects_to_primary),
        cmocka_unit_test(primary_refusing_goes_to_failover_at_once),
        cmocka_unit_test(killed_primary_failover_within_connect_wait_plus_reconnect_wait),
        cmocka_unit_test(returns_to_primary_when_it_is_back),
        cmocka_unit_test(reconnect_waits_grow_with_jitter),
        cmocka_unit_test(two_hundred_nodes_no_reconnect_storm),
        cmocka_unit_test(no_storm_even_with_a_broken_random_source),
        cmocka_unit_test(duplicate_vmac_picks_new_vmac_and_joins),
        cmocka_unit_test(npdus_flow_and_are_refused_while_not_connected),
        cmocka_unit_test(stop_disconnects_and_stays_down),
        cmocka_unit_test(stays_connected_for_a_day),
        cmocka_unit_test(primary_only_retries_with_backoff),
        cmocka_unit_test(hung_primary_failover_after_connect_wait_and_probes_time_out),
        cmocka_unit_test(invalid_configs_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
