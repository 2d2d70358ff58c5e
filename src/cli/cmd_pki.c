/*
 * cmd_pki.c — `bacsc pki`: certificate helpers that need no CA store.
 *
 *   bacsc pki demo --out DIR [--nodes N]   a throw-away test PKI (see docs/ca.md)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "cli.h"

extern const char bacsc_cmd_pki_summary[];
int bacsc_cmd_pki(int argc, char **argv);

const char bacsc_cmd_pki_summary[] = "test PKI and certificate helpers (pki demo)";

static void demo_usage(FILE *out)
{
    fprintf(out,
            "usage: bacsc pki demo --out DIR [--nodes N] [--json]\n\n"
            "Create a throw-away test PKI in DIR: a CA (ca.pem, ca.key), a hub\n"
            "certificate (hub.pem, hub.key) and N node certificates (node1.pem,\n"
            "node1.key, ...; default N=2). EC P-256 keys, mode 0600. Every\n"
            "operational certificate carries SANs urn:uuid:<random>, DNS localhost\n"
            "and IP 127.0.0.1; uuids.txt lists \"name uuid\" per line.\n"
            "Not for production: the CA key is unencrypted.\n\n"
            "options:\n"
            "  --out DIR        directory to write (created if missing)\n"
            "  --nodes N        number of node certificates (0..10000, default 2)\n"
            "  --json           print the file list as JSON\n"
            "  --log-level L    error|warn|info|debug|trace\n");
}

static int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"nodes", required_argument, NULL, 'n'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"log-level", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    long nodes = 2;
    bool json = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:n:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': {
            char *end;
            nodes = strtol(optarg, &end, 10);
            if (*end || nodes < 0 || nodes > 10000) {
                cli_error("pki demo", "--nodes must be 0..10000, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'j': json = true; break;
        case 'L':
            if (!cli_set_log_level("pki demo", optarg))
                return EXIT_USAGE;
            break;
        case 'h': demo_usage(stdout); return EXIT_OK;
        default: return cli_bad_option("pki demo", argc, argv);
        }
    }
    if (!out || optind != argc) {
        cli_error("pki demo", "%s", !out ? "--out DIR is required" : "unexpected argument");
        return EXIT_USAGE;
    }
    char err[512] = "";
    int rc = bacsc_pki_demo(out, (unsigned)nodes, err, sizeof err);
    if (rc != BACSC_OK) {
        cli_error("pki demo", "%s", err[0] ? err : bacsc_strerror(rc));
        return EXIT_FAIL;
    }
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "dir", json_string(out));
        json_object_set_new(o, "ca", json_string("ca.pem"));
        json_t *arr = json_array();
        json_array_append_new(arr, json_string("hub"));
        for (long i = 1; i <= nodes; i++) {
            char n[32];
            snprintf(n, sizeof n, "node%ld", i);
            json_array_append_new(arr, json_string(n));
        }
        json_object_set_new(o, "certificates", arr);
        cli_print_json(o);
    } else {
        printf("demo PKI written to %s: ca.pem, hub.pem/hub.key", out);
        if (nodes > 0)
            printf(", node1..node%ld.pem/.key", nodes);
        printf(", uuids.txt\n");
    }
    return EXIT_OK;
}

static const cli_subcommand pki_subs[] = {
    {"demo", cmd_demo, "create a test PKI: CA, hub and node certificates"},
    {NULL, NULL, NULL}};

int bacsc_cmd_pki(int argc, char **argv)
{
    return cli_dispatch("pki", pki_subs, argc, argv);
}
