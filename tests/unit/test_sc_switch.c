/*
 * test_sc_switch.c — the node switch with simulated time and a simulated
 * network: a fake hub that relays BVLC-SC messages between switches (with
 * the Originating-VMAC rewrite) and fake dc WebSockets that carry bytes
 * between an initiated and an accepted connection.
 *
 * Covers: Address-Resolution → ACK → direct connection → direct routing both
 * ways; NAK when not accepting and the negative cache; resolution timeout;
 * answer freshness (= connect wait); hub fallback before establishment, at
 * loss and under settle; automatic connect after N unicasts; idle close;
 * URI fallback; duplicate VMAC (151) vs. same-UUID replacement; connection
 * limit; Advertisement; simultaneous initiation; stop.
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
#include "bacsc/sc_switch.h"
#include "support_sc.h"

#define S 1000000ull
#define MS 1000ull
#define MAXN 4
#define MAXL 16
#define MAXQ 64

static uint64_t now;

struct node;

struct link {
    bool used;
    struct node *na, *nb;          /* initiator, acceptor */
    bacsc_sc_dc *a, *b;            /* b NULL until accepted */
    bool close_a, close_b;
    bool pending_open;
    bool dead;                     /* target refused / unreachable */
};

struct hubmsg {
    int from;
    size_t len;
    uint8_t buf[1700];
    bool npdu;
};

struct node {
    int idx;
    bacsc_sc_switch *sw;
    bacsc_vmac vmac;
    bacsc_uuid uuid;
    bool present;                  /* connected to the hub */
    int rx_direct, rx_hub;
    uint8_t last[64];
    size_t last_len;
    bacsc_vmac last_src;
    bacsc_bvlc_msg last_hub_msg;   /* last non-NPDU relayed to us */
    int hub_msgs;
    int connected_events, closed_events;
};

static struct node nodes[MAXN];
static int nnodes;
static struct link links[MAXL];
static struct hubmsg hubq[MAXQ];
static int hubq_n;

/* ---- fake hub ------------------------------------------------------------------------ */

static struct node *by_vmac(const bacsc_vmac *v)
{
    for (int i = 0; i < nnodes; i++)
        if (nodes[i].present && bacsc_vmac_equal(&nodes[i].vmac, v))
            return &nodes[i];
    return NULL;
}

static int hub_send_npdu(const bacsc_vmac *dest, const uint8_t *npdu, size_t len, uint64_t t,
                         void *user)
{
    struct node *n = user;
    (void)t;
    if (!n->present)
        return BACSC_ERR_STATE;
    assert_true(hubq_n < MAXQ);
    struct hubmsg *m = &hubq[hubq_n++];
    m->from = n->idx;
    m->npdu = true;
    memcpy(m->buf, dest->b, 6);
    memcpy(m->buf + 6, npdu, len);
    m->len = len + 6;
    return BACSC_OK;
}

static int hub_send_msg(const bacsc_bvlc_msg *msg, uint64_t t, void *user)
{
    struct node *n = user;
    (void)t;
    if (!n->present)
        return BACSC_ERR_STATE;
    assert_true(hubq_n < MAXQ);
    struct hubmsg *m = &hubq[hubq_n++];
    m->from = n->idx;
    m->npdu = false;
    m->len = sct_encode(msg, m->buf, sizeof m->buf);
    return BACSC_OK;
}

static bool hub_pump(void)
{
    if (!hubq_n)
        return false;
    struct hubmsg q[MAXQ];
    int n = hubq_n;
    memcpy(q, hubq, sizeof(struct hubmsg) * (size_t)n);
    hubq_n = 0;
    for (int i = 0; i < n; i++) {
        struct node *from = &nodes[q[i].from];
        if (q[i].npdu) {
            bacsc_vmac d;
            memcpy(d.b, q[i].buf, 6);
            for (int k = 0; k < nnodes; k++) {
                struct node *to = &nodes[k];
                if (to == from || !to->present)
                    continue;
                if (!bacsc_vmac_is_broadcast(&d) && !bacsc_vmac_equal(&d, &to->vmac))
                    continue;
                to->rx_hub++;
                to->last_len = q[i].len - 6;
                memcpy(to->last, q[i].buf + 6, to->last_len < 64 ? to->last_len : 64);
                to->last_src = from->vmac;
                if (!bacsc_vmac_is_broadcast(&d))
                    bacsc_sc_switch_note_hub_rx(to->sw, &from->vmac, now);
            }
            continue;
        }
        bacsc_bvlc_msg m;
        assert_int_equal(bacsc_bvlc_decode(q[i].buf, q[i].len, &m, NULL), BACSC_OK);
        struct node *to = m.has_dest ? by_vmac(&m.dest) : NULL;
        if (!to)
            continue; /* unknown destination: dropped (tests the timeout) */
        m.has_dest = false;
        m.has_orig = true;
        m.orig = from->vmac;
        to->hub_msgs++;
        to->last_hub_msg = m;
        bacsc_sc_switch_hub_message(to->sw, &m, now);
    }
    return true;
}

/* ---- fake dc WebSockets ------------------------------------------------------------ */

static struct link *link_of(const bacsc_sc_dc *dc)
{
    for (int i = 0; i < MAXL; i++)
        if (links[i].used && (links[i].a == dc || links[i].b == dc))
            return &links[i];
    return NULL;
}

static void sw_open(bacsc_sc_dc *dc, const char *uri, void *user)
{
    struct node *n = user;
    int target = -1;
    sscanf(uri, "wss://node%d", &target);
    for (int i = 0; i < MAXL; i++) {
        if (links[i].used)
            continue;
        memset(&links[i], 0, sizeof links[i]);
        links[i].used = true;
        links[i].na = n;
        links[i].a = dc;
        links[i].pending_open = true;
        links[i].nb = target >= 0 && target < nnodes ? &nodes[target] : NULL;
        bacsc_sc_dc_set_io(dc, &links[i]);
        return;
    }
    fail_msg("out of links");
}

static void sw_close(bacsc_sc_dc *dc, void *user)
{
    (void)user;
    struct link *l = link_of(dc);
    assert_non_null(l);
    if (l->a == dc)
        l->close_a = true;
    else
        l->close_b = true;
}

static void sw_want_write(bacsc_sc_dc *dc, void *user)
{
    (void)dc;
    (void)user;
}

static void sw_npdu(const bacsc_vmac *src, const uint8_t *npdu, size_t len, uint64_t t,
                    void *user)
{
    struct node *n = user;
    (void)t;
    n->rx_direct++;
    n->last_len = len;
    memcpy(n->last, npdu, len < 64 ? len : 64);
    n->last_src = *src;
}

static void sw_event(bacsc_sc_dc *dc, int ev, void *user)
{
    struct node *n = user;
    (void)dc;
    if (ev == BACSC_SC_DC_CONNECTED)
        n->connected_events++;
    else
        n->closed_events++;
}

static bool flush(bacsc_sc_dc *from, struct node *nfrom, bacsc_sc_dc *to, struct node *nto)
{
    const uint8_t *d;
    size_t len;
    bool any = false;
    (void)nfrom;
    while (bacsc_sc_switch_dc_peek_output(from, &d, &len)) {
        uint8_t tmp[2000];
        memcpy(tmp, d, len);
        bacsc_sc_switch_dc_pop_output(from);
        if (to)
            bacsc_sc_switch_dc_recv(nto->sw, to, tmp, len, now);
        any = true;
    }
    return any;
}

static bool links_pump(void)
{
    bool any = false;
    for (int i = 0; i < MAXL; i++) {
        struct link *l = &links[i];
        if (!l->used)
            continue;
        if (l->pending_open) {
            l->pending_open = false;
            any = true;
            int err = 0;
            if (l->close_a) { /* aborted before it opened */
                l->used = false;
                bacsc_sc_switch_dc_gone(l->na->sw, l->a, 0, now);
                continue;
            }
            if (l->nb)
                l->b = bacsc_sc_switch_accept(l->nb->sw, l, now, &err);
            if (!l->b) {
                l->used = false;
                bacsc_sc_switch_dc_gone(l->na->sw, l->a, 194, now);
                continue;
            }
            bacsc_sc_dc_set_address(l->b, "127.0.0.1:50000");
            bacsc_sc_dc_set_address(l->a, "127.0.0.1:4000");
            bacsc_sc_switch_dc_opened(l->na->sw, l->a, now);
        }
        if (l->dead)
            continue;
        any |= flush(l->a, l->na, l->b, l->nb);
        any |= flush(l->b, l->nb, l->a, l->na);
        if (l->close_a || l->close_b) {
            /* one side closes the WebSocket: both see it gone */
            flush(l->a, l->na, l->b, l->nb);
            flush(l->b, l->nb, l->a, l->na);
            l->used = false;
            bacsc_sc_switch_dc_gone(l->na->sw, l->a, l->close_a ? 0 : 169, now);
            bacsc_sc_switch_dc_gone(l->nb->sw, l->b, l->close_b ? 0 : 169, now);
            any = true;
        }
    }
    return any;
}

static void pump(void)
{
    for (int round = 0; round < 100; round++) {
        bool a = hub_pump();
        bool b = links_pump();
        if (!a && !b)
            return;
    }
    fail_msg("network does not settle");
}

/* Cut a link abruptly (TCP reset): both sides see the WebSocket gone. */
static void cut(struct link *l)
{
    l->used = false;
    bacsc_sc_switch_dc_gone(l->na->sw, l->a, 173, now);
    bacsc_sc_switch_dc_gone(l->nb->sw, l->b, 173, now);
}

static void run_until(uint64_t t)
{
    for (int guard = 0; guard < 100000; guard++) {
        uint64_t e = BACSC_SC_NEVER;
        for (int i = 0; i < nnodes; i++) {
            uint64_t x = bacsc_sc_switch_expiry(nodes[i].sw);
            if (x < e)
                e = x;
        }
        if (e > t)
            break;
        if (e > now)
            now = e;
        for (int i = 0; i < nnodes; i++)
            bacsc_sc_switch_handle_expiry(nodes[i].sw, now);
        pump();
    }
    now = t;
    pump();
}

/* ---- setup ------------------------------------------------------------------------- */

typedef struct opts {
    bool accept;
    bool autoc;
    const char *uris;              /* NULL: "wss://nodeN" */
    size_t max_conns;
} opts;

static struct node *add_node(const opts *o)
{
    struct node *n = &nodes[nnodes];
    memset(n, 0, sizeof *n);
    n->idx = nnodes++;
    n->vmac = sct_vmac(0x02, (uint8_t)(0x10 + n->idx));
    n->uuid = sct_uuid(0xA0, (uint8_t)n->idx);
    n->present = true;
    char uri[64];
    snprintf(uri, sizeof uri, "wss://node%d", n->idx);
    bacsc_sc_switch_config c;
    bacsc_sc_switch_config_default(&c);
    c.vmac = n->vmac;
    c.uuid = n->uuid;
    c.accept_enable = o->accept;
    c.accept_uris = o->uris ? o->uris : uri;
    c.auto_initiate = o->autoc;
    if (o->max_conns)
        c.max_conns = o->max_conns;
    c.idle_us = 30 * S;
    bacsc_sc_switch_callbacks cb = {.hub_send_npdu = hub_send_npdu,
                                    .hub_send_msg = hub_send_msg,
                                    .open = sw_open,
                                    .close = sw_close,
                                    .want_write = sw_want_write,
                                    .npdu = sw_npdu,
                                    .dc_event = sw_event,
                                    .random = sct_random};
    n->sw = bacsc_sc_switch_new(&c, &cb, n);
    assert_non_null(n->sw);
    return n;
}

static int setup(void **state)
{
    (void)state;
    now = 1000 * S;
    nnodes = 0;
    hubq_n = 0;
    memset(links, 0, sizeof links);
    sct_seed(7);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < nnodes; i++)
        bacsc_sc_switch_free(nodes[i].sw);
    nnodes = 0;
    return 0;
}

static const uint8_t NPDU[] = {0x01, 0x04, 0x00, 0x05, 0x01, 0x0C};

static int send(struct node *from, struct node *to)
{
    return bacsc_sc_switch_send_npdu(from->sw, &to->vmac, NPDU, sizeof NPDU, now);
}

static const bacsc_sc_switch_stats *st(struct node *n)
{
    return bacsc_sc_switch_stats_get(n->sw);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_resolve_and_connect(void **state)
{
    (void)state;
    opts o = {.accept = true};
    struct node *a = add_node(&o), *b = add_node(&o);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_OK);
    pump();
    assert_int_equal(st(a)->ar_sent, 1);
    assert_int_equal(st(b)->ar_answered, 1);
    assert_int_equal(st(a)->ar_acks, 1);
    assert_int_equal(a->last_hub_msg.function, BACSC_BVLC_ADDRESS_RESOLUTION_ACK);
    assert_int_equal(a->last_hub_msg.payload_len, strlen("wss://node1"));
    assert_memory_equal(a->last_hub_msg.payload, "wss://node1", 11);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
    assert_int_equal(bacsc_sc_switch_conn_count(b->sw), 1);
    assert_int_equal(a->connected_events, 1);
    assert_true(bacsc_sc_switch_is_direct(a->sw, &b->vmac, now));
    assert_true(bacsc_sc_switch_is_direct(b->sw, &a->vmac, now));
    /* unicast both ways over the direct connection; the hub sees none */
    assert_int_equal(send(a, b), BACSC_OK);
    assert_int_equal(send(b, a), BACSC_OK);
    pump();
    assert_int_equal(b->rx_direct, 1);
    assert_int_equal(a->rx_direct, 1);
    assert_int_equal(b->rx_hub + a->rx_hub, 0);
    assert_true(bacsc_vmac_equal(&b->last_src, &a->vmac));
    assert_memory_equal(b->last, NPDU, sizeof NPDU);
    assert_int_equal(st(a)->tx_direct, 1);
    /* broadcasts still go through the hub */
    assert_int_equal(bacsc_sc_switch_send_npdu(a->sw, &BACSC_VMAC_BROADCAST, NPDU, sizeof NPDU,
                                               now),
                     BACSC_OK);
    pump();
    assert_int_equal(b->rx_hub, 1);
    /* status rows on both sides */
    bacsc_sc_dc_status rows[4];
    assert_int_equal(bacsc_sc_switch_status(a->sw, rows, 4), 1);
    assert_int_equal(rows[0].state, 1);
    assert_string_equal(rows[0].uri, "wss://node1");
    assert_true(rows[0].initiated);
    assert_memory_equal(rows[0].uuid.b, b->uuid.b, 16);
    assert_string_equal(rows[0].peer_address, "127.0.0.1:4000");
    assert_int_equal(bacsc_sc_switch_status(b->sw, rows, 4), 1);
    assert_false(rows[0].initiated);
    assert_true(bacsc_vmac_equal(&rows[0].vmac, &a->vmac));
    /* connecting again is a no-op */
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_OK);
    pump();
    assert_int_equal(st(a)->ar_sent, 1);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &a->vmac, now), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &BACSC_VMAC_BROADCAST, now),
                     BACSC_ERR_INVALID_ARG);
}

static void test_nak_and_negative_cache(void **state)
{
    (void)state;
    opts on = {.accept = true}, off = {.accept = false};
    struct node *a = add_node(&on), *b = add_node(&off);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_OK);
    pump();
    assert_int_equal(st(b)->ar_refused, 1);
    assert_int_equal(a->last_hub_msg.function, BACSC_BVLC_RESULT);
    assert_int_equal(a->last_hub_msg.u.result.result_for, BACSC_BVLC_ADDRESS_RESOLUTION);
    assert_int_equal(a->last_hub_msg.u.result.result_code, BACSC_RESULT_NAK);
    assert_int_equal(a->last_hub_msg.u.result.error_class, BACSC_ERROR_CLASS_COMMUNICATION);
    assert_int_equal(a->last_hub_msg.u.result.error_code,
                     BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
    assert_int_equal(st(a)->ar_naks, 1);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 0);
    /* negative cache: no new resolution until it expires */
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now + 59 * S),
                     BACSC_ERR_POLICY);
    now += 60 * S;
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_OK);
    assert_int_equal(st(a)->ar_sent, 2);
    pump();
    assert_int_equal(st(a)->ar_naks, 2);
    /* traffic goes through the hub */
    assert_int_equal(send(a, b), BACSC_OK);
    pump();
    assert_int_equal(b->rx_hub, 1);
    assert_int_equal(b->rx_direct, 0);
    /* turning accept on at run time changes the answer */
    bacsc_sc_switch_set_accept(b->sw, true);
    now += 61 * S;
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_OK);
    pump();
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
}

static void test_resolution_timeout(void **state)
{
    (void)state;
    opts o = {.accept = true};
    struct node *a = add_node(&o), *b = add_node(&o);
    b->present = false; /* not on the hub: the hub drops the request */
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_OK);
    pump();
    assert_int_equal(bacsc_sc_switch_expiry(a->sw), now + 10 * S);
    run_until(now + 10 * S - 1);
    assert_int_equal(st(a)->ar_timeouts, 0);
    run_until(now + 1);
    assert_int_equal(st(a)->ar_timeouts, 1);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_ERR_POLICY);
    assert_int_equal(bacsc_sc_switch_expiry(a->sw), BACSC_SC_NEVER);
}

static void test_cache_freshness(void **state)
{
    (void)state;
    opts o = {.accept = true};
    struct node *a = add_node(&o), *b = add_node(&o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    pump();
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
    /* cut it: a reconnect within the connect wait reuses the cached answer */
    now += 2 * S;
    for (int i = 0; i < MAXL; i++)
        if (links[i].used)
            cut(&links[i]);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 0);
    bacsc_sc_dc_status row;
    assert_int_equal(bacsc_sc_switch_status(a->sw, &row, 1), 1);
    assert_int_equal(row.state, 2); /* disconnected-with-errors */
    assert_int_equal(row.error_code, 173);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_OK);
    pump();
    assert_int_equal(st(a)->ar_sent, 1);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
    /* after the connect wait the answer is stale: resolve again */
    now += 11 * S;
    for (int i = 0; i < MAXL; i++)
        if (links[i].used)
            cut(&links[i]);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_OK);
    pump();
    assert_int_equal(st(a)->ar_sent, 2);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
}

static void test_hub_fallback(void **state)
{
    (void)state;
    opts o = {.accept = true};
    struct node *a = add_node(&o), *b = add_node(&o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    /* not yet established: through the hub */
    assert_int_equal(send(a, b), BACSC_OK);
    pump();
    assert_int_equal(b->rx_hub, 1);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
    /* established, but a hub-routed message left < settle ago: hub again */
    assert_int_equal(send(a, b), BACSC_OK);
    pump();
    assert_int_equal(b->rx_hub, 2);
    assert_int_equal(b->rx_direct, 0);
    assert_int_equal(st(a)->tx_fallback, 1); /* the first left before any connection */
    now += 100 * MS;
    assert_int_equal(send(a, b), BACSC_OK);
    pump();
    assert_int_equal(b->rx_direct, 1);
    /* the connection breaks: back to the hub, nothing refused */
    for (int i = 0; i < MAXL; i++)
        if (links[i].used)
            cut(&links[i]);
    assert_false(bacsc_sc_switch_is_direct(a->sw, &b->vmac, now));
    assert_int_equal(send(a, b), BACSC_OK);
    assert_int_equal(send(b, a), BACSC_OK);
    pump();
    assert_int_equal(b->rx_hub, 3);
    assert_int_equal(a->rx_hub, 1);
    /* no hub and no direct connection: the error is returned, not hidden */
    a->present = false;
    assert_int_equal(send(a, b), BACSC_ERR_STATE);
}

static void test_settle_under_load(void **state)
{
    (void)state;
    opts o = {.accept = true};
    struct node *a = add_node(&o), *b = add_node(&o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    send(a, b);
    pump();
    /* continuous traffic every 50 ms never leaves a 100 ms gap: the switch
     * moves anyway after 10 x settle */
    int direct_at = -1;
    for (int i = 0; i < 40; i++) {
        send(a, b);
        pump();
        if (direct_at < 0 && b->rx_direct)
            direct_at = i;
        now += 50 * MS;
    }
    assert_int_equal(direct_at, 20);
    assert_int_equal(b->rx_hub + b->rx_direct, 41);
}

static void test_auto_connect_and_idle(void **state)
{
    (void)state;
    opts on = {.accept = true, .autoc = true}, acc = {.accept = true};
    struct node *a = add_node(&on), *b = add_node(&acc), *c = add_node(&acc);
    /* two unicasts: below the threshold */
    send(a, b);
    now += 1 * S;
    send(a, b);
    pump();
    assert_int_equal(st(a)->ar_sent, 0);
    /* outside the window the count starts again */
    now += 11 * S;
    send(a, b);
    pump();
    assert_int_equal(st(a)->ar_sent, 0);
    send(a, b);
    send(a, b);
    pump();
    assert_int_equal(st(a)->auto_triggers, 1);
    assert_int_equal(st(a)->ar_sent, 1);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
    assert_int_equal(b->rx_hub, 5);
    /* traffic received through the hub counts too (c → a) */
    send(c, a);
    send(c, a);
    send(c, a);
    pump();
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 2);
    assert_int_equal(bacsc_sc_switch_conn_count(c->sw), 1);
    /* b's connection stays busy, c's goes idle after 30 s */
    for (int i = 0; i < 8; i++) {
        run_until(now + 5 * S);
        send(a, b);
        pump();
    }
    assert_int_equal(st(a)->dc_idle_closed, 1);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
    assert_int_equal(bacsc_sc_switch_conn_count(c->sw), 0);
    assert_true(bacsc_sc_switch_is_direct(a->sw, &b->vmac, now));
    bacsc_sc_dc_status rows[4];
    size_t n = bacsc_sc_switch_status(a->sw, rows, 4);
    assert_int_equal(n, 2);
    int idle_rows = 0;
    for (size_t i = 0; i < n; i++)
        if (bacsc_vmac_equal(&rows[i].vmac, &c->vmac)) {
            idle_rows++;
            assert_int_equal(rows[i].state, 0); /* not-connected, clean */
            assert_null(rows[i].dc);
        }
    assert_int_equal(idle_rows, 1);
    /* auto off: no more automatic connects */
    bacsc_sc_switch_set_auto(a->sw, false);
    for (int i = 0; i < 5; i++)
        send(a, c);
    pump();
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
}

static void test_uri_fallback_and_failure(void **state)
{
    (void)state;
    opts a_o = {.accept = true};
    opts b_o = {.accept = true, .uris = "wss://node9 wss://node1"};
    struct node *a = add_node(&a_o), *b = add_node(&b_o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    pump();
    assert_int_equal(st(a)->dc_failed, 1);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
    assert_true(bacsc_sc_switch_is_direct(a->sw, &b->vmac, now));
    bacsc_sc_dc_status row;
    bacsc_sc_switch_status(a->sw, &row, 1);
    assert_string_equal(row.uri, "wss://node1");
    teardown(NULL);
    setup(NULL);
    /* every URI fails: negative entry, failed-to-connect row */
    opts c_o = {.accept = true, .uris = "wss://node8 wss://node9"};
    a = add_node(&a_o);
    b = add_node(&c_o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    pump();
    assert_int_equal(st(a)->dc_failed, 2);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 0);
    bacsc_sc_switch_status(a->sw, &row, 1);
    assert_int_equal(row.state, 3);
    assert_int_equal(row.error_code, 194);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_ERR_POLICY);
}

static void test_open_timeout(void **state)
{
    (void)state;
    opts o = {.accept = true};
    struct node *a = add_node(&o), *b = add_node(&o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    hub_pump(); /* AR */
    hub_pump(); /* ACK → open requested; the WebSocket never opens */
    struct link *l = &links[0];
    assert_true(l->used && l->pending_open);
    l->pending_open = false;
    l->dead = true;
    assert_int_equal(bacsc_sc_switch_expiry(a->sw), now + 10 * S);
    now += 10 * S;
    bacsc_sc_switch_handle_expiry(a->sw, now);
    assert_true(l->close_a);
    l->used = false;
    bacsc_sc_switch_dc_gone(a->sw, l->a, 193, now);
    assert_int_equal(st(a)->dc_failed, 1);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 0);
}

static void test_duplicate_vmac(void **state)
{
    (void)state;
    opts o = {.accept = true};
    struct node *a = add_node(&o), *b = add_node(&o), *c = add_node(&o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    pump();
    assert_int_equal(bacsc_sc_switch_conn_count(b->sw), 1);
    /* c claims a's VMAC with another UUID: NAK 151 from b */
    c->vmac = a->vmac;
    bacsc_sc_switch_set_vmac(c->sw, &a->vmac);
    /* the fake hub routes by VMAC: hide a while c talks */
    a->present = false;
    bacsc_sc_switch_connect(c->sw, &b->vmac, now);
    pump();
    a->present = true;
    assert_int_equal(st(b)->dc_refused, 1);
    assert_int_equal(st(c)->dc_failed, 1);
    bacsc_sc_dc_status row;
    bacsc_sc_switch_status(c->sw, &row, 1);
    assert_int_equal(row.state, 3);
    assert_int_equal(row.error_code, BACSC_EC_NODE_DUPLICATE_VMAC);
    assert_int_equal(bacsc_sc_switch_conn_count(b->sw), 1);
    assert_true(bacsc_sc_switch_is_direct(b->sw, &a->vmac, now));
    /* same UUID (a restarted, its old connection not yet timed out): replaced */
    struct node *c2 = c;
    bacsc_sc_switch_free(c->sw);
    c2->uuid = a->uuid;
    bacsc_sc_switch_config cfg;
    bacsc_sc_switch_config_default(&cfg);
    cfg.vmac = a->vmac;
    cfg.uuid = a->uuid;
    cfg.accept_enable = true;
    cfg.accept_uris = "wss://node2";
    bacsc_sc_switch_callbacks cb = {.hub_send_npdu = hub_send_npdu,
                                    .hub_send_msg = hub_send_msg,
                                    .open = sw_open,
                                    .close = sw_close,
                                    .want_write = sw_want_write,
                                    .npdu = sw_npdu,
                                    .dc_event = sw_event};
    c2->sw = bacsc_sc_switch_new(&cfg, &cb, c2);
    a->present = false;
    bacsc_sc_switch_connect(c2->sw, &b->vmac, now);
    pump();
    a->present = true;
    assert_int_equal(bacsc_sc_switch_conn_count(c2->sw), 1);
    assert_int_equal(bacsc_sc_switch_conn_count(b->sw), 1);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 0);
}

static void test_connection_limit(void **state)
{
    (void)state;
    opts o = {.accept = true}, lim = {.accept = true, .max_conns = 1};
    struct node *a = add_node(&o), *b = add_node(&lim), *c = add_node(&o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    pump();
    assert_int_equal(bacsc_sc_switch_conn_count(b->sw), 1);
    bacsc_sc_switch_connect(c->sw, &b->vmac, now);
    pump();
    assert_int_equal(st(b)->dc_refused, 1);
    assert_int_equal(bacsc_sc_switch_conn_count(b->sw), 1);
    assert_int_equal(bacsc_sc_switch_conn_count(c->sw), 0);
    /* and b itself cannot initiate beyond the limit */
    assert_int_equal(bacsc_sc_switch_connect(b->sw, &c->vmac, now), BACSC_ERR_LIMIT);
    /* resolutions in flight are bounded by max_conns as well */
    bacsc_sc_switch_stop(b->sw, now);
    pump();
    teardown(NULL);
    setup(NULL);
    a = add_node(&lim);
    b = add_node(&o);
    c = add_node(&o);
    b->present = c->present = false; /* nobody answers */
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_OK);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &c->vmac, now), BACSC_ERR_LIMIT);
    b->present = c->present = true;
    /* c's traffic to b still flows through the hub */
    assert_int_equal(send(c, b), BACSC_OK);
    pump();
    assert_int_equal(b->rx_hub, 1);
}

static void test_advertisement(void **state)
{
    (void)state;
    opts on = {.accept = true}, off = {.accept = false};
    struct node *a = add_node(&on), *b = add_node(&off);
    bacsc_sc_switch_set_hub_state(a->sw, BACSC_HUB_STATUS_FAILOVER);
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ADVERTISEMENT_SOLICITATION, 0x4242);
    m.has_dest = true;
    m.dest = a->vmac;
    hub_send_msg(&m, now, b);
    pump();
    assert_int_equal(st(a)->adv_sent, 1);
    assert_int_equal(b->last_hub_msg.function, BACSC_BVLC_ADVERTISEMENT);
    assert_int_equal(b->last_hub_msg.message_id, 0x4242);
    assert_int_equal(b->last_hub_msg.u.advertisement.hub_status, 2);
    assert_int_equal(b->last_hub_msg.u.advertisement.accept_direct, 1);
    assert_int_equal(b->last_hub_msg.u.advertisement.max_bvlc_len, 1600);
    assert_int_equal(b->last_hub_msg.u.advertisement.max_npdu_len, 1497);
    m.dest = b->vmac;
    hub_send_msg(&m, now, a);
    pump();
    assert_int_equal(a->last_hub_msg.u.advertisement.accept_direct, 0);
    assert_int_equal(a->last_hub_msg.u.advertisement.hub_status, 0);
}

static void test_simultaneous_initiation(void **state)
{
    (void)state;
    opts o = {.accept = true};
    struct node *a = add_node(&o), *b = add_node(&o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    bacsc_sc_switch_connect(b->sw, &a->vmac, now);
    pump();
    run_until(now + 1 * S);
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 1);
    assert_int_equal(bacsc_sc_switch_conn_count(b->sw), 1);
    assert_true(bacsc_sc_switch_is_direct(a->sw, &b->vmac, now));
    assert_true(bacsc_sc_switch_is_direct(b->sw, &a->vmac, now));
    send(a, b);
    send(b, a);
    pump();
    assert_int_equal(a->rx_direct + b->rx_direct, 2);
}

static void test_stop(void **state)
{
    (void)state;
    opts o = {.accept = true};
    struct node *a = add_node(&o), *b = add_node(&o), *c = add_node(&o);
    bacsc_sc_switch_connect(a->sw, &b->vmac, now);
    bacsc_sc_switch_connect(c->sw, &a->vmac, now);
    pump();
    assert_int_equal(bacsc_sc_switch_conn_count(a->sw), 2);
    bacsc_sc_switch_stop(a->sw, now);
    pump();
    assert_true(bacsc_sc_switch_idle(a->sw));
    assert_int_equal(bacsc_sc_switch_conn_count(b->sw), 0);
    assert_int_equal(bacsc_sc_switch_conn_count(c->sw), 0);
    /* stopped: refuses new ones, answers Address-Resolution with a NAK */
    int err = 0;
    assert_null(bacsc_sc_switch_accept(a->sw, NULL, now, &err));
    assert_int_equal(err, BACSC_ERR_POLICY);
    assert_int_equal(bacsc_sc_switch_connect(a->sw, &b->vmac, now), BACSC_ERR_STATE);
    now += 61 * S;
    bacsc_sc_switch_connect(b->sw, &a->vmac, now);
    pump();
    assert_int_equal(st(a)->ar_refused, 1);
}

static void test_config_validation(void **state)
{
    (void)state;
    bacsc_sc_switch_config c;
    bacsc_sc_switch_config_default(&c);
    bacsc_sc_switch_callbacks cb = {.hub_send_npdu = hub_send_npdu,
                                    .hub_send_msg = hub_send_msg,
                                    .open = sw_open,
                                    .close = sw_close,
                                    .want_write = sw_want_write};
    c.max_conns = 100;
    c.max_peers = 150;
    assert_null(bacsc_sc_switch_new(&c, &cb, NULL));
    c.max_peers = 0;
    char big[BACSC_SC_SWITCH_URIS_MAX + 1];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    c.accept_uris = big;
    assert_null(bacsc_sc_switch_new(&c, &cb, NULL));
    c.accept_uris = "wss://x";
    cb.open = NULL;
    assert_null(bacsc_sc_switch_new(&c, &cb, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve_and_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nak_and_negative_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolution_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_freshness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settle_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_connect_and_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uri_fallback_and_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_vmac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advertisement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simultaneous_initiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_validation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
