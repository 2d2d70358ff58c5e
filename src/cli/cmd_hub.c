/*
 * cmd_hub.c — `bacsc hub`: the standalone BACnet/SC hub daemon.
 *
 * One event loop: the hub server (sc_hubd.h) plus signal handlers. SIGTERM /
 * SIGINT: Disconnect-Request to every node, wait for the ACKs (at most the
 * disconnect wait + 0.1 s in all), exit 0. SIGHUP (and a change of the
 * --crl file): reload certificate, key, issuers and CRL; nodes whose
 * certificate is no longer accepted are disconnected. SIGUSR1: write the status file (connected peers). See
 * docs/hub.md.
 */
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bacsc/bvlc.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/sc_hubd.h"
#include "cli.h"
#include "cli_opt.h"
#include "sc_cli.h"
#include "cert_expiry.h"
#include "hub_metrics.h"
#include "sc_status.h"
#include "web/metrics_http.h"

const char bacsc_cmd_hub_summary[] = "run a BACnet/SC hub (TLS 1.3 WebSocket server)";

#define PROG "hub"

typedef struct hub_opts {
    sc_opts o;
    const char *config;
} hub_opts;

static int add_ca(const char *prog, const char *arg, void *target)
{
    return sc_opts_add_ca(prog, target, arg);
}

static const cli_opt hub_rows[] = {
    CLI_STR("listen", 'l', "ADDR:PORT", hub_opts, o.listen,
            "address to listen on (\"0.0.0.0:443\", \"[::1]:4443\")"),
    CLI_STR("cert", 0, "FILE", hub_opts, o.cert, "hub operational certificate (PEM)"),
    CLI_STR("key", 0, "FILE", hub_opts, o.key, "its private key (PEM)"),
    CLI_CALL("ca", 0, "FILE", hub_opts, o, add_ca,
             "issuer (CA) certificate accepted for nodes; twice for rollover"),
    CLI_STR("config", 'c', "FILE", hub_opts, config,
            "JSON configuration (keys: docs/hub.md); flags override it"),
    CLI_STR("crl", 0, "FILE", hub_opts, o.crl,
            "CRL(s) of the issuers (PEM): refuse revoked node certificates"),
    CLI_STR("ticket-key-file", 0, "FILE", hub_opts, o.ticket_key_file,
            "TLS session ticket keys (created 0600 if absent): nodes\n"
            "resume their TLS sessions, also across hub restarts"),
    CLI_DOUBLE("ticket-lifetime", 0, "SECONDS", hub_opts, o.ticket_lifetime, 1, 86400,
               "how long a ticket may be used (default 7200)"),
    CLI_STR("uuid-binding", 0, "POLICY", hub_opts, o.uuid_binding,
            "a node's Device UUID vs its certificate's urn:uuid:\n"
            "strict, when-present (default) or off"),
    CLI_STR("metrics-listen", 0, "ADDR:PORT", hub_opts, o.metrics_listen,
            "serve Prometheus /metrics and /health over plain\n"
            "HTTP there (a bare PORT binds 127.0.0.1)"),
    CLI_FLAG("insecure-plaintext", 0, hub_opts, o.insecure_plaintext,
             "accept ws:// without TLS (debugging only)"),
    CLI_STR("status-file", 0, "FILE", hub_opts, o.status_file,
            "where SIGUSR1 writes the status (peers) as JSON"),
    CLI_STR("log-level", 0, "LEVEL", hub_opts, o.log_level,
            "error, warn, info (default), debug, trace"),
    CLI_HELP("help", 'h', "this text"),
    CLI_END};

static const cli_part hub_help[] = {
    CLI_TEXT("usage: bacsc hub --listen ADDR:PORT --cert FILE --key FILE --ca FILE [--ca FILE2]\n"
             "                 [--config FILE] [--insecure-plaintext] [--log-level LEVEL]\n"
             "                 [--status-file FILE] [--crl FILE] [--ticket-key-file FILE]\n"
             "                 [--ticket-lifetime SECONDS] [--uuid-binding POLICY]\n"
             "                 [--metrics-listen ADDR:PORT]\n"
             "\n"
             "Run a BACnet/SC hub: accept hub connections (wss://, subprotocol\n"
             "hub.bsc.bacnet.org, TLS 1.3 with mutual authentication against the --ca\n"
             "issuer certificates) and relay BVLC-SC messages between the nodes.\n"
             "\n"),
    CLI_GROUP("options:", hub_rows, 0),
    CLI_TEXT("\n"
             "signals: TERM/INT graceful stop (Disconnect-Request to every node, exit 0);\n"
             "         HUP reload certificate, key, issuers and CRL (also when the --crl file\n"
             "         changes); USR1 write --status-file.\n"
             "exit status: 0 stopped by signal, 1 runtime failure, 2 usage, 3 bad config/certificates\n"
             "\n"
             "example:\n"
             "  bacsc hub --listen 0.0.0.0:4443 --cert hub.pem --key hub.key --ca ca.pem\n"),
    CLI_END};

static const cli_spec hub_spec = {PROG, hub_help, .col = 27, .short_col = true};

struct hubapp {
    bacsc_loop *loop;
    bacsc_hubd *hubd;
    sc_opts *o;
    bacsc_tls_ctx *tls;
    bool stopping;
    struct timespec stop_t0;     /* SIGTERM/SIGINT */
    struct timespec stop_cpu0;   /* the process's CPU time then */
    metrics_http *metrics;
    hub_metrics_src msrc;
    bacsc_timer deadline;
    bacsc_timer idle_check;
    bacsc_timer crl_watch;
    struct stat crl_st;          /* the --crl file as last loaded */
    int64_t crl_logged;          /* when the CRL warning/error was last logged */
    cert_expiry cexp;            /* the hub's certificate and issuer notAfter */
    bacsc_timer cert_watch;
};

#define CERT_WATCH_US 3600000000ull /* hourly: the warning itself is daily */

#define CRL_WATCH_US 2000000
#define CRL_WARN_S (3 * 86400)   /* warn this long before the CRL's nextUpdate */

/* The CRL's nextUpdate: warn (once a day) from 3 days before, and past it
 * an error (once an hour) and the counter: the hub then fails closed (every
 * handshake is refused until a fresh CRL is loaded). */
static void crl_check(struct hubapp *a, bool reloaded)
{
    if (!a->o->crl || !a->tls)
        return;
    int64_t now = (int64_t)time(NULL);
    if (reloaded || !a->msrc.crl_next_update)
        a->msrc.crl_next_update = sc_crl_next_update(a->o->crl);
    int64_t nu = a->msrc.crl_next_update;
    if (!nu)
        return;
    char when[32];
    struct tm tm;
    time_t tt = (time_t)nu;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
    if (now >= nu) {
        if (!a->msrc.crl_expired) {
            a->msrc.crl_expired = true;
            a->msrc.crl_expired_total++;
            a->crl_logged = 0;
        }
        if (!a->crl_logged || now - a->crl_logged >= 3600) {
            BACSC_ERROR("hub: CRL %s is past its nextUpdate %s: every node is refused "
                        "(fail closed) until a fresh CRL is loaded (replace the file or SIGHUP)",
                        a->o->crl, when);
            a->crl_logged = now;
        }
        return;
    }
    if (a->msrc.crl_expired) {
        a->msrc.crl_expired = false;
        a->crl_logged = 0;
    }
    if (nu - now <= CRL_WARN_S && (!a->crl_logged || now - a->crl_logged >= 86400)) {
        BACSC_WARN("hub: CRL %s reaches its nextUpdate %s in %lld h: load a fresh one before "
                   "then, or every node will be refused", a->o->crl, when,
                   (long long)((nu - now) / 3600));
        a->crl_logged = now;
    }
}

static void reload(struct hubapp *a, const char *why)
{
    if (!a->tls) {
        BACSC_WARN("hub: %s: plaintext hub, nothing to reload", why);
        return;
    }
    if (sc_tls_reload(PROG, a->o, a->tls, true) != 0)
        return;
    crl_check(a, true);
    cert_expiry_load(&a->cexp, "hub", a->o->cert, a->o->ca[0]);
    cert_expiry_check(&a->cexp, (int64_t)time(NULL));
    unsigned n = bacsc_hubd_recheck_peers(a->hubd, a->tls);
    BACSC_INFO("hub: %s: reloaded certificate, key, issuers%s; %u node(s) disconnected", why,
               a->o->crl ? " and CRL" : "", n);
}

static bool same_file(const struct stat *x, const struct stat *y)
{
    return x->st_ino == y->st_ino && x->st_size == y->st_size &&
           x->st_mtim.tv_sec == y->st_mtim.tv_sec && x->st_mtim.tv_nsec == y->st_mtim.tv_nsec;
}

/* --crl FILE: reload when the file changes (checked every 2 s). */
static void on_crl_watch(bacsc_loop *loop, void *user)
{
    struct hubapp *a = user;
    struct stat st;
    if (stat(a->o->crl, &st) == 0 && !same_file(&st, &a->crl_st)) {
        a->crl_st = st;
        reload(a, "CRL file changed");
    }
    crl_check(a, false);
    bacsc_timer_start(loop, &a->crl_watch, CRL_WATCH_US);
}

static void on_cert_watch(bacsc_loop *loop, void *user)
{
    struct hubapp *a = user;
    cert_expiry_load(&a->cexp, "hub", a->o->cert, a->o->ca[0]);
    cert_expiry_check(&a->cexp, (int64_t)time(NULL));
    bacsc_timer_start(loop, &a->cert_watch, CERT_WATCH_US);
}

static void write_status(struct hubapp *a)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "role", json_string("hub"));
    json_object_set_new(doc, "pid", json_integer(getpid()));
    json_object_set_new(doc, "listen", json_string(a->o->listen));
    json_object_set_new(doc, "port", json_integer(bacsc_hubd_port(a->hubd)));
    json_object_set_new(doc, "hub", sc_status_hubd(a->loop, a->hubd));
    if (a->tls)
        json_object_set_new(doc, "tls", sc_status_tls(a->tls));
    if (a->msrc.crl_next_update)
        json_object_set_new(doc, "crl", json_pack("{s:s, s:I, s:b, s:I}", "file", a->o->crl,
                                                  "next_update", (json_int_t)a->msrc.crl_next_update,
                                                  "expired", a->msrc.crl_expired, "expired_total",
                                                  (json_int_t)a->msrc.crl_expired_total));
    json_t *ce = a->tls ? cert_expiry_json(&a->cexp, (int64_t)time(NULL)) : NULL;
    if (ce)
        json_object_set_new(doc, "certificate", ce);
    if (a->o->status_file) {
        if (sc_write_json_file(a->o->status_file, doc) == 0)
            BACSC_INFO("hub: status written to %s", a->o->status_file);
    } else {
        char *s = json_dumps(doc, JSON_COMPACT);
        BACSC_WARN("hub: status: %s", s ? s : "?");
        free(s);
        json_decref(doc);
    }
}

static char *render_metrics(void *user, size_t *len)
{
    struct hubapp *a = user;
    return hub_metrics_render(&a->msrc, len);
}

static bool health(void *user, char *text, size_t cap)
{
    struct hubapp *a = user;
    if (a->stopping) {
        snprintf(text, cap, "stopping");
        return false;
    }
    snprintf(text, cap, "ok: listening on port %u, %zu node(s) connected",
             bacsc_hubd_port(a->hubd), bacsc_sc_hub_connected_count(bacsc_hubd_hub(a->hubd)));
    return true;
}

static int start_metrics(struct hubapp *a)
{
    if (!a->o->metrics_listen)
        return 0;
    a->msrc.hubd = a->hubd;
    a->msrc.tls = a->tls;
    a->msrc.cert_not_after = hub_metrics_cert_not_after(a->o->cert);
    metrics_http_handlers mh = {.render = render_metrics, .health = health, .user = a};
    char err[256];
    if (metrics_http_start(a->loop, a->o->metrics_listen, &mh, &a->metrics, err, sizeof err)) {
        cli_error(PROG, "--metrics-listen: %s", err);
        return -1;
    }
    BACSC_INFO("hub: metrics on http://%s (port %u): /metrics, /health", a->o->metrics_listen,
               metrics_http_port(a->metrics));
    return 0;
}

/* One line: how long the stop took and how the nodes left (warn when some
 * did not acknowledge their Disconnect-Request). */
static void log_stopped(struct hubapp *a)
{
    if (!a->stopping) {
        BACSC_INFO("hub: stopped");
        return;
    }
    struct timespec t1, c1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double s = (double)(t1.tv_sec - a->stop_t0.tv_sec) + (t1.tv_nsec - a->stop_t0.tv_nsec) / 1e9;
    double cpu = (double)(c1.tv_sec - a->stop_cpu0.tv_sec) +
                 (c1.tv_nsec - a->stop_cpu0.tv_nsec) / 1e9;
    bacsc_hubd_stop_stats st;
    bacsc_hubd_stop_stats_get(a->hubd, &st);
    bacsc_log(st.acked == st.requested ? BACSC_LOG_INFO : BACSC_LOG_WARN,
              "hub: stopped in %.2f s (CPU %.2f s): Disconnect-Request to %zu node(s): %zu "
              "acknowledged, %zu without Disconnect-ACK within the disconnect wait, %zu lost, %zu "
              "closed at the deadline", s, cpu, st.requested, st.acked, st.timed_out, st.lost,
              st.aborted);
}

static void on_deadline(bacsc_loop *loop, void *user)
{
    struct hubapp *a = user;
    bacsc_hubd_stop_stats st;
    bacsc_hubd_stop_stats_get(a->hubd, &st);
    BACSC_WARN("hub: shutdown deadline (the disconnect wait) passed; closing the remaining "
               "connections (%zu of %zu node(s) still without Disconnect-ACK)",
               st.requested - st.acked - st.timed_out - st.lost, st.requested);
    bacsc_hubd_abort_all(a->hubd);
    bacsc_loop_stop(loop);
}

static void check_idle(bacsc_loop *loop, void *user)
{
    struct hubapp *a = user;
    if (a->stopping && bacsc_hubd_idle(a->hubd)) {
        BACSC_INFO("hub: every node disconnected");
        bacsc_loop_stop(loop);
        return;
    }
    bacsc_timer_start(loop, &a->idle_check, 20000);
}

static void on_signal(bacsc_loop *loop, int signo, void *user)
{
    struct hubapp *a = user;
    if (signo == SIGHUP) {
        if (a->o->crl)
            stat(a->o->crl, &a->crl_st);
        reload(a, "SIGHUP");
        return;
    }
    if (signo == SIGUSR1) {
        write_status(a);
        return;
    }
    if (a->stopping)
        return;
    a->stopping = true;
    clock_gettime(CLOCK_MONOTONIC, &a->stop_t0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a->stop_cpu0);
    BACSC_INFO("hub: %s: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    bacsc_hubd_shutdown(a->hubd);
    /* The whole stop is bounded by the disconnect wait: each node's own
     * timer (the same wait, from its Disconnect-Request) closes a silent
     * one; the deadline, just after, closes whatever is still open (e.g. a
     * WebSocket close still under way after the Disconnect-ACK). */
    uint64_t dw = sc_us(a->o->disconnect_wait);
    if (!dw)
        dw = BACSC_SC_DEFAULT_DISCONNECT_WAIT_US;
    bacsc_timer_start(loop, &a->deadline, dw + 100000);
    bacsc_timer_start(loop, &a->idle_check, 0);
}

/* The hub function's configuration from the options. Returns 0 or -1
 * (message printed). */
static int hub_config(const sc_opts *o, bacsc_hubd_config *hc)
{
    *hc = (bacsc_hubd_config){.listen = o->listen, .insecure_plaintext = o->insecure_plaintext};
    bacsc_sc_hub_config_default(&hc->hub);
    if (o->uuid && bacsc_uuid_parse(o->uuid, &hc->hub.uuid) != BACSC_OK) {
        cli_error(PROG, "uuid: '%s' is not a UUID", o->uuid);
        return -1;
    }
    if (!o->uuid && !(o->cert && sc_cert_uuid(o->cert, &hc->hub.uuid) == 0))
        sc_random_uuid(&hc->hub.uuid);
    if (o->vmac && bacsc_vmac_parse(o->vmac, &hc->hub.vmac) != BACSC_OK) {
        cli_error(PROG, "vmac: '%s' is not a VMAC", o->vmac);
        return -1;
    }
    if (!o->vmac) {
        bacsc_io_random(NULL, hc->hub.vmac.b, 6);
        hc->hub.vmac.b[0] = (uint8_t)((hc->hub.vmac.b[0] & 0xFC) | 0x02);
    }
    hc->hub.connect_wait_us = sc_us(o->connect_wait);
    hc->hub.disconnect_wait_us = sc_us(o->disconnect_wait);
    hc->hub.heartbeat_us = sc_us(o->heartbeat);
    if (o->max_bvlc)
        hc->hub.max_bvlc_len = (uint16_t)o->max_bvlc;
    if (o->max_npdu)
        hc->hub.max_npdu_len = (uint16_t)o->max_npdu;
    if (o->max_peers)
        hc->hub.max_peers = o->max_peers;
    return 0;
}

int bacsc_cmd_hub(int argc, char **argv);
int bacsc_cmd_hub(int argc, char **argv)
{
    hub_opts ho;
    memset(&ho, 0, sizeof ho);
    sc_opts_init(&ho.o);
    bacsc_log_set_level(BACSC_LOG_INFO);
    int prc = cli_parse(&hub_spec, &ho, &argc, argv);
    if (prc >= 0)
        return prc;
    if (cli_extra_args(PROG, argc, argv, 0))
        return EXIT_USAGE;
    sc_opts o = ho.o;
    if (ho.config && sc_opts_load(PROG, ho.config, &o))
        return EXIT_DATAERR;
    int rc = EXIT_FAIL;
    if (o.log_level && !cli_set_log_level(PROG, o.log_level)) {
        sc_opts_free(&o);
        return EXIT_USAGE;
    }
    if (!o.listen) {
        cli_error(PROG, "--listen ADDR:PORT is required");
        sc_opts_free(&o);
        return EXIT_USAGE;
    }
    if (!o.insecure_plaintext && (!o.cert || !o.key || !o.nca)) {
        cli_error(PROG, "--cert, --key and --ca are required (or --insecure-plaintext)");
        sc_opts_free(&o);
        return EXIT_USAGE;
    }
    bacsc_hubd_config hc;
    if (hub_config(&o, &hc) != 0) {
        sc_opts_free(&o);
        return EXIT_USAGE;
    }
    if (sc_hubd_hardening(PROG, &o, &hc)) {
        sc_opts_free(&o);
        return EXIT_USAGE;
    }
    sc_raise_nofile(PROG, hc.hub.max_peers ? hc.hub.max_peers + 16 : 0);
    bacsc_tls_ctx *tls = NULL;
    if (!o.insecure_plaintext) {
        cert_expiry_watch(); /* the start-up expiry warning is its own */
        tls = sc_tls_ctx(PROG, &o, true);
        if (!tls) {
            sc_opts_free(&o);
            return EXIT_DATAERR;
        }
        hc.tls = tls;
    } else {
        BACSC_WARN("hub: --insecure-plaintext: accepting ws:// without TLS (debugging only)");
    }
    struct hubapp a = {.o = &o, .tls = tls};
    a.loop = bacsc_loop_new();
    if (!a.loop) {
        cli_error(PROG, "cannot create the event loop: %m");
        goto out;
    }
    char err[256];
    if (bacsc_hubd_new(a.loop, &hc, &a.hubd, err, sizeof err) != BACSC_OK) {
        cli_error(PROG, "%s", err);
        goto out;
    }
    if (start_metrics(&a))
        goto out;
    bacsc_timer_init(&a.crl_watch, on_crl_watch, &a);
    if (o.crl && tls) {
        stat(o.crl, &a.crl_st);
        crl_check(&a, true);
        bacsc_timer_start(a.loop, &a.crl_watch, CRL_WATCH_US);
    }
    bacsc_timer_init(&a.cert_watch, on_cert_watch, &a);
    if (tls) {
        on_cert_watch(a.loop, &a);
    }
    bacsc_timer_init(&a.deadline, on_deadline, &a);
    bacsc_timer_init(&a.idle_check, check_idle, &a);
    bacsc_loop_signal(a.loop, SIGTERM, on_signal, &a);
    bacsc_loop_signal(a.loop, SIGINT, on_signal, &a);
    bacsc_loop_signal(a.loop, SIGHUP, on_signal, &a);
    bacsc_loop_signal(a.loop, SIGUSR1, on_signal, &a);
    char vs[18], us[37];
    BACSC_INFO("hub: listening on %s (port %u), vmac %s uuid %s, %s", o.listen,
               bacsc_hubd_port(a.hubd), bacsc_vmac_format(&hc.hub.vmac, vs),
               bacsc_uuid_format(&hc.hub.uuid, us), tls ? "TLS 1.3" : "PLAINTEXT");
    if (tls)
        BACSC_INFO("hub: TLS session resumption %s%s", o.ticket_key_file ? "on, ticket keys in "
                                                                          : "off (no --ticket-key-file)",
                   o.ticket_key_file ? o.ticket_key_file : "");
    if (o.status_file)
        write_status(&a);
    if (bacsc_loop_run(a.loop) == BACSC_OK)
        rc = EXIT_OK;
    log_stopped(&a);
out:
    metrics_http_free(a.metrics);
    bacsc_hubd_free(a.hubd);
    bacsc_loop_free(a.loop);
    bacsc_tls_ctx_free(tls);
    sc_opts_free(&o);
    return rc;
}
