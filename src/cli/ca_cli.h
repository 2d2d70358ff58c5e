/*
 * ca_cli.h — what the files of `bacsc ca` share: the common options (CA
 * directory, actor, passphrase, --json, --log-level) as one option-table
 * group, opening the CA, error exit codes and output helpers.
 *
 *   cmd_ca.c     the dispatcher; init, csr, install-cert, policy, revoke, crl
 *   ca_queue.c   submit, sign, respond, pending, approve, reject
 *   ca_report.c  list, audit, batches
 *   ca_backup.c  backup, restore
 *   ca_issue.c   issue (one certificate for a hub, tool or console)
 */
#ifndef BACSC_CLI_CA_CLI_H
#define BACSC_CLI_CA_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bacsc/pki.h"
#include "cli_opt.h"

typedef struct ca_common {
    const char *prog; /* "ca init" … */
    const char *dir;
    const char *actor;
    const char *pass_file;
    bool json;
    int jobs; /* --jobs: threads that check and sign (0: one per online CPU) */
} ca_common;

extern const cli_opt ca_common_rows[];

/* The help of a subcommand whose options struct T embeds `ca_common c`: the
 * usage text, its own option rows (help column `col`), the common options.
 */
#define CA_SPEC(name, prog_, usage, rows, col_, T)                                                 \
    static const cli_part name##_help[] = {                                                        \
        CLI_TEXT(usage), CLI_GROUP_COL(NULL, rows, 0, col_),                                       \
        CLI_GROUP("common options:", ca_common_rows, offsetof(T, c)), CLI_END};                    \
    static const cli_spec name##_spec = {prog_, name##_help, .col = 25}

/* Only the common options. */
typedef struct ca_common_only {
    ca_common c;
} ca_common_only;
#define CA_SPEC_COMMON(name, prog_, usage)                                                         \
    static const cli_part name##_help[] = {                                                        \
        CLI_TEXT(usage),                                                                           \
        CLI_GROUP("common options:", ca_common_rows, offsetof(ca_common_only, c)), CLI_END};       \
    static const cli_spec name##_spec = {prog_, name##_help, .col = 25}

/* Parse a subcommand's command line into `opts` (whose `ca_common` is `c`),
 * with the common options' defaults from the environment. Returns -1 to go
 * on (operands in argv[1..*argc-1]) or the exit code. */
int ca_parse(const cli_spec *spec, void *opts, ca_common *c, int *argc, char **argv);
/* Read the passphrase (first line of --passphrase-file). Returns 0 (*out
 * malloc'd, or NULL without the option) or -1 (message printed). */
int ca_read_passphrase(const ca_common *c, char **out);
/* Open the CA of --dir with the passphrase and actor. NULL: message printed. */
bacsc_ca *ca_open(const ca_common *c);
/* The start of a subcommand without operands: ca_parse, then operands
 * refused ("unexpected argument 'X'", exit 2), then ca_open. Returns -1
 * with *ca open, else the exit code (message printed). */
int ca_cli_begin(const cli_spec *spec, void *opts, ca_common *c, int argc, char **argv,
                 bacsc_ca **ca);
/* Print the CA's last error; the exit code for library status `rc`. */
int ca_fail_rc(const ca_common *c, bacsc_ca *ca, int rc);
/* UTC ISO-8601 text of a Unix time ("-" for none). */
void ca_fmt_time(int64_t t, char *out, size_t outlen);
json_t *ca_json_time(int64_t t);
json_t *ca_json_str(const char *s);

/* Can a file be written to `out` (a zip or PEM file, or a directory when it
 * ends in '/' or is one)? Its directory must exist and be writable. Checked
 * before anything is issued. Returns 0 or -1 (message printed). */
int ca_check_out_path(const ca_common *c, const char *out);

/* The subcommands (cmd_ca.c, ca_queue.c, ca_report.c, ca_issue.c). */
int ca_cmd_submit(int argc, char **argv);
int ca_cmd_sign(int argc, char **argv);
int ca_cmd_respond(int argc, char **argv);
int ca_cmd_approve(int argc, char **argv);
int ca_cmd_reject(int argc, char **argv);
int ca_cmd_pending(int argc, char **argv);
int ca_cmd_list(int argc, char **argv);
int ca_cmd_audit(int argc, char **argv);
int ca_cmd_batches(int argc, char **argv);
int ca_cmd_backup(int argc, char **argv);
int ca_cmd_restore(int argc, char **argv);
int ca_cmd_issue(int argc, char **argv);

#endif
