/*
 * ws_peer.c — test-only WebSocket peer built on bacsc's wsconn, so that
 * independent implementations (Python websockets) can be tested against it.
 *
 *   ws_peer serve --listen ADDR:PORT --cert F --key F --ca F [--protocols hub|dc|both]
 *                 [--max-message N] [--insecure-plaintext]
 *       Prints "PORT <n>" when listening, echoes every binary message, logs
 *       "OPEN <proto>" / "CLOSE <code> <reason>" per connection; runs until
 *       SIGTERM/SIGINT.
 *   ws_peer connect --uri URI --cert F --key F --ca F [--protocol hub|dc]
 *                 [--send HEX]... [--size N]... [--insecure-plaintext]
 *       Sends each message, expects each echoed back, closes with 1000.
 *       Prints "OPEN <proto>", "RECV <len> <sha-ish>" lines and "CLOSE ...".
 *       Exit 0 when every echo matched and the close was clean, else 1.
 * Not installed; not a bacsc command.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/wsconn.h"

#define MAX_MSGS 64

static bacsc_loop *loop;
static int failures;
static int done;
static uint8_t *msgs[MAX_MSGS];
static size_t lens[MAX_MSGS];
static int nmsgs, nrecv;
static uint16_t close_code = 0xFFFF;

static void on_open_srv(bacsc_wsconn *c, unsigned proto, void *user)
{
    printf("OPEN %s %s\n", bacsc_ws_protocol_name(proto), bacsc_wsconn_peer(c));
    fflush(stdout);
}

static void on_msg_srv(bacsc_wsconn *c, const uint8_t *d, size_t n, void *user)
{
    if (bacsc_wsconn_send(c, d, n) != BACSC_OK)
        bacsc_wsconn_close(c, BACSC_WS_CLOSE_POLICY, "queue full");
}

static void on_close_srv(bacsc_wsconn *c, uint16_t code, const char *reason, void *user)
{
    printf("CLOSE %u %s\n", code, reason);
    fflush(stdout);
}

static void *on_accept_srv(bacsc_wsconn *c, void *user)
{
    return user;
}

static void on_open_cli(bacsc_wsconn *c, unsigned proto, void *user)
{
    printf("OPEN %s\n", bacsc_ws_protocol_name(proto));
    for (int i = 0; i < nmsgs; i++)
        if (bacsc_wsconn_send(c, msgs[i], lens[i]) != BACSC_OK)
            failures++;
    if (nmsgs == 0)
        bacsc_wsconn_close(c, BACSC_WS_CLOSE_NORMAL, "done");
}

static void on_msg_cli(bacsc_wsconn *c, const uint8_t *d, size_t n, void *user)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 16777619u;
    printf("RECV %zu %08x\n", n, h);
    if (nrecv >= nmsgs || lens[nrecv] != n || (n && memcmp(msgs[nrecv], d, n) != 0))
        failures++;
    if (++nrecv == nmsgs)
        bacsc_wsconn_close(c, BACSC_WS_CLOSE_NORMAL, "done");
}

static void on_close_cli(bacsc_wsconn *c, uint16_t code, const char *reason, void *user)
{
    printf("CLOSE %u %s\n", code, reason);
    close_code = code;
    done = 1;
    bacsc_loop_stop(loop);
}

static void on_signal(bacsc_loop *l, int signo, void *user)
{
    bacsc_loop_stop(l);
}

static void on_deadline(bacsc_loop *l, void *user)
{
    printf("TIMEOUT\n");
    failures++;
    bacsc_loop_stop(l);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: ws_peer serve|connect [options] (see the source)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    bool serve = strcmp(argv[1], "serve") == 0;
    if (!serve && strcmp(argv[1], "connect") != 0)
        usage();
    const char *listen = "127.0.0.1:0", *uri = NULL, *cert = NULL, *key = NULL, *ca = NULL;
    bacsc_ws_options opt = {0};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--insecure-plaintext") == 0) {
            opt.insecure_plaintext = true;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--listen") == 0)
            listen = v;
        else if (strcmp(a, "--uri") == 0)
            uri = v;
        else if (strcmp(a, "--cert") == 0)
            cert = v;
        else if (strcmp(a, "--key") == 0)
            key = v;
        else if (strcmp(a, "--ca") == 0)
            ca = v;
        else if (strcmp(a, "--max-message") == 0)
            opt.max_message = strtoul(v, NULL, 10);
        else if (strcmp(a, "--protocols") == 0 || strcmp(a, "--protocol") == 0)
            opt.protocols = strcmp(v, "dc") == 0     ? BACSC_WS_PROTO_DC
                            : strcmp(v, "both") == 0 ? BACSC_WS_PROTO_HUB | BACSC_WS_PROTO_DC
                                                     : BACSC_WS_PROTO_HUB;
        else if ((strcmp(a, "--send") == 0 || strcmp(a, "--size") == 0) && nmsgs < MAX_MSGS) {
            size_t n = strcmp(a, "--send") == 0 ? strlen(v) / 2 : strtoul(v, NULL, 10);
            msgs[nmsgs] = malloc(n ? n : 1);
            for (size_t k = 0; k < n; k++) {
                if (strcmp(a, "--send") == 0) {
                    int hi = hexval(v[2 * k]), lo = hexval(v[2 * k + 1]);
                    if (hi < 0 || lo < 0)
                        usage();
                    msgs[nmsgs][k] = (uint8_t)(hi << 4 | lo);
                } else {
                    msgs[nmsgs][k] = (uint8_t)(k * 31 + 7);
                }
            }
            lens[nmsgs++] = n;
        } else
            usage();
    }
    bacsc_log_set_level(getenv("WS_PEER_DEBUG") ? BACSC_LOG_DEBUG : BACSC_LOG_WARN);
    loop = bacsc_loop_new();
    bacsc_loop_signal(loop, SIGTERM, on_signal, NULL);
    bacsc_loop_signal(loop, SIGINT, on_signal, NULL);
    bacsc_tls_ctx *tls = NULL;
    if (cert) {
        bacsc_tls_config cfg = {.cert_file = cert, .key_file = key, .issuer_files = {ca, NULL}};
        char err[256];
        tls = bacsc_tls_ctx_new(&cfg, serve, err, sizeof err);
        if (!tls) {
            fprintf(stderr, "ws_peer: %s\n", err);
            return 1;
        }
    }
    if (serve) {
        bacsc_ws_callbacks cb = {on_accept_srv, on_open_srv, on_msg_srv, on_close_srv};
        bacsc_ws_listener *l;
        int rc = bacsc_ws_listen(loop, listen, tls, &opt, &cb, NULL, &l);
        if (rc != BACSC_OK) {
            fprintf(stderr, "ws_peer: listen: %s\n", bacsc_strerror(rc));
            return 1;
        }
        printf("PORT %u\n", bacsc_ws_listener_port(l));
        fflush(stdout);
        bacsc_loop_run(loop);
        bacsc_ws_listener_close(l);
    } else {
        if (!uri)
            usage();
        bacsc_ws_callbacks cb = {NULL, on_open_cli, on_msg_cli, on_close_cli};
        bacsc_wsconn *c;
        int rc = bacsc_ws_connect(loop, uri, tls, &opt, &cb, NULL, &c);
        if (rc != BACSC_OK) {
            fprintf(stderr, "ws_peer: connect: %s\n", bacsc_strerror(rc));
            return 1;
        }
        bacsc_timer deadline;
        bacsc_timer_init(&deadline, on_deadline, NULL);
        bacsc_timer_start(loop, &deadline, 10000000);
        bacsc_loop_run(loop);
        bacsc_timer_stop(loop, &deadline);
        if (!done || close_code != 0 || nrecv != nmsgs)
            failures++;
    }
    fflush(stdout);
    bacsc_tls_ctx_free(tls);
    bacsc_loop_free(loop);
    for (int i = 0; i < nmsgs; i++)
        free(msgs[i]);
    return failures ? 1 : 0;
}
