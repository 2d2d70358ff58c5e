/*
 * cmd_pki.c — `bacsc pki`: certificate helpers that need no CA store.
 *
 *   bacsc pki demo --out DIR [--nodes N]   a throw-away test PKI (see docs/ca.md)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "cli.h"
#include "cli_opt.h"

extern const char bacsc_cmd_pki_summary[];
int bacsc_cmd_pki(int argc, char **argv);

const char bacsc_cmd_pki_summary[] = "test PKI and certificate helpers (pki demo)";

typedef struct demo_opts {
    const char *out;
    long nodes;
    bool json;
} demo_opts;

static const cli_opt demo_rows[] = {
    CLI_STR("out", 'o', "DIR", demo_opts, out, "directory to write (created if missing)"),
    CLI_LONG("nodes", 'n', "N", demo_opts, nodes, 0, 10000,
             "number of node certificates (0..10000, default 2)"),
    CLI_FLAG("json", 'j', demo_opts, json, "print the file list as JSON"),
    CLI_LOGLEVEL("log-level", 0, "L", "error|warn|info|debug|trace"),
    {.name = "help", .shortc = 'h', .kind = CLI_K_HELP, .flags = CLI_UNLISTED},
    CLI_END};

static const cli_part demo_help[] = {
    CLI_TEXT("usage: bacsc pki demo --out DIR [--nodes N] [--json]\n\n"
             "Create a throw-away test PKI in DIR: a CA (ca.pem, ca.key), a hub\n"
             "certificate (hub.pem, hub.key) and N node certificates (node1.pem,\n"
             "node1.key, ...; default N=2). EC P-256 keys, mode 0600. Every\n"
             "operational certificate carries SANs urn:uuid:<random>, DNS localhost\n"
             "and IP 127.0.0.1; uuids.txt lists \"name uuid\" per line.\n"
             "Not for production: the CA key is unencrypted.\n\n"),
    CLI_GROUP("options:", demo_rows, 0),
    CLI_END};

static const cli_spec demo_spec = {"pki demo", demo_help, .col = 19};

static int cmd_demo(int argc, char **argv)
{
    demo_opts d = {.nodes = 2};
    int prc = cli_parse(&demo_spec, &d, &argc, argv);
    if (prc >= 0)
        return prc;
    const char *out = d.out;
    long nodes = d.nodes;
    bool json = d.json;
    if (cli_extra_args("pki demo", argc, argv, 0))
        return EXIT_USAGE;
    if (!out) {
        cli_error("pki demo", "--out DIR is required");
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
