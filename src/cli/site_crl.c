/*
 * site_crl.c — `bacsc site crl push CRL (DEVICES | --all)`: put a CA's CRL
 * on many devices and activate it (docs/lifecycle.md "Revoking a
 * certificate", docs/security.md "Revocation").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "cli.h"
#include "site_cli.h"

static const cli_opt crl_rows[] = {
    CLI_FLAG("all", 0, opts, all, "every device in the site database"),
    CLI_END};

static const cli_part crl_help[] = {
    CLI_TEXT("usage: bacsc site crl push CRL (DEVICES | --all) [--db FILE] [--password PW]\n"
             "                       [network options] [--json] [--quiet]\n"
             "\n"
             "Put a CA's CRL (PEM or DER, e.g. from 'bacsc ca crl') on many devices, in place\n"
             "of the CRL of the same CA they hold, then activate it: from then on each device\n"
             "refuses hubs and peers whose certificate the CRL revokes, and drops those\n"
             "connected. A device refuses a CRL that is not signed by one of its issuers or is\n"
             "older than the one it has. Devices that already hold this CRL are reported as\n"
             "'no action taken'. Needs the devices' password (a commissioning session).\n"),
    SITE_GROUPS_NET_PW(crl_rows),
    CLI_TEXT("Exit status: 0 ok, 5 some devices failed, 1 all failed, 3 bad CRL file, 2 usage.\n"),
    CLI_END};
static const cli_spec crl_spec = {"site crl", crl_help, .col = SITE_HELP_COL};

/* push CRL [DEVICES]: the selection, the CRL file read. */
typedef struct crl_ctx {
    bacsc_site_selection sel;
    unsigned char *data;
    size_t len;
} crl_ctx;

static int crl_check_args(opts *o, void *ctx)
{
    crl_ctx *c = ctx;
    static const char *const verbs[] = {"push"};
    if (o->npos >= 1 && strcmp(o->pos[0], "push") != 0)
        return cli_unknown_command(o->prog, o->pos[0], verbs, 1, sizeof verbs[0]);
    if (o->npos > 3) {
        cli_unexpected_arg(o->prog, o->pos[3], NULL);
        return EXIT_USAGE;
    }
    if (o->npos < 2) {
        cli_error(o->prog, "usage: bacsc site crl push CRL (DEVICES | --all)");
        return EXIT_USAGE;
    }
    if (cli_empty_operand(o->prog, "CRL", o->pos[1]))
        return EXIT_USAGE;
    if (!site_get_selection(o, o->npos == 3 ? o->pos[2] : NULL, &c->sel))
        return EXIT_USAGE;
    return cli_read_file(o->prog, o->pos[1], 1u << 20, &c->data, &c->len) != 0 ? EXIT_FAIL : -1;
}
static const site_verb crl_verb = {.spec = &crl_spec, .check = crl_check_args};

int site_cmd_crl(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    crl_ctx c = {0};
    int ex = site_cmd_begin(&o, &crl_verb, argc, argv, &c, &s);
    if (ex >= 0) {
        free(c.data);
        return ex;
    }
    int64_t job;
    int rc = bacsc_site_prepare_crl(s, c.data, c.len, &c.sel, &job);
    free(c.data);
    if (rc != BACSC_OK) {
        cli_error(o.prog, "%s: %s", o.pos[1], bacsc_site_errmsg(s));
        ex = rc == BACSC_ERR_MALFORMED || rc == BACSC_ERR_NOT_FOUND ? EXIT_DATAERR : EXIT_FAIL;
    } else {
        site_note_resumed(s, &o, job);
        ex = site_run_job(s, &o, job, NULL);
    }
    bacsc_site_close(s);
    return ex;
}
