/* cmd_whois.c — `bacsc whois`: find BACnet devices on a BACnet/SC network. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/datalink.h"
#include "bacsc/services.h"
#include "cli.h"
#include "cli_opt.h"
#include "sc_tool.h"

const char bacsc_cmd_whois_summary[] = "find BACnet devices over BACnet/SC (Who-Is / I-Am)";

#define PROG "whois"

struct whois_state {
    bacsc_whois w;
    size_t found;
};

static int cmp_dev(const void *a, const void *b)
{
    const bacsc_client_device *x = *(const bacsc_client_device *const *)a;
    const bacsc_client_device *y = *(const bacsc_client_device *const *)b;
    return x->instance < y->instance ? -1 : x->instance > y->instance;
}

static void done(sc_tool *t)
{
    size_t n = bacsc_client_device_count(t->cl);
    const bacsc_client_device **v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = bacsc_client_device_at(t->cl, i);
    qsort(v, n, sizeof *v, cmp_dev);
    json_t *arr = t->json ? json_array() : NULL;
    int kind = t->bip ? BACSC_DATALINK_BIP : BACSC_DATALINK_SC;
    for (size_t i = 0; i < n; i++) {
        char mac[BACSC_ADDRESS_STRLEN], st[BACSC_ADDRESS_STRLEN], hop[BACSC_ADDRESS_STRLEN];
        char net[8] = "local";
        const bacsc_address *a = &v[i]->address;
        bacsc_address_format(a, kind, mac, sizeof mac);
        /* the network and MAC the device answered from; via = the next hop */
        bacsc_address local = bacsc_address_local(a->mac, a->mac_len);
        bacsc_address_format(&local, kind, hop, sizeof hop);
        if (a->net) {
            bacsc_address sa = bacsc_address_local(a->adr, a->adr_len);
            bacsc_address_format(&sa, BACSC_DATALINK_ANY, st, sizeof st);
            snprintf(net, sizeof net, "%u", a->net);
        } else {
            snprintf(st, sizeof st, "%s", hop);
        }
        if (arr) {
            json_t *d = json_object();
            json_object_set_new(d, "instance", json_integer(v[i]->instance));
            json_object_set_new(d, t->bip ? "address" : "vmac", json_string(mac));
            json_object_set_new(d, "network", a->net ? json_integer(a->net) : json_null());
            json_object_set_new(d, "mac", json_string(st));
            if (a->net)
                json_object_set_new(d, "via", json_string(hop));
            json_object_set_new(d, "max_apdu", json_integer(v[i]->max_apdu));
            json_object_set_new(d, "segmentation", json_integer(v[i]->segmentation));
            json_object_set_new(d, "vendor_id", json_integer(v[i]->vendor_id));
            json_array_append_new(arr, d);
        } else {
            const char *seg = bacsc_segmentation_name(v[i]->segmentation);
            printf("device %-8u %s %s  max-apdu %u  segmentation %s  vendor %u  network %s  mac %s"
                   "%s%s\n",
                   v[i]->instance, t->bip ? "address" : "vmac", mac, v[i]->max_apdu,
                   seg ? seg : "?", v[i]->vendor_id, net, st, a->net ? "  via " : "",
                   a->net ? hop : "");
        }
    }
    if (arr)
        cli_print_json(arr);
    else if (n == 0 && t->bip)
        fprintf(stderr, "bacsc whois: no device answered within %.1f s; devices answer with a "
                        "broadcast I-Am to their broadcast address and port: check that it is "
                        "the --bip-local port of this tool (and --bip-broadcast), the instance "
                        "range and the firewall (--log-level debug shows every datagram)\n",
                t->o.timeout);
    else if (n == 0)
        fprintf(stderr, "bacsc whois: no device answered within %.1f s; check that the devices "
                        "are connected to hub %s and the instance range (--low/--high)\n",
                t->o.timeout, t->o.hub ? t->o.hub : "");
    fflush(stdout);
    free(v);
    sc_tool_finish(t, n ? EXIT_OK : EXIT_UNAVAILABLE);
}

static void ready(sc_tool *t)
{
    struct whois_state *ws = t->user;
    bacsc_address buf;
    bacsc_client_whois(t->cl, sc_tool_whois_dest(t, &buf), &ws->w, sc_tool_now(t));
}

int bacsc_cmd_whois(int argc, char **argv);
typedef struct whois_opts {
    sc_tool *t;
    unsigned long low, high;
    bool global;
} whois_opts;

static const cli_opt whois_rows[] = {
    {.name = "low", .arg = "N", .kind = CLI_K_ULONG, .off = offsetof(whois_opts, low), .min = 0,
     .max = 4194303, .label = "--low N, --high N", .help = "only instances N..N (both or neither)"},
    {.name = "high", .arg = "N", .kind = CLI_K_ULONG, .off = offsetof(whois_opts, high), .min = 0,
     .max = 4194303, .flags = CLI_UNLISTED},
    CLI_FLAG("global", 0, whois_opts, global,
             "a global broadcast (every network, through routers)"),
    CLI_END};

static const cli_part whois_help[] = {
    CLI_TEXT("usage: bacsc whois [--low N --high N] [--global | --dnet N] [--timeout S] [--json]\n"
             "                   CONNECTION...\n"
             "\n"
             "Join the BACnet/SC network as a node (or with --bip-local the BACnet/IP\n"
             "network), broadcast a Who-Is and list the devices that answer with I-Am\n"
             "during --timeout seconds, each with the network and MAC it answered from\n"
             "(network \"local\" for this network; via = the router it came through).\n"
             "\n"),
    CLI_GROUP("options:", whois_rows, 0),
    SC_TOOL_GROUPS(sc_tool_timeout2_rows, whois_opts, t),
    CLI_TEXT("\n"
             "exit status: 0 devices found, 1 failure, 2 usage, 3 bad profile/certificates,\n"
             "             4 hub unreachable or no device answered\n"
             "\n"
             "example:\n"
             "  bacsc whois --hub wss://127.0.0.1:4443 --cert node.pem --key node.key --ca ca.pem\n"),
    CLI_END};

static const cli_spec whois_spec = {PROG, whois_help, .col = SC_TOOL_HELP_COL, .short_col = true};

int bacsc_cmd_whois(int argc, char **argv);
int bacsc_cmd_whois(int argc, char **argv)
{
    sc_tool t;
    sc_tool_init(&t, PROG, 2.0);
    struct whois_state ws = {0};
    whois_opts o = {.t = &t, .low = ULONG_MAX, .high = ULONG_MAX};
    int rc = cli_parse(&whois_spec, &o, &argc, argv);
    if (rc >= 0)
        return rc;
    if (cli_extra_args(PROG, argc, argv, 0))
        return EXIT_USAGE;
    bool has_low = o.low != ULONG_MAX, has_high = o.high != ULONG_MAX;
    ws.w.low = (uint32_t)o.low;
    ws.w.high = (uint32_t)o.high;
    if (has_low != has_high || (has_low && ws.w.low > ws.w.high)) {
        cli_error(PROG, "--low and --high go together, with low <= high");
        return EXIT_USAGE;
    }
    ws.w.has_range = has_low;
    if (o.global)
        t.dnet = 65535;
    if ((rc = sc_tool_prepare(&t)) != 0) {
        sc_tool_cleanup(&t);
        return rc;
    }
    t.user = &ws;
    t.ready = ready;
    t.on_deadline = done;
    rc = sc_tool_run(&t);
    sc_tool_cleanup(&t);
    return rc;
}
