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
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bacsc/bvlc.h"
#include "bacsc/commission.h"
#include "bacsc/device.h"
#include "bacsc/device_runtime.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/sc_hubd.h"
#include "hub_metrics.h"
#include "web/metrics_http.h"
#include "bacsc/sc_node.h"
#include "cli.h"
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

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bacsc device --instance N --hub URI [--failover URI] --cert FILE --key FILE\n"
            "                    --ca FILE [--ca FILE2] [--hub-listen ADDR:PORT] [--config FILE]\n"
            "                    [--name NAME] [--uuid UUID] [--av N] [--count N] [--vendor-id N]\n"
            "                    [--dc-listen ADDR:PORT [--dc-uri URI]...] [--dc-initiate auto|off]\n"
            "                    [--insecure-plaintext] [--status-file FILE] [--log-level LEVEL]\n"
            "       bacsc device --state-dir DIR --instance N [--bip ADDR:PORT] [--count N]\n"
            "                    [--mode ip|dual|sc] [--domain D] [--password-file F] [--hub URI]\n"
            "                    [--failover URI] [--bip-broadcast ADDR:PORT [--bip-broadcast-count N]]\n"
            "\n"
            "Run a BACnet device (Device object, Analog Values, a SECURE_CONNECT Network\n"
            "Port) that joins a BACnet/SC network through its hub connector (primary hub,\n"
            "failover hub) and answers Who-Is, ReadProperty, ReadPropertyMultiple and\n"
            "WriteProperty. With --hub-listen it also hosts the hub function. With\n"
            "--dc-listen it accepts direct connections (node switch); with --dc-initiate auto\n"
            "it opens direct connections to the peers it exchanges unicasts with.\n"
            "\n"
            "options:\n"
            "  -i, --instance N          device instance (0..4194302)\n"
            "      --hub URI             primary hub, wss://HOST:PORT[/PATH]\n"
            "      --failover URI        failover hub\n"
            "      --cert FILE           operational certificate (PEM)\n"
            "      --key FILE            its private key (PEM)\n"
            "      --ca FILE             issuer (CA) certificate; twice for rollover\n"
            "      --crl FILE            CRL(s) of the issuers (PEM): peers and hubs whose\n"
            "                            certificate is revoked are refused (also --state-dir)\n"
            "      --hub-listen ADDR:PORT  also run the hub function, listening here\n"
            "      --metrics-listen ADDR:PORT  with --hub-listen: Prometheus /metrics and /health of\n"
            "                            the hub function over plain HTTP (bare PORT: 127.0.0.1)\n"
            "      --ticket-key-file FILE  with --hub-listen: TLS session ticket keys (resumption,\n"
            "                            also across restarts; created 0600 if absent)\n"
            "      --dc-listen ADDR:PORT   accept direct connections (dc.bsc.bacnet.org) here\n"
            "      --dc-uri URI          advertised direct-connect URI (repeatable; default\n"
            "                            wss://ADDR:PORT of --dc-listen)\n"
            "      --dc-initiate MODE    auto: open direct connections to busy peers and\n"
            "                            close idle ones; off (default)\n"
            "  -c, --config FILE         JSON configuration (keys: docs/device.md); flags override it\n"
            "      --name NAME           Object_Name of the Device object (default bacsc-device-N)\n"
            "      --uuid UUID           Device UUID (default: from the certificate's urn:uuid SAN, else random)\n"
            "      --av N                number of Analog Value objects (default 1, at most 10000)\n"
            "      --count N             run N device instances N..N+count-1 in this process\n"
            "      --vendor-id N         Vendor_Identifier (0..65535, default 0); with\n"
            "      --vendor-name TEXT, --model-name TEXT, --firmware-revision TEXT,\n"
            "      --application-software-version TEXT, --location TEXT, --description TEXT\n"
            "                            the Device object's identification (config keys\n"
            "                            vendor_id, vendor_name, ... with _ for -)\n"
            "      --pics                print the PICS-style summary (object types,\n"
            "                            properties, services, BIBBs) as Markdown and exit\n"
            "      --insecure-plaintext  allow ws:// URIs (debugging only)\n"
            "      --status-file FILE    where SIGUSR1 writes the status as JSON\n"
            "      --log-level LEVEL     error, warn, info (default), debug, trace\n"
            "commissionable devices (docs/device-commissioning.md):\n"
            "      --state-dir DIR       keep configuration, certificates and keys in DIR; the\n"
            "                            device starts without certificates on BACnet/IP and is\n"
            "                            commissioned over BACnet (--cert/--key/--ca not used)\n"
            "      --bip ADDR:PORT       BACnet/IP address of the first instance (default\n"
            "                            127.0.0.1:47808); instance i uses PORT+i\n"
            "      --mode ip|dual|sc     mode of a fresh state (default ip; sc needs an\n"
            "                            activated certificate: a saved state keeps its mode)\n"
            "      --domain D            site domain for CSR common names (NAME.D)\n"
            "      --password P          ReinitializeDevice password (1..20 characters; visible in\n"
            "                            ps: prefer --password-file). Kept hashed in the state\n"
            "                            directory; without one a password is generated at the\n"
            "                            first start and shown once\n"
            "      --password-file F     the password from the first line of F\n"
            "      --bip-broadcast ADDR:PORT  where broadcasts go (default ADDR's broadcast)\n"
            "      --bip-broadcast-count N    emulate a broadcast domain on one host: send\n"
            "                            broadcasts to N consecutive ports from --bip-broadcast\n"
            "  -h, --help                this text\n"
            "\n"
            "signals: TERM/INT graceful stop (Disconnect-Request to the hub and, when hosting\n"
            "         the hub function, to its nodes; exit 0); HUP reload certificate, key,\n"
            "         issuers and CRL (peers stay; revoked ones are disconnected);\n"
            "         USR1 write --status-file.\n"
            "exit status: 0 stopped by signal, 1 runtime failure, 2 usage, 3 bad config/certificates\n"
            "\n"
            "example:\n"
            "  bacsc device --instance 1001 --hub wss://127.0.0.1:4443 --cert node1.pem \\\n"
            "               --key node1.key --ca ca.pem\n");
}

/* The status document (`bacsc status` reads it): at start-up when a
 * --status-file is given, and on every SIGUSR1 (logged without a file). */
struct devcli {
    const sc_opts *o;
    bacsc_tls_ctx *stls; /* the hub function's server context (status counters) */
    bacsc_hubd_config hc; /* the hosted hub function (--hub-listen) */
    bacsc_tls_config tc, stc; /* the files behind the TLS contexts (SIGHUP reload) */
    char dc_uris[BACSC_SC_SWITCH_URIS_MAX];
};

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
    if (start_metrics(rt, c, o, &msrc, &metrics) == 0)
        rc = bacsc_device_runtime_run(rt) == BACSC_OK ? EXIT_OK : EXIT_FAIL;
    metrics_http_free(metrics);
    bacsc_device_runtime_free(rt);
    return rc;
}

static void pics_line(void *user, const char *line)
{
    fprintf(user, "%s\n", line);
}

/* --vendor-id and the identification strings (options 1110..1116). */
static int identity_opt(int opt, const char *arg, sc_opts *o)
{
    unsigned long ul;
    switch (opt) {
    case 1110:
        if (sc_parse_ulong(PROG, "--vendor-id", arg, 0, 65535, &ul))
            return -1;
        o->vendor_id = (long)ul;
        return 0;
    case 1111: o->vendor_name = arg; return 0;
    case 1112: o->model_name = arg; return 0;
    case 1113: o->firmware_revision = arg; return 0;
    case 1114: o->app_version = arg; return 0;
    case 1115: o->location = arg; return 0;
    default: o->description = arg; return 0;
    }
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

static int parse_opts(int argc, char **argv, sc_opts *o, devhost_opts *dh)
{
    static const struct option longopts[] = {
        {"instance", required_argument, NULL, 'i'},
        {"hub", required_argument, NULL, 'H'},
        {"failover", required_argument, NULL, 'F'},
        {"cert", required_argument, NULL, 'C'},
        {"key", required_argument, NULL, 'K'},
        {"ca", required_argument, NULL, 'A'},
        {"hub-listen", required_argument, NULL, 'B'},
        {"metrics-listen", required_argument, NULL, 1010},
        {"ticket-key-file", required_argument, NULL, 'T'},
        {"dc-listen", required_argument, NULL, 'D'},
        {"dc-uri", required_argument, NULL, 'R'},
        {"dc-initiate", required_argument, NULL, 'I'},
        {"config", required_argument, NULL, 'c'},
        {"name", required_argument, NULL, 'n'},
        {"uuid", required_argument, NULL, 'U'},
        {"vmac", required_argument, NULL, 'V'},
        {"av", required_argument, NULL, 'a'},
        {"count", required_argument, NULL, 'N'},
        {"insecure-plaintext", no_argument, NULL, 'P'},
        {"status-file", required_argument, NULL, 'S'},
        {"log-level", required_argument, NULL, 'L'},
        {"state-dir", required_argument, NULL, 1001},
        {"bip", required_argument, NULL, 1002},
        {"mode", required_argument, NULL, 1003},
        {"domain", required_argument, NULL, 1004},
        {"password", required_argument, NULL, 1005},
        {"password-file", required_argument, NULL, 1008},
        {"crl", required_argument, NULL, 1009},
        {"bip-broadcast", required_argument, NULL, 1006},
        {"bip-broadcast-count", required_argument, NULL, 1007},
        {"vendor-id", required_argument, NULL, 1110},
        {"vendor-name", required_argument, NULL, 1111},
        {"model-name", required_argument, NULL, 1112},
        {"firmware-revision", required_argument, NULL, 1113},
        {"application-software-version", required_argument, NULL, 1114},
        {"location", required_argument, NULL, 1115},
        {"description", required_argument, NULL, 1116},
        {"pics", no_argument, NULL, 1120},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    bacsc_log_set_level(BACSC_LOG_INFO);
    int opt;
    unsigned long ul;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "i:c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            if (sc_parse_ulong(PROG, "--instance", optarg, 0, 4194302, &ul))
                return EXIT_USAGE;
            o->instance = (long)ul;
            break;
        case 'H': o->hub = optarg; break;
        case 'F': o->failover = optarg; break;
        case 'C': o->cert = optarg; break;
        case 'K': o->key = optarg; break;
        case 'A':
            if (sc_opts_add_ca(PROG, o, optarg))
                return EXIT_USAGE;
            break;
        case 'B': o->hub_listen = optarg; break;
        case 1010: o->metrics_listen = optarg; break;
        case 'T': o->ticket_key_file = optarg; break;
        case 'D': o->dc_listen = optarg; break;
        case 'R':
            if (o->ndc_uri == (int)(sizeof o->dc_uri / sizeof o->dc_uri[0])) {
                cli_error(PROG, "--dc-uri: at most %zu", sizeof o->dc_uri / sizeof o->dc_uri[0]);
                return EXIT_USAGE;
            }
            o->dc_uri[o->ndc_uri++] = optarg;
            break;
        case 'I': o->dc_initiate = optarg; break;
        case 'c': break;
        case 'n': o->name = optarg; break;
        case 'U': o->uuid = optarg; break;
        case 'V': o->vmac = optarg; break;
        case 'a':
            if (sc_parse_ulong(PROG, "--av", optarg, 0, 10000, &ul))
                return EXIT_USAGE;
            o->av = (long)ul;
            break;
        case 'N':
            if (sc_parse_ulong(PROG, "--count", optarg, 1, 10000, &ul))
                return EXIT_USAGE;
            o->count = (long)ul;
            break;
        case 'P': o->insecure_plaintext = true; break;
        case 'S': o->status_file = optarg; break;
        case 'L': o->log_level = optarg; break;
        case 1001: dh->state_dir = optarg; break;
        case 1002: dh->bip = optarg; break;
        case 1003: dh->mode = optarg; break;
        case 1004: dh->domain = optarg; break;
        case 1005: dh->password = optarg; break;
        case 1009: o->crl = optarg; break;
        case 1008:
            if (read_password_file(optarg, &dh->password) != 0)
                return EXIT_USAGE;
            break;
        case 1006: dh->bip_broadcast = optarg; break;
        case 1007:
            if (sc_parse_ulong(PROG, "--bip-broadcast-count", optarg, 1, 65535, &ul))
                return EXIT_USAGE;
            dh->bip_broadcast_count = ul;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        case 1120: return bacsc_device_pics(pics_line, stdout) == BACSC_OK ? EXIT_OK : EXIT_FAIL;
        default:
            if (opt >= 1110 && opt <= 1116) {
                if (identity_opt(opt, optarg, o))
                    return EXIT_USAGE;
                break;
            }
            return cli_bad_option(PROG, argc, argv);
        }
    }
    if (optind != argc) {
        cli_error(PROG, "unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    return -1;
}

int bacsc_cmd_device(int argc, char **argv)
{
    sc_opts o;
    sc_opts_init(&o);
    devhost_opts dh;
    memset(&dh, 0, sizeof dh);
    int prc = parse_opts(argc, argv, &o, &dh);
    if (prc >= 0)
        return prc;
    const char *config = sc_find_opt(argc, argv, "--config", NULL);
    if (!config)
        config = sc_find_opt(argc, argv, "-c", NULL);
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
    rc_cfg.user = &dcli;
    rc = run_runtime(&rc_cfg, &o);
out:
    bacsc_tls_ctx_free(tls);
    bacsc_tls_ctx_free(stls);
    sc_opts_free(&o);
    return rc;
}
