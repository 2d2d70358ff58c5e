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
    for (size_t i = 0; i < n; i++) {
        char mac[BACSC_ADDRESS_STRLEN];
        bacsc_address_format(&v[i]->address, BACSC_DATALINK_SC, mac, sizeof mac);
        if (arr) {
            json_t *d = json_object();
            json_object_set_new(d, "instance", json_integer(v[i]->instance));
            json_object_set_new(d, "vmac", json_string(mac));
            json_object_set_new(d, "max_apdu", json_integer(v[i]->max_apdu));
            json_object_set_new(d, "segmentation", json_integer(v[i]->segmentation));
            json_object_set_new(d, "vendor_id", json_integer(v[i]->vendor_id));
            json_array_append_new(arr, d);
        } else {
            const char *seg = bacsc_segmentation_name(v[i]->segmentation);
            printf("device %-8u vmac %s  max-apdu %u  segmentation %s  vendor %u\n",
                   v[i]->instance, mac, v[i]->max_apdu, seg ? seg : "?", v[i]->vendor_id);
        }
    }
    if (arr)
        cli_print_json(arr);
    else if (n == 0)
        fprintf(stderr, "bacsc whois: no device answered within %.1f s\n", t->o.timeout);
    fflush(stdout);
    free(v);
    sc_tool_finish(t, n ? EXIT_OK : EXIT_UNAVAILABLE);
}

static void ready(sc_tool *t)
{
    struct whois_state *ws = t->user;
    bacsc_client_whois(t->cl, NULL, &ws->w, sc_tool_now(t));
}

int bacsc_cmd_whois(int argc, char **argv);
typedef struct whois_opts {
    sc_tool *t;
    unsigned long low, high;
} whois_opts;

static const cli_opt whois_rows[] = {
    {.name = "low", .arg = "N", .kind = CLI_K_ULONG, .off = offsetof(whois_opts, low), .min = 0,
     .max = 4194303, .label = "--low N, --high N", .help = "only instances N..N (both or neither)"},
    {.name = "high", .arg = "N", .kind = CLI_K_ULONG, .off = offsetof(whois_opts, high), .min = 0,
     .max = 4194303, .flags = CLI_UNLISTED},
    CLI_END};

static const cli_part whois_help[] = {
    CLI_TEXT("usage: bacsc whois [--low N --high N] [--timeout S] [--json] CONNECTION...\n"
             "\n"
             "Join the BACnet/SC network as a node, broadcast a Who-Is and list the\n"
             "devices that answer with I-Am during --timeout seconds.\n"
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
    if (argc != 1) {
        cli_error(PROG, "unexpected argument '%s'", argv[1]);
        return EXIT_USAGE;
    }
    bool has_low = o.low != ULONG_MAX, has_high = o.high != ULONG_MAX;
    ws.w.low = (uint32_t)o.low;
    ws.w.high = (uint32_t)o.high;
    if (has_low != has_high || (has_low && ws.w.low > ws.w.high)) {
        cli_error(PROG, "--low and --high go together, with low <= high");
        return EXIT_USAGE;
    }
    ws.w.has_range = has_low;
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
