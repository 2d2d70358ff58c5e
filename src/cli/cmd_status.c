/*
 * cmd_status.c — `bacsc status`: ask a running `bacsc hub` / `bacsc device`
 * for its status (SIGUSR1 → it rewrites its --status-file) and print it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "sc_cli.h"

const char bacsc_cmd_status_summary[] = "show the connected peers of a running hub or device";

#define PROG "status"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bacsc status --status-file FILE [--pid PID] [--timeout S] [--json]\n"
            "\n"
            "Print the status of a running `bacsc hub` or `bacsc device` that was started\n"
            "with --status-file FILE: connected peers (VMAC, UUID, address, since) and\n"
            "counters for a hub; hub connector state and hub connection status for a\n"
            "device. With --pid the daemon is first sent SIGUSR1 and the file is read\n"
            "once it has been rewritten (else the file is printed as it is).\n"
            "\n"
            "options:\n"
            "  -f, --status-file FILE  the daemon's --status-file\n"
            "  -p, --pid PID           signal this daemon for a fresh status first\n"
            "      --timeout S         wait at most S seconds for the rewrite (default 3)\n"
            "  -j, --json              print the JSON document as it is\n"
            "  -h, --help              this text\n"
            "\n"
            "exit status: 0 printed, 1 no fresh status (daemon gone or file not written),\n"
            "             2 usage, 3 the file is not a status document\n"
            "\n"
            "example:\n"
            "  bacsc hub --listen 0.0.0.0:4443 ... --status-file /run/bacsc-hub.json &\n"
            "  bacsc status --status-file /run/bacsc-hub.json --pid $!\n");
}

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
    static const struct option longopts[] = {{"status-file", required_argument, NULL, 'f'},
                                             {"pid", required_argument, NULL, 'p'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *file = NULL;
    long pid = 0;
    bool json = false;
    double timeout = 3;
    unsigned long ul;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "f:p:jh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f': file = optarg; break;
        case 'p':
            if (sc_parse_ulong(PROG, "--pid", optarg, 1, 4194304, &ul))
                return EXIT_USAGE;
            pid = (long)ul;
            break;
        case 't':
            if (sc_parse_seconds(PROG, "--timeout", optarg, &timeout))
                return EXIT_USAGE;
            break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cli_bad_option(PROG, argc, argv);
        }
    }
    if (!file || optind != argc) {
        cli_error(PROG, "--status-file FILE is required");
        return EXIT_USAGE;
    }
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
