/*
 * cmd_status.c — `bacsc status`: ask a running `bacsc hub` / `bacsc device`
 * for its status (SIGUSR1 → it rewrites its --status-file) and print it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_opt.h"
#include "sc_cli.h"

const char bacsc_cmd_status_summary[] = "show the connected peers of a running hub or device";

#define PROG "status"

typedef struct status_opts {
    const char *file;
    long pid;
    double timeout;
    bool json;
} status_opts;

static const cli_opt status_rows[] = {
    CLI_STR("status-file", 'f', "FILE", status_opts, file, "the daemon's --status-file"),
    CLI_LONG("pid", 'p', "PID", status_opts, pid, 1, 4194304,
             "signal this daemon for a fresh status first"),
    CLI_SECONDS("timeout", 0, "S", status_opts, timeout,
                "wait at most S seconds for the rewrite (default 3)"),
    CLI_FLAG("json", 'j', status_opts, json, "print the JSON document as it is"),
    CLI_HELP("help", 'h', "this text"),
    CLI_END};

static const cli_part status_help[] = {
    CLI_TEXT("usage: bacsc status --status-file FILE [--pid PID] [--timeout S] [--json]\n"
             "\n"
             "Print the status of a running `bacsc hub` or `bacsc device` that was started\n"
             "with --status-file FILE: connected peers (VMAC, UUID, address, since) and\n"
             "counters for a hub; hub connector state and hub connection status for a\n"
             "device. With --pid the daemon is first sent SIGUSR1 and the file is read\n"
             "once it has been rewritten (else the file is printed as it is).\n"
             "\n"),
    CLI_GROUP("options:", status_rows, 0),
    CLI_TEXT("\n"
             "exit status: 0 printed, 1 no fresh status (daemon gone or file not written),\n"
             "             2 usage, 3 the file is not a status document\n"
             "\n"
             "example:\n"
             "  bacsc hub --listen 0.0.0.0:4443 ... --status-file /run/bacsc-hub.json &\n"
             "  bacsc status --status-file /run/bacsc-hub.json --pid $!\n"),
    CLI_END};

static const cli_spec status_spec = {PROG, status_help, .col = 26, .short_col = true};

static int64_t mtime_ns(const char *path, ino_t *ino)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    *ino = st.st_ino;
    return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

static void print_peers(json_t *hub)
{
    json_t *peers = json_object_get(hub, "peers");
    printf("  %zu node(s) connected\n", (size_t)json_integer_value(json_object_get(hub, "connected")));
    printf("  %-17s  %-36s  %-21s  %s\n", "VMAC", "UUID", "ADDRESS", "SINCE");
    size_t i;
    json_t *p;
    json_array_foreach(peers, i, p) {
        if (!json_is_true(json_object_get(p, "connected"))) {
            printf("  %-17s  %-36s  %-21s  %s\n", "-", "(awaiting Connect-Request)",
                   json_string_value(json_object_get(p, "address")), "-");
            continue;
        }
        printf("  %-17s  %-36s  %-21s  %s\n", json_string_value(json_object_get(p, "vmac")),
               json_string_value(json_object_get(p, "uuid")),
               json_string_value(json_object_get(p, "address")),
               json_string_value(json_object_get(p, "since")));
    }
}

static void print_conn(const char *label, json_t *c)
{
    if (!json_is_object(c))
        return;
    printf("    %-8s %s  %s", label, json_string_value(json_object_get(c, "uri")),
           json_string_value(json_object_get(c, "state_name")));
    json_t *e = json_object_get(c, "error_code");
    if (e)
        printf("  (last error %lld %s)", (long long)json_integer_value(e),
               json_string_value(json_object_get(c, "error")));
    printf("\n");
}

int bacsc_cmd_status(int argc, char **argv);
int bacsc_cmd_status(int argc, char **argv)
{
    status_opts o = {.timeout = 3};
    int rc = cli_parse(&status_spec, &o, &argc, argv);
    if (rc >= 0)
        return rc;
    if (cli_extra_args(PROG, argc, argv, 0))
        return EXIT_USAGE;
    if (!o.file) {
        cli_error(PROG, "--status-file FILE is required");
        return EXIT_USAGE;
    }
    const char *file = o.file;
    long pid = o.pid;
    double timeout = o.timeout;
    bool json = o.json;
    if (pid) {
        ino_t ino0 = 0, ino = 0;
        int64_t m0 = mtime_ns(file, &ino0);
        if (kill((pid_t)pid, SIGUSR1) != 0) {
            cli_error(PROG, "cannot signal process %ld: %s", pid, strerror(errno));
            return EXIT_FAIL;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        int64_t m;
        int waited = 0;
        while ((m = mtime_ns(file, &ino)) == m0 && ino == ino0) {
            if (waited++ > timeout * 100) {
                cli_error(PROG, "%s was not rewritten within %.1f s", file, timeout);
                return EXIT_FAIL;
            }
            nanosleep(&ts, NULL);
        }
    }
    json_error_t je;
    json_t *doc = json_load_file(file, 0, &je);
    if (!doc || !json_is_object(doc)) {
        cli_error(PROG, "%s: not a status document (%s)", file, doc ? "not an object" : je.text);
        json_decref(doc);
        return EXIT_DATAERR;
    }
    if (json) {
        cli_print_json(doc);
        return EXIT_OK;
    }
    const char *role = json_string_value(json_object_get(doc, "role"));
    printf("%s pid %lld\n", role ? role : "?", (long long)json_integer_value(json_object_get(doc, "pid")));
    json_t *devs = json_object_get(doc, "devices");
    size_t i;
    json_t *d;
    json_array_foreach(devs, i, d) {
        json_t *n = json_object_get(d, "node");
        if (!json_is_object(n)) { /* BACnet/SC not running (a commissionable device) */
            json_t *bip = json_object_get(d, "bip");
            printf("  device %lld  uuid %s  mode %s  BACnet/IP %s\n",
                   (long long)json_integer_value(json_object_get(d, "instance")),
                   json_string_value(json_object_get(d, "uuid")),
                   json_is_string(json_object_get(d, "mode"))
                       ? json_string_value(json_object_get(d, "mode"))
                       : "?",
                   json_is_string(bip) ? json_string_value(bip) : "off");
            continue;
        }
        printf("  device %lld  uuid %s  vmac %s  %s%s%s\n",
               (long long)json_integer_value(json_object_get(d, "instance")),
               json_string_value(json_object_get(d, "uuid")),
               json_string_value(json_object_get(n, "vmac")),
               json_string_value(json_object_get(n, "hub_connector_state_name")),
               json_is_string(json_object_get(n, "hub_address")) ? " via " : "",
               json_is_string(json_object_get(n, "hub_address"))
                   ? json_string_value(json_object_get(n, "hub_address"))
                   : "");
        print_conn("primary", json_object_get(n, "primary"));
        print_conn("failover", json_object_get(n, "failover"));
    }
    json_t *hub = json_object_get(doc, "hub");
    if (json_is_object(hub)) {
        printf("hub function (port %lld):\n",
               (long long)json_integer_value(json_object_get(doc, json_object_get(doc, "port")
                                                                       ? "port"
                                                                       : "hub_port")));
        print_peers(hub);
    }
    json_decref(doc);
    return EXIT_OK;
}
