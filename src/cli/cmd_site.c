/*
 * cmd_site.c — `bacsc site`: commission a site over BACnet (docs/site.md).
 * The site database and the job engine are in the library (bacsc/site.h);
 * this file parses options, wires the engine to BACnet/IP (bip_link.h on
 * the event loop), shows progress and prints results.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bacsc/bip_link.h"
#include "bacsc/cari.h"
#include "bacsc/client.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/loop.h"
#include "bacsc/pki.h"
#include "bacsc/sc_node.h"
#include "bacsc/site.h"
#include "bacsc/tls.h"
#include "cli.h"
#include "cli_opt.h"
#include "sc_cli.h"
#include "site_cli.h"
#include "site_revoke.h"

extern const char bacsc_cmd_site_summary[];
int bacsc_cmd_site(int argc, char **argv);

const char bacsc_cmd_site_summary[] =
    "commission a site: discover devices, request and distribute certificates, switch to SC";


/* ---- options ------------------------------------------------------------------ */


static int set_password(const char *prog, const char *arg, void *target)
{
    if (strlen(arg) > 20) {
        cli_error(prog, "--password: at most 20 characters");
        return -1;
    }
    *(const char **)target = arg;
    return 0;
}

static int read_password_file(const char *prog, const char *arg, void *target)
{
    static char buf[32];
    FILE *f = fopen(arg, "r");
    if (!f) {
        cli_error(prog, "cannot read %s: %s", arg, strerror(errno));
        return -1;
    }
    bool ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    buf[strcspn(buf, "\r\n")] = 0;
    if (!ok || !buf[0] || strlen(buf) > 20) {
        cli_error(prog, "--password-file: %s does not start with a password of 1..20 characters",
                  arg);
        return -1;
    }
    *(const char **)target = buf;
    return 0;
}

/* shared groups */
const cli_opt site_db_rows[] = {
    CLI_STR("db", 0, "FILE", opts, db, "site database (default $BACSC_SITE_DB or ./site.db)"),
    CLI_END};
const cli_opt site_out_rows[] = {
    CLI_FLAG("json", 0, opts, json, "print the result as JSON"),
    CLI_LOGLEVEL("log-level", 0, "L", "error|warn|info|debug|trace"),
    CLI_HELP("help", 'h', "this text"),
    CLI_END};
const cli_opt site_quiet_rows[] = {
    CLI_FLAG("quiet", 'q', opts, quiet, "no progress line on stderr"),
    CLI_END};
const cli_opt site_bip_rows[] = {
    CLI_STR("bip-local", 0, "ADDR:PORT", opts, bip_local,
            "local UDP address (default 0.0.0.0:47808, where\n"
            "devices broadcast their I-Am answers)"),
    CLI_UINT("timeout", 0, "MS", opts, timeout_ms, 1, 600000, "per request (3000 ms)"),
    CLI_UINT("retries", 0, "N", opts, retries, 0, 10, "per request (3)"),
    CLI_UINT("concurrency", 0, "N", opts, concurrency, 1, BACSC_SITE_CONCURRENCY_MAX,
             "devices worked on at a time (32)"),
    CLI_STR("broadcast", 0, "ADDR:PORT", opts, broadcast,
            "where a Who-Is broadcast goes (default the local\n"
            "broadcast address, port 47808); jobs send one for a\n"
            "device that no longer answers at its address"),
    CLI_UINT("broadcast-count", 0, "N", opts, broadcast_count, 0, 65535,
             "emulate a broadcast on one host: unicast copies to N\n"
             "consecutive ports from the broadcast port"),
    CLI_END};
const cli_opt site_sc_rows[] = {
    CLI_STR("hub", 0, "URI", opts, hub, "primary hub, wss://HOST:PORT[/PATH]"),
    CLI_STR("failover", 0, "URI", opts, sc_failover, "failover hub"),
    CLI_STR("cert", 0, "F", opts, cert, "this tool's operational certificate (PEM)"),
    CLI_STR("key", 0, "F", opts, key, "its private key (PEM)"),
    CLI_STRS("ca", 0, "F", opts, sc_ca, nsc_ca, "issuer (CA) certificate; twice for rollover"),
    CLI_END};
/* --password and --password-file: the group of the job verbs, and rows of import's table. */
#define SITE_ROWS_PASSWORD                                                                         \
    CLI_CALL("password", 0, "PW", opts, password, set_password,                                    \
             "ReinitializeDevice password of the devices (1..20 characters)"),                     \
        CLI_CALL("password-file", 0, "F", opts, password, read_password_file,                      \
                 "the first line of F: keeps it out of the process list")
const cli_opt site_password_rows[] = {SITE_ROWS_PASSWORD, CLI_END};
static const cli_opt all_rows[] = {
    CLI_FLAG("all", 0, opts, all, "every device in the site database"),
    CLI_END};

/* Format a Unix time t (UTC) into buf with strftime format fmt; "-" when t <= 0. */
static char *fmt_utc(int64_t t, const char *fmt, char *buf, size_t cap)
{
    if (t <= 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, fmt, &tm);
    return buf;
}

static char *fmt_time(int64_t t, char *buf, size_t cap)
{
    return fmt_utc(t, "%Y-%m-%d", buf, cap);
}

static char *fmt_datetime(int64_t t, char *buf, size_t cap)
{
    return fmt_utc(t, "%Y-%m-%dT%H:%M:%SZ", buf, cap);
}

/* ---- init ------------------------------------------------------------------------------ */

static const cli_opt init_rows[] = {
    CLI_STR("name", 0, "NAME", opts, name, "site name (required the first time)"),
    CLI_STR("ca", 0, "CA_CERT", opts, ca,
            "site CA certificate, PEM or DER (required the first\ntime)"),
    CLI_STR("domain", 0, "D", opts, domain, "domain devices put in their CSR common names"),
    CLI_STR("primary-hub", 0, "URI", opts, primary,
            "primary hub URI written to the devices,\nwss://HOST:PORT[/PATH]"),
    CLI_STR("failover-hub", 0, "URI", opts, failover, "failover hub URI written to the devices"),
    CLI_FLAG("force", 0, opts, init_force,
             "on a rerun: replace the site CA by another one"),
    CLI_END};

static const cli_part init_help[] = {
    CLI_TEXT("usage: bacsc site init [--db FILE] --name NAME --ca CA_CERT [--domain D]\n"
             "                       [--primary-hub URI] [--failover-hub URI] [--force] [--json]\n"
             "\n"
             "Create the site database (or change its settings): the site name, the site\n"
             "CA certificate (PEM or DER) every device must trust and hold a certificate\n"
             "from, the domain devices put in their CSR common name, and the hub URIs\n"
             "written to devices before they switch to BACnet/SC.\n"
             "A rerun changes only the settings it is given (--domain \"\" clears one).\n"
             "Replacing the site CA turns every device holding a certificate of the old\n"
             "CA signed-by-another-CA: it is refused without --force (a planned change\n"
             "of CA is `site rollover`). `site show` prints the settings.\n"
             "\n"),
    SITE_GROUPS_LOCAL(init_rows),
    CLI_TEXT("Exit status: 0 ok, 2 usage or a bad hub URI, 3 the CA certificate is unusable\n"
             "or would change without --force, 1 other.\n"),
    CLI_END};
static const cli_spec init_spec = {"site init", init_help, .col = SITE_HELP_COL};

/* --ca checked (one line, exit 3) and converted to DER (OPENSSL_free). Returns
 * -1 to go on, else an exit code. */
static int init_read_ca(const opts *o, unsigned char **der, size_t *len)
{
    char why[512];
    X509 *x = NULL;
    int crc = bacsc_pki_check_cert_file(o->ca, true, time(NULL), &x, why, sizeof why);
    if (crc != BACSC_OK) {
        cli_error(o->prog, "--ca %s", why);
        return crc == BACSC_ERR_IO ? EXIT_FAIL : EXIT_DATAERR;
    }
    *der = NULL;
    int n = i2d_X509(x, der);
    X509_free(x);
    if (n <= 0) {
        cli_error(o->prog, "--ca %s: cannot encode the certificate", o->ca);
        return EXIT_FAIL;
    }
    *len = (size_t)n;
    return -1;
}

/* A rerun that would replace the site CA: refused without --force (exit 3),
 * a warning with it. Returns -1 to go on, else an exit code. */
static int init_ca_change(const opts *o, const bacsc_site_settings *old, const unsigned char *der,
                          size_t len)
{
    if (old->ca_len == len && memcmp(old->ca_der, der, len) == 0)
        return -1;
    bacsc_cert_info ci;
    if (bacsc_pki_cert_inspect_der(der, len, &ci) != BACSC_OK)
        snprintf(ci.subject, sizeof ci.subject, "%s", o->ca);
    if (!o->init_force) {
        cli_error(o->prog, "--ca %s would replace the site CA \"%s\" by \"%s\": every device "
                           "holding a certificate of the old CA would become signed-by-another-CA; "
                           "rerun with --force to do it (a planned change is `site rollover`)",
                  o->ca, old->ca_subject, ci.subject);
        return EXIT_DATAERR;
    }
    fprintf(stderr, "%s: warning: the site CA changes from \"%s\" to \"%s\"; devices holding "
                    "certificates of the old CA are now signed-by-another-CA\n",
            o->prog, old->ca_subject, ci.subject);
    return -1;
}

static void print_settings(const opts *o, const bacsc_site_settings *st, bool full)
{
    char fp[BACSC_PKI_FP_HEX_LEN];
    bacsc_pki_hex(st->ca_fp, sizeof st->ca_fp, fp);
    if (o->json) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "db", o->db, "name", st->name, "ca",
                              st->ca_subject, "domain", st->domain, "primary_hub",
                              st->primary_hub, "failover_hub", st->failover_hub);
        if (full)
            json_object_set_new(j, "ca_sha256", json_string(fp));
        cli_print_json(j);
    } else if (full) {
        printf("site          %s\ndatabase      %s\nCA            %s\nCA SHA-256    %s\n"
               "domain        %s\nprimary hub   %s\nfailover hub  %s\n",
               st->name, o->db, st->ca_subject, fp, st->domain[0] ? st->domain : "(none)",
               st->primary_hub[0] ? st->primary_hub : "(none)",
               st->failover_hub[0] ? st->failover_hub : "(none)");
    } else {
        printf("site %s: CA %s%s%s%s%s (database %s)\n", st->name, st->ca_subject,
               st->domain[0] ? ", domain " : "", st->domain, st->primary_hub[0] ? ", hub " : "",
               st->primary_hub, o->db);
    }
}

/* Every URI given is a wss://HOST:PORT[/PATH] (exit 2 before anything is done). */
static bool init_check_uris(const opts *o)
{
    const char *uris[2] = {o->primary, o->failover};
    for (int i = 0; i < 2; i++) {
        char why[400];
        if (uris[i] && *uris[i] && bacsc_site_hub_uri_check(uris[i], why, sizeof why) != BACSC_OK) {
            cli_error(o->prog, "--%s-hub %s", i ? "failover" : "primary", why);
            return false;
        }
    }
    return true;
}

typedef struct init_ctx {
    unsigned char *ca; /* --ca as DER (OPENSSL_free) */
    size_t ca_len;
} init_ctx;

static int init_check(opts *o, void *ctx)
{
    init_ctx *c = ctx;
    bool exists = access(o->db, F_OK) == 0;
    if (o->npos) {
        cli_unexpected_arg(o->prog, o->pos[0], NULL);
        return EXIT_USAGE;
    }
    if (!exists && (!o->name || !o->ca)) {
        cli_error(o->prog, "--name and --ca are required to create the site; no other "
                           "arguments (see --help)");
        return EXIT_USAGE;
    }
    if (!init_check_uris(o))
        return EXIT_USAGE;
    return o->ca ? init_read_ca(o, &c->ca, &c->ca_len) : -1;
}
static const site_verb init_verb = {.spec = &init_spec, .check = init_check, .create = true};

static int cmd_init(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    init_ctx c = {0};
    int ex = site_cmd_begin(&o, &init_verb, argc, argv, &c, &s);
    unsigned char *ca = c.ca;
    size_t ca_len = c.ca_len;
    if (ex >= 0) {
        OPENSSL_free(ca);
        return ex;
    }
    bacsc_site_settings old;
    bool have = false;
    ex = EXIT_FAIL;
    int rc = bacsc_site_settings_get(s, &old);
    if (rc != BACSC_OK && (rc != BACSC_ERR_STATE || !o.name || !o.ca)) {
        cli_error(o.prog, "%s", rc == BACSC_ERR_STATE
                                    ? "--name and --ca are required to create the site"
                                    : bacsc_site_errmsg(s));
        ex = rc == BACSC_ERR_STATE ? EXIT_USAGE : EXIT_FAIL;
        goto out;
    }
    have = rc == BACSC_OK;
    if (have && ca && (ex = init_ca_change(&o, &old, ca, ca_len)) >= 0)
        goto out;
    rc = bacsc_site_settings_set(s, o.name ? o.name : old.name, ca ? ca : old.ca_der,
                                 ca ? ca_len : old.ca_len, o.domain ? o.domain : old.domain,
                                 o.primary ? o.primary : old.primary_hub,
                                 o.failover ? o.failover : old.failover_hub);
    if (rc != BACSC_OK) {
        ex = site_cmd_fail(s, &o, rc == BACSC_ERR_MALFORMED     ? EXIT_DATAERR
                              : rc == BACSC_ERR_INVALID_ARG ? EXIT_USAGE
                                                            : EXIT_FAIL);
        goto out;
    }
    bacsc_site_settings st;
    bacsc_site_settings_get(s, &st);
    print_settings(&o, &st, false);
    bacsc_site_settings_clear(&st);
    ex = EXIT_OK;
out:
    if (have)
        bacsc_site_settings_clear(&old);
    OPENSSL_free(ca);
    bacsc_site_close(s);
    return ex;
}

/* ---- show ------------------------------------------------------------------------------- */

static const cli_opt show_rows[] = {CLI_END};
static const cli_part show_help[] = {
    CLI_TEXT("usage: bacsc site show [--db FILE] [--json]\n"
             "\n"
             "Print the site settings `site init` keeps: name, site CA (subject and\n"
             "SHA-256 of its DER), domain and hub URIs.\n"
             "\n"),
    SITE_GROUPS_LOCAL(show_rows),
    CLI_TEXT("Exit status: 0 ok, 2 usage, 1 no site database or not initialised.\n"),
    CLI_END};
static const cli_spec show_spec = {"site show", show_help, .col = SITE_HELP_COL};
static const site_verb show_verb = {.spec = &show_spec};

static int cmd_show(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    int ex = site_cmd_begin(&o, &show_verb, argc, argv, NULL, &s);
    if (ex >= 0)
        return ex;
    bacsc_site_settings st;
    int rc = bacsc_site_settings_get(s, &st);
    if (rc == BACSC_OK)
        print_settings(&o, &st, true);
    else
        site_cmd_fail(s, &o, EXIT_FAIL);
    bacsc_site_settings_clear(&st);
    bacsc_site_close(s);
    return rc == BACSC_OK ? EXIT_OK : EXIT_FAIL;
}

/* ---- status ------------------------------------------------------------------------------ */

static const cli_opt status_rows[] = {
    CLI_STRSZ("filter", 0, "EXPR", opts, filters, nfilters,
              "cert=STATUS, mode=ip|dual|sc|unknown, name=GLOB, or a device\n"
              "list (1001-1010,1020); several filters must all match"),
    CLI_UINT("expiring-days", 0, "N", opts, expiring_days, 0, 36500,
             "certificates ending within N days are 'expiring' (30)"),
    CLI_END};

static const cli_part status_help[] = {
    CLI_TEXT("usage: bacsc site status [--db FILE] [--filter EXPR]... [--expiring-days N] [--json]\n"
             "\n"
             "One row per device: instance, name, UUID, communication mode, certificate\n"
             "status (none, csr-pending, valid, expiring, expired, signed-by-another-CA),\n"
             "expiry and issuer.\n"
             "\n"),
    SITE_GROUPS_LOCAL(status_rows),
    CLI_TEXT("Exit status: 0 ok (also when no device matches), 2 usage, 1 database error.\n"),
    CLI_END};
static const cli_spec status_spec = {"site status", status_help, .col = SITE_HELP_COL};

typedef struct status_ctx {
    const opts *o;
    bacsc_site_settings *st;
    int64_t now;
    json_t *arr;
    unsigned rows;
    int f_cert, f_mode;
    const char *f_name;
    bool has_sel;
    bacsc_site_selection sel;
    unsigned counts[6];
    bacsc_site_rollover ro;                /* a CA rollover in progress */
    bool rollover;
} status_ctx;

static int status_row(void *user, const bacsc_site_device *d)
{
    status_ctx *c = user;
    bacsc_site_cert_info ci;
    bacsc_site_cert_status(c->st, d, c->now, c->o->expiring_days, &ci);
    if (c->f_cert >= 0 && ci.status != c->f_cert)
        return 0;
    if (c->f_mode >= 0 && d->mode != c->f_mode)
        return 0;
    if (c->f_name && fnmatch(c->f_name, d->name, 0) != 0)
        return 0;
    if (c->has_sel && !bacsc_site_selection_has(&c->sel, d->instance))
        return 0;
    c->rows++;
    c->counts[ci.status]++;
    char exp[32], seen[32];
    if (c->o->json) {
        json_t *row = json_pack(
            "{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "instance", (json_int_t)d->instance,
            "name", d->name, "uuid", d->uuid, "address", d->address, "mode",
            bacsc_site_mode_name(d->mode), "cert_status", bacsc_site_cert_status_name(ci.status),
            "expires", fmt_datetime(ci.not_after, exp, sizeof exp), "issuer", ci.issuer,
            "site_ca", ci.site_ca, "last_seen", fmt_datetime(d->last_seen, seen, sizeof seen));
        if (d->vmac[0])
            json_object_set_new(row, "vmac", json_string(d->vmac));
        if (ci.serial[0])
            json_object_set_new(row, "serial", json_string(ci.serial));
        unsigned char fp[32];
        if (d->csr_der && bacsc_pki_csr_key_fingerprint(d->csr_der, d->csr_len, fp) == 0) {
            char hex[65];
            bacsc_pki_hex(fp, 32, hex);
            json_object_set_new(row, "csr_key_sha256", json_string(hex));
            json_object_set_new(row, "csr_request_id", json_string(d->csr_request_id));
        }
        if (c->rollover)
            json_object_set_new(row, "rollover_phase",
                                json_integer(bacsc_site_rollover_phase(&c->ro, d)));
        json_array_append_new(c->arr, row);
        return 0;
    }
    printf("%-8u %-20.20s %-36s %-7s %-20s %-10s %s", (unsigned)d->instance,
           d->name[0] ? d->name : "-", d->uuid[0] ? d->uuid : "-", bacsc_site_mode_name(d->mode),
           bacsc_site_cert_status_name(ci.status), fmt_time(ci.not_after, exp, sizeof exp),
           ci.issuer[0] ? ci.issuer : "-");
    if (c->rollover)
        printf("  [rollover phase %d]", bacsc_site_rollover_phase(&c->ro, d));
    printf("\n");
    return 0;
}

/* No operands; the --filter expressions into the status_ctx. */
static int status_check(opts *o, void *ctx)
{
    status_ctx *c = ctx;
    if (o->npos) {
        cli_unexpected_arg(o->prog, o->pos[0], "use --filter");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < o->nfilters; i++) {
        const char *f = o->filters[i];
        if (strncmp(f, "cert=", 5) == 0 || strncmp(f, "status=", 7) == 0) {
            const char *v = strchr(f, '=') + 1;
            if ((c->f_cert = bacsc_site_cert_status_parse(v)) < 0) {
                cli_error(o->prog, "unknown certificate status '%s' (none, csr-pending, valid, "
                                   "expiring, expired, signed-by-another-CA)", v);
                return EXIT_USAGE;
            }
        } else if (strncmp(f, "mode=", 5) == 0) {
            c->f_mode = strcmp(f + 5, "unknown") == 0 ? 0 : bacsc_site_mode_parse(f + 5);
            if (c->f_mode < 0) {
                cli_error(o->prog, "unknown mode '%s' (ip, dual, sc, unknown)", f + 5);
                return EXIT_USAGE;
            }
        } else if (strncmp(f, "name=", 5) == 0 && f[5]) {
            c->f_name = f + 5;
        } else if (*f && bacsc_site_selection_parse(f, &c->sel) == BACSC_OK) {
            c->has_sel = true;
        } else {
            cli_error(o->prog, "bad filter '%s' (cert=S, mode=M, name=GLOB or 1001-1010)", f);
            return EXIT_USAGE;
        }
    }
    return -1;
}
static const site_verb status_verb = {.spec = &status_spec, .check = status_check};

static int cmd_status(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    status_ctx c = {.o = &o, .f_cert = -1, .f_mode = -1};
    int ex = site_cmd_begin(&o, &status_verb, argc, argv, &c, &s);
    if (ex >= 0)
        return ex;
    bacsc_site_settings st;
    bool have = bacsc_site_settings_get(s, &st) == BACSC_OK;
    c.st = have ? &st : NULL;
    c.now = bacsc_site_now(s);
    c.rollover = bacsc_site_rollover_get(s, &c.ro) == BACSC_OK;
    if (o.json)
        c.arr = json_array();
    else
        printf("%-8s %-20s %-36s %-7s %-20s %-10s %s\n", "INSTANCE", "NAME", "UUID", "MODE",
               "CERTIFICATE", "EXPIRES", "ISSUER");
    int rc = bacsc_site_devices(s, status_row, &c);
    if (o.json) {
        json_t *counts = json_object();
        for (int i = 0; i < 6; i++)
            json_object_set_new(counts, bacsc_site_cert_status_name(i),
                                json_integer(c.counts[i]));
        cli_print_json(json_pack("{s:s,s:I,s:o,s:o}", "site", have ? st.name : "", "devices",
                                 (json_int_t)c.rows, "cert_status", counts, "rows", c.arr));
    } else {
        printf("%u devices", c.rows);
        for (int i = 0; i < 6; i++)
            if (c.counts[i])
                printf(", %u %s", c.counts[i], bacsc_site_cert_status_name(i));
        printf("\n");
    }
    if (have)
        bacsc_site_settings_clear(&st);
    bacsc_site_rollover_clear(&c.ro);
    if (rc < 0)
        site_cmd_fail(s, &o, EXIT_FAIL);
    bacsc_site_close(s);
    return rc < 0 ? EXIT_FAIL : EXIT_OK;
}

/* ---- discover ------------------------------------------------------------------------------ */

static const cli_opt discover_rows[] = {
    CLI_STRSZ("target", 0, "ADDR:PORT", opts, targets, ntargets,
              "unicast Who-Is to this device (repeatable); with targets\n"
              "and no --broadcast, no broadcast is sent"),
    CLI_STR("targets-file", 0, "F", opts, targets_file, "one ADDR:PORT per line ('#' comments)"),
    CLI_UINT("wait", 0, "MS", opts, wait_ms, 0, 600000, "how long to collect I-Am answers (2000)"),
    CLI_END};

static const cli_part discover_help[] = {
    CLI_TEXT("usage: bacsc site discover [--db FILE] [--bip-local ADDR:PORT] [--broadcast ADDR:PORT]\n"
             "                           [--broadcast-count N] [--target ADDR:PORT]...\n"
             "                           [--targets-file F] [--wait MS] [--timeout MS] [--retries N]\n"
             "                           [--concurrency N] [--json] [--quiet]\n"
             "\n"
             "Send Who-Is over BACnet/IP (broadcast, and unicast to each target), collect the\n"
             "I-Am answers for --wait MS (2000), then read every device's name, UUID, Network\n"
             "Ports, certificate files and hub URIs into the site database. With --hub (and\n"
             "--cert, --key, --ca) discovery runs over BACnet/SC instead: Who-Is through the\n"
             "hub, devices then addressed by VMAC.\n"
             "\n"),
    SITE_GROUPS_NET(discover_rows),
    CLI_TEXT("Exit status: 0 every device read, 5 some failed, 4 no device answered,\n"
             "2 usage, 1 other.\n"),
    CLI_END};
static const cli_spec discover_spec = {"site discover", discover_help, .col = SITE_HELP_COL};

static int load_targets(opts *o, char ***owned, size_t *nowned)
{
    *owned = NULL;
    *nowned = 0;
    if (!o->targets_file)
        return 0;
    FILE *f = strcmp(o->targets_file, "-") == 0 ? stdin : fopen(o->targets_file, "r");
    if (!f) {
        cli_error(o->prog, "cannot read %s: %s", o->targets_file, strerror(errno));
        return -1;
    }
    char line[256];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        p[strcspn(p, " \t\r\n#")] = 0;
        if (!*p)
            continue;
        if (o->ntargets >= MAX_TARGETS) {
            cli_error(o->prog, "%s: more than %d targets", o->targets_file, MAX_TARGETS);
            break;
        }
        if (*nowned == cap) {
            cap = cap ? cap * 2 : 64;
            char **n = realloc(*owned, cap * sizeof *n);
            if (!n)
                break;
            *owned = n;
        }
        (*owned)[(*nowned)++] = strdup(p);
        o->targets[o->ntargets++] = (*owned)[*nowned - 1];
    }
    if (f != stdin)
        fclose(f);
    return 0;
}

/* Nothing answered: one line saying where the Who-Is went, where answers were
 * listened for and what to check. Devices answer Who-Is with a BROADCAST I-Am
 * (to their own broadcast address and port), so a unicast --target that got
 * the Who-Is through still shows nothing when that port is not the tool's. */
static void discover_no_answer(const opts *o, bacsc_site_net *n)
{
    if (o->hub) {
        cli_error(o->prog, "no device answered the Who-Is sent through hub %s; check that the "
                           "devices are connected to this hub and that their certificates are "
                           "issued by the --ca given (--log-level debug shows the traffic)",
                  o->hub);
        return;
    }
    char sent[160], local[64];
    if (o->ntargets)
        snprintf(sent, sizeof sent, "sent to %s%s", o->targets[0],
                 o->ntargets > 1 ? " and the other targets" : "");
    else
        snprintf(sent, sizeof sent, "broadcast to %s",
                 o->broadcast ? o->broadcast : "255.255.255.255:47808");
    bacsc_bip_addr la;
    bacsc_bip_link_local(bacsc_site_net_bip_link(n), &la);
    bacsc_bip_addr_format(&la, local, sizeof local);
    cli_error(o->prog, "no device answered Who-Is %s; devices answer with a broadcast I-Am "
                       "to their broadcast address and port, and this tool listens on %s: check "
                       "that the devices' --bip-broadcast port is %u (or use --bip-local "
                       "ADDR:PORT with their broadcast port), the instance range and the "
                       "firewall (--log-level debug shows every datagram)",
              sent, local, (unsigned)la.port);
}

/* The targets read (--targets-file, freed by discover_free) and parsed. */
typedef struct discover_ctx {
    char **owned;
    size_t nowned;
    bacsc_bip_addr *taddr;
} discover_ctx;

static int discover_check(opts *o, void *ctx)
{
    discover_ctx *c = ctx;
    if (o->npos) {
        cli_unexpected_arg(o->prog, o->pos[0], NULL);
        return EXIT_USAGE;
    }
    if (load_targets(o, &c->owned, &c->nowned) != 0)
        return EXIT_FAIL;
    if (o->hub && o->ntargets) {
        cli_error(o->prog, "--target/--targets-file are BACnet/IP addresses; with --hub the "
                           "Who-Is goes to the whole BACnet/SC network");
        return EXIT_USAGE;
    }
    c->taddr = calloc(o->ntargets + 1, sizeof *c->taddr);
    for (size_t i = 0; i < o->ntargets; i++)
        if (bacsc_bip_addr_parse(o->targets[i], 47808, &c->taddr[i]) != BACSC_OK) {
            cli_error(o->prog, "bad target '%s' (A.B.C.D:PORT)", o->targets[i]);
            return EXIT_USAGE;
        }
    return -1;
}
static const site_verb discover_verb = {.spec = &discover_spec, .check = discover_check};

static void discover_free(discover_ctx *c)
{
    free(c->taddr);
    for (size_t i = 0; i < c->nowned; i++)
        free(c->owned[i]);
    free(c->owned);
}

static int cmd_discover(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    discover_ctx dc = {0};
    int ex = site_cmd_begin(&o, &discover_verb, argc, argv, &dc, &s);
    if (ex >= 0)
        goto out_targets;
    bacsc_bip_addr *taddr = dc.taddr;
    bacsc_site_net *n;
    if ((ex = site_net_open(&o, true, &n)) >= 0)
        goto out_db;
    bacsc_client *cl = bacsc_site_net_client(n);
    bacsc_loop *loop = bacsc_site_net_loop(n);
    ex = EXIT_FAIL;
    bacsc_whois w = {0};
    uint64_t now = bacsc_loop_update_time(loop);
    if (o.broadcast || o.ntargets == 0)
        bacsc_client_whois(cl, NULL, &w, now);
    /* Unicast Who-Is, paced a little so a thousand devices do not overrun
     * socket buffers; then wait for the answers. */
    uint64_t deadline = now + (uint64_t)o.wait_ms * 1000u;
    size_t sent = 0;
    while (now < deadline) {
        for (size_t k = 0; k < 64 && sent < o.ntargets; k++, sent++) {
            bacsc_address a = bacsc_bip_addr_to_address(&taddr[sent]);
            bacsc_client_whois(cl, &a, &w, now);
        }
        if (sent == o.ntargets && o.ntargets && !o.broadcast &&
            bacsc_client_device_count(cl) >= o.ntargets)
            break; /* every target answered */
        bacsc_loop_run_once(loop, sent < o.ntargets ? 2000 : 20000);
        now = bacsc_loop_update_time(loop);
    }
    size_t nd = bacsc_client_device_count(cl);
    if (!o.quiet && !o.json)
        fprintf(stderr, "bacsc site: %zu device%s answered Who-Is\n", nd, nd == 1 ? "" : "s");
    if (nd == 0) {
        discover_no_answer(&o, n);
        ex = EXIT_UNAVAILABLE;
        goto out_net;
    }
    bacsc_site_found *found = calloc(nd, sizeof *found);
    for (size_t i = 0; i < nd; i++) {
        const bacsc_client_device *d = bacsc_client_device_at(cl, i);
        found[i].instance = d->instance;
        found[i].address = d->address;
        found[i].kind = bacsc_site_net_io(n)->datalink;
    }
    int64_t job;
    int rc = bacsc_site_prepare_discover(s, found, nd, &job);
    free(found);
    if (rc != BACSC_OK) {
        site_cmd_fail(s, &o, EXIT_FAIL);
        goto out_net;
    }
    ex = site_run_and_report(s, &o, n, job, NULL);
out_net:
    bacsc_site_net_close(n);
out_db:
    bacsc_site_close(s);
out_targets:
    discover_free(&dc);
    return ex;
}

/* ---- request ------------------------------------------------------------------------------ */

/* The rows request and renew share, in their order: the selection, what a
 * device with a pending CSR does, and the request file written. */
#define REQUEST_ROW_ALL                                                                            \
    CLI_FLAG("all", 0, opts, all, "every device in the site database (else DEVICES:\n"              \
                                  "instances and ranges, 1001-1010,1020)")
#define REQUEST_ROWS_PENDING_CSR                                                                   \
    CLI_FLAG("overwrite", 0, opts, overwrite, "a device with a pending CSR makes a new one"),       \
        CLI_FLAG("keep-existing", 0, opts, keep, "a device keeps its pending CSR (the default)")
#define REQUEST_ROWS_OUT                                                                           \
    CLI_STR("out", 0, "REQ.zip", opts, out, "the CARI request to write (required)"),               \
        CLI_STR("sign-cert", 0, "F", opts, sign_cert,                                              \
                "sign the request with this certificate (PEM): the\n"                              \
                "CA then knows who submitted it (docs/ca.md)"),                                    \
        CLI_STR("sign-key", 0, "F", opts, sign_key, "the signing certificate's private key (PEM)")

static const cli_opt request_rows[] = {REQUEST_ROW_ALL, REQUEST_ROWS_PENDING_CSR, REQUEST_ROWS_OUT,
                                       CLI_END};

static const cli_part request_help[] = {
    CLI_TEXT("usage: bacsc site request [--db FILE] (DEVICES | --all) [--overwrite | --keep-existing]\n"
             "                          --out REQ.zip [--sign-cert F --sign-key F]\n"
             "                          [--password-file F] [network options] [--json] [--quiet]\n"
             "\n"
             "Each selected device generates a key pair and a CSR (Network Port Command\n"
             "generate-csr-file); the tool reads the CSRs (AtomicReadFile) and writes one CARI\n"
             "request with every pending CSR of the selection. A device that already has a\n"
             "pending CSR keeps it (--keep-existing, the default: counted as 'no action taken')\n"
             "or makes a new one (--overwrite). A killed run resumes with the next `request`;\n"
             "a run that ended partial is retried for the failed devices only. A device\n"
             "makes a new key only for a source that gave it its password.\n"
             "\n"),
    SITE_GROUPS_NET_PW(request_rows),
    CLI_TEXT("Exit status: 0 ok, 5 some devices failed (the request holds the others),\n"
             "1 every device failed, 4 no device reachable, 2 usage.\n"),
    CLI_END};
static const cli_spec request_spec = {"site request", request_help, .col = SITE_HELP_COL};

static const cli_opt renew_rows[] = {
    REQUEST_ROW_ALL,
    CLI_UINT("expiring-days", 0, "N", opts, renew_days, 1, 36500,
             "devices whose certificate expires within N days\n"
             "(the set `bacsc ca list --expiring N` lists)"),
    REQUEST_ROWS_PENDING_CSR,
    CLI_FLAG("same-key", 0, opts, same_key, "no new key (devices that cannot rotate): read the\n"
                                            "CSR the device holds for its current key"),
    REQUEST_ROWS_OUT,
    CLI_END};

static const cli_part renew_help[] = {
    CLI_TEXT("usage: bacsc site renew [--db FILE] (DEVICES | --all | --expiring-days N)\n"
             "                        [--overwrite | --keep-existing | --same-key] --out REQ.zip\n"
             "                        [--sign-cert F --sign-key F] [--password-file F]\n"
             "                        [network options] [--json] [--quiet]\n"
             "\n"
             "Renew the certificates of devices that hold one: each selected device makes a\n"
             "new key pair and CSR (generate-csr-file) and signs the CSR with its current key,\n"
             "so the CA accepts the new key for the device's UUID (docs/ca.md). The device\n"
             "keeps running on its current certificate until `bacsc site import` activates\n"
             "the new one; the old one is then revoked (see import --ca-dir, --keep-old).\n"
             "With --expiring-days only devices whose certificate expires within N days are\n"
             "selected (among DEVICES if given). With --same-key no device makes a new key:\n"
             "the CSR in its CSR file must be for the key it runs on (the CA accepts a\n"
             "same-key renewal). Killed runs resume; partial runs retry the failed devices\n"
             "(docs/lifecycle.md).\n"
             "\n"),
    SITE_GROUPS_NET_PW(renew_rows),
    CLI_TEXT("Exit status: 0 ok, 5 some devices failed (the request holds the others),\n"
             "1 every device failed, 3 no device selected, 4 no device reachable, 2 usage.\n"),
    CLI_END};
static const cli_spec renew_spec = {"site renew", renew_help, .col = SITE_HELP_COL};

/* DEVICES | --all, or for renew --expiring-days alone (every device). */
static bool request_selection(const opts *o, bacsc_site_selection *sel)
{
    if (o->renew_days && !o->all && !o->npos)
        return bacsc_site_selection_parse("all", sel) == BACSC_OK;
    return site_get_selection(o, o->npos ? o->pos[0] : NULL, sel);
}

/* --out and its companions; the selection into the bacsc_site_selection. */
static int request_check(opts *o, void *sel)
{
    if (!o->out) {
        cli_error(o->prog, "--out REQ.zip is required");
        return EXIT_USAGE;
    }
    if (o->overwrite + o->keep + o->same_key > 1) {
        cli_error(o->prog, "--overwrite, --keep-existing and --same-key exclude each other");
        return EXIT_USAGE;
    }
    if (o->npos > 1) {
        cli_unexpected_arg(o->prog, o->pos[1], NULL);
        return EXIT_USAGE;
    }
    if (!o->sign_cert != !o->sign_key) {
        cli_error(o->prog, "--sign-cert and --sign-key go together");
        return EXIT_USAGE;
    }
    const char *sf[2] = {o->sign_cert, o->sign_key};
    for (int i = 0; i < 2 && o->sign_cert; i++)
        if (access(sf[i], R_OK) != 0) {
            cli_error(o->prog, "cannot read %s: %s", sf[i], strerror(errno));
            return EXIT_FAIL;
        }
    return request_selection(o, sel) ? -1 : EXIT_USAGE;
}
static const site_verb request_verb = {.spec = &request_spec, .check = request_check};
static const site_verb renew_verb = {.spec = &renew_spec, .check = request_check};

/* request and renew: make CSRs, then write the CARI request. */
static int request_job(int argc, char **argv, bool renew)
{
    opts o;
    bacsc_site *s;
    bacsc_site_selection sel;
    int ex = site_cmd_begin(&o, renew ? &renew_verb : &request_verb, argc, argv, &sel, &s);
    if (ex >= 0)
        return ex;
    bacsc_site_settings st;
    if (bacsc_site_settings_get(s, &st) != BACSC_OK) {
        site_cmd_fail(s, &o, EXIT_FAIL);
        bacsc_site_close(s);
        return EXIT_FAIL;
    }
    bacsc_site_settings_clear(&st);
    bacsc_site_net *n;
    if ((ex = site_net_open(&o, false, &n)) >= 0) {
        bacsc_site_close(s);
        return ex;
    }
    int64_t job;
    int rule = o.overwrite  ? BACSC_SITE_CSR_OVERWRITE
               : o.same_key ? BACSC_SITE_CSR_SAME_KEY
                            : BACSC_SITE_CSR_KEEP;
    int rc = renew ? bacsc_site_prepare_renew(s, &sel, o.renew_days, rule, &job)
                   : bacsc_site_prepare_request(s, &sel, rule, &job);
    site_note_resumed(s, &o, job);
    if (rc != BACSC_OK) {
        ex = site_cmd_fail(s, &o, rc == BACSC_ERR_NOT_FOUND ? EXIT_DATAERR : EXIT_FAIL);
        goto out;
    }
    json_t *jobj = NULL;
    ex = site_run_and_report(s, &o, n, job, &jobj);
    size_t count = 0;
    rc = renew ? bacsc_site_write_request_job(s, job, o.out, &count)
               : bacsc_site_write_request(s, &sel, o.out, &count);
    char serr[300] = "";
    if (rc == BACSC_OK && o.sign_cert &&
        bacsc_cari_sign_file(o.out, o.sign_cert, o.sign_key, serr, sizeof serr) != BACSC_OK) {
        cli_error(o.prog, "%s; the request was not written (run again)", serr);
        unlink(o.out); /* never an unsigned request when a signed one was asked for */
        rc = BACSC_ERR_CRYPTO;
        ex = EXIT_FAIL;
    }
    if (rc == BACSC_OK) {
        if (!o.json)
            printf("wrote %s: %zu CSR%s%s\n", o.out, count, count == 1 ? "" : "s",
                   o.sign_cert ? ", signed" : "");
    } else if (rc != BACSC_ERR_CRYPTO) {
        site_cmd_fail(s, &o, EXIT_FAIL);
        if (ex == EXIT_OK)
            ex = EXIT_FAIL;
    }
    if (jobj) {
        json_object_set_new(jobj, "request_file", rc == BACSC_OK ? json_string(o.out) : json_null());
        json_object_set_new(jobj, "csrs", json_integer((json_int_t)count));
        cli_print_json(jobj);
    }
out:
    bacsc_site_net_close(n);
    bacsc_site_close(s);
    return ex;
}

static int cmd_request(int argc, char **argv)
{
    return request_job(argc, argv, false);
}

static int cmd_renew(int argc, char **argv)
{
    return request_job(argc, argv, true);
}

/* ---- import ------------------------------------------------------------------------------ */

static const cli_opt import_rows[] = {
    CLI_FLAG("accept-partial", 0, opts, accept_partial,
             "distribute the good certificates of a file that has bad ones"),
    SITE_ROWS_PASSWORD,
    CLI_STR("ca-dir", 0, "DIR", opts, ca_dir,
            "the CA that issued the certificates this import\nreplaces: revoke them (superseded)"),
    CLI_FLAG("keep-old", 0, opts, keep_old, "do not revoke the replaced certificates"),
    CLI_END};

static const cli_part import_help[] = {
    CLI_TEXT("usage: bacsc site import [--db FILE] RESP.zip [--accept-partial] [--password PW]\n"
             "                         [--ca-dir DIR | --keep-old] [network options] [--json]\n"
             "                         [--quiet]\n"
             "\n"
             "Read a CARI response (or a plain zip of PEM/DER certificates), match each\n"
             "certificate to its device by public key, and refuse the whole file — nothing is\n"
             "written to any device — if any certificate is from a CA that is not the site's,\n"
             "expired or not yet valid, or matches no pending request (--accept-partial:\n"
             "distribute the good ones anyway). Then, per device: install the site CA as an\n"
             "issuer where missing, write the operational certificate, validate-changes, read\n"
             "Command_Validation_Result, ReinitializeDevice activate-changes, confirm.\n"
             "Running the same file again resumes a killed run, or retries only the devices\n"
             "that failed. A certificate replaced on a device is revoked (reason superseded)\n"
             "once its successor is confirmed active: in the CA of --ca-dir, or later.\n"
             "\n"),
    SITE_GROUPS_NET(import_rows),
    CLI_TEXT("Requests the CA rejected or left pending (listed in the response) are reported\n"
             "per device: \"device N: rejected by the CA: REASON\".\n"
             "Exit status: 0 ok, 3 refused (nothing written), unreadable file or no certificate\n"
             "issued, 5 some devices failed or were not issued a certificate, 1 every device\n"
             "failed, 2 usage.\n"),
    CLI_END};
static const cli_spec import_spec = {"site import", import_help, .col = SITE_HELP_COL};

/* The requests the CA did not issue, one line each (or into `arr`). */
static size_t site_report_not_issued(const bacsc_site_import_entry *e, size_t ne, json_t *arr)
{
    size_t n = 0;
    for (size_t i = 0; i < ne; i++) {
        if (!e[i].not_issued)
            continue;
        n++;
        if (arr)
            json_array_append_new(
                arr, e[i].instance != BACSC_SITE_NONE
                         ? json_pack("{s:s,s:I,s:s}", "entry", e[i].name, "instance",
                                     (json_int_t)e[i].instance, "reason", e[i].why)
                         : json_pack("{s:s,s:s}", "entry", e[i].name, "reason", e[i].why));
        else
            fprintf(stderr, "bacsc site import: %s: %s\n", e[i].name, e[i].why);
    }
    return n;
}

/* A file operand read whole (free). */
typedef struct file_ctx {
    unsigned char *data;
    size_t len;
} file_ctx;

/* Exactly one operand, the response file, read (at most 512 MiB). */
static int import_check(opts *o, void *ctx)
{
    file_ctx *f = ctx;
    if (o->npos > 1) {
        cli_unexpected_arg(o->prog, o->pos[1], NULL);
        return EXIT_USAGE;
    }
    if (o->npos != 1) {
        cli_error(o->prog, "give exactly one response file (see --help)");
        return EXIT_USAGE;
    }
    if (cli_empty_operand(o->prog, "response FILE", o->pos[0]))
        return EXIT_USAGE;
    return cli_read_file(o->prog, o->pos[0], 512u << 20, &f->data, &f->len) != 0 ? EXIT_FAIL
                                                                                 : -1;
}
static const site_verb import_verb = {.spec = &import_spec, .check = import_check};

static int cmd_import(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    file_ctx f = {0};
    int ex = site_cmd_begin(&o, &import_verb, argc, argv, &f, &s);
    unsigned char *data = f.data;
    size_t len = f.len;
    if (ex >= 0) {
        free(data);
        return ex;
    }
    bacsc_site_import_entry *e = NULL;
    size_t ne = 0;
    int64_t job = 0;
    bool resumed = false;
    char err[512];
    int rc = bacsc_site_prepare_import(s, data, len, o.accept_partial, &e, &ne, &job, &resumed,
                                       err, sizeof err);
    free(data);
    json_t *refused = o.json ? json_array() : NULL;
    json_t *not_issued = o.json ? json_array() : NULL;
    size_t nref = 0, nnot = site_report_not_issued(e, ne, not_issued);
    for (size_t i = 0; i < ne; i++) {
        if (!e[i].refused)
            continue;
        nref++;
        if (o.json)
            json_array_append_new(refused, json_pack("{s:s,s:s}", "entry", e[i].name, "reason",
                                                     e[i].why));
        else
            fprintf(stderr, "bacsc site import: %s: refused: %s\n", e[i].name, e[i].why);
    }
    free(e);
    if (rc == BACSC_ERR_EXISTS) {
        json_t *rv = NULL;
        int left = site_revoke_superseded(s, o.prog, o.ca_dir, o.keep_old, o.quiet,
                                          o.json ? &rv : NULL);
        if (o.json)
            cli_print_json(json_pack("{s:s,s:I,s:s,s:o}", "file", o.pos[0], "job",
                                     (json_int_t)job, "state", "already-imported",
                                     "superseded", rv));
        else
            printf("%s: %s; nothing to do\n", o.pos[0], err);
        json_decref(refused);
        json_decref(not_issued);
        bacsc_site_close(s);
        return left && o.ca_dir ? EXIT_PARTIAL : EXIT_OK;
    }
    if (rc != BACSC_OK) {
        cli_error(o.prog, "%s: %s", o.pos[0], err);
        if (o.json)
            cli_print_json(json_pack("{s:s,s:s,s:o,s:O}", "file", o.pos[0], "error", err,
                                     "refused", refused, "not_issued", not_issued));
        json_decref(not_issued);
        bacsc_site_close(s);
        return rc == BACSC_ERR_MALFORMED || rc == BACSC_ERR_POLICY || rc == BACSC_ERR_NOT_FOUND
                   ? EXIT_DATAERR
                   : EXIT_FAIL;
    }
    json_decref(refused);
    if (!o.quiet && !o.json) {
        if (resumed)
            fprintf(stderr, "bacsc site: resuming import job %lld left unfinished\n",
                    (long long)job);
        else if (nref)
            fprintf(stderr, "bacsc site: %zu certificate%s refused; distributing the others\n",
                    nref, nref == 1 ? "" : "s");
    }
    bacsc_site_net *n;
    if ((ex = site_net_open(&o, false, &n)) >= 0) {
        json_decref(not_issued);
        bacsc_site_close(s);
        return ex;
    }
    json_t *jobj = NULL, *rv = NULL;
    ex = site_run_and_report(s, &o, n, job, o.json ? &jobj : NULL);
    if (ex == EXIT_OK && (nref || nnot))
        ex = EXIT_PARTIAL;
    if (jobj)
        json_object_set(jobj, "not_issued", not_issued);
    json_decref(not_issued);
    if (site_revoke_superseded(s, o.prog, o.ca_dir, o.keep_old, o.quiet, o.json ? &rv : NULL) &&
        o.ca_dir && ex == EXIT_OK)
        ex = EXIT_PARTIAL;
    if (jobj) {
        json_object_set_new(jobj, "superseded", rv);
        cli_print_json(jobj);
    } else {
        json_decref(rv);
    }
    bacsc_site_net_close(n);
    bacsc_site_close(s);
    return ex;
}

/* ---- trust ------------------------------------------------------------------------------ */

static const cli_part trust_help[] = {
    CLI_TEXT("usage: bacsc site trust add|remove CA_CERT (DEVICES | --all) [--db FILE]\n"
             "                       [--password PW] [network options] [--json] [--quiet]\n"
             "\n"
             "Install (add) or remove an issuer certificate on many devices — e.g. the next\n"
             "site CA before a rollover, in the second Issuer_Certificate_Files slot — then\n"
             "activate the change. Devices that already have it (add) or do not have it\n"
             "(remove) are reported as 'no action taken'. Removing the site CA from an\n"
             "SC-only device is refused.\n"
             "\n"),
    SITE_GROUPS_NET_PW(all_rows),
    CLI_TEXT("Exit status: 0 ok, 5 some devices failed, 1 all failed, 3 bad CA file, 2 usage.\n"),
    CLI_END};
static const cli_spec trust_spec = {"site trust", trust_help, .col = SITE_HELP_COL};

/* add|remove CA_CERT [DEVICES]: the selection, the CA file read. */
typedef struct trust_ctx {
    bool add;
    bacsc_site_selection sel;
    file_ctx ca;
} trust_ctx;

static int trust_check(opts *o, void *ctx)
{
    trust_ctx *c = ctx;
    static const char *const verbs[] = {"add", "remove"};
    if (o->npos >= 1 && strcmp(o->pos[0], "add") != 0 && strcmp(o->pos[0], "remove") != 0)
        return cli_unknown_command(o->prog, o->pos[0], verbs, 2, sizeof verbs[0]);
    if (o->npos > 3) {
        cli_unexpected_arg(o->prog, o->pos[3], NULL);
        return EXIT_USAGE;
    }
    if (o->npos < 2) {
        cli_error(o->prog, "usage: bacsc site trust add|remove CA_CERT (DEVICES | --all)");
        return EXIT_USAGE;
    }
    if (cli_empty_operand(o->prog, "CA_CERT", o->pos[1]))
        return EXIT_USAGE;
    c->add = strcmp(o->pos[0], "add") == 0;
    if (!site_get_selection(o, o->npos == 3 ? o->pos[2] : NULL, &c->sel))
        return EXIT_USAGE;
    return cli_read_file(o->prog, o->pos[1], 1u << 20, &c->ca.data, &c->ca.len) != 0 ? EXIT_FAIL
                                                                                     : -1;
}
static const site_verb trust_verb = {.spec = &trust_spec, .check = trust_check};

static int cmd_trust(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    trust_ctx c = {0};
    int ex = site_cmd_begin(&o, &trust_verb, argc, argv, &c, &s);
    if (ex >= 0) {
        free(c.ca.data);
        return ex;
    }
    int64_t job;
    int rc = bacsc_site_prepare_trust(s, c.add, c.ca.data, c.ca.len, &c.sel, &job);
    site_note_resumed(s, &o, job);
    free(c.ca.data);
    if (rc != BACSC_OK)
        ex = site_cmd_fail(s, &o,
                       rc == BACSC_ERR_MALFORMED || rc == BACSC_ERR_NOT_FOUND ? EXIT_DATAERR
                                                                               : EXIT_FAIL);
    else
        ex = site_run_job(s, &o, job, NULL);
    bacsc_site_close(s);
    return ex;
}

/* ---- mode ------------------------------------------------------------------------------ */

static const cli_part mode_help[] = {
    CLI_TEXT("usage: bacsc site mode ip|dual|sc (DEVICES | --all) [--db FILE] [--password PW]\n"
             "                      [network options] [--json] [--quiet]\n"
             "\n"
             "Switch the communication mode: Out_Of_Service of the BACnet/IP and BACnet/SC\n"
             "Network Ports (ip: SC off; dual: both on; sc: IP off), the site's hub URIs\n"
             "written first where the device lacks them, then ReinitializeDevice\n"
             "activate-changes. SC-only is refused — nothing written — for a device that does\n"
             "not hold a valid certificate from the site CA, the site CA as an issuer, and a\n"
             "hub URI. After the switch to SC the device no longer answers over BACnet/IP.\n"
             "\n"),
    SITE_GROUPS_NET_PW(all_rows),
    CLI_TEXT("Exit status: 0 ok, 5 some devices failed or were refused, 1 all failed, 2 usage.\n"),
    CLI_END};
static const cli_spec mode_spec = {"site mode", mode_help, .col = SITE_HELP_COL};

/* ip|dual|sc [DEVICES]: the mode and the selection. */
typedef struct mode_ctx {
    int mode;
    bacsc_site_selection sel;
} mode_ctx;

static int mode_check(opts *o, void *ctx)
{
    mode_ctx *c = ctx;
    c->mode = o->npos >= 1 ? bacsc_site_mode_parse(o->pos[0]) : -1;
    if (o->npos >= 1 && c->mode < 0) {
        cli_error(o->prog, "unknown mode '%s' (ip, dual or sc)", o->pos[0]);
        return EXIT_USAGE;
    }
    if (o->npos > 2) {
        cli_unexpected_arg(o->prog, o->pos[2], NULL);
        return EXIT_USAGE;
    }
    if (c->mode < 0) {
        cli_error(o->prog, "usage: bacsc site mode ip|dual|sc (DEVICES | --all)");
        return EXIT_USAGE;
    }
    return site_get_selection(o, o->npos == 2 ? o->pos[1] : NULL, &c->sel) ? -1 : EXIT_USAGE;
}
static const site_verb mode_verb = {.spec = &mode_spec, .check = mode_check};

static int cmd_mode(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    mode_ctx c;
    int ex = site_cmd_begin(&o, &mode_verb, argc, argv, &c, &s);
    if (ex >= 0)
        return ex;
    int64_t job;
    int rc = bacsc_site_prepare_mode(s, c.mode, &c.sel, &job);
    site_note_resumed(s, &o, job);
    if (rc != BACSC_OK)
        ex = site_cmd_fail(s, &o, rc == BACSC_ERR_NOT_FOUND ? EXIT_DATAERR : EXIT_FAIL);
    else
        ex = site_run_job(s, &o, job, NULL);
    bacsc_site_close(s);
    return ex;
}

/* ---- jobs ------------------------------------------------------------------------------ */

static const cli_opt jobs_rows[] = {
    CLI_ID("job", 0, "ID", opts, job, "the per-device results of job ID"),
    CLI_END};

static const cli_part jobs_help[] = {
    CLI_TEXT("usage: bacsc site jobs [--db FILE] [--job ID] [--json]\n"
             "\n"
             "History of jobs (newest first): kind, state, start and end, device counts;\n"
             "with --job ID the per-device results (status, step reached, error, attempts).\n"
             "\n"),
    SITE_GROUPS_LOCAL(jobs_rows),
    CLI_TEXT("Exit status: 0 ok, 3 no such job, 2 usage, 1 database error.\n"),
    CLI_END};
static const cli_spec jobs_spec = {"site jobs", jobs_help, .col = SITE_HELP_COL};
static const site_verb jobs_verb = {.spec = &jobs_spec};

typedef struct jobs_ctx {
    bool json;
    json_t *arr;
} jobs_ctx;

static int print_job(void *user, const bacsc_site_job *j)
{
    jobs_ctx *c = user;
    char a[32], b[32];
    if (c->json) {
        json_t *args = json_loads(j->args, 0, NULL);
        json_array_append_new(
            c->arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "job",
                              (json_int_t)j->id, "kind", bacsc_site_job_kind_name(j->kind), "state",
                              bacsc_site_job_state_name(j->state), "started",
                              fmt_datetime(j->started, a, sizeof a), "finished",
                              fmt_datetime(j->finished, b, sizeof b), "total",
                              (json_int_t)j->total, "done", (json_int_t)j->done, "failed",
                              (json_int_t)j->failed, "no_action", (json_int_t)j->skipped,
                              "pending", (json_int_t)j->pending,
                              "args", args ? args : json_object()));
        return 0;
    }
    printf("%-5lld %-13s %-8s %-20s %-20s %5u %5u %6u %9u  %s\n", (long long)j->id,
           bacsc_site_job_kind_name(j->kind), bacsc_site_job_state_name(j->state),
           fmt_datetime(j->started, a, sizeof a), fmt_datetime(j->finished, b, sizeof b), j->total,
           j->done, j->failed, j->skipped, j->args);
    return 0;
}

static int cmd_jobs(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    int ex = site_cmd_begin(&o, &jobs_verb, argc, argv, NULL, &s);
    if (ex >= 0)
        return ex;
    int rc;
    if (o.job > 0) {
        bacsc_site_job j;
        if ((rc = bacsc_site_job_get(s, o.job, &j)) != BACSC_OK) {
            ex = site_cmd_fail(s, &o, rc == BACSC_ERR_NOT_FOUND ? EXIT_DATAERR : EXIT_FAIL);
            bacsc_site_close(s);
            return ex;
        }
        if (!o.json)
            printf("job %lld %s %s: %u devices, %u done, %u failed, %u no action, %u pending\n",
                   (long long)j.id, bacsc_site_job_kind_name(j.kind),
                   bacsc_site_job_state_name(j.state), j.total, j.done, j.failed, j.skipped,
                   j.pending);
        rc = site_print_items(s, &o, o.job, false, NULL);
    } else {
        jobs_ctx c = {.json = o.json, .arr = o.json ? json_array() : NULL};
        if (!o.json)
            printf("%-5s %-13s %-8s %-20s %-20s %5s %5s %6s %9s  %s\n", "JOB", "KIND", "STATE",
                   "STARTED", "FINISHED", "TOTAL", "DONE", "FAILED", "NO-ACTION", "ARGUMENTS");
        rc = bacsc_site_jobs(s, print_job, &c);
        if (o.json)
            cli_print_json(c.arr);
    }
    bacsc_site_close(s);
    return rc < 0 ? EXIT_FAIL : EXIT_OK;
}

static const cli_subcommand site_subs[] = {
    {"init", cmd_init, "create the site database / set name, CA, domain, hubs"},
    {"show", cmd_show, "the site settings: name, CA, domain, hubs"},
    {"discover", cmd_discover, "Who-Is over BACnet/IP and read every device's state"},
    {"status", cmd_status, "one row per device: mode, certificate status, expiry, issuer"},
    {"request", cmd_request, "devices generate CSRs; write a CARI request"},
    {"renew", cmd_renew, "renew devices' certificates with new keys; write a CARI request"},
    {"import", cmd_import, "check a CARI response and distribute the certificates"},
    {"trust", cmd_trust, "install or remove an issuer certificate on many devices"},
    {"crl", site_cmd_crl, "push a CA's CRL to many devices (crl push CRL DEVICES)"},
    {"mode", cmd_mode, "switch devices to ip, dual or sc"},
    {"rollover", site_cmd_rollover, "move the site to a new CA, phase by phase"},
    {"jobs", cmd_jobs, "history of jobs and per-device results"},
    {NULL, NULL, NULL}};

int bacsc_cmd_site(int argc, char **argv)
{
    return cli_dispatch("site", site_subs, argc, argv);
}
