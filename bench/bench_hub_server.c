/*
 * bench_hub_server.c — a minimal BACnet/SC hub for benchmarking.
 *
 * The hub function (sc_hub.h) over the WebSocket/TLS listener (wsconn.h),
 * nothing else: no config file, no status command. It exists so that
 * `bacsc bench hub` can be measured before (or independently of) the
 * `bacsc hub` daemon; prefer `bacsc hub` when it is available.
 *
 *   bench_hub_server --listen 127.0.0.1:PORT --cert F --key F --ca F
 *                    [--insecure-plaintext] [--max-peers N] [--max-handshakes N]
 *
 * Prints "listening PORT" on stdout once bound (PORT 0 picks one). SIGTERM /
 * SIGINT: Disconnect-Request to every node, then exit after ≤ 1 s and print
 * the hub counters on stderr.
 */
#include <getopt.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/sc_hub.h"
#include "bacsc/wsconn.h"

typedef struct hpeer {
    bacsc_wsconn *ws;
    bacsc_sc_hub_peer *hp;
    bool dirty;      /* in the drain list */
    bool closing;    /* hub asked to close it */
    bool gone;       /* on_close seen while listed: free when unlisted */
    struct hpeer *next_dirty;
} hpeer;

static bacsc_loop *loop;
static bacsc_sc_hub *hub;
static bacsc_timer tick;
static hpeer *dirty_head;
static bool stopping;
static uint64_t stop_at;
static unsigned long long send_fail;

static int rnd(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void list(hpeer *p)
{
    if (p->dirty)
        return;
    p->dirty = true;
    p->next_dirty = dirty_head;
    dirty_head = p;
}

static void hub_want_write(void *io_peer, void *user)
{
    (void)user;
    list(io_peer);
}

static void hub_close(void *io_peer, uint16_t error_code, void *user)
{
    (void)user;
    (void)error_code;
    hpeer *p = io_peer;
    p->closing = true;
    list(p);
}

/* After every call into the hub: move queued output to the sockets, close
 * what the hub asked to close. */
static void drain(void)
{
    while (dirty_head) {
        hpeer *p = dirty_head;
        dirty_head = p->next_dirty;
        p->dirty = false;
        if (p->gone) {
            free(p);
            continue;
        }
        const uint8_t *d;
        size_t n;
        while (p->hp && bacsc_sc_hub_peek_output(p->hp, &d, &n)) {
            if (bacsc_wsconn_send(p->ws, d, n) != BACSC_OK)
                send_fail++;
            bacsc_sc_hub_pop_output(p->hp);
        }
        if (p->closing) {
            p->closing = false;
            bacsc_wsconn_close(p->ws, 1000, NULL); /* may call on_close → list() */
        }
    }
}

static void *on_accept(bacsc_wsconn *c, void *luser)
{
    (void)luser;
    hpeer *p = calloc(1, sizeof *p);
    if (p)
        p->ws = c;
    return p;
}

static void on_open(bacsc_wsconn *c, unsigned protocol, void *user)
{
    (void)protocol;
    hpeer *p = user;
    if (!p) {
        bacsc_wsconn_abort(c);
        return;
    }
    int err = 0;
    p->hp = bacsc_sc_hub_accept(hub, p, bacsc_loop_now(loop), &err);
    if (!p->hp)
        bacsc_wsconn_close(c, 1008, "hub full");
    drain();
}

static void on_message(bacsc_wsconn *c, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    hpeer *p = user;
    if (p && p->hp)
        bacsc_sc_hub_recv(hub, p->hp, data, len, bacsc_loop_now(loop));
    drain();
}

static void on_close(bacsc_wsconn *c, uint16_t error_code, const char *reason, void *user)
{
    (void)c;
    (void)reason;
    hpeer *p = user;
    if (!p)
        return;
    if (p->hp) {
        bacsc_sc_hub_peer_gone(hub, p->hp, error_code, bacsc_loop_now(loop));
        p->hp = NULL;
    }
    if (p->dirty)
        p->gone = true; /* freed by drain() */
    else
        free(p);
    drain();
}

static void on_tick(bacsc_loop *l, void *user)
{
    (void)user;
    uint64_t now = bacsc_loop_now(l);
    if (bacsc_sc_hub_expiry(hub) <= now) {
        bacsc_sc_hub_handle_expiry(hub, now);
        drain();
    }
    if (stopping && (bacsc_sc_hub_peer_count(hub) == 0 || now >= stop_at))
        bacsc_loop_stop(l);
    bacsc_timer_start(l, &tick, 50000);
}

static void on_signal(bacsc_loop *l, int signo, void *user)
{
    (void)signo;
    (void)user;
    if (stopping)
        return;
    stopping = true;
    stop_at = bacsc_loop_now(l) + 1000000;
    bacsc_sc_hub_disconnect_all(hub, bacsc_loop_now(l));
    drain();
}

static void usage(FILE *out)
{
    fprintf(out, "usage: bench_hub_server --listen ADDR:PORT --cert F --key F --ca F\n"
                 "                        [--insecure-plaintext] [--max-peers N]\n"
                 "                        [--max-handshakes N (wsconn default 128)]\n");
}

int main(int argc, char **argv)
{
    const char *listen = NULL, *cert = NULL, *key = NULL, *ca = NULL;
    bool plain = false;
    long max_peers = 20000, max_hs = 0;
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"cert", required_argument, NULL, 'c'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"ca", required_argument, NULL, 'a'},
                                         {"insecure-plaintext", no_argument, NULL, 'p'},
                                         {"max-peers", required_argument, NULL, 'm'},
                                         {"max-handshakes", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'l': listen = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'a': ca = optarg; break;
        case 'p': plain = true; break;
        case 'm': max_peers = atol(optarg); break;
        case 's': max_hs = atol(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!listen || (!plain && (!cert || !key || !ca)) || max_peers <= 0) {
        usage(stderr);
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    bacsc_tls_ctx *tls = NULL;
    if (!plain) {
        char err[256];
        bacsc_tls_config tc = {.cert_file = cert, .key_file = key, .issuer_files = {ca, NULL}};
        tls = bacsc_tls_ctx_new(&tc, true, err, sizeof err);
        if (!tls) {
            fprintf(stderr, "bench_hub_server: %s\n", err);
            return 1;
        }
    }
    loop = bacsc_loop_new();
    bacsc_sc_hub_config hc;
    bacsc_sc_hub_config_default(&hc);
    hc.max_peers = (size_t)max_peers;
    rnd(NULL, hc.vmac.b, sizeof hc.vmac.b);
    hc.vmac.b[0] = (uint8_t)((hc.vmac.b[0] & 0xFC) | 0x02);
    rnd(NULL, hc.uuid.b, sizeof hc.uuid.b);
    hub = bacsc_sc_hub_new(&hc,
                           &(bacsc_sc_hub_callbacks){.want_write = hub_want_write,
                                                     .close = hub_close,
                                                     .random = rnd},
                           NULL);
    bacsc_ws_options wo = {.protocols = BACSC_WS_PROTO_HUB,
                           .max_connections = (unsigned)max_peers,
                           .max_handshakes = (unsigned)max_hs,
                           .insecure_plaintext = plain};
    bacsc_ws_callbacks cb = {.on_accept = on_accept, .on_open = on_open,
                             .on_message = on_message, .on_close = on_close};
    bacsc_ws_listener *l = NULL;
    int rc = bacsc_ws_listen(loop, listen, tls, &wo, &cb, NULL, &l);
    if (rc != BACSC_OK || !hub) {
        fprintf(stderr, "bench_hub_server: cannot listen on %s (%s)\n", listen,
                bacsc_strerror(rc));
        return 1;
    }
    printf("listening %u\n", (unsigned)bacsc_ws_listener_port(l));
    fflush(stdout);
    bacsc_loop_signal(loop, SIGTERM, on_signal, NULL);
    bacsc_loop_signal(loop, SIGINT, on_signal, NULL);
    bacsc_timer_init(&tick, on_tick, NULL);
    bacsc_timer_start(loop, &tick, 50000);
    bacsc_loop_run(loop);
    const bacsc_sc_hub_stats *s = bacsc_sc_hub_stats_get(hub);
    fprintf(stderr,
            "bench_hub_server: accepted %llu unicast %llu queue-dropped %llu naks %llu "
            "send-failed %llu\n",
            (unsigned long long)s->accepted, (unsigned long long)s->unicast_forwarded,
            (unsigned long long)s->queue_dropped, (unsigned long long)s->naks_sent, send_fail);
    bacsc_ws_listener_close(l);
    return 0;
}
