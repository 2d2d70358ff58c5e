/*
 * bench_hub.c — the load engine behind `bacsc bench hub` (see bench_hub.h).
 *
 * One event loop, one hub connector + one WebSocket per simulated node. The
 * connector (sans-I/O) does the BACnet/SC work; this file is its I/O glue
 * and the traffic pattern. Calls into a connector never happen from inside
 * its callbacks: callbacks only put the node on a work list that drain()
 * processes after the call returned.
 */
#include "bench_hub.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/sc_connector.h"
#include "bacsc/wsconn.h"

/* ---- log-linear histogram (HDR style): exact below 128, then 64 sub-buckets
 * per power of two (≤ 1.6 % error). Values are nanoseconds. ------------- */

#define H_BUCKETS (58 * 64 + 128)

typedef struct hist {
    uint64_t n[H_BUCKETS];
    uint64_t count, max;
    double sum;
} hist;

static unsigned h_index(uint64_t v)
{
    if (v < 128)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* ≥ 7 */
    unsigned shift = e - 6;
    return (e - 6) * 64 + (unsigned)(v >> shift);
}

static double h_value(unsigned idx)
{
    if (idx < 128)
        return idx;
    unsigned e = idx / 64 + 5, m = idx % 64 + 64, shift = e - 6;
    double lo = (double)((uint64_t)m << shift);
    return lo + (double)((uint64_t)1 << shift) / 2.0;
}

static void h_add(hist *h, uint64_t v)
{
    unsigned i = h_index(v);
    if (i >= H_BUCKETS)
        i = H_BUCKETS - 1;
    h->n[i]++;
    h->count++;
    h->sum += (double)v;
    if (v > h->max)
        h->max = v;
}

static double h_percentile(const hist *h, double p)
{
    if (!h->count)
        return 0;
    uint64_t target = (uint64_t)ceil(p * (double)h->count);
    if (target < 1)
        target = 1;
    uint64_t acc = 0;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        acc += h->n[i];
        if (acc >= target) {
            double v = h_value(i);
            return v > (double)h->max ? (double)h->max : v;
        }
    }
    return (double)h->max;
}

/* ns histogram → µs summary */
static void h_summary(const hist *h, bench_latency *out)
{
    out->count = h->count;
    out->p50 = h_percentile(h, 0.50) / 1000.0;
    out->p90 = h_percentile(h, 0.90) / 1000.0;
    out->p99 = h_percentile(h, 0.99) / 1000.0;
    out->p999 = h_percentile(h, 0.999) / 1000.0;
    out->max = (double)h->max / 1000.0;
    out->mean = h->count ? h->sum / (double)h->count / 1000.0 : 0;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- payload --------------------------------------------------------------
 * NPDU: 01 00 | 10 04 (Unconfirmed-Request, UnconfirmedPrivateTransfer)
 *       0A FF FF (vendor 65535) | 19 42 (service 66) | 2E (open [2])
 *       octet string: 65 LL or 65 FE LLLL | data | 2F (close [2])
 * data: magic(4) kind(1) pad(3) pair(4) seq(4) t_origin(8) t_leg(8) padding… */

#define MAGIC 0x42534342u /* "BSCB" */
#define BODY_LEN 32
#define KIND_REQUEST 0
#define KIND_REFLECT 1

typedef struct body {
    uint32_t magic;
    uint8_t kind, pad[3];
    uint32_t pair, seq;
    uint64_t t_origin, t_leg;
} body;

_Static_assert(sizeof(body) == BODY_LEN, "body layout");

/* Build the NPDU frame for `size` octets; returns the data offset or -1. */
static int build_npdu(uint8_t *buf, size_t size)
{
    static const uint8_t head[] = {0x01, 0x00, 0x10, 0x04, 0x0A, 0xFF, 0xFF, 0x19, 0x42, 0x2E};
    if (size < BENCH_HUB_MIN_SIZE || size > BENCH_HUB_MAX_SIZE)
        return -1;
    memcpy(buf, head, sizeof head);
    size_t off = sizeof head;
    size_t l = size - sizeof head - 1 - 2; /* 2-octet tag form */
    if (l <= 253) {
        buf[off++] = 0x65;
        buf[off++] = (uint8_t)l;
    } else {
        l = size - sizeof head - 1 - 4;
        if (l < 254)
            return -1; /* 267/268: no canonical encoding; caller rounds */
        buf[off++] = 0x65;
        buf[off++] = 0xFE;
        buf[off++] = (uint8_t)(l >> 8);
        buf[off++] = (uint8_t)l;
    }
    for (size_t i = 0; i < l; i++)
        buf[off + i] = (uint8_t)(i * 7);
    buf[off + l] = 0x2F;
    return (int)off;
}

int bench_hub_npdu(size_t size, uint8_t *buf)
{
    if (size == 267 || size == 268)
        size = 269;
    int off = build_npdu(buf, size);
    if (off < 0)
        return -1;
    body bd = {.magic = MAGIC, .kind = KIND_REQUEST};
    memcpy(buf + off, &bd, sizeof bd);
    return (int)size;
}

/* ---- nodes ---------------------------------------------------------------- */

typedef struct bench bench;

typedef struct bnode {
    bench *b;
    unsigned idx;
    struct bnode *peer; /* pair partner, NULL for idle nodes */
    bool is_a;
    bacsc_sc_connector *con;
    bacsc_wsconn *ws;
    bool ws_opened;
    bool started;
    bool connected;
    bool ever_connected;
    bool lost;          /* lost its connection during the restart wait */
    bool listed;
    bool want_close;
    bool want_fail;     /* open failed synchronously */
    bool starved;       /* waiting for rate tokens (in bench.starved) */
    bool queued;        /* open request waiting for a handshake slot */
    bool opening;       /* TCP/TLS/HTTP handshake in progress (holds a slot) */
    uint32_t ticket;    /* of its newest open-queue entry */
    uint16_t fail_code;
    struct bnode *next;
    uint64_t t_start_ns; /* attempt started */
    uint32_t inflight, seq;
    uint64_t last_progress_ns;
    bacsc_tls_resume resume; /* the node's last TLS session from the hub */
} bnode;

enum phase { PH_CONNECT, PH_RUN, PH_DRAIN, PH_HOLD, PH_RESTART, PH_STOP };

struct bench {
    const bench_hub_opts *o;
    bench_hub_result *r;
    bacsc_loop *loop;
    bacsc_tls_ctx *tls;
    bacsc_ws_options wo;
    bnode *nodes;
    unsigned n_nodes, n_started, n_pending, n_connected;
    bnode *work;
    bool draining;
    int phase;
    uint8_t *tx;      /* NPDU template */
    int data_off;
    size_t size;
    hist *oneway, *rtt, *conn;
    double tokens;    /* rate limiter: relayed messages allowed */
    uint64_t last_refill_ns;
    bnode **starved;  /* A nodes waiting for tokens */
    unsigned n_starved;
    uint64_t restart_first_loss_ns, restart_last_back_ns, restart_last_loss_ns;
    /* open requests wait here in FIFO order while `concurrency` handshakes
     * are in progress (ring of node pointers; a node is in it at most once) */
    struct oq_entry {
        bnode *n;
        uint32_t ticket;
    } *openq;
    unsigned oq_cap, oq_head, oq_len, n_opening;
    unsigned restart_lost, restart_back;
};

static const bacsc_ws_callbacks ws_cb;

static int rnd(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void list_node(bnode *n)
{
    if (n->listed)
        return;
    n->listed = true;
    n->next = n->b->work;
    n->b->work = n;
}

/* Start the WebSocket of a node whose open request got a handshake slot. */
static void start_ws(bnode *n)
{
    bench *b = n->b;
    bacsc_wsconn *ws = NULL;
    n->opening = true;
    b->n_opening++;
    bacsc_ws_options wo = b->wo;
    if (!b->o->no_resume)
        wo.resume = &n->resume; /* each node keeps its own session, like real devices */
    int rc = bacsc_ws_connect(b->loop, b->o->hub_uri, b->tls, &wo, &ws_cb, n, &ws);
    if (rc != BACSC_OK) {
        n->opening = false;
        b->n_opening--;
        n->ws = NULL;
        n->want_fail = true;
        n->fail_code = rc == BACSC_ERR_IO && (errno == EMFILE || errno == ENFILE)
                           ? BACSC_EC_TCP_ERROR
                           : BACSC_EC_TCP_CONNECTION_REFUSED;
        list_node(n);
        return;
    }
    n->ws = ws;
}

/* A handshake slot became free: start queued opens (FIFO). */
static void release_slot(bnode *n)
{
    bench *b = n->b;
    if (!n->opening)
        return;
    n->opening = false;
    b->n_opening--;
    unsigned conc = b->o->concurrency ? b->o->concurrency : 1000;
    while (b->oq_len && b->n_opening < conc) {
        struct oq_entry e = b->openq[b->oq_head];
        b->oq_head = (b->oq_head + 1) % b->oq_cap;
        b->oq_len--;
        bnode *q = e.n;
        if (!q->queued || q->ticket != e.ticket)
            continue; /* withdrawn, or superseded by a newer entry */
        q->queued = false;
        start_ws(q);
    }
}

/* connector callbacks: only record and list (open may start a connect:
 * results always come later, from the loop or from drain()). */
static void c_open(int slot, const char *uri, void *user)
{
    bnode *n = user;
    bench *b = n->b;
    (void)slot;
    (void)uri;
    n->ws_opened = false;
    n->want_close = false;
    unsigned conc = b->o->concurrency ? b->o->concurrency : 1000;
    if (b->n_opening < conc && !b->oq_len) {
        start_ws(n);
        return;
    }
    if (n->queued)
        return;
    if (b->oq_len == b->oq_cap) {
        /* full of stale entries: keep the live ones (≤ nodes ≤ cap / 2) */
        struct oq_entry *fresh = calloc(b->oq_cap, sizeof *fresh);
        if (!fresh) {
            n->want_fail = true;
            n->fail_code = BACSC_EC_TCP_ERROR;
            list_node(n);
            return;
        }
        unsigned k = 0;
        for (unsigned i = 0; i < b->oq_len; i++) {
            struct oq_entry e = b->openq[(b->oq_head + i) % b->oq_cap];
            if (e.n->queued && e.n->ticket == e.ticket)
                fresh[k++] = e;
        }
        free(b->openq);
        b->openq = fresh;
        b->oq_head = 0;
        b->oq_len = k;
    }
    n->queued = true;
    n->ticket++;
    b->openq[(b->oq_head + b->oq_len) % b->oq_cap] = (struct oq_entry){n, n->ticket};
    b->oq_len++;
}

static void c_close(int slot, void *user)
{
    bnode *n = user;
    (void)slot;
    if (n->queued) {
        /* connect wait ran out while waiting for a slot: nothing was opened */
        n->queued = false;
        n->want_fail = true;
        n->fail_code = BACSC_EC_TCP_CONNECT_TIMEOUT;
        list_node(n);
        return;
    }
    n->want_close = true;
    list_node(n);
}

static void c_want_write(int slot, void *user)
{
    (void)slot;
    list_node(user);
}

static void c_state(int state, void *user)
{
    bnode *n = user;
    bench *b = n->b;
    bool now_conn = state != BACSC_SC_NO_HUB_CONNECTION;
    if (now_conn == n->connected)
        return;
    n->connected = now_conn;
    uint64_t t = mono_ns();
    if (now_conn) {
        b->n_connected++;
        if (!n->ever_connected) {
            n->ever_connected = true;
            if (b->n_pending)
                b->n_pending--;
            h_add(b->conn, t - n->t_start_ns);
        }
        if (b->phase == PH_RESTART && n->lost) {
            n->lost = false;
            b->restart_back++;
            b->restart_last_back_ns = t;
        }
    } else {
        b->n_connected--;
        if (b->phase == PH_RUN || b->phase == PH_DRAIN || b->phase == PH_HOLD)
            b->r->disconnects++;
        if (b->phase == PH_RESTART || b->phase == PH_HOLD) {
            if (!n->lost) {
                n->lost = true;
                if (!b->restart_lost)
                    b->restart_first_loss_ns = t;
                b->restart_last_loss_ns = t;
                b->restart_lost++;
            }
        }
        n->inflight = 0;
    }
}

static void send_request(bnode *a);

static void on_npdu(bnode *n, const bacsc_bvlc_msg *msg, uint64_t now)
{
    bench *b = n->b;
    const uint8_t *p = msg->payload;
    if (msg->payload_len != b->size ||
        msg->payload_len < (size_t)b->data_off + BODY_LEN) {
        b->r->bad_payload++;
        return;
    }
    body bd;
    memcpy(&bd, p + b->data_off, sizeof bd);
    if (bd.magic != MAGIC) {
        b->r->bad_payload++;
        return;
    }
    uint64_t t = mono_ns();
    bool measuring = b->phase == PH_RUN;
    if (measuring) {
        b->r->received++;
        if (t >= bd.t_leg)
            h_add(b->oneway, t - bd.t_leg);
    }
    if (bd.kind == KIND_REQUEST) {
        /* B: reflect to the originator */
        bd.kind = KIND_REFLECT;
        bd.t_leg = mono_ns();
        memcpy(b->tx + b->data_off, &bd, sizeof bd);
        const bacsc_vmac *dest = msg->has_orig ? &msg->orig
                                 : n->peer ? bacsc_sc_connector_vmac(n->peer->con)
                                           : NULL;
        if (!dest)
            return;
        if (bacsc_sc_connector_send_npdu(n->con, dest, b->tx, b->size, now) == BACSC_OK) {
            if (measuring)
                b->r->sent++;
        } else {
            b->r->send_refused++;
        }
        list_node(n);
        return;
    }
    /* A: a reflection came back */
    if (!n->is_a)
        return;
    if (measuring && t >= bd.t_origin)
        h_add(b->rtt, t - bd.t_origin);
    if (n->inflight)
        n->inflight--;
    n->last_progress_ns = t;
    if (b->phase == PH_RUN)
        send_request(n);
}

static void c_message(const bacsc_bvlc_msg *msg, uint64_t now, void *user)
{
    bnode *n = user;
    if (msg->function == BACSC_BVLC_ENCAPSULATED_NPDU)
        on_npdu(n, msg, now);
    else if (msg->function == BACSC_BVLC_RESULT && msg->u.result.result_code == BACSC_RESULT_NAK)
        n->b->r->naks++;
}

static const bacsc_sc_connector_callbacks con_cb = {
    .open = c_open,
    .close = c_close,
    .want_write = c_want_write,
    .state_changed = c_state,
    .message = c_message,
    .random = rnd,
};

/* Send one request from A (window and rate permitting). */
static void send_request(bnode *a)
{
    bench *b = a->b;
    if (!a->connected || !a->peer || !a->peer->connected)
        return;
    if (b->o->rate > 0) {
        if (b->tokens < 2) {
            if (!a->starved) {
                a->starved = true;
                b->starved[b->n_starved++] = a;
            }
            return;
        }
        b->tokens -= 2;
    }
    uint64_t t = mono_ns();
    body bd = {.magic = MAGIC, .kind = KIND_REQUEST, .pair = a->idx / 2, .seq = a->seq++,
               .t_origin = t, .t_leg = t};
    memcpy(b->tx + b->data_off, &bd, sizeof bd);
    int rc = bacsc_sc_connector_send_npdu(a->con, bacsc_sc_connector_vmac(a->peer->con), b->tx,
                                          b->size, bacsc_loop_now(b->loop));
    if (rc != BACSC_OK) {
        b->r->send_refused++;
        return;
    }
    if (b->phase == PH_RUN)
        b->r->sent++;
    a->inflight++;
    if (a->inflight == 1)
        a->last_progress_ns = t;
    list_node(a);
}

static void fill_window(bnode *a)
{
    unsigned w = a->b->o->mode == BENCH_MODE_RTT ? 1 : a->b->o->window;
    while (a->inflight < w && !a->starved) {
        unsigned before = a->inflight;
        send_request(a);
        if (a->inflight == before)
            break;
    }
}

/* ---- WebSocket callbacks ------------------------------------------------ */

static void drain(bench *b);

static void ws_open(bacsc_wsconn *c, unsigned protocol, void *user)
{
    (void)c;
    (void)protocol;
    bnode *n = user;
    n->ws_opened = true;
    release_slot(n);
    bacsc_sc_connector_opened(n->con, BACSC_SC_SLOT_PRIMARY, bacsc_loop_now(n->b->loop));
    drain(n->b);
}

static void ws_message(bacsc_wsconn *c, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    bnode *n = user;
    bacsc_sc_connector_recv(n->con, BACSC_SC_SLOT_PRIMARY, data, len, bacsc_loop_now(n->b->loop));
    drain(n->b);
}

static void ws_close(bacsc_wsconn *c, uint16_t error_code, const char *reason, void *user)
{
    (void)reason;
    bnode *n = user;
    bench *b = n->b;
    if (n->ws != c)
        return;
    n->ws = NULL;
    release_slot(n);
    uint64_t now = bacsc_loop_now(b->loop);
    int rc;
    if (n->ws_opened || n->want_close) {
        rc = bacsc_sc_connector_closed(n->con, BACSC_SC_SLOT_PRIMARY, error_code, now);
        if (rc == BACSC_ERR_STATE)
            rc = bacsc_sc_connector_failed(n->con, BACSC_SC_SLOT_PRIMARY, error_code, now);
    } else {
        b->r->connect_failures++;
        rc = bacsc_sc_connector_failed(n->con, BACSC_SC_SLOT_PRIMARY, error_code, now);
        if (rc == BACSC_ERR_STATE)
            bacsc_sc_connector_closed(n->con, BACSC_SC_SLOT_PRIMARY, error_code, now);
    }
    n->ws_opened = false;
    n->want_close = false;
    drain(b);
}

static const bacsc_ws_callbacks ws_cb = {
    .on_open = ws_open,
    .on_message = ws_message,
    .on_close = ws_close,
};

/* Process the work list: move connector output to the sockets, carry out
 * closes and report synchronous open failures. */
static void drain(bench *b)
{
    if (b->draining)
        return;
    b->draining = true;
    while (b->work) {
        bnode *n = b->work;
        b->work = n->next;
        n->listed = false;
        uint64_t now = bacsc_loop_now(b->loop);
        if (n->want_fail) {
            n->want_fail = false;
            b->r->connect_failures++;
            bacsc_sc_connector_failed(n->con, BACSC_SC_SLOT_PRIMARY, n->fail_code, now);
            continue;
        }
        const uint8_t *d;
        size_t len;
        while (bacsc_sc_connector_peek_output(n->con, BACSC_SC_SLOT_PRIMARY, &d, &len)) {
            if (n->ws && bacsc_wsconn_send(n->ws, d, len) != BACSC_OK)
                b->r->send_refused++;
            bacsc_sc_connector_pop_output(n->con, BACSC_SC_SLOT_PRIMARY);
        }
        if (n->want_close) {
            if (n->ws) {
                bacsc_wsconn_close(n->ws, 1000, NULL); /* on_close reports */
            } else {
                n->want_close = false;
                bacsc_sc_connector_closed(n->con, BACSC_SC_SLOT_PRIMARY, 0, now);
            }
        }
    }
    b->draining = false;
}

/* ---- timers, rate, timeouts --------------------------------------------- */

/* The connectors' timers: attempts = false handles the nodes without a
 * connection attempt in flight (reconnect waits ending, heartbeats),
 * attempts = true those with one (their connect wait). */
static void run_expiries(bench *b, bool attempts)
{
    uint64_t now = bacsc_loop_update_time(b->loop);
    bool restarting = b->phase == PH_RESTART;
    for (unsigned i = 0; i < b->n_started; i++) {
        bnode *n = &b->nodes[i];
        bool in_flight = n->queued || n->opening || (n->ws && !n->connected);
        if (in_flight == attempts && bacsc_sc_connector_expiry(n->con) <= now) {
            const bacsc_sc_connector_stats *st = bacsc_sc_connector_stats_get(n->con);
            uint64_t failed = st->failures;
            bool queued = n->queued, opening = n->opening;
            bacsc_sc_connector_handle_expiry(n->con, now);
            if (restarting && st->failures != failed) /* its connect wait ran out */
                (*(queued    ? &b->r->restart_expired_queued
                   : opening ? &b->r->restart_expired_handshake
                             : &b->r->restart_expired_accept))++;
            drain(b);
        }
    }
}

static void check_timeouts(bench *b)
{
    if (b->o->mode == BENCH_MODE_CONNECT)
        return;
    uint64_t t = mono_ns(), lim = (uint64_t)(b->o->msg_timeout_s * 1e9);
    for (unsigned i = 0; i < b->n_nodes; i += 2) {
        bnode *a = &b->nodes[i];
        if (!a->is_a)
            continue;
        if (a->inflight && t - a->last_progress_ns > lim) {
            if (b->phase == PH_RUN)
                b->r->timeouts += a->inflight;
            a->inflight = 0;
            a->last_progress_ns = t;
            if (b->phase == PH_RUN)
                fill_window(a);
        }
    }
    drain(b);
}

static void refill(bench *b)
{
    if (b->o->rate <= 0)
        return;
    uint64_t t = mono_ns();
    double add = b->o->rate * (double)(t - b->last_refill_ns) / 1e9;
    b->last_refill_ns = t;
    b->tokens += add;
    double cap = b->o->rate * 0.01 + 2;
    if (b->tokens > cap)
        b->tokens = cap;
    /* serve the waiting nodes in order; a served node may queue itself again
     * at the end (the array holds 2 × nodes: ≤ nodes flagged + ≤ nodes served) */
    unsigned k = 0, n = b->n_starved;
    for (; k < n && b->tokens >= 2; k++) {
        bnode *a = b->starved[k];
        a->starved = false;
        if (b->phase == PH_RUN)
            fill_window(a);
    }
    memmove(b->starved, b->starved + k, (b->n_starved - k) * sizeof *b->starved);
    b->n_starved -= k;
    drain(b);
}

void bench_loop_turn(bacsc_loop *loop, uint64_t slice_us)
{
    bacsc_loop_run_once(loop, slice_us);
    for (int i = 0; i < 64 && bacsc_loop_more_ready(loop); i++)
        bacsc_loop_run_once(loop, 0);
}

/* One slice of loop time with housekeeping. Every 100 ms the nodes' timers:
 * reconnect attempts start on time, then everything ready is read
 * (bench_loop_turn) before any attempt's connect wait is expired. */
static void spin(bench *b, uint64_t slice_us, uint64_t *next_tick)
{
    bacsc_loop_run_once(b->loop, b->o->rate > 0 ? 1000 : slice_us);
    drain(b);
    refill(b);
    uint64_t now = bacsc_loop_update_time(b->loop);
    if (now >= *next_tick) {
        *next_tick = now + 100000;
        run_expiries(b, false);
        bench_loop_turn(b->loop, 0);
        drain(b);
        run_expiries(b, true);
        check_timeouts(b);
    }
}

static long read_rss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    errno = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = atol(line + 6);
            break;
        }
    fclose(f);
    return kb;
}

/* The hub's read/write system-call counters and CPU seconds (user + system). */
typedef struct hub_counters {
    uint64_t syscr, syscw;
    double cpu_s;
} hub_counters;

/* CPU seconds of every thread of pid from /proc/PID/task/TID/schedstat
 * (nanoseconds on the CPU; the clock-tick figures of /proc/PID/stat are 10 ms
 * coarse). Returns -1 when it cannot be read. */
static double schedstat_cpu_s(long pid)
{
    char path[300], line[128];
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    double sum = 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/task/%.20s/schedstat", pid, e->d_name);
        FILE *f = fopen(path, "r");
        unsigned long long ns;
        if (f && fgets(line, sizeof line, f) && sscanf(line, "%llu", &ns) == 1) {
            sum += (double)ns / 1e9;
            n++;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return n > 0 && sum > 0 ? sum : -1;
}

static bool read_hub_counters(long pid, hub_counters *hc)
{
    char path[64], line[512];
    memset(hc, 0, sizeof *hc);
    snprintf(path, sizeof path, "/proc/%ld/io", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "syscr:", 6) == 0 && ++got)
            hc->syscr = strtoull(line + 6, NULL, 10);
        else if (strncmp(line, "syscw:", 6) == 0 && ++got)
            hc->syscw = strtoull(line + 6, NULL, 10);
    }
    fclose(f);
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f)) {
        if (f)
            fclose(f);
        return false;
    }
    fclose(f);
    /* fields after the command name: state is field 3, utime 14, stime 15 */
    const char *p = strrchr(line, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &st) != 2)
        return false;
    long hz = sysconf(_SC_CLK_TCK);
    hc->cpu_s = (double)(ut + st) / (double)(hz > 0 ? hz : 100);
    double ns = schedstat_cpu_s(pid);
    if (ns >= 0)
        hc->cpu_s = ns;
    return got == 2;
}

static void raise_nofile(const bench_hub_opts *o)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    unsigned long want = (unsigned long)o->connections + 2ul * o->pairs + 16;
    BACSC_INFO("bench: open file limit %llu", (unsigned long long)rl.rlim_cur);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
        BACSC_WARN("bench: open file limit %llu is below the %lu descriptors this run needs "
                   "(raise the hard limit: ulimit -Hn)",
                   (unsigned long long)rl.rlim_cur, want);
}

static void progress(const bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const bench *b, const char *fmt, ...)
{
    if (b->o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- the run -------------------------------------------------------------- */

static int setup(bench *b, char *err, size_t errlen)
{
    const bench_hub_opts *o = b->o;
    raise_nofile(o);
    if (!o->insecure_plaintext) {
        bacsc_tls_config tc = {.cert_file = o->cert, .key_file = o->key,
                               .issuer_files = {o->ca, NULL}};
        b->tls = bacsc_tls_ctx_new(&tc, false, err, errlen);
        if (!b->tls)
            return -1;
    }
    b->loop = bacsc_loop_new();
    if (!b->loop) {
        snprintf(err, errlen, "cannot create the event loop: %s", strerror(errno));
        return -1;
    }
    b->wo = (bacsc_ws_options){.protocols = BACSC_WS_PROTO_HUB,
                               .insecure_plaintext = o->insecure_plaintext,
                               .max_message = 65536,
                               .handshake_timeout_ms = 20000,
                               .connect_timeout_ms = 20000};
    size_t sz = o->size;
    if (sz == 267 || sz == 268)
        sz = 269; /* no canonical octet-string length encoding for these */
    b->size = sz;
    b->tx = calloc(1, BENCH_HUB_MAX_SIZE + 16);
    b->oneway = calloc(1, sizeof *b->oneway);
    b->rtt = calloc(1, sizeof *b->rtt);
    b->conn = calloc(1, sizeof *b->conn);
    if (o->mode == BENCH_MODE_CONNECT)
        b->n_nodes = o->connections;
    else
        b->n_nodes = 2 * o->pairs + o->connections;
    b->nodes = calloc(b->n_nodes ? b->n_nodes : 1, sizeof *b->nodes);
    b->starved = calloc(2 * (size_t)b->n_nodes + 1, sizeof *b->starved);
    b->oq_cap = 2 * b->n_nodes + 2;
    b->openq = calloc(b->oq_cap, sizeof *b->openq);
    if (!b->tx || !b->oneway || !b->rtt || !b->conn || !b->nodes || !b->starved ||
        !b->openq) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    b->data_off = build_npdu(b->tx, b->size);
    if (b->data_off < 0) {
        snprintf(err, errlen, "--size must be %d..%d", BENCH_HUB_MIN_SIZE, BENCH_HUB_MAX_SIZE);
        return -1;
    }
    unsigned paired = o->mode == BENCH_MODE_CONNECT ? 0 : 2 * o->pairs;
    for (unsigned i = 0; i < b->n_nodes; i++) {
        bnode *n = &b->nodes[i];
        n->b = b;
        n->idx = i;
        if (i < paired) {
            n->is_a = (i % 2) == 0;
            n->peer = &b->nodes[i ^ 1u];
        }
        bacsc_sc_connector_config cc;
        bacsc_sc_connector_config_default(&cc);
        cc.primary_uri = o->hub_uri;
        cc.random_vmac = true;
        cc.connect_wait_us = (uint64_t)(o->connect_wait_s * 1e6);
        cc.reconnect_min_us = (uint64_t)(o->reconnect_min_s * 1e6);
        cc.reconnect_max_us = (uint64_t)(o->reconnect_max_s * 1e6);
        if (cc.reconnect_max_us && cc.reconnect_max_us < cc.reconnect_min_us)
            cc.reconnect_max_us = cc.reconnect_min_us;
        if (rnd(NULL, cc.uuid.b, sizeof cc.uuid.b) != 0) {
            snprintf(err, errlen, "no random numbers");
            return -1;
        }
        cc.uuid.b[6] = (uint8_t)((cc.uuid.b[6] & 0x0F) | 0x40);
        cc.uuid.b[8] = (uint8_t)((cc.uuid.b[8] & 0x3F) | 0x80);
        n->con = bacsc_sc_connector_new(&cc, &con_cb, n);
        if (!n->con) {
            snprintf(err, errlen, "cannot create hub connector %u (URI '%s')", i, o->hub_uri);
            return -1;
        }
    }
    return 0;
}

/* This process's CPU time (the generator's own cost per connection). */
static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void establish(bench *b)
{
    const bench_hub_opts *o = b->o;
    uint64_t t0 = mono_ns(), deadline = t0 + (uint64_t)(o->connect_timeout_s * 1e9);
    uint64_t next_tick = 0, next_report = t0 + 1000000000u;
    unsigned conc = o->concurrency ? o->concurrency : 1000;
    hub_counters hc0, hc1;
    bool counted = o->hub_pid > 0 && read_hub_counters(o->hub_pid, &hc0);
    double cpu0 = process_cpu_s();
    while (b->n_connected < b->n_nodes && mono_ns() < deadline) {
        while (b->n_started < b->n_nodes && b->n_pending < conc) {
            bnode *n = &b->nodes[b->n_started++];
            n->started = true;
            n->t_start_ns = mono_ns();
            b->n_pending++;
            bacsc_sc_connector_start(n->con, bacsc_loop_update_time(b->loop));
            drain(b);
        }
        spin(b, 10000, &next_tick);
        if (mono_ns() >= next_report) {
            next_report += 1000000000u;
            progress(b, "%u/%u connected", b->n_connected, b->n_nodes);
        }
    }
    uint64_t t1 = mono_ns();
    if (counted && read_hub_counters(o->hub_pid, &hc1))
        b->r->hub_cpu_establish_s = hc1.cpu_s - hc0.cpu_s;
    b->r->establish_s = (double)(t1 - t0) / 1e9;
    b->r->gen_cpu_establish_s = process_cpu_s() - cpu0;
    b->r->connected = b->n_connected;
}

static void run_traffic(bench *b)
{
    const bench_hub_opts *o = b->o;
    uint64_t next_tick = 0;
    b->phase = PH_RUN;
    b->last_refill_ns = mono_ns();
    b->tokens = o->rate > 0 ? 2 : 0;
    hub_counters hc0, hc1, gc0, gc1;
    bool counted = o->hub_pid > 0 && read_hub_counters(o->hub_pid, &hc0);
    bool gen_counted = read_hub_counters((long)getpid(), &gc0);
    uint64_t t0 = mono_ns();
    for (unsigned i = 0; i < b->n_nodes; i++)
        if (b->nodes[i].is_a)
            fill_window(&b->nodes[i]);
    drain(b);
    uint64_t end = t0 + (uint64_t)(o->duration_s * 1e9);
    while (mono_ns() < end)
        spin(b, 10000, &next_tick);
    uint64_t t1 = mono_ns();
    if (counted && read_hub_counters(o->hub_pid, &hc1)) {
        b->r->hub_counted = true;
        b->r->hub_syscr = hc1.syscr - hc0.syscr;
        b->r->hub_syscw = hc1.syscw - hc0.syscw;
        b->r->hub_cpu_s = hc1.cpu_s - hc0.cpu_s;
    }
    if (gen_counted && read_hub_counters((long)getpid(), &gc1)) {
        b->r->gen_counted = true;
        b->r->gen_syscr = gc1.syscr - gc0.syscr;
        b->r->gen_syscw = gc1.syscw - gc0.syscw;
        b->r->gen_cpu_s = gc1.cpu_s - gc0.cpu_s;
    }
    b->phase = PH_DRAIN;
    b->r->measured_s = (double)(t1 - t0) / 1e9;
    /* let what is in flight arrive (not counted), at most 1 s */
    uint64_t dl = t1 + 1000000000u;
    for (;;) {
        bool busy = false;
        for (unsigned i = 0; i < b->n_nodes && !busy; i++)
            busy = b->nodes[i].inflight != 0;
        if (!busy || mono_ns() >= dl)
            break;
        spin(b, 10000, &next_tick);
    }
}

static void hold_and_restart(bench *b)
{
    const bench_hub_opts *o = b->o;
    uint64_t next_tick = 0;
    b->phase = PH_HOLD;
    uint64_t t0 = mono_ns(), end = t0 + (uint64_t)(o->duration_s * 1e9);
    while (mono_ns() < end)
        spin(b, 10000, &next_tick);
    b->r->measured_s = (double)(mono_ns() - t0) / 1e9;
    if (o->hub_pid > 0)
        b->r->hub_rss_after_kb = read_rss_kb(o->hub_pid);
    if (!o->restart_wait)
        return;
    b->phase = PH_RESTART;
    b->r->restart_measured = true;
    progress(b, "holding %u connections; waiting for the hub to restart", b->n_connected);
    fflush(stderr);
    uint64_t dl = mono_ns() + (uint64_t)(o->restart_timeout_s * 1e9);
    uint64_t next_report = mono_ns() + 1000000000u;
    bacsc_tls_stats ts0;
    bacsc_tls_ctx_stats(b->tls, &ts0);
    uint64_t attempts0 = 0;
    for (unsigned i = 0; i < b->n_started; i++)
        attempts0 += bacsc_sc_connector_stats_get(b->nodes[i].con)->attempts;
    double cpu0 = process_cpu_s();
    while (mono_ns() < dl) {
        spin(b, 10000, &next_tick);
        if (b->restart_lost && b->restart_back == b->restart_lost && b->n_connected == b->n_nodes)
            break;
        if (b->restart_lost && mono_ns() >= next_report) {
            next_report += 1000000000u;
            progress(b, "restart: %u lost, %u back", b->restart_lost, b->restart_back);
        }
        /* the wait for the restart itself does not count against the reconnect */
    }
    b->r->restart_lost = b->restart_lost;
    b->r->restart_back = b->restart_back;
    for (unsigned i = 0; i < b->n_started; i++)
        b->r->restart_attempts += bacsc_sc_connector_stats_get(b->nodes[i].con)->attempts;
    b->r->restart_attempts -= attempts0;
    bacsc_tls_stats ts1;
    bacsc_tls_ctx_stats(b->tls, &ts1);
    b->r->restart_tls_handshakes = ts1.handshakes - ts0.handshakes;
    b->r->restart_tls_resumed = ts1.resumed - ts0.resumed;
    if (b->restart_lost && b->restart_last_back_ns > b->restart_first_loss_ns)
        b->r->restart_s = (double)(b->restart_last_back_ns - b->restart_first_loss_ns) / 1e9;
    if (b->restart_lost)
        b->r->restart_loss_spread_s =
            (double)(b->restart_last_loss_ns - b->restart_first_loss_ns) / 1e9;
    b->r->gen_cpu_restart_s = process_cpu_s() - cpu0;
}

static void teardown(bench *b)
{
    if (b->loop && b->nodes) {
        b->phase = PH_STOP;
        uint64_t now = bacsc_loop_update_time(b->loop);
        for (unsigned i = 0; i < b->n_started; i++) {
            bacsc_sc_connector_stop(b->nodes[i].con, now);
            drain(b);
        }
        uint64_t dl = mono_ns() + 3000000000u, next_tick = 0;
        for (;;) {
            bool idle = true;
            for (unsigned i = 0; i < b->n_started && idle; i++)
                idle = bacsc_sc_connector_idle(b->nodes[i].con);
            if (idle || mono_ns() >= dl)
                break;
            spin(b, 10000, &next_tick);
        }
        for (unsigned i = 0; i < b->n_nodes; i++) {
            bnode *n = &b->nodes[i];
            if (n->ws) {
                bacsc_wsconn *ws = n->ws;
                n->ws = NULL; /* ws_close ignores it now */
                bacsc_wsconn_abort(ws);
            }
        }
        /* deferred frees inside the loop */
        bacsc_loop_run_once(b->loop, 0);
    }
    if (b->tls) {
        bacsc_tls_stats ts;
        bacsc_tls_ctx_stats(b->tls, &ts);
        b->r->tls_handshakes = ts.handshakes;
        b->r->tls_resumed = ts.resumed;
    }
    if (b->nodes)
        for (unsigned i = 0; i < b->n_nodes; i++) {
            bacsc_sc_connector_free(b->nodes[i].con);
            bacsc_tls_resume_clear(&b->nodes[i].resume);
        }
    free(b->nodes);
    free(b->starved);
    free(b->openq);
    free(b->tx);
    free(b->oneway);
    free(b->rtt);
    free(b->conn);
    if (b->loop)
        bacsc_loop_free(b->loop);
    bacsc_tls_ctx_free(b->tls);
}

int bench_hub_run(const bench_hub_opts *o, bench_hub_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    res->hub_rss_before_kb = res->hub_rss_after_kb = -1;
    bench b = {.o = o, .r = res, .phase = PH_CONNECT};
    int rc = -1;
    if (setup(&b, err, errlen) != 0)
        goto out;
    res->nodes = b.n_nodes;
    if (o->hub_pid > 0) {
        for (int i = 0; i < 20 && (res->hub_rss_before_kb = read_rss_kb(o->hub_pid)) < 0; i++) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
        if (res->hub_rss_before_kb < 0) {
            snprintf(err, errlen, "cannot read VmRSS from /proc/%ld/status: %s", o->hub_pid,
                     errno ? strerror(errno) : "no VmRSS line");
            goto out;
        }
    }
    progress(&b, "connecting %u nodes to %s", b.n_nodes, o->hub_uri);
    establish(&b);
    h_summary(b.conn, &res->connect_time);
    progress(&b, "%u/%u connected in %.2f s", res->connected, b.n_nodes, res->establish_s);
    if (res->connected == 0) {
        snprintf(err, errlen, "no node could connect to %s", o->hub_uri);
        goto out;
    }
    if (o->mode == BENCH_MODE_CONNECT) {
        hold_and_restart(&b);
        if (res->hub_rss_before_kb >= 0 && res->hub_rss_after_kb >= 0 && res->connected)
            res->hub_kb_per_conn = (double)(res->hub_rss_after_kb - res->hub_rss_before_kb) /
                                   (double)res->connected;
    } else {
        run_traffic(&b);
        if (res->measured_s > 0) {
            res->relayed_per_s = (double)res->received / res->measured_s;
            res->mbit_per_s = res->relayed_per_s * (double)b.size * 8 / 1e6;
        }
        h_summary(b.oneway, &res->one_way);
        h_summary(b.rtt, &res->rtt);
    }
    rc = 0;
out:
    teardown(&b);
    return rc;
}
