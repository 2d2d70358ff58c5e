/*
 * bench_ws.c — figures for the WebSocket/TLS layer.
 *
 *   bench_ws codec                  frame decode+unmask rate in memory (64 / 1400 octets)
 *   bench_ws echo [SIZE] [SECONDS]  TLS 1.3 echo throughput over 127.0.0.1: a server
 *                                   process and a client process, 256 messages in flight
 *   bench_ws conns [N]              server memory per open TLS WebSocket connection:
 *                                   VmRSS of the server process before/after N clients
 *
 * Certificates are made with the openssl command in a temporary directory.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench_floor.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/wsconn.h"

static char dir[64];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_pki(void)
{
    snprintf(dir, sizeof dir, "/tmp/bench-ws-XXXXXX");
    if (!mkdtemp(dir))
        exit(1);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && printf 'basicConstraints=critical,CA:FALSE\\nsubjectAltName=IP:127.0.0.1\\n' > ext && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
             "-out ca.pem -days 2 -subj /CN=benchCA 2>/dev/null -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign && "
             "for n in server client; do openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null && openssl x509 -req -in $n.csr -CA ca.pem "
             "-CAkey ca.key -CAcreateserial -days 2 -extfile ext -out $n.pem 2>/dev/null; done >/dev/null 2>&1",
             dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "openssl failed\n");
        exit(1);
    }
}

static bacsc_tls_ctx *ctx(bool server)
{
    char cert[128], key[128], ca[128], err[256];
    snprintf(cert, sizeof cert, "%s/%s.pem", dir, server ? "server" : "client");
    snprintf(key, sizeof key, "%s/%s.key", dir, server ? "server" : "client");
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    bacsc_tls_config cfg = {.cert_file = cert, .key_file = key, .issuer_files = {ca, NULL}};
    bacsc_tls_ctx *t = bacsc_tls_ctx_new(&cfg, server, err, sizeof err);
    if (!t) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return t;
}

/* ---- codec ------------------------------------------------------------------ */

static void bench_codec(void)
{
    static uint8_t stream[1 << 20], work[1 << 20];
    const uint8_t mask[4] = {1, 2, 3, 4};
    size_t sizes[] = {64, 1400};
    for (int s = 0; s < 2; s++) {
        uint8_t payload[1400] = {0};
        size_t n = 0, frames = 0;
        while (n + sizes[s] + 14 < sizeof stream) {
            n += (size_t)bacsc_ws_encode_frame(stream + n, sizeof stream - n, BACSC_WS_OP_BINARY, true,
                                               payload, sizes[s], mask);
            frames++;
        }
        double t0 = now_s();
        size_t total = 0;
        int rounds = 0;
        while (now_s() - t0 < 1.0) {
            memcpy(work, stream, n);
            bacsc_ws_decoder d;
            bacsc_ws_decoder_init(&d, true, 0);
            size_t off = 0;
            while (off < n) {
                size_t used;
                bacsc_ws_event ev;
                int rc = bacsc_ws_decode(&d, work + off, n - off, &used, &ev);
                off += used;
                if (rc != BACSC_WS_EV_MESSAGE)
                    break;
                total++;
            }
            rounds++;
        }
        double dt = now_s() - t0;
        /* floor: copying the frames once (the loop above also pays this copy) */
        double fbest = 1e9;
        for (int k = 0; k < 20; k++) {
            double f0 = now_s();
            memcpy(work, stream, n);
            double fd = now_s() - f0;
            if (fd < fbest)
                fbest = fd;
        }
        double ns = dt / (double)total * 1e9, fns = fbest / (double)frames * 1e9;
        printf("codec: decode+unmask %4zu-octet frames: %.1f M frames/s (%.0f MB/s)  "
               "%.1f ns/frame  floor %.1f ns (copying it)  ratio %.1f×\n",
               sizes[s], total / dt / 1e6, total * sizes[s] / dt / 1e6, ns, fns, ns / fns);
    }
}

/* ---- echo --------------------------------------------------------------------- */

static bacsc_loop *loop;
static size_t msg_size = 64;
static long received;
static uint8_t buf[65536];

static void *srv_accept(bacsc_wsconn *c, void *u)
{
    return u;
}

static void srv_message(bacsc_wsconn *c, const uint8_t *d, size_t n, void *u)
{
    bacsc_wsconn_send(c, d, n);
}

static void srv_close(bacsc_wsconn *c, uint16_t code, const char *r, void *u)
{
}

static void on_term(bacsc_loop *l, int s, void *u)
{
    bacsc_loop_stop(l);
}

static void on_usr1(bacsc_loop *l, int s, void *u)
{
    malloc_trim(0); /* return freed handshake memory, to see what connections really hold */
}

static pid_t start_server(uint16_t *port, int *ready_fd)
{
    int p[2];
    if (pipe(p) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        loop = bacsc_loop_new();
        bacsc_loop_signal(loop, SIGTERM, on_term, NULL);
        bacsc_loop_signal(loop, SIGUSR1, on_usr1, NULL);
        bacsc_ws_callbacks cb = {srv_accept, NULL, srv_message, srv_close};
        bacsc_ws_listener *l;
        /* every client is 127.0.0.1: no per-address admission limits */
        bacsc_ws_options o = {.max_connections = 100000, .max_queue = 4 << 20,
                              .max_handshakes_per_addr = BACSC_WS_OFF,
                              .accept_rate_per_addr = BACSC_WS_OFF};
        if (bacsc_ws_listen(loop, "127.0.0.1:0", ctx(true), &o, &cb, NULL, &l) != BACSC_OK)
            _exit(1);
        uint16_t pt = bacsc_ws_listener_port(l);
        if (write(p[1], &pt, sizeof pt) != sizeof pt)
            _exit(1);
        bacsc_loop_run(loop);
        _exit(0);
    }
    close(p[1]);
    if (read(p[0], port, sizeof *port) != sizeof *port)
        exit(1);
    *ready_fd = p[0];
    return pid;
}

static int opened;

static void cli_open(bacsc_wsconn *c, unsigned proto, void *u)
{
    opened++;
    if (u) /* echo mode: fill the window */
        for (int i = 0; i < 256; i++)
            bacsc_wsconn_send(c, buf, msg_size);
}

static void cli_message(bacsc_wsconn *c, const uint8_t *d, size_t n, void *u)
{
    received++;
    bacsc_wsconn_send(c, buf, msg_size);
}

static void cli_close(bacsc_wsconn *c, uint16_t code, const char *r, void *u)
{
    if (code) {
        fprintf(stderr, "client closed: %u %s\n", code, r);
        exit(1);
    }
}

static void bench_echo(double seconds)
{
    uint16_t port;
    int rfd;
    pid_t pid = start_server(&port, &rfd);
    loop = bacsc_loop_new();
    bacsc_tls_ctx *ct = ctx(false);
    char uri[64];
    snprintf(uri, sizeof uri, "wss://127.0.0.1:%u/", port);
    bacsc_ws_callbacks cb = {NULL, cli_open, cli_message, cli_close};
    bacsc_ws_options o = {.max_queue = 4 << 20};
    bacsc_wsconn *c;
    bacsc_ws_connect(loop, uri, ct, &o, &cb, (void *)1, &c);
    while (!opened)
        bacsc_loop_run_once(loop, 100000);
    double t0 = now_s();
    long r0 = received;
    while (now_s() - t0 < seconds)
        bacsc_loop_run_once(loop, 100000);
    double dt = now_s() - t0;
    printf("echo: %zu-octet binary messages over TLS 1.3, 256 in flight: %.0f round trips/s "
           "(%.0f messages/s through the server)\n",
           msg_size, (received - r0) / dt, 2 * (received - r0) / dt);
    /* floor: the crypto of a round trip on 2 cores: each message is sealed
     * and opened once each way, in 16 KB records (256 in flight) */
    double op = bench_floor_aes_gcm_open_us(128, 16384, 0.2);
    double se = bench_floor_aes_gcm_us(128, 16384, 0.2);
    double fl_us = 2 * (op + se) * (double)(msg_size + 6) / 16384 / 2;
    double rt_us = dt * 1e6 / (double)(received - r0 ? received - r0 : 1);
    printf("  %.3f µs per round trip  floor %.3f µs (AES-128-GCM open + seal of it both ways in "
           "16 KB records, 2 cores)  ratio %.1f×\n",
           rt_us, fl_us, rt_us / fl_us);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* ---- memory per connection ---------------------------------------------------- */

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void bench_conns(int n)
{
    uint16_t port;
    int rfd;
    pid_t pid = start_server(&port, &rfd);
    loop = bacsc_loop_new();
    bacsc_tls_ctx *ct = ctx(false);
    char uri[64];
    snprintf(uri, sizeof uri, "wss://127.0.0.1:%u/", port);
    bacsc_ws_callbacks cb = {NULL, cli_open, cli_message, cli_close};
    usleep(200000);
    long before = rss_kb(pid);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        bacsc_wsconn *c;
        if (bacsc_ws_connect(loop, uri, ct, NULL, &cb, NULL, &c) != BACSC_OK) {
            fprintf(stderr, "connect %d failed\n", i);
            break;
        }
        if (i % 64 == 63)
            while (opened < i - 256)
                bacsc_loop_run_once(loop, 10000);
    }
    while (opened < n && now_s() - t0 < 120)
        bacsc_loop_run_once(loop, 10000);
    double dt = now_s() - t0;
    /* Let the server settle (released buffers) before measuring. */
    for (int i = 0; i < 50; i++)
        bacsc_loop_run_once(loop, 10000);
    long after = rss_kb(pid);
    kill(pid, SIGUSR1);
    usleep(200000);
    long trimmed = rss_kb(pid);
    /* floor: the crypto of both ends of a mutual-auth handshake, on 2 cores */
    bench_floor_crypto fc;
    bench_floor_crypto_measure(0.1, &fc);
    double fl_us = 2 * fc.full_handshake_us / 2, per_us = dt * 1e6 / (opened ? opened : 1);
    printf("conns: %.0f µs per connection  floor %.0f µs (both ends' handshake crypto: ECDHE + "
           "sign + 2 verify each, 2 cores)  ratio %.1f×\n",
           per_us, fl_us, per_us / fl_us);
    printf("conns: %d TLS 1.3 WebSocket connections opened in %.2f s (%.0f/s); server RSS %ld → %ld KiB: "
           "%.1f KiB per connection (%.1f KiB after malloc_trim)\n",
           opened, dt, opened / dt, before, after, (double)(after - before) / (opened ? opened : 1),
           (double)(trimmed - before) / (opened ? opened : 1));
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    bacsc_log_set_level(BACSC_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(mode, "codec") == 0 || strcmp(mode, "all") == 0)
        bench_codec();
    if (strcmp(mode, "codec") == 0)
        return 0;
    make_pki();
    if (strcmp(mode, "echo") == 0 || strcmp(mode, "all") == 0) {
        msg_size = argc > 2 && strcmp(mode, "echo") == 0 ? strtoul(argv[2], NULL, 10) : 64;
        double secs = argc > 3 ? atof(argv[3]) : 3;
        if (msg_size > sizeof buf)
            msg_size = sizeof buf;
        bench_echo(secs);
    }
    if (strcmp(mode, "conns") == 0 || strcmp(mode, "all") == 0)
        bench_conns(argc > 2 && strcmp(mode, "conns") == 0 ? atoi(argv[2]) : 2000);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
