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
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bacsc/bvlc.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/sc_hubd.h"
#include "bacsc/sc_node.h"
#include "cli.h"
#include "device_host_run.h"
#include "sc_cli.h"
#include "sc_status.h"

const char bacsc_cmd_device_summary[] = "run a BACnet device on BACnet/SC (optionally hosting a hub)";

#define PROG "device"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bacsc device --instance N --hub URI [--failover URI] --cert FILE --key FILE\n"
            "                    --ca FILE [--ca FILE2] [--hub-listen ADDR:PORT] [--config FILE]\n"
            "                    [--name NAME] [--uuid UUID] [--av N] [--count N]\n"
            "                    [--dc-listen ADDR:PORT [--dc-uri URI]...] [--dc-initiate auto|off]\n"
            "                    [--insecure-plaintext] [--status-file FILE] [--log-level LEVEL]\n"
            "       bacsc device --state-dir DIR --instance N [--bip ADDR:PORT] [--count N]\n"
            "                    [--mode ip|dual|sc] [--domain D] [--password P] [--hub URI]\n"
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
            "      --hub-listen ADDR:PORT  also run the hub function, listening here\n"
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
            "      --av N                number of Analog Value objects (default 1)\n"
            "      --count N             run N device instances N..N+count-1 in this process\n"
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
            "      --password P          ReinitializeDevice password (1..20 characters)\n"
            "      --bip-broadcast ADDR:PORT  where broadcasts go (default ADDR's broadcast)\n"
            "      --bip-broadcast-count N    emulate a broadcast domain on one host: send\n"
            "                            broadcasts to N consecutive ports from --bip-broadcast\n"
            "  -h, --help                this text\n"
            "\n"
            "signals: TERM/INT graceful stop (Disconnect-Request to the hub and, when hosting\n"
            "         the hub function, to its nodes; exit 0); HUP nothing reloaded (logged);\n"
            "         USR1 write --status-file.\n"
            "exit status: 0 stopped by signal, 1 runtime failure, 2 usage, 3 bad config/certificates\n"
            "\n"
            "example:\n"
            "  bacsc device --instance 1001 --hub wss://127.0.0.1:4443 --cert node1.pem \\\n"
            "               --key node1.key --ca ca.pem\n");
}

struct devapp;

struct inst {
    struct devapp *app;
    uint32_t instance;
    bacsc_uuid uuid;
    bacsc_sc_node *node;
    bacsc_device *dev;
    bacsc_object *port;
    char name[40];
    bacsc_sc_direct_connection dc_rows[64];
    bacsc_sc_direct_connection *hf_rows;   /* hosted hub function peers */
    size_t hf_count, hf_cap;
};

struct devapp {
    bacsc_loop *loop;
    sc_opts *o;
    struct inst *insts;
    size_t n;
    bacsc_hubd *hubd;
    bacsc_tls_ctx *stls; /* the hub function's server context (status counters) */
    bool stopping;
    bacsc_timer deadline, idle_check;
};

static void on_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                    uint64_t now)
{
    struct inst *in = user;
    bacsc_device_handle_npdu(in->dev, src, npdu, len, now);
}

static void on_state(void *user, int state)
{
    struct inst *in = user;
    /* Answers must fit what the hub in use accepts (0 = the default 1497). */
    bacsc_device_set_max_npdu(in->dev, bacsc_sc_node_peer_max_npdu(in->node));
    /* Announce ourselves when (re)connected — only for a single device: 200
     * instances each broadcasting would be a storm of their own. */
    if (state != BACSC_SC_NO_HUB_CONNECTION && in->app->n == 1)
        bacsc_device_send_iam(in->dev, NULL, bacsc_loop_now(in->app->loop));
}

static void hf_row(const bacsc_hubd_peer_info *pi, void *arg)
{
    struct inst *in = arg;
    if (!pi->hub.connected)
        return;
    if (in->hf_count == in->hf_cap) {
        size_t cap = in->hf_cap ? in->hf_cap * 2 : 16;
        bacsc_sc_direct_connection *r = realloc(in->hf_rows, cap * sizeof *r);
        if (!r)
            return; /* the list shows what fitted */
        in->hf_rows = r;
        in->hf_cap = cap;
    }
    bacsc_sc_direct_connection *r = &in->hf_rows[in->hf_count++];
    memset(r, 0, sizeof *r);
    r->state = 1; /* connected */
    bacsc_loop_time_to_datetime(in->app->loop, pi->hub.since, &r->connect_time);
    bacsc_loop_time_to_datetime(in->app->loop, 0, &r->disconnect_time);
    snprintf(r->peer_address, sizeof r->peer_address, "%s", pi->address ? pi->address : "");
    memcpy(r->peer_vmac, pi->hub.vmac.b, 6);
    memcpy(r->peer_uuid, pi->hub.uuid.b, 16);
}

static void port_refresh(void *user, bacsc_object *port, bacsc_sc_port_state *st)
{
    struct inst *in = user;
    (void)port;
    bacsc_sc_node_port_state(in->node, st);
    st->direct = in->dc_rows;
    st->direct_count = bacsc_sc_node_dc_status(in->node, in->dc_rows, 64);
    if (st->direct_count > 64)
        st->direct_count = 64;
    in->hf_count = 0;
    if (in->app->hubd && in == &in->app->insts[0])
        bacsc_hubd_foreach_peer(in->app->hubd, hf_row, in);
    st->hub_function = in->hf_rows;
    st->hub_function_count = in->hf_count;
}

static void write_status(struct devapp *a)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "role", json_string("device"));
    json_object_set_new(doc, "pid", json_integer(getpid()));
    json_t *arr = json_array();
    for (size_t i = 0; i < a->n; i++) {
        char u[37];
        json_t *d = json_object();
        json_object_set_new(d, "instance", json_integer(a->insts[i].instance));
        json_object_set_new(d, "uuid", json_string(bacsc_uuid_format(&a->insts[i].uuid, u)));
        json_object_set_new(d, "node", sc_status_node(a->loop, a->insts[i].node));
        json_array_append_new(arr, d);
    }
    json_object_set_new(doc, "devices", arr);
    if (a->hubd) {
        json_object_set_new(doc, "hub_port", json_integer(bacsc_hubd_port(a->hubd)));
        json_object_set_new(doc, "hub", sc_status_hubd(a->loop, a->hubd));
        if (a->stls)
            json_object_set_new(doc, "tls", sc_status_tls(a->stls));
    }
    if (a->o->status_file) {
        if (sc_write_json_file(a->o->status_file, doc) == 0)
            BACSC_INFO("device: status written to %s", a->o->status_file);
    } else {
        char *s = json_dumps(doc, JSON_COMPACT);
        BACSC_WARN("device: status: %s", s ? s : "?");
        free(s);
        json_decref(doc);
    }
}

static bool all_idle(const struct devapp *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->insts[i].node && !bacsc_sc_node_idle(a->insts[i].node))
            return false;
    return !a->hubd || bacsc_hubd_idle(a->hubd);
}

static void check_idle(bacsc_loop *loop, void *user)
{
    struct devapp *a = user;
    if (all_idle(a)) {
        BACSC_INFO("device: all connections closed");
        bacsc_loop_stop(loop);
        return;
    }
    bacsc_timer_start(loop, &a->idle_check, 20000);
}

static void on_deadline(bacsc_loop *loop, void *user)
{
    struct devapp *a = user;
    BACSC_WARN("device: shutdown deadline passed; closing the remaining connections");
    if (a->hubd)
        bacsc_hubd_abort_all(a->hubd);
    bacsc_loop_stop(loop);
}

static void on_signal(bacsc_loop *loop, int signo, void *user)
{
    struct devapp *a = user;
    if (signo == SIGHUP) {
        BACSC_WARN("device: SIGHUP: reloading is not supported; configuration unchanged "
                   "(restart the device to apply changes)");
        return;
    }
    if (signo == SIGUSR1) {
        write_status(a);
        return;
    }
    if (a->stopping)
        return;
    a->stopping = true;
    BACSC_INFO("device: %s: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    for (size_t i = 0; i < a->n; i++)
        bacsc_sc_node_stop(a->insts[i].node);
    if (a->hubd)
        bacsc_hubd_shutdown(a->hubd);
    uint64_t dw = sc_us(a->o->disconnect_wait);
    if (!dw)
        dw = BACSC_SC_DEFAULT_DISCONNECT_WAIT_US;
    bacsc_timer_start(loop, &a->deadline, dw + 1000000);
    bacsc_timer_start(loop, &a->idle_check, 0);
}

static uint32_t secs_clamp(double s, uint32_t dflt, uint32_t lo, uint32_t hi)
{
    if (s <= 0)
        return dflt;
    double r = ceil(s);
    return r < lo ? lo : r > hi ? hi : (uint32_t)r;
}

static int setup_instance(struct devapp *a, struct inst *in, size_t idx, bacsc_tls_ctx *tls,
                          bacsc_tls_ctx *stls)
{
    sc_opts *o = a->o;
    in->app = a;
    in->instance = (uint32_t)o->instance + (uint32_t)idx;
    snprintf(in->name, sizeof in->name, "device %u", in->instance);
    if (idx == 0 && o->uuid) {
        if (bacsc_uuid_parse(o->uuid, &in->uuid) != BACSC_OK) {
            cli_error(PROG, "uuid: '%s' is not a UUID", o->uuid);
            return EXIT_USAGE;
        }
    } else if (!(idx == 0 && o->cert && sc_cert_uuid(o->cert, &in->uuid) == 0)) {
        sc_random_uuid(&in->uuid);
    }
    char dc_uris[BACSC_SC_SWITCH_URIS_MAX] = "";
    for (int i = 0; i < o->ndc_uri; i++) {
        size_t l = strlen(dc_uris);
        snprintf(dc_uris + l, sizeof dc_uris - l, "%s%s", l ? " " : "", o->dc_uri[i]);
    }
    bacsc_sc_node_config nc = {
        .name = in->name,
        .primary_uri = o->hub,
        .failover_uri = o->failover,
        .tls = tls,
        .insecure_plaintext = o->insecure_plaintext,
        .uuid = in->uuid,
        .max_bvlc_len = (uint16_t)o->max_bvlc,
        .max_npdu_len = (uint16_t)o->max_npdu,
        .connect_wait_us = sc_us(o->connect_wait),
        .disconnect_wait_us = sc_us(o->disconnect_wait),
        .heartbeat_us = sc_us(o->heartbeat),
        .reconnect_min_us = sc_us(o->reconnect_min),
        .reconnect_max_us = sc_us(o->reconnect_max),
        .dc_listen = idx == 0 ? o->dc_listen : NULL,
        .dc_tls = stls,
        .dc_uris = dc_uris[0] ? dc_uris : NULL,
        .dc_auto = o->dc_initiate && strcmp(o->dc_initiate, "auto") == 0,
        .dc_max_conns = o->dc_max,
        .dc_idle_us = sc_us(o->dc_idle),
        .dc_auto_count = o->dc_auto_count,
        .dc_auto_window_us = sc_us(o->dc_auto_window),
        .uuid_binding = bacsc_sc_uuid_binding_parse(o->uuid_binding),
    };
    if (o->vmac) {
        if (bacsc_vmac_parse(o->vmac, &nc.vmac) != BACSC_OK) {
            cli_error(PROG, "vmac: '%s' is not a VMAC (aa:bb:cc:dd:ee:ff)", o->vmac);
            return EXIT_USAGE;
        }
        nc.vmac.b[5] = (uint8_t)(nc.vmac.b[5] + idx);
        nc.fixed_vmac = true;
    }
    bacsc_sc_node_callbacks ncb = {.npdu = on_npdu, .state_changed = on_state, .user = in};
    char err[256];
    if (bacsc_sc_node_new(a->loop, &nc, &ncb, &in->node, err, sizeof err) != BACSC_OK) {
        cli_error(PROG, "%s", err);
        return EXIT_USAGE;
    }
    char dname[BACSC_DEVICE_NAME_MAX + 1];
    if (o->name && a->n == 1)
        snprintf(dname, sizeof dname, "%s", o->name);
    else if (o->name)
        snprintf(dname, sizeof dname, "%s-%u", o->name, in->instance);
    else
        snprintf(dname, sizeof dname, "bacsc-device-%u", in->instance);
    bacsc_device_config dc = {.instance = in->instance,
                              .name = dname,
                              .vendor_name = "bacsc",
                              .vendor_id = 0,
                              .model_name = "bacsc device",
                              .firmware_revision = BACSC_VERSION,
                              .application_software_version = BACSC_VERSION,
                              .description = "bacsc BACnet/SC device",
                              .link = bacsc_sc_node_datalink(in->node)};
    memcpy(dc.uuid, in->uuid.b, 16);
    if (bacsc_device_new(&dc, &in->dev) != BACSC_OK) {
        cli_error(PROG, "cannot create device %u", in->instance);
        return EXIT_FAIL;
    }
    long nav = o->av < 0 ? 1 : o->av;
    for (long i = 1; i <= nav; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "AV-%ld", i);
        if (bacsc_device_add_analog_value(in->dev, (uint32_t)i, nm, 0.0f, 95, NULL) != BACSC_OK) {
            cli_error(PROG, "cannot add analog-value,%ld", i);
            return EXIT_FAIL;
        }
    }
    bacsc_sc_port_config pc;
    bacsc_sc_port_config_defaults(&pc);
    snprintf(pc.primary_hub_uri, sizeof pc.primary_hub_uri, "%s", o->hub);
    if (o->failover)
        snprintf(pc.failover_hub_uri, sizeof pc.failover_hub_uri, "%s", o->failover);
    pc.min_reconnect_time = secs_clamp(o->reconnect_min, pc.min_reconnect_time, 1, 300);
    pc.max_reconnect_time = secs_clamp(o->reconnect_max, pc.max_reconnect_time, 1, 600);
    pc.connect_wait_timeout = secs_clamp(o->connect_wait, pc.connect_wait_timeout, 1, 300);
    pc.disconnect_wait_timeout = secs_clamp(o->disconnect_wait, pc.disconnect_wait_timeout, 1, 300);
    pc.heartbeat_timeout = secs_clamp(o->heartbeat, pc.heartbeat_timeout, 1, 300);
    if (o->hub_listen && idx == 0) {
        pc.hub_function_enable = true;
        snprintf(pc.hub_function_binding, sizeof pc.hub_function_binding, "%s", o->hub_listen);
        snprintf(pc.hub_function_accept_uris[0], sizeof pc.hub_function_accept_uris[0], "%s://%s",
                 o->insecure_plaintext ? "ws" : "wss", o->hub_listen);
    }
    pc.direct_connect_initiate_enable = nc.dc_auto;
    if (idx == 0 && o->dc_listen) {
        pc.direct_connect_accept_enable = true;
        snprintf(pc.direct_connect_binding, sizeof pc.direct_connect_binding, "%s", o->dc_listen);
        /* the URIs actually advertised (default: with the bound port) */
        const char *u = bacsc_sc_switch_accept_uris(bacsc_sc_node_switch(in->node));
        for (int i = 0; i < BACSC_SC_ACCEPT_URIS_MAX && *u; i++) {
            const char *e = strchr(u, ' ');
            size_t l = e ? (size_t)(e - u) : strlen(u);
            if (l < BACSC_URI_MAX)
                snprintf(pc.direct_connect_accept_uris[i], BACSC_URI_MAX, "%.*s", (int)l, u);
            u += l;
            while (*u == ' ')
                u++;
        }
    }
    bacsc_netport_callbacks pcb = {.refresh = port_refresh, .user = in};
    if (bacsc_device_add_netport_sc(in->dev, 1, "SC-port", &pc, &pcb, &in->port) != BACSC_OK) {
        cli_error(PROG, "cannot add the Network Port object");
        return EXIT_FAIL;
    }
    bacsc_sc_port_state *st = bacsc_netport_sc_state(in->port);
    if (st) {
        st->max_bvlc_len = o->max_bvlc ? o->max_bvlc : BACSC_SC_DEFAULT_MAX_BVLC_LEN;
        st->max_npdu_len = o->max_npdu ? o->max_npdu : BACSC_SC_DEFAULT_MAX_NPDU_LEN;
    }
    return EXIT_OK;
}

int bacsc_cmd_device(int argc, char **argv);
int bacsc_cmd_device(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"instance", required_argument, NULL, 'i'},
        {"hub", required_argument, NULL, 'H'},
        {"failover", required_argument, NULL, 'F'},
        {"cert", required_argument, NULL, 'C'},
        {"key", required_argument, NULL, 'K'},
        {"ca", required_argument, NULL, 'A'},
        {"hub-listen", required_argument, NULL, 'B'},
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
        {"bip-broadcast", required_argument, NULL, 1006},
        {"bip-broadcast-count", required_argument, NULL, 1007},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    sc_opts o;
    sc_opts_init(&o);
    devhost_opts dh;
    memset(&dh, 0, sizeof dh);
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
            o.instance = (long)ul;
            break;
        case 'H': o.hub = optarg; break;
        case 'F': o.failover = optarg; break;
        case 'C': o.cert = optarg; break;
        case 'K': o.key = optarg; break;
        case 'A':
            if (sc_opts_add_ca(PROG, &o, optarg))
                return EXIT_USAGE;
            break;
        case 'B': o.hub_listen = optarg; break;
        case 'T': o.ticket_key_file = optarg; break;
        case 'D': o.dc_listen = optarg; break;
        case 'R':
            if (o.ndc_uri == (int)(sizeof o.dc_uri / sizeof o.dc_uri[0])) {
                cli_error(PROG, "--dc-uri: at most %zu", sizeof o.dc_uri / sizeof o.dc_uri[0]);
                return EXIT_USAGE;
            }
            o.dc_uri[o.ndc_uri++] = optarg;
            break;
        case 'I': o.dc_initiate = optarg; break;
        case 'c': break;
        case 'n': o.name = optarg; break;
        case 'U': o.uuid = optarg; break;
        case 'V': o.vmac = optarg; break;
        case 'a':
            if (sc_parse_ulong(PROG, "--av", optarg, 0, 1000, &ul))
                return EXIT_USAGE;
            o.av = (long)ul;
            break;
        case 'N':
            if (sc_parse_ulong(PROG, "--count", optarg, 1, 10000, &ul))
                return EXIT_USAGE;
            o.count = (long)ul;
            break;
        case 'P': o.insecure_plaintext = true; break;
        case 'S': o.status_file = optarg; break;
        case 'L': o.log_level = optarg; break;
        case 1001: dh.state_dir = optarg; break;
        case 1002: dh.bip = optarg; break;
        case 1003: dh.mode = optarg; break;
        case 1004: dh.domain = optarg; break;
        case 1005: dh.password = optarg; break;
        case 1006: dh.bip_broadcast = optarg; break;
        case 1007:
            if (sc_parse_ulong(PROG, "--bip-broadcast-count", optarg, 1, 65535, &ul))
                return EXIT_USAGE;
            dh.bip_broadcast_count = ul;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cli_bad_option(PROG, argc, argv);
        }
    }
    if (optind != argc) {
        cli_error(PROG, "unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    const char *config = sc_find_opt(argc, argv, "--config", NULL);
    if (!config)
        config = sc_find_opt(argc, argv, "-c", NULL);
    if (config && sc_opts_load(PROG, config, &o))
        return EXIT_DATAERR;
    int rc = EXIT_USAGE;
    struct devapp a = {.o = &o};
    bacsc_tls_ctx *tls = NULL, *stls = NULL;
    if (o.log_level && !cli_set_log_level(PROG, o.log_level))
        goto out;
    if (o.instance < 0) {
        cli_error(PROG, "--instance N is required");
        goto out;
    }
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
        rc = devhost_run(PROG, &o, &dh);
        goto out;
    }
    if (dh.bip || dh.mode || dh.domain || dh.password || dh.bip_broadcast) {
        cli_error(PROG, "--bip/--mode/--domain/--password need --state-dir");
        goto out;
    }
    if (sc_check_node_opts(PROG, &o) || sc_uuid_binding(PROG, &o) < 0)
        goto out;
    if (o.dc_initiate && strcmp(o.dc_initiate, "auto") != 0 && strcmp(o.dc_initiate, "off") != 0) {
        cli_error(PROG, "--dc-initiate: '%s' is not auto or off", o.dc_initiate);
        goto out;
    }
    if (o.ndc_uri && !o.dc_listen) {
        cli_error(PROG, "--dc-uri needs --dc-listen");
        goto out;
    }
    for (int i = 0; i < o.ndc_uri; i++) {
        if (strncmp(o.dc_uri[i], "wss://", 6) != 0 &&
            !(o.insecure_plaintext && strncmp(o.dc_uri[i], "ws://", 5) == 0)) {
            cli_error(PROG, "--dc-uri: '%s' is not a wss:// URI", o.dc_uri[i]);
            goto out;
        }
        if (strchr(o.dc_uri[i], ' ')) {
            cli_error(PROG, "--dc-uri: '%s' contains a space", o.dc_uri[i]);
            goto out;
        }
    }
    if (o.dc_listen && o.count > 1) {
        cli_error(PROG, "--dc-listen: only with a single device (not --count)");
        goto out;
    }
    if (o.count > 0 && (unsigned long)o.instance + (unsigned long)o.count - 1 > 4194302) {
        cli_error(PROG, "--count: instances beyond 4194302");
        goto out;
    }
    if (o.hub_listen)
        sc_raise_nofile(PROG, (o.max_peers ? o.max_peers : BACSC_SC_HUB_DEFAULT_MAX_PEERS) + 16);
    rc = EXIT_DATAERR;
    if (!o.insecure_plaintext) {
        if (!(tls = sc_tls_ctx(PROG, &o, false)))
            goto out;
        if ((o.hub_listen || o.dc_listen) && !(stls = sc_tls_ctx(PROG, &o, true)))
            goto out;
        a.stls = stls;
    }
    rc = EXIT_FAIL;
    a.loop = bacsc_loop_new();
    if (!a.loop) {
        cli_error(PROG, "cannot create the event loop: %m");
        goto out;
    }
    a.n = o.count > 0 ? (size_t)o.count : 1;
    a.insts = calloc(a.n, sizeof *a.insts);
    if (!a.insts)
        goto out;
    if (o.hub_listen) {
        bacsc_hubd_config hc = {.listen = o.hub_listen,
                                .tls = stls,
                                .insecure_plaintext = o.insecure_plaintext,
                                .name = "hub function"};
        bacsc_sc_hub_config_default(&hc.hub);
        hc.hub.connect_wait_us = sc_us(o.connect_wait);
        hc.hub.disconnect_wait_us = sc_us(o.disconnect_wait);
        hc.hub.heartbeat_us = sc_us(o.heartbeat);
        if (o.max_peers)
            hc.hub.max_peers = o.max_peers;
        if (sc_hubd_hardening(PROG, &o, &hc))
            goto out;
        sc_random_uuid(&hc.hub.uuid);
        bacsc_io_random(NULL, hc.hub.vmac.b, 6);
        hc.hub.vmac.b[0] = (uint8_t)((hc.hub.vmac.b[0] & 0xFC) | 0x02);
        char err[256];
        if (bacsc_hubd_new(a.loop, &hc, &a.hubd, err, sizeof err) != BACSC_OK) {
            cli_error(PROG, "--hub-listen: %s", err);
            goto out;
        }
        BACSC_INFO("device: hub function listening on %s (port %u)", o.hub_listen,
                   bacsc_hubd_port(a.hubd));
    }
    for (size_t i = 0; i < a.n; i++) {
        int r = setup_instance(&a, &a.insts[i], i, tls, stls);
        if (r != EXIT_OK) {
            rc = r;
            goto out;
        }
    }
    bacsc_timer_init(&a.deadline, on_deadline, &a);
    bacsc_timer_init(&a.idle_check, check_idle, &a);
    bacsc_loop_signal(a.loop, SIGTERM, on_signal, &a);
    bacsc_loop_signal(a.loop, SIGINT, on_signal, &a);
    bacsc_loop_signal(a.loop, SIGHUP, on_signal, &a);
    bacsc_loop_signal(a.loop, SIGUSR1, on_signal, &a);
    if (o.insecure_plaintext)
        BACSC_WARN("device: --insecure-plaintext: ws:// without TLS (debugging only)");
    if (o.status_file)
        write_status(&a); /* also tells scripts that SIGUSR1 is handled now */
    for (size_t i = 0; i < a.n; i++) {
        char u[37];
        BACSC_INFO("device %u: uuid %s", a.insts[i].instance,
                   bacsc_uuid_format(&a.insts[i].uuid, u));
        bacsc_sc_node_start(a.insts[i].node);
    }
    if (bacsc_loop_run(a.loop) == BACSC_OK)
        rc = EXIT_OK;
    BACSC_INFO("device: stopped");
out:
    if (a.insts) {
        for (size_t i = 0; i < a.n; i++) {
            bacsc_device_free(a.insts[i].dev);
            bacsc_sc_node_free(a.insts[i].node);
            free(a.insts[i].hf_rows);
        }
        free(a.insts);
    }
    bacsc_hubd_free(a.hubd);
    bacsc_loop_free(a.loop);
    bacsc_tls_ctx_free(tls);
    bacsc_tls_ctx_free(stls);
    sc_opts_free(&o);
    return rc;
}
