/*
 * site_cli.h — what the files of `bacsc site` share: the options struct and
 * the shared option groups, opening the database and the network, running
 * a job with progress and printing its result.
 *
 *   cmd_site.c       the dispatcher; init, status, discover, request, renew,
 *                    import, trust, mode, jobs
 *   site_cli.c       the start of every verb: parse, check, open the database
 *   site_net.c       the network of a job, progress, per-device results
 *   site_rollover.c  rollover (CA rollover phases)
 *   site_revoke.c    revoking superseded certificates after import
 *   site_crl.c       crl push (a CA's CRL onto devices)
 */
#ifndef BACSC_CLI_SITE_CLI_H
#define BACSC_CLI_SITE_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bacsc/site.h"
#include "bacsc/site_net.h"
#include "cli_opt.h"

#define MAX_TARGETS 4096
#define MAX_FILTERS 8

/* The options of every `site` subcommand (each subcommand's table names the
 * fields it uses). */
typedef struct opts {
    const char *prog;
    const char *db;
    bool json, quiet, all, overwrite, keep, accept_partial;
    bool same_key;                         /* renew --same-key */
    const char *name, *ca, *domain, *primary, *failover, *out, *password;
    const char *bip_local, *broadcast;
    unsigned broadcast_count;
    const char *targets[MAX_TARGETS];
    size_t ntargets;
    const char *targets_file;
    unsigned wait_ms, timeout_ms, retries, concurrency, expiring_days, renew_days;
    bool retries_set, keep_old;
    bool init_force; /* init: replace the site CA */
    const char *ca_dir;
    const char *filters[MAX_FILTERS];
    size_t nfilters;
    int64_t job;
    /* BACnet/SC identity of the tool (network commands) */
    const char *hub, *sc_failover, *cert, *key;
    const char *sc_ca[2];
    int nsc_ca;
    /* rollover */
    const char *new_ca, *response, *force;
    /* request / renew: sign the CARI request (CMS) */
    const char *sign_cert, *sign_key;
    unsigned phase;
    bool hubs_done;
    char **pos;
    int npos;
} opts;

extern const cli_opt site_db_rows[], site_out_rows[], site_quiet_rows[], site_bip_rows[],
    site_sc_rows[], site_password_rows[];

#define SITE_HELP_COL 26
#define SITE_GROUPS_LOCAL(rows)                                                                    \
    CLI_GROUP("options:", rows, 0), CLI_GROUP(NULL, site_db_rows, 0), CLI_GROUP(NULL, site_out_rows, 0)
#define SITE_GROUPS_NET(rows)                                                                      \
    CLI_GROUP("options:", rows, 0), CLI_GROUP(NULL, site_db_rows, 0), CLI_GROUP(NULL, site_quiet_rows, 0),  \
        CLI_GROUP(NULL, site_out_rows, 0), CLI_GROUP("network options (BACnet/IP):", site_bip_rows, 0),   \
        CLI_GROUP("or over BACnet/SC (docs/site.md):", site_sc_rows, 0)
/* A job verb that sends the devices' password: its rows, the password, then
 * the shared groups of SITE_GROUPS_NET. */
#define SITE_GROUPS_NET_PW(rows)                                                                   \
    CLI_GROUP("options:", rows, 0), CLI_GROUP(NULL, site_password_rows, 0),                       \
        CLI_GROUP(NULL, site_db_rows, 0), CLI_GROUP(NULL, site_quiet_rows, 0),                     \
        CLI_GROUP(NULL, site_out_rows, 0),                                                         \
        CLI_GROUP("network options (BACnet/IP):", site_bip_rows, 0),                               \
        CLI_GROUP("or over BACnet/SC (docs/site.md):", site_sc_rows, 0)

/* Parse a subcommand's command line with its table. Returns -1 to continue
 * (operands in o->pos), else an exit code (help / usage error). */
int site_parse_opts(opts *o, const cli_spec *spec, int argc, char **argv);
bacsc_site *site_open_db(const opts *o, bool create);

/* How a verb starts (site_cmd_begin). `check` looks at the operands and the
 * options before the database is opened (what it reads goes into the ctx
 * given to site_cmd_begin) and returns -1 to go on, else an exit code with
 * the message printed; NULL refuses every operand. */
typedef int (*site_check_fn)(opts *o, void *ctx);
typedef struct site_verb {
    const cli_spec *spec;
    site_check_fn check;
    bool create; /* create the database when missing (init) */
} site_verb;

/* Parse the command line, check it, open the database. Returns -1 with *s
 * open (bacsc_site_close), else an exit code (message printed). */
int site_cmd_begin(opts *o, const site_verb *v, int argc, char **argv, void *ctx, bacsc_site **s);
/* Print the database's last error (one line); returns `ex`. */
int site_cmd_fail(bacsc_site *s, const opts *o, int ex);
/* Open the network, run `job` with progress, print its result, close the
 * network (site_run_and_report). Returns the exit code. */
int site_run_job(bacsc_site *s, const opts *o, int64_t job, json_t **jout);
/* DEVICES positional (or --all) → selection. Returns false on error. */
bool site_get_selection(const opts *o, const char *text, bacsc_site_selection *sel);
/* Open the network of a job (bacsc/site_net.h) from the options; over
 * BACnet/SC wait for the hub. Returns -1 (open; close it with
 * bacsc_site_net_close) or an exit code (message printed). */
int site_net_open(const opts *o, bool discover, bacsc_site_net **n);
/* Run a job and print its per-device result (with --json and `jout`, the
 * JSON object is handed back instead of printed). Returns the exit code. */
int site_run_and_report(bacsc_site *s, const opts *o, bacsc_site_net *n, int64_t job,
                        json_t **jout);
/* Print the per-device results of `job` (only the problems when
 * `only_problems`); with --json into *jout (or printed when jout is NULL).
 * Returns the library status. */
int site_print_items(bacsc_site *s, const opts *o, int64_t job, bool only_problems,
                     json_t **jout);
void site_note_resumed(bacsc_site *s, const opts *o, int64_t job);
/* `bacsc site rollover` (site_rollover.c). */
int site_cmd_rollover(int argc, char **argv);
/* `bacsc site crl push` (site_crl.c). */
int site_cmd_crl(int argc, char **argv);

#endif
