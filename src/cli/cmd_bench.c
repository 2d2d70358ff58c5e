/*
 * cmd_bench.c — `bacsc bench <what>`: load generators.
 *
 *   bacsc bench hub   join a BACnet/SC hub as many nodes; relay throughput,
 *                     latency, round trip, connection scale (bench_hub.c)
 *
 * See docs/bench.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_floor.h"
#include "bench_hub.h"
#include "cli.h"
#include "cli_opt.h"

extern const char bacsc_cmd_bench_summary[];
const char bacsc_cmd_bench_summary[] = "load generators: bench hub (relay rate, latency, scale)";

typedef struct bench_cli {
    bench_hub_opts o;
    const char *mode;
    unsigned long size;
    double floor_s;
    bool json, print_npdu;
} bench_cli;

/* The floors measured in the same run (bench_floor.h): half before the
 * benchmark, half after it. */
typedef struct hub_floors {
    bool rtt_ok;
    bench_floor_lat rtt1, rtt2; /* 1 and 2 loopback TCP round trips of `size` octets */
    double relay_us;            /* hub CPU floor per relayed message (0: not measured) */
    double tls_record_us;       /* rtt: one hop through OpenSSL's record layer (0: not measured) */
    const char *relay_what;
    bool crypto_ok;
    bench_floor_crypto crypto; /* connect mode */
} hub_floors;

static const cli_opt hub_rows[] = {
    CLI_STR("hub", 0, "URI", bench_cli, o.hub_uri, "wss://HOST:PORT (ws:// with --insecure-plaintext)"),
    {CLI_ROW_("cert", 0, "F", CLI_K_STR, bench_cli, o.cert, "the nodes' operational certificate and key (PEM)"),
     .label = "--cert F --key F"},
    {CLI_ROW_("key", 0, "F", CLI_K_STR, bench_cli, o.key, NULL), .flags = CLI_UNLISTED},
    CLI_STR("ca", 0, "F", bench_cli, o.ca, "issuer certificate the hub's certificate must chain to"),
    CLI_FLAG("insecure-plaintext", 0, bench_cli, o.insecure_plaintext, "allow ws:// (debugging only)"),
    CLI_STR("mode", 0, "M", bench_cli, mode, "throughput (default), rtt, or connect"),
    CLI_UINT("pairs", 0, "N", bench_cli, o.pairs, 1, 10000, "node pairs exchanging NPDUs (default 8; rtt: 1)"),
    CLI_ULONG("size", 0, "BYTES", bench_cli, size, BENCH_HUB_MIN_SIZE, BENCH_HUB_MAX_SIZE,
              "NPDU size, 48..1497 (default 64)"),
    CLI_DOUBLE("duration", 0, "S", bench_cli, o.duration_s, 0, 86400,
               "measurement time (connect mode: hold time; default 5)"),
    CLI_UINT("window", 0, "N", bench_cli, o.window, 1, 200, "requests in flight per pair (default 32; rtt: 1)"),
    CLI_DOUBLE("rate", 0, "R", bench_cli, o.rate, 0, 1e9,
               "target relayed messages/s (default: as fast as possible)"),
    CLI_UINT("connections", 0, "N", bench_cli, o.connections, 0, 100000,
             "extra idle nodes (connect mode: the number of nodes)"),
    CLI_UINT("concurrency", 0, "N", bench_cli, o.concurrency, 1, 100000,
             "handshakes in progress at once (default 1000)"),
    CLI_DOUBLE("connect-timeout", 0, "S", bench_cli, o.connect_timeout_s, 0.1, 86400,
               "give up establishing after S seconds (default 120)"),
    CLI_DOUBLE("timeout", 0, "S", bench_cli, o.msg_timeout_s, 0.01, 3600,
               "a request unanswered for S seconds is an error (2)"),
    CLI_LONG("hub-pid", 0, "PID", bench_cli, o.hub_pid, 1, 1000000000,
             "a hub on this machine: connect mode reports its VmRSS growth\n"
             "per connection; throughput/rtt its read/write system calls\n"
             "and CPU time per relayed message"),
    CLI_FLAG("restart-wait", 0, bench_cli, o.restart_wait,
             "connect mode: after the hold, wait for the hub to restart\n"
             "and time until every node is back"),
    CLI_DOUBLE("restart-timeout", 0, "S", bench_cli, o.restart_timeout_s, 1, 86400,
               "how long to wait for that (default 120)"),
    CLI_DOUBLE("connect-wait", 0, "S", bench_cli, o.connect_wait_s, 1, 300,
               "the nodes' SC_Connect_Wait_Timeout (default 10)"),
    CLI_DOUBLE("reconnect-min", 0, "S", bench_cli, o.reconnect_min_s, 0.1, 300,
               "SC_Minimum_Reconnect_Time (default 2)"),
    CLI_DOUBLE("reconnect-max", 0, "S", bench_cli, o.reconnect_max_s, 0.1, 600,
               "SC_Maximum_Reconnect_Time (default 600)"),
    CLI_FLAG("print-npdu", 0, bench_cli, print_npdu,
             "print the NPDU that would be sent (hex) and exit"),
    CLI_DOUBLE("floor-time", 0, "S", bench_cli, floor_s, 0, 600,
               "time spent measuring the floors next to the figures\n"
               "(half before, half after the run; default 2, 0: none)"),
    CLI_FLAG("json", 0, bench_cli, json, "print the result as JSON"),
    CLI_FLAG("quiet", 0, bench_cli, o.quiet, "no progress lines on stderr"),
    CLI_FLAG("no-resume", 0, bench_cli, o.no_resume, "never resume TLS sessions (every handshake is full)"),
    CLI_LOGLEVEL("log-level", 0, "L", "error, warn (default), info, debug, trace"),
    {.name = "help", .shortc = 'h', .kind = CLI_K_HELP, .flags = CLI_UNLISTED},
    CLI_END};

static const cli_part hub_help[] = {
    CLI_TEXT("usage: bacsc bench hub --hub URI --cert F --key F --ca F [options]\n"
             "\n"
             "Join a BACnet/SC hub (any implementation) as many nodes and measure it.\n"
             "\n"),
    CLI_GROUP(NULL, hub_rows, 0),
    CLI_TEXT("\n"
             "Exit status: 0 ok, 1 errors were counted, 2 usage, 4 hub unreachable.\n"),
    CLI_END};

static const cli_spec hub_spec = {"bench hub", hub_help, .col = 24};

static const char *mode_name(int m)
{
    return m == BENCH_MODE_RTT ? "rtt" : m == BENCH_MODE_CONNECT ? "connect" : "throughput";
}

static void lat_merge(bench_floor_lat *acc, const bench_floor_lat *x)
{
    double a = (double)acc->samples, b = (double)x->samples;
    if (a + b <= 0)
        return;
    acc->p50_us = (acc->p50_us * a + x->p50_us * b) / (a + b);
    acc->p99_us = (acc->p99_us * a + x->p99_us * b) / (a + b);
    acc->mean_us = (acc->mean_us * a + x->mean_us * b) / (a + b);
    acc->echo_cpu_us = (acc->echo_cpu_us * a + x->echo_cpu_us * b) / (a + b);
    acc->min_us = acc->samples && acc->min_us < x->min_us ? acc->min_us : x->min_us;
    acc->samples += x->samples;
}

/* One half of the floors (`secs` seconds): loopback TCP round trips of the
 * NPDU size for rtt mode, the hub's CPU floor per relayed message with
 * --hub-pid, the handshake crypto for connect mode (once). */
static void measure_floors(const bench_hub_opts *o, double secs, hub_floors *f)
{
    if (secs <= 0)
        return;
    if (o->mode == BENCH_MODE_CONNECT) {
        if (!f->crypto_ok)
            bench_floor_crypto_measure(secs * 2 / 7, &f->crypto);
        f->crypto_ok = f->crypto.full_handshake_us > 0;
        return;
    }
    bool rtt = o->mode == BENCH_MODE_RTT;
    if (rtt) {
        bench_floor_lat a, b;
        if (bench_floor_tcp_rtt(o->size, 2, secs * 0.35, 1000000, &a) == 0 &&
            bench_floor_tcp_rtt(o->size, 1, secs * 0.15, 1000000, &b) == 0) {
            lat_merge(&f->rtt2, &a);
            lat_merge(&f->rtt1, &b);
            f->rtt_ok = true;
        }
        double t = bench_floor_tls_record_us(o->size + 16, secs * 0.1);
        if (t > 0 && (f->tls_record_us <= 0 || t < f->tls_record_us))
            f->tls_record_us = t;
    }
    if (o->hub_pid <= 0)
        return;
    /* the TLS record of one relayed message: NPDU + BVLC-SC header with one
     * VMAC + WebSocket header (≈ 16 octets) */
    size_t rec = o->size + 16;
    double r;
    if (rtt) {
        /* one message at a time: the hub sleeps between messages, like the
         * echo process of the TCP floor */
        double op = bench_floor_aes_gcm_open_us(128, rec, secs * 0.1);
        double se = bench_floor_aes_gcm_us(128, rec, secs * 0.1);
        r = op < 0 || se < 0 || !f->rtt_ok ? -1 : f->rtt2.echo_cpu_us + op + se;
        f->relay_what = "CPU per message of the TCP floor's echo process (wake-up, read(2), "
                        "write(2)) + AES-128-GCM open + seal of its TLS record";
        f->relay_us = r; /* the echo figure is already an average of both halves */
        return;
    }
    if (o->rate > 0) {
        r = bench_floor_relay_us(rec, secs * 0.5);
        f->relay_what = "open + seal of its TLS record, one read(2) + one write(2)";
    } else {
        double op = bench_floor_aes_gcm_open_us(128, 16384, secs * 0.25);
        double se = bench_floor_aes_gcm_us(128, 16384, secs * 0.25);
        r = op < 0 || se < 0 ? -1 : (op + se) * (double)rec / 16384;
        f->relay_what = "AES-128-GCM open + seal of its octets in 16 KB records";
    }
    if (r > 0 && (f->relay_us <= 0 || r < f->relay_us))
        f->relay_us = r;
}

static json_t *lat_json(const bench_latency *l)
{
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)l->count, "p50_us",
                     l->p50, "p90_us", l->p90, "p99_us", l->p99, "p999_us", l->p999, "max_us",
                     l->max, "mean_us", l->mean);
}

static uint64_t total_errors(const bench_hub_result *r)
{
    return r->naks + r->disconnects + r->timeouts + r->send_refused + r->bad_payload;
}

static double hub_cpu_per_conn_us(const bench_hub_result *r)
{
    return r->connected ? r->hub_cpu_establish_s * 1e6 / (double)r->connected : 0;
}

/* Every figure next to its floor (bench_floor.h: ratio = figure / floor). */
static json_t *floors_json(const bench_hub_opts *o, const bench_hub_result *r,
                           const hub_floors *f)
{
    json_t *j = json_object();
    if (f->rtt_ok) {
        json_object_set_new(j, "tcp_2rtt", json_pack("{s:f,s:f,s:I}", "p50_us", f->rtt2.p50_us,
                                                     "p99_us", f->rtt2.p99_us, "samples",
                                                     (json_int_t)f->rtt2.samples));
        json_object_set_new(j, "tcp_rtt", json_pack("{s:f,s:f,s:I}", "p50_us", f->rtt1.p50_us,
                                                    "p99_us", f->rtt1.p99_us, "samples",
                                                    (json_int_t)f->rtt1.samples));
        json_object_set_new(j, "rtt_p50", bench_floor_json(r->rtt.p50, f->rtt2.p50_us, "us"));
        json_object_set_new(j, "rtt_p99", bench_floor_json(r->rtt.p99, f->rtt2.p99_us, "us"));
        json_object_set_new(j, "one_way_p50",
                            bench_floor_json(r->one_way.p50, f->rtt1.p50_us, "us"));
        if (f->tls_record_us > 0) {
            json_object_set_new(j, "tls_record_us", json_real(f->tls_record_us));
            json_object_set_new(j, "rtt_p50_with_tls_records",
                                bench_floor_json(r->rtt.p50,
                                                 f->rtt2.p50_us + 4 * f->tls_record_us, "us"));
        }
    }
    if (o->mode != BENCH_MODE_CONNECT && r->hub_counted && r->received) {
        double n = (double)r->received;
        json_object_set_new(j, "hub_syscalls_per_msg",
                            bench_floor_json((double)(r->hub_syscr + r->hub_syscw) / n, 2.0, ""));
        if (f->relay_us > 0)
            json_object_set_new(j, "hub_cpu_us_per_msg",
                                bench_floor_json(r->hub_cpu_s * 1e6 / n, f->relay_us, "us"));
    }
    if (o->mode != BENCH_MODE_CONNECT && r->gen_counted && r->received && f->relay_us > 0) {
        double n = (double)r->received;
        json_object_set_new(j, "generator_syscalls_per_msg",
                            bench_floor_json((double)(r->gen_syscr + r->gen_syscw) / n, 2.0, ""));
        json_object_set_new(j, "generator_cpu_us_per_msg",
                            bench_floor_json(r->gen_cpu_s * 1e6 / n, f->relay_us, "us"));
    }
    if (f->crypto_ok) {
        json_object_set_new(j, "crypto", bench_floor_crypto_json(&f->crypto));
        if (o->hub_pid > 0 && r->connected)
            json_object_set_new(j, "hub_cpu_us_per_connection",
                                bench_floor_json(hub_cpu_per_conn_us(r),
                                                 f->crypto.full_handshake_us, "us"));
    }
    return j;
}

static void print_floors(const bench_hub_opts *o, const bench_hub_result *r,
                         const hub_floors *f)
{
    if (!f->rtt_ok && f->relay_us <= 0 && !f->crypto_ok)
        return;
    printf("floors, measured in this run (ratio = figure / floor):\n");
    if (f->rtt_ok) {
        printf("  loopback TCP between two processes, %zu octets: 2 round trips p50 %.1f µs, "
               "p99 %.1f µs; 1 round trip p50 %.1f µs (%lu + %lu samples)\n",
               o->size, f->rtt2.p50_us, f->rtt2.p99_us, f->rtt1.p50_us, f->rtt2.samples,
               f->rtt1.samples);
        bench_floor_print(stdout, "round trip p50 (floor: 2 TCP round trips)", r->rtt.p50,
                          f->rtt2.p50_us, "µs");
        bench_floor_print(stdout, "round trip p99 (floor: 2 TCP round trips)", r->rtt.p99,
                          f->rtt2.p99_us, "µs");
        bench_floor_print(stdout, "one way p50 (floor: 1 TCP round trip)", r->one_way.p50,
                          f->rtt1.p50_us, "µs");
        if (f->tls_record_us > 0) {
            bench_floor_print(stdout, "round trip p50 (2 TCP RTT + 4 TLS records)", r->rtt.p50,
                              f->rtt2.p50_us + 4 * f->tls_record_us, "µs");
            printf("    (not a floor of the machine: OpenSSL's record layer, SSL_write + SSL_read of "
                   "one record in memory, %.2f µs CPU, for each of the 4 hops)\n",
                   f->tls_record_us);
        }
    }
    if (o->mode != BENCH_MODE_CONNECT && r->hub_counted && r->received) {
        double n = (double)r->received;
        bench_floor_print(stdout, "hub syscalls per message (floor: 1 r + 1 w)",
                          (double)(r->hub_syscr + r->hub_syscw) / n, 2.0, "");
        if (f->relay_us > 0) {
            bench_floor_print(stdout, "hub CPU per relayed message", r->hub_cpu_s * 1e6 / n,
                              f->relay_us, "µs");
            printf("    (floor: %s)\n", f->relay_what);
        }
    }
    if (o->mode != BENCH_MODE_CONNECT && r->gen_counted && r->received && f->relay_us > 0) {
        double n = (double)r->received;
        bench_floor_print(stdout, "generator syscalls per message (1 r + 1 w)",
                          (double)(r->gen_syscr + r->gen_syscw) / n, 2.0, "");
        bench_floor_print(stdout, "generator CPU per relayed message", r->gen_cpu_s * 1e6 / n,
                          f->relay_us, "µs");
    }
    if (f->crypto_ok) {
        printf("  ");
        bench_floor_crypto_print(stdout, &f->crypto);
        if (o->hub_pid > 0 && r->connected)
            bench_floor_print(stdout, "hub CPU per connection set up (full handshake)",
                              hub_cpu_per_conn_us(r), f->crypto.full_handshake_us, "µs");
    }
}

static void print_json(const bench_hub_opts *o, const bench_hub_result *r, const hub_floors *f)
{
    json_t *j = json_object();
    json_object_set_new(j, "mode", json_string(mode_name(o->mode)));
    json_object_set_new(j, "hub", json_string(o->hub_uri));
    json_object_set_new(j, "nodes", json_integer(r->nodes));
    json_object_set_new(j, "connected", json_integer(r->connected));
    json_object_set_new(j, "establish_s", json_real(r->establish_s));
    json_object_set_new(j, "generator_cpu_establish_s", json_real(r->gen_cpu_establish_s));
    json_object_set_new(j, "connect_time", lat_json(&r->connect_time));
    if (o->mode != BENCH_MODE_CONNECT) {
        json_object_set_new(j, "pairs", json_integer(o->pairs));
        json_object_set_new(j, "size", json_integer((json_int_t)o->size));
        json_object_set_new(j, "window", json_integer(o->mode == BENCH_MODE_RTT ? 1 : o->window));
        json_object_set_new(j, "duration_s", json_real(r->measured_s));
        json_object_set_new(j, "sent", json_integer((json_int_t)r->sent));
        json_object_set_new(j, "received", json_integer((json_int_t)r->received));
        json_object_set_new(j, "relayed_per_s", json_real(r->relayed_per_s));
        json_object_set_new(j, "mbit_per_s", json_real(r->mbit_per_s));
        if (r->hub_counted && r->received) {
            double n = (double)r->received;
            json_object_set_new(j, "hub_syscalls_per_msg",
                                json_real((double)(r->hub_syscr + r->hub_syscw) / n));
            json_object_set_new(j, "hub_syscalls_floor", json_real(2.0));
            json_object_set_new(j, "hub_reads_per_msg", json_real((double)r->hub_syscr / n));
            json_object_set_new(j, "hub_writes_per_msg", json_real((double)r->hub_syscw / n));
            json_object_set_new(j, "hub_cpu_us_per_msg", json_real(r->hub_cpu_s * 1e6 / n));
        }
        if (r->gen_counted && r->received) {
            double n = (double)r->received;
            json_object_set_new(j, "generator_reads_per_msg", json_real((double)r->gen_syscr / n));
            json_object_set_new(j, "generator_writes_per_msg",
                                json_real((double)r->gen_syscw / n));
            json_object_set_new(j, "generator_cpu_us_per_msg", json_real(r->gen_cpu_s * 1e6 / n));
        }
        json_object_set_new(j, "one_way", lat_json(&r->one_way));
        json_object_set_new(j, "rtt", lat_json(&r->rtt));
    } else {
        json_object_set_new(j, "hold_s", json_real(r->measured_s));
        if (r->hub_rss_before_kb >= 0) {
            json_object_set_new(j, "hub_rss_before_kb", json_integer(r->hub_rss_before_kb));
            json_object_set_new(j, "hub_rss_after_kb", json_integer(r->hub_rss_after_kb));
            json_object_set_new(j, "hub_kb_per_connection", json_real(r->hub_kb_per_conn));
        }
        if (r->restart_measured) {
            json_object_set_new(j, "restart",
                                json_pack("{s:i,s:i,s:f,s:I,s:I,s:f,s:f}", "lost",
                                          (int)r->restart_lost, "back", (int)r->restart_back,
                                          "reestablish_s", r->restart_s, "tls_handshakes",
                                          (json_int_t)r->restart_tls_handshakes, "tls_resumed",
                                          (json_int_t)r->restart_tls_resumed, "loss_spread_s",
                                          r->restart_loss_spread_s, "generator_cpu_s",
                                          r->gen_cpu_restart_s));
            json_t *rs = json_object_get(j, "restart");
            json_object_set_new(rs, "attempts", json_integer((json_int_t)r->restart_attempts));
            json_object_set_new(rs, "connect_wait_expired",
                                json_pack("{s:I,s:I,s:I}", "queued",
                                          (json_int_t)r->restart_expired_queued, "handshake",
                                          (json_int_t)r->restart_expired_handshake,
                                          "connect_accept",
                                          (json_int_t)r->restart_expired_accept));
        }
    }
    if (o->hub_pid > 0 && o->mode == BENCH_MODE_CONNECT)
        json_object_set_new(j, "hub_cpu_us_per_connection", json_real(hub_cpu_per_conn_us(r)));
    json_object_set_new(j, "floors", floors_json(o, r, f));
    json_object_set_new(j, "tls",
                        json_pack("{s:I,s:I}", "handshakes", (json_int_t)r->tls_handshakes,
                                  "resumed", (json_int_t)r->tls_resumed));
    json_object_set_new(
        j, "errors",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "total", (json_int_t)total_errors(r), "naks",
                  (json_int_t)r->naks, "disconnects", (json_int_t)r->disconnects, "timeouts",
                  (json_int_t)r->timeouts, "send_refused", (json_int_t)r->send_refused,
                  "bad_payload", (json_int_t)r->bad_payload, "connect_failures",
                  (json_int_t)r->connect_failures));
    cli_print_json(j);
}

static void lat_row(const char *name, const bench_latency *l)
{
    printf("%-22s %9.1f %9.1f %9.1f %9.1f %9.1f  (%llu samples)\n", name, l->p50, l->p99, l->p999,
           l->max, l->mean, (unsigned long long)l->count);
}

static void print_table(const bench_hub_opts *o, const bench_hub_result *r,
                        const hub_floors *f)
{
    printf("bacsc bench hub — %s, %s\n", mode_name(o->mode), o->hub_uri);
    printf("nodes                  %u connected of %u in %.2f s (connect time p50 %.1f ms, "
           "p99 %.1f ms)\n",
           r->connected, r->nodes, r->establish_s, r->connect_time.p50 / 1000,
           r->connect_time.p99 / 1000);
    if (o->mode != BENCH_MODE_CONNECT) {
        printf("traffic                %u pairs, %zu-octet NPDUs, window %u, %.2f s\n", o->pairs,
               o->size, o->mode == BENCH_MODE_RTT ? 1 : o->window, r->measured_s);
        printf("relayed                %.0f messages/s (%.1f Mbit/s of NPDU), %llu received\n",
               r->relayed_per_s, r->mbit_per_s, (unsigned long long)r->received);
        printf("%-22s %9s %9s %9s %9s %9s\n", "latency (µs)", "p50", "p99", "p99.9", "max",
               "mean");
        lat_row("one way (via hub)", &r->one_way);
        lat_row("round trip", &r->rtt);
        if (r->hub_counted && r->received) {
            double n = (double)r->received;
            printf("hub syscalls           %.2f read+write per relayed message (floor 2.00: one "
                   "read + one write; %.2f reads, %.2f writes)\n",
                   (double)(r->hub_syscr + r->hub_syscw) / n, (double)r->hub_syscr / n,
                   (double)r->hub_syscw / n);
            printf("hub CPU                %.2f µs per relayed message (%.2f s in %.2f s)\n",
                   r->hub_cpu_s * 1e6 / n, r->hub_cpu_s, r->measured_s);
        }
        if (r->gen_counted && r->received) {
            double n = (double)r->received;
            printf("generator              %.2f read+write, %.2f µs CPU per relayed message (this "
                   "process: the nodes' side)\n",
                   (double)(r->gen_syscr + r->gen_syscw) / n, r->gen_cpu_s * 1e6 / n);
        }
    } else {
        printf("held                   %.1f s\n", r->measured_s);
        if (o->hub_pid > 0 && r->connected)
            printf("hub CPU                %.1f µs per connection set up (%.2f s for %u)\n",
                   hub_cpu_per_conn_us(r), r->hub_cpu_establish_s, r->connected);
        if (r->hub_rss_before_kb >= 0)
            printf("hub memory             VmRSS %ld → %ld KB: %.1f KB per connection\n",
                   r->hub_rss_before_kb, r->hub_rss_after_kb, r->hub_kb_per_conn);
        if (r->restart_measured)
            printf("hub restart            %u lost, %u back, all re-established %.2f s after "
                   "the first loss\n",
                   r->restart_lost, r->restart_back, r->restart_s);
        if (r->restart_measured)
            printf("restart handshakes     %llu, %llu resumed\n",
                   (unsigned long long)r->restart_tls_handshakes,
                   (unsigned long long)r->restart_tls_resumed);
        if (r->restart_measured)
            printf("restart attempts       %llu; connect wait ran out %llu times (waiting for a "
                   "slot %llu, in TCP/TLS/upgrade %llu, for Connect-Accept %llu)\n",
                   (unsigned long long)r->restart_attempts,
                   (unsigned long long)(r->restart_expired_queued + r->restart_expired_handshake +
                                        r->restart_expired_accept),
                   (unsigned long long)r->restart_expired_queued,
                   (unsigned long long)r->restart_expired_handshake,
                   (unsigned long long)r->restart_expired_accept);
    }
    printf("TLS handshakes         %llu, %llu resumed\n", (unsigned long long)r->tls_handshakes,
           (unsigned long long)r->tls_resumed);
    printf("errors                 %llu (NAKs %llu, disconnects %llu, timeouts %llu, "
           "send refused %llu, bad payload %llu); failed connection attempts %llu\n",
           (unsigned long long)total_errors(r), (unsigned long long)r->naks,
           (unsigned long long)r->disconnects, (unsigned long long)r->timeouts,
           (unsigned long long)r->send_refused, (unsigned long long)r->bad_payload,
           (unsigned long long)r->connect_failures);
    print_floors(o, r, f);
}

/* Parse `bench hub`'s command line into *c. Returns -1 to go on, else the exit code. */
static int parse_hub(bench_cli *c, int argc, char **argv)
{
    int rc = cli_parse(&hub_spec, c, &argc, argv);
    if (rc >= 0)
        return rc;
    if (cli_extra_args(hub_spec.prog, argc, argv, 0))
        return EXIT_USAGE;
    bench_hub_opts *o = &c->o;
    o->size = c->size;
    if (c->mode && strcmp(c->mode, "throughput") == 0)
        o->mode = BENCH_MODE_THROUGHPUT;
    else if (c->mode && strcmp(c->mode, "rtt") == 0)
        o->mode = BENCH_MODE_RTT;
    else if (c->mode && strcmp(c->mode, "connect") == 0)
        o->mode = BENCH_MODE_CONNECT;
    else if (c->mode) {
        cli_error(hub_spec.prog, "--mode must be throughput, rtt or connect");
        return EXIT_USAGE;
    }
    return -1;
}

static int cmd_hub(int argc, char **argv)
{
    static const char prog[] = "bench hub";
    bench_cli c = {.o = {.pairs = 0, .duration_s = 5, .window = 32, .concurrency = 1000,
                         .connect_timeout_s = 120, .msg_timeout_s = 2, .restart_timeout_s = 120},
                   .size = 64,
                   .floor_s = 2};
    int prc = parse_hub(&c, argc, argv);
    if (prc >= 0)
        return prc;
    bench_hub_opts o = c.o;
    bool json = c.json, print_npdu = c.print_npdu, pairs_set = o.pairs != 0;
    if (print_npdu) {
        uint8_t buf[BENCH_HUB_MAX_SIZE + 16];
        int n = bench_hub_npdu(o.size, buf);
        for (int i = 0; i < n; i++)
            printf("%02x", buf[i]);
        printf("\n");
        return n > 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (!o.hub_uri) {
        cli_error(prog, "--hub URI is required");
        return EXIT_USAGE;
    }
    if (!o.insecure_plaintext && (!o.cert || !o.key || !o.ca)) {
        cli_error(prog, "--cert, --key and --ca are required (or --insecure-plaintext)");
        return EXIT_USAGE;
    }
    if (o.mode == BENCH_MODE_CONNECT) {
        if (!o.connections) {
            cli_error(prog, "--mode connect needs --connections N");
            return EXIT_USAGE;
        }
    } else {
        if (!pairs_set)
            o.pairs = o.mode == BENCH_MODE_RTT ? 1 : 8;
        if (o.restart_wait) {
            cli_error(prog, "--restart-wait belongs to --mode connect");
            return EXIT_USAGE;
        }
    }
    bench_hub_result r;
    hub_floors f = {0};
    char err[512] = "";
    measure_floors(&o, c.floor_s / 2, &f);
    if (bench_hub_run(&o, &r, err, sizeof err) != 0) {
        cli_error(prog, "%s", err);
        return r.nodes && !r.connected ? EXIT_UNAVAILABLE : EXIT_FAIL;
    }
    measure_floors(&o, c.floor_s / 2, &f);
    if (json)
        print_json(&o, &r, &f);
    else
        print_table(&o, &r, &f);
    bool failed = total_errors(&r) != 0 || r.connected < r.nodes ||
                  (r.restart_measured && (r.restart_lost == 0 || r.restart_back < r.restart_lost));
    return failed ? EXIT_FAIL : EXIT_OK;
}

int bacsc_cmd_bench(int argc, char **argv);
int bacsc_cmd_bench(int argc, char **argv)
{
    static const cli_subcommand subs[] = {
        {"hub", cmd_hub, "load a BACnet/SC hub: relay rate, latency, round trip, scale"},
        {NULL, NULL, NULL}};
    return cli_dispatch("bench", subs, argc, argv);
}
