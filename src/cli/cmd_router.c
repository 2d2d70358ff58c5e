/*
 * cmd_router.c — `bacsc router`: a BACnet router between a BACnet/IP network
 * and one or more BACnet/SC networks (router_host.h), optionally hosting
 * the hub function of its SC networks. Options and the JSON configuration
 * file are documented in docs/router.md.
 */
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/router_host.h"
#include "bacsc/sc_hubd.h"
#include "cli.h"
#include "cli_opt.h"
#include "sc_cli.h"
#include "router_metrics.h"
#include "sc_status.h"
#include "web/metrics_http.h"

const char bacsc_cmd_router_summary[] = "route BACnet between BACnet/IP and BACnet/SC networks";

#define PROG "router"


typedef struct sc_group {
    long net;                    /* -1 unset */
    const char *hub, *failover, *hub_listen;
    unsigned long max_npdu;
} sc_group;

typedef struct router_opts {
    sc_opts o;                   /* cert, key, ca, plaintext, log level, status file, name */
    const char *bip, *bip_broadcast;
    unsigned long bip_broadcast_count, max_routes;
    long bip_net;
    sc_group g[BACSC_ROUTER_HOST_MAX_SC];
    unsigned ng;                 /* groups given on the command line */
    const char *config;          /* --config FILE */
    json_t *root;
} router_opts;

typedef struct router_app {
    router_opts *ro;
    bacsc_loop *loop;
    bacsc_router_host *host;
    bacsc_hubd *hubd[BACSC_ROUTER_HOST_MAX_SC];
    bacsc_timer idle_check, deadline;
    bool stopping;
    metrics_http *metrics;
} router_app;

/* ---- options ------------------------------------------------------------------- */

static sc_group *cur_group(router_opts *r)
{
    if (r->ng == 0) {
        r->ng = 1;
        r->g[0].net = -1;
    }
    return &r->g[r->ng - 1];
}

static int group_net(router_opts *r, const char *arg)
{
    unsigned long ul;
    if (sc_parse_ulong(PROG, "--sc-net", arg, 1, 65534, &ul))
        return -1;
    sc_group *g = cur_group(r);
    if (g->net >= 0) {
        if (r->ng == BACSC_ROUTER_HOST_MAX_SC) {
            cli_error(PROG, "--sc-net: at most %d BACnet/SC networks", BACSC_ROUTER_HOST_MAX_SC);
            return -1;
        }
        g = &r->g[r->ng++];
        g->net = -1;
    }
    g->net = (long)ul;
    return 0;
}

static int group_str(router_opts *r, const char *opt, const char **slot_of, const char *arg)
{
    (void)r;
    if (*slot_of) {
        cli_error(PROG, "%s given twice for one BACnet/SC network (start the next with --sc-net)",
                  opt);
        return -1;
    }
    *slot_of = arg;
    return 0;
}

static int config_group(router_opts *r, json_t *n, unsigned i)
{
    sc_group *g = &r->g[i];
    g->net = -1;
    json_t *v;
    const char *k;
    json_object_foreach(n, k, v) {
        if (strcmp(k, "sc_net") == 0 && json_is_integer(v) && json_integer_value(v) >= 1 &&
            json_integer_value(v) <= 65534)
            g->net = (long)json_integer_value(v);
        else if (strcmp(k, "hub") == 0 && json_is_string(v))
            g->hub = json_string_value(v);
        else if (strcmp(k, "failover") == 0 && json_is_string(v))
            g->failover = json_string_value(v);
        else if (strcmp(k, "hub_listen") == 0 && json_is_string(v))
            g->hub_listen = json_string_value(v);
        else if (strcmp(k, "max_npdu") == 0 && json_is_integer(v) && json_integer_value(v) >= 501 &&
                 json_integer_value(v) <= 65535)
            g->max_npdu = (unsigned long)json_integer_value(v);
        else {
            cli_error(PROG, "config: networks[%u]: bad or unknown key '%s'", i, k);
            return -1;
        }
    }
    return 0;
}

static const char *jstr(json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The hub connector timers (seconds, as in docs/device.md). Returns 0 when
 * `k` is one of them with a good value, 1 when it is not one, -1 bad. */
static int config_secs(sc_opts *o, const char *k, json_t *v)
{
    static const struct { const char *name; size_t off; } t[] = {
        {"connect_wait", offsetof(sc_opts, connect_wait)},
        {"disconnect_wait", offsetof(sc_opts, disconnect_wait)},
        {"heartbeat", offsetof(sc_opts, heartbeat)},
        {"reconnect_min", offsetof(sc_opts, reconnect_min)},
        {"reconnect_max", offsetof(sc_opts, reconnect_max)}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(k, t[i].name) != 0)
            continue;
        if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 3600)
            return -1;
        double *d = (double *)(void *)((char *)o + t[i].off);
        if (*d == 0)
            *d = json_number_value(v);
        return 0;
    }
    return 1;
}

/* One top-level key of the configuration file; flags given already win.
 * Returns 0, or -1 (bad value or unknown key). */
static int config_key(router_opts *r, const char *k, json_t *v)
{
    sc_opts *o = &r->o;
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
    const char *s = jstr(v);
    if (strcmp(k, "bip") == 0 && s)
        r->bip = r->bip ? r->bip : s;
    else if (strcmp(k, "bip_broadcast") == 0 && s)
        r->bip_broadcast = r->bip_broadcast ? r->bip_broadcast : s;
    else if (strcmp(k, "bip_net") == 0 && i >= 1 && i <= 65534)
        r->bip_net = r->bip_net > 0 ? r->bip_net : (long)i;
    else if (strcmp(k, "bip_broadcast_count") == 0 && i >= 1 && i <= 65535)
        r->bip_broadcast_count = r->bip_broadcast_count ? r->bip_broadcast_count : (unsigned long)i;
    else if (strcmp(k, "max_routes") == 0 && i >= 1 && i <= BACSC_ROUTER_MAX_ROUTES_LIMIT)
        r->max_routes = r->max_routes ? r->max_routes : (unsigned long)i;
    else if (strcmp(k, "instance") == 0 && i >= 0 && i <= 4194302)
        o->instance = o->instance >= 0 ? o->instance : (long)i;
    else if (strcmp(k, "name") == 0 && s)
        o->name = o->name ? o->name : s;
    else if (strcmp(k, "cert") == 0 && s)
        o->cert = o->cert ? o->cert : s;
    else if (strcmp(k, "key") == 0 && s)
        o->key = o->key ? o->key : s;
    else if (strcmp(k, "log_level") == 0 && s)
        o->log_level = o->log_level ? o->log_level : s;
    else if (strcmp(k, "status_file") == 0 && s)
        o->status_file = o->status_file ? o->status_file : s;
    else if (strcmp(k, "metrics_listen") == 0 && s)
        o->metrics_listen = o->metrics_listen ? o->metrics_listen : s;
    else if (config_secs(o, k, v) == 0)
        return 0;
    else if (strcmp(k, "insecure_plaintext") == 0 && json_is_boolean(v))
        o->insecure_plaintext = o->insecure_plaintext || json_is_true(v);
    else if (strcmp(k, "ca") == 0 && (s || json_is_array(v))) {
        if (o->nca)
            return 0;  /* --ca given */
        for (size_t n = 0; s ? n < 1 : n < json_array_size(v); n++) {
            const char *f = s ? s : jstr(json_array_get(v, n));
            if (!f || sc_opts_add_ca(PROG, o, f))
                return -1;
        }
    } else {
        return -1;
    }
    return 0;
}

static int load_config(router_opts *r, const char *path)
{
    json_error_t je;
    r->root = json_load_file(path, 0, &je);
    if (!r->root || !json_is_object(r->root)) {
        cli_error(PROG, "%s: %s", path, r->root ? "not a JSON object" : je.text);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(r->root, k, v) {
        if (strcmp(k, "networks") == 0)
            continue;
        if (config_key(r, k, v)) {
            cli_error(PROG, "%s: bad value or unknown key \"%s\"", path, k);
            return -1;
        }
    }
    json_t *nets = json_object_get(r->root, "networks");
    if (nets && (!json_is_array(nets) || json_array_size(nets) > BACSC_ROUTER_HOST_MAX_SC)) {
        cli_error(PROG, "%s: networks: an array of at most %d objects", path,
                  BACSC_ROUTER_HOST_MAX_SC);
        return -1;
    }
    if (r->ng)
        return 0;  /* --sc-net groups on the command line replace the file's */
    for (size_t i = 0; nets && i < json_array_size(nets); i++) {
        json_t *n = json_array_get(nets, i);
        if (!json_is_object(n) || config_group(r, n, (unsigned)i))
            return -1;
        r->ng = (unsigned)i + 1;
    }
    return 0;
}

/* The option handlers reach the whole router_opts from its first member. */
static router_opts *ropts(void *o_field)
{
    return (router_opts *)((char *)o_field - offsetof(router_opts, o));
}

static int opt_sc_net(const char *prog, const char *arg, void *t)
{
    return group_net(ropts(t), arg);
}

static int opt_hub(const char *prog, const char *arg, void *t)
{
    router_opts *r = ropts(t);
    return group_str(r, "--hub", &cur_group(r)->hub, arg);
}

static int opt_failover(const char *prog, const char *arg, void *t)
{
    router_opts *r = ropts(t);
    return group_str(r, "--failover", &cur_group(r)->failover, arg);
}

static int opt_hub_listen(const char *prog, const char *arg, void *t)
{
    router_opts *r = ropts(t);
    return group_str(r, "--hub-listen", &cur_group(r)->hub_listen, arg);
}

static int opt_max_npdu(const char *prog, const char *arg, void *t)
{
    return sc_parse_ulong(PROG, "--max-npdu", arg, 501, 65535, &cur_group(ropts(t))->max_npdu);
}

static int opt_ca(const char *prog, const char *arg, void *t)
{
    return sc_opts_add_ca(prog, t, arg);
}

_Static_assert(BACSC_ROUTER_HOST_MAX_SC == 7, "the --sc-net help names the limit");

static const cli_opt router_rows[] = {
    CLI_STR("bip", 0, "ADDR:PORT", router_opts, bip, "BACnet/IP port (default 0.0.0.0:47808)"),
    CLI_LONG("bip-net", 0, "N", router_opts, bip_net, 1, 65534,
             "network number of the BACnet/IP network (1..65534)"),
    CLI_STR("bip-broadcast", 0, "ADDR:PORT", router_opts, bip_broadcast,
            "where B/IP broadcasts go (default the subnet's)"),
    {CLI_ROW_("bip-broadcast-count", 0, "N", CLI_K_ULONG, router_opts, bip_broadcast_count,
              "emulate a broadcast domain on one host: send\n"
              "broadcasts to N consecutive ports from --bip-broadcast"),
     .min = 1, .max = 65535, .label = "--bip-broadcast-count N  "},
    CLI_CALL("sc-net", 0, "M", router_opts, o, opt_sc_net,
             "a BACnet/SC network (1..65534); the --hub, --failover,\n"
             "--hub-listen and --max-npdu that follow belong to it;\n"
             "repeat for more networks (at most 7)"),
    CLI_CALL("hub", 0, "URI", router_opts, o, opt_hub, "its primary hub, wss://HOST:PORT[/PATH]"),
    CLI_CALL("failover", 0, "URI", router_opts, o, opt_failover, "its failover hub"),
    CLI_CALL("hub-listen", 0, "ADDR:PORT", router_opts, o, opt_hub_listen,
             "also run its hub function, listening here"),
    CLI_CALL("max-npdu", 0, "N", router_opts, o, opt_max_npdu,
             "largest NPDU offered on it (default 1497)"),
    CLI_STR("cert", 0, "FILE", router_opts, o.cert, "operational certificate (PEM), all SC networks"),
    CLI_STR("key", 0, "FILE", router_opts, o.key, "its private key (PEM)"),
    CLI_CALL("ca", 0, "FILE", router_opts, o, opt_ca,
             "issuer (CA) certificate; twice for rollover"),
    CLI_LONG("instance", 'i', "I", router_opts, o.instance, 0, 4194302,
             "the router's Device object instance (default 4194300)"),
    CLI_STR("name", 0, "NAME", router_opts, o.name, "its Object_Name (default bacsc-router-I)"),
    CLI_ULONG("max-routes", 0, "N", router_opts, max_routes, 1, BACSC_ROUTER_MAX_ROUTES_LIMIT,
              "learned routes kept (default 256, at most 4096)"),
    CLI_STR("config", 'c', "FILE", router_opts, config,
            "JSON configuration (docs/router.md); flags override it"),
    CLI_FLAG("insecure-plaintext", 0, router_opts, o.insecure_plaintext,
             "allow ws:// URIs (debugging only)"),
    CLI_STR("metrics-listen", 0, "ADDR:PORT", router_opts, o.metrics_listen,
            "serve Prometheus /metrics and /health over plain\n"
            "HTTP here (counters, SC hub connector states)"),
    CLI_STR("status-file", 0, "FILE", router_opts, o.status_file,
            "where SIGUSR1 writes the status (ports, routes,\n"
            "counters) as JSON"),
    CLI_STR("log-level", 0, "LEVEL", router_opts, o.log_level,
            "error, warn, info (default), debug, trace"),
    CLI_HELP("help", 'h', "this text"),
    CLI_END};

static const cli_part router_help[] = {
    CLI_TEXT("usage: bacsc router --bip ADDR:PORT --bip-net N --sc-net M --hub URI [--failover URI]\n"
             "                    [--hub-listen ADDR:PORT] [--sc-net M2 --hub URI2 ...]\n"
             "                    --cert FILE --key FILE --ca FILE [--instance I] [--name NAME]\n"
             "                    [--config FILE] [--bip-broadcast ADDR:PORT [--bip-broadcast-count N]]\n"
             "                    [--insecure-plaintext] [--metrics-listen ADDR:PORT] [--status-file FILE]\n"
             "                    [--log-level LEVEL]\n"
             "\n"
             "A BACnet router (ASHRAE 135 clause 6) between the BACnet/IP network N and the\n"
             "BACnet/SC network(s) M: forwards NPDUs by network number, answers the network\n"
             "layer messages (Who-Is/I-Am-Router-To-Network, Reject-Message-To-Network,\n"
             "Router-Busy/Available, Initialize-Routing-Table, What-Is-Network-Number) and\n"
             "has its own Device object with one Network Port object per port. On each\n"
             "BACnet/SC network it is an ordinary node (primary/failover hub); with\n"
             "--hub-listen it also hosts that network's hub function. See docs/router.md.\n"
             "\n"),
    CLI_GROUP("options:", router_rows, 0),
    CLI_TEXT("\n"
             "signals: TERM/INT graceful stop (exit 0); HUP nothing reloaded (logged);\n"
             "         USR1 write --status-file.\n"
             "exit status: 0 stopped by signal, 1 runtime failure, 2 usage, 3 bad config/certificates\n"
             "\n"
             "example:\n"
             "  bacsc router --bip 192.168.1.10:47808 --bip-net 1 --sc-net 2 \\\n"
             "               --hub wss://hub.site:4443 --cert router.pem --key router.key --ca ca.pem\n"),
    CLI_END};

static const cli_spec router_spec = {PROG, router_help, .col = 28, .short_col = true};

/* Returns 0 to go on, 1 after --help, or EXIT_USAGE. */
static int parse_args(router_opts *r, int argc, char **argv)
{
    int rc = cli_parse(&router_spec, r, &argc, argv);
    if (rc >= 0)
        return rc == EXIT_OK ? 1 : rc;
    if (cli_extra_args(PROG, argc, argv, 0))
        return EXIT_USAGE;
    return 0;
}

/* Every SC network needs a number and a hub; numbers are all different. */
static int check_opts(router_opts *r)
{
    if (r->bip_net <= 0) {
        cli_error(PROG, "--bip-net N is required (the BACnet/IP network number)");
        return -1;
    }
    if (r->ng == 0) {
        cli_error(PROG, "--sc-net M and --hub URI are required (a BACnet/SC network)");
        return -1;
    }
    for (unsigned i = 0; i < r->ng; i++) {
        sc_group *g = &r->g[i];
        if (g->net < 0) {
            cli_error(PROG, "--hub/--failover/--hub-listen need a --sc-net before them");
            return -1;
        }
        if (!g->hub) {
            cli_error(PROG, "--sc-net %ld: --hub URI is required", g->net);
            return -1;
        }
        if (g->net == r->bip_net) {
            cli_error(PROG, "--sc-net %ld: the same number as --bip-net", g->net);
            return -1;
        }
        for (unsigned j = 0; j < i; j++)
            if (r->g[j].net == g->net) {
                cli_error(PROG, "--sc-net %ld given twice", g->net);
                return -1;
            }
        sc_opts t = r->o;
        t.hub = g->hub;
        t.failover = g->failover;
        if (sc_check_node_opts(PROG, &t))
            return -1;
    }
    return 0;
}

/* ---- status, signals -------------------------------------------------------------- */

static json_t *status_routes(bacsc_router *rt)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < bacsc_router_route_count(rt); i++) {
        const bacsc_router_route *e = bacsc_router_route_at(rt, i);
        json_t *j = json_object();
        json_object_set_new(j, "network", json_integer(e->network));
        json_object_set_new(j, "port", json_integer(e->port));
        json_object_set_new(j, "direct", json_boolean(e->direct));
        if (!e->direct) {
            char a[BACSC_ADDRESS_STRLEN];
            int kind = e->port == 0 ? BACSC_DATALINK_BIP : BACSC_DATALINK_SC;
            json_object_set_new(j, "next_hop", json_string(bacsc_address_format(
                                                   &e->next_hop, kind, a, sizeof a)));
            json_object_set_new(j, "busy", json_boolean(e->busy));
        }
        json_array_append_new(arr, j);
    }
    return arr;
}

static json_t *status_stats(const bacsc_router_stats *s)
{
    json_t *j = json_pack("{sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI}", "rx_npdus",
                     (json_int_t)s->rx_npdus, "rx_malformed", (json_int_t)s->rx_malformed,
                     "forwarded", (json_int_t)s->forwarded, "local", (json_int_t)s->local,
                     "network_msgs", (json_int_t)s->network_msgs, "hop_exhausted",
                     (json_int_t)s->hop_exhausted, "rejects_sent", (json_int_t)s->rejects_sent,
                     "rejects_unknown_net", (json_int_t)s->rejects_unknown_net,
                     "rejects_too_long", (json_int_t)s->rejects_too_long, "rejects_received",
                     (json_int_t)s->rejects_received, "busy_dropped",
                     (json_int_t)s->busy_dropped, "dropped", (json_int_t)s->dropped,
                     "routes_learned", (json_int_t)s->routes_learned, "routes_full",
                     (json_int_t)s->routes_full, "number_conflicts",
                     (json_int_t)s->number_conflicts, "send_errors", (json_int_t)s->send_errors);
    if (j)
        json_object_set_new(j, "port_down", json_integer((json_int_t)s->port_down));
    return j;
}

static void write_status(router_app *a)
{
    bacsc_router *rt = bacsc_router_host_router(a->host);
    json_t *doc = json_object();
    json_object_set_new(doc, "role", json_string("router"));
    json_object_set_new(doc, "pid", json_integer(getpid()));
    json_object_set_new(doc, "instance",
                        json_integer(bacsc_device_instance(bacsc_router_host_device(a->host))));
    json_t *ports = json_array();
    bacsc_bip_addr b;
    bacsc_bip_link_local(bacsc_router_host_bip(a->host), &b);
    char ba[24];
    json_array_append_new(ports, json_pack("{si ss si ss}", "port", 0, "type", "bip", "network",
                                           (int)bacsc_router_port_network(rt, 0), "address",
                                           bacsc_bip_addr_format(&b, ba, sizeof ba)));
    for (unsigned i = 0; i < bacsc_router_host_sc_count(a->host); i++) {
        json_t *p = json_pack("{si ss si}", "port", (int)i + 1, "type", "sc", "network",
                              (int)bacsc_router_port_network(rt, i + 1));
        json_object_set_new(p, "node",
                            sc_status_node(a->loop, bacsc_router_host_sc_node(a->host, i)));
        if (a->hubd[i])
            json_object_set_new(p, "hub_port", json_integer(bacsc_hubd_port(a->hubd[i])));
        json_array_append_new(ports, p);
    }
    json_object_set_new(doc, "ports", ports);
    json_object_set_new(doc, "routes", status_routes(rt));
    bacsc_router_stats st;
    bacsc_router_get_stats(rt, &st);
    json_object_set_new(doc, "stats", status_stats(&st));
    if (a->ro->o.status_file) {
        if (sc_write_json_file(a->ro->o.status_file, doc) == 0)
            BACSC_INFO("router: status written to %s", a->ro->o.status_file);
    } else {
        char *s = json_dumps(doc, JSON_COMPACT);
        BACSC_WARN("router: status: %s", s ? s : "?");
        free(s);
        json_decref(doc);
    }
}

static bool all_idle(const router_app *a)
{
    if (!bacsc_router_host_idle(a->host))
        return false;
    for (unsigned i = 0; i < BACSC_ROUTER_HOST_MAX_SC; i++)
        if (a->hubd[i] && !bacsc_hubd_idle(a->hubd[i]))
            return false;
    return true;
}

static void check_idle(bacsc_loop *loop, void *user)
{
    router_app *a = user;
    if (all_idle(a)) {
        bacsc_loop_stop(loop);
        return;
    }
    bacsc_timer_start(loop, &a->idle_check, 20000);
}

static void on_deadline(bacsc_loop *loop, void *user)
{
    router_app *a = user;
    BACSC_WARN("router: shutdown deadline passed; closing the remaining connections");
    for (unsigned i = 0; i < BACSC_ROUTER_HOST_MAX_SC; i++)
        if (a->hubd[i])
            bacsc_hubd_abort_all(a->hubd[i]);
    bacsc_loop_stop(loop);
}

static void on_signal(bacsc_loop *loop, int signo, void *user)
{
    router_app *a = user;
    if (signo == SIGHUP) {
        BACSC_WARN("router: SIGHUP: reloading is not supported; configuration unchanged "
                   "(restart the router to apply changes)");
        return;
    }
    if (signo == SIGUSR1) {
        write_status(a);
        return;
    }
    if (a->stopping)
        return;
    a->stopping = true;
    BACSC_INFO("router: %s: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    bacsc_router_host_stop(a->host);
    for (unsigned i = 0; i < BACSC_ROUTER_HOST_MAX_SC; i++)
        if (a->hubd[i])
            bacsc_hubd_shutdown(a->hubd[i]);
    bacsc_timer_start(loop, &a->deadline, BACSC_SC_DEFAULT_DISCONNECT_WAIT_US + 1000000);
    bacsc_timer_start(loop, &a->idle_check, 0);
}

/* ---- start-up ---------------------------------------------------------------------- */

static char *render_metrics(void *user, size_t *len)
{
    router_app *a = user;
    return router_metrics_render(a->host, len);
}

static bool health(void *user, char *text, size_t cap)
{
    router_app *a = user;
    if (a->stopping) {
        snprintf(text, cap, "stopping");
        return false;
    }
    return router_metrics_health(a->host, text, cap);
}

static int start_metrics(router_app *a)
{
    const char *listen = a->ro->o.metrics_listen;
    if (!listen)
        return 0;
    metrics_http_handlers mh = {.render = render_metrics, .health = health, .user = a};
    char err[256];
    if (metrics_http_start(a->loop, listen, &mh, &a->metrics, err, sizeof err)) {
        cli_error(PROG, "--metrics-listen: %s", err);
        return -1;
    }
    BACSC_INFO("router: metrics on http://%s (port %u): /metrics, /health", listen,
               metrics_http_port(a->metrics));
    return 0;
}

static int start_hubs(router_app *a, bacsc_tls_ctx *stls)
{
    router_opts *r = a->ro;
    for (unsigned i = 0; i < r->ng; i++) {
        if (!r->g[i].hub_listen)
            continue;
        bacsc_hubd_config hc = {.listen = r->g[i].hub_listen,
                                .tls = stls,
                                .insecure_plaintext = r->o.insecure_plaintext,
                                .name = "hub function"};
        bacsc_sc_hub_config_default(&hc.hub);
        sc_random_uuid(&hc.hub.uuid);
        bacsc_io_random(NULL, hc.hub.vmac.b, 6);
        hc.hub.vmac.b[0] = (uint8_t)((hc.hub.vmac.b[0] & 0xFC) | 0x02);
        char err[256];
        if (bacsc_hubd_new(a->loop, &hc, &a->hubd[i], err, sizeof err) != BACSC_OK) {
            cli_error(PROG, "--hub-listen %s: %s", r->g[i].hub_listen, err);
            return -1;
        }
        BACSC_INFO("router: hub function of network %ld listening on %s (port %u)", r->g[i].net,
                   r->g[i].hub_listen, bacsc_hubd_port(a->hubd[i]));
    }
    return 0;
}

static int make_host(router_app *a, bacsc_tls_ctx *tls)
{
    router_opts *r = a->ro;
    bacsc_router_host_config c;
    memset(&c, 0, sizeof c);
    c.loop = a->loop;
    if (bacsc_bip_addr_parse(r->bip ? r->bip : "0.0.0.0:47808", 47808, &c.bip) != BACSC_OK ||
        (r->bip_broadcast &&
         bacsc_bip_addr_parse(r->bip_broadcast, 47808, &c.bip_broadcast) != BACSC_OK)) {
        cli_error(PROG, "--bip/--bip-broadcast: not ADDR:PORT");
        return EXIT_USAGE;
    }
    c.bip_broadcast_port_count = (unsigned)r->bip_broadcast_count;
    c.bip_network = (uint16_t)r->bip_net;
    c.nsc = r->ng;
    c.max_routes = r->max_routes;
    c.instance = r->o.instance >= 0 ? (uint32_t)r->o.instance : 4194300u;
    c.name = r->o.name;
    bacsc_uuid u;
    if (!(r->o.cert && sc_cert_uuid(r->o.cert, &u) == 0))
        sc_random_uuid(&u);
    memcpy(c.uuid, u.b, 16);
    for (unsigned i = 0; i < r->ng; i++) {
        bacsc_router_host_sc *s = &c.sc[i];
        s->network = (uint16_t)r->g[i].net;
        s->hub_listen = r->g[i].hub_listen;
        s->node.primary_uri = r->g[i].hub;
        s->node.failover_uri = r->g[i].failover;
        s->node.tls = tls;
        s->node.insecure_plaintext = r->o.insecure_plaintext;
        s->node.uuid = u;
        s->node.max_npdu_len = (uint16_t)r->g[i].max_npdu;
        s->node.connect_wait_us = sc_us(r->o.connect_wait);
        s->node.disconnect_wait_us = sc_us(r->o.disconnect_wait);
        s->node.heartbeat_us = sc_us(r->o.heartbeat);
        s->node.reconnect_min_us = sc_us(r->o.reconnect_min);
        s->node.reconnect_max_us = sc_us(r->o.reconnect_max);
        if (r->g[i].max_npdu > 1497)  /* room for the BVLC-SC header */
            s->node.max_bvlc_len = (uint16_t)(r->g[i].max_npdu + 103 > 65535
                                                  ? 65535 : r->g[i].max_npdu + 103);
    }
    char err[256];
    if (bacsc_router_host_new(&c, &a->host, err, sizeof err) != BACSC_OK) {
        cli_error(PROG, "%s", err);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int bacsc_cmd_router(int argc, char **argv);
int bacsc_cmd_router(int argc, char **argv)
{
    router_opts r;
    memset(&r, 0, sizeof r);
    sc_opts_init(&r.o);
    bacsc_log_set_level(BACSC_LOG_INFO);
    router_app a = {.ro = &r};
    bacsc_tls_ctx *tls = NULL, *stls = NULL;
    int rc = parse_args(&r, argc, argv);
    if (rc) {
        rc = rc == 1 ? EXIT_OK : rc;
        goto out;
    }
    const char *config = r.config;
    rc = EXIT_DATAERR;
    if (config && load_config(&r, config))
        goto out;
    rc = EXIT_USAGE;
    if ((r.o.log_level && !cli_set_log_level(PROG, r.o.log_level)) || check_opts(&r))
        goto out;
    rc = EXIT_DATAERR;
    bool any_listen = false;
    for (unsigned i = 0; i < r.ng; i++)
        any_listen = any_listen || r.g[i].hub_listen;
    if (!r.o.insecure_plaintext) {
        if (!(tls = sc_tls_ctx(PROG, &r.o, false)))
            goto out;
        if (any_listen && !(stls = sc_tls_ctx(PROG, &r.o, true)))
            goto out;
    }
    rc = EXIT_FAIL;
    if (!(a.loop = bacsc_loop_new())) {
        cli_error(PROG, "cannot create the event loop: %m");
        goto out;
    }
    if (start_hubs(&a, stls) || (rc = make_host(&a, tls)) != EXIT_OK) {
        rc = rc == EXIT_OK ? EXIT_FAIL : rc;
        goto out;
    }
    rc = EXIT_FAIL;
    bacsc_timer_init(&a.deadline, on_deadline, &a);
    bacsc_timer_init(&a.idle_check, check_idle, &a);
    bacsc_loop_signal(a.loop, SIGTERM, on_signal, &a);
    bacsc_loop_signal(a.loop, SIGINT, on_signal, &a);
    bacsc_loop_signal(a.loop, SIGHUP, on_signal, &a);
    bacsc_loop_signal(a.loop, SIGUSR1, on_signal, &a);
    if (r.o.insecure_plaintext)
        BACSC_WARN("router: --insecure-plaintext: ws:// without TLS (debugging only)");
    if (start_metrics(&a))
        goto out;
    bacsc_router_host_start(a.host);
    BACSC_INFO("router: B/IP network %ld, %u BACnet/SC network(s), instance %u", r.bip_net, r.ng,
               bacsc_device_instance(bacsc_router_host_device(a.host)));
    if (r.o.status_file)
        write_status(&a);
    if (bacsc_loop_run(a.loop) == BACSC_OK)
        rc = EXIT_OK;
    BACSC_INFO("router: stopped");
out:
    metrics_http_free(a.metrics);
    bacsc_router_host_free(a.host);
    for (unsigned i = 0; i < BACSC_ROUTER_HOST_MAX_SC; i++)
        bacsc_hubd_free(a.hubd[i]);
    bacsc_loop_free(a.loop);
    bacsc_tls_ctx_free(tls);
    bacsc_tls_ctx_free(stls);
    json_decref(r.root);
    sc_opts_free(&r.o);
    return rc;
}
