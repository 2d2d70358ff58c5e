/*
 * cmd_bench.c — `bacsc bench <what>`: load generators.
 *
 *   bacsc bench hub   join a BACnet/SC hub as many nodes; relay throughput,
 *                     latency, round trip, connection scale (bench_hub.c)
 *
 * See docs/bench.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_hub.h"
#include "cli.h"

extern const char bacsc_cmd_bench_summary[];
const char bacsc_cmd_bench_summary[] = "load generators: bench hub (relay rate, latency, scale)";

static void hub_usage(FILE *out)
{
    fprintf(out,
            "usage: bacsc bench hub --hub URI --cert F --key F --ca F [options]\n"
            "\n"
            "Join a BACnet/SC hub (any implementation) as many nodes and measure it.\n"
            "\n"
            "  --hub URI             wss://HOST:PORT (ws:// with --insecure-plaintext)\n"
            "  --cert F --key F      the nodes' operational certificate and key (PEM)\n"
            "  --ca F                issuer certificate the hub's certificate must chain to\n"
            "  --insecure-plaintext  allow ws:// (debugging only)\n"
            "  --mode M              throughput (default), rtt, or connect\n"
            "  --pairs N             node pairs exchanging NPDUs (default 8; rtt: 1)\n"
            "  --size BYTES          NPDU size, %d..%d (default 64)\n"
            "  --duration S          measurement time (connect mode: hold time; default 5)\n"
            "  --window N            requests in flight per pair (default 32; rtt: 1)\n"
            "  --rate R              target relayed messages/s (default: as fast as possible)\n"
            "  --connections N       extra idle nodes (connect mode: the number of nodes)\n"
            "  --concurrency N       handshakes in progress at once (default 1000)\n"
            "  --connect-timeout S   give up establishing after S seconds (default 120)\n"
            "  --timeout S           a request unanswered for S seconds is an error (2)\n"
            "  --hub-pid PID         connect mode: report the hub's VmRSS growth per connection\n"
            "  --restart-wait        connect mode: after the hold, wait for the hub to restart\n"
            "                        and time until every node is back\n"
            "  --restart-timeout S   how long to wait for that (default 120)\n"
            "  --connect-wait S      the nodes' SC_Connect_Wait_Timeout (default 10)\n"
            "  --reconnect-min S     SC_Minimum_Reconnect_Time (default 2)\n"
            "  --reconnect-max S     SC_Maximum_Reconnect_Time (default 600)\n"
            "  --print-npdu          print the NPDU that would be sent (hex) and exit\n"
            "  --json                print the result as JSON\n"
            "  --quiet               no progress lines on stderr\n"
            "  --no-resume           never resume TLS sessions (every handshake is full)\n"
            "  --log-level L         error, warn (default), info, debug, trace\n"
            "\n"
            "Exit status: 0 ok, 1 errors were counted, 2 usage, 4 hub unreachable.\n",
            BENCH_HUB_MIN_SIZE, BENCH_HUB_MAX_SIZE);
}

static const char *mode_name(int m)
{
    return m == BENCH_MODE_RTT ? "rtt" : m == BENCH_MODE_CONNECT ? "connect" : "throughput";
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

static void print_json(const bench_hub_opts *o, const bench_hub_result *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "mode", json_string(mode_name(o->mode)));
    json_object_set_new(j, "hub", json_string(o->hub_uri));
    json_object_set_new(j, "nodes", json_integer(r->nodes));
    json_object_set_new(j, "connected", json_integer(r->connected));
    json_object_set_new(j, "establish_s", json_real(r->establish_s));
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
                                json_pack("{s:i,s:i,s:f,s:I,s:I}", "lost", (int)r->restart_lost,
                                          "back", (int)r->restart_back, "reestablish_s",
                                          r->restart_s, "tls_handshakes",
                                          (json_int_t)r->restart_tls_handshakes, "tls_resumed",
                                          (json_int_t)r->restart_tls_resumed));
        }
    }
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

static void print_table(const bench_hub_opts *o, const bench_hub_result *r)
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
    } else {
        printf("held                   %.1f s\n", r->measured_s);
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
    }
    printf("TLS handshakes         %llu, %llu resumed\n", (unsigned long long)r->tls_handshakes,
           (unsigned long long)r->tls_resumed);
    printf("errors                 %llu (NAKs %llu, disconnects %llu, timeouts %llu, "
           "send refused %llu, bad payload %llu); failed connection attempts %llu\n",
           (unsigned long long)total_errors(r), (unsigned long long)r->naks,
           (unsigned long long)r->disconnects, (unsigned long long)r->timeouts,
           (unsigned long long)r->send_refused, (unsigned long long)r->bad_payload,
           (unsigned long long)r->connect_failures);
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int cmd_hub(int argc, char **argv)
{
    static const char prog[] = "bench hub";
    bench_hub_opts o = {.pairs = 0, .size = 64, .duration_s = 5, .window = 32,
                        .concurrency = 1000, .connect_timeout_s = 120, .msg_timeout_s = 2,
                        .restart_timeout_s = 120};
    bool json = false, pairs_set = false, print_npdu = false;
    enum { O_HUB = 256, O_CERT, O_KEY, O_CA, O_PLAIN, O_MODE, O_PAIRS, O_SIZE, O_DUR, O_WIN,
           O_RATE, O_CONNS, O_CONC, O_CTO, O_TO, O_PID, O_RW, O_RTO, O_JSON, O_QUIET, O_LOG, O_CW, O_RMIN, O_RMAX, O_PRINT,
           O_NORESUME };
    static const struct option opts[] = {
        {"hub", required_argument, NULL, O_HUB},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"ca", required_argument, NULL, O_CA},
        {"insecure-plaintext", no_argument, NULL, O_PLAIN},
        {"mode", required_argument, NULL, O_MODE},
        {"pairs", required_argument, NULL, O_PAIRS},
        {"size", required_argument, NULL, O_SIZE},
        {"duration", required_argument, NULL, O_DUR},
        {"window", required_argument, NULL, O_WIN},
        {"rate", required_argument, NULL, O_RATE},
        {"connections", required_argument, NULL, O_CONNS},
        {"concurrency", required_argument, NULL, O_CONC},
        {"connect-timeout", required_argument, NULL, O_CTO},
        {"timeout", required_argument, NULL, O_TO},
        {"hub-pid", required_argument, NULL, O_PID},
        {"restart-wait", no_argument, NULL, O_RW},
        {"restart-timeout", required_argument, NULL, O_RTO},
        {"connect-wait", required_argument, NULL, O_CW},
        {"reconnect-min", required_argument, NULL, O_RMIN},
        {"reconnect-max", required_argument, NULL, O_RMAX},
        {"print-npdu", no_argument, NULL, O_PRINT},
        {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET},
        {"no-resume", no_argument, NULL, O_NORESUME},
        {"log-level", required_argument, NULL, O_LOG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    double v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        const char *bad = NULL;
        switch (c) {
        case O_HUB: o.hub_uri = optarg; break;
        case O_CERT: o.cert = optarg; break;
        case O_KEY: o.key = optarg; break;
        case O_CA: o.ca = optarg; break;
        case O_PLAIN: o.insecure_plaintext = true; break;
        case O_MODE:
            if (strcmp(optarg, "throughput") == 0)
                o.mode = BENCH_MODE_THROUGHPUT;
            else if (strcmp(optarg, "rtt") == 0)
                o.mode = BENCH_MODE_RTT;
            else if (strcmp(optarg, "connect") == 0)
                o.mode = BENCH_MODE_CONNECT;
            else
                bad = "--mode must be throughput, rtt or connect";
            break;
        case O_PAIRS:
            if (!parse_num(optarg, 1, 10000, &v)) bad = "--pairs must be 1..10000";
            else { o.pairs = (unsigned)v; pairs_set = true; }
            break;
        case O_SIZE:
            if (!parse_num(optarg, BENCH_HUB_MIN_SIZE, BENCH_HUB_MAX_SIZE, &v))
                bad = "--size out of range (see --help)";
            else o.size = (size_t)v;
            break;
        case O_DUR:
            if (!parse_num(optarg, 0, 86400, &v)) bad = "--duration must be 0..86400 seconds";
            else o.duration_s = v;
            break;
        case O_WIN:
            if (!parse_num(optarg, 1, 200, &v)) bad = "--window must be 1..200";
            else o.window = (unsigned)v;
            break;
        case O_RATE:
            if (!parse_num(optarg, 0, 1e9, &v)) bad = "--rate must be ≥ 0";
            else o.rate = v;
            break;
        case O_CONNS:
            if (!parse_num(optarg, 0, 100000, &v)) bad = "--connections must be 0..100000";
            else o.connections = (unsigned)v;
            break;
        case O_CONC:
            if (!parse_num(optarg, 1, 100000, &v)) bad = "--concurrency must be ≥ 1";
            else o.concurrency = (unsigned)v;
            break;
        case O_CTO:
            if (!parse_num(optarg, 0.1, 86400, &v)) bad = "--connect-timeout out of range";
            else o.connect_timeout_s = v;
            break;
        case O_TO:
            if (!parse_num(optarg, 0.01, 3600, &v)) bad = "--timeout out of range";
            else o.msg_timeout_s = v;
            break;
        case O_PID:
            if (!parse_num(optarg, 1, 1e9, &v)) bad = "--hub-pid must be a process id";
            else o.hub_pid = (long)v;
            break;
        case O_RW: o.restart_wait = true; break;
        case O_RTO:
            if (!parse_num(optarg, 1, 86400, &v)) bad = "--restart-timeout out of range";
            else o.restart_timeout_s = v;
            break;
        case O_CW:
            if (!parse_num(optarg, 1, 300, &v)) bad = "--connect-wait must be 1..300 seconds";
            else o.connect_wait_s = v;
            break;
        case O_RMIN:
            if (!parse_num(optarg, 0.1, 300, &v)) bad = "--reconnect-min must be 0.1..300 seconds";
            else o.reconnect_min_s = v;
            break;
        case O_RMAX:
            if (!parse_num(optarg, 0.1, 600, &v)) bad = "--reconnect-max must be 0.1..600 seconds";
            else o.reconnect_max_s = v;
            break;
        case O_PRINT: print_npdu = true; break;
        case O_JSON: json = true; break;
        case O_QUIET: o.quiet = true; break;
        case O_NORESUME: o.no_resume = true; break;
        case O_LOG:
            if (!cli_set_log_level(prog, optarg))
                return EXIT_USAGE;
            break;
        case 'h': hub_usage(stdout); return EXIT_OK;
        default: return cli_bad_option(prog, argc, argv);
        }
        if (bad) {
            cli_error(prog, "%s", bad);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error(prog, "unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
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
        if (o.hub_pid || o.restart_wait) {
            cli_error(prog, "--hub-pid and --restart-wait belong to --mode connect");
            return EXIT_USAGE;
        }
    }
    bench_hub_result r;
    char err[512] = "";
    if (bench_hub_run(&o, &r, err, sizeof err) != 0) {
        cli_error(prog, "%s", err);
        return r.nodes && !r.connected ? EXIT_UNAVAILABLE : EXIT_FAIL;
    }
    if (json)
        print_json(&o, &r);
    else
        print_table(&o, &r);
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
