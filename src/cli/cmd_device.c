/*
 * cmd_device.c — `bacsc device`: BACnet device(s) on BACnet/SC.
 *
 * Each device instance = a bacsc_device (Device, N Analog Values, a
 * SECURE_CONNECT Network Port whose live properties are refreshed from the
 * hub connector on every read) on its own bacsc_sc_node. `--count N` runs N
 * instances (instance numbers N0..N0+N-1, each with its own UUID and VMAC) in
 * one process — one event loop, one TLS context — for load and fault tests.
 * `--hub-listen` also hosts the hub function (sc_hubd.h). See docs/device.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bacsc/bvlc.h"
#include "bacsc/commission.h"
#include "bacsc/device.h"
#include "bacsc/device_runtime.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/sc_hubd.h"
#include "cert_expiry.h"
#include "hub_metrics.h"
#include "web/metrics_http.h"
#include "bacsc/sc_node.h"
#include "cli.h"
#include "cli_opt.h"
#include "sc_cli.h"
#include "sc_status.h"

/* The options only commissionable devices (--state-dir) have. */
typedef struct devhost_opts {
    const char *state_dir;
    const char *bip;                 /* "ADDR:PORT" (default 127.0.0.1:47808) */
    const char *bip_broadcast;       /* "ADDR:PORT" or NULL */
    unsigned long bip_broadcast_count;
    const char *mode;                /* "ip" | "dual" (fresh state) — NULL = ip */
    const char *domain;
    const char *password;
} devhost_opts;

const char bacsc_cmd_device_summary[] = "run a BACnet device on BACnet/SC (optionally hosting a hub)";

#define PROG "device"

#define DEVICE_USAGE \
    "usage: bacsc device --instance N --hub URI [--failover URI] --cert FILE --key FILE\n" \
    "                    --ca FILE [--ca FILE2] [--hub-listen ADDR:PORT] [--config FILE]\n" \
    "                    [--name NAME] [--uuid UUID] [--av N] [--count N] [--vendor-id N]\n" \
    "                    [--dc-listen ADDR:PORT [--dc-uri URI]...] [--dc-initiate auto|off]\n" \
    "                    [--insecure-plaintext] [--status-file FILE] [--log-level LEVEL]\n" \
    "       bacsc device --state-dir DIR --instance N [--bip ADDR:PORT] [--count N]\n" \
    "                    [--mode ip|dual|sc] [--domain D] [--password-file F] [--hub URI]\n" \
    "                    [--failover URI] [--bip-broadcast ADDR:PORT [--bip-broadcast-count N]]\n" \
    "\n" \
    "Run a BACnet device (Device object, Analog Values, a SECURE_CONNECT Network\n" \
    "Port) that joins a BACnet/SC network through its hub connector (primary hub,\n" \
    "failover hub) and answers Who-Is, ReadProperty, ReadPropertyMultiple and\n" \
    "WriteProperty. With --hub-listen it also hosts the hub function. With\n" \
    "--dc-listen it accepts direct connections (node switch); with --dc-initiate auto\n" \
    "it opens direct connections to the peers it exchanges unicasts with.\n" \
    "\n"

#define DEVICE_TAIL \
    "\n" \
    "signals: TERM/INT graceful stop (Disconnect-Request to the hub and, when hosting\n" \
    "         the hub function, to its nodes; exit 0); HUP reload certificate, key,\n" \
    "         issuers and CRL (peers stay; revoked ones are disconnected);\n" \
    "         USR1 write --status-file.\n" \
    "exit status: 0 stopped by signal, 1 runtime failure, 2 usage, 3 bad config/certificates\n" \
    "\n" \
    "example:\n" \
    "  bacsc device --instance 1001 --hub wss://127.0.0.1:4443 --cert node1.pem \\\n" \
    "               --key node1.key --ca ca.pem\n"

/* --state-dir: a device's certificate once it has one (the TLS files of
 * its active set, STATE/tls/<instance>/, bacsc/device_host.h), and of its
 * issuers the one that expires first. */
struct devexp {
    cert_expiry e;
    char who[24];
    char *cert, *issuer[2];
};

/* The status document (`bacsc status` reads it): at start-up when a
 * --status-file is given, and on every SIGUSR1 (logged without a file). */
struct devcli {
    const sc_opts *o;
    bacsc_tls_ctx *stls; /* the hub function's server context (status counters) */
    bacsc_hubd_config hc; /* the hosted hub function (--hub-listen) */
    bacsc_tls_config tc, stc; /* the files behind the TLS contexts (SIGHUP reload) */
    cert_expiry cexp;         /* --cert and its issuer: warnings before they expire */
    struct devexp *dexp;      /* --state-dir: each device's own certificate and issuers */
    unsigned ndexp;
    bacsc_timer cert_watch;
    char dc_uris[BACSC_SC_SWITCH_URIS_MAX];
};

static void devexp_load(struct devexp *x)
{
    int64_t a = hub_metrics_cert_not_after(x->issuer[0]);
    int64_t b = hub_metrics_cert_not_after(x->issuer[1]);
    const char *iss = b && (!a || b < a) ? x->issuer[1] : x->issuer[0];
    cert_expiry_load(&x->e, x->who, x->cert, iss);
}

static int devexp_setup(struct devcli *dc, bacsc_device_runtime *rt, const char *state_dir)
{
    unsigned n = bacsc_device_runtime_count(rt);
    if (!(dc->dexp = calloc(n, sizeof *dc->dexp)))
        return -1;
    dc->ndexp = n;
    for (unsigned i = 0; i < n; i++) {
        struct devexp *x = &dc->dexp[i];
        bacsc_device_runtime_info info;
        bacsc_device_runtime_info_get(rt, i, &info);
        snprintf(x->who, sizeof x->who, "device %u", (unsigned)info.instance);
        size_t cap = strlen(state_dir) + 48;
        x->cert = malloc(cap);
        x->issuer[0] = malloc(cap);
        x->issuer[1] = malloc(cap);
        if (!x->cert || !x->issuer[0] || !x->issuer[1])
            return -1;
        snprintf(x->cert, cap, "%s/tls/%u/cert.pem", state_dir, (unsigned)info.instance);
        snprintf(x->issuer[0], cap, "%s/tls/%u/issuer1.pem", state_dir, (unsigned)info.instance);
        snprintf(x->issuer[1], cap, "%s/tls/%u/issuer2.pem", state_dir, (unsigned)info.instance);
    }
    return 0;
}

static void devexp_free(struct devcli *dc)
{
    for (unsigned i = 0; i < dc->ndexp; i++) {
        free(dc->dexp[i].cert);
        free(dc->dexp[i].issuer[0]);
        free(dc->dexp[i].issuer[1]);
    }
    free(dc->dexp);
    dc->dexp = NULL;
    dc->ndexp = 0;
}

/* A device activated a new set: its certificate is another one now. */
static void on_activated(void *user, bacsc_device_runtime *rt, unsigned idx)
{
    (void)rt;
    struct devcli *dc = user;
    if (idx < dc->ndexp) {
        devexp_load(&dc->dexp[idx]);
        cert_expiry_check(&dc->dexp[idx].e, (int64_t)time(NULL));
    }
}

static void write_status(void *user, bacsc_device_runtime *rt, bool on_signal)
{
    const struct devcli *dc = user;
    const sc_opts *o = dc->o;
    if (!on_signal && !o->status_file)
        return;
    bacsc_loop *loop = bacsc_device_runtime_loop(rt);
    json_t *doc = json_object();
    json_object_set_new(doc, "role", json_string("device"));
    json_object_set_new(doc, "pid", json_integer(getpid()));
    json_t *arr = json_array();
    for (unsigned i = 0; i < bacsc_device_runtime_count(rt); i++) {
        bacsc_device_runtime_info info;
        bacsc_device_runtime_info_get(rt, i, &info);
        char u[37], a[32];
        json_t *d = json_object();
        json_object_set_new(d, "instance", json_integer(info.instance));
        json_object_set_new(d, "uuid", json_string(bacsc_uuid_format(&info.uuid, u)));
        json_object_set_new(d, "node", info.node ? sc_status_node(loop, info.node) : json_null());
        json_t *dce = NULL;
        if (i < dc->ndexp) {
            devexp_load(&dc->dexp[i]);
            dce = cert_expiry_json(&dc->dexp[i].e, (int64_t)time(NULL));
        }
        if (dce)
            json_object_set_new(d, "certificate", dce);
        if (info.mode >= 0) {
            json_object_set_new(d, "mode", json_string(bacsc_comm_mode_name(info.mode)));
            json_object_set_new(d, "bip", info.bip.port ? json_string(bacsc_bip_addr_format(
                                                              &info.bip, a, sizeof a))
                                                        : json_null());
        }
        json_array_append_new(arr, d);
    }
    json_object_set_new(doc, "devices", arr);
    const bacsc_hubd *hubd = bacsc_device_runtime_hubd(rt);
    if (hubd) {
        json_object_set_new(doc, "hub_port", json_integer(bacsc_hubd_port(hubd)));
        json_object_set_new(doc, "hub", sc_status_hubd(loop, hubd));
        if (dc->stls)
            json_object_set_new(doc, "tls", sc_status_tls(dc->stls));
    }
    json_t *ce = o->cert ? cert_expiry_json(&dc->cexp, (int64_t)time(NULL)) : NULL;
    if (ce)
        json_object_set_new(doc, "certificate", ce);
    if (o->status_file) {
        if (sc_write_json_file(o->status_file, doc) == 0)
            BACSC_INFO("device: status written to %s", o->status_file);
    } else {
        char *txt = json_dumps(doc, JSON_COMPACT);
        BACSC_WARN("device: status: %s", txt ? txt : "?");
        free(txt);
        json_decref(doc);
    }
}

/* The Device object's identification (flags or config keys). */
static void device_identity(const sc_opts *o, bacsc_device_runtime_config *c)
{
    c->vendor_id = o->vendor_id < 0 ? 0 : (uint16_t)o->vendor_id;
    c->vendor_name = o->vendor_name;
    c->model_name = o->model_name;
    c->firmware_revision = o->firmware_revision;
    c->application_software_version = o->app_version;
    c->location = o->location;
    c->description = o->description;
}

/* The identification strings must fit (never truncated silently). Returns 0
 * or -1 with a message. */
static int check_identity(const sc_opts *o)
{
    const char *v[] = {o->vendor_name, o->model_name, o->firmware_revision, o->app_version,
                       o->location, o->description};
    const char *n[] = {"--vendor-name", "--model-name", "--firmware-revision",
                       "--application-software-version", "--location", "--description"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] && strlen(v[i]) > BACSC_DEVICE_STRING_MAX) {
            cli_error(PROG, "%s: longer than %d octets", n[i], BACSC_DEVICE_STRING_MAX);
            return -1;
        }
    return 0;
}

/* The runtime's configuration for commissionable devices (--state-dir). */
static int state_dir_config(const sc_opts *o, const devhost_opts *d,
                            bacsc_device_runtime_config *c)
{
    c->state_dir = d->state_dir;
    c->crl_file = o->crl;
    c->first_instance = (uint32_t)o->instance;
    c->count = o->count > 0 ? (unsigned)o->count : 1;
    c->name = o->name;
    c->av = o->av < 0 ? 1 : (unsigned)o->av;
    device_identity(o, c);
    if (bacsc_bip_addr_parse(d->bip ? d->bip : "127.0.0.1:47808", 47808, &c->bip) != BACSC_OK) {
        cli_error(PROG, "--bip: '%s' is not ADDR:PORT", d->bip);
        return -1;
    }
    if (d->bip_broadcast &&
        bacsc_bip_addr_parse(d->bip_broadcast, 47808, &c->broadcast) != BACSC_OK) {
        cli_error(PROG, "--bip-broadcast: '%s' is not ADDR:PORT", d->bip_broadcast);
        return -1;
    }
    c->broadcast_port_count = (unsigned)d->bip_broadcast_count;
    int mode = d->mode ? bacsc_comm_mode_parse(d->mode) : BACSC_MODE_IP;
    if (mode < 0) {
        cli_error(PROG, "--mode: '%s' is not ip, dual or sc", d->mode);
        return -1;
    }
    c->initial_mode = mode;
    c->domain = d->domain;
    c->password = d->password;
    c->primary_hub_uri = o->hub;
    c->failover_hub_uri = o->failover;
    c->connect_wait_us = sc_us(o->connect_wait);
    c->heartbeat_us = sc_us(o->heartbeat);
    c->reconnect_min_us = sc_us(o->reconnect_min);
    c->reconnect_max_us = sc_us(o->reconnect_max);
    if (c->bip.port != 0 && (unsigned long)c->bip.port + c->count - 1 > 65535) {
        cli_error(PROG, "--count: UDP ports beyond 65535");
        return -1;
    }
    return 0;
}

/* Option checks of devices on fixed files. Returns 0 or -1 (printed). */
static int check_fixed_opts(const sc_opts *o)
{
    if (sc_check_node_opts(PROG, o) || sc_uuid_binding(PROG, o) < 0)
        return -1;
    if (o->metrics_listen && !o->hub_listen) {
        cli_error(PROG, "--metrics-listen needs --hub-listen (it serves the hub function's metrics)");
        return -1;
    }
    if (o->dc_initiate && strcmp(o->dc_initiate, "auto") != 0 &&
        strcmp(o->dc_initiate, "off") != 0) {
        cli_error(PROG, "--dc-initiate: '%s' is not auto or off", o->dc_initiate);
        return -1;
    }
    if (o->ndc_uri && !o->dc_listen) {
        cli_error(PROG, "--dc-uri needs --dc-listen");
        return -1;
    }
    for (int i = 0; i < o->ndc_uri; i++) {
        if (strncmp(o->dc_uri[i], "wss://", 6) != 0 &&
            !(o->insecure_plaintext && strncmp(o->dc_uri[i], "ws://", 5) == 0)) {
            cli_error(PROG, "--dc-uri: '%s' is not a wss:// URI", o->dc_uri[i]);
            return -1;
        }
        if (strchr(o->dc_uri[i], ' ')) {
            cli_error(PROG, "--dc-uri: '%s' contains a space", o->dc_uri[i]);
            return -1;
        }
    }
    if (o->dc_listen && o->count > 1) {
        cli_error(PROG, "--dc-listen: only with a single device (not --count)");
        return -1;
    }
    if (o->count > 0 && (unsigned long)o->instance + (unsigned long)o->count - 1 > 4194302) {
        cli_error(PROG, "--count: instances beyond 4194302");
        return -1;
    }
    return 0;
}

/* The hosted hub function's server configuration (--hub-listen). Returns
 * 0 or -1 (message printed). */
static int hub_function_config(const sc_opts *o, bacsc_tls_ctx *stls, bacsc_hubd_config *hc)
{
    memset(hc, 0, sizeof *hc);
    hc->listen = o->hub_listen;
    hc->tls = stls;
    hc->insecure_plaintext = o->insecure_plaintext;
    hc->name = "hub function";
    bacsc_sc_hub_config_default(&hc->hub);
    hc->hub.connect_wait_us = sc_us(o->connect_wait);
    hc->hub.disconnect_wait_us = sc_us(o->disconnect_wait);
    hc->hub.heartbeat_us = sc_us(o->heartbeat);
    if (o->max_peers)
        hc->hub.max_peers = o->max_peers;
    if (sc_hubd_hardening(PROG, o, hc))
        return -1;
    sc_random_uuid(&hc->hub.uuid);
    bacsc_io_random(NULL, hc->hub.vmac.b, 6);
    hc->hub.vmac.b[0] = (uint8_t)((hc->hub.vmac.b[0] & 0xFC) | 0x02);
    return 0;
}

/* The runtime's configuration for devices on fixed files. Returns EXIT_*. */
static int fixed_config(struct devcli *dcli, bacsc_tls_ctx *tls, bacsc_tls_ctx *stls,
                        bacsc_device_runtime_config *c)
{
    const sc_opts *o = dcli->o;
    c->first_instance = (uint32_t)o->instance;
    c->count = o->count > 0 ? (unsigned)o->count : 1;
    c->name = o->name;
    c->av = o->av < 0 ? 1 : (unsigned)o->av;
    device_identity(o, c);
    c->primary_hub_uri = o->hub;
    c->failover_hub_uri = o->failover;
    c->tls = tls;
    c->server_tls = stls;
    sc_tls_config(o, false, &dcli->tc);
    sc_tls_config(o, true, &dcli->stc);
    c->tls_config = tls ? &dcli->tc : NULL;
    c->server_tls_config = stls ? &dcli->stc : NULL;
    c->insecure_plaintext = o->insecure_plaintext;
    if (o->uuid) {
        if (bacsc_uuid_parse(o->uuid, &c->uuid) != BACSC_OK) {
            cli_error(PROG, "uuid: '%s' is not a UUID", o->uuid);
            return EXIT_USAGE;
        }
        c->uuid_set = true;
    } else if (o->cert && sc_cert_uuid(o->cert, &c->uuid) == 0) {
        c->uuid_set = true;
    }
    if (o->vmac) {
        if (bacsc_vmac_parse(o->vmac, &c->vmac) != BACSC_OK) {
            cli_error(PROG, "vmac: '%s' is not a VMAC (aa:bb:cc:dd:ee:ff)", o->vmac);
            return EXIT_USAGE;
        }
        c->vmac_set = true;
    }
    c->connect_wait_us = sc_us(o->connect_wait);
    c->disconnect_wait_us = sc_us(o->disconnect_wait);
    c->heartbeat_us = sc_us(o->heartbeat);
    c->reconnect_min_us = sc_us(o->reconnect_min);
    c->reconnect_max_us = sc_us(o->reconnect_max);
    c->max_bvlc_len = o->max_bvlc;
    c->max_npdu_len = o->max_npdu;
    for (int i = 0; i < o->ndc_uri; i++) {
        size_t l = strlen(dcli->dc_uris);
        snprintf(dcli->dc_uris + l, sizeof dcli->dc_uris - l, "%s%s", l ? " " : "", o->dc_uri[i]);
    }
    c->dc_listen = o->dc_listen;
    c->dc_uris = dcli->dc_uris[0] ? dcli->dc_uris : NULL;
    c->dc_auto = o->dc_initiate && strcmp(o->dc_initiate, "auto") == 0;
    c->dc_max_conns = o->dc_max;
    c->dc_idle_us = sc_us(o->dc_idle);
    c->dc_auto_count = o->dc_auto_count;
    c->dc_auto_window_us = sc_us(o->dc_auto_window);
    c->uuid_binding = bacsc_sc_uuid_binding_parse(o->uuid_binding);
    if (o->hub_listen) {
        if (hub_function_config(o, stls, &dcli->hc) != 0)
            return EXIT_FAIL;
        c->hub_function = &dcli->hc;
    }
    return EXIT_OK;
}

static char *render_metrics(void *user, size_t *len)
{
    return hub_metrics_render(user, len);
}

static bool metrics_health(void *user, char *text, size_t cap)
{
    const hub_metrics_src *s = user;
    snprintf(text, cap, "ok: hub function on port %u, %zu node(s) connected",
             bacsc_hubd_port(s->hubd), bacsc_sc_hub_connected_count(bacsc_hubd_hub(s->hubd)));
    return true;
}

/* --metrics-listen: Prometheus /metrics of the hosted hub function. */
static int start_metrics(bacsc_device_runtime *rt, const bacsc_device_runtime_config *c,
                         const sc_opts *o, hub_metrics_src *src, metrics_http **out)
{
    const bacsc_hubd *hubd = bacsc_device_runtime_hubd(rt);
    if (!o->metrics_listen || !hubd)
        return 0;
    *src = (hub_metrics_src){.hubd = hubd, .tls = c->server_tls,
                             .cert_not_after = hub_metrics_cert_not_after(o->cert)};
    metrics_http_handlers mh = {.render = render_metrics, .health = metrics_health, .user = src};
    char err[256];
    if (metrics_http_start(bacsc_device_runtime_loop(rt), o->metrics_listen, &mh, out, err,
                           sizeof err)) {
        cli_error(PROG, "--metrics-listen: %s", err);
        return -1;
    }
    BACSC_INFO("device: hub function metrics on http://%s (port %u): /metrics, /health",
               o->metrics_listen, metrics_http_port(*out));
    return 0;
}

/* Create and run the devices; map the runtime's status onto exit codes. */
/* --cert and its issuer: re-read hourly (a SIGHUP may have replaced them);
 * the warning itself is daily (cert_expiry.h). */
static void on_cert_watch(bacsc_loop *loop, void *user)
{
    struct devcli *dc = user;
    int64_t now = (int64_t)time(NULL);
    if (dc->o->cert) {
        cert_expiry_load(&dc->cexp, "device", dc->o->cert, dc->o->ca[0]);
        cert_expiry_check(&dc->cexp, now);
    }
    for (unsigned i = 0; i < dc->ndexp; i++) {
        devexp_load(&dc->dexp[i]);
        cert_expiry_check(&dc->dexp[i].e, now);
    }
    bacsc_timer_start(loop, &dc->cert_watch, 3600000000ull);
}

static int run_runtime(const bacsc_device_runtime_config *c, const sc_opts *o)
{
    bacsc_device_runtime *rt = NULL;
    char err[512];
    int r = bacsc_device_runtime_new(c, &rt, err, sizeof err);
    if (r != BACSC_OK) {
        cli_error(PROG, "%s", err);
        if (c->state_dir)
            return r == BACSC_ERR_STATE ? EXIT_DATAERR : EXIT_FAIL;
        return r == BACSC_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FAIL;
    }
    hub_metrics_src msrc;
    metrics_http *metrics = NULL;
    int rc = EXIT_FAIL;
    struct devcli *dc = c->user;
    bacsc_loop *loop = bacsc_device_runtime_loop(rt);
    bacsc_timer_init(&dc->cert_watch, on_cert_watch, dc);
    if (c->state_dir && devexp_setup(dc, rt, c->state_dir) != 0) {
        cli_error(PROG, "out of memory");
        devexp_free(dc);
        bacsc_device_runtime_free(rt);
        return EXIT_FAIL;
    }
    if (c->state_dir || o->cert)
        on_cert_watch(loop, dc);
    if (start_metrics(rt, c, o, &msrc, &metrics) == 0)
        rc = bacsc_device_runtime_run(rt) == BACSC_OK ? EXIT_OK : EXIT_FAIL;
    bacsc_timer_stop(loop, &dc->cert_watch);
    metrics_http_free(metrics);
    bacsc_device_runtime_free(rt);
    devexp_free(dc);
    return rc;
}

static void pics_line(void *user, const char *line)
{
    fprintf(user, "%s\n", line);
}

int bacsc_cmd_device(int argc, char **argv);
/* Parse the command line into `o` and `dh`. Returns -1 to go on, else the
 * exit code (help printed, or a usage error reported). */
/* --password-file: the first line of F (1..20 characters). */
static int read_password_file(const char *path, const char **out)
{
    static char buf[32];
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error(PROG, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    bool ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    buf[strcspn(buf, "\r\n")] = 0;
    if (!ok || !buf[0] || strlen(buf) > 20) {
        cli_error(PROG, "--password-file: %s does not start with a password of 1..20 characters",
                  path);
        return -1;
    }
    *out = buf;
    return 0;
}

/* The command line: sc_opts (shared with the config file), the options of
 * commissionable devices, and what only the command line has. */
typedef struct device_cli {
    sc_opts *o;
    devhost_opts *dh;
    const char *config;
    bool pics;
} device_cli;

static int opt_ca(const char *prog, const char *arg, void *target)
{
    return sc_opts_add_ca(prog, target, arg);
}

static int opt_dc_uri(const char *prog, const char *arg, void *target)
{
    sc_opts *o = target;
    if (o->ndc_uri == (int)(sizeof o->dc_uri / sizeof o->dc_uri[0])) {
        cli_error(prog, "--dc-uri: at most %zu", sizeof o->dc_uri / sizeof o->dc_uri[0]);
        return -1;
    }
    o->dc_uri[o->ndc_uri++] = arg;
    return 0;
}

static int opt_password_file(const char *prog, const char *arg, void *target)
{
    return read_password_file(arg, target);
}

static const cli_opt net_rows[] = {
    CLI_LONG("instance", 'i', "N", sc_opts, instance, 0, 4194302, "device instance (0..4194302)"),
    CLI_STR("hub", 0, "URI", sc_opts, hub, "primary hub, wss://HOST:PORT[/PATH]"),
    CLI_STR("failover", 0, "URI", sc_opts, failover, "failover hub"),
    CLI_STR("cert", 0, "FILE", sc_opts, cert, "operational certificate (PEM)"),
    CLI_STR("key", 0, "FILE", sc_opts, key, "its private key (PEM)"),
    CLI_CALL_STRUCT("ca", 0, "FILE", opt_ca, "issuer (CA) certificate; twice for rollover"),
    CLI_STR("crl", 0, "FILE", sc_opts, crl,
            "CRL(s) of the issuers (PEM): peers and hubs whose\n"
            "certificate is revoked are refused (also --state-dir)"),
    CLI_STR("hub-listen", 0, "ADDR:PORT", sc_opts, hub_listen,
            "also run the hub function, listening here"),
    CLI_STR("metrics-listen", 0, "ADDR:PORT", sc_opts, metrics_listen,
            "with --hub-listen: Prometheus /metrics and /health of\n"
            "the hub function over plain HTTP (bare PORT: 127.0.0.1)"),
    CLI_STR("ticket-key-file", 0, "FILE", sc_opts, ticket_key_file,
            "with --hub-listen: TLS session ticket keys (resumption,\n"
            "also across restarts; created 0600 if absent)"),
    {CLI_ROW_("dc-listen", 0, "ADDR:PORT", CLI_K_STR, sc_opts, dc_listen,
              "accept direct connections (dc.bsc.bacnet.org) here"),
     .label = "--dc-listen ADDR:PORT "},
    CLI_CALL_STRUCT("dc-uri", 0, "URI", opt_dc_uri,
                    "advertised direct-connect URI (repeatable; default\n"
                    "wss://ADDR:PORT of --dc-listen)"),
    CLI_STR("dc-initiate", 0, "MODE", sc_opts, dc_initiate,
            "auto: open direct connections to busy peers and\n"
            "close idle ones; off (default)"),
    CLI_END};

static const cli_opt config_rows[] = {
    CLI_STR("config", 'c', "FILE", device_cli, config,
            "JSON configuration (keys: docs/device.md); flags override it"),
    CLI_END};

static const cli_opt object_rows[] = {
    CLI_STR("name", 0, "NAME", sc_opts, name,
            "Object_Name of the Device object (default bacsc-device-N)"),
    CLI_STR("uuid", 0, "UUID", sc_opts, uuid,
            "Device UUID (default: from the certificate's urn:uuid SAN, else random)"),
    {CLI_ROW_("vmac", 0, "MAC", CLI_K_STR, sc_opts, vmac, NULL), .flags = CLI_UNLISTED},
    CLI_LONG("av", 0, "N", sc_opts, av, 0, 10000,
             "number of Analog Value objects (default 1, at most 10000)"),
    CLI_LONG("count", 0, "N", sc_opts, count, 1, 10000,
             "run N device instances N..N+count-1 in this process"),
    CLI_LONG("vendor-id", 0, "N", sc_opts, vendor_id, 0, 65535,
             "Vendor_Identifier (0..65535, default 0); with"),
    {CLI_ROW_("vendor-name", 0, "TEXT", CLI_K_STR, sc_opts, vendor_name, NULL),
     .label = "--vendor-name TEXT, --model-name TEXT, --firmware-revision TEXT,"},
    {CLI_ROW_("model-name", 0, "TEXT", CLI_K_STR, sc_opts, model_name, NULL),
     .flags = CLI_UNLISTED},
    {CLI_ROW_("firmware-revision", 0, "TEXT", CLI_K_STR, sc_opts, firmware_revision, NULL),
     .flags = CLI_UNLISTED},
    {CLI_ROW_("application-software-version", 0, "TEXT", CLI_K_STR, sc_opts, app_version,
              "\nthe Device object's identification (config keys\n"
              "vendor_id, vendor_name, ... with _ for -)"),
     .label = "--application-software-version TEXT, --location TEXT, --description TEXT"},
    {CLI_ROW_("location", 0, "TEXT", CLI_K_STR, sc_opts, location, NULL), .flags = CLI_UNLISTED},
    {CLI_ROW_("description", 0, "TEXT", CLI_K_STR, sc_opts, description, NULL),
     .flags = CLI_UNLISTED},
    CLI_END};

static const cli_opt pics_rows[] = {
    CLI_FLAG("pics", 0, device_cli, pics,
             "print the PICS-style summary (object types,\n"
             "properties, services, BIBBs) as Markdown and exit"),
    CLI_END};

static const cli_opt run_rows[] = {
    CLI_FLAG("insecure-plaintext", 0, sc_opts, insecure_plaintext,
             "allow ws:// URIs (debugging only)"),
    CLI_STR("status-file", 0, "FILE", sc_opts, status_file,
            "where SIGUSR1 writes the status as JSON"),
    CLI_STR("log-level", 0, "LEVEL", sc_opts, log_level,
            "error, warn, info (default), debug, trace"),
    CLI_END};

static const cli_opt host_rows[] = {
    CLI_STR("state-dir", 0, "DIR", devhost_opts, state_dir,
            "keep configuration, certificates and keys in DIR; the\n"
            "device starts without certificates on BACnet/IP and is\n"
            "commissioned over BACnet (--cert/--key/--ca not used)"),
    CLI_STR("bip", 0, "ADDR:PORT", devhost_opts, bip,
            "BACnet/IP address of the first instance (default\n"
            "127.0.0.1:47808); instance i uses PORT+i"),
    {CLI_ROW_("mode", 0, "ip|dual|sc", CLI_K_STR, devhost_opts, mode,
              "mode of a fresh state (default ip; sc needs an\n"
              "activated certificate: a saved state keeps its mode)"),
     .label = "--mode ip|dual|sc"},
    CLI_STR("domain", 0, "D", devhost_opts, domain, "site domain for CSR common names (NAME.D)"),
    CLI_STR("password", 0, "P", devhost_opts, password,
            "ReinitializeDevice password (1..20 characters; visible in\n"
            "ps: prefer --password-file). Kept hashed in the state\n"
            "directory; without one a password is generated at the\n"
            "first start and shown once"),
    CLI_CALL("password-file", 0, "F", devhost_opts, password, opt_password_file,
             "the password from the first line of F"),
    CLI_STR("bip-broadcast", 0, "ADDR:PORT", devhost_opts, bip_broadcast,
            "where broadcasts go (default ADDR's broadcast)"),
    {CLI_ROW_("bip-broadcast-count", 0, "N", CLI_K_ULONG, devhost_opts, bip_broadcast_count,
              "emulate a broadcast domain on one host: send\n"
              "broadcasts to N consecutive ports from --bip-broadcast"),
     .min = 1, .max = 65535, .label = "--bip-broadcast-count N  "},
    CLI_END};

static const cli_opt help_rows[] = {CLI_HELP("help", 'h', "this text"), CLI_END};

static const cli_part device_help[] = {
    CLI_TEXT(DEVICE_USAGE),
    CLI_GROUP_PTR("options:", net_rows, device_cli, o),
    CLI_GROUP(NULL, config_rows, 0),
    CLI_GROUP_PTR(NULL, object_rows, device_cli, o),
    CLI_GROUP(NULL, pics_rows, 0),
    CLI_GROUP_PTR(NULL, run_rows, device_cli, o),
    CLI_GROUP_PTR("commissionable devices (docs/device-commissioning.md):", host_rows, device_cli,
                  dh),
    CLI_GROUP(NULL, help_rows, 0),
    CLI_TEXT(DEVICE_TAIL),
    CLI_END};

static const cli_spec device_spec = {PROG, device_help, .col = 28, .short_col = true};

/* Parse the command line into `o` and `dh` (*config: --config FILE).
 * Returns -1 to go on, else the exit code (help printed, or a usage error
 * reported). */
static int parse_opts(int argc, char **argv, sc_opts *o, devhost_opts *dh, const char **config)
{
    bacsc_log_set_level(BACSC_LOG_INFO);
    device_cli c = {.o = o, .dh = dh};
    int rc = cli_parse(&device_spec, &c, &argc, argv);
    if (rc >= 0)
        return rc;
    if (cli_extra_args(PROG, argc, argv, 0))
        return EXIT_USAGE;
    if (c.pics)
        return bacsc_device_pics(pics_line, stdout) == BACSC_OK ? EXIT_OK : EXIT_FAIL;
    *config = c.config;
    return -1;
}

int bacsc_cmd_device(int argc, char **argv)
{
    sc_opts o;
    sc_opts_init(&o);
    devhost_opts dh;
    memset(&dh, 0, sizeof dh);
    const char *config = NULL;
    int prc = parse_opts(argc, argv, &o, &dh, &config);
    if (prc >= 0)
        return prc;
    if (config && sc_opts_load(PROG, config, &o))
        return EXIT_DATAERR;
    int rc = EXIT_USAGE;
    struct devcli dcli = {.o = &o};
    bacsc_tls_ctx *tls = NULL, *stls = NULL;
    bacsc_device_runtime_config rc_cfg;
    memset(&rc_cfg, 0, sizeof rc_cfg);
    if (o.log_level && !cli_set_log_level(PROG, o.log_level))
        goto out;
    if (o.instance < 0) {
        cli_error(PROG, "--instance N is required");
        goto out;
    }
    if (check_identity(&o))
        goto out;
    if (dh.state_dir) {
        if (o.cert || o.key || o.nca || o.hub_listen || o.insecure_plaintext) {
            cli_error(PROG, "--state-dir: certificates come from commissioning over BACnet; "
                            "--cert/--key/--ca/--hub-listen/--insecure-plaintext do not apply");
            goto out;
        }
        if (dh.password && (strlen(dh.password) < 1 || strlen(dh.password) > 20)) {
            cli_error(PROG, "--password: 1..20 characters");
            goto out;
        }
        if (state_dir_config(&o, &dh, &rc_cfg) != 0)
            goto out;
    } else {
        if (dh.bip || dh.mode || dh.domain || dh.password || dh.bip_broadcast) {
            cli_error(PROG, "--bip/--mode/--domain/--password need --state-dir");
            goto out;
        }
        if (check_fixed_opts(&o) != 0)
            goto out;
        if (o.hub_listen)
            sc_raise_nofile(PROG,
                            (o.max_peers ? o.max_peers : BACSC_SC_HUB_DEFAULT_MAX_PEERS) + 16);
        rc = EXIT_DATAERR;
        if (!o.insecure_plaintext) {
            cert_expiry_watch(); /* the start-up expiry warning is its own */
            if (!(tls = sc_tls_ctx(PROG, &o, false)))
                goto out;
            if ((o.hub_listen || o.dc_listen) && !(stls = sc_tls_ctx(PROG, &o, true)))
                goto out;
            dcli.stls = stls;
        }
        rc = fixed_config(&dcli, tls, stls, &rc_cfg);
        if (rc != EXIT_OK)
            goto out;
    }
    rc_cfg.status = write_status;
    rc_cfg.activated = on_activated;
    rc_cfg.user = &dcli;
    rc = run_runtime(&rc_cfg, &o);
out:
    bacsc_tls_ctx_free(tls);
    bacsc_tls_ctx_free(stls);
    sc_opts_free(&o);
    return rc;
}
