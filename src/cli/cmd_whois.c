/* cmd_whois.c — `bacsc whois`: find BACnet devices on a BACnet/SC network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/datalink.h"
#include "bacsc/services.h"
#include "cli.h"
#include "sc_tool.h"

const char bacsc_cmd_whois_summary[] = "find BACnet devices over BACnet/SC (Who-Is / I-Am)";

#define PROG "whois"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bacsc whois [--low N --high N] [--timeout S] [--json] CONNECTION...\n"
            "\n"
            "Join the BACnet/SC network as a node, broadcast a Who-Is and list the\n"
            "devices that answer with I-Am during --timeout seconds.\n"
            "\n"
            "options:\n"
            "      --low N, --high N     only instances N..N (both or neither)\n" SC_TOOL_OPTIONS_HELP
            "\n"
            "exit status: 0 devices found, 1 failure, 2 usage, 3 bad profile/certificates,\n"
            "             4 hub unreachable or no device answered\n"
            "\n"
            "example:\n"
            "  bacsc whois --hub wss://127.0.0.1:4443 --cert node.pem --key node.key --ca ca.pem\n",
            "2");
}

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
int bacsc_cmd_whois(int argc, char **argv)
{
    enum { OPT_LOW = 1, OPT_HIGH };
    static const struct option longopts[] = {
        {"low", required_argument, NULL, OPT_LOW},
        {"high", required_argument, NULL, OPT_HIGH},
        SC_TOOL_LONGOPTS,
        {NULL, 0, NULL, 0}};
    sc_tool t;
    sc_tool_init(&t, PROG, 2.0);
    struct whois_state ws = {0};
    bool has_low = false, has_high = false;
    unsigned long ul;
    int opt, rc;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        if (opt == 'h' || opt == SC_OPT_HELP) {
            usage(stdout);
            return EXIT_OK;
        }
        if (opt == 'j')
            opt = SC_OPT_JSON;
        if (opt == OPT_LOW || opt == OPT_HIGH) {
            if (sc_parse_ulong(PROG, opt == OPT_LOW ? "--low" : "--high", optarg, 0, 4194303, &ul))
                return EXIT_USAGE;
            if (opt == OPT_LOW) {
                ws.w.low = (uint32_t)ul;
                has_low = true;
            } else {
                ws.w.high = (uint32_t)ul;
                has_high = true;
            }
            continue;
        }
        int r = sc_tool_opt(&t, opt, optarg);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0) {
            cli_bad_option(PROG, argc, argv);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error(PROG, "unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (has_low != has_high || (has_low && ws.w.low > ws.w.high)) {
        cli_error(PROG, "--low and --high go together, with low <= high");
        return EXIT_USAGE;
    }
    ws.w.has_range = has_low;
    if ((rc = sc_tool_prepare(&t, argc, argv)) != 0) {
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
